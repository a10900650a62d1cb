//! What `sync_bench` and `apply_bench` both measure: pulled pages applied as the sync engine
//! applies pages that arrive back to back, and the raw insert of the same rows they compare to.

use std::path::Path;
use std::time::Instant;
use switchboard_core::replica::PageBatch;
use switchboard_protocol::ChangesPage;

/// The middle value (the upper one of an even count).
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// Applies `pages` in `batch`'s transactions, committing when one is full and after the last
/// page.
pub fn apply_in_batches(mut batch: PageBatch<'_>, pages: &[ChangesPage]) {
    for page in pages {
        batch.apply(&page.changes, page.next_cursor).unwrap();
        if batch.is_full() {
            batch.commit().unwrap();
        }
    }
    batch.commit().unwrap();
}

/// The pages applied as a fresh replica's first sync does it since issue 14: the deferred
/// indexes dropped before the first page and built after the last (`replica::bulk`).
pub fn apply_in_bulk(conn: &mut rusqlite::Connection, pages: &[ChangesPage]) {
    let lock = switchboard_core::replica::bulk::begin(conn)
        .unwrap()
        .expect("a fresh replica loads in bulk");
    let start = Instant::now();
    // As the sync engine's bulk load: the wide page cache, and batches bounded by the pages they
    // add (`PageBatch::bulk`), not by their changes.
    let cache = switchboard_core::replica::bulk::widen_cache(conn).unwrap();
    apply_in_batches(PageBatch::bulk(conn), pages);
    let load = start.elapsed().as_secs_f64();
    // False when another connection built them before (a store opened during the load did so
    // before the load's lock).
    let here = lock.finish(conn).unwrap();
    switchboard_core::replica::bulk::restore_cache(conn, cache).unwrap();
    eprintln!(
        "bulk: pages applied in {load:.2}s, deferred indexes {} in {:.2}s",
        if here { "built" } else { "found built" },
        start.elapsed().as_secs_f64() - load
    );
}

/// The `lead` and `follow_up` rows of the replica file `source` inserted straight into a fresh
/// replica file, in one transaction: seconds taken and rows copied.
pub fn raw_insert(source: &Path) -> (f64, usize) {
    let dir = tempfile::tempdir().unwrap();
    let target = switchboard_core::Store::open(&dir.path().join("raw.db"), None).unwrap();
    let conn = target.conn();
    conn.execute("ATTACH DATABASE ?1 AS src", [source.to_str().unwrap()])
        .unwrap();
    let start = Instant::now();
    conn.execute_batch(
        "BEGIN;
         INSERT INTO main.lead SELECT * FROM src.lead;
         INSERT INTO main.follow_up SELECT * FROM src.follow_up;
         COMMIT;",
    )
    .unwrap();
    let secs = start.elapsed().as_secs_f64();
    let rows: i64 = conn
        .query_row(
            "SELECT (SELECT count(*) FROM main.lead) + (SELECT count(*) FROM main.follow_up)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    (secs, rows as usize)
}
