//! The token's and the database key's home. Against a real Secret Service (gnome-keyring on a
//! private session bus, as `tests/support/with-secret-service.sh` sets up) through the real
//! binary — the stolen-laptop test; otherwise the keyring mock store; and without any keychain
//! the error says exactly what to do.

use crate::support;
use crate::sync_support;

use std::path::Path;
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
/// `home`, TMPDIR in `home/tmp`, and neither a token nor a database key in the environment;
/// returns (exit code, stdout, stderr).
fn in_secret_service(home: &Path, script: &str) -> (i32, String, String) {
    let helper = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/support/with-secret-service.sh"
    );
    std::fs::create_dir_all(home.join("tmp")).unwrap();
    let out = Command::new("sh")
        .arg(helper)
        .arg(script)
        .env("HOME", home)
        .env("XDG_DATA_HOME", home.join("data"))
        .env("XDG_RUNTIME_DIR", home)
        .env("TMPDIR", home.join("tmp"))
        .env_remove("SWITCHBOARD_TOKEN")
        .env_remove("SWITCHBOARD_DB")
        .env_remove("SWITCHBOARD_DB_KEY")
        .env_remove("SWITCHBOARD_DB_KEY_FILE")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// What a person's data looks like on the laptop: pulled from the server, imported, noted.
const NEEDLES: &[&str] = &[
    "Kim Keyring",
    "kim@example.com",
    "4930111222",
    "Stahlberg",
    "ottilie@example.org",
    "5551234",
    "198.51.100.23",
    "Zanzibar tariff",
];

