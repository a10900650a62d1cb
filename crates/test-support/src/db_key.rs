//! The one database key a test process encrypts its replicas with: the in-process replicas open
//! with it, the binaries get it through a key file (`SWITCHBOARD_DB_KEY_FILE`), and the tests'
//! own SQL checks read the files with it. One key per process, so a replica copied into another
//! folder still opens.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The test process's database key, 64 hex digits from the OS random generator.
pub fn test_db_key_hex() -> &'static str {
    static KEY: OnceLock<String> = OnceLock::new();
    KEY.get_or_init(|| {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).expect("the OS random generator");
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    })
}

/// Writes the test key into `dir/db.key` with mode 0600 (the app refuses a key file others can
/// read) and returns its path.
pub fn write_test_key_file(dir: &Path) -> PathBuf {
    use std::os::unix::fs::OpenOptionsExt;
    let path = dir.join("db.key");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    file.write_all(test_db_key_hex().as_bytes())
        .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    path
}

/// Opens a SQLite file for a test's own checks: a replica with the test key in the replica's
/// SQLCipher format (`switchboard_core::store::apply_key`), the server's encrypted store with the
/// test key in SQLCipher's default format, an unencrypted one (the server's store, a replica from
/// before encryption) as it is. SQLite is asked which it is (no file handle of our own: closing
/// one would drop the POSIX locks of the test's other connections to the file).
pub fn open_sqlite(path: &Path, flags: rusqlite::OpenFlags) -> rusqlite::Connection {
    let open = || {
        rusqlite::Connection::open_with_flags(path, flags)
            .unwrap_or_else(|e| panic!("opening {}: {e}", path.display()))
    };
    let key = switchboard_core::DatabaseKey::from_hex(test_db_key_hex()).expect("the test key");
    for replica in [true, false] {
        let keyed = open();
        let keying = if replica {
            switchboard_core::store::apply_key(&keyed, &key).map_err(|e| e.to_string())
        } else {
            let pragma = format!("PRAGMA key = \"x'{}'\";", test_db_key_hex());
            keyed.execute_batch(&pragma).map_err(|e| e.to_string())
        };
        keying.unwrap_or_else(|e| panic!("keying {}: {e}", path.display()));
        match keyed.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        }) {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::NotADatabase => {}
            _ => return keyed,
        }
    }
    open()
}

/// The bytes of a plaintext copy of the database at `path` (exported with the test key when it is
/// encrypted): what someone holding the key reads, so a scan for stored strings sees them. The
/// export is logical — freed pages are not copied — so it shows what the database still holds,
/// not what its free pages leak (the core's erasure tests scan unencrypted files for that).
pub fn decrypted_bytes(path: &Path) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let plain = dir.path().join("plain.db");
    let conn = open_sqlite(path, rusqlite::OpenFlags::default());
    conn.execute(
        "ATTACH DATABASE ?1 AS plain KEY ''",
        [plain.to_string_lossy()],
    )
    .expect("attaching a plaintext copy");
    conn.query_row("SELECT sqlcipher_export('plain')", [], |_| Ok(()))
        .unwrap_or_else(|e| panic!("exporting {}: {e}", path.display()));
    conn.execute_batch("DETACH DATABASE plain")
        .expect("detaching the copy");
    std::fs::read(&plain).expect("reading the plaintext copy")
}
