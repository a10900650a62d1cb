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
use crate::people::leads;
use crate::store::outbox;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, Row};
use switchboard_protocol::{
    limits, FieldGroup, LeadErased, LeadFields, LeadFieldsSet, LeadStatus, Op, PushResult,
    PushStatus, RequestHandled, RequestStatus,
};

// The record modules own these reads; the names here stay for callers outside the core.
pub use crate::compliance::consent::find as consent_event;
pub use crate::outreach::followup::find as follow_up;
pub use crate::privacy::requests::find as subscriber_request;

/// The outbox entities this protocol version replicates, as an SQL list. Others stay queued
/// for a later version instead of being dropped.
pub const REPLICATED: &str = "'lead_fields', 'registration', 'follow_up', 'consent_event', \
    'subscriber_request', 'audit', 'erasure', 'disclosure', 'cadence', 'cadence_rule', \
    'cadence_enrollment'";

/// Outbox entries waiting to be pushed, and enrolment changes not yet queued.
pub fn pending_count(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row(
        &format!(
            "SELECT (SELECT count(*) FROM outbox WHERE entity IN ({REPLICATED}))
                  + (SELECT count(*) FROM cadence_enrollment WHERE unsent = 1)"
        ),
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

/// Outbox entities pushed ahead of the rest: what people asked about their own data (opt-outs
/// and opt-ins, erasures, subscriber requests and their outcomes). A laptop with a long queue of
/// imported registrations or logged calls still delivers an opt-out with its first push.
pub const COMPLIANCE: &str = "'consent_event', 'erasure', 'subscriber_request'";

/// What one push may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    /// Serialised operations in all (the request adds a few bytes of its own).
    pub max_bytes: usize,
    /// Operations (the server takes at most `limits::MAX_PUSH_OPS` per push).
    pub max_ops: usize,
    /// Outbox entries.
    pub max_entries: usize,
    /// One serialised operation; a larger one is rejected here (`too_large`), never sent.
    pub max_op_bytes: usize,
}

impl Default for BatchLimits {
    fn default() -> Self {
        BatchLimits {
            max_bytes: limits::PUSH_BATCH_BYTES,
            max_ops: limits::MAX_PUSH_OPS,
            max_entries: usize::MAX,
            max_op_bytes: limits::MAX_OP_BYTES,
        }
    }
}

/// One push's worth of operations, and what was rejected locally on the way.
#[derive(Debug, Clone, Default)]
pub struct PendingBatch {
    /// (wire sequence, operation), compliance entries first, then the rest, each oldest first.
    pub ops: Vec<(i64, Op)>,
    /// The serialised size of `ops`.
    pub bytes: usize,
    /// Operations too large to ever be pushed, now in `sync_rejected` with code `too_large`.
    pub rejected: u64,
}

/// The code of an operation rejected locally because no push could carry it.
pub const TOO_LARGE: &str = "too_large";

/// Operations for up to `limit` outbox entries, in push order, with no size limit (tests and
/// tools; the engine uses `pending_batch`).
pub fn pending_ops(conn: &Connection, limit: usize) -> Result<Vec<(i64, Op)>> {
    let unlimited = BatchLimits {
        max_bytes: usize::MAX,
        max_ops: usize::MAX,
        max_entries: limit,
        max_op_bytes: usize::MAX,
    };
    Ok(pending_batch(conn, &unlimited, DateTime::<Utc>::UNIX_EPOCH)?.ops)
}

/// The next push: whole outbox entries, compliance first, then oldest first, until the next
/// entry would pass `limits` (the first entry always fits: an operation is at most
/// `max_op_bytes` and an entry a handful of operations). A compliance entry takes the earlier
/// field-group entries of its lead along, just ahead of it, so the lead exists on the server (in
/// its office, with its fields) before anything about it arrives. An operation larger than
/// `max_op_bytes` (older data from before the field limits) is recorded in `sync_rejected` with
/// code `too_large` at `at` and left out, so it never blocks the queue. Entries whose row no
/// longer exists (purged before the push), or whose every operation was too large, leave the
/// outbox at once.
pub fn pending_batch(
    conn: &Connection,
    limits: &BatchLimits,
    at: DateTime<Utc>,
) -> Result<PendingBatch> {
    crate::cadence::enrollment::queue_unsent(conn)?;
    // Compliance entries through the `outbox_by_entity` index; the rest in sequence order
    // (the `+` keeps SQLite from sorting the whole queue through that index).
    let queries = [
        format!(
            "SELECT seq, entity, entity_id, detail FROM outbox
             WHERE entity IN ({COMPLIANCE}) AND {} AND seq > ?1 ORDER BY seq LIMIT ?2",
            outbox::INDEXED
        ),
        format!(
            "SELECT seq, entity, entity_id, detail FROM outbox
             WHERE +entity IN ({REPLICATED}) AND +entity NOT IN ({COMPLIANCE}) AND seq > ?1
             ORDER BY seq LIMIT ?2"
        ),
    ];
    let mut batch = PendingBatch::default();
    let mut entries = 0;
    let mut taken = std::collections::HashSet::new();
    for (phase, query) in queries.iter().enumerate() {
        let mut after = 0i64;
        loop {
            let chunk: Vec<Entry> = conn
                .prepare_cached(query)?
                .query_map(params![after, 200], entry_row)?
                .collect::<rusqlite::Result<_>>()?;
            if chunk.is_empty() {
                break;
            }
            for entry in chunk {
                after = entry.0;
                if taken.contains(&entry.0) {
                    continue;
                }
                let main = Prepared::build(conn, &entry, limits)?;
                let mut group = Vec::new();
                if phase == 0 {
                    if let Some(lead) = main.lead_id() {
                        for earlier in earlier_fields(conn, &lead, entry.0)? {
                            let bytes: usize = group.iter().map(Prepared::bytes).sum();
                            if taken.contains(&earlier.0) || bytes > limits.max_bytes / 2 {
                                continue;
                            }
                            group.push(Prepared::build(conn, &earlier, limits)?);
                        }
                    }
                }
                group.push(main);
                let bytes: usize = group.iter().map(Prepared::bytes).sum();
                let ops: usize = group.iter().map(|p| p.fits.len()).sum();
                let full = !batch.ops.is_empty()
                    && (entries + group.len() > limits.max_entries
                        || batch.bytes.saturating_add(bytes) > limits.max_bytes
                        || batch.ops.len() + ops > limits.max_ops);
                if full || limits.max_entries == 0 {
                    return Ok(batch);
                }
                for prepared in group {
                    taken.insert(prepared.seq);
                    if prepared.take(conn, limits, at, &mut batch)? {
                        entries += 1;
                    }
                }
            }
        }
    }
    Ok(batch)
}

/// An outbox row: (seq, entity, entity id, detail).
type Entry = (i64, String, String, Option<String>);

fn entry_row(r: &Row<'_>) -> rusqlite::Result<Entry> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
}

/// The field-group entries of a lead queued before `seq`, oldest first.
fn earlier_fields(conn: &Connection, lead_id: &str, seq: i64) -> Result<Vec<Entry>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT seq, entity, entity_id, detail FROM outbox
             WHERE entity = 'lead_fields' AND entity_id = ?1 AND seq < ?2 AND {}
             ORDER BY seq",
            outbox::INDEXED
        ))?
        .query_map(params![lead_id, seq], entry_row)?
        .collect::<rusqlite::Result<_>>()?)
}

