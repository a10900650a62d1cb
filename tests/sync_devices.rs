//! Devices through the real parts: a real server on 127.0.0.1:0 with TLS (its clock injected),
//! laptops that are the real `switchboard` binary over their own database files, the real
//! `switchboard-server` admin commands, and once a real Secret Service (gnome-keyring on a
//! private session bus). A revoked laptop erases its replica and keys at its next sync and says
//! why while the other keeps working; tokens slide while in use and expire when idle, decided by
//! the server's clock whatever the laptops' clocks say.

use crate::support;
use crate::sync_support;

use chrono::{Duration, TimeZone, Utc};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use support::{finish, Run, Sandbox};
use switchboard_core::FixedClock;
use switchboard_sync::keychain::Keychain;
use sync_support::{Hub, PASSWORD};

/// Runs a prepared command off the async threads (the server serves on them meanwhile).
async fn run(mut command: Command, input: Option<String>) -> Run {
    tokio::task::spawn_blocking(move || {
        command.stdin(Stdio::piped());
        let mut child = command.spawn().expect("starting a binary");
        let mut stdin = child.stdin.take().expect("stdin is piped");
        if let Some(text) = input {
            stdin.write_all(text.as_bytes()).unwrap();
        }
        drop(stdin);
        finish(child.wait_with_output().unwrap())
    })
    .await
    .unwrap()
}

/// A laptop: the `switchboard` binary over its own database, its clock `now` (RFC 3339).
fn laptop(user: &str, now: &str) -> Sandbox {
    let mut s = Sandbox::new();
    s.set_env("SWITCHBOARD_USER", user);
    s.set_env("SWITCHBOARD_NOW", now);
    s.unset_env("SWITCHBOARD_TOKEN");
    s.unset_env("DBUS_SESSION_BUS_ADDRESS");
    s
}

/// Signs `user` in on `s` and keeps the printed token in its environment (no keychain here).
async fn sign_in(hub: &Hub, s: &mut Sandbox, user: &str, name: &str) {
    let out = run(
        s.command(&[
            "login",
            "--server",
            &hub.server.url,
            "--fingerprint",
            &hub.server.fingerprint,
            "--user",
            user,
            "--password-stdin",
            "--print-token",
            "--device-name",
            name,
        ]),
        Some(format!("{PASSWORD}\n")),
    )
    .await;
    out.ok();
    s.set_env("SWITCHBOARD_TOKEN", out.stdout.trim());
}

async fn sync(s: &Sandbox) -> Run {
    run(s.command(&["--json", "sync"]), None).await
}

