//! Campaigns: promotional-email audiences and the email service's unsubscribe, complaint and
//! bounce feedback.

pub mod audience;
pub mod feedback;
