//! The core's one error type. Every variant has a stable `code` that the UI and the CLI branch on.

use thiserror::Error;

/// Everything that can go wrong in the core.
#[derive(Debug, Error)]
pub enum CoreError {
    /// The caller gave something unusable; the message says what and how to fix it.
    #[error("{0}")]
    BadInput(String),
    /// No such lead, user, queue, …
    #[error("{0}")]
    NotFound(String),
    /// The compliance gate refused a contact or disclosure.
    #[error("{0}")]
    Blocked(String),
    /// The person was erased: their data is gone and cannot be recorded again.
    #[error("{0}")]
    Suppressed(String),
    /// The signed-in account's role may not do this; the message says who can.
    #[error("{0}")]
    RoleRequired(String),
    /// Someone else changed or holds it (a lease, a concurrent write).
    #[error("{0}")]
    Conflict(String),
    /// Cadence mail needs an unsubscribe link and this replica has no unsubscribe key (its
    /// server has no public URL, or nobody signed in); the message says what to do.
    #[error("{0}")]
    UnsubscribeNotConfigured(String),
    /// The database file could not be used.
    #[error("database error: {0}")]
    Storage(#[from] rusqlite::Error),
    /// The database file is encrypted and the key given does not open it (or none was given).
    #[error("the database {0} is encrypted and this key does not open it: use the key it was made with (the OS keychain's entry, SWITCHBOARD_DB_KEY_FILE or SWITCHBOARD_DB_KEY), or restore the keychain that holds it")]
    WrongKey(String),
    /// Reading or writing a file failed.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}

impl CoreError {
    /// The stable machine-readable code for this error.
    pub fn code(&self) -> &'static str {
        match self {
            CoreError::BadInput(_) => "bad_input",
            CoreError::NotFound(_) => "not_found",
            CoreError::Blocked(_) => "blocked",
            CoreError::Suppressed(_) => "suppressed",
            CoreError::RoleRequired(_) => "role_required",
            CoreError::Conflict(_) => "conflict",
            CoreError::UnsubscribeNotConfigured(_) => "unsubscribe_not_configured",
            CoreError::Storage(_) => "storage",
            CoreError::WrongKey(_) => "wrong_key",
            CoreError::Io { .. } => "io",
        }
    }

    /// Wraps an I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        CoreError::Io {
            context: context.into(),
            source,
        }
    }
}

impl From<switchboard_domain::DomainError> for CoreError {
    fn from(e: switchboard_domain::DomainError) -> Self {
        match e {
            switchboard_domain::DomainError::BadInput(m) => CoreError::BadInput(m),
        }
    }
}

impl From<switchboard_protocol::UnknownValue> for CoreError {
    fn from(e: switchboard_protocol::UnknownValue) -> Self {
        CoreError::BadInput(e.to_string())
    }
}

/// Result with the core's error.
pub type Result<T, E = CoreError> = std::result::Result<T, E>;
