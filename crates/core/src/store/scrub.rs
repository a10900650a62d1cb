//! Scrubbing the database file after an erasure: the full-text indexes and the WAL would
//! otherwise keep copies of purged bytes. Opening a store finishes a scrub a crash interrupted,
//! so this sits below both `store` and `erase`.

use crate::clock::to_text;
use crate::error::Result;
use crate::store::settings::{delete_setting, get_setting, set_setting};
use chrono::{DateTime, Utc};
use rusqlite::Connection;

/// Scrubs the disk after a purge has committed, so no old copy of the person's data remains:
/// rewrites the full-text indexes (their deletes are tombstones until segments merge, so the
/// terms would otherwise stay in the file), then moves every page into the database file and
/// truncates the WAL to zero bytes. `secure_delete` zeroes every page and cell this frees.
/// Returns false if a reader on another connection kept the WAL from being truncated (the next
/// checkpoint completes it).
pub fn scrub_wal(conn: &Connection) -> Result<bool> {
    let tx = conn.unchecked_transaction()?;
    for table in ["lead_search", "note_search"] {
        tx.execute(
            &format!("INSERT INTO {table}({table}) VALUES ('optimize')"),
            [],
        )?;
    }
    delete_setting(&tx, SCRUB_PENDING)?;
    tx.commit()?;
    crate::store::wal::truncate(conn)
}

/// Runs `scrub_wal` if a purge committed without it (the process stopped in between); the CLI
/// and the desktop app call this when they open a database. Returns whether it ran.
pub fn scrub_if_pending(conn: &Connection) -> Result<bool> {
    if get_setting(conn, SCRUB_PENDING)?.is_none() {
        return Ok(false);
    }
    scrub_wal(conn)?;
    Ok(true)
}

/// Setting present from a purge until the disk has been scrubbed.
const SCRUB_PENDING: &str = "scrub_pending";

/// Records, inside the purge's transaction, that the disk still holds the purged bytes.
pub fn mark_pending(conn: &Connection, at: DateTime<Utc>) -> Result<()> {
    set_setting(conn, SCRUB_PENDING, &to_text(at))
}
