//! The change log replicas pull: operations in commit order, bucketed by office.

use crate::accounts::Actor;
use crate::error::{Result, ServerError};
use crate::leads::{LeadRow, ZERO_CLOCK};
use crate::store::{col_int, col_text, Tx};
use switchboard_protocol::*;

/// Bucket every replica pulls (erasures, so every suppression list learns the hashes).
pub const GLOBAL: &str = "*";

/// Bucket of leads without an office: only admins pull it.
pub const UNASSIGNED: &str = "";

/// The bucket of a lead in `office`.
pub fn bucket_of(office: Option<&str>) -> &str {
    office.unwrap_or(UNASSIGNED)
}

/// Appends `op` to `bucket`; returns its server sequence number.
pub fn emit(tx: &mut dyn Tx, bucket: &str, op: &Op) -> Result<i64> {
    let seq = tx.next_seq()?;
    let json = serde_json::to_string(op)?;
    tx.exec(
        "INSERT INTO change_log (server_seq, bucket, lead_id, op) VALUES (?1, ?2, ?3, ?4)",
        &[seq.into(), bucket.into(), op.lead_id().into(), json.into()],
    )?;
    Ok(seq)
}

/// The changes after `after` that `actor` may see, at most `limit`.
pub fn page(tx: &mut dyn Tx, actor: &Actor, after: i64, limit: u32) -> Result<ChangesPage> {
    let limit = limit.clamp(1, MAX_PAGE) as i64;
    let rows = if actor.is_admin() {
        tx.query(
            "SELECT server_seq, op FROM change_log WHERE server_seq > ?1 \
             ORDER BY server_seq LIMIT ?2",
            &[after.into(), (limit + 1).into()],
        )?
    } else {
        // A non-admin without an office sees only the global bucket.
        let own = actor.office.clone().unwrap_or_else(|| GLOBAL.to_string());
        tx.query(
            "SELECT server_seq, op FROM change_log WHERE server_seq > ?1 \
             AND bucket IN (?2, '*') ORDER BY server_seq LIMIT ?3",
            &[after.into(), own.into(), (limit + 1).into()],
        )?
    };
    let has_more = rows.len() as i64 > limit;
    let mut changes = Vec::with_capacity(rows.len());
    for row in rows.iter().take(limit as usize) {
        let server_seq =
            col_int(row, 0).ok_or_else(|| ServerError::Internal("bad change row".into()))?;
        let op: Op = serde_json::from_str(&col_text(row, 1).unwrap_or_default())?;
        changes.push(Change { server_seq, op });
    }
    let next_cursor = changes.last().map(|c| c.server_seq).unwrap_or(after);
    Ok(ChangesPage {
        changes,
        next_cursor,
        has_more,
    })
}

/// The operation that recreates a stored record.
pub fn record_op(kind: &str, body: &str) -> Result<Op> {
    Ok(match kind {
        "registration" => Op::RegistrationAdded(serde_json::from_str(body)?),
        "follow_up" => Op::FollowUpLogged(serde_json::from_str(body)?),
        "consent_event" => Op::ConsentRecorded(serde_json::from_str(body)?),
        "subscriber_request" => Op::RequestOpened(serde_json::from_str(body)?),
        "audit" => Op::AuditRecorded(serde_json::from_str(body)?),
        "disclosure" => Op::DisclosureRecorded(serde_json::from_str(body)?),
        "partner" => Op::PartnerRegistered(serde_json::from_str(body)?),
        other => {
            return Err(ServerError::Internal(format!(
                "unknown record kind {other}"
            )))
        }
    })
}

/// Appends a lead's whole state (field groups, then records) to `bucket`: what a replica of an
/// office needs when a lead moves in.
pub fn emit_snapshot(tx: &mut dyn Tx, lead: &LeadRow, bucket: &str) -> Result<()> {
    for (fields, clock) in &lead.groups {
        if clock.is_empty() && fields.group() != FieldGroup::Office {
            continue;
        }
        let hlc = if clock.is_empty() {
            ZERO_CLOCK.to_string()
        } else {
            clock.clone()
        };
        let op = Op::LeadFieldsSet(LeadFieldsSet {
            lead_id: lead.id.clone(),
            fields: fields.clone(),
            hlc,
            created_at: lead.created_at,
        });
        emit(tx, bucket, &op)?;
    }
    let records = tx.query(
        "SELECT kind, body FROM record WHERE lead_id = ?1 ORDER BY CASE kind \
         WHEN 'registration' THEN 0 WHEN 'consent_event' THEN 1 \
         WHEN 'subscriber_request' THEN 2 WHEN 'follow_up' THEN 3 ELSE 4 END, id",
        &[lead.id.as_str().into()],
    )?;
    for row in records {
        let op = record_op(
            &col_text(&row, 0).unwrap_or_default(),
            &col_text(&row, 1).unwrap_or_default(),
        )?;
        emit(tx, bucket, &op)?;
    }
    Ok(())
}

/// The newest server sequence number (0 when the log is empty).
pub fn latest(tx: &mut dyn Tx) -> Result<i64> {
    Ok(tx
        .query_opt("SELECT value FROM change_counter WHERE id = 1", &[])?
        .and_then(|r| col_int(&r, 0))
        .unwrap_or(0))
}
