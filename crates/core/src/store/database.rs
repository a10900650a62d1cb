//! The local SQLite store: opening, pragmas, migrations, transactions and settings.

use crate::clock::{new_id, Clock, SystemClock};
use crate::error::{CoreError, Result};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, Transaction};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use switchboard_page_crypto::{keyed_as, wipe, PageCipher};

pub use crate::store::settings::{get_setting, next_hlc, observe_hlc, set_setting, HlcSequence};

/// Append-only migrations, applied in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_init", include_str!("../../migrations/0001_init.sql")),
    (
        "0002_queues",
        include_str!("../../migrations/0002_queues.sql"),
    ),
    (
        "0003_erasure",
        include_str!("../../migrations/0003_erasure.sql"),
    ),
    ("0005_sync", include_str!("../../migrations/0005_sync.sql")),
    (
        "0006_disclosure",
        include_str!("../../migrations/0006_disclosure.sql"),
    ),
    (
        "0007_letters",
        include_str!("../../migrations/0007_letters.sql"),
    ),
    (
        "0009_outbox_order",
        include_str!("../../migrations/0009_outbox_order.sql"),
    ),
    ("0010_mail", include_str!("../../migrations/0010_mail.sql")),
    (
        "0011_cadences",
        include_str!("../../migrations/0011_cadences.sql"),
    ),
    (
        "0012_cadence_review",
        include_str!("../../migrations/0012_cadence_review.sql"),
    ),
    (
        "0013_cadence_sync",
        include_str!("../../migrations/0013_cadence_sync.sql"),
    ),
    (
        "0016_compact_import",
        include_str!("../../migrations/0016_compact_import.sql"),
    ),
    // Numbers were handed out per change; 0016 landed first, and the list only grows.
    (
        "0014_lead_lease",
        include_str!("../../migrations/0014_lead_lease.sql"),
    ),
    (
        "0020_erased_skeleton",
        include_str!("../../migrations/0020_erased_skeleton.sql"),
    ),
    (
        "0021_stop_on_outcome_in_code",
        include_str!("../../migrations/0021_stop_on_outcome_in_code.sql"),
    ),
    (
        "0022_checks_without_in_lists",
        include_str!("../../migrations/0022_checks_without_in_lists.sql"),
    ),
    (
        "0023_enrol_by_rule_only_with_rules",
        include_str!("../../migrations/0023_enrol_by_rule_only_with_rules.sql"),
    ),
    (
        "0024_submission_index_apart",
        include_str!("../../migrations/0024_submission_index_apart.sql"),
    ),
];

/// How many migrations run before the one named `name` (its place in the applied order): a
/// test sets `user_version` to it to make a replica from before that migration.
#[cfg(test)]
pub(crate) fn migrations_before(name: &str) -> i64 {
    MIGRATIONS
        .iter()
        .position(|(n, _)| *n == name)
        .expect("a listed migration") as i64
}

/// A 256-bit SQLCipher key. Its bytes never print (no `Debug`/`Display` of them) and are zeroed
/// when it is dropped; where it comes from (keychain, key file) is the app's business, not the core's.
#[derive(Clone)]
pub struct DatabaseKey([u8; 32]);

impl DatabaseKey {
    /// The key made of these 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> DatabaseKey {
        DatabaseKey(bytes)
    }

    /// Parses 64 hex digits (surrounding whitespace ignored); the error never repeats the input.
    pub fn from_hex(text: &str) -> Result<DatabaseKey> {
        let text = text.trim();
        let mut bytes = [0u8; 32];
        if text.len() != 64 || hex::decode_to_slice(text, &mut bytes).is_err() {
            bytes.fill(0);
            return Err(CoreError::BadInput(
                "a database key is 64 hex digits (256 bits); this one is not".into(),
            ));
        }
        Ok(DatabaseKey(bytes))
    }

    /// The key as 64 lowercase hex digits, for the keychain or a key file; zeroed on drop.
    pub fn to_hex(&self) -> KeyText {
        KeyText(hex::encode(self.0))
    }

    /// SQLCipher's raw-key statement: the key is used as is, with no passphrase derivation.
    fn pragma(&self) -> KeyText {
        KeyText(format!("PRAGMA key = \"x'{}'\";", hex::encode(self.0)))
    }
}

impl std::fmt::Debug for DatabaseKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DatabaseKey(hidden)")
    }
}

impl Drop for DatabaseKey {
    fn drop(&mut self) {
        wipe(&mut self.0);
    }
}

/// Text that carries a key: readable through `as_str`, never printed, zeroed on drop.
pub struct KeyText(String);

