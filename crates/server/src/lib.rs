//! Switchboard's central store: the sync protocol's server side, accounts and authorization,
//! and the website's registration intake, over HTTPS, on SQLite or PostgreSQL.
//!
//! `serve(listener, state, shutdown)` runs the server; `switchboard-test-support` starts one
//! on port 0 for tests of this and other crates.

pub mod accounts;
pub mod admin;
pub mod api;
pub mod changelog;
pub mod data_dir;
pub mod delivery_cache;
pub mod devices;
pub mod error;
pub mod intake;
pub mod leads;
pub mod live;
pub mod normalize;
pub mod privacy_view;
pub mod push;
pub mod roles;
pub mod sealing;
pub mod serve;
pub mod state;
pub mod store;
pub mod suppression;
pub mod tls;
pub mod unsubscribe;
pub mod updates;
pub mod wire;

pub use error::{Result, ServerError};
pub use serve::serve;
pub use state::ServerState;

/// A timestamp as stored: RFC 3339 UTC with milliseconds, so text order is time order (the
/// domain's time codec, the replicas' too).
pub use switchboard_domain::time::time_text;
