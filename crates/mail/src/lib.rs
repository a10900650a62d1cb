//! Switchboard's mail transport, Tauri-free: sending the outbox over SMTP from the rep's own
//! mailbox (lettre over rustls, STARTTLS or implicit TLS, an extra CA file for a private server),
//! reading replies and delivery-status notifications over IMAP (async-imap over rustls), parsing
//! them (mail-parser), and the mailbox password in the OS keychain. What is stored and decided —
//! the outbox, the gate, the follow-ups — is the core's (`switchboard_core::mail`).

pub mod error;
pub mod imap;
pub mod inbound;
pub mod run;
pub mod secret;
pub mod smtp;
pub mod tls;

pub use error::{MailError, Result};
