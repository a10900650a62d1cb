//! The audit log: who changed what, when, old → new. Managers read it; erasure purges its values.

use crate::clock::{new_id, to_text};
use crate::error::Result;
use crate::store::outbox::{self, Entity};
use crate::time::parse_time;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};
use switchboard_protocol::AuditEntry;

/// One change to record.
#[derive(Debug, Clone, Default)]
pub struct Change<'a> {
    pub lead_id: Option<&'a str>,
    pub action: &'a str,
    pub field: Option<&'a str>,
    pub old_value: Option<&'a str>,
    pub new_value: Option<&'a str>,
}

/// Appends an audit entry (and queues it for sync) inside the caller's transaction.
pub fn record(
    conn: &Connection,
    actor: &str,
    at: DateTime<Utc>,
    change: Change<'_>,
) -> Result<String> {
    let id = new_id(at);
    insert(conn, &id, at, actor, &change)?;
    outbox::enqueue(conn, Entity::Audit, &id, None)?;
    Ok(id)
}

/// Inserts an entry unless it is there; returns whether it was new.
fn insert(
    conn: &Connection,
    id: &str,
    at: DateTime<Utc>,
    actor: &str,
    change: &Change<'_>,
) -> Result<bool> {
    Ok(conn
        .prepare_cached(
            "INSERT INTO audit(id, at, actor, lead_id, action, field, old_value, new_value)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT(id) DO NOTHING",
        )?
        .execute(params![
            id,
            to_text(at),
            actor,
            change.lead_id,
            change.action,
            change.field,
            change.old_value,
            change.new_value
        ])?
        > 0)
}

/// Stores an entry recorded elsewhere (sync pull); not queued for push. `redact` (the person it
/// names was erased here: `leads::is_erased`, which the audit log sits below) leaves its old and
/// new values out. Returns whether it was new.
pub fn apply_remote(conn: &Connection, a: &AuditEntry, redact: bool) -> Result<bool> {
    let change = Change {
        lead_id: a.lead_id.as_deref(),
        action: &a.action,
        field: a.field.as_deref(),
        old_value: a.old_value.as_deref().filter(|_| !redact),
        new_value: a.new_value.as_deref().filter(|_| !redact),
    };
    insert(conn, &a.id, a.at, &a.actor, &change)
}

/// Columns `from_row` reads, in order.
const COLUMNS: &str = "id, at, actor, lead_id, action, field, old_value, new_value";

/// Maps a row of `COLUMNS`.
fn from_row(r: &Row<'_>) -> rusqlite::Result<AuditEntry> {
    Ok(AuditEntry {
        id: r.get(0)?,
        at: parse_time(r.get(1)?).unwrap_or_default(),
        actor: r.get(2)?,
        lead_id: r.get(3)?,
        action: r.get(4)?,
        field: r.get(5)?,
        old_value: r.get(6)?,
        new_value: r.get(7)?,
    })
}

/// The entry with this id, if it is here.
pub fn find(conn: &Connection, id: &str) -> Result<Option<AuditEntry>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM audit WHERE id = ?1"))?
        .query_row([id], from_row)
        .optional()?)
}

/// Every entry about a lead, oldest first.
pub fn for_lead(conn: &Connection, lead_id: &str) -> Result<Vec<AuditEntry>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM audit WHERE lead_id = ?1 ORDER BY at, id"
    ))?;
    let rows = stmt.query_map([lead_id], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Removes the old and new values of the entries about an erased lead. Returns how many held
/// a value.
pub fn purge_values(conn: &Connection, lead_id: &str) -> Result<usize> {
    Ok(conn
        .prepare_cached(
            "UPDATE audit SET old_value = NULL, new_value = NULL
             WHERE lead_id = ?1 AND (old_value IS NOT NULL OR new_value IS NOT NULL)",
        )?
        .execute([lead_id])?)
}

/// Removes the values of entries about other leads or none (imports, merges) that quote
/// `spelling` (lower case) of an erased person's address. Returns how many.
pub fn purge_quoting(conn: &Connection, lead_id: &str, spelling: &str) -> Result<usize> {
    Ok(conn
        .prepare_cached(
            "UPDATE audit SET old_value = NULL, new_value = NULL
             WHERE (lead_id IS NULL OR lead_id <> ?1)
               AND (instr(lower(old_value), ?2) > 0 OR instr(lower(new_value), ?2) > 0)",
        )?
        .execute(params![lead_id, spelling])?)
}