impl KeyText {
    /// The text itself.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<String> for KeyText {
    fn from(text: String) -> KeyText {
        KeyText(text)
    }
}

impl std::fmt::Debug for KeyText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyText(hidden)")
    }
}

impl Drop for KeyText {
    fn drop(&mut self) {
        // SAFETY: zero bytes are valid UTF-8, so the String stays well-formed.
        wipe(unsafe { self.0.as_bytes_mut() });
    }
}

/// An open Switchboard database with the clock its writes are stamped with.
pub struct Store {
    conn: Connection,
    clock: Arc<dyn Clock>,
    path: Option<PathBuf>,
    /// Kept so that a second connection to the same file (a job, the sync worker) can open it.
    key: Option<DatabaseKey>,
}

impl Store {
    /// Opens (creating if needed) the database file at `path` and brings its schema up to date.
    /// With a key the file is SQLCipher-encrypted with it; `None` opens an unencrypted file (tests,
    /// benches, and the source of a conversion). A key that does not open the file, or no key for
    /// an encrypted file, is `CoreError::WrongKey`.
    pub fn open(path: &Path, key: Option<&DatabaseKey>) -> Result<Store> {
        Store::open_with_clock(path, key, Arc::new(SystemClock))
    }

    /// Like `open`, with an injected clock.
    pub fn open_with_clock(
        path: &Path,
        key: Option<&DatabaseKey>,
        clock: Arc<dyn Clock>,
    ) -> Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| CoreError::io(format!("creating {}", dir.display()), e))?;
        }
        let conn = open_connection(path, key)?;
        let mut store = Store {
            conn,
            clock,
            path: Some(path.to_path_buf()),
            key: key.cloned(),
        };
        store.prepare()?;
        Ok(store)
    }

    /// A private in-memory database, for unit tests.
    pub fn open_in_memory(clock: Arc<dyn Clock>) -> Result<Store> {
        let mut store = Store {
            conn: Connection::open_in_memory()?,
            clock,
            path: None,
            key: None,
        };
        store.prepare()?;
        Ok(store)
    }

    fn prepare(&mut self) -> Result<()> {
        // WAL lets the UI read while sync writes; secure_delete zeroes freed pages so erased
        // personal information does not linger in the file; a 64 MiB page cache keeps queue
        // pages on a million-lead file in memory (the 2 MiB default thrashes).
        self.conn.execute_batch(&format!(
            "PRAGMA busy_timeout = {};
             PRAGMA synchronous = NORMAL;
             PRAGMA foreign_keys = ON;
             PRAGMA secure_delete = ON;
             PRAGMA cache_size = -65536;",
            BUSY_TIMEOUT.as_millis()
        ))?;
        set_journal_mode(&self.conn, "wal")?;
        self.migrate()?;
        self.ensure_identity()?;
        // A crash between an erasure's commit and its scrub would leave the person's search
        // terms and WAL pages on disk; finish the scrub before anything else reads the file.
        crate::store::scrub::scrub_if_pending(&self.conn)?;
        // A first sync killed during its bulk load left indexes to build (`store::deferred_indexes`). A
        // file whose write lock stays taken past the busy timeout is being loaded by a live sync
        // right now, which builds them itself at its end: opening must not fail over that.
        match crate::store::deferred_indexes::finish_if_pending(&self.conn) {
            Err(CoreError::Storage(rusqlite::Error::SqliteFailure(e, _)))
                if e.code == rusqlite::ErrorCode::DatabaseBusy => {}
            other => {
                other?;
            }
        }
        Ok(())
    }

    fn migrate(&mut self) -> Result<()> {
        let applied: usize =
            self.conn
                .query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))? as usize;
        if applied > MIGRATIONS.len() {
            return Err(CoreError::BadInput(format!(
                "this database was written by a newer Switchboard (schema {applied}, this build knows {})",
                MIGRATIONS.len()
            )));
        }
        for (index, (_name, sql)) in MIGRATIONS.iter().enumerate().skip(applied) {
            let tx = self.conn.transaction()?;
            tx.execute_batch(sql)?;
            // A migration may edit `sqlite_schema` itself (0022); SQLite learns of that only from
            // a new schema cookie, which makes every connection (this one too) read the schema
            // again. After any other migration the bump costs one extra read of the schema.
            let version: i64 = tx.query_row("PRAGMA schema_version", [], |r| r.get(0))?;
            tx.pragma_update(None, "schema_version", version + 1)?;
            tx.pragma_update(None, "user_version", (index + 1) as i64)?;
            tx.commit()?;
        }
        Ok(())
    }

    /// Every database has a replica id (its HLC node name) and a suppression key from birth.
    fn ensure_identity(&mut self) -> Result<()> {
        let now = self.now();
        let tx = self.conn.transaction()?;
        if get_setting(&tx, "replica_id")?.is_none() {
            set_setting(&tx, "replica_id", &new_id(now))?;
        }
        if get_setting(&tx, "suppression_key")?.is_none() {
            set_setting(&tx, "suppression_key", &random_key_hex())?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The current instant from the injected clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The clock this store stamps writes with.
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    /// The database file, if it has one.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The key this store's file was opened with (`None`: unencrypted or in memory).
    pub fn key(&self) -> Option<&DatabaseKey> {
        self.key.as_ref()
    }

    /// Read access to the connection.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Mutable access to the connection (for transactions opened by callers).
    pub fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// Runs `f` in one IMMEDIATE transaction: all of it is written, or none of it.
    pub fn with_tx<T>(&mut self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let value = f(&tx)?;
        tx.commit()?;
        Ok(value)
    }

    /// `with_tx` stamped with the store's current time: the shape of every user-initiated write.
    pub fn with_tx_now<T>(
        &mut self,
        f: impl FnOnce(&Transaction<'_>, DateTime<Utc>) -> Result<T>,
    ) -> Result<T> {
        let at = self.now();
        self.with_tx(|tx| f(tx, at))
    }

    /// This replica's id.
    pub fn replica_id(&self) -> Result<String> {
        get_setting(&self.conn, "replica_id")?
            .ok_or_else(|| CoreError::NotFound("replica id missing".into()))
    }
}

/// The replica's SQLCipher format beyond its raw key: the page cipher, chosen when the key is
/// set, and the settings set on every keyed connection right after the key and before the first
/// read.
/// - Pages are enciphered with AES-256-CTR (`switchboard_page_crypto::PageCipher::CtrGmac`)
///   rather than SQLCipher's CBC: the same layout, random IV per page written and
///   encrypt-then-MAC, but CTR's blocks run in parallel where CBC's wait for each other, which
///   takes about 3 µs off every page written (docs/BENCHMARKS.md, issue 13). Only this build's
///   provider reads it.
/// - Each page is authenticated with GMAC (AES-256-GCM's tag, the page's IV as its nonce) in
///   the 32-byte slot of SQLCipher's HMAC-SHA256 rather than with HMAC itself: GHASH costs a
///   fraction of SHA-256 per byte, on every page written and read (docs/BENCHMARKS.md, issue 13).
///
/// The KDF stays SQLCipher's default: with a raw key it only derives the MAC key, once per open.
const CURRENT_FORMAT: Format = (
    PageCipher::CtrGmac,
    "PRAGMA cipher_hmac_algorithm = HMAC_SHA256;",
);

/// How a replica file is encrypted: the page cipher and the settings after the key.
type Format = (PageCipher, &'static str);

/// The formats replicas were encrypted in before the current one, newest first; such a file is
/// re-encrypted to `CURRENT_FORMAT` the first time it is opened.
const LEGACY_FORMATS: [Format; 3] = [
    // AES-256-CTR pages with HMAC-SHA256 (2026-12-07).
    (
        PageCipher::CtrHmac,
        "PRAGMA cipher_hmac_algorithm = HMAC_SHA256;",
    ),
    // SQLCipher's CBC pages with HMAC-SHA256 (2026-12-06 to 2026-12-07).
    (
        PageCipher::SqlcipherCbc,
        "PRAGMA cipher_hmac_algorithm = HMAC_SHA256;",
    ),
    // SQLCipher 4's defaults: CBC pages with HMAC-SHA512.
    (PageCipher::SqlcipherCbc, ""),
];

/// Keys `conn` with `key` in the replica's SQLCipher format; nothing may have read the file yet.
/// Every keyed connection to a replica goes through here (the store, the window's session check,
/// tests), so the format is set in this one place.
pub fn apply_key(conn: &Connection, key: &DatabaseKey) -> Result<()> {
    key_with(conn, key, CURRENT_FORMAT)
}

fn key_with(conn: &Connection, key: &DatabaseKey, (cipher, settings): Format) -> Result<()> {
    keyed_as(cipher, || conn.execute_batch(key.pragma().as_str())).map_err(unreadable_format)??;
    conn.execute_batch(settings)?;
    // SQLCipher, activated by the key, logs a failed page check to stderr at its default
    // level; a wrong key is reported as WrongKey instead, so its log is turned off.
    conn.query_row("PRAGMA cipher_log_level = NONE", [], |_| Ok(()))?;
    Ok(())
}

/// This build cannot key a connection in the replica's format (its SQLCipher is not the release
/// the page cipher was written against); a storage error that says so.
fn unreadable_format(e: switchboard_page_crypto::NotInstalled) -> CoreError {
    CoreError::Storage(rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
        Some(e.to_string()),
    ))
}

/// Whether the first read of `conn` succeeds; `false` when SQLCipher finds the first page does
/// not check out ("not a database": a wrong key, or another format).
fn reads(conn: &Connection) -> Result<bool> {
    match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    }) {
        Ok(_) => Ok(true),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::NotADatabase =>
        {
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}

/// Opens a connection to `path` and proves the key by reading the schema: SQLCipher only finds out
/// that a key is wrong (or missing) at the first read, and reports it as "not a database". A
/// plaintext file, or one encrypted in the legacy format, is converted to the current format
/// first (`reencrypt_in_place`).
pub fn open_connection(path: &Path, key: Option<&DatabaseKey>) -> Result<Connection> {
    let open = || -> Result<Connection> {
        let conn = Connection::open(path)?;
        if let Some(key) = key {
            apply_key(&conn, key)?;
        }
        Ok(conn)
    };
    if let Some(key) = key {
        if is_plaintext(path)? {
            encrypt_in_place(path, key)?;
        }
    }
    let conn = open()?;
    if reads(&conn)? {
        return Ok(conn);
    }
    drop(conn);
    let wrong_key = || CoreError::WrongKey(path.display().to_string());
    let Some(key) = key else {
        return Err(wrong_key());
    };
    if legacy_format(path, key)?.is_none() {
        return Err(wrong_key());
    }
    reencrypt_in_place(path, key)?;
    let conn = open()?;
    if reads(&conn)? {
        Ok(conn)
    } else {
        Err(wrong_key())
    }
}

/// Whether `key` opens `path` in the current format.
fn is_current(path: &Path, key: &DatabaseKey) -> Result<bool> {
    let conn = Connection::open(path)?;
    apply_key(&conn, key)?;
    reads(&conn)
}

/// The legacy format in which `key` opens `path`, if any.
fn legacy_format(path: &Path, key: &DatabaseKey) -> Result<Option<Format>> {
    for format in LEGACY_FORMATS {
        let conn = Connection::open(path)?;
        key_with(&conn, key, format)?;
        if reads(&conn)? {
            return Ok(Some(format));
        }
    }
    Ok(None)
}

/// Whether `path` is an unencrypted SQLite database (false when it is missing or empty). Asked
/// of SQLite itself rather than by reading the header with a file handle of our own: closing any
/// handle on the file would drop the POSIX locks of every other connection this process holds
/// on it (a job's second connection beside the window's).
pub fn is_plaintext(path: &Path) -> Result<bool> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.len() > 0 => {}
        Ok(_) => return Ok(false),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(CoreError::io(format!("reading {}", path.display()), e)),
    }
    let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    }) {
        Ok(_) => Ok(true),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::NotADatabase =>
        {
            Ok(false)
        }
        // A hot journal left by a crash needs a writer to roll it back: read the header (after a
        // crash nothing else of this process holds the file).
        Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::ReadOnly => {
            has_plaintext_header(path)
        }
        Err(e) => Err(e.into()),
    }
}

