//! The server's error type: every failure has a stable code and an HTTP status.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use switchboard_protocol::ErrorBody;

/// What a client is told when the database stayed too busy to take its request.
const BUSY_MESSAGE: &str =
    "the server's database is busy with other writers; nothing was written, try again shortly";

/// Seconds a client waits before repeating a request the busy database refused.
const BUSY_RETRY_AFTER: &str = "1";

/// Result with `ServerError`.
pub type Result<T, E = ServerError> = std::result::Result<T, E>;

/// What went wrong, as the client and the operator see it.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("{0}")]
    Unauthorized(String),
    /// The request came from a device an admin or manager revoked: the client erases its data.
    #[error("{0}")]
    DeviceRevoked(String),
    /// The token passed its idle limit: the user signs in again.
    #[error("{0}")]
    TokenExpired(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error("request body too large: {0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    ProtocolVersion(String),
    /// A body in a format or content encoding the server does not read (the client falls back
    /// to JSON).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A packed body (protocol 5) naming a dictionary this server does not have (415: the
    /// client falls back to the dictionary-less compact form).
    #[error("{0}")]
    UnknownDictionary(String),
    #[error("{0}")]
    Conflict(String),
    /// A push reused `(replica id, seq)` keys for other operations (a restored backup).
    #[error("{0}")]
    ReplicaReused(String),
    /// A command that must not run beside `serve` found a server running on its data folder.
    #[error("{0}")]
    ServerRunning(String),
    /// The caller holds as many live streams as it may (`live::MAX_STREAMS_PER_DEVICE`).
    #[error("{0}")]
    TooMany(String),
    #[error("storage: {0}")]
    Store(String),
    /// The database kept refusing a transaction because concurrent ones won (PostgreSQL's
    /// serialization failures outlasted the retries): nothing was written, try again soon.
    #[error("storage busy: {0}")]
    Busy(String),
    #[error("{0}")]
    Internal(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
}

impl ServerError {
    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            ServerError::Unauthorized(_) => "unauthorized",
            ServerError::DeviceRevoked(_) => switchboard_protocol::DEVICE_REVOKED,
            ServerError::TokenExpired(_) => switchboard_protocol::TOKEN_EXPIRED,
            ServerError::Forbidden(_) => "forbidden",
            ServerError::BadRequest(_) => "bad_request",
            ServerError::Invalid(_) => "invalid",
            ServerError::NotFound(_) => "not_found",
            ServerError::PayloadTooLarge(_) => "payload_too_large",
            ServerError::ProtocolVersion(_) => "protocol_version",
            ServerError::UnsupportedMediaType(_) => "unsupported_media_type",
            ServerError::UnknownDictionary(_) => switchboard_protocol::packed::UNKNOWN_DICTIONARY,
            ServerError::Conflict(_) => "conflict",
            ServerError::ReplicaReused(_) => "replica_reused",
            ServerError::ServerRunning(_) => "server_running",
            ServerError::TooMany(_) => "too_many_streams",
            ServerError::Busy(_) => "busy",
            ServerError::Store(_) | ServerError::Internal(_) | ServerError::Io { .. } => "internal",
        }
    }

    /// The HTTP status the code maps to.
    pub fn status(&self) -> StatusCode {
        match self {
            ServerError::Unauthorized(_)
            | ServerError::DeviceRevoked(_)
            | ServerError::TokenExpired(_) => StatusCode::UNAUTHORIZED,
            ServerError::Forbidden(_) => StatusCode::FORBIDDEN,
            ServerError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ServerError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ServerError::NotFound(_) => StatusCode::NOT_FOUND,
            ServerError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ServerError::UnsupportedMediaType(_) | ServerError::UnknownDictionary(_) => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            ServerError::ProtocolVersion(_)
            | ServerError::Conflict(_)
            | ServerError::ReplicaReused(_)
            | ServerError::ServerRunning(_) => StatusCode::CONFLICT,
            ServerError::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
            ServerError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            ServerError::Store(_) | ServerError::Internal(_) | ServerError::Io { .. } => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// An I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> ServerError {
        ServerError::Io {
            context: context.into(),
            source,
        }
    }
}

impl From<rusqlite::Error> for ServerError {
    fn from(e: rusqlite::Error) -> Self {
        ServerError::Store(format!("sqlite: {e}"))
    }
}

impl From<std::io::Error> for ServerError {
    fn from(e: std::io::Error) -> Self {
        ServerError::io("i/o", e)
    }
}

impl From<serde_json::Error> for ServerError {
    fn from(e: serde_json::Error) -> Self {
        ServerError::Internal(format!("json: {e}"))
    }
}

impl IntoResponse for ServerError {
    fn into_response(self) -> Response {
        let status = self.status();
        // Internal details go to the operator's log, not to the client.
        let message = if let ServerError::Busy(_) = self {
            eprintln!("switchboard-server: {self}");
            BUSY_MESSAGE.to_string()
        } else if status.is_server_error() {
            eprintln!("switchboard-server: {self}");
            "internal error; see the server log".to_string()
        } else {
            self.to_string()
        };
        let body = ErrorBody {
            code: self.code().to_string(),
            message,
        };
        let mut response = (status, axum::Json(body)).into_response();
        if let ServerError::Busy(_) = self {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static(BUSY_RETRY_AFTER),
            );
        }
        response
    }
}
