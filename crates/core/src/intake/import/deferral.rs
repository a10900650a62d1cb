//! A large import sets aside the lead indexes it never reads and builds them once at its end.
//!
//! The queue indexes are keyed by registration time or follow-up date, so every new lead lands
//! on a random page of each; at a million leads they outgrow the page cache and every batch's
//! commit writes those pages into the WAL again. The email, phone and submission indexes
//! (`intake::LOOKUP_INDEXES`) take each new row on a random page too; the import's dedup is
//! their only reader meanwhile, and answers from memory instead (`intake::Bulk::with_held_keys`,
//! which builds them at once should another connection write during the import; every other
//! writer of registrations builds the submission index before it writes, since that index is a
//! rule, `registration::ensure_write_rules`). Its other lookup (a lead's registrations)
//! uses an index that stays. The definitions are
//! kept by `store::deferred_indexes` in the transaction that drops them, so an import killed half
//! way leaves a file that rebuilds them when it is next opened (`Store::open`); queries are
//! correct without them, only slower, while the import runs. The import holds the database's
//! `LoadLock` meanwhile, so a store opened elsewhere, or a pull ending, leaves them to its end.
//!
//! The leads' full-text index is set aside the same way (`deferred_indexes::defer_search`):
//! entries written one lead at a time cost more than the lead row and its B-tree indexes
//! (tokenising, and FTS5 merging its segments again and again), while one rebuild at the end
//! writes each term's list once. Until the import ends, a search misses the leads it has
//! created so far (leads from before, and merges into them, are found as always).

use crate::error::{CoreError, Result};
use crate::people::registration;
use crate::store::deferred_indexes::{
    defer_search, drop_recording, immediate, search_deferred, LoadLock, PENDING,
};
use crate::store::settings::get_setting;
use rusqlite::Connection;

/// Indexes no query of the import reads: the `new`, `due` and open-leads queue orders.
pub const DEFERRED: &[&str] = &["lead_new_queue", "lead_open_queue", "lead_due_queue"];

/// Bytes per row assumed when estimating a file's rows from its size: more than the rows of
/// form exports take (about 370), so the estimate errs on the side of fewer rows.
const BYTES_PER_ROW: u64 = 512;

/// Files estimated below this many rows keep every index: their writes fit the page cache
/// anyway, and other connections' queue reads keep their indexes.
const MIN_ROWS: u64 = 5_000;

/// Rows per transaction of a large import that kept the default batch size. Each commit writes
/// every page the batch dirtied into the WAL (and the checkpoint into the file again); the
/// email, phone and submission-id indexes take each row on a random page, so at a million leads a
/// 5,000-row batch dirtied about as many pages as it has rows. Larger batches touch each such
/// page once for more rows. Measured in docs/BENCHMARKS.md (issue 14, brief I).
pub const LARGE_BATCH_SIZE: usize = 16_000;

/// The page cache of a large import, in KiB: it holds a large batch's dirty pages without
/// spilling them into the WAL mid-transaction, and keeps the peak memory under 200 MB beside
/// `Bulk`'s leads by email and phone (31 MiB at a million rows; 96 MiB before they took the
/// room, when the two indexes were written at random places).
pub const LARGE_CACHE_KIB: i64 = 72 * 1024;

/// The page cache while the set-aside indexes of a large `lead` table are built, in KiB (the
/// sort's memory).
const REBUILD_CACHE_KIB: i64 = 16 * 1024;

/// Bytes per lead assumed when estimating the `lead` table's size from its largest rowid: more
/// than a form export's lead takes (315 at 100,000 rows), and rowids freed by deletes only add to
/// the estimate, so it errs on the side of the small cache.
const LEAD_BYTES_PER_ROW: i64 = 512;

/// The page cache while the set-aside indexes are built, in KiB. The full-text rebuild and each
/// `CREATE INDEX` scan the whole `lead` table: through `REBUILD_CACHE_KIB` every scan read each
/// page from the file again (and in an encrypted replica decrypted it, about 4 µs a page —
/// 29,571 pages at 100,000 leads). When the table fits the import's own cache beside the sort,
/// that cache stays and the scans after the first (which finds most pages the import left there)
/// read none (1,789). A million leads take about 300 MiB, so there the cache, and the import's
/// peak memory, stay as they were.
fn rebuild_cache_kib(conn: &Connection) -> Result<i64> {
    let rows: i64 = conn.query_row("SELECT coalesce(max(rowid), 0) FROM lead", [], |r| r.get(0))?;
    let fits =
        rows.saturating_mul(LEAD_BYTES_PER_ROW) <= (LARGE_CACHE_KIB - REBUILD_CACHE_KIB) * 1024;
    Ok(if fits {
        LARGE_CACHE_KIB
    } else {
        REBUILD_CACHE_KIB
    })
}

/// The rows per transaction: `LARGE_BATCH_SIZE` for a large import asked for the default
/// (`requested` smaller or larger than the default is the caller's choice and stays).
pub fn batch_size(large: bool, requested: usize) -> usize {
    if large && requested == super::DEFAULT_BATCH_SIZE {
        LARGE_BATCH_SIZE
    } else {
        requested
    }
}

/// WAL pages after which a large import's commit checkpoints: 256 MiB of 4 KiB pages, where a
/// small import checkpoints after 32 MiB. Every checkpoint copies each page the batches since the
/// last one rewrote (index interiors, the tails of the tables), so fewer checkpoints copy the
/// same pages fewer times: at a million rows 4.06 GB written instead of 4.66 (docs/BENCHMARKS.md).
/// The WAL is truncated at the import's end (`Tuned::restore`), so the file does not stay that
/// large.
pub const LARGE_CHECKPOINT_PAGES: i64 = 64 * 1024;

