//! Switchboard's core: everything but window glue and the network. It owns the local SQLite
//! store and the domain rules — normalisation, deduplication, the compliance gate, lead queues,
//! subscriber requests, import and export — so the CLI and the desktop app call the same code.
//!
//! The core is in parts, listed lowest first; a part imports only the parts listed before it
//! (`tests/module_graph.rs` checks it, with the same list):
//!
//! 1. `store` — the database, settings, outbox, audit log, scrub, sync state
//! 2. `people` — leads, registrations
//! 3. `compliance` — consent, suppression, the gate
//! 4. `intake` — website registrations, file import
//! 5. `outreach` — follow-ups, queues, contact, letters, reminders, cadences
//! 6. `review` — history, export, search
//! 7. `campaigns` — promotional-email audiences, email-service feedback
//! 8. `partners` — the partner registry, sharing, disclosures, notices
//! 9. `privacy` — subscriber requests, access, correction, erasure
//! 10. `replica` — the sync replica
//! 11. `demo` — demonstration data

pub mod campaigns;
pub mod compliance;
pub mod demo;
pub mod error;
/// The unit tests' shared fixtures.
#[cfg(test)]
pub(crate) mod fixtures;
pub mod intake;
pub mod outreach;
pub mod partners;
pub mod people;
pub mod privacy;
pub mod replica;
pub mod review;
pub mod store;

// The paths the front ends (app, CLI, sync, server, tests) use: each module at the root as before.
pub use campaigns::{audience, feedback};
pub use compliance::{consent, gate, suppression};
pub use intake::import;
pub use outreach::{cadence, contact, followup, letters, mail, queue, reminders};
pub use partners::{disclosure, notices, share};
pub use people::{leads, registration};
pub use privacy::{access, correct, erase, requests, roles};
pub use review::{export, history, search};
pub use store::{audit, outbox, scrub, settings, sync_state};

// The pure rules live in `switchboard-domain` (shared with the server); their old paths stay.
pub use clock::{Clock, FixedClock, SystemClock};
pub use error::{CoreError, Result};
pub use store::{DatabaseKey, Store};
pub use switchboard_domain::{clock, hlc, normalize, time};
pub use switchboard_protocol as protocol;
