//! The write-ahead log, beyond what SQLite's automatic checkpoints do with it.

use crate::error::Result;
use rusqlite::Connection;

/// Copies the whole WAL into the database file and truncates it to nothing; false when a
/// reader or writer on another connection kept it from completing (the next checkpoint does).
/// After an erasure no page of the person may stay in the WAL; after a first sync or a large
/// import the WAL would otherwise keep the size it grew to.
pub fn truncate(conn: &Connection) -> Result<bool> {
    let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))?;
    Ok(busy == 0)
}
