//! Leases: which rep holds which lead, until when. They live in `lead_lease` (migration 0014),
//! a table of the claims only, so a commit that deals a rep a hand dirties a page or two of it
//! rather than a page per lead row (on an encrypted replica each written page is encrypted and
//! MACed). Leases coordinate reps sharing one database file, not laptops: they never sync.

use crate::clock::to_text;
use crate::error::Result;
use chrono::{DateTime, Utc};
use rusqlite::{params, params_from_iter, Connection};

/// Leases a lead to `rep` until `until` unless another rep's lease still holds at `at`. One
/// statement, so two connections claiming at once cannot both win.
pub fn take(
    conn: &Connection,
    lead_id: &str,
    rep: &str,
    at: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<bool> {
    let changed = conn
        .prepare_cached(
            "INSERT INTO lead_lease(lead_id, owner, until) VALUES (?1, ?2, ?3)
             ON CONFLICT(lead_id) DO UPDATE SET owner = excluded.owner, until = excluded.until
             WHERE lead_lease.until <= ?4 OR lead_lease.owner = excluded.owner",
        )?
        .execute(params![lead_id, rep, to_text(until), to_text(at)])?;
    Ok(changed == 1)
}

/// Ends `rep`'s lease of a lead; another holder's lease stays.
pub fn end(conn: &Connection, lead_id: &str, rep: &str) -> Result<bool> {
    let changed = conn
        .prepare_cached("DELETE FROM lead_lease WHERE lead_id = ?1 AND owner = ?2")?
        .execute(params![lead_id, rep])?;
    Ok(changed == 1)
}

/// Ends every lease `rep` holds except on the leads in `keep`, and every lease of anyone that
/// ended by `at` (so the table keeps only live claims and stays a page or two).
pub fn end_others(conn: &Connection, rep: &str, keep: &[&str], at: DateTime<Utc>) -> Result<usize> {
    let kept = if keep.is_empty() {
        String::new()
    } else {
        format!(" AND lead_id NOT IN ({})", vec!["?"; keep.len()].join(", "))
    };
    let sql = format!("DELETE FROM lead_lease WHERE until <= ? OR (owner = ?{kept})");
    let at = to_text(at);
    let params = [at.as_str(), rep].into_iter().chain(keep.iter().copied());
    Ok(conn
        .prepare_cached(&sql)?
        .execute(params_from_iter(params))?)
}
