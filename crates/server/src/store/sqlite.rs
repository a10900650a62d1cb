//! The embedded store: one SQLite file in the data folder. One writer connection (SQLite allows
//! one writer anyway) and a few reader connections that WAL lets run beside it.

use super::{schema, Rows, Store, Tx, TxBody, Val};
use crate::error::{Result, ServerError};
use crate::sealing::{KeyCache, Keyring};
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, TransactionBehavior};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use switchboard_protocol::Secret;

const READERS: usize = 4;

/// The SQLite implementation of `Store`.
pub struct SqliteStore {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    keyring: Arc<Keyring>,
}

impl rusqlite::ToSql for Val {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Val::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Val::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Val::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        })
    }
}

/// The database and its companions hold personal data and password and token hashes: none may
/// be readable by anyone but the server's user. SQLite creates `-wal`, `-shm` and `-journal` with
/// the database file's own mode, so the file is created 0600 before SQLite first opens it; files
/// left by an older version are tightened on every open.
///
/// An existing database file is never opened here, only changed by path: closing any descriptor
/// of a file drops every POSIX lock this process holds on it, SQLite's included. A server whose
/// connections had lost their shared lock looked unused to an admin command run beside it
/// (`user add` while serving), which then checkpointed and deleted the WAL and shared-memory
/// files under it on exit; what the server committed afterwards went to the deleted WAL and was
/// gone at its next start.
fn keep_private(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(ServerError::io(format!("creating {}", path.display()), e)),
        }
        let name = path.as_os_str();
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut file = name.to_os_string();
            file.push(suffix);
            let file = Path::new(&file);
            let Ok(meta) = std::fs::metadata(file) else {
                continue;
            };
            if meta.permissions().mode() & 0o077 != 0 {
                std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o600))
                    .map_err(|e| ServerError::io(format!("restricting {}", file.display()), e))?;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

fn open_connection(path: &Path, db_key: Option<&Secret>) -> Result<Connection> {
    let conn = Connection::open(path)?;
    if let Some(key) = db_key {
        // The replica's page crypto (same format, OpenSSL objects made once per connection).
        switchboard_page_crypto::install();
        // SQLCipher's raw key, set before anything reads the file; a wrong key only shows at
        // the first read, as "not a database".
        conn.execute_batch(&format!("PRAGMA key = \"x'{}'\";", key.expose()))?;
        conn.query_row("PRAGMA cipher_log_level = NONE", [], |_| Ok(()))?;
        match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        }) {
            Ok(_) => {}
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::NotADatabase =>
            {
                return Err(ServerError::Invalid(format!(
                    "{}: the database key does not open this store (a store made without a \
                     key is not encrypted afterwards: use the key it was made with, or none)",
                    path.display()
                )));
            }
            Err(e) => return Err(e.into()),
        }
    }
    // WAL lets pulls read while a push writes; secure_delete zeroes freed content so purged
    // personal information does not linger in the file.
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA secure_delete = ON;
         PRAGMA busy_timeout = 10000;",
    )?;
    Ok(conn)
}

