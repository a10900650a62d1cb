//! The local SQLite store: opening, pragmas, migrations, transactions and settings.

use crate::clock::{new_id, Clock, SystemClock};
use crate::error::{CoreError, Result};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, Transaction};
use std::path::{Path, PathBuf};
use std::sync::Arc;

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
];

/// An open Switchboard database with the clock its writes are stamped with.
pub struct Store {
    conn: Connection,
    clock: Arc<dyn Clock>,
    path: Option<PathBuf>,
}

impl Store {
    /// Opens (creating if needed) the database file at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Store> {
        Store::open_with_clock(path, Arc::new(SystemClock))
    }

    /// Like `open`, with an injected clock.
    pub fn open_with_clock(path: &Path, clock: Arc<dyn Clock>) -> Result<Store> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| CoreError::io(format!("creating {}", dir.display()), e))?;
        }
        let conn = Connection::open(path)?;
        let mut store = Store {
            conn,
            clock,
            path: Some(path.to_path_buf()),
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
        };
        store.prepare()?;
        Ok(store)
    }

    fn prepare(&mut self) -> Result<()> {
        // WAL lets the UI read while sync writes; secure_delete zeroes freed pages so erased
        // personal information does not linger in the file; a 64 MiB page cache keeps queue
        // pages on a million-lead file in memory (the 2 MiB default thrashes).
        self.conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA foreign_keys = ON;
             PRAGMA secure_delete = ON;
             PRAGMA busy_timeout = 5000;
             PRAGMA cache_size = -65536;",
        )?;
        self.migrate()?;
        self.ensure_identity()?;
        // A crash between an erasure's commit and its scrub would leave the person's search
        // terms and WAL pages on disk; finish the scrub before anything else reads the file.
        crate::store::scrub::scrub_if_pending(&self.conn)?;
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
    // Two v4 UUIDs carry 244 random bits from the OS generator: enough for an HMAC key.
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

#[cfg(test)]
mod tests {
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
        let first = Store::open_with_clock(&path, clock()).unwrap();
        let id = first.replica_id().unwrap();
        drop(first);
        let second = Store::open_with_clock(&path, clock()).unwrap();
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
}