/// One outbox entry built into operations, sorted into those that fit a push and those that
/// never can.
struct Prepared {
    seq: i64,
    /// (wire sequence, operation, serialised size with its envelope).
    fits: Vec<(i64, Op, usize)>,
    too_large: Vec<(i64, Op, usize)>,
}

impl Prepared {
    fn build(conn: &Connection, entry: &Entry, limits: &BatchLimits) -> Result<Prepared> {
        let (seq, entity, id, detail) = entry;
        let mut prepared = Prepared {
            seq: *seq,
            fits: Vec::new(),
            too_large: Vec::new(),
        };
        for (part, op) in build(conn, entity, id, detail.as_deref())?
            .into_iter()
            .enumerate()
        {
            let wire = seq * PARTS + part as i64;
            // The operation plus its `{"seq":…,"op":…},` envelope.
            let size = json_len(&op).saturating_add(32);
            if size > limits.max_op_bytes {
                prepared.too_large.push((wire, op, size));
            } else {
                prepared.fits.push((wire, op, size));
            }
        }
        Ok(prepared)
    }

    fn bytes(&self) -> usize {
        self.fits.iter().map(|(_, _, size)| size).sum()
    }

    fn lead_id(&self) -> Option<String> {
        self.fits
            .iter()
            .chain(&self.too_large)
            .find_map(|(_, op, _)| op.lead_id().map(str::to_string))
    }