/// Whether `path` holds an unencrypted SQLite database with something in it. SQLite is asked
/// (a plain connection reads the schema) rather than the header read through a file handle:
/// closing such a handle would drop the locks this process's SQLite connections hold on it.
fn is_plaintext(path: &Path) -> Result<bool> {
    if std::fs::metadata(path).map_or(true, |m| m.len() == 0) {
        return Ok(false);
    }
    let plain = Connection::open(path)?;
    plain.execute_batch("PRAGMA busy_timeout = 10000;")?;
    let readable = plain.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    });
    match readable {
        Ok(_) => Ok(true),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::NotADatabase =>
        {
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}

/// Encrypts the unencrypted store at `path` under `key`, in place and crash-safe, as the
/// replica does (`switchboard_core::store::encrypt_in_place`): the data is exported into a file
/// beside it, which is synced and then renamed over the old one, so at every moment the path
/// holds either the whole old file or the whole new one. A leftover of a killed run is
/// discarded and the export starts again. Nothing happens to a file that is encrypted already
/// or empty. Conversions of one file take turns on a lock file beside it.
pub fn encrypt_in_place(path: &Path, key: &Secret) -> Result<()> {
    let with_suffix = |suffix: &str| {
        let mut name = path.as_os_str().to_os_string();
        name.push(suffix);
        std::path::PathBuf::from(name)
    };
    if !is_plaintext(path)? {
        return Ok(());
    }
    let _turn = ConversionLock::take(&with_suffix(".converting"))?;
    if !is_plaintext(path)? {
        return Ok(());
    }
    let fresh = with_suffix(".encrypting");
    match std::fs::remove_file(&fresh) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(ServerError::io(format!("removing {}", fresh.display()), e));
        }
        _ => {}
    }
    {
        let old = Connection::open(path)?;
        old.execute_batch("PRAGMA busy_timeout = 10000;")?;
        // The WAL goes into the file first, so the export reads everything and no plaintext
        // `-wal` outlives the conversion.
        old.query_row("PRAGMA journal_mode = DELETE", [], |_| Ok(()))?;
        let version: i64 = old.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let raw_key = Secret::new(format!("x'{}'", key.expose()));
        switchboard_page_crypto::install();
        old.execute(
            "ATTACH DATABASE ?1 AS encrypted KEY ?2",
            rusqlite::params![fresh.to_string_lossy(), raw_key.expose()],
        )?;
        old.query_row("SELECT sqlcipher_export('encrypted')", [], |_| Ok(()))?;
        old.execute_batch(&format!(
            "PRAGMA encrypted.user_version = {version}; DETACH DATABASE encrypted;"
        ))?;
    }
    let synced = std::fs::File::open(&fresh).and_then(|f| f.sync_all());
    synced.map_err(|e| ServerError::io(format!("syncing {}", fresh.display()), e))?;
    std::fs::rename(&fresh, path)
        .map_err(|e| ServerError::io(format!("replacing {}", path.display()), e))?;
    // The rename itself reaches the disk with the folder's entry.
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let synced = std::fs::File::open(dir).and_then(|d| d.sync_all());
        synced.map_err(|e| ServerError::io(format!("syncing {}", dir.display()), e))?;
    }
    Ok(())
}

/// An exclusive `flock` on a file beside the store, held until dropped (or the process ends).
struct ConversionLock {
    _file: std::fs::File,
}

impl ConversionLock {
    fn take(path: &Path) -> Result<ConversionLock> {
        let mut options = std::fs::OpenOptions::new();
        options.read(true).write(true).create(true).truncate(false);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options
            .open(path)
            .map_err(|e| ServerError::io(format!("opening {}", path.display()), e))?;
        #[cfg(unix)]
        {
            use std::os::fd::AsRawFd;
            // SAFETY: flock only reads the descriptor, which `file` keeps open for the call.
            if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
                return Err(ServerError::io(
                    format!("locking {}", path.display()),
                    std::io::Error::last_os_error(),
                ));
            }
        }
        Ok(ConversionLock { _file: file })
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path, keyring: Arc<Keyring>) -> Result<SqliteStore> {
        SqliteStore::open_keyed(path, keyring, None)
    }

    /// `open` with the whole file SQLCipher-encrypted under `db_key` (64 hex digits) when given.
    pub fn open_keyed(
        path: &Path,
        keyring: Arc<Keyring>,
        db_key: Option<&Secret>,
    ) -> Result<SqliteStore> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        if let Some(key) = db_key {
            // A store made without a key and given one later (`encrypt-store`) is converted here,
            // so a conversion a crash cut short finishes at the next open.
            encrypt_in_place(path, key)?;
        }
        keep_private(path)?;
        let writer = open_connection(path, db_key)?;
        let store = SqliteStore {
            writer: Mutex::new(writer),
            readers: Vec::new(),
            next_reader: AtomicUsize::new(0),
            keyring,
        };
        store.write(&mut |tx| schema::migrate(tx))?;
        let readers = (0..READERS)
            .map(|_| open_connection(path, db_key).map(Mutex::new))
            .collect::<Result<Vec<_>>>()?;
        // The WAL and shared-memory files exist now: tighten them too, whatever made them.
        keep_private(path)?;
        Ok(SqliteStore { readers, ..store })
    }
}

