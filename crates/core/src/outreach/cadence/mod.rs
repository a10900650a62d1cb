//! Cadences (issue 12): a planned series of steps across email, phone and letter that a lead
//! goes through, each step a task in the responsible rep's queue when it falls due, stopping by
//! itself when the person answers, opts out or leaves. Local to this replica for now.

pub mod definition;
pub mod enrollment;
pub mod schedule;

pub use definition::{Cadence, Rule, Step};
