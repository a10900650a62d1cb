//! The `switchboard-server` binary: init, administration, serve.

use std::io::{BufReader, Write};
use std::process::{Command, Stdio};
use switchboard_test_support::ApiClient;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_switchboard-server"))
}

fn run(args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    if let Some(text) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    } else {
        drop(child.stdin.take());
    }
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_administer_and_serve() {
    let temp = tempfile::tempdir().unwrap();
    let data = temp.path().join("central");
    let data = data.to_str().unwrap();

    let (ok, out, err) = run(&["init", "--data", data], None);
    assert!(ok, "{err}");
    let fingerprint = out
        .lines()
        .find_map(|l| l.strip_prefix("certificate SHA-256 fingerprint: "))
        .expect("the fingerprint is printed")
        .to_string();
    assert_eq!(fingerprint.len(), 32 * 3 - 1);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for secret in ["key.pem", "suppression.key"] {
            let mode = std::fs::metadata(temp.path().join("central").join(secret))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "{secret} is private");
        }
    }
    let (ok, _, err) = run(&["init", "--data", data], None);
    assert!(!ok && err.contains("already initialised"), "{err}");

    let (ok, _, err) = run(
        &[
            "office",
            "add",
            "BER",
            "--name",
            "Berlin",
            "--country",
            "DE",
            "--data",
            data,
        ],
        None,
    );
    assert!(ok, "{err}");
    let (ok, _, err) = run(&["route", "add", "DE", "BER", "--data", data], None);
    assert!(ok, "{err}");
    let (ok, _, err) = run(&["route", "add", "FR", "PAR", "--data", data], None);
    assert!(!ok && err.contains("PAR"), "{err}");
    let (ok, _, err) = run(
        &[
            "user", "add", "rita", "--role", "rep", "--office", "BER", "--data", data,
        ],
        Some("a long password\n"),
    );
    assert!(ok, "{err}");
    let (ok, _, err) = run(
        &[
            "user", "add", "x", "--role", "rep", "--office", "NOPE", "--data", data,
        ],
        Some("a long password\n"),
    );
    assert!(!ok && err.contains("NOPE"), "{err}");
    let (ok, _, err) = run(
        &[
            "user", "add", "y", "--role", "rep", "--office", "BER", "--data", data,
        ],
        Some("short\n"),
    );
    assert!(!ok && err.contains("8 characters"), "{err}");
    let (ok, key, err) = run(&["intake-key", "create", "--data", data], None);
    assert!(ok && key.trim().starts_with("sbk_"), "{err}");

    // Serve on a free port and log in over HTTPS, trusting the printed fingerprint.
    let mut server = bin()
        .args(["serve", "--data", data, "--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(server.stderr.take().unwrap());
    let url = switchboard_test_support::read_served_address(&mut stderr)
        .expect("the server prints its address");
    let http = switchboard_test_support::pinned_http(&fingerprint);
    let login = ApiClient::login(http.clone(), &url, "rita", "a long password").await;
    let revoked = run(&["user", "revoke", "rita", "--data", data], None);
    server.kill().unwrap();
    let _ = server.wait();
    let login = login.expect("login against the served data folder");
    assert_eq!(login.login.office.as_deref(), Some("BER"));
    assert!(revoked.0, "{}", revoked.2);
}

/// `rotate-keys` puts a new master key in place of the old one, privately.
#[test]
fn rotate_keys_replaces_the_master_key() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("central");
    let data = dir.to_str().unwrap();
    let (ok, _, err) = run(&["init", "--data", data], None);
    assert!(ok, "{err}");
    let id_of = || -> String {
        let text = std::fs::read_to_string(dir.join("master.key")).unwrap();
        serde_json::from_str::<serde_json::Value>(&text).unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let before = id_of();
    let (ok, out, err) = run(&["rotate-keys", "--data", data], None);
    assert!(ok, "{err}");
    assert!(out.contains("re-wrapped 0 person keys"), "{out}");
    assert_ne!(id_of(), before);
    assert!(!dir.join("master.key.new").exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("master.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // The store opens with the new key: administration still works.
    let (ok, _, err) = run(
        &[
            "office",
            "add",
            "A",
            "--name",
            "A",
            "--country",
            "DE",
            "--data",
            data,
        ],
        None,
    );
    assert!(ok, "{err}");
}

/// `--public-url` (checked, kept in server.json by `init`, overridden by `serve`) reaches the
/// sign-in answer as the start of unsubscribe links; `unsubscribe-key rotate` hands the next
/// sign-in a new key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_url_and_unsubscribe_key_rotation() {
    let temp = tempfile::tempdir().unwrap();
    let data = temp.path().join("central");
    let data = data.to_str().unwrap();
    let (ok, _, err) = run(
        &[
            "init",
            "--data",
            data,
            "--public-url",
            "http://crm.example.com",
        ],
        None,
    );
    assert!(!ok && err.contains("https://"), "{err}");
    let (ok, out, err) = run(
        &[
            "init",
            "--data",
            data,
            "--public-url",
            "https://crm.example.com/",
        ],
        None,
    );
    assert!(ok, "{err}");
    let fingerprint = out
        .lines()
        .find_map(|l| l.strip_prefix("certificate SHA-256 fingerprint: "))
        .unwrap()
        .to_string();
    let config = std::fs::read_to_string(temp.path().join("central/server.json")).unwrap();
    assert!(
        config.contains("\"public_url\": \"https://crm.example.com\""),
        "{config}"
    );
    let (ok, _, err) = run(
        &[
            "office",
            "add",
            "BER",
            "--name",
            "Berlin",
            "--country",
            "DE",
            "--data",
            data,
        ],
        None,
    );
    assert!(ok, "{err}");
    let (ok, _, err) = run(
        &[
            "user", "add", "rita", "--role", "rep", "--office", "BER", "--data", data,
        ],
        Some("a long password\n"),
    );
    assert!(ok, "{err}");
    let (ok, _, err) = run(
        &[
            "unsubscribe-key",
            "rotate",
            "--office",
            "NOPE",
            "--data",
            data,
        ],
        None,
    );
    assert!(!ok && err.contains("NOPE"), "{err}");
    let (ok, _, err) = run(
        &[
            "serve",
            "--data",
            data,
            "--listen",
            "127.0.0.1:0",
            "--public-url",
            "ftp://x",
        ],
        None,
    );
    assert!(!ok && err.contains("https://"), "{err}");

    let serve = |extra: &[&str]| {
        let mut server = bin()
            .args(["serve", "--data", data, "--listen", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(server.stderr.take().unwrap());
        let url = switchboard_test_support::read_served_address(&mut stderr)
            .expect("the server prints its address");
        (server, url)
    };
    let http = switchboard_test_support::pinned_http(&fingerprint);
    let (mut server, url) = serve(&[]);
    let first = ApiClient::login(http.clone(), &url, "rita", "a long password").await;
    let (ok, out, err) = run(
        &[
            "unsubscribe-key",
            "rotate",
            "--office",
            "BER",
            "--data",
            data,
        ],
        None,
    );
    let second = ApiClient::login(http.clone(), &url, "rita", "a long password").await;
    server.kill().unwrap();
    let _ = server.wait();
    assert!(ok, "{err}");
    let first = first.unwrap().login.unsubscribe.unwrap();
    let second = second.unwrap().login.unsubscribe.unwrap();
    assert_eq!(first.link_base, "https://crm.example.com/v1/unsubscribe/");
    assert_eq!(first.office, "BER");
    assert_ne!(first.key_id, second.key_id);
    assert!(out.contains(&second.key_id), "{out}");

    // `serve --public-url` wins over server.json.
    let (mut server, url) = serve(&["--public-url", "https://mail.example.org/sb"]);
    let third = ApiClient::login(http, &url, "rita", "a long password").await;
    server.kill().unwrap();
    let _ = server.wait();
    let third = third.unwrap().login.unsubscribe.unwrap();
    assert_eq!(
        third.link_base,
        "https://mail.example.org/sb/v1/unsubscribe/"
    );
    assert_eq!(third.key_id, second.key_id);
}

/// `init --db-key-file`: the SQLite store is SQLCipher-encrypted under the key in that file
/// (mode 0600, read at every start), so the file holds none of its text; a key file others can
/// read, a missing one and a wrong key are refused with what to do.
#[test]
fn a_db_key_file_encrypts_the_sqlite_store() {
    use std::os::unix::fs::PermissionsExt;
    let temp = tempfile::tempdir().unwrap();
    let data = temp.path().join("central");
    let data = data.to_str().unwrap();
    let key_file = temp.path().join("db.key");
    std::fs::write(&key_file, format!("{}\n", "5a".repeat(32))).unwrap();
    let key = key_file.to_str().unwrap();

    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let (ok, _, err) = run(&["init", "--data", data, "--db-key-file", key], None);
    assert!(!ok && err.contains("chmod 600"), "{err}");
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (ok, _, err) = run(&["init", "--data", data, "--db-key-file", key], None);
    assert!(ok, "{err}");
    let (ok, _, err) = run(
        &[
            "office",
            "add",
            "BER",
            "--name",
            "Quokkastadt",
            "--country",
            "DE",
            "--data",
            data,
        ],
        None,
    );
    assert!(ok, "{err}");
    let (ok, _, err) = run(
        &[
            "user",
            "add",
            "zelda.quinterro",
            "--role",
            "rep",
            "--office",
            "BER",
            "--data",
            data,
        ],
        Some("a long password\n"),
    );
    assert!(ok, "{err}");
    let db = temp.path().join("central").join("central.db");
    let header = std::fs::read(&db).unwrap();
    assert_ne!(
        &header[..16],
        b"SQLite format 3\0",
        "the store is encrypted"
    );
    let found =
        switchboard_test_support::scan_files_for(&db, &["zelda.quinterro", "Quokkastadt"]).unwrap();
    assert!(found.is_empty(), "{found:?}");

    // Another key in the file does not open it; no file is an error, not a plaintext store.
    std::fs::write(&key_file, "a5".repeat(32)).unwrap();
    let (ok, _, err) = run(&["route", "add", "DE", "BER", "--data", data], None);
    assert!(!ok && err.contains("does not open"), "{err}");
    assert!(!err.contains(&"a5".repeat(32)), "{err}");
    std::fs::remove_file(&key_file).unwrap();
    let (ok, _, err) = run(&["route", "add", "DE", "BER", "--data", data], None);
    assert!(!ok && err.contains("db.key"), "{err}");
    std::fs::write(&key_file, "5a".repeat(32)).unwrap();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (ok, _, err) = run(&["route", "add", "DE", "BER", "--data", data], None);
    assert!(ok, "{err}");
}
