//! The token's home. Once against a real Secret Service (gnome-keyring on a private session bus,
//! as `tests/support/with-secret-service.sh` sets up) through the real binary; otherwise the
//! keyring mock store; and without any keychain the error says exactly what to do.

#[path = "support/sync.rs"]
mod sync_support;

#[path = "support/mod.rs"]
#[allow(dead_code)]
mod support;

use std::process::{Command, Stdio};
use switchboard_sync::keychain::{resolve_token, Keychain};
use switchboard_sync::Secret;
use sync_support::{Hub, PASSWORD};

fn has(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs `script` with `sh` inside a fresh session bus with an unlocked gnome-keyring, HOME in
/// `home`, and no SWITCHBOARD_TOKEN; returns (exit code, stdout, stderr).
fn in_secret_service(home: &std::path::Path, script: &str) -> (i32, String, String) {
    let helper = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/support/with-secret-service.sh"
    );
    let out = Command::new("sh")
        .arg(helper)
        .arg(script)
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_RUNTIME_DIR", home)
        .env_remove("SWITCHBOARD_TOKEN")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_stores_the_token_in_a_real_secret_service_and_sync_finds_it() {
    assert!(
        has("dbus-run-session") && has("gnome-keyring-daemon"),
        "this test needs dbus-run-session and gnome-keyring-daemon (Debian: dbus, gnome-keyring)"
    );
    let hub = Hub::start().await;
    let mut rita = hub.replica("rita").await;
    rita.add_lead("Kim Keyring", "kim@example.com", "+4930111222", "DE");
    rita.sync().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("laptop.db");
    let bin = support::binary();
    let script = format!(
        "printf '%s\\n' '{PASSWORD}' | '{bin}' --db '{db}' login --server '{url}' \
           --fingerprint '{fp}' --user mona --password-stdin && \
         '{bin}' --db '{db}' sync --json",
        bin = bin.display(),
        db = db.display(),
        url = hub.server.url,
        fp = hub.server.fingerprint,
    );
    // The server works on this runtime while the binary runs in another process.
    let home = dir.path().to_path_buf();
    let (code, stdout, stderr) =
        tokio::task::spawn_blocking(move || in_secret_service(&home, &script))
            .await
            .unwrap();
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("\"pulled\""), "{stdout}");
    let laptop = rusqlite::Connection::open(&db).unwrap();
    let leads: i64 = laptop
        .query_row("SELECT count(*) FROM lead", [], |r| r.get(0))
        .unwrap();
    assert_eq!(leads, 1, "the sync used the keychain's token");
    // The token is in the keychain only: the database holds no token-like setting.
    let settings: Vec<String> = laptop
        .prepare("SELECT key FROM setting")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert!(
        settings.iter().all(|k| !k.contains("token")),
        "{settings:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_keychain_or_variable_the_error_says_what_to_do() {
    let hub = Hub::start().await;
    let rita = hub.replica("rita").await;
    // rita's replica stays open (and its folder alive); the binary opens the same file.
    let db = rita.path.clone();
    let out = Command::new(support::binary())
        .args(["--db", db.to_str().unwrap(), "sync"])
        .env_remove("SWITCHBOARD_TOKEN")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env_remove("DISPLAY")
        .env("XDG_RUNTIME_DIR", db.parent().unwrap())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("SWITCHBOARD_TOKEN") && stderr.contains("switchboard login"),
        "{stderr}"
    );
    // With the variable, the same command syncs.
    let token = hub
        .server
        .login("rita", PASSWORD)
        .await
        .unwrap()
        .token
        .expose()
        .to_string();
    let bin = support::binary();
    let db2 = db.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(bin)
            .args(["--db", db2.to_str().unwrap(), "--json", "sync"])
            .env("SWITCHBOARD_TOKEN", token)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_mock_store_keeps_tokens_per_account() {
    let keychain = Keychain::with_store(keyring_core::mock::Store::new().unwrap());
    let server = "https://127.0.0.1:8443";
    keychain
        .save("rita", server, &Secret::new("tok-1"))
        .unwrap();
    let token = resolve_token(None, || Ok(keychain.clone()), "rita", server).unwrap();
    assert_eq!(token.expose(), "tok-1");
    assert_eq!(format!("{token} {token:?}"), "*** Secret(***)");
    assert!(resolve_token(None, || Ok(keychain.clone()), "mona", server).is_err());
}
