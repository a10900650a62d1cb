//! Reading the rep's inbox over IMAP with implicit TLS (async-imap over tokio-rustls). Only
//! headers of new messages are fetched to find the ones that belong to a sent mail; only those
//! are fetched whole. Messages are never changed (`BODY.PEEK`), so the rep's mail client still
//! shows them unread.

use crate::error::{MailError, Result};
use crate::smtp::chain;
use crate::tls;
use async_imap::{Client, Session};
use futures_util::TryStreamExt;
use rustls::pki_types::ServerName;
use std::time::Duration;
use switchboard_core::mail::mailbox::Mailbox;
use switchboard_protocol::Secret;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// How long connecting and the TLS handshake may take.
pub const TIMEOUT: Duration = Duration::from_secs(30);

/// Where a mailbox stands: its UIDVALIDITY and the next UID it will give.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InboxState {
    pub uid_validity: u32,
    pub uid_next: u32,
}

/// A logged-in IMAP session.
pub struct Imap {
    session: Session<TlsStream<TcpStream>>,
}

fn unreachable(mailbox: &Mailbox, detail: String) -> MailError {
    MailError::Unreachable {
        server: "IMAP",
        address: format!("{}:{}", mailbox.imap_host, mailbox.imap_port),
        detail,
    }
}

impl Imap {
    /// Connects over TLS and logs in.
    pub async fn connect(mailbox: &Mailbox, password: &Secret) -> Result<Imap> {
        let config = tls::client_config(mailbox.ca_file.as_deref())?;
        let name = ServerName::try_from(mailbox.imap_host.trim().to_string())
            .map_err(|e| MailError::Config(format!("IMAP host {}: {e}", mailbox.imap_host)))?;
        let address = (mailbox.imap_host.trim(), mailbox.imap_port);
        let tcp = tokio::time::timeout(TIMEOUT, TcpStream::connect(address))
            .await
            .map_err(|_| unreachable(mailbox, "timed out".into()))?
            .map_err(|e| unreachable(mailbox, e.to_string()))?;
        let stream = tokio::time::timeout(TIMEOUT, TlsConnector::from(config).connect(name, tcp))
            .await
            .map_err(|_| unreachable(mailbox, "the TLS handshake timed out".into()))?
            .map_err(|e| MailError::Tls {
                server: "IMAP",
                detail: chain(&e),
            })?;
        let mut client = Client::new(stream);
        client
            .read_response()
            .await
            .map_err(|e| unreachable(mailbox, e.to_string()))?
            .ok_or_else(|| unreachable(mailbox, "the server closed without a greeting".into()))?;
        let session = client
            .login(mailbox.username.trim(), password.expose())
            .await
            .map_err(|(e, _)| match e {
                async_imap::error::Error::No(detail) | async_imap::error::Error::Bad(detail) => {
                    MailError::AuthFailed {
                        server: "IMAP",
                        detail,
                    }
                }
                other => unreachable(mailbox, other.to_string()),
            })?;
        Ok(Imap { session })
    }

    fn server_error(e: async_imap::error::Error) -> MailError {
        MailError::Server {
            server: "IMAP",
            detail: e.to_string(),
        }
    }

    /// Selects the inbox read-only.
    pub async fn inbox(&mut self) -> Result<InboxState> {
        let mailbox = self
            .session
            .examine("INBOX")
            .await
            .map_err(Imap::server_error)?;
        Ok(InboxState {
            uid_validity: mailbox.uid_validity.unwrap_or(0),
            uid_next: mailbox.uid_next.unwrap_or(1),
        })
    }

    /// The headers of every message with a UID of `from` or more, by UID.
    pub async fn headers_from(&mut self, from: u32) -> Result<Vec<(u32, Vec<u8>)>> {
        let from = from.max(1);
        let fetches: Vec<_> = self
            .session
            .uid_fetch(format!("{from}:*"), "(UID BODY.PEEK[HEADER])")
            .await
            .map_err(Imap::server_error)?
            .try_collect()
            .await
            .map_err(Imap::server_error)?;
        // `n:*` names the last message even when it is older than n.
        let mut headers: Vec<(u32, Vec<u8>)> = fetches
            .iter()
            .filter_map(|f| Some((f.uid?, f.header()?.to_vec())))
            .filter(|(uid, _)| *uid >= from)
            .collect();
        headers.sort_by_key(|(uid, _)| *uid);
        Ok(headers)
    }

    /// One whole message by UID.
    pub async fn message(&mut self, uid: u32) -> Result<Option<Vec<u8>>> {
        let fetches: Vec<_> = self
            .session
            .uid_fetch(uid.to_string(), "(UID BODY.PEEK[])")
            .await
            .map_err(Imap::server_error)?
            .try_collect()
            .await
            .map_err(Imap::server_error)?;
        Ok(fetches
            .iter()
            .find(|f| f.uid == Some(uid))
            .and_then(|f| f.body())
            .map(<[u8]>::to_vec))
    }

    /// Logs out (errors on the way out change nothing).
    pub async fn logout(mut self) {
        let _ = self.session.logout().await;
    }
}
