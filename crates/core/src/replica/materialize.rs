//! Turning outbox references into operations at push time, and settling the server's answers.
//!
//! The outbox holds references, not values: an operation is built from the row as it is *now*,
//! so an erasure that happens before the push leaves no personal information in what is pushed.
//!
//! One outbox entry may become several operations (a new lead sends all six field groups; a
//! handled request sends the request and its handling). Each operation gets its own wire
//! sequence `outbox seq × PARTS + part`, so the server's idempotency key (replica id, sequence)
//! stays unique per operation and the order of entries is kept.

use crate::clock::to_text;
use crate::error::Result;
use crate::leads::{self, parse_time};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};
use switchboard_protocol::{
    AuditEntry, ConsentEvent, FieldGroup, FollowUp, LeadErased, LeadFields, LeadFieldsSet,
    LeadStatus, Op, PushResult, PushStatus, Registration, RequestHandled, RequestStatus,
    SubscriberRequest,
};

/// The outbox entities this protocol version replicates, as an SQL list. Others stay queued
/// for a later version instead of being dropped.
pub const REPLICATED: &str = "'lead_fields', 'registration', 'follow_up', 'consent_event', \
    'subscriber_request', 'audit', 'erasure', 'disclosure'";

/// Outbox entries waiting to be pushed.
pub fn pending_count(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row(
        &format!("SELECT count(*) FROM outbox WHERE entity IN ({REPLICATED})"),
        [],
        |r| r.get(0),
    )?)
}

/// How many wire sequences one outbox entry owns.
pub const PARTS: i64 = 8;

/// The outbox entry a wire sequence belongs to.
pub fn entry_of(wire_seq: i64) -> i64 {
    wire_seq.div_euclid(PARTS)
}

/// Operations for up to `limit` outbox entries, oldest first, as (wire sequence, operation).
/// Entries whose row no longer exists (purged before the push) yield nothing; `ack` with an
/// empty answer for them is not needed because `pending_ops` drops them at once.
pub fn pending_ops(conn: &Connection, limit: usize) -> Result<Vec<(i64, Op)>> {
    let entries: Vec<(i64, String, String, Option<String>)> = conn
        .prepare_cached(&format!(
            "SELECT seq, entity, entity_id, detail FROM outbox WHERE entity IN ({REPLICATED})
             ORDER BY seq LIMIT ?1"
        ))?
        .query_map([limit as i64], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut ops = Vec::new();
    let mut vanished = Vec::new();
    for (seq, entity, id, detail) in entries {
        let built = build(conn, &entity, &id, detail.as_deref())?;
        if built.is_empty() {
            vanished.push(seq);
        }
        for (part, op) in built.into_iter().enumerate() {
            ops.push((seq * PARTS + part as i64, op));
        }
    }
    // Nothing left to say about these (their row was purged): they leave the queue.
    for seq in vanished {
        conn.prepare_cached("DELETE FROM outbox WHERE seq = ?1")?
            .execute([seq])?;
    }
    Ok(ops)
}

/// Settles the server's answers: every answered entry leaves the outbox; rejected operations are
/// kept in `sync_rejected` (kind, ids, reason — no personal information) for `status` to show.
pub fn ack(
    conn: &Connection,
    pushed: &[(i64, Op)],
    results: &[PushResult],
    at: DateTime<Utc>,
) -> Result<AckSummary> {
    let mut summary = AckSummary::default();
    for result in results {
        match result.status {
            PushStatus::Applied => summary.applied += 1,
            PushStatus::Duplicate => summary.duplicate += 1,
            PushStatus::Rejected => {
                summary.rejected += 1;
                let op = pushed
                    .iter()
                    .find(|(s, _)| *s == result.seq)
                    .map(|(_, o)| o);
                conn.prepare_cached(
                    "INSERT INTO sync_rejected(seq, op_kind, entity_id, lead_id, code, reason, at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                     ON CONFLICT(seq) DO UPDATE SET code = excluded.code, reason = excluded.reason",
                )?
                .execute(params![
                    result.seq,
                    op.map(|o| o.kind()).unwrap_or("unknown"),
                    op.and_then(entity_id),
                    op.and_then(|o| o.lead_id()),
                    result.code,
                    result.reason.as_deref().unwrap_or("rejected by the server"),
                    to_text(at),
                ])?;
            }
        }
        conn.prepare_cached("DELETE FROM outbox WHERE seq = ?1")?
            .execute([entry_of(result.seq)])?;
    }
    Ok(summary)
}

/// Counts of the server's answers to a push.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AckSummary {
    pub applied: u64,
    pub duplicate: u64,
    pub rejected: u64,
}

