//! People: leads (their fields, kept in step with clock, audit, search index and outbox) and the
//! registrations attached to them.

pub mod leads;
pub mod registration;
