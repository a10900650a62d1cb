use super::*;
use crate::clock::FixedClock;
use chrono::TimeZone;

fn clock() -> Arc<dyn Clock> {
    Arc::new(FixedClock::at(
        Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap(),
    ))
}

#[test]
fn opening_twice_keeps_identity_and_schema() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sb.db");
    let first = Store::open_with_clock(&path, None, clock()).unwrap();
    let id = first.replica_id().unwrap();
    drop(first);
    let second = Store::open_with_clock(&path, None, clock()).unwrap();
    assert_eq!(second.replica_id().unwrap(), id);
    let version: i64 = second
        .conn()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version as usize, MIGRATIONS.len());
    let mode: String = second
        .conn()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn a_failed_transaction_writes_nothing() {
    let mut store = Store::open_in_memory(clock()).unwrap();
    let result: Result<()> = store.with_tx(|tx| {
        set_setting(tx, "k", "v")?;
        Err(CoreError::BadInput("stop".into()))
    });
    assert!(result.is_err());
    assert_eq!(get_setting(store.conn(), "k").unwrap(), None);
}

#[test]
fn a_sequence_of_stamps_continues_and_is_continued_by_single_stamps() {
    let store = Store::open_in_memory(clock()).unwrap();
    let now = store.now();
    let first = next_hlc(store.conn(), now).unwrap();
    let mut seq = HlcSequence::begin(store.conn()).unwrap();
    let a = seq.next(now);
    let b = seq.next(now);
    seq.finish(store.conn()).unwrap();
    let after = next_hlc(store.conn(), now).unwrap();
    assert!(first < a && a < b && b < after);
    assert_eq!(a.node, first.node);
}

#[test]
fn local_stamps_only_grow() {
    let store = Store::open_in_memory(clock()).unwrap();
    let now = store.now();
    let a = next_hlc(store.conn(), now).unwrap();
    let b = next_hlc(store.conn(), now).unwrap();
    assert!(b > a);
}

fn key(byte: u8) -> DatabaseKey {
    DatabaseKey::from_bytes([byte; 32])
}

/// A wrong key, and no key at all, are both refused with `wrong_key` and its message.
fn assert_neither_opens(path: &Path, wrong: DatabaseKey) {
    for wrong in [Some(wrong), None] {
        let err = Store::open_with_clock(path, wrong.as_ref(), clock())
            .err()
            .expect("a wrong or missing key must not open the file");
        assert_eq!(err.code(), "wrong_key");
        assert!(err
            .to_string()
            .contains("encrypted and this key does not open it"));
    }
}

#[test]
fn an_encrypted_file_opens_with_its_key_only_and_holds_no_plaintext() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sb.db");
    let mut store = Store::open_with_clock(&path, Some(&key(7)), clock()).unwrap();
    store
        .with_tx(|tx| set_setting(tx, "marker", "Zebulon Quartermaine"))
        .unwrap();
    let id = store.replica_id().unwrap();
    let provider: String = store
        .conn()
        .query_row("PRAGMA cipher_provider", [], |r| r.get(0))
        .unwrap();
    assert_eq!(provider, switchboard_page_crypto::PROVIDER_NAME);
    // Scanned while open, so the -wal and -shm files are there too.
    let hits = switchboard_test_support::scan_files_for(&path, &["Zebulon"]).unwrap();
    assert!(hits.is_empty(), "plaintext found: {hits:?}");
    drop(store);
    let header = std::fs::read(&path).unwrap();
    assert!(
        !header.starts_with(b"SQLite format 3"),
        "the header is plaintext"
    );

    let again = Store::open_with_clock(&path, Some(&key(7)), clock()).unwrap();
    assert_eq!(again.replica_id().unwrap(), id);
    drop(again);
    assert_neither_opens(&path, key(8));
}

#[test]
fn a_key_never_prints_and_parses_only_64_hex_digits() {
    let k = key(0xab);
    assert_eq!(format!("{k:?}"), "DatabaseKey(hidden)");
    assert!(!format!("{:?}", k.to_hex()).contains("abab"));
    assert_eq!(k.to_hex().as_str(), "ab".repeat(32));
    let back = DatabaseKey::from_hex(&format!(" {} \n", "ab".repeat(32))).unwrap();
    assert_eq!(back.to_hex().as_str(), k.to_hex().as_str());
    let err = DatabaseKey::from_hex("abcd").err().unwrap();
    assert!(!err.to_string().contains("abcd"));
    assert!(DatabaseKey::from_hex(&"zz".repeat(32)).is_err());
}

