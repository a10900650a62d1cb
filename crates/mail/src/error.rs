//! The mail crate's errors. Each has a stable `code` and a message that says what to do.

use thiserror::Error;

/// Everything that can go wrong talking to the rep's mail servers.
#[derive(Debug, Error)]
pub enum MailError {
    /// The server refused the user name or password.
    #[error("the {server} server refused the login ({detail}): check the user name, and the password or app password (`switchboard mail setup`)")]
    AuthFailed {
        server: &'static str,
        detail: String,
    },
    /// The SMTP server refused a recipient for good.
    #[error("the mail server refused the recipient ({detail}): correct the lead's email address")]
    RecipientRefused { detail: String },
    /// No connection: wrong host or port, no network, the server down.
    #[error("cannot reach the {server} server at {address} ({detail}): check the host and port, and the network; queued mail stays queued")]
    Unreachable {
        server: &'static str,
        address: String,
        detail: String,
    },
    /// The TLS handshake failed: an untrusted or mismatched certificate, or no TLS offered.
    #[error("TLS with the {server} server failed ({detail}): check the host name and port, the TLS mode (starttls or tls), and for a private server the CA file")]
    Tls {
        server: &'static str,
        detail: String,
    },
    /// The server answered something else it would not do (try again later, usually).
    #[error("the {server} server refused: {detail}")]
    Server {
        server: &'static str,
        detail: String,
    },
    /// No password in the keychain (or the keychain is not available).
    #[error("{0}")]
    NoPassword(String),
    /// The mailbox settings cannot be used (a CA file that cannot be read, …).
    #[error("{0}")]
    Config(String),
    /// The local database refused.
    #[error(transparent)]
    Core(#[from] switchboard_core::CoreError),
}

impl MailError {
    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            MailError::AuthFailed { .. } => "mail_auth_failed",
            MailError::RecipientRefused { .. } => "mail_recipient_refused",
            MailError::Unreachable { .. } => "mail_unreachable",
            MailError::Tls { .. } => "mail_tls_failed",
            MailError::Server { .. } => "mail_server_refused",
            MailError::NoPassword(_) => "mail_no_password",
            MailError::Config(_) => "mail_config",
            MailError::Core(e) => e.code(),
        }
    }
}

/// Result with the mail crate's error.
pub type Result<T, E = MailError> = std::result::Result<T, E>;
