//! Outreach: reaching leads — logged follow-ups, lead queues, contact addresses for the window,
//! postal letters, email from the rep's mailbox (`mail`), follow-up reminders and cadences.

pub mod cadence;
pub mod contact;
pub mod followup;
pub mod letters;
pub mod mail;
pub mod queue;
pub mod reminders;
