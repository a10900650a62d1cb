//! What the screens and commands show, assembled once from the core for both front ends: the
//! lead page, queue pages and the claim of a queue's next lead, history pages and the review's
//! charts, the cadence review, the postal letters, and cadences (enrolling, a lead's enrolments,
//! stopping).

pub mod cadences;
pub mod history;
mod lead;
pub mod letters;
pub mod queue;

pub use lead::{lead_detail, LeadDetail};
