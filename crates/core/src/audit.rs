//! The audit log: who changed what, when, old → new. Managers read it; erasure purges its values.

use crate::clock::{new_id, to_text};
use crate::error::Result;
use crate::outbox::{self, Entity};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection};

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
    conn.prepare_cached(
        "INSERT INTO audit(id, at, actor, lead_id, action, field, old_value, new_value)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
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
    ])?;
    outbox::enqueue(conn, Entity::Audit, &id, None)?;
    Ok(id)
}
