//! Switchboard's pure domain rules, shared by every replica (through `switchboard-core`) and by
//! the central server: the time codec, clocks and ids, hybrid logical clocks and their
//! last-writer-wins rule, normalisation, suppression hashing, unsubscribe tokens, and the validation of
//! registrations and partners. No SQLite, no network, no async runtime: whatever both sides must
//! decide alike is decided here once.

pub mod clock;
pub mod error;
pub mod hlc;
pub mod normalize;
#[cfg(feature = "clap")]
pub mod partner_args;
pub mod partners;
pub mod registration;
pub mod suppression;
pub mod time;
pub mod unsubscribe;

pub use clock::{Clock, FixedClock, SystemClock};
pub use error::DomainError;