/// The stolen laptop. A rep uses the real binary with the real keychain (gnome-keyring): `login`
/// keeps the token there, the first open makes the database key and keeps it beside the token,
/// then sync (pulling a person another rep entered), import, a follow-up, a push and exports.
/// Everything the app left under HOME and TMPDIR, copied elsewhere — after it quit, and while
/// `sync --watch` had the database open with its WAL — holds none of the people's
/// strings, and the copied database does not open without that keychain: not without one
/// (`no_keychain`), not with another (`no_db_key`), not with a guessed key (`wrong_key`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stolen_laptop_shows_nobody_and_its_copy_does_not_open_without_the_keychain() {
    assert!(
        has("dbus-run-session") && has("gnome-keyring-daemon"),
        "this test needs dbus-run-session and gnome-keyring-daemon (Debian: dbus, gnome-keyring)"
    );
    let hub = Hub::start().await;
    let mut rita = hub.replica("rita").await;
    rita.add_lead("Kim Keyring", "kim@example.com", "+4930111222", "DE");
    rita.sync().await;
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    // The rep's own files (the spreadsheet imported, the export asked for) live outside what
    // the app leaves behind: they are the user's, not the app's.
    let inbox = dir.path().join("inbox");
    std::fs::create_dir_all(&inbox).unwrap();
    let csv = inbox.join("fair.csv");
    std::fs::write(
        &csv,
        support::csv(&[
            "Submission ID,Type,Product,Submitted At,First Name,Last Name,Company,E-mail,\
             Phone Number,Country,IP Address",
            "F-1,info_request,Widget Pro,2026-03-01T10:00:00Z,Ottilie,Stahlberg,,\
             ottilie@example.org,030 5551234,DE,198.51.100.23",
        ]),
    )
    .unwrap();
    // A copy taken while `sync --watch` holds the database open (its -wal and -shm beside it).
    let live = dir.path().join("live");
    let bin = support::binary();
    let script = format!(
        "set -e
         printf '%s\\n' '{PASSWORD}' | '{bin}' login --server '{url}' --fingerprint '{fp}' \
           --user mona --password-stdin
         '{bin}' --json sync
         '{bin}' import '{csv}'
         {call_time}'{bin}' log ottilie@example.org --channel phone --outcome no_answer \
           --note 'Zanzibar tariff, call back'
         '{bin}' --json sync
         '{bin}' export leads - > /dev/null
         '{bin}' export history '{inbox}/history.csv'
         '{bin}' --json leads search Kim
         '{bin}' --json leads search Stahlberg
         '{bin}' sync --watch > /dev/null 2>&1 &
         watcher=$!
         sleep 2
         cp -a \"$HOME\" '{live}'
         kill $watcher
         wait $watcher || true",
        live = live.display(),
        bin = bin.display(),
        url = hub.server.url,
        fp = hub.server.fingerprint,
        csv = csv.display(),
        inbox = inbox.display(),
        call_time = support::calling_time_in_central_europe()
            .map(|at| format!("SWITCHBOARD_NOW={at} "))
            .unwrap_or_default(),
    );
    let script_home = home.clone();
    let (code, stdout, stderr) =
        tokio::task::spawn_blocking(move || in_secret_service(&script_home, &script))
            .await
            .unwrap();
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    support::Run {
        code,
        stdout: stdout.clone(),
        stderr,
    }
    .no_panic();
    // With the keychain the data is all there: the sync used its token, the import and the
    // search its database key.
    assert!(stdout.contains("\"pulled\""), "{stdout}");
    assert!(stdout.contains("Kim Keyring"), "{stdout}");
    assert!(stdout.contains("Ottilie Stahlberg"), "{stdout}");

    // The thief copies the home folder (the database, its companions, the keyring files, the
    // caches) and the temp folder.
    let stolen = dir.path().join("stolen");
    let copied = switchboard_test_support::copy_tree_skipping_vanished(&home, &stolen).unwrap();
    assert!(copied > 0, "the home folder was copied");
    let db = stolen.join("data/switchboard/switchboard.db");
    assert!(db.metadata().unwrap().len() > 0, "the database was copied");
    for copy in [&stolen, &live] {
        let found = switchboard_test_support::scan_tree_for(copy, NEEDLES).unwrap();
        assert!(
            found.is_empty(),
            "personal data in the copied files: {found:?}"
        );
    }
    assert!(
        live.join("data/switchboard/switchboard.db-wal").exists(),
        "the live copy has the WAL"
    );

    // Without any keychain the copy does not open, and the message says why and what to do.
    let open_copy = |env: &[(&str, &str)]| {
        let mut command = Command::new(support::binary());
        command
            .args(["--db", db.to_str().unwrap(), "--json", "leads", "list"])
            .env("HOME", &stolen)
            .env("XDG_RUNTIME_DIR", &stolen)
            .env_remove("DISPLAY")
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .env_remove("SWITCHBOARD_DB_KEY")
            .env_remove("SWITCHBOARD_DB_KEY_FILE");
        for (name, value) in env {
            command.env(name, value);
        }
        let out = command.output().unwrap();
        let run = support::finish(out);
        run.no_panic();
        assert_eq!(run.code, 1, "{run:?}");
        assert!(!run.stdout.contains("Stahlberg"), "{run:?}");
        run.json_error()
    };
    let (code, message) = open_copy(&[]);
    assert_eq!(code, "no_keychain", "{message}");
    assert!(message.contains("SWITCHBOARD_DB_KEY_FILE"), "{message}");
    let guess = "ab".repeat(32);
    let (code, message) = open_copy(&[("SWITCHBOARD_DB_KEY", &guess)]);
    assert_eq!(code, "wrong_key", "{message}");
    assert!(message.contains("encrypted"), "{message}");
    assert!(!message.contains(&guess), "{message}");
    // Another keychain (the thief's own) holds no key for it.
    let thief = dir.path().join("thief");
    let script = format!(
        "'{bin}' --db '{db}' --json leads list",
        bin = bin.display(),
        db = db.display()
    );
    let (code, stdout, stderr) = in_secret_service(&thief, &script);
    assert_eq!(code, 1, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stderr.contains("no_db_key"), "{stderr}");
    assert!(!stdout.contains("Stahlberg"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_keychain_or_variable_the_error_says_what_to_do() {
    let hub = Hub::start().await;
    let rita = hub.replica("rita").await;
    // rita's replica stays open (and its folder alive); the binary opens the same file.
    let db = rita.path.clone();
    let out = Command::new(support::binary())
        .args(["--db", db.to_str().unwrap(), "sync"])
        .env(
            "SWITCHBOARD_DB_KEY",
            switchboard_test_support::test_db_key_hex(),
        )
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
            .env(
                "SWITCHBOARD_DB_KEY",
                switchboard_test_support::test_db_key_hex(),
            )
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
