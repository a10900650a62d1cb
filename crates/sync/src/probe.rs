//! Reading a server's certificate fingerprint before trusting it, so a person can compare it
//! with the one `switchboard-server init` printed. The probe completes no handshake and sends
//! no request: its verifier (`switchboard-pinning`'s, in recording mode) records the
//! certificate and refuses it, so nothing is ever exchanged with an unverified server. Trust
//! comes only from pinning the confirmed value.

use crate::error::{Result, SyncError};
use rustls::pki_types::ServerName;
use rustls::ClientConnection;
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;
use switchboard_pinning::{format_fingerprint, PinnedVerifier};

/// How long the probe waits to connect and for the server's certificate.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// The SHA-256 fingerprint (`AB:CD:…`) of the certificate the server at `server_url`
/// (`https://host[:port]`) presents.
pub async fn server_fingerprint(server_url: &str) -> Result<String> {
    let url = server_url.trim().to_string();
    tokio::task::spawn_blocking(move || probe(&url))
        .await
        .map_err(|e| SyncError::Network(e.to_string()))?
}

fn probe(server_url: &str) -> Result<String> {
    let parsed = reqwest::Url::parse(server_url.trim_end_matches('/'))
        .map_err(|e| SyncError::BadInput(format!("'{server_url}' is not a server URL: {e}")))?;
    if parsed.scheme() != "https" {
        return Err(SyncError::BadInput(format!(
            "'{server_url}': the server must be reached over https://"
        )));
    }
    let host = parsed
        .host_str()
        .ok_or_else(|| SyncError::BadInput(format!("'{server_url}' names no host")))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = parsed.port().unwrap_or(443);
    // Try every address the name resolves to ("localhost" may list ::1 before 127.0.0.1).
    let mut last = SyncError::Network(format!("{host} has no address"));
    let mut connected = None;
    for addr in (host.as_str(), port)
        .to_socket_addrs()
        .map_err(|e| SyncError::Network(format!("{host}: {e}")))?
    {
        match TcpStream::connect_timeout(&addr, PROBE_TIMEOUT) {
            Ok(socket) => {
                connected = Some(socket);
                break;
            }
            Err(e) => last = SyncError::Network(format!("{host}:{port}: {e}")),
        }
    }
    let mut socket = connected.ok_or(last)?;
    socket
        .set_read_timeout(Some(PROBE_TIMEOUT))
        .and_then(|()| socket.set_write_timeout(Some(PROBE_TIMEOUT)))
        .map_err(|e| SyncError::Network(e.to_string()))?;

    let (recorder, presented) = PinnedVerifier::recorder();
    let config = recorder
        .client_config()
        .map_err(|e| SyncError::Tls(e.to_string()))?;
    let name = ServerName::try_from(host.clone())
        .map_err(|e| SyncError::BadInput(format!("{host}: {e}")))?;
    let mut tls =
        ClientConnection::new(Arc::new(config), name).map_err(|e| SyncError::Tls(e.to_string()))?;
    // Drive the handshake until the recorder refuses the certificate (or the server gives up).
    let mut outcome = Ok(());
    while tls.is_handshaking() {
        if let Err(e) = tls.complete_io(&mut socket) {
            outcome = Err(e);
            break;
        }
    }
    match (presented.take(), outcome) {
        (Some(digest), _) => Ok(format_fingerprint(&digest)),
        (None, Err(e)) => Err(SyncError::Network(format!(
            "{host}:{port} did not present a certificate: {e}"
        ))),
        (None, Ok(())) => Err(SyncError::Network(format!(
            "{host}:{port} did not present a certificate"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn refuses_plain_http_and_reports_an_unreachable_server() {
        let plain = server_fingerprint("http://127.0.0.1:1").await.unwrap_err();
        assert_eq!(plain.code(), "bad_input");
        // Bind then drop: nothing listens on the port afterwards.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let gone = server_fingerprint(&format!("https://127.0.0.1:{port}"))
            .await
            .unwrap_err();
        assert_eq!(gone.code(), "network", "{gone}");
    }
}