/// A plaintext database with `rows` settings, every value a recognisable string.
fn plaintext_db(path: &Path, rows: usize) {
    let mut store = Store::open_with_clock(path, None, clock()).unwrap();
    store
        .with_tx(|tx| {
            for i in 0..rows {
                set_setting(tx, &format!("row{i}"), &format!("Plainvalue number {i:08}"))?;
            }
            Ok(())
        })
        .unwrap();
}

/// How a replica file is stored, asked before anything opens it through the store (which
/// would convert it).
#[derive(Debug, PartialEq)]
enum Stored {
    Plain,
    /// In `LEGACY_FORMATS[i]`.
    Legacy(usize),
    Current,
}

/// `LEGACY_FORMATS`' places: CTR pages with HMAC-SHA256, SQLCipher's CBC pages with HMAC-SHA256,
/// and its defaults.
const CTR_SHA256: usize = 0;
const CBC_SHA256: usize = 1;
const CBC_SHA512: usize = 2;

fn format_of(path: &Path, key: &DatabaseKey) -> Stored {
    if is_plaintext(path).unwrap() {
        return Stored::Plain;
    }
    let current = Connection::open(path).unwrap();
    apply_key(&current, key).unwrap();
    if reads(&current).unwrap() {
        return Stored::Current;
    }
    let format = legacy_format(path, key)
        .unwrap()
        .unwrap_or_else(|| panic!("{} opens in no format", path.display()));
    Stored::Legacy(LEGACY_FORMATS.iter().position(|f| *f == format).unwrap())
}

/// The survivor opens with the key and holds every row; its format before that open.
fn assert_whole(path: &Path, key: &DatabaseKey, rows: usize) -> Stored {
    let format = format_of(path, key);
    let store = Store::open_with_clock(path, Some(key), clock()).unwrap();
    let count: i64 = store
        .conn()
        .query_row(
            "SELECT count(*) FROM setting WHERE key LIKE 'row%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(count as usize, rows, "rows lost in {}", path.display());
    assert_eq!(
        get_setting(store.conn(), &format!("row{}", rows - 1)).unwrap(),
        Some(format!("Plainvalue number {:08}", rows - 1))
    );
    drop(store);
    assert_eq!(format_of(path, key), Stored::Current);
    format
}

/// A replica as earlier versions encrypted it: `plaintext_db` exported under `key` in
/// `LEGACY_FORMATS[which]` (the old code's `ATTACH … KEY`, settings and `sqlcipher_export`).
fn legacy_db(path: &Path, key: &DatabaseKey, rows: usize, which: usize) {
    let plain = with_suffix(path, ".plain");
    plaintext_db(&plain, rows);
    let conn = Connection::open(&plain).unwrap();
    conn.query_row("PRAGMA journal_mode = DELETE", [], |r| {
        r.get::<_, String>(0)
    })
    .unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    let (cipher, settings) = LEGACY_FORMATS[which];
    // The attached file's codec is made, in `cipher`, when the `ATTACH` keys it.
    keyed_as(cipher, || {
        conn.execute(
            "ATTACH DATABASE ?1 AS old KEY ?2",
            rusqlite::params![
                path.to_string_lossy(),
                format!("x'{}'", key.to_hex().as_str())
            ],
        )
    })
    .unwrap()
    .unwrap();
    conn.execute_batch(&settings.replace("PRAGMA ", "PRAGMA old."))
        .unwrap();
    conn.query_row("SELECT sqlcipher_export('old')", [], |_| Ok(()))
        .unwrap();
    conn.execute_batch(&format!(
        "PRAGMA old.user_version = {version}; DETACH DATABASE old;"
    ))
    .unwrap();
    drop(conn);
    std::fs::remove_file(&plain).unwrap();
}

#[test]
fn opening_a_plaintext_file_with_a_key_encrypts_it_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sb.db");
    plaintext_db(&path, 50);
    let id = Store::open_with_clock(&path, None, clock())
        .unwrap()
        .replica_id()
        .unwrap();
    let store = Store::open_with_clock(&path, Some(&key(3)), clock()).unwrap();
    assert_eq!(store.replica_id().unwrap(), id);
    assert!(!is_plaintext(&path).unwrap());
    drop(store);
    assert_eq!(assert_whole(&path, &key(3), 50), Stored::Current);
    let hits = switchboard_test_support::scan_files_for(&path, &["Plainvalue"]).unwrap();
    assert!(hits.is_empty(), "plaintext left: {hits:?}");
    assert!(!with_suffix(&path, ".encrypting").exists());
}

