//! The store: the local SQLite database (opening, pragmas, migrations, transactions) and the
//! tables every record module writes through — settings and clock stamps, the outbox, the audit
//! log, the scrub after an erasure and the sync state. The lowest part: it imports no other.

pub mod audit;
pub mod database;
pub mod deferred_indexes;
pub mod outbox;
pub mod scrub;
pub mod settings;
pub mod sync_state;
pub mod wal;

pub use database::*;
