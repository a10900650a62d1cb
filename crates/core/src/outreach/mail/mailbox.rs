//! The rep's mailbox settings on this laptop: servers, ports, TLS mode, user name, the address
//! mail is sent from, the signature. Never the password — that lives in the OS keychain
//! (`switchboard-mail`'s `secret`).

use crate::error::{CoreError, Result};
use crate::store::settings::{get_setting, set_setting};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use ts_rs::TS;

const KEY: &str = "mailbox";

/// How the SMTP connection is secured. Plain text is not offered: the password would travel
/// in the clear.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS (usually port 587); refused if the server cannot.
    StartTls,
    /// TLS from the first byte (usually port 465).
    Tls,
}

impl SmtpSecurity {
    /// Parses `starttls` or `tls`.
    pub fn parse(text: &str) -> Result<SmtpSecurity> {
        match text.trim().to_ascii_lowercase().as_str() {
            "starttls" | "start_tls" => Ok(SmtpSecurity::StartTls),
            "tls" | "ssl" | "implicit" => Ok(SmtpSecurity::Tls),
            other => Err(CoreError::BadInput(format!(
                "unknown SMTP security '{other}' (starttls or tls)"
            ))),
        }
    }
}

/// Where and as whom this laptop sends and reads mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Mailbox {
    /// The address mail is sent from (and replies come back to).
    pub address: String,
    /// The name shown beside the address.
    pub display_name: Option<String>,
    /// The user name the servers know (often the address).
    pub username: String,
    pub smtp_host: String,
    pub smtp_port: u16,
    pub smtp_security: SmtpSecurity,
    /// IMAP over TLS (port 993 usually).
    pub imap_host: String,
    pub imap_port: u16,
    /// An extra CA certificate (PEM) to trust, for a private server.
    #[ts(type = "string | null")]
    pub ca_file: Option<PathBuf>,
    /// Put under `{{signature}}`.
    pub signature: String,
}

impl Mailbox {
    /// The part after the `@` of the sending address (Message-IDs are made under it).
    pub fn domain(&self) -> &str {
        self.address.rsplit('@').next().unwrap_or("localhost")
    }

    fn validate(&self) -> Result<()> {
        let address = self.address.trim();
        if !address.contains('@') || address.contains(char::is_whitespace) {
            return Err(CoreError::BadInput(format!(
                "'{address}' is not an email address to send from"
            )));
        }
        for (what, host, port) in [
            ("SMTP", &self.smtp_host, self.smtp_port),
            ("IMAP", &self.imap_host, self.imap_port),
        ] {
            if host.trim().is_empty() || port == 0 {
                return Err(CoreError::BadInput(format!(
                    "the {what} server needs a host name and a port"
                )));
            }
        }
        if self.username.trim().is_empty() {
            return Err(CoreError::BadInput(
                "the mailbox needs the user name the servers know".into(),
            ));
        }
        Ok(())
    }
}

/// Saves the mailbox settings (checked first).
pub fn save(conn: &Connection, mailbox: &Mailbox) -> Result<()> {
    mailbox.validate()?;
    let json = serde_json::to_string(mailbox)
        .map_err(|e| CoreError::BadInput(format!("mailbox settings: {e}")))?;
    set_setting(conn, KEY, &json)
}

/// The mailbox settings, if set up.
pub fn load(conn: &Connection) -> Result<Option<Mailbox>> {
    match get_setting(conn, KEY)? {
        None => Ok(None),
        Some(json) => serde_json::from_str(&json).map(Some).map_err(|e| {
            CoreError::BadInput(format!(
                "the saved mailbox settings are unreadable ({e}): run `switchboard mail setup` again"
            ))
        }),
    }
}

/// The mailbox settings, or an error saying to set them up.
pub fn require(conn: &Connection) -> Result<Mailbox> {
    load(conn)?.ok_or_else(|| {
        CoreError::NotFound(
            "no mailbox is set up on this laptop: run `switchboard mail setup` first".into(),
        )
    })
}