/// The `{"error": {"code"…}}` a failed `--json` command printed.
fn error_code(r: &Run) -> String {
    let value: serde_json::Value = serde_json::from_str(r.stderr.trim())
        .unwrap_or_else(|e| panic!("stderr is not JSON ({e}): {}", r.stderr));
    value["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn device_id(s: &Sandbox) -> String {
    s.sql()
        .query_row(
            "SELECT value FROM setting WHERE key = 'device_id'",
            [],
            |r| r.get(0),
        )
        .expect("the replica keeps its device id")
}

/// The replica's files in its folder (the database and everything named after it).
fn replica_files(s: &Sandbox) -> Vec<String> {
    std::fs::read_dir(s.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("switchboard.db"))
        .collect()
}

async fn admin(data: &Path, args: &[&str]) -> Run {
    let bin = support::binary().with_file_name("switchboard-server");
    let mut command = Command::new(bin);
    command
        .args(args)
        .arg("--data")
        .arg(data)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = run(command, None).await;
    out.ok();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_slide_in_use_and_expire_by_the_servers_clock_whatever_the_laptops_say() {
    let s0 = Utc.with_ymd_and_hms(2026, 6, 1, 9, 0, 0).unwrap();
    let clock = FixedClock::at(s0);
    let hub = Hub::start_with_clock(Arc::new(clock.clone())).await;
    // One laptop's clock runs 40 days behind the server's, the other's 45 days ahead: if
    // either decided expiry, one of them would be signed out at once.
    let mut behind = laptop("rita", &(s0 - Duration::days(40)).to_rfc3339());
    let mut ahead = laptop("mona", &(s0 + Duration::days(45)).to_rfc3339());
    sign_in(&hub, &mut behind, "rita", "rita-laptop").await;
    sign_in(&hub, &mut ahead, "mona", "mona-desk").await;
    sync(&behind).await.ok();
    sync(&ahead).await.ok();

    // In use, rita's sign-in slides past its first 30 days; mona's laptop stays idle.
    for _ in 0..2 {
        clock.advance(Duration::days(20));
        sync(&behind).await.ok();
    }
    let refused = sync(&ahead).await;
    refused.expect(1);
    assert_eq!(error_code(&refused), "token_expired");
    refused.stderr_mentions(&["sign in again", "30 days", "nothing was lost"]);
    assert!(
        replica_files(&ahead).contains(&"switchboard.db".to_string()),
        "an expired sign-in erases nothing"
    );
    // Signing in again works and keeps the device.
    let device = device_id(&ahead);
    sign_in(&hub, &mut ahead, "mona", "mona-desk").await;
    sync(&ahead).await.ok();
    assert_eq!(device_id(&ahead), device);

    // The administrator's view: both devices with their names, none revoked.
    let data = hub.data_dir().to_path_buf();
    let listed = admin(&data, &["device", "list", "--office", "BER"]).await;
    let rows: Vec<&str> = listed.stdout.lines().collect();
    assert_eq!(rows.len(), 2, "{listed:?}");
    assert!(listed.stdout.contains("rita-laptop") && listed.stdout.contains("mona-desk"));
    assert!(
        rows.iter().all(|r| r.ends_with("active")),
        "{}",
        listed.stdout
    );

    // Revoked by the administrator: rita's next sync erases her laptop's replica (no keychain
    // here: the token came from the environment) and tells her why; mona keeps working.
    let rita_device = device_id(&behind);
    admin(&data, &["device", "revoke", &rita_device]).await;
    let wiped = sync(&behind).await;
    wiped.expect(1);
    assert_eq!(error_code(&wiped), "device_revoked");
    wiped.stderr_mentions(&[
        "removed from Switchboard by admin",
        "erased",
        "sign in again",
    ]);
    assert_eq!(replica_files(&behind), Vec::<String>::new());
    sync(&ahead).await.ok();
}

fn has(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_laptop_erases_its_replica_and_keychain_entries_and_the_other_keeps_working() {
    assert!(
        has("dbus-run-session") && has("gnome-keyring-daemon") && has("gdbus"),
        "this test needs dbus-run-session, gnome-keyring-daemon and gdbus (Debian: dbus, \
         gnome-keyring, libglib2.0-bin)"
    );
    let hub = Hub::start().await;
    let person = "Ottilie Verlorenlaptop";
    hub.intake(serde_json::json!({
        "submission_id": "lost-laptop-1",
        "kind": "trial",
        "submitted_at": "2026-03-01T10:00:00Z",
        "name": person,
        "email": "ottilie@example.com",
        "country": "DE",
    }))
    .await;
    let home = tempfile::tempdir().unwrap();
    let (rita_dir, mona_dir) = (home.path().join("rita"), home.path().join("mona"));
    std::fs::create_dir_all(&rita_dir).unwrap();
    std::fs::create_dir_all(&mona_dir).unwrap();
    let out = home.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let account = |user: &str| Keychain::account(user, &hub.server.url);
    // Everything that needs the keychain runs in one private session bus; each step writes
    // what it printed to `out/` for the checks below.
    let script = format!(
        r#"
B='{bin}'; R='{rita}/switchboard.db'; M='{mona}/switchboard.db'; O='{out}'
search() {{ gdbus call --session --dest org.freedesktop.secrets \
  --object-path /org/freedesktop/secrets \
  --method org.freedesktop.Secret.Service.SearchItems "{{'service': 'switchboard', 'username': '$1'}}"; }}
printf '%s\n' '{password}' | "$B" --db "$R" login --server '{url}' --fingerprint '{fp}' \
  --user rita --password-stdin --device-name rita-laptop || exit 10
printf '%s\n' '{password}' | "$B" --db "$M" login --server '{url}' --fingerprint '{fp}' \
  --user mona --password-stdin --device-name mona-desk || exit 11
"$B" --db "$R" sync || exit 12
"$B" --db "$M" sync || exit 13
search '{rita_account}' > "$O/rita-before"
search '{rita_db_account}' > "$O/rita-key-before"
"$B" --db "$M" device list > "$O/devices" || exit 14
id=$(awk '$2 == "rita" {{print $1}}' "$O/devices")
"$B" --db "$M" device revoke "$id" > "$O/revoke" || exit 15
"$B" --db "$R" sync > "$O/rita-sync.out" 2> "$O/rita-sync.err"; echo $? > "$O/rita-sync.code"
search '{rita_account}' > "$O/rita-after"
search '{rita_db_account}' > "$O/rita-key-after"
search '{mona_account}' > "$O/mona-after"
"$B" --db "$M" sync || exit 16
"$B" --db "$M" --json device list > "$O/devices-after" || exit 17
"$B" --db "$M" --json leads search '{person}' > "$O/mona-leads" || exit 18
"#,
        bin = support::binary().display(),
        rita = rita_dir.display(),
        mona = mona_dir.display(),
        out = out.display(),
        password = PASSWORD,
        url = hub.server.url,
        fp = hub.server.fingerprint,
        rita_account = account("rita"),
        mona_account = account("mona"),
        rita_db_account = Keychain::database_account(&rita_dir.join("switchboard.db")),
        person = person,
    );
    let helper = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/support/with-secret-service.sh"
    );
    let mut command = Command::new("sh");
    command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .arg(helper)
        .arg(&script)
        .env("HOME", home.path())
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env("XDG_RUNTIME_DIR", home.path())
        .env("SWITCHBOARD_NOW", support::NOW)
        .env_remove("SWITCHBOARD_TOKEN")
        .env_remove("SWITCHBOARD_USER")
        .env_remove("SWITCHBOARD_DB")
        .env_remove("DBUS_SESSION_BUS_ADDRESS");
    let script_run = run(command, None).await;
    let read = |name: &str| std::fs::read_to_string(out.join(name)).unwrap_or_default();
    script_run.ok();
    let rita_sync_err = read("rita-sync.err");
    assert!(
        !rita_sync_err.contains("panicked at"),
        "the binary panicked:\n{rita_sync_err}"
    );

    // Before: rita's token was in the keychain, and her laptop held the person.
    assert!(
        read("rita-before").contains("/collection/"),
        "{}",
        read("rita-before")
    );
    assert!(
        read("devices").contains("rita-laptop"),
        "{}",
        read("devices")
    );
    // Her next sync was refused, erased the replica and the keychain entry, and said why.
    assert_eq!(read("rita-sync.code").trim(), "1", "{rita_sync_err}");
    for words in [
        "removed from Switchboard by mona",
        "erased",
        "sign in again",
    ] {
        assert!(
            rita_sync_err.contains(words),
            "{words:?} in {rita_sync_err}"
        );
    }
    let left: Vec<_> = std::fs::read_dir(&rita_dir).unwrap().collect();
    assert!(left.is_empty(), "rita's folder still holds {left:?}");
    assert!(
        !read("rita-after").contains("/collection/"),
        "{}",
        read("rita-after")
    );
    // Her replica's database key was in the keychain, and went with it.
    assert!(
        read("rita-key-before").contains("/collection/"),
        "{}",
        read("rita-key-before")
    );
    assert!(
        !read("rita-key-after").contains("/collection/"),
        "{}",
        read("rita-key-after")
    );
    // mona's laptop keeps its token, its replica with the person, and syncing.
    assert!(
        read("mona-after").contains("/collection/"),
        "{}",
        read("mona-after")
    );
    // (Read through the binary inside the session: her replica's key lives in that keychain.)
    let hits: Vec<serde_json::Value> = serde_json::from_str(&read("mona-leads")).unwrap();
    let held = hits.iter().filter(|h| h["lead"]["name"] == person).count();
    assert_eq!(held, 1, "{hits:?}");
    let listed: Vec<serde_json::Value> = serde_json::from_str(&read("devices-after")).unwrap();
    let rita = listed
        .iter()
        .find(|d| d["user"] == "rita")
        .expect("rita's laptop is listed");
    assert_eq!(rita["name"], "rita-laptop");
    assert_eq!(rita["revoked_by"], "mona");
    assert!(listed
        .iter()
        .any(|d| d["user"] == "mona" && d["revoked_at"].is_null()));
}