/// Whether the file starts with the header of every unencrypted SQLite file (an encrypted one
/// starts with random salt).
fn has_plaintext_header(path: &Path) -> Result<bool> {
    use std::io::Read;
    let mut header = [0u8; 16];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut header))
        .map_err(|e| CoreError::io(format!("reading {}", path.display()), e))?;
    Ok(&header == b"SQLite format 3\0")
}

/// Encrypts the unencrypted database at `path` with `key`, in place and crash-safe: the data is
/// exported into a new encrypted file beside it, which is synced and then renamed over the old
/// one, so a crash at any moment leaves the old file or the new one whole, never neither.
pub fn encrypt_in_place(path: &Path, key: &DatabaseKey) -> Result<()> {
    export_in_place(path, None, key)
}

/// Re-encrypts the replica at `path`, encrypted with `key` in a legacy format, to the current
/// one (`CURRENT_FORMAT`) with the same export, sync and rename as `encrypt_in_place`: a crash
/// at any moment leaves the old file (converted again at the next open) or the new one.
pub fn reencrypt_in_place(path: &Path, key: &DatabaseKey) -> Result<()> {
    export_in_place(path, Some(key), key)
}

/// The export behind both conversions: the database at `path` (unencrypted when `old_key` is
/// `None`, else keyed in a legacy format) is copied into a fresh file in the current format
/// under `key`, which then replaces it.
fn export_in_place(path: &Path, old_key: Option<&DatabaseKey>, key: &DatabaseKey) -> Result<()> {
    let io = |what: &str, p: &Path, e| CoreError::io(format!("{what} {}", p.display()), e);
    // Conversions of one file take turns (the window and a CLI command started together after
    // an upgrade): a second one would remove the first's file in progress. The lock goes with
    // the process; whoever waited finds the work done.
    let turn = with_suffix(path, ".converting");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&turn)
        .map_err(|e| io("opening", &turn, e))?;
    lock.lock().map_err(|e| io("locking", &turn, e))?;
    let old_format = match old_key {
        None if is_plaintext(path)? => None,
        Some(old_key) if !is_current(path, key)? => match legacy_format(path, old_key)? {
            Some(format) => Some((old_key, format)),
            None => return Ok(()),
        },
        _ => return Ok(()),
    };
    let fresh = with_suffix(path, ".encrypting");
    // What an interrupted earlier attempt left; the old file is still the database.
    for leftover in [fresh.clone(), with_suffix(&fresh, "-journal")] {
        match std::fs::remove_file(&leftover) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(io("removing", &leftover, e))
            }
            _ => {}
        }
    }
    {
        let old = Connection::open(path)?;
        if let Some((old_key, format)) = old_format {
            key_with(&old, old_key, format)?;
        }
        // Fold the WAL into the file and stop using one: SQLite would replay a -wal left
        // beside the new file into it.
        set_journal_mode(&old, "delete")?;
        let version: i64 = old.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let raw_key = KeyText(format!("x'{}'", key.to_hex().as_str()));
        let (cipher, settings) = CURRENT_FORMAT;
        keyed_as(cipher, || {
            old.execute(
                "ATTACH DATABASE ?1 AS encrypted KEY ?2",
                rusqlite::params![fresh.to_string_lossy(), raw_key.as_str()],
            )
        })
        .map_err(unreadable_format)??;
        // The attached file takes SQLCipher's defaults: the current format's settings, named
        // for it, before the export writes its first page.
        old.execute_batch(&settings.replace("PRAGMA ", "PRAGMA encrypted."))?;
        old.query_row("SELECT sqlcipher_export('encrypted')", [], |_| Ok(()))?;
        old.execute_batch(&format!(
            "PRAGMA encrypted.user_version = {version}; DETACH DATABASE encrypted;"
        ))?;
    }
    std::fs::File::open(&fresh)
        .and_then(|f| f.sync_all())
        .map_err(|e| io("syncing", &fresh, e))?;
    std::fs::rename(&fresh, path).map_err(|e| io("replacing", path, e))?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io("syncing", dir, e))?;
    }
    Ok(())
}

