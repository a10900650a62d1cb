//! The sync engine's errors, each with a stable code the CLI and the UI branch on.

use thiserror::Error;

/// Everything that can go wrong while syncing.
#[derive(Debug, Error)]
pub enum SyncError {
    /// The caller gave something unusable.
    #[error("{0}")]
    BadInput(String),
    /// The server could not be reached or the connection broke.
    #[error("cannot reach the server: {0}")]
    Network(String),
    /// The TLS setup failed (no anchors, unreadable CA file).
    #[error("TLS: {0}")]
    Tls(String),
    /// The server refused the credentials or the token (expired, revoked, unknown).
    #[error("{0}")]
    Unauthorized(String),
    /// No token: neither in the keychain nor in `SWITCHBOARD_TOKEN`.
    #[error("{0}")]
    NoToken(String),
    /// The OS keychain failed.
    #[error("keychain: {0}")]
    Keychain(String),
    /// The server speaks a newer protocol version: this Switchboard must be updated.
    #[error("{0}")]
    UpdateRequired(String),
    /// The server speaks an older protocol version: the server must be updated.
    #[error("{0}")]
    ServerOutdated(String),
    /// The server saw this replica's sequence numbers with other operations (a restored
    /// backup); the engine answers it with a new replica id.
    #[error("{0}")]
    ReplicaReused(String),
    /// The server answered with an error.
    #[error("server answered {status} {code}: {message}")]
    Server {
        status: u16,
        code: String,
        message: String,
    },
    /// The local store failed.
    #[error(transparent)]
    Core(#[from] switchboard_core::CoreError),
}

impl SyncError {
    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            SyncError::BadInput(_) => "bad_input",
            SyncError::Network(_) => "network",
            SyncError::Tls(_) => "tls",
            SyncError::Unauthorized(_) => "unauthorized",
            SyncError::NoToken(_) => "no_token",
            SyncError::Keychain(_) => "keychain",
            SyncError::UpdateRequired(_) => "update_required",
            SyncError::ServerOutdated(_) => "server_outdated",
            SyncError::ReplicaReused(_) => "replica_reused",
            SyncError::Server { .. } => "server",
            SyncError::Core(e) => e.code(),
        }
    }

    /// Whether trying again later may succeed (the network or the server hiccuped).
    pub fn is_transient(&self) -> bool {
        match self {
            SyncError::Network(_) => true,
            SyncError::Server { status, .. } => *status >= 500,
            _ => false,
        }
    }
}

/// Result with the sync engine's error.
pub type Result<T, E = SyncError> = std::result::Result<T, E>;
