//! Switchboard's core: everything but window glue and the network. It owns the local SQLite
//! store and the domain rules — normalisation, deduplication, the compliance gate, lead queues,
//! subscriber requests, import and export — so the CLI and the desktop app call the same code.

pub mod access;
pub mod audience;
pub mod audit;
pub mod consent;
pub mod contact;
pub mod correct;
pub mod demo;
pub mod disclosure;
pub mod erase;
pub mod error;
pub mod export;
pub mod feedback;
pub mod followup;
pub mod gate;
pub mod history;
pub mod import;
pub mod intake;
pub mod leads;
pub mod letters;
pub mod notices;
pub mod outbox;
pub mod partners;
pub mod queue;
pub mod registration;
pub mod reminders;
pub mod replica;
pub mod requests;
pub mod scrub;
pub mod search;
pub mod settings;
pub mod share;
pub mod store;
pub mod suppression;
pub mod sync_state;

// The pure rules live in `switchboard-domain` (shared with the server); their old paths stay.
pub use clock::{Clock, FixedClock, SystemClock};
pub use error::{CoreError, Result};
pub use store::Store;
pub use switchboard_domain::{clock, hlc, normalize, time};
pub use switchboard_protocol as protocol;