/// WAL pages after which the import's commits checkpoint.
pub fn checkpoint_pages(large: bool) -> i64 {
    if large {
        LARGE_CHECKPOINT_PAGES
    } else {
        super::IMPORT_CHECKPOINT_PAGES
    }
}

/// The import's page cache in KiB.
pub fn cache_kib(large: bool) -> i64 {
    if large {
        LARGE_CACHE_KIB
    } else {
        super::IMPORT_CACHE_KIB
    }
}

/// The rows a file of `total_bytes` is estimated to hold (fewer than it likely does).
pub fn estimated_rows(total_bytes: u64) -> u64 {
    total_bytes / BYTES_PER_ROW
}

/// Whether an import of `total_bytes` is large for this replica: an estimated row count of at
/// least `MIN_ROWS` and at least the leads the replica holds.
fn is_large(conn: &Connection, total_bytes: u64) -> Result<bool> {
    let rows = estimated_rows(total_bytes);
    if rows < MIN_ROWS {
        return Ok(false);
    }
    let leads: u64 = conn.query_row("SELECT count(*) FROM lead", [], |r| r.get(0))?;
    Ok(leads <= rows)
}

/// Drops the deferred indexes (and, while no intake rule exists, the intake-rule trigger) for a
/// large import and sets the leads' full-text index aside
/// (new leads go in without their entries; the end rebuilds the whole index from the table in
/// rowid order), unless another bulk load (a first sync) has indexes or the full-text entries
/// set aside already. Returns the load's lock when it did: other connections leave what it set
/// aside to `finish`.
pub fn begin(conn: &Connection, total_bytes: u64) -> Result<Option<LoadLock>> {
    if !is_large(conn, total_bytes)? {
        return Ok(None);
    }
    let Some(lock) = LoadLock::take(conn)? else {
        return Ok(None);
    };
    let tx = immediate(conn)?;
    if get_setting(&tx, PENDING)?.is_some() || search_deferred(&tx)? {
        return Ok(None);
    }
    let mut set_aside = [DEFERRED, crate::intake::LOOKUP_INDEXES].concat();
    if !any_intake_rule(&tx)? {
        set_aside.push(registration::RULE_TRIGGER);
    }
    drop_recording(&tx, &set_aside)?;
    defer_search(&tx, &[crate::people::leads::rebuild_search()])?;
    tx.commit()?;
    Ok(Some(lock))
}

/// Whether a cadence has an intake rule. Without one the intake-rule trigger enrols nobody, yet
/// its presence alone made every registration's insert keep a statement journal (a trigger
/// makes the insert a multi-row write that may abort), about 1.3 s of a million-row import; a
/// rule can only appear by another connection's commit, after which `Bulk::begin` builds the
/// trigger again before the import's next row, so every registration meets the rules that
/// existed when it was recorded, as it would with the trigger in place.
fn any_intake_rule(conn: &Connection) -> Result<bool> {
    Ok(
        conn.query_row("SELECT EXISTS (SELECT 1 FROM cadence_rule)", [], |r| {
            r.get(0)
        })?,
    )
}

/// Builds the indexes `begin` dropped. A write lock held by another connection past the busy
/// timeout leaves them to the next `Store::open` (the lock goes with `load`): the import itself
/// has committed.
pub fn finish(conn: &Connection, load: LoadLock) -> Result<()> {
    // `CREATE INDEX` sorts in memory up to the page cache's size before it spills to temporary
    // files: with the import's cache that sort alone took the peak from 130 to 168 MiB at a
    // million leads, hence the small cache for a large table. The caller restores the
    // connection's cache afterwards.
    conn.pragma_update(None, "cache_size", -rebuild_cache_kib(conn)?)?;
    // One helper thread for `CREATE INDEX`'s sort: it sorts and writes each full run while the
    // scan fills the next. The import's reader thread has ended by now, so the second core is
    // free; in the shell the email and submission indexes of a million rows took 25 % less.
    conn.pragma_update(None, "threads", 1)?;
    let done = load.finish(conn);
    conn.pragma_update(None, "threads", 0)?;
    match done {
        Err(CoreError::Storage(rusqlite::Error::SqliteFailure(e, _)))
            if e.code == rusqlite::ErrorCode::DatabaseBusy =>
        {
            Ok(())
        }
        other => other.map(|_| ()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rebuild_keeps_the_import_cache_only_while_the_lead_table_fits_beside_the_sort() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE lead (name TEXT)").unwrap();
        assert_eq!(rebuild_cache_kib(&conn).unwrap(), LARGE_CACHE_KIB);
        let fits = (LARGE_CACHE_KIB - REBUILD_CACHE_KIB) * 1024 / LEAD_BYTES_PER_ROW;
        let insert = |rowid: i64| {
            conn.execute("INSERT INTO lead (rowid, name) VALUES (?1, 'x')", [rowid])
                .unwrap();
        };
        insert(fits);
        assert_eq!(rebuild_cache_kib(&conn).unwrap(), LARGE_CACHE_KIB);
        insert(fits + 1);
        assert_eq!(rebuild_cache_kib(&conn).unwrap(), REBUILD_CACHE_KIB);
        // A million leads (the import's peak-memory bound is measured there) build through
        // the small cache.
        insert(1_000_000);
        assert_eq!(rebuild_cache_kib(&conn).unwrap(), REBUILD_CACHE_KIB);
    }
}
