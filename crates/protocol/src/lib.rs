//! The vocabulary every Switchboard component shares: domain enums, records, and the operations
//! that replicas exchange with the central store. Types that reach the UI derive `ts_rs::TS`;
//! `cargo test -p switchboard-protocol` regenerates `ui/src/lib/generated/`.

pub mod authz;
pub mod ops;
pub mod records;
pub mod sync;
pub mod vocabulary;

pub use ops::*;
pub use records::*;
pub use sync::*;
pub use vocabulary::*;

/// Version of the wire format; a server refuses a client that speaks another major version.
pub const PROTOCOL_VERSION: u32 = 1;