    /// Adds the entry to `batch`, records its operations that can never fit, and drops it from
    /// the outbox when nothing of it is left to send. Returns whether it joined the batch.
    fn take(
        self,
        conn: &Connection,
        limits: &BatchLimits,
        at: DateTime<Utc>,
        batch: &mut PendingBatch,
    ) -> Result<bool> {
        for (wire, op, size) in &self.too_large {
            let reason = format!(
                "{} is {size} bytes, more than the {} bytes one operation may hold \
                 (data from before the field limits): correct or erase the record",
                op.kind(),
                limits.max_op_bytes
            );
            record_rejection(conn, *wire, Some(op), Some(TOO_LARGE), &reason, at)?;
            batch.rejected += 1;
        }
        if self.fits.is_empty() {
            // Nothing left to say about it (its row was purged, or it can never fit).
            outbox::remove(conn, self.seq)?;
            return Ok(false);
        }
        batch.bytes += self.bytes();
        batch
            .ops
            .extend(self.fits.into_iter().map(|(wire, op, _)| (wire, op)));
        Ok(true)
    }
}

/// The length of an operation's JSON, counted without keeping it. An operation that cannot be
/// written as JSON could not be pushed either: it counts as endless (and is rejected).
fn json_len(op: &Op) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    match serde_json::to_writer(&mut count, op) {
        Ok(()) => count.0,
        Err(_) => usize::MAX,
    }
}

fn record_rejection(
    conn: &Connection,
    wire_seq: i64,
    op: Option<&Op>,
    code: Option<&str>,
    reason: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO sync_rejected(seq, op_kind, entity_id, lead_id, code, reason, at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT(seq) DO UPDATE SET code = excluded.code, reason = excluded.reason",
    )?
    .execute(params![
        wire_seq,
        op.map(|o| o.kind()).unwrap_or("unknown"),
        op.and_then(entity_id),
        op.and_then(|o| o.lead_id()),
        code,
        reason,
        to_text(at),
    ])?;
    Ok(())
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
                record_rejection(
                    conn,
                    result.seq,
                    op,
                    result.code.as_deref(),
                    result.reason.as_deref().unwrap_or("rejected by the server"),
                    at,
                )?;
            }
        }
        outbox::remove(conn, entry_of(result.seq))?;
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
        Op::CadenceSaved(c) => &c.cadence_id,
        Op::CadenceRuleAdded(r) => &r.id,
        Op::EnrollmentSynced(e) => &e.id,
    })
}

fn build(conn: &Connection, entity: &str, id: &str, detail: Option<&str>) -> Result<Vec<Op>> {
    Ok(match entity {
        "lead_fields" => lead_fields(conn, id, detail.unwrap_or("*"))?,
        "registration" => crate::people::registration::find(conn, id)?
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
        "audit" => crate::store::audit::find(conn, id)?
            .map(Op::AuditRecorded)
            .into_iter()
            .collect(),
        "erasure" => erasure(conn, id)?.map(Op::LeadErased).into_iter().collect(),
        "disclosure" => crate::partners::disclosure::get(conn, id)?
            .map(Op::DisclosureRecorded)
            .into_iter()
            .collect(),
        "cadence" => {
            let version = detail.and_then(|v| v.parse().ok()).unwrap_or(1);
            crate::cadence::definition::saved_op(conn, id, version)?
                .map(Op::CadenceSaved)
                .into_iter()
                .collect()
        }
        "cadence_rule" => crate::cadence::definition::rule_op(conn, id)?
            .map(Op::CadenceRuleAdded)
            .into_iter()
            .collect(),
        "cadence_enrollment" => {
            let replica_id =
                crate::store::settings::get_setting(conn, "replica_id")?.unwrap_or_default();
            let user: Option<String> =
                conn.query_row("SELECT user FROM sync_state WHERE id = 1", [], |r| r.get(0))?;
            crate::cadence::enrollment::synced_op(
                conn,
                id,
                &replica_id,
                user.as_deref().unwrap_or_default(),
            )?
            .map(Op::EnrollmentSynced)
            .into_iter()
            .collect()
        }
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
        // An erased lead's personal groups are empty now and its status is the erasure's to
        // say (the server refuses a workflow group that claims it): only the office goes, so
        // the server knows the lead before its erasure.
        if lead.status == LeadStatus::Erased && group != FieldGroup::Office {
            continue;
        }
        let hlc = leads::group_clock(conn, lead_id, group)?;
        ops.push(Op::LeadFieldsSet(LeadFieldsSet {
            lead_id: lead_id.to_string(),
            fields,
            hlc,
            created_at: lead.created_at,
        }));
    }
    Ok(ops)
}

fn erasure(conn: &Connection, lead_id: &str) -> Result<Option<LeadErased>> {
    // Built from the PII-free `erasure` row the erase module keeps: who, when, and the keyed
    // hashes of the addresses, never the addresses themselves.
    crate::privacy::erase::recorded(conn, lead_id)
}

#[cfg(test)]
mod tests;