struct SqliteTx<'a>(
    &'a rusqlite::Transaction<'a>,
    &'a Keyring,
    KeyCache,
    BTreeSet<String>,
);

impl Tx for SqliteTx<'_> {
    fn keyring(&self) -> &Keyring {
        self.1
    }

    fn key_cache(&mut self) -> &mut KeyCache {
        &mut self.2
    }

    fn changed_buckets(&self) -> BTreeSet<String> {
        self.3.clone()
    }

    fn log_change(
        &mut self,
        bucket: &str,
        lead_id: Option<&str>,
        op: String,
        origin: Option<(String, i64)>,
    ) -> Result<()> {
        // One writer at a time (`BEGIN IMMEDIATE`): the counter's numbers commit in order.
        let seq = super::counter_next(self)?;
        if !self.3.contains(bucket) {
            self.3.insert(bucket.to_string());
        }
        self.exec(
            super::INSERT_CHANGE,
            &[
                seq.into(),
                bucket.into(),
                lead_id.into(),
                op.into(),
                origin.as_ref().map(|(r, _)| r.as_str()).into(),
                origin.map(|(_, s)| s).into(),
            ],
        )?;
        Ok(())
    }

    fn kind(&self) -> &'static str {
        "sqlite"
    }

    fn page_read(&self) -> super::PageRead {
        super::PageRead::SequencesThenRows
    }

    fn exec(&mut self, sql: &str, params: &[Val]) -> Result<u64> {
        let mut stmt = self.0.prepare_cached(sql)?;
        Ok(stmt.execute(rusqlite::params_from_iter(params.iter()))? as u64)
    }

    fn query_rows(&mut self, sql: &str, params: &[Val]) -> Result<Rows> {
        let mut stmt = self.0.prepare_cached(sql)?;
        let width = stmt.column_count();
        let mut rows = stmt.query(rusqlite::params_from_iter(params.iter()))?;
        let mut out = Rows::new(width);
        while let Some(row) = rows.next()? {
            for i in 0..width {
                match row.get_ref(i)? {
                    ValueRef::Null => out.push_null(),
                    ValueRef::Integer(n) => out.push_int(n),
                    ValueRef::Real(f) => out.push_text(&f.to_string()),
                    ValueRef::Text(t) | ValueRef::Blob(t) => match std::str::from_utf8(t) {
                        Ok(text) => out.push_text(text),
                        Err(_) => out.push_text(&String::from_utf8_lossy(t)),
                    },
                }
            }
        }
        Ok(out)
    }
}

fn run(
    conn: &mut Connection,
    keyring: &Keyring,
    behavior: TransactionBehavior,
    body: TxBody<'_>,
) -> Result<()> {
    let tx = conn.transaction_with_behavior(behavior)?;
    body(&mut SqliteTx(
        &tx,
        keyring,
        KeyCache::new(),
        BTreeSet::new(),
    ))?;
    tx.commit()?;
    Ok(())
}

fn lock(m: &Mutex<Connection>) -> Result<std::sync::MutexGuard<'_, Connection>> {
    m.lock()
        .map_err(|_| ServerError::Internal("a database connection was poisoned".into()))
}

impl Store for SqliteStore {
    fn write(&self, body: TxBody<'_>) -> Result<()> {
        run(
            &mut *lock(&self.writer)?,
            &self.keyring,
            TransactionBehavior::Immediate,
            body,
        )
    }

    fn read(&self, body: TxBody<'_>) -> Result<()> {
        if self.readers.is_empty() {
            return run(
                &mut *lock(&self.writer)?,
                &self.keyring,
                TransactionBehavior::Deferred,
                body,
            );
        }
        let i = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        run(
            &mut *lock(&self.readers[i])?,
            &self.keyring,
            TransactionBehavior::Deferred,
            body,
        )
    }

    fn scrub(&self) -> Result<()> {
        let conn = lock(&self.writer)?;
        // A reader still holding an old snapshot can keep the WAL from truncating; retry briefly.
        for _ in 0..50 {
            let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
            if busy == 0 {
                return Ok(());
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        Err(ServerError::Internal("WAL checkpoint stayed busy".into()))
    }

    fn kind(&self) -> &'static str {
        "sqlite"
    }
}
