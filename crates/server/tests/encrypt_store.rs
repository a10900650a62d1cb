//! `switchboard-server encrypt-store`: a SQLite store made without a key is encrypted later,
//! crash-safe. The real binary is killed (SIGKILL) at random moments of the conversion; after
//! every kill the folder opens, holds all its data, and, once its configuration names the key,
//! no byte of its text is readable; running the command again finishes the job.

use rusqlite::Connection;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const FILLER_ROWS: i64 = 3000;
const MARKER: &str = "quokkastadt-filler-text";

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_switchboard-server"))
}

fn run(args: &[&str], stdin: Option<&str>) -> (bool, String) {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        std::io::Write::write_all(&mut input, text.as_bytes()).unwrap();
    }
    drop(input);
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!text.contains("panicked at"), "{text}");
    (out.status.success(), text)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// The filler rows and the user, read with `key` (raw hex) or none.
fn contents(db: &Path, key: Option<&str>) -> (i64, i64) {
    let conn = Connection::open(db).unwrap();
    if let Some(key) = key {
        conn.execute_batch(&format!("PRAGMA key = \"x'{key}'\";"))
            .unwrap();
    }
    let filler = conn
        .query_row("SELECT count(*) FROM filler", [], |r| r.get(0))
        .unwrap();
    let tables = conn
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
        .unwrap();
    (filler, tables)
}

fn names_key(data: &Path) -> bool {
    std::fs::read_to_string(data.join("server.json"))
        .unwrap()
        .contains("db_key_file")
}

/// Checks a folder after a kill: it opens through the binary (finishing a conversion cut
/// short), holds every filler row and table, and is encrypted once server.json names the key.
fn check(data: &Path, key_hex: &str, tables: i64, label: &str) {
    let d = data.to_str().unwrap();
    let (ok, out) = run(&["device", "list", "--data", d], None);
    assert!(ok, "{label}: the folder does not open:\n{out}");
    let db = data.join("central.db");
    if names_key(data) {
        assert_eq!(
            contents(&db, Some(key_hex)),
            (FILLER_ROWS, tables),
            "{label}"
        );
        let found = switchboard_test_support::scan_files_for(
            &db,
            &["zelda.quinterro", "Quokkastadt", MARKER],
        )
        .unwrap();
        assert!(found.is_empty(), "{label}: {found:?}");
        assert!(!data.join("central.db.encrypting").exists(), "{label}");
    } else {
        assert_eq!(contents(&db, None), (FILLER_ROWS, tables), "{label}");
    }
}

/// `switchboard-server encrypt-store` on the data folder `data` with the key file `key_file`.
fn encrypt_store(data: &str, key_file: &str) -> (bool, String) {
    run(
        &["encrypt-store", "--data", data, "--db-key-file", key_file],
        None,
    )
}

#[test]
fn a_store_made_without_a_key_is_encrypted_later_and_survives_kills_at_any_moment() {
    use std::os::unix::fs::PermissionsExt;
    let temp = tempfile::tempdir().unwrap();
    let pristine = temp.path().join("pristine");
    let p = pristine.to_str().unwrap();
    assert!(run(&["init", "--data", p], None).0);
    let (ok, out) = run(
        &[
            "office",
            "add",
            "BER",
            "--name",
            "Quokkastadt",
            "--country",
            "DE",
            "--data",
            p,
        ],
        None,
    );
    assert!(ok, "{out}");
    let (ok, out) = run(
        &[
            "user",
            "add",
            "zelda.quinterro",
            "--role",
            "rep",
            "--office",
            "BER",
            "--data",
            p,
        ],
        Some("a long password\n"),
    );
    assert!(ok, "{out}");
    // Enough data that the export takes a while, so kills land inside it.
    let tables = {
        let conn = Connection::open(pristine.join("central.db")).unwrap();
        conn.execute_batch("CREATE TABLE filler(id INTEGER PRIMARY KEY, body TEXT)")
            .unwrap();
        let tx = conn.unchecked_transaction().unwrap();
        for i in 0..FILLER_ROWS {
            tx.execute(
                "INSERT INTO filler(id, body) VALUES (?1, ?2)",
                rusqlite::params![i, format!("{MARKER} {i} {}", "x".repeat(2000))],
            )
            .unwrap();
        }
        tx.commit().unwrap();
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap()
    };
    let key_hex = "5a".repeat(32);
    let key_file = temp.path().join("db.key");
    std::fs::write(&key_file, &key_hex).unwrap();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let k = key_file.to_str().unwrap();

    // One whole run, timed, sets the window the kills are spread over.
    let whole = temp.path().join("whole");
    copy_dir(&pristine, &whole);
    let started = Instant::now();
    let (ok, out) = encrypt_store(whole.to_str().unwrap(), k);
    let took = started.elapsed();
    assert!(ok, "{out}");
    assert!(names_key(&whole));
    check(&whole, &key_hex, tables, "a whole run");
    // Again with the same key: nothing to do. Another key: refused.
    let (ok, out) = encrypt_store(whole.to_str().unwrap(), k);
    assert!(ok, "{out}");
    let other = temp.path().join("other.key");
    std::fs::write(&other, "a5".repeat(32)).unwrap();
    std::fs::set_permissions(&other, std::fs::Permissions::from_mode(0o600)).unwrap();
    let (ok, out) = encrypt_store(whole.to_str().unwrap(), other.to_str().unwrap());
    assert!(!ok && out.contains("encrypted under the key in"), "{out}");
    assert!(!out.contains(&"a5".repeat(32)), "{out}");

    let mut seed = std::process::id() as u64 ^ started.elapsed().as_nanos() as u64;
    println!("seed {seed}, a whole run took {took:?}");
    let window = took.as_micros() as u64 + 1;
    let (mut cut, mut finished) = (0, 0);
    let mut states = std::collections::BTreeMap::new();
    for round in 0..30 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let delay = Duration::from_micros((seed >> 33) % window);
        let data = temp.path().join(format!("round-{round}"));
        copy_dir(&pristine, &data);
        let mut child = bin()
            .args([
                "encrypt-store",
                "--data",
                data.to_str().unwrap(),
                "--db-key-file",
                k,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        match child.try_wait().unwrap() {
            Some(_) => finished += 1,
            None => {
                child.kill().unwrap();
                cut += 1;
            }
        }
        child.wait().unwrap();
        // Where the kill landed: server.json naming the key or not, the file converted or not.
        let header = std::fs::read(data.join("central.db")).unwrap();
        let state = (names_key(&data), !header.starts_with(b"SQLite format 3\0"));
        *states.entry(state).or_insert(0) += 1;
        let label = format!("round {round}, killed after {delay:?} in state {state:?}");
        check(&data, &key_hex, tables, &label);
        // Running it again always finishes the job.
        let (ok, out) = encrypt_store(data.to_str().unwrap(), k);
        assert!(ok, "{label}: {out}");
        assert!(names_key(&data), "{label}");
        check(&data, &key_hex, tables, &label);
        std::fs::remove_dir_all(&data).unwrap();
    }
    println!(
        "{cut} runs killed, {finished} finished before the kill; \
         (key named, file encrypted) when killed: {states:?}"
    );
    assert!(cut >= 10, "too few kills landed inside a run ({cut})");
}