#[test]
fn a_new_replica_is_encrypted_with_ctr_pages_and_gmac_and_no_legacy_format_opens_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sb.db");
    let store = Store::open_with_clock(&path, Some(&key(4)), clock()).unwrap();
    let cipher: String = store
        .conn()
        .query_row("PRAGMA cipher", [], |r| r.get(0))
        .unwrap();
    assert_eq!(cipher, "AES-256-CTR/GMAC");
    drop(store);
    assert_eq!(format_of(&path, &key(4)), Stored::Current);
    assert_eq!(legacy_format(&path, &key(4)).unwrap(), None);
}

#[test]
fn a_replica_in_any_legacy_format_is_re_encrypted_on_open_and_keeps_every_row() {
    for which in [CTR_SHA256, CBC_SHA256, CBC_SHA512] {
        a_legacy_replica_is_re_encrypted_on_open_and_keeps_every_row(which);
    }
}

fn a_legacy_replica_is_re_encrypted_on_open_and_keeps_every_row(which: usize) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sb.db");
    legacy_db(&path, &key(5), 3_000, which);
    assert_eq!(format_of(&path, &key(5)), Stored::Legacy(which));
    let hits = switchboard_test_support::scan_files_for(&path, &["Plainvalue"]).unwrap();
    assert!(hits.is_empty(), "the legacy file holds plaintext: {hits:?}");

    // A wrong key (or none) opens neither format and leaves the file as it was.
    let before = std::fs::read(&path).unwrap();
    assert_neither_opens(&path, key(6));
    assert_eq!(
        std::fs::read(&path).unwrap(),
        before,
        "a wrong key changed the file"
    );

    assert_eq!(assert_whole(&path, &key(5), 3_000), Stored::Legacy(which));
    let hits = switchboard_test_support::scan_files_for(&path, &["Plainvalue"]).unwrap();
    assert!(hits.is_empty(), "plaintext left: {hits:?}");
    assert!(!with_suffix(&path, ".encrypting").exists());
    // Opened again: nothing left to convert, the file is not rewritten.
    let converted = std::fs::read(&path).unwrap();
    drop(Store::open_with_clock(&path, Some(&key(5)), clock()).unwrap());
    let header = std::fs::read(&path).unwrap();
    assert_eq!(
        header[..16],
        converted[..16],
        "the salt changed: converted twice"
    );
}

/// A legacy replica as a crash or a copy leaves it in WAL mode: its last commits only in the
/// `-wal` beside it. The re-encryption folds them in; none is lost, no `-wal` is left behind.
#[test]
fn a_legacy_replica_with_commits_only_in_its_wal_keeps_them_through_the_re_encryption() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source.db");
    legacy_db(&source, &key(11), 100, CBC_SHA512);
    let writer = Connection::open(&source).unwrap();
    key_with(&writer, &key(11), LEGACY_FORMATS[CBC_SHA512]).unwrap();
    writer
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
        .unwrap();
    writer.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
    writer
        .execute(
            "INSERT INTO setting(key, value) VALUES ('walonly', 'Walvalue in the log only')",
            [],
        )
        .unwrap();
    // Copied while the writer is open: the file and its -wal as a crash leaves them.
    let path = dir.path().join("sb.db");
    std::fs::copy(&source, &path).unwrap();
    std::fs::copy(with_suffix(&source, "-wal"), with_suffix(&path, "-wal")).unwrap();
    drop(writer);
    assert_eq!(format_of(&path, &key(11)), Stored::Legacy(CBC_SHA512));
    let store = Store::open_with_clock(&path, Some(&key(11)), clock()).unwrap();
    assert_eq!(
        get_setting(store.conn(), "walonly").unwrap().as_deref(),
        Some("Walvalue in the log only")
    );
    drop(store);
    assert_eq!(format_of(&path, &key(11)), Stored::Current);
    let hits =
        switchboard_test_support::scan_files_for(&path, &["Walvalue", "Plainvalue"]).unwrap();
    assert!(hits.is_empty(), "plaintext left: {hits:?}");
}

/// The child half of the kill tests: converts the database its parent names, then exits.
/// Run on its own (no variables set) it has nothing to do.
#[test]
fn conversion_child_process() {
    let (Ok(db), Ok(hex)) = (
        std::env::var("SB_CONVERT_DB"),
        std::env::var("SB_CONVERT_KEY"),
    ) else {
        return;
    };
    let key = DatabaseKey::from_hex(&hex).unwrap();
    Store::open_with_clock(Path::new(&db), Some(&key), clock()).unwrap();
}