/// The id of the record an operation carries (not personal information: a UUID).
fn entity_id(op: &Op) -> Option<&str> {
    Some(match op {
        Op::LeadFieldsSet(o) => &o.lead_id,
        Op::RegistrationAdded(r) => &r.id,
        Op::FollowUpLogged(f) => &f.id,
        Op::ConsentRecorded(c) => &c.id,
        Op::RequestOpened(r) => &r.id,
        Op::RequestHandled(r) => &r.id,
        Op::AuditRecorded(a) => &a.id,
        Op::LeadErased(e) => &e.lead_id,
        Op::LeadRevoked(r) => &r.lead_id,
        Op::PartnerRegistered(p) => &p.id,
        Op::DisclosureRecorded(d) => &d.id,
    })
}

fn build(conn: &Connection, entity: &str, id: &str, detail: Option<&str>) -> Result<Vec<Op>> {
    Ok(match entity {
        "lead_fields" => lead_fields(conn, id, detail.unwrap_or("*"))?,
        "registration" => registration(conn, id)?
            .map(Op::RegistrationAdded)
            .into_iter()
            .collect(),
        "follow_up" => follow_up(conn, id)?
            .map(Op::FollowUpLogged)
            .into_iter()
            .collect(),
        "consent_event" => consent_event(conn, id)?
            .map(Op::ConsentRecorded)
            .into_iter()
            .collect(),
        "subscriber_request" => match subscriber_request(conn, id)? {
            Some(request) if request.status != RequestStatus::Open => {
                let handled = RequestHandled {
                    id: request.id.clone(),
                    lead_id: request.lead_id.clone(),
                    status: request.status,
                    handled_by: request.handled_by.clone().unwrap_or_default(),
                    handled_at: request.handled_at.unwrap_or(request.received_at),
                    detail: request.detail.clone(),
                };
                vec![Op::RequestOpened(request), Op::RequestHandled(handled)]
            }
            Some(request) => vec![Op::RequestOpened(request)],
            None => vec![],
        },
        "audit" => audit(conn, id)?
            .map(Op::AuditRecorded)
            .into_iter()
            .collect(),
        "erasure" => erasure(conn, id)?.map(Op::LeadErased).into_iter().collect(),
        "disclosure" => crate::disclosure::get(conn, id)?
            .map(Op::DisclosureRecorded)
            .into_iter()
            .collect(),
        // Not selected by `pending_ops`; nothing to send.
        _ => vec![],
    })
}

fn lead_fields(conn: &Connection, lead_id: &str, detail: &str) -> Result<Vec<Op>> {
    let lead = match leads::get(conn, lead_id) {
        Ok(lead) => lead,
        Err(crate::CoreError::NotFound(_)) => return Ok(vec![]),
        Err(e) => return Err(e),
    };
    let groups: Vec<FieldGroup> = if detail == "*" {
        FieldGroup::ALL.to_vec()
    } else {
        FieldGroup::parse(detail).into_iter().collect()
    };
    let mut ops = Vec::new();
    for group in groups {
        let fields = LeadFields::of(&lead, group);
        // An erased lead's personal groups are empty now; the erasure entry says the rest.
        if lead.status == LeadStatus::Erased && fields.is_personal() {
            continue;
        }
        let hlc: String = conn.query_row(
            &format!("SELECT clock_{} FROM lead WHERE id = ?1", group.as_str()),
            [lead_id],
            |r| r.get(0),
        )?;
        ops.push(Op::LeadFieldsSet(LeadFieldsSet {
            lead_id: lead_id.to_string(),
            fields,
            hlc,
            created_at: lead.created_at,
        }));
    }
    Ok(ops)
}

fn text_time(row: &Row<'_>, index: usize) -> rusqlite::Result<DateTime<Utc>> {
    Ok(parse_time(row.get(index)?).unwrap_or_default())
}

fn parsed<T: std::str::FromStr>(row: &Row<'_>, index: usize) -> rusqlite::Result<T> {
    let text: String = row.get(index)?;
    text.parse().map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(
            index,
            rusqlite::types::Type::Text,
            format!("unexpected value '{text}'").into(),
        )
    })
}

