//! The domain's one error type: input that breaks a rule, with a message saying how to fix it.

use thiserror::Error;

/// A rule of the domain refused what it was given.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DomainError {
    /// The caller gave something unusable; the message says what and how to fix it.
    #[error("{0}")]
    BadInput(String),
}

impl DomainError {
    /// The stable machine-readable code for this error.
    pub fn code(&self) -> &'static str {
        match self {
            DomainError::BadInput(_) => "bad_input",
        }
    }
}

impl From<switchboard_protocol::UnknownValue> for DomainError {
    fn from(e: switchboard_protocol::UnknownValue) -> Self {
        DomainError::BadInput(e.to_string())
    }
}

/// Results of the domain's rules.
pub type Result<T> = std::result::Result<T, DomainError>;