/// Converts copies of `pristine` (a replica in format `from` with `rows` rows) in a child
/// process killed (SIGKILL) at random moments; after each kill the file opens and holds every
/// row, in the old format or the new one. Returns how many kills left each.
fn kill_conversions(pristine: &Path, key: &DatabaseKey, rows: usize, from: Stored) -> (u32, u32) {
    let child = |db: &Path| {
        std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "store::database::tests::conversion_child_process",
            ])
            .args(["--test-threads", "1", "-q"])
            .env("SB_CONVERT_DB", db)
            .env("SB_CONVERT_KEY", key.to_hex().as_str())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    // One undisturbed run sets the span the kills are spread over.
    let path = with_suffix(pristine, ".converted");
    std::fs::copy(pristine, &path).unwrap();
    let started = std::time::Instant::now();
    assert!(child(&path).wait().unwrap().success());
    let span = started.elapsed().as_micros() as u64 + 1;
    assert_eq!(assert_whole(&path, key, rows), Stored::Current);

    let (mut old, mut new) = (0, 0);
    for _ in 0..40 {
        for leftover in [
            ".encrypting",
            ".encrypting-journal",
            "-journal",
            "-wal",
            "-shm",
        ] {
            let _ = std::fs::remove_file(with_suffix(&path, leftover));
        }
        std::fs::remove_file(&path).unwrap();
        std::fs::copy(pristine, &path).unwrap();
        let mut running = child(&path);
        let delay = (uuid::Uuid::new_v4().as_u128() as u64) % (span + span / 4);
        std::thread::sleep(std::time::Duration::from_micros(delay));
        running.kill().unwrap(); // SIGKILL
        running.wait().unwrap();
        let found = assert_whole(&path, key, rows);
        if found == from {
            old += 1;
        } else {
            assert_eq!(found, Stored::Current);
            new += 1;
        }
    }
    (old, new)
}

/// A replica in rollback mode (what a conversion leaves) opened by two connections at once
/// (the window and a CLI command): both switch it to WAL, and SQLite lets one of them fail at
/// once with "database is locked" (each holds a read the other's switch must wait for, and
/// SQLite calls no busy handler there). The open has to wait its turn instead.
#[test]
fn two_connections_opening_a_rollback_mode_file_at_once_both_open_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sb.db");
    drop(Store::open_with_clock(&path, None, clock()).unwrap());
    for _ in 0..40 {
        let mode: String = Connection::open(&path)
            .unwrap()
            .query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "delete");
        let start = Arc::new(std::sync::Barrier::new(2));
        let openers: Vec<_> = (0..2)
            .map(|_| {
                let (path, start) = (path.clone(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    Store::open_with_clock(&path, None, clock()).map(drop)
                })
            })
            .collect();
        for opener in openers {
            opener.join().unwrap().unwrap();
        }
    }
}