/// How long a store's connection waits for another one's lock before it reports busy.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Switches `conn`'s journal mode, waiting out other connections as long as the busy timeout
/// would. SQLite asks for the lock this needs once, without the busy handler (into WAL it
/// upgrades its own read; out of WAL it takes the exclusive lock directly), so a process that
/// merely reads the file at that moment — a second one opening a freshly converted replica,
/// which is in rollback mode until someone switches it — would make the open fail at once.
fn set_journal_mode(conn: &Connection, mode: &str) -> Result<()> {
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    loop {
        let set = conn.query_row(&format!("PRAGMA journal_mode = {mode}"), [], |r| {
            r.get::<_, String>(0)
        });
        match set {
            // An in-memory database stays in its own mode.
            Ok(now) if now.eq_ignore_ascii_case(mode) || now == "memory" => return Ok(()),
            Ok(_)
            | Err(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error {
                    code: rusqlite::ErrorCode::DatabaseBusy,
                    ..
                },
                _,
            )) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            Ok(now) => {
                return Err(CoreError::Storage(rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                    Some(format!("the journal stayed in {now} mode, not {mode}")),
                )))
            }
            Err(e) => return Err(e.into()),
        }
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

/// The database the desktop app and the CLI use when none is named: `switchboard/switchboard.db`
/// under the OS data folder (`$XDG_DATA_HOME` or `~/.local/share` on Linux).
pub fn default_db_path() -> Result<PathBuf> {
    let data = dirs::data_dir().ok_or_else(|| {
        CoreError::NotFound(
            "no data folder for this user (set HOME or XDG_DATA_HOME, or name a database)".into(),
        )
    })?;
    Ok(data.join("switchboard").join("switchboard.db"))
}

fn random_key_hex() -> String {
    // Two v4 UUIDs carry 244 random bits: enough for an HMAC key. They come from `rand`'s
    // thread-local generator (uuid's `fast-rng`: ChaCha12, seeded and reseeded from the OS), a
    // cryptographically secure generator.
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

#[cfg(test)]
mod tests;
