//! Why a sync failed, told apart through a real server: a certificate that is not the pinned
//! one (`fingerprint_mismatch`, naming both), a body the server refuses as too large
//! (`payload_too_large`), a server that is down (`network`), and another TLS failure (`tls`),
//! each with what to do; and the same codes through the `switchboard` binary's `sync` and
//! `status`.

use crate::support;
use crate::sync_support;

use std::process::Command;
use switchboard_sync::{Client, SyncError, TrustAnchor};
use switchboard_test_support::{TestOptions, TestServer};
use sync_support::*;

/// The fingerprint of a certificate the server does not have.
const OTHER_PIN: &str = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_pin_is_a_fingerprint_mismatch_naming_both_certificates() {
    let hub = Hub::start().await;
    let mut rita = hub.replica("rita").await;
    rita.reconnect(&hub.server.url, OTHER_PIN);
    let error = rita.try_sync().await.unwrap_err();
    assert_eq!(error.code(), "fingerprint_mismatch", "{error}");
    match &error {
        SyncError::FingerprintMismatch { presented, pinned } => {
            assert_eq!(presented, &hub.server.fingerprint);
            assert_eq!(pinned, OTHER_PIN);
        }
        other => panic!("{other:?}"),
    }
    let message = error.to_string();
    assert!(message.contains(&hub.server.fingerprint), "{message}");
    assert!(message.contains("sign in again"), "{message}");
    assert!(
        !error.is_transient(),
        "retrying cannot fix a wrong certificate"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_no_anchor_trusts_is_a_tls_error_not_a_mismatch() {
    let hub = Hub::start().await;
    // A CA file holding another server's certificate: verification fails without a pin.
    let other = TestServer::start(TestOptions::default()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("other.pem");
    std::fs::write(&ca, &other.cert_pem).unwrap();
    let client = Client::new(&hub.server.url, &TrustAnchor::CaFile(ca)).unwrap();
    let error = client
        .login("rita", &switchboard_sync::Secret::new(PASSWORD))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "tls", "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_push_is_payload_too_large_over_a_real_server() {
    let hub = Hub::start().await;
    let rita = hub.replica("rita").await;
    let limit = switchboard_server::api::BODY_LIMIT;
    let mut body = br#"{"replica_id": "x", "ops": [], "pad": ""#.to_vec();
    body.extend(std::iter::repeat_n(b'a', 2 * limit));
    body.extend(b"\"}");
    let error = rita.client.push_raw(&rita.token, body).await.unwrap_err();
    assert_eq!(error.code(), "payload_too_large", "{error}");
    assert!(matches!(error, SyncError::PayloadTooLarge(_)), "{error:?}");
    assert!(error.to_string().contains("too large"), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_is_down_is_a_network_error() {
    let hub = Hub::start().await;
    let mut rita = hub.replica("rita").await;
    // A port nobody listens on any more: the connection is refused.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    rita.reconnect(&format!("https://{closed}"), &hub.server.fingerprint);
    let error = rita.try_sync().await.unwrap_err();
    assert_eq!(error.code(), "network", "{error}");
    assert!(error.is_transient());
    assert!(
        error.to_string().contains("cannot reach the server"),
        "{error}"
    );
}

/// `switchboard --json sync` on `db`: its exit status and the error's code and message.
fn cli_sync(db: &std::path::Path, token: &str) -> (bool, String, String) {
    let out = Command::new(support::binary())
        .args(["--db", db.to_str().unwrap(), "--json", "sync"])
        .env("SWITCHBOARD_TOKEN", token)
        .env(
            "SWITCHBOARD_DB_KEY",
            switchboard_test_support::test_db_key_hex(),
        )
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr.lines().last().unwrap_or_default();
    let error: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
    (
        out.status.success(),
        error["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        error["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

fn cli_status(db: &std::path::Path) -> String {
    let out = Command::new(support::binary())
        .args(["--db", db.to_str().unwrap(), "status"])
        .env(
            "SWITCHBOARD_DB_KEY",
            switchboard_test_support::test_db_key_hex(),
        )
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_names_a_wrong_pin_and_a_server_down_in_sync_and_status() {
    let hub = Hub::start().await;
    let rita = hub.replica("rita").await;
    let db = rita.path.clone();
    let token = rita.token.expose().to_string();
    // rita stays open (her folder with her); the binary opens the same file.
    // The pinned certificate is not the server's (as after a renewal).
    let set_pin = |pin: &str| {
        let conn = switchboard_test_support::open_sqlite(&db, Default::default());
        conn.execute("UPDATE sync_state SET fingerprint = ?1", [pin])
            .unwrap();
    };
    set_pin(OTHER_PIN);
    let db2 = db.clone();
    let token2 = token.clone();
    let (ok, code, message) = tokio::task::spawn_blocking(move || cli_sync(&db2, &token2))
        .await
        .unwrap();
    assert!(!ok);
    assert_eq!(code, "fingerprint_mismatch", "{message}");
    assert!(message.contains(&hub.server.fingerprint), "{message}");
    let status = cli_status(&db);
    assert!(
        status.contains("[fingerprint_mismatch] the server presented certificate"),
        "{status}"
    );

    // The right pin again, but the server is down.
    set_pin(&hub.server.fingerprint);
    let url = hub.server.url.clone();
    hub.server.stop().await;
    let db2 = db.clone();
    let (ok, code, message) = tokio::task::spawn_blocking(move || cli_sync(&db2, &token))
        .await
        .unwrap();
    assert!(!ok);
    assert_eq!(code, "network", "{message} ({url})");
    let status = cli_status(&db);
    assert!(
        status.contains("[network] cannot reach the server"),
        "{status}"
    );
}
