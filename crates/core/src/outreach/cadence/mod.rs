//! Cadences (issue 12): a planned series of steps across email, phone and letter that a lead
//! goes through, each step a task in the responsible rep's queue when it falls due, stopping by
//! itself when the person answers, opts out or leaves. Definitions, rules and enrolments sync
//! (protocol 3); only the owner replica of an enrolment runs its steps (docs/SYNC.md).

pub mod definition;
pub mod enrollment;
pub mod schedule;

pub use definition::{Cadence, Rule, Step};
