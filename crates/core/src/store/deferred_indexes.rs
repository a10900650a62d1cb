//! Secondary indexes set aside during a bulk load and built once after it (`replica::bulk`
//! decides which and when). Their definitions are kept in a setting in the transaction that
//! drops them, so a process killed half way leaves a file that knows what to rebuild, and
//! opening the store rebuilds them first (`Store::open`). Only speed depends on such indexes;
//! every query is correct without them.
//!
//! The two full-text indexes can be set aside too (`defer_search`): while `SEARCH_PENDING` is
//! set, a pull writes new leads and follow-ups without their entries (the fast path of
//! `replica::fresh`), and finishing runs the statements recorded with it, which empty both
//! indexes and fill them from the rows in rowid order. Until then a search misses the rows
//! loaded so far.

use crate::error::Result;
use crate::store::settings::{delete_setting, get_setting, set_setting};
use rusqlite::{Connection, OptionalExtension};

/// The setting that holds the dropped indexes' `CREATE INDEX` statements while a bulk load
/// runs (a JSON array of name and statement pairs).
pub const PENDING: &str = "bulk_load_indexes";

/// The setting present while the full-text indexes are set aside (`defer_search`): a JSON
/// array of the statements that rebuild them.
pub const SEARCH_PENDING: &str = "bulk_load_search";

/// Sets the full-text indexes aside until `finish_if_pending`, which runs `rebuild` (their
/// owners' statements: this layer names no table of theirs), inside the caller's transaction.
pub fn defer_search(tx: &Connection, rebuild: &[&str]) -> Result<()> {
    let text = serde_json::to_string(rebuild).expect("statements serialize");
    set_setting(tx, SEARCH_PENDING, &text)
}

/// Whether the full-text entries of pulled rows are left for `finish_if_pending` to build.
pub fn search_deferred(conn: &Connection) -> Result<bool> {
    Ok(get_setting(conn, SEARCH_PENDING)?.is_some())
}

/// A write transaction taken at once (waiting up to the busy timeout), so a writer that
/// commits between this transaction's first read and its first write cannot make it fail.
pub fn immediate(conn: &Connection) -> rusqlite::Result<rusqlite::Transaction<'_>> {
    rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)
}

/// Drops the indexes `names` that exist and records their definitions in `PENDING`, inside the
/// caller's transaction.
pub fn drop_recording(tx: &Connection, names: &[&str]) -> Result<()> {
    let mut dropped = Vec::new();
    for name in names {
        let sql: Option<String> = tx
            .query_row(
                "SELECT sql FROM sqlite_schema WHERE type = 'index' AND name = ?1",
                [name],
                |r| r.get(0),
            )
            .optional()?;
        let Some(sql) = sql else { continue };
        tx.execute_batch(&format!("DROP INDEX \"{name}\""))?;
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
    for (name, sql) in now {
        if !present(tx, &name)? {
            tx.execute_batch(&sql)?;
        }
    }
    let text = serde_json::to_string(&later).expect("index definitions serialize");
    set_setting(tx, PENDING, &text)
}

fn present(conn: &Connection, name: &str) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'index' AND name = ?1)",
        [name],
        |r| r.get(0),
    )?)
}

/// Builds the indexes a bulk load dropped, if any are still missing, and forgets them, in one
/// transaction. Returns whether there was anything to finish.
pub fn finish_if_pending(conn: &Connection) -> Result<bool> {
    let search = search_deferred(conn)?;
    let text = get_setting(conn, PENDING)?;
    if text.is_none() && !search {
        return Ok(false);
    }
    let tx = immediate(conn)?;
    // Under the write lock again: another connection may have finished meanwhile.
    if let Some(rebuild) = get_setting(&tx, SEARCH_PENDING)? {
        let statements: Vec<String> = serde_json::from_str(&rebuild).unwrap_or_default();
        for sql in statements {
            tx.execute_batch(&sql)?;
        }
        delete_setting(&tx, SEARCH_PENDING)?;
    }
    let text = get_setting(&tx, PENDING)?.unwrap_or_else(|| "[]".into());
    // A definition that does not parse is dropped with the setting: the schema's own
    // migrations are the truth, and a missing secondary index costs speed, not correctness.
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
