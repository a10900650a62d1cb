//! The vocabulary every Switchboard component shares: domain enums, records, and the operations
//! that replicas exchange with the central store. Types that reach the UI derive `ts_rs::TS`;
//! `cargo test -p switchboard-protocol` regenerates `ui/src/lib/generated/`.

pub mod authz;
pub mod cadence;
pub mod limits;
pub mod ops;
pub mod packed;
pub mod records;
pub mod sync;
pub mod updates;
pub mod vocabulary;

pub use cadence::*;
pub use ops::*;
pub use records::*;
pub use sync::*;
pub use vocabulary::*;

/// Version of the wire format; a server refuses a client that speaks another major version.
/// 2: a push reusing a known `(replica_id, seq)` for another operation is refused with 409
/// `replica_reused` (a v1 client would answer that with an error instead of a new replica id).
/// 3: cadences sync (`cadence_saved`, `cadence_rule_added`, `enrollment_synced`; see
/// docs/SYNC.md "Protocol 3"); a version-2 replica would drop them and run steps twice.
/// 4: a pull naming its replica leaves out that replica's own changes, and this round's
/// additions (docs/SYNC.md "Protocol 4") ship together.
pub const PROTOCOL_VERSION: u32 = 4;
