//! The queue of local writes waiting to be pushed to the central store.

use crate::error::Result;
use rusqlite::Connection;

/// What kind of row an outbox entry points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    /// A lead field group; `detail` names the group.
    LeadFields,
    Registration,
    FollowUp,
    ConsentEvent,
    SubscriberRequest,
    Audit,
    /// An erasure; the pushed operation carries only the suppression hashes.
    Erasure,
    /// A disclosure to a partner (append-only; field names, never values).
    Disclosure,
    /// One version of a cadence; `detail` is the version.
    Cadence,
    /// A cadence's intake rule.
    CadenceRule,
    /// An enrolment's state (queued by the triggers of migration 0013).
    CadenceEnrollment,
}

impl Entity {
    /// The stable name stored in the outbox.
    pub fn as_str(self) -> &'static str {
        match self {
            Entity::LeadFields => "lead_fields",
            Entity::Registration => "registration",
            Entity::FollowUp => "follow_up",
            Entity::ConsentEvent => "consent_event",
            Entity::SubscriberRequest => "subscriber_request",
            Entity::Audit => "audit",
            Entity::Erasure => "erasure",
            Entity::Disclosure => "disclosure",
            Entity::Cadence => "cadence",
            Entity::CadenceRule => "cadence_rule",
            Entity::CadenceEnrollment => "cadence_enrollment",
        }
    }
}

/// The condition of the `outbox_by_entity` index (migration 0016): a query that looks entries
/// up by entity and id must repeat it word for word, or SQLite scans the whole queue.
pub const INDEXED: &str = "entity <> 'registration'";

/// Enqueues every enrolment marked `unsent` (migration 0013), oldest first; the caller
/// (`cadence::enrollment::queue_unsent`) clears the marks in the same transaction.
pub fn enqueue_unsent_enrollments(conn: &Connection) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO outbox(entity, entity_id)
         SELECT 'cadence_enrollment', id FROM cadence_enrollment WHERE unsent = 1 ORDER BY rowid",
    )?
    .execute([])?;
    Ok(())
}

/// Enqueues a reference to a row written in the same transaction as `conn`'s current one.
pub fn enqueue(
    conn: &Connection,
    entity: Entity,
    entity_id: &str,
    detail: Option<&str>,
) -> Result<()> {
    conn.prepare_cached("INSERT INTO outbox(entity, entity_id, detail) VALUES (?1, ?2, ?3)")?
        .execute(rusqlite::params![entity.as_str(), entity_id, detail])?;
    Ok(())
}

/// How many writes wait to be pushed.
pub fn pending(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("SELECT count(*) FROM outbox", [], |r| r.get(0))?)
}

/// Whether a local edit of the lead's field `group` (or the whole new lead) waits to be pushed.
pub fn has_pending_group(conn: &Connection, lead_id: &str, group: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT 1 FROM outbox WHERE entity = 'lead_fields' AND entity_id = ?1
             AND (detail = ?2 OR detail = '*') AND {INDEXED}"
        ))?
        .exists(rusqlite::params![lead_id, group])?)
}

/// Drops an entry: it was pushed and answered, or there is nothing left of it to push.
pub fn remove(conn: &Connection, seq: i64) -> Result<()> {
    conn.prepare_cached("DELETE FROM outbox WHERE seq = ?1")?
        .execute([seq])?;
    Ok(())
}

/// Drops the queued pushes of a lead's fields and erasure (the lead left this replica).
pub fn drop_for_lead(conn: &Connection, lead_id: &str) -> Result<()> {
    conn.prepare_cached(&format!(
        "DELETE FROM outbox WHERE entity IN ('lead_fields', 'erasure') AND entity_id = ?1
         AND {INDEXED}"
    ))?
    .execute([lead_id])?;
    Ok(())
}