/// Reads one registration as it is stored now.
pub fn registration(conn: &Connection, id: &str) -> Result<Option<Registration>> {
    Ok(conn
        .prepare_cached(
            "SELECT id, lead_id, submission_id, kind, product, submitted_at, name, company, email,
                    phone, address, country, ip, user_agent, referrer, pages_visited, form_version
             FROM registration WHERE id = ?1",
        )?
        .query_row([id], |r| {
            let pages: String = r.get(15)?;
            Ok(Registration {
                id: r.get(0)?,
                lead_id: r.get(1)?,
                submission_id: r.get(2)?,
                kind: parsed(r, 3)?,
                product: r.get(4)?,
                submitted_at: text_time(r, 5)?,
                name: r.get(6)?,
                company: r.get(7)?,
                email: r.get(8)?,
                phone: r.get(9)?,
                address: r.get(10)?,
                country: r.get(11)?,
                ip: r.get(12)?,
                user_agent: r.get(13)?,
                referrer: r.get(14)?,
                pages_visited: serde_json::from_str(&pages).unwrap_or_default(),
                form_version: r.get(16)?,
            })
        })
        .optional()?)
}

/// Reads one follow-up.
pub fn follow_up(conn: &Connection, id: &str) -> Result<Option<FollowUp>> {
    Ok(conn
        .prepare_cached(
            "SELECT id, lead_id, channel, direction, outcome, note, occurred_at, rep,
                    next_follow_up_at
             FROM follow_up WHERE id = ?1",
        )?
        .query_row([id], |r| {
            Ok(FollowUp {
                id: r.get(0)?,
                lead_id: r.get(1)?,
                channel: parsed(r, 2)?,
                direction: parsed(r, 3)?,
                outcome: parsed(r, 4)?,
                note: r.get(5)?,
                occurred_at: text_time(r, 6)?,
                rep: r.get(7)?,
                next_follow_up_at: parse_time(r.get(8)?),
            })
        })
        .optional()?)
}

/// Reads one consent event.
pub fn consent_event(conn: &Connection, id: &str) -> Result<Option<ConsentEvent>> {
    Ok(conn
        .prepare_cached(
            "SELECT id, lead_id, scope, action, source, evidence, occurred_at, supersedes,
                    recorded_by
             FROM consent_event WHERE id = ?1",
        )?
        .query_row([id], |r| {
            Ok(ConsentEvent {
                id: r.get(0)?,
                lead_id: r.get(1)?,
                scope: parsed(r, 2)?,
                action: parsed(r, 3)?,
                source: r.get(4)?,
                evidence: r.get(5)?,
                occurred_at: text_time(r, 6)?,
                supersedes: r.get(7)?,
                recorded_by: r.get(8)?,
            })
        })
        .optional()?)
}

/// Reads one subscriber request.
pub fn subscriber_request(conn: &Connection, id: &str) -> Result<Option<SubscriberRequest>> {
    Ok(conn
        .prepare_cached(
            "SELECT id, lead_id, kind, received_at, due_at, status, detail, handled_by, handled_at
             FROM subscriber_request WHERE id = ?1",
        )?
        .query_row([id], |r| {
            Ok(SubscriberRequest {
                id: r.get(0)?,
                lead_id: r.get(1)?,
                kind: parsed(r, 2)?,
                received_at: text_time(r, 3)?,
                due_at: text_time(r, 4)?,
                status: parsed(r, 5)?,
                detail: r.get(6)?,
                handled_by: r.get(7)?,
                handled_at: parse_time(r.get(8)?),
            })
        })
        .optional()?)
}

/// Reads one audit entry.
pub fn audit(conn: &Connection, id: &str) -> Result<Option<AuditEntry>> {
    Ok(conn
        .prepare_cached(
            "SELECT id, at, actor, lead_id, action, field, old_value, new_value
             FROM audit WHERE id = ?1",
        )?
        .query_row([id], |r| {
            Ok(AuditEntry {
                id: r.get(0)?,
                at: text_time(r, 1)?,
                actor: r.get(2)?,
                lead_id: r.get(3)?,
                action: r.get(4)?,
                field: r.get(5)?,
                old_value: r.get(6)?,
                new_value: r.get(7)?,
            })
        })
        .optional()?)
}

fn erasure(conn: &Connection, lead_id: &str) -> Result<Option<LeadErased>> {
    // Built from the PII-free `erasure` row the erase module keeps: who, when, and the keyed
    // hashes of the addresses, never the addresses themselves.
    crate::erase::recorded(conn, lead_id)
}
