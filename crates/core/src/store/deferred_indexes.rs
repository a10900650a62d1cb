//! Secondary indexes set aside during a bulk load and built once after it (`replica::bulk`
//! decides which and when). Their definitions are kept in a setting in the transaction that
//! drops them, so a process killed half way leaves a file that knows what to rebuild, and
//! opening the store rebuilds them first (`Store::open`). Only speed depends on such indexes;
//! every query is correct without them. The exceptions are on `registration`, which a large
//! import sets aside too: the unique index on submission ids, and the intake-rule trigger while
//! no rule exists. Their rules hold because that import checks its submissions in memory (and no
//! rule can appear but by another connection's commit, after which it builds both again), and
//! every other writer of registrations builds them first (`people::registration::
//! ensure_write_rules`).
//!
//! The two full-text indexes can be set aside too (`defer_search`): while `SEARCH_PENDING` is
//! set, a pull writes new leads and follow-ups without their entries (the fast path of
//! `replica::fresh`), and finishing runs the statements recorded with it, which empty both
//! indexes and fill them from the rows in rowid order. Until then a search misses the rows
//! loaded so far.
//!
//! A live load holds its database's `LoadLock` from before it sets anything aside until it has
//! built it all again. Every other connection's `finish_if_pending` (`Store::open`, the end of
//! every pull) leaves a load alone while that lock is held; without it, a job or a sync opening
//! the replica between two of a load's batches built the indexes there and then, and the rest of
//! the load kept them up to date row by row. The operating system lets the lock go with the
//! process, so a load killed half way is finished by the next opening, as before.

use crate::error::Result;
use crate::store::settings::{delete_setting, get_setting, set_setting};
use rusqlite::{Connection, OptionalExtension};
use std::fs::{File, OpenOptions, TryLockError};
use std::path::PathBuf;

/// The setting that holds the dropped indexes' `CREATE INDEX` statements while a bulk load
/// runs (a JSON array of name and statement pairs).
pub const PENDING: &str = "bulk_load_indexes";

/// The setting present while the full-text indexes are set aside (`defer_search`): a JSON
/// array of the statements that rebuild them.
pub const SEARCH_PENDING: &str = "bulk_load_search";

/// Sets the full-text indexes aside until `finish_if_pending`, which runs `rebuild` (their
/// owners' statements: this layer names no table of theirs), inside the caller's transaction.
pub fn defer_search(tx: &Connection, rebuild: &[String]) -> Result<()> {
    let text = serde_json::to_string(rebuild).expect("statements serialize");
    set_setting(tx, SEARCH_PENDING, &text)
}

/// The statements that rebuild the full-text index `table` from scratch: empty it, fill it with
/// `fill` (an `INSERT … SELECT` of every row in rowid order), merge it into one segment.
///
/// FTS5 writes an insert's entries as a new segment whenever its buffer fills (1 MiB) and, by
/// default, merges segments as they pile up (`automerge` 4, `crisismerge` 16). Filling a million
/// leads' entries so rewrote each term's list several times: half of the rebuild's 6.9 s. With
/// merging off while it fills (`crisismerge` at 1,000 bounds the segments FTS5 ever holds, far
/// below its limit of 2,000), one `optimize` writes each list once more, into a single segment,
/// and the defaults come back for the row-by-row writes that follow.
pub fn search_rebuild(table: &str, fill: &str) -> String {
    format!(
        "INSERT INTO {table}({table}) VALUES ('delete-all');
         INSERT INTO {table}({table}, rank) VALUES ('automerge', 0);
         INSERT INTO {table}({table}, rank) VALUES ('crisismerge', 1000);
         {fill};
         INSERT INTO {table}({table}) VALUES ('optimize');
         INSERT INTO {table}({table}, rank) VALUES ('automerge', {FTS5_AUTOMERGE});
         INSERT INTO {table}({table}, rank) VALUES ('crisismerge', {FTS5_CRISISMERGE});"
    )
}

/// FTS5's own defaults (fts5Int.h), written back after a rebuild.
const FTS5_AUTOMERGE: u32 = 4;
const FTS5_CRISISMERGE: u32 = 16;

/// Whether the full-text entries of pulled rows are left for `finish_if_pending` to build.
pub fn search_deferred(conn: &Connection) -> Result<bool> {
    Ok(get_setting(conn, SEARCH_PENDING)?.is_some())
}

/// A write transaction taken at once (waiting up to the busy timeout), so a writer that
/// commits between this transaction's first read and its first write cannot make it fail.
pub fn immediate(conn: &Connection) -> rusqlite::Result<rusqlite::Transaction<'_>> {
    rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)
}