/// Two processes opening one legacy replica at once (the window and a CLI command after an
/// upgrade) take turns: both open it, it is converted once, and every row is there.
#[test]
fn two_processes_re_encrypting_one_file_at_once_take_turns() {
    const ROWS: usize = 5_000;
    let dir = tempfile::tempdir().unwrap();
    let pristine = dir.path().join("pristine.db");
    legacy_db(&pristine, &key(12), ROWS, CBC_SHA256);
    let path = dir.path().join("sb.db");
    for _ in 0..4 {
        std::fs::copy(&pristine, &path).unwrap();
        let children: Vec<_> = (0..2)
            .map(|_| {
                std::process::Command::new(std::env::current_exe().unwrap())
                    .args([
                        "--exact",
                        "store::database::tests::conversion_child_process",
                    ])
                    .args(["--test-threads", "1", "-q"])
                    .env("SB_CONVERT_DB", &path)
                    .env("SB_CONVERT_KEY", key(12).to_hex().as_str())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "a converting process failed:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert_eq!(format_of(&path, &key(12)), Stored::Current);
        assert_eq!(assert_whole(&path, &key(12), ROWS), Stored::Current);
    }
}

#[test]
fn a_conversion_killed_at_any_moment_leaves_the_old_file_or_the_new_one_whole() {
    const ROWS: usize = 20_000;
    let dir = tempfile::tempdir().unwrap();
    let pristine = dir.path().join("pristine.db");
    plaintext_db(&pristine, ROWS);
    let (old, new) = kill_conversions(&pristine, &key(9), ROWS, Stored::Plain);
    eprintln!("killed conversions: {old} left the old file, {new} the new one");
}

#[test]
fn a_re_encryption_killed_at_any_moment_leaves_the_old_file_or_the_new_one_whole() {
    const ROWS: usize = 20_000;
    let dir = tempfile::tempdir().unwrap();
    let pristine = dir.path().join("pristine.db");
    legacy_db(&pristine, &key(10), ROWS, CBC_SHA256);
    let (old, new) = kill_conversions(&pristine, &key(10), ROWS, Stored::Legacy(CBC_SHA256));
    eprintln!("killed re-encryptions: {old} left the legacy file, {new} the new one");
}

/// A replica written before migration 0016 keeps every stamp it had: groups that repeated
/// the identity stamp now say so, the others keep theirs, and a later identity write does
/// not carry the groups that referred to it along.
#[test]
fn migration_0016_converts_a_replica_and_reads_every_value_back_unchanged() {
    use crate::people::leads::{group_clock, set_group_clock, SAME_CLOCK};
    use crate::store::outbox::{self, Entity};
    use switchboard_protocol::FieldGroup;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sb.db");
    let shared = "2026-03-02T09:00:00.000Z-0000-0190a3c0-0000-7000-8000-000000000001";
    let own = "2026-03-02T09:05:00.000Z-0000-0190a3c0-0000-7000-8000-000000000002";
    {
        let store = Store::open_with_clock(&path, None, clock()).unwrap();
        let conn = store.conn();
        // The schema before 0016.
        conn.execute_batch(&format!(
            "DROP INDEX registration_by_user_agent;
             DROP INDEX registration_by_referrer;
             ALTER TABLE registration DROP COLUMN user_agent_ref;
             ALTER TABLE registration DROP COLUMN referrer_ref;
             DROP TABLE registration_text;
             DROP INDEX outbox_by_entity;
             CREATE INDEX outbox_by_entity ON outbox(entity, entity_id, seq);
             DROP TABLE lead_lease;
             PRAGMA user_version = {};",
            // 0014 (lead_lease) is listed after 0016, so it is undone and runs again too.
            MIGRATIONS
                .iter()
                .position(|(name, _)| *name == "0016_compact_import")
                .unwrap()
        ))
        .unwrap();
        // Rows as builds before 0016 wrote them: every stamp in full.
        for (id, email_clock) in [("a", shared), ("b", own)] {
            conn.execute(
                "INSERT INTO lead(id, created_at, clock_identity, clock_email, clock_phone,
                                  clock_postal, clock_workflow, clock_office)
                 VALUES (?1, '2026-03-02T09:00:00Z', ?2, ?3, ?2, ?2, ?2, ?2)",
                rusqlite::params![id, shared, email_clock],
            )
            .unwrap();
        }
        conn.execute(
            "INSERT INTO lead(id, created_at) VALUES ('never', '2026-03-02T09:00:00Z')",
            [],
        )
        .unwrap();
        // Three registrations: two people on one browser, the second with a referrer of
        // their own.
        for (id, lead, referrer) in [
            ("ra", "a", Some("https://shared.example/")),
            ("rb", "b", Some("https://only-b.example/")),
            ("rb2", "b", None),
        ] {
            conn.execute(
                "INSERT INTO registration(id, lead_id, kind, submitted_at, email, user_agent,
                                          referrer, received_at)
                 VALUES (?1, ?2, 'trial', '2026-03-02T09:00:00Z', 'x@example.com',
                         'Quarkbrowser 9', ?3, '2026-03-02T09:00:00Z')",
                rusqlite::params![id, lead, referrer],
            )
            .unwrap();
        }
        outbox::enqueue(conn, Entity::LeadFields, "a", Some("email")).unwrap();
        outbox::enqueue(conn, Entity::Registration, "ra", None).unwrap();
    }
    let store = Store::open_with_clock(&path, None, clock()).unwrap();
    let conn = store.conn();
    let raw = |id: &str, group: &str| -> String {
        conn.query_row(
            &format!("SELECT clock_{group} FROM lead WHERE id = ?1"),
            [id],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert_eq!(raw("a", "email"), SAME_CLOCK);
    assert_eq!(raw("a", "office"), SAME_CLOCK);
    assert_eq!(raw("b", "email"), own);
    assert_eq!(raw("b", "phone"), SAME_CLOCK);
    assert_eq!(raw("never", "email"), "");
    for group in FieldGroup::ALL {
        assert_eq!(group_clock(conn, "a", *group).unwrap(), shared);
        let b = if *group == FieldGroup::Email {
            own
        } else {
            shared
        };
        assert_eq!(group_clock(conn, "b", *group).unwrap(), b);
        assert_eq!(group_clock(conn, "never", *group).unwrap(), "");
    }
    let later = "2026-03-02T10:00:00.000Z-0000-0190a3c0-0000-7000-8000-000000000001";
    set_group_clock(conn, "a", FieldGroup::Identity, later).unwrap();
    assert_eq!(group_clock(conn, "a", FieldGroup::Identity).unwrap(), later);
    for group in FieldGroup::ALL
        .iter()
        .filter(|g| **g != FieldGroup::Identity)
    {
        assert_eq!(group_clock(conn, "a", *group).unwrap(), shared, "{group}");
    }
    set_group_clock(conn, "b", FieldGroup::Phone, later).unwrap();
    assert_eq!(group_clock(conn, "b", FieldGroup::Phone).unwrap(), later);
    assert_eq!(
        group_clock(conn, "b", FieldGroup::Identity).unwrap(),
        shared
    );
    // The outbox index leaves registrations out, and the lookups still find field groups.
    let indexed: i64 = conn
        .query_row("SELECT count(*) FROM outbox INDEXED BY outbox_by_entity WHERE entity <> 'registration'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(indexed, 1);
    assert!(outbox::has_pending_group(conn, "a", "email").unwrap());
    assert!(!outbox::has_pending_group(conn, "a", "phone").unwrap());
    outbox::drop_for_lead(conn, "a").unwrap();
    assert!(!outbox::has_pending_group(conn, "a", "email").unwrap());
    assert_eq!(outbox::pending(conn).unwrap(), 1);
    // Browser and referrer moved to `registration_text` and read back as they were.
    let texts = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
    assert_eq!(texts("SELECT count(*) FROM registration_text"), 3);
    assert_eq!(
        texts("SELECT count(*) FROM registration WHERE user_agent IS NOT NULL"),
        0
    );
    let find = |id: &str| {
        crate::people::registration::find(conn, id)
            .unwrap()
            .unwrap()
    };
    assert_eq!(
        find("rb").details.user_agent.as_deref(),
        Some("Quarkbrowser 9")
    );
    assert_eq!(
        find("rb").details.referrer.as_deref(),
        Some("https://only-b.example/")
    );
    assert_eq!(find("rb2").details.referrer, None);
    // Purging b's registrations drops the referrer only b named and keeps the shared browser.
    crate::people::registration::purge_for_lead(conn, "b").unwrap();
    assert_eq!(find("rb").details.user_agent, None);
    assert_eq!(
        find("ra").details.user_agent.as_deref(),
        Some("Quarkbrowser 9")
    );
    assert_eq!(
        texts("SELECT count(*) FROM registration_text WHERE value LIKE '%only-b%'"),
        0
    );
    assert_eq!(texts("SELECT count(*) FROM registration_text"), 2);
    crate::people::registration::purge_for_lead(conn, "a").unwrap();
    assert_eq!(texts("SELECT count(*) FROM registration_text"), 0);
}

/// Every column of lead `id` as `column=value` text, with the id itself left out.
fn lead_row(conn: &Connection, id: &str) -> String {
    let columns: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_info('lead') WHERE name <> 'id' ORDER BY cid")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let row = columns
        .iter()
        .map(|c| format!("'{c}=' || quote(\"{c}\")"))
        .collect::<Vec<_>>()
        .join(" || '|' || ");
    conn.query_row(
        &format!("SELECT {row} FROM lead WHERE id = ?1"),
        [id],
        |r| r.get(0),
    )
    .unwrap()
}

/// Migration 0020 reduces every erased lead to the skeleton a replica that first syncs after
/// the erasure holds — the row an erasure pulled into an empty replica leaves, column for
/// column — except one whose erasure still waits to be pushed; live leads keep everything.
#[test]
fn migration_0020_leaves_erased_leads_the_skeleton_a_fresh_replica_holds() {
    use crate::store::outbox::{self, Entity};
    use switchboard_protocol::LeadErased;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sb.db");
    let erased_at = "2026-03-02T09:30:00.000Z";
    let live_row;
    {
        let store = Store::open_with_clock(&path, None, clock()).unwrap();
        let conn = store.conn();
        // Rows as builds before 0020 left them: the erased skeletons keep office, country,
        // time zone, owner, counters, registration times and clocks.
        for (id, status) in [
            ("held", "erased"),
            ("unsent", "erased"),
            ("live", "working"),
        ] {
            conn.execute(
                "INSERT INTO lead(id, office, country, time_zone, status, owner, created_at,
                                  last_registered_at, attempts, last_attempt_at, last_outcome,
                                  next_follow_up_at, first_contact_at, email_invalid, corrected,
                                  erased_at, clock_identity, clock_email, clock_phone,
                                  clock_postal, clock_workflow, clock_office)
                 VALUES (?1, 'BER', 'DE', 'Europe/Berlin', ?2, 'rita', '2026-03-01T08:00:00Z',
                         '2026-03-01T08:00:00Z', 3, '2026-03-02T08:10:00Z', 'no_answer',
                         '2026-03-03T08:00:00Z', '2026-03-01T08:05:00Z', 1, 'name',
                         CASE WHEN ?2 = 'erased' THEN ?3 END, 'c1', 'c2', 'c3', 'c4', 'c5', 'c6')",
                rusqlite::params![id, status, erased_at],
            )
            .unwrap();
        }
        // Erased here and not yet pushed: the push still builds its operations from the row.
        outbox::enqueue(conn, Entity::Erasure, "unsent", None).unwrap();
        live_row = lead_row(conn, "live");
        // What an empty replica holds after pulling the erasure of a person it never saw.
        let tx = conn.unchecked_transaction().unwrap();
        let at = Utc.with_ymd_and_hms(2026, 3, 2, 9, 30, 0).unwrap();
        assert_eq!(crate::clock::to_text(at), erased_at);
        crate::people::leads::ensure_skeleton(&tx, "fresh", erased_at).unwrap();
        crate::privacy::erase::apply_remote(
            &tx,
            &LeadErased {
                lead_id: "fresh".into(),
                erased_at: at,
                by: "ada".into(),
                suppression_hashes: vec![],
            },
        )
        .unwrap();
        tx.commit().unwrap();
        conn.pragma_update(
            None,
            "user_version",
            migrations_before("0020_erased_skeleton"),
        )
        .unwrap();
    }
    let store = Store::open_with_clock(&path, None, clock()).unwrap();
    let conn = store.conn();
    let fresh = lead_row(conn, "fresh");
    assert!(
        fresh.contains("office=NULL") && fresh.contains("clock_office=''"),
        "{fresh}"
    );
    assert_eq!(lead_row(conn, "held"), fresh);
    let unsent = lead_row(conn, "unsent");
    assert!(
        unsent.contains("office='BER'") && unsent.contains("attempts=3"),
        "{unsent}"
    );
    assert_eq!(lead_row(conn, "live"), live_row);
}

/// The VDBE program of `sql`, one opcode name per step.
fn opcodes(conn: &Connection, sql: &str) -> Vec<String> {
    let mut stmt = conn.prepare(&format!("EXPLAIN {sql}")).unwrap();
    let nulls = vec![rusqlite::types::Null; stmt.parameter_count()];
    stmt.query_map(rusqlite::params_from_iter(nulls), |r| r.get(1))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

#[test]
fn migration_0022_rewrites_the_in_list_checks_and_they_still_hold() {
    const FOLLOW_UP: &str = "INSERT INTO follow_up(id, lead_id, channel, direction, outcome, \
        occurred_at, rep) VALUES (?1, 'l1', ?2, 'out', 'sent', '2026-03-02T09:00:00Z', 'rita')";
    const LEAD: &str = "INSERT INTO lead(id, status, created_at) VALUES (?1, ?2, '2026-03-02')";
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sb.db");
    {
        let store = Store::open_with_clock(&path, None, clock()).unwrap();
        let conn = store.conn();
        // The tables' text as builds before 0022 left it.
        let version: i64 = conn
            .query_row("PRAGMA schema_version", [], |r| r.get(0))
            .unwrap();
        conn.execute_batch(&format!(
            "PRAGMA writable_schema = ON;
             UPDATE sqlite_schema SET sql = replace(sql,
                 'CHECK (channel = ''email'' OR channel = ''phone'' OR channel = ''mail'')',
                 'CHECK (channel IN (''email'', ''phone'', ''mail''))') WHERE name = 'follow_up';
             UPDATE sqlite_schema SET sql = replace(sql,
                 'CHECK (status = ''new'' OR status = ''working'' OR status = ''closed''
                             OR status = ''erased'')',
                 'CHECK (status IN (''new'', ''working'', ''closed'', ''erased''))')
              WHERE name = 'lead';
             PRAGMA schema_version = {};
             PRAGMA writable_schema = OFF;",
            version + 1
        ))
        .unwrap();
        // A statement that runs reads the new schema cookie (an EXPLAIN alone does not).
        let text: String = conn
            .query_row(
                "SELECT sql FROM sqlite_schema WHERE name = 'follow_up'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(text.contains("channel IN ('email'"), "{text}");
        assert!(opcodes(conn, FOLLOW_UP).contains(&"OpenEphemeral".to_string()));
        assert!(opcodes(conn, LEAD).contains(&"OpenEphemeral".to_string()));
        conn.execute(LEAD, ["l1", "working"]).unwrap();
        conn.execute(FOLLOW_UP, ["f1", "phone"]).unwrap();
        conn.pragma_update(
            None,
            "user_version",
            migrations_before("0022_checks_without_in_lists"),
        )
        .unwrap();
    }
    let store = Store::open_with_clock(&path, None, clock()).unwrap();
    let conn = store.conn();
    for (table, sql, column) in [
        ("follow_up", FOLLOW_UP, "channel"),
        ("lead", LEAD, "status"),
    ] {
        let text: String = conn
            .query_row(
                "SELECT sql FROM sqlite_schema WHERE name = ?1",
                [table],
                |r| r.get(0),
            )
            .unwrap();
        assert!(!text.contains(&format!("{column} IN (")), "{text}");
        assert!(
            !opcodes(conn, sql).contains(&"OpenEphemeral".to_string()),
            "{table}"
        );
    }
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    // The rows are there and the constraints hold as before.
    conn.execute(FOLLOW_UP, ["f2", "email"]).unwrap();
    conn.execute(LEAD, ["l2", "erased"]).unwrap();
    assert!(conn.execute(FOLLOW_UP, ["f3", "fax"]).is_err());
    assert!(conn.execute(LEAD, ["l3", "lost"]).is_err());
    let rows: i64 = conn
        .query_row(
            "SELECT (SELECT count(*) FROM lead) + (SELECT count(*) FROM follow_up)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(rows, 4);
}

/// Migration 0024 rebuilds `registration` with its rows and rowids, the submission rule moved
/// from the column's constraint to a named index that a large import can set aside.
#[test]
fn migration_0024_keeps_registrations_and_their_unique_submissions_in_a_named_index() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    const REGISTRATION: &str = "INSERT INTO registration(rowid, id, lead_id, submission_id, kind,
        submitted_at, email, received_at) VALUES (?1, ?2, 'l1', ?3, 'demo', '2026-03-01T08:00:00Z',
        'ann@example.com', '2026-03-01T08:00:01Z') ON CONFLICT DO NOTHING";
    let before = migrations_before("0024_submission_index_apart");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
        for (_, sql) in &MIGRATIONS[..before as usize] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", before).unwrap();
        conn.execute(
            "INSERT INTO lead(id, created_at) VALUES ('l1', '2026-03-01T08:00:01Z')",
            [],
        )
        .unwrap();
        for (rowid, id, submission) in [(7, "r1", Some("s-1")), (9, "r2", None), (12, "r3", None)] {
            conn.execute(REGISTRATION, rusqlite::params![rowid, id, submission])
                .unwrap();
        }
        assert_eq!(
            conn.execute(REGISTRATION, rusqlite::params![13, "r4", "s-1"])
                .unwrap(),
            0
        );
    }
    let store = Store::open_with_clock(&path, None, clock()).unwrap();
    let conn = store.conn();
    let rows: Vec<(i64, String, Option<String>)> = conn
        .prepare("SELECT rowid, id, submission_id FROM registration ORDER BY rowid")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(
        rows,
        [
            (7, "r1".to_string(), Some("s-1".to_string())),
            (9, "r2".to_string(), None),
            (12, "r3".to_string(), None),
        ]
    );
    let indexes: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_schema WHERE tbl_name = 'registration' AND type <> 'table'
             ORDER BY name",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(
        indexes,
        [
            "cadence_enrol_by_rule",
            "registration_by_lead",
            "registration_by_referrer",
            "registration_by_submission",
            "registration_by_user_agent",
            "sqlite_autoindex_registration_1",
        ]
    );
    // The rule holds as before: a second row of a submission is refused, rows without one are
    // not; the index can be dropped now.
    assert_eq!(
        conn.execute(REGISTRATION, rusqlite::params![14, "r5", "s-1"])
            .unwrap(),
        0
    );
    assert_eq!(
        conn.execute(REGISTRATION, rusqlite::params![15, "r6", None::<String>])
            .unwrap(),
        1
    );
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let broken: i64 = conn
        .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(broken, 0);
}
