//! Switchboard's sync engine: pushes the local outbox to the central store and pulls its changes
//! over HTTPS (rustls; the server is trusted by system roots, a CA file or a pinned SHA-256
//! fingerprint, never without a check), and keeps the bearer token in the OS keychain.
//! The storage side (building and applying operations) lives in `switchboard_core::replica`.

pub mod client;
pub mod engine;
pub mod error;
pub mod keychain;
pub mod live;
pub mod probe;
pub mod tls;
pub mod updates;
pub mod wipe;

pub use client::Client;
pub use engine::{sync_once, watch, Progress, SyncReport};
pub use error::{Result, SyncError};
pub use switchboard_protocol::Secret;
pub use tls::TrustAnchor;
