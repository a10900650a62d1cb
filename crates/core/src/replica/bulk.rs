//! A fresh replica's first sync in bulk (issue 14): the secondary indexes that no apply query
//! reads are dropped before the first page and built once after the last, by sorting, instead
//! of being kept up to date row by row while hundreds of thousands of rows arrive in no order
//! of theirs (each batch's commit wrote their pages into the WAL again).
//!
//! The dropped indexes' definitions are kept in a setting in the same transaction that drops
//! them, so a first sync killed half way leaves a replica that knows what to rebuild: opening the
//! store rebuilds them (`finish_if_pending`), and the next sync resumes from the last committed
//! page with every index in place, as any interrupted pull does. Only speed depends on the
//! indexes; every query is correct without them.
//!
//! The two full-text indexes are built after the load too (`deferred_indexes::defer_search`):
//! the new leads and follow-ups of the load go in without their entries, and finishing fills
//! both indexes from the tables in rowid order. Until then a search on this replica misses the
//! rows loaded so far (it had nothing before), and a killed load rebuilds them on opening.

use crate::error::Result;
use crate::store::deferred_indexes::{defer_search, drop_recording, immediate};
use crate::store::settings::get_setting;
use rusqlite::Connection;

pub use crate::store::deferred_indexes::{
    finish_if_pending, search_deferred, LoadLock, PENDING, SEARCH_PENDING,
};

/// Indexes the apply path never reads (it finds a lead's records through the `*_by_lead`
/// indexes and rows by primary key, which stay): queues, searches by email and phone, time
/// and rep orders. Unique indexes stay too, since they enforce constraints during the load.
pub const DEFERRED: &[&str] = &[
    "lead_by_email",
    "lead_by_phone",
    "lead_new_queue",
    "lead_due_queue",
    "lead_open_queue",
    "follow_up_by_time",
    "follow_up_by_rep",
];

/// The page cache a bulk load holds while it runs (KiB, as `PRAGMA cache_size = -N` takes it):
/// 256 MiB, where the store keeps 64 MiB. A batch keeps every page it dirties in the cache until
/// it commits, so the cache bounds how large a batch can grow before SQLite spills dirty pages
/// into the WAL mid-transaction (written twice). The memory is taken only as pages are read or
/// written, and given back when the load ends (`restore_cache`).
pub const CACHE_KIB: i64 = 256 * 1024;

/// Pages (4 KiB) a bulk batch may add to the file before it commits (`PageBatch::bulk`): a
/// quarter of `CACHE_KIB`, leaving the rest for the index pages the batch dirties besides
/// (the primary keys on text ids, the `*_by_lead` and unique indexes, which stay during the
/// load: at 100,000 leads and 500,000 follow-ups about 60 MB in all).
pub const BATCH_NEW_PAGES: i64 = CACHE_KIB / 4 / 4;

/// Sizes the page cache for a bulk load (`CACHE_KIB`); returns the setting to restore.
pub fn widen_cache(conn: &Connection) -> Result<i64> {
    let before: i64 = conn.query_row("PRAGMA cache_size", [], |r| r.get(0))?;
    conn.execute_batch(&format!("PRAGMA cache_size = -{CACHE_KIB}"))?;
    Ok(before)
}

/// Gives the page cache its size from before the bulk load back (SQLite frees the pages over).
pub fn restore_cache(conn: &Connection, before: i64) -> Result<()> {
    conn.execute_batch(&format!("PRAGMA cache_size = {before}"))?;
    Ok(())
}

/// Whether this replica is fresh: it has never pulled (cursor 0) and holds no lead and no
/// follow-up, so its first pull brings everything it will hold.
pub fn is_fresh(conn: &Connection) -> Result<bool> {
    let (cursor, held): (i64, bool) = conn.query_row(
        "SELECT (SELECT cursor FROM sync_state WHERE id = 1),
                EXISTS (SELECT 1 FROM lead) OR EXISTS (SELECT 1 FROM follow_up)",
        [],
        |r| Ok((r.get::<_, Option<i64>>(0)?.unwrap_or(0), r.get(1)?)),
    )?;
    Ok(cursor == 0 && !held)
}

/// Starts a bulk first sync if the replica is fresh: drops the deferred indexes and records
/// their definitions, and sets the full-text indexes aside, in one transaction. Returns the
/// load's lock when it did; `LoadLock::finish` builds everything back.
pub fn begin(conn: &Connection) -> Result<Option<LoadLock>> {
    // Every pull asks; only a fresh replica takes the write lock (and asks again under it).
    let fresh =
        |c: &Connection| -> Result<bool> { Ok(is_fresh(c)? && get_setting(c, PENDING)?.is_none()) };
    if !fresh(conn)? {
        return Ok(None);
    }
    let Some(lock) = LoadLock::take(conn)? else {
        return Ok(None);
    };
    let tx = immediate(conn)?;
    if !fresh(&tx)? {
        return Ok(None);
    }
    drop_recording(&tx, DEFERRED)?;
    defer_search(
        &tx,
        &[
            crate::people::leads::rebuild_search(),
            crate::outreach::followup::rebuild_note_search(),
        ],
    )?;
    tx.commit()?;
    Ok(Some(lock))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;
    use crate::FixedClock;
    use std::sync::Arc;

    fn index_sql(store: &Store) -> Vec<String> {
        store
            .conn()
            .prepare("SELECT name || ': ' || sql FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    }

    #[test]
    fn a_fresh_replica_drops_the_deferred_indexes_and_gets_them_back_as_they_were() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.db");
        let clock = Arc::new(FixedClock::at(chrono::Utc::now()));
        let store = Store::open_with_clock(&path, None, clock.clone()).unwrap();
        let before = index_sql(&store);
        for name in DEFERRED {
            assert!(
                before.iter().any(|i| i.starts_with(&format!("{name}: "))),
                "{name}"
            );
        }
        let lock = begin(store.conn())
            .unwrap()
            .expect("a fresh replica loads in bulk");
        let during = index_sql(&store);
        assert_eq!(during.len(), before.len() - DEFERRED.len());
        // Only once: a second begin finds the load under way.
        assert!(begin(store.conn()).unwrap().is_none());
        // A process killed here (its lock goes with it): opening the file builds them.
        drop(lock);
        drop(store);
        let store = Store::open_with_clock(&path, None, clock).unwrap();
        assert_eq!(index_sql(&store), before);
        assert!(get_setting(store.conn(), PENDING).unwrap().is_none());
        assert!(!finish_if_pending(store.conn()).unwrap());
    }

    #[test]
    fn a_replica_that_holds_leads_or_has_pulled_is_not_fresh() {
        let store = Store::open_in_memory(Arc::new(FixedClock::at(chrono::Utc::now()))).unwrap();
        assert!(is_fresh(store.conn()).unwrap());
        store
            .conn()
            .execute(
                "INSERT INTO lead(id, created_at) VALUES ('l', '2026-01-01T00:00:00Z')",
                [],
            )
            .unwrap();
        assert!(!is_fresh(store.conn()).unwrap());
        assert!(begin(store.conn()).unwrap().is_none());
        store.conn().execute("DELETE FROM lead", []).unwrap();
        crate::store::sync_state::set_cursor(store.conn(), 7).unwrap();
        assert!(!is_fresh(store.conn()).unwrap());
    }
}
