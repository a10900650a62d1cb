//! The sync engine's errors, each with a stable code the CLI and the UI branch on.

use thiserror::Error;

/// Everything that can go wrong while syncing.
#[derive(Debug, Error)]
pub enum SyncError {
    /// The caller gave something unusable.
    #[error("{0}")]
    BadInput(String),
    /// The server could not be reached or the connection broke (refused, reset, timed out).
    #[error("cannot reach the server: {0}; check the network and that the server is running, then sync again")]
    Network(String),
    /// The server's certificate is not the pinned one: a renewed certificate, or someone else
    /// answering at that address.
    #[error(
        "the server presented certificate {presented}, not the pinned one ({pinned}); if the \
         server's certificate was renewed, sign in again and compare the fingerprint shown with \
         the one your administrator gives you; otherwise do not sync: something else may be \
         answering at this address"
    )]
    FingerprintMismatch { presented: String, pinned: String },
    /// The secure connection failed otherwise (TLS setup, a certificate no anchor trusts, a
    /// handshake the server refused).
    #[error("TLS: {0}")]
    Tls(String),
    /// The server refused a request as larger than it accepts.
    #[error(
        "the server refused the data as too large ({0}); this laptop sent more at once than the \
         server accepts: update Switchboard, or ask your administrator about the server's limit"
    )]
    PayloadTooLarge(String),
    /// The server refused the credentials or the token (expired, revoked, unknown).
    #[error("{0}")]
    Unauthorized(String),
    /// This computer was revoked as a device: the front end erases the replica and its keys
    /// (`wipe::erase_replica`) and says so with this message.
    #[error("{0}")]
    DeviceRevoked(String),
    /// The token passed its idle limit (by the server's clock): sign in again.
    #[error("{0}")]
    TokenExpired(String),
    /// No token: neither in the keychain nor in `SWITCHBOARD_TOKEN`.
    #[error("{0}")]
    NoToken(String),
    /// The OS keychain failed.
    #[error("keychain: {0}")]
    Keychain(String),
    /// The server speaks a newer protocol version: this Switchboard must be updated.
    #[error("{0}")]
    UpdateRequired(String),
    /// An update was refused: its signature, size or version is not right (never installed).
    #[error("{0}")]
    UpdateRefused(String),
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
            SyncError::FingerprintMismatch { .. } => "fingerprint_mismatch",
            SyncError::Tls(_) => "tls",
            SyncError::PayloadTooLarge(_) => "payload_too_large",
            SyncError::Unauthorized(_) => "unauthorized",
            SyncError::DeviceRevoked(_) => "device_revoked",
            SyncError::TokenExpired(_) => "token_expired",
            SyncError::NoToken(_) => "no_token",
            SyncError::Keychain(_) => "keychain",
            SyncError::UpdateRequired(_) => "update_required",
            SyncError::UpdateRefused(_) => "update_refused",
            SyncError::ServerOutdated(_) => "server_outdated",
            SyncError::ReplicaReused(_) => "replica_reused",
            SyncError::Server { .. } => "server",
            SyncError::Core(e) => e.code(),
        }
    }

    /// Whether the server refused the credentials, so neither a push nor a pull can work.
    pub fn is_refused_credential(&self) -> bool {
        matches!(
            self,
            SyncError::Unauthorized(_)
                | SyncError::NoToken(_)
                | SyncError::DeviceRevoked(_)
                | SyncError::TokenExpired(_)
        )
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