/// Drops the indexes (or triggers) `names` that exist and records their definitions in
/// `PENDING`, inside the caller's transaction.
pub fn drop_recording(tx: &Connection, names: &[&str]) -> Result<()> {
    let mut dropped = Vec::new();
    for name in names {
        let found: Option<(String, String)> = tx
            .query_row(
                "SELECT type, sql FROM sqlite_schema
                 WHERE type IN ('index', 'trigger') AND name = ?1",
                [name],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((kind, sql)) = found else { continue };
        let kind = if kind == "index" { "INDEX" } else { "TRIGGER" };
        tx.execute_batch(&format!("DROP {kind} \"{name}\""))?;
        dropped.push((name.to_string(), sql));
    }
    let text = serde_json::to_string(&dropped).expect("index definitions serialize");
    set_setting(tx, PENDING, &text)?;
    Ok(())
}

/// Builds those of `names` that a bulk load dropped and are still missing, and takes them off
/// `PENDING`, inside the caller's transaction (the others stay set aside).
pub fn build_now(tx: &Connection, names: &[&str]) -> Result<()> {
    let Some(text) = get_setting(tx, PENDING)? else {
        return Ok(());
    };
    let dropped: Vec<(String, String)> = serde_json::from_str(&text).unwrap_or_default();
    let (now, later): (Vec<_>, Vec<_>) = dropped
        .into_iter()
        .partition(|(name, _)| names.contains(&name.as_str()));
    if now.is_empty() {
        return Ok(());
    }
    for (name, sql) in now {
        if !present(tx, &name)? {
            tx.execute_batch(&sql)?;
        }
    }
    let text = serde_json::to_string(&later).expect("index definitions serialize");
    set_setting(tx, PENDING, &text)
}

/// Whether the index (or trigger) `name` exists.
pub fn present(conn: &Connection, name: &str) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_schema
                         WHERE type IN ('index', 'trigger') AND name = ?1)",
        [name],
        |r| r.get(0),
    )?)
}

/// Builds the indexes a bulk load dropped, if any are still missing, and forgets them, in one
/// transaction, unless a live load elsewhere holds the database's `LoadLock` (it builds them at
/// its end). Returns whether there was anything to finish.
pub fn finish_if_pending(conn: &Connection) -> Result<bool> {
    if !pending(conn)? || LoadLock::held_elsewhere(conn) {
        return Ok(false);
    }
    finish(conn)
}

fn pending(conn: &Connection) -> Result<bool> {
    Ok(search_deferred(conn)? || get_setting(conn, PENDING)?.is_some())
}

/// The settings are read under the write lock: another connection may have finished meanwhile.
fn finish(conn: &Connection) -> Result<bool> {
    let tx = immediate(conn)?;
    let search = get_setting(&tx, SEARCH_PENDING)?;
    let text = get_setting(&tx, PENDING)?;
    if search.is_none() && text.is_none() {
        return Ok(false);
    }
    if let Some(rebuild) = search {
        let statements: Vec<String> = serde_json::from_str(&rebuild).unwrap_or_default();
        for sql in statements {
            tx.execute_batch(&sql)?;
        }
        delete_setting(&tx, SEARCH_PENDING)?;
    }
    let text = text.unwrap_or_else(|| "[]".into());
    // The definitions were read from `sqlite_schema` by `drop_recording`; a setting that no
    // longer parses (written by hand) is dropped with it rather than keeping the file closed.
    let dropped: Vec<(String, String)> = serde_json::from_str(&text).unwrap_or_default();
    for (name, sql) in dropped {
        if !present(&tx, &name)? {
            tx.execute_batch(&sql)?;
        }
    }
    delete_setting(&tx, PENDING)?;
    tx.commit()?;
    Ok(true)
}

/// The lock a running bulk load holds on its database: an exclusive `flock` on an empty file
/// named after the database (`<file>-load`, beside its `-wal` and `-shm`). A lock is per open
/// file, so it also keeps out other connections of the same process.
pub struct LoadLock {
    /// None for a database without a file, or a folder where the lock file cannot be made: such
    /// a load runs unguarded, as loads did before the lock.
    _file: Option<File>,
}

impl LoadLock {
    /// Takes the lock for a load on `conn`'s database without waiting; none while another live
    /// load holds it (that load owns what is set aside, and a second one must not start).
    pub fn take(conn: &Connection) -> Result<Option<LoadLock>> {
        let Some(file) = lock_path(conn).and_then(|path| open_lock_file(&path).ok()) else {
            return Ok(Some(LoadLock { _file: None }));
        };
        match file.try_lock() {
            Ok(()) => Ok(Some(LoadLock { _file: Some(file) })),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(_)) => Ok(Some(LoadLock { _file: None })),
        }
    }

    /// Builds what the load set aside (`finish_if_pending` without asking whose load it is),
    /// then lets the lock go. Returns whether there was anything to finish.
    pub fn finish(self, conn: &Connection) -> Result<bool> {
        finish(conn)
    }

    /// Whether a live load on `conn`'s database holds the lock (a file that cannot be opened or
    /// locked proves none).
    fn held_elsewhere(conn: &Connection) -> bool {
        let Some(path) = lock_path(conn) else {
            return false;
        };
        let Ok(file) = File::open(path) else {
            return false;
        };
        matches!(file.try_lock_shared(), Err(TryLockError::WouldBlock))
    }
}

fn lock_path(conn: &Connection) -> Option<PathBuf> {
    match conn.path() {
        Some(db) if !db.is_empty() => Some(PathBuf::from(format!("{db}-load"))),
        _ => None,
    }
}

fn open_lock_file(path: &std::path::Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).truncate(false).write(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}
