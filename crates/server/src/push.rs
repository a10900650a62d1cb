//! Applying pushed operations: authorization, erasure, clock merge, office moves.
//!
//! A push is applied in one write transaction, each operation together with its receipt
//! `(replica_id, seq, digest)`, so a push cut anywhere can be resent whole: what was applied
//! answers `duplicate`, and a known key with other content refuses the push (`replica_reused`).
//! Every rejection is decided before anything is written.

use crate::accounts::Actor;
use crate::changelog::{self, bucket_of, emit, GLOBAL};
use crate::error::{Result, ServerError};
use crate::leads::{self, LeadRow};
use crate::sealing::{self, Opener};
use crate::store::{self, col_text, Store, Tx};
use crate::suppression;
use crate::time_text;
use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;
use switchboard_domain::hlc::{supersedes, Hlc};
use switchboard_protocol::*;

/// How far ahead of server time a clock stamp may be before it is clamped.
pub const CLOCK_TOLERANCE_MS: i64 = 5_000;

/// Most operations one push may carry (the shared limit replicas fill their batches to).
pub const MAX_OPS: usize = limits::MAX_PUSH_OPS;

/// What became of one operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub status: PushStatus,
    pub code: Option<String>,
    pub reason: Option<String>,
}

impl Verdict {
    fn applied() -> Verdict {
        Verdict {
            status: PushStatus::Applied,
            code: None,
            reason: None,
        }
    }

    fn noted(code: &str, reason: impl Into<String>) -> Verdict {
        Verdict {
            status: PushStatus::Applied,
            code: Some(code.into()),
            reason: Some(reason.into()),
        }
    }

    fn duplicate(reason: impl Into<String>) -> Verdict {
        Verdict {
            status: PushStatus::Duplicate,
            code: Some("already_known".into()),
            reason: Some(reason.into()),
        }
    }

    fn rejected(code: &str, reason: impl Into<String>) -> Verdict {
        Verdict {
            status: PushStatus::Rejected,
            code: Some(code.into()),
            reason: Some(reason.into()),
        }
    }
}

/// The result of a push: the answers, and whether something changed (to wake pullers) or was
/// purged (to scrub the files).
pub struct PushOutcome {
    pub response: PushResponse,
    pub changed: bool,
    pub purged: bool,
}

/// Validates the shape of a push before anything is applied.
pub fn check_request(req: &PushRequest) -> Result<()> {
    let id = req.replica_id.trim();
    if id.is_empty() || id.len() > 100 {
        return Err(ServerError::Invalid(
            "replica_id must have 1 to 100 characters".into(),
        ));
    }
    if req.ops.len() > MAX_OPS {
        return Err(ServerError::Invalid(format!(
            "at most {MAX_OPS} operations per push"
        )));
    }
    Ok(())
}

/// Applies a push in one write transaction: each operation and its receipt together, so a
/// push cut anywhere is either wholly applied (a resend answers `duplicate`) or not at all.
/// `key` is the deployment's suppression key, for erasures.
///
/// A key `(replica_id, seq)` answered before is a `duplicate` only when the operation is the
/// one answered then (same digest). Other content under a known key means the replica's
/// sequence went backwards (a backup restored in place, a disk image): the whole push is
/// refused with `replica_reused` before anything is applied, and the replica pushes again under
/// a new id. Answering `duplicate` there would drop the new operations silently.
pub fn push(
    store: &dyn Store,
    actor: &Actor,
    req: &PushRequest,
    now: DateTime<Utc>,
    key: &[u8],
) -> Result<PushOutcome> {
    check_request(req)?;
    let digests: Vec<String> = req.ops.iter().map(|p| op_digest(&p.op)).collect();
    let (results, effects) = store::write(store, |tx| {
        let mut earlier = Vec::with_capacity(req.ops.len());
        let mut in_this_push: HashMap<i64, &str> = HashMap::new();
        for (pushed, digest) in req.ops.iter().zip(&digests) {
            let known = receipt(tx, &req.replica_id, pushed.seq)?;
            let seen = known.as_ref().and_then(|r| r.digest.as_deref());
            let repeated = in_this_push.insert(pushed.seq, digest);
            if seen.or(repeated).is_some_and(|d| d != digest) {
                return Err(reused(&req.replica_id, pushed.seq));
            }
            earlier.push(known.map(|r| r.verdict));
        }
        let mut results = Vec::with_capacity(req.ops.len());
        let mut answered: HashMap<i64, Verdict> = HashMap::new();
        let mut all = Effects::default();
        for ((pushed, digest), earlier) in req.ops.iter().zip(&digests).zip(earlier) {
            // A key repeated inside this push (with the same operation) is answered like a
            // resend of the first.
            let earlier = earlier.or_else(|| answered.get(&pushed.seq).cloned());
            let verdict = match earlier {
                Some(earlier) => Verdict {
                    status: PushStatus::Duplicate,
                    ..earlier
                },
                None => {
                    let mut effects = Effects::default();
                    let verdict = apply(tx, actor, &pushed.op, now, key, &mut effects)?;
                    tx.exec(
                        "INSERT INTO receipt (replica_id, seq, status, code, reason, digest) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                        &[
                            req.replica_id.as_str().into(),
                            pushed.seq.into(),
                            status_text(verdict.status).into(),
                            verdict.code.clone().into(),
                            verdict.reason.clone().into(),
                            digest.as_str().into(),
                        ],
                    )?;
                    all.changed |= effects.changed;
                    all.purged |= effects.purged;
                    answered.insert(pushed.seq, verdict.clone());
                    verdict
                }
            };
            results.push(PushResult {
                seq: pushed.seq,
                status: verdict.status,
                code: verdict.code,
                reason: verdict.reason,
            });
        }
        Ok((results, all))
    })?;
    if effects.purged {
        store.scrub()?;
    }
    Ok(PushOutcome {
        response: PushResponse { results },
        changed: effects.changed,
        purged: effects.purged,
    })
}

/// SHA-256 (hex) of the operation's JSON as the protocol types write it (field order fixed by
/// the types, no maps), so the same operation always has the same digest.
pub fn op_digest(op: &Op) -> String {
    use sha2::{Digest, Sha256};
    let json = serde_json::to_vec(op).expect("an operation serialises");
    hex::encode(Sha256::digest(json))
}

fn reused(replica: &str, seq: i64) -> ServerError {
    ServerError::ReplicaReused(format!(
        "replica {replica} already pushed another operation as {seq}: its sequence went \
         backwards (restored backup?); push again under a new replica id"
    ))
}

/// Side effects of applying one operation.
#[derive(Debug, Default, Clone, Copy)]
pub struct Effects {
    pub changed: bool,
    pub purged: bool,
}

fn status_text(s: PushStatus) -> &'static str {
    match s {
        PushStatus::Applied => "applied",
        PushStatus::Duplicate => "duplicate",
        PushStatus::Rejected => "rejected",
    }
}

/// What a replica was answered for one key, and the digest of the operation it answered
/// (`None` for receipts from before digests were kept).
struct Receipt {
    verdict: Verdict,
    digest: Option<String>,
}

fn receipt(tx: &mut dyn Tx, replica: &str, seq: i64) -> Result<Option<Receipt>> {
    let row = tx.query_opt(
        "SELECT status, code, reason, digest FROM receipt WHERE replica_id = ?1 AND seq = ?2",
        &[replica.into(), seq.into()],
    )?;
    Ok(row.map(|r| Receipt {
        verdict: Verdict {
            status: match col_text(&r, 0).as_deref() {
                Some("rejected") => PushStatus::Rejected,
                Some("duplicate") => PushStatus::Duplicate,
                _ => PushStatus::Applied,
            },
            code: col_text(&r, 1),
            reason: col_text(&r, 2),
        },
        digest: col_text(&r, 3),
    }))
}

/// Applies one operation inside `tx`. Rejections return before any write.
pub fn apply(
    tx: &mut dyn Tx,
    actor: &Actor,
    op: &Op,
    now: DateTime<Utc>,
    key: &[u8],
    effects: &mut Effects,
) -> Result<Verdict> {
    if let Op::LeadRevoked(_) = op {
        return Ok(Verdict::rejected(
            "server_only",
            "lead_revoked is sent by the server only",
        ));
    }
    if let Op::PartnerRegistered(_) = op {
        return Ok(Verdict::rejected(
            "server_only",
            "partners are registered by an admin on the server",
        ));
    }
    if let Some(refused) = check_authorship(actor, op) {
        return Ok(refused);
    }
    // The limits every intake applies (`switchboard_protocol::limits`).
    if let Err(e) = limits::check_op(op) {
        return Ok(Verdict::rejected("too_large", e.to_string()));
    }
    if let Op::DisclosureRecorded(d) = op {
        if !partner_matches(tx, &d.partner_id, &d.partner_name)? {
            return Ok(Verdict::rejected(
                "unknown_partner",
                format!(
                    "no registered partner {} named '{}'",
                    d.partner_id, d.partner_name
                ),
            ));
        }
    }
    let Some(lead_id) = op.lead_id() else {
        // An audit entry about no lead: kept in the author's office.
        return add_record(tx, op, actor.office.as_deref(), effects, None);
    };
    if lead_id.trim().is_empty() || lead_id.len() > 100 {
        return Ok(Verdict::rejected(
            "invalid",
            "lead_id must have 1 to 100 characters",
        ));
    }
    // Merging and authorising need the clocks and the office, not the personal values.
    let lead = leads::load_state(tx, lead_id)?;
    if lead.is_none() && matches!(op, Op::LeadErased(_)) {
        // A lead created offline and erased before its first push arrives as its PII-free
        // field groups first, which create it; an erasure of a lead nobody created is a forgery.
        return Ok(Verdict::rejected(
            "unknown_lead",
            format!("no lead {lead_id} to erase"),
        ));
    }

    // Erasure wins over everything: only PII-free skeleton data is still accepted.
    let mut stripped = None;
    let mut op = op;
    if let Some(l) = lead.as_ref().filter(|l| l.erased) {
        match op {
            Op::LeadErased(_) => return Ok(Verdict::duplicate("the person is already erased")),
            Op::FollowUpLogged(f) if f.note.is_some() => {
                stripped = Some(Op::FollowUpLogged(FollowUp {
                    note: None,
                    ..f.clone()
                }));
            }
            Op::AuditRecorded(a) if a.old_value.is_some() || a.new_value.is_some() => {
                stripped = Some(Op::AuditRecorded(AuditEntry {
                    old_value: None,
                    new_value: None,
                    ..a.clone()
                }));
            }
            Op::RequestHandled(h) if h.detail.is_some() => {
                stripped = Some(Op::RequestHandled(RequestHandled {
                    detail: None,
                    ..h.clone()
                }));
            }
            // A disclosure names fields, never values: the ledger stays complete.
            Op::FollowUpLogged(_)
            | Op::AuditRecorded(_)
            | Op::RequestHandled(_)
            | Op::DisclosureRecorded(_) => {}
            _ => {
                return Ok(Verdict::rejected(
                    "subject_erased",
                    format!(
                        "lead {} was erased; its personal data is not accepted",
                        l.id
                    ),
                ))
            }
        }
    }
    if let Some(s) = stripped.as_ref() {
        op = s;
    }

    // Authorization: the lead's office (or, for append-only records, an office it left).
    let office = match &lead {
        Some(l) => {
            let allowed = actor.may_touch(l.office.as_deref())
                || (is_append_only(op) && left_office(tx, &l.id, actor.office.as_deref())?);
            if !allowed {
                return Ok(Verdict::rejected(
                    "forbidden_office",
                    format!("lead {} is not in your office", l.id),
                ));
            }
            l.office.clone()
        }
        None => {
            let named = match op {
                Op::LeadFieldsSet(LeadFieldsSet {
                    fields: LeadFields::Office { office },
                    ..
                }) => office.clone(),
                _ => None,
            };
            match named {
                Some(code) if !actor.may_touch(Some(&code)) => {
                    return Ok(Verdict::rejected(
                        "forbidden_office",
                        format!("you cannot create a lead in office {code}"),
                    ))
                }
                Some(code) => Some(code),
                None => actor.office.clone().filter(|_| !actor.is_admin()),
            }
        }
    };

    if let Some(phone) = pushed_phone(op) {
        if suppression::is_suppressed(tx, key, SuppressionKind::Phone, phone, office.as_deref())? {
            return refuse_suppressed(tx, lead_id, lead.is_some(), office, now, key, effects);
        }
    }

    let verdict = match op {
        Op::LeadFieldsSet(set) => set_fields(tx, actor, set, lead, office, now, effects)?,
        Op::LeadErased(erased) => {
            erase(tx, erased, office.as_deref(), now, key)?;
            effects.changed = true;
            effects.purged = true;
            Verdict::applied()
        }
        Op::RequestHandled(handled) => handle_request(tx, handled, office.as_deref(), effects)?,
        _ => {
            if lead.is_none() {
                leads::create(tx, lead_id, office.as_deref(), now)?;
            }
            add_record(tx, op, office.as_deref(), effects, Some(lead_id))?
        }
    };
    if stripped.is_some() && verdict.status == PushStatus::Applied {
        return Ok(Verdict::noted(
            "note_dropped",
            "the person was erased: personal text was dropped, the record kept",
        ));
    }
    Ok(verdict)
}

/// Every field naming who did something must name the token's user, and audit entries of
/// server-side actions come from the server only.
fn check_authorship(actor: &Actor, op: &Op) -> Option<Verdict> {
    for (field, who) in authz::authors(op) {
        if let Some(who) = who.filter(|who| *who != actor.user) {
            return Some(Verdict::rejected(
                "forged_author",
                format!(
                    "{} names '{who}' in {field}, but you are signed in as '{}'",
                    op.kind(),
                    actor.user
                ),
            ));
        }
    }
    match op {
        Op::AuditRecorded(a) if authz::is_server_action(&a.action) => Some(Verdict::rejected(
            "server_only",
            format!("'{}' is recorded by the server only", a.action),
        )),
        _ => None,
    }
}

/// Whether `id` is a registered partner called `name`: the disclosure ledger names only real
/// recipients, as they are registered.
fn partner_matches(tx: &mut dyn Tx, id: &str, name: &str) -> Result<bool> {
    let Some(row) = tx.query_opt(
        "SELECT body FROM record WHERE kind = 'partner' AND id = ?1",
        &[id.into()],
    )?
    else {
        return Ok(false);
    };
    let partner: Partner = serde_json::from_str(&col_text(&row, 0).unwrap_or_default())?;
    Ok(partner.name == name)
}

/// The phone number an operation brings in, if any.
fn pushed_phone(op: &Op) -> Option<&str> {
    match op {
        Op::LeadFieldsSet(LeadFieldsSet {
            fields: LeadFields::Phone { phone },
            ..
        }) => phone.as_deref(),
        Op::RegistrationAdded(r) => r.phone.as_deref(),
        _ => None,
    }
}

/// A pushed phone number belongs to an erased person: nothing of the operation is kept, and
/// the lead it was given to is erased here, so the pushing replica purges it when it pulls the
/// erasure (the replica cannot check phones itself: their hashes never leave the server).
fn refuse_suppressed(
    tx: &mut dyn Tx,
    lead_id: &str,
    held: bool,
    office: Option<String>,
    now: DateTime<Utc>,
    key: &[u8],
    effects: &mut Effects,
) -> Result<Verdict> {
    if !held {
        leads::create(tx, lead_id, office.as_deref(), now)?;
    }
    let erasure = LeadErased {
        lead_id: lead_id.to_string(),
        erased_at: now,
        by: SERVER_AUTHOR.into(),
        suppression_hashes: vec![],
    };
    erase(tx, &erasure, office.as_deref(), now, key)?;
    effects.changed = true;
    effects.purged = true;
    Ok(Verdict::rejected(
        "suppressed",
        format!("the phone number belongs to an erased person; lead {lead_id} was erased"),
    ))
}

/// The author the server signs its own erasures with.
pub const SERVER_AUTHOR: &str = "switchboard-server";

fn is_append_only(op: &Op) -> bool {
    matches!(
        op,
        Op::RegistrationAdded(_)
            | Op::FollowUpLogged(_)
            | Op::ConsentRecorded(_)
            | Op::RequestOpened(_)
            | Op::RequestHandled(_)
            | Op::AuditRecorded(_)
            | Op::DisclosureRecorded(_)
    )
}

fn left_office(tx: &mut dyn Tx, lead_id: &str, office: Option<&str>) -> Result<bool> {
    let Some(office) = office else {
        return Ok(false);
    };
    Ok(tx
        .query_opt(
            "SELECT 1 FROM lead_past_office WHERE lead_id = ?1 AND office = ?2",
            &[lead_id.into(), office.into()],
        )?
        .is_some())
}

/// Clamps a stamp's physical part to server time plus the tolerance.
pub fn clamp_hlc(text: &str, now: DateTime<Utc>) -> Option<String> {
    let hlc = Hlc::parse(text)?;
    if hlc.node.is_empty() || hlc.millis < 0 {
        return None;
    }
    Some(
        hlc.clamped(now + Duration::milliseconds(CLOCK_TOLERANCE_MS))
            .to_string(),
    )
}

fn set_fields(
    tx: &mut dyn Tx,
    actor: &Actor,
    set: &LeadFieldsSet,
    lead: Option<LeadRow>,
    office: Option<String>,
    now: DateTime<Utc>,
    effects: &mut Effects,
) -> Result<Verdict> {
    let Some(hlc) = clamp_hlc(&set.hlc, now) else {
        return Ok(Verdict::rejected(
            "invalid",
            format!("'{}' is not a clock stamp", set.hlc),
        ));
    };
    match &set.fields {
        LeadFields::Workflow {
            status: LeadStatus::Erased,
            ..
        } => {
            return Ok(Verdict::rejected(
                "invalid",
                "erase a person with lead_erased",
            ));
        }
        LeadFields::Office { office: Some(code) } if !leads::office_exists(tx, code)? => {
            return Ok(Verdict::rejected("invalid", format!("no office '{code}'")));
        }
        LeadFields::Office { office: None } if !actor.is_admin() => {
            return Ok(Verdict::rejected(
                "forbidden_office",
                "only an admin can take a lead out of every office",
            ));
        }
        _ => {}
    }
    let group = set.fields.group();
    let lead = match lead {
        Some(l) => l,
        None => {
            leads::create(tx, &set.lead_id, office.as_deref(), set.created_at)?;
            leads::load_state(tx, &set.lead_id)?
                .ok_or_else(|| ServerError::Internal("created lead vanished".into()))?
        }
    };
    let (_, stored_clock) = lead.group(group);
    if !supersedes(&hlc, stored_clock) {
        return Ok(Verdict::noted(
            "stale",
            "a newer value of this field group is stored",
        ));
    }
    leads::set_group(tx, &lead.id, &set.fields, &hlc)?;
    effects.changed = true;
    let old_office = lead.office.clone();
    if let LeadFields::Office { office: new_office } = &set.fields {
        if *new_office != old_office {
            move_lead(tx, &lead.id, old_office.as_deref(), new_office.as_deref())?;
            return Ok(Verdict::applied());
        }
    }
    let applied = Op::LeadFieldsSet(LeadFieldsSet { hlc, ..set.clone() });
    emit(tx, bucket_of(old_office.as_deref()), &applied)?;
    Ok(Verdict::applied())
}

/// Moves a lead: the old office's replicas purge it, the new office's receive all of it.
fn move_lead(tx: &mut dyn Tx, lead_id: &str, from: Option<&str>, to: Option<&str>) -> Result<()> {
    let from_bucket = bucket_of(from).to_string();
    if let Some(code) = from {
        tx.exec(
            "INSERT INTO lead_past_office (lead_id, office) VALUES (?1, ?2) \
             ON CONFLICT (lead_id, office) DO NOTHING",
            &[lead_id.into(), code.into()],
        )?;
    }
    // The old bucket's history of this lead is no business of that office any more: a fresh
    // replica there must not receive it.
    tx.exec(
        "DELETE FROM change_log WHERE lead_id = ?1 AND bucket = ?2",
        &[lead_id.into(), from_bucket.as_str().into()],
    )?;
    emit(
        tx,
        &from_bucket,
        &Op::LeadRevoked(LeadRevoked {
            lead_id: lead_id.to_string(),
        }),
    )?;
    let lead = leads::load(tx, lead_id)?
        .ok_or_else(|| ServerError::Internal("moved lead vanished".into()))?;
    changelog::emit_snapshot(tx, &lead, bucket_of(to))
}

/// A record as stored: kind, id, submission id (registrations), JSON body.
type RecordParts<'a> = (&'static str, &'a str, Option<&'a str>, String);

fn record_parts(op: &Op) -> Result<Option<RecordParts<'_>>> {
    Ok(Some(match op {
        Op::RegistrationAdded(r) => (
            "registration",
            r.id.as_str(),
            r.submission_id.as_deref(),
            serde_json::to_string(r)?,
        ),
        Op::FollowUpLogged(f) => ("follow_up", f.id.as_str(), None, serde_json::to_string(f)?),
        Op::ConsentRecorded(c) => (
            "consent_event",
            c.id.as_str(),
            None,
            serde_json::to_string(c)?,
        ),
        Op::RequestOpened(r) => (
            "subscriber_request",
            r.id.as_str(),
            None,
            serde_json::to_string(r)?,
        ),
        Op::AuditRecorded(a) => ("audit", a.id.as_str(), None, serde_json::to_string(a)?),
        Op::DisclosureRecorded(d) => ("disclosure", d.id.as_str(), None, serde_json::to_string(d)?),
        Op::PartnerRegistered(p) => ("partner", p.id.as_str(), None, serde_json::to_string(p)?),
        _ => return Ok(None),
    }))
}

fn add_record(
    tx: &mut dyn Tx,
    op: &Op,
    office: Option<&str>,
    effects: &mut Effects,
    lead_id: Option<&str>,
) -> Result<Verdict> {
    let Some((kind, id, submission, body)) = record_parts(op)? else {
        return Err(ServerError::Internal(format!(
            "{} is not a record",
            op.kind()
        )));
    };
    if id.trim().is_empty() || id.len() > 100 {
        return Ok(Verdict::rejected(
            "invalid",
            "a record id has 1 to 100 characters",
        ));
    }
    if let Some(sub) = submission {
        let known = tx.query_opt(
            "SELECT id FROM record WHERE submission_id = ?1",
            &[sub.into()],
        )?;
        if known.is_some_and(|r| col_text(&r, 0).as_deref() != Some(id)) {
            return Ok(Verdict::duplicate(format!(
                "submission {sub} is recorded already"
            )));
        }
    }
    let body = sealing::seal_body(tx, lead_id, body)?;
    let inserted = tx.exec(
        "INSERT INTO record (kind, id, lead_id, submission_id, body) VALUES (?1, ?2, ?3, ?4, ?5) \
         ON CONFLICT (kind, id) DO NOTHING",
        &[
            kind.into(),
            id.into(),
            lead_id.into(),
            submission.into(),
            body.into(),
        ],
    )?;
    if inserted == 0 {
        return Ok(Verdict::duplicate(format!(
            "{kind} {id} is recorded already"
        )));
    }
    emit(tx, bucket_of(office), op)?;
    effects.changed = true;
    Ok(Verdict::applied())
}

fn handle_request(
    tx: &mut dyn Tx,
    handled: &RequestHandled,
    office: Option<&str>,
    effects: &mut Effects,
) -> Result<Verdict> {
    let row = tx.query_opt(
        "SELECT body FROM record WHERE kind = 'subscriber_request' AND id = ?1 AND lead_id = ?2",
        &[handled.id.as_str().into(), handled.lead_id.as_str().into()],
    )?;
    let Some(row) = row else {
        return Ok(Verdict::rejected(
            "unknown_request",
            format!(
                "no subscriber request {} for lead {}",
                handled.id, handled.lead_id
            ),
        ));
    };
    let stored = col_text(&row, 0).unwrap_or_default();
    let lead_id = handled.lead_id.as_str();
    let Some(body) = Opener::default().open(tx, Some(lead_id), &stored)? else {
        return Err(ServerError::Internal(format!(
            "request {} is sealed under a destroyed key",
            handled.id
        )));
    };
    let mut request: SubscriberRequest = serde_json::from_str(&body)?;
    if request
        .handled_at
        .is_some_and(|at| at >= handled.handled_at)
    {
        return Ok(Verdict::noted(
            "stale",
            "the request was handled later already",
        ));
    }
    request.status = handled.status;
    request.handled_by = Some(handled.handled_by.clone());
    request.handled_at = Some(handled.handled_at);
    if handled.detail.is_some() {
        request.detail = handled.detail.clone();
    }
    let body = sealing::seal_body(tx, Some(lead_id), serde_json::to_string(&request)?)?;
    tx.exec(
        "UPDATE record SET body = ?3 WHERE kind = 'subscriber_request' AND id = ?1 AND lead_id = ?2",
        &[
            handled.id.as_str().into(),
            handled.lead_id.as_str().into(),
            body.into(),
        ],
    )?;
    emit(tx, bucket_of(office), &Op::RequestHandled(handled.clone()))?;
    effects.changed = true;
    Ok(Verdict::applied())
}

/// The normalised emails and phones the store holds for a lead (its row and registrations).
fn addresses(tx: &mut dyn Tx, lead_id: &str) -> Result<Vec<(SuppressionKind, String)>> {
    let mut out = Vec::new();
    if let Some(lead) = leads::load(tx, lead_id)? {
        if let (LeadFields::Email { email, .. }, _) = lead.group(FieldGroup::Email) {
            out.extend(email.clone().map(|e| (SuppressionKind::Email, e)));
        }
        if let (LeadFields::Phone { phone }, _) = lead.group(FieldGroup::Phone) {
            out.extend(phone.clone().map(|p| (SuppressionKind::Phone, p)));
        }
    }
    let mut opener = Opener::default();
    for row in tx.query(
        "SELECT body FROM record WHERE kind = 'registration' AND lead_id = ?1",
        &[lead_id.into()],
    )? {
        let stored = col_text(&row, 0).unwrap_or_default();
        let Some(body) = opener.open(tx, Some(lead_id), &stored)? else {
            continue;
        };
        let Ok(reg) = serde_json::from_str::<Registration>(&body) else {
            continue;
        };
        out.extend(reg.email.map(|e| (SuppressionKind::Email, e)));
        out.extend(reg.phone.map(|p| (SuppressionKind::Phone, p)));
    }
    out.sort_by(|a, b| (a.0.as_str(), &a.1).cmp(&(b.0.as_str(), &b.1)));
    out.dedup();
    Ok(out)
}

/// Purges a person's personal data from every table and from the change log, keeps a PII-free
/// skeleton, destroys the person's key (so every sealed copy left in free pages, WAL and
/// backups is unreadable), records the suppression hashes and tells every replica. `office`
/// is the lead's office: hashes only the erasing replica knew are scoped to it.
pub fn erase(
    tx: &mut dyn Tx,
    erased: &LeadErased,
    office: Option<&str>,
    now: DateTime<Utc>,
    key: &[u8],
) -> Result<()> {
    let id = erased.lead_id.as_str();
    let hashes = erasure_hashes(tx, erased, office, key)?;
    let erased = &LeadErased {
        suppression_hashes: hashes.global_emails.clone(),
        ..erased.clone()
    };
    tx.exec(
        "UPDATE lead SET name = NULL, company = NULL, email = NULL, email_invalid = 0, \
         email_hash = NULL, phone = NULL, address = NULL, time_zone = NULL, \
         next_follow_up_at = NULL, status = 'erased', erased_at = ?2 WHERE id = ?1",
        &[id.into(), time_text(erased.erased_at).into()],
    )?;
    tx.exec(
        "DELETE FROM record WHERE kind = 'registration' AND lead_id = ?1",
        &[id.into()],
    )?;
    let rows = tx.query(
        "SELECT kind, id, body FROM record WHERE lead_id = ?1",
        &[id.into()],
    )?;
    let mut opener = Opener::default();
    for row in rows {
        let (kind, rid) = (
            col_text(&row, 0).unwrap_or_default(),
            col_text(&row, 1).unwrap_or_default(),
        );
        let stored = col_text(&row, 2).unwrap_or_default();
        let Some(plain) = opener.open(tx, Some(id), &stored)? else {
            continue;
        };
        let mut body: serde_json::Value = serde_json::from_str(&plain)?;
        let personal: &[&str] = match kind.as_str() {
            "follow_up" => &["note"],
            "consent_event" => &["evidence"],
            "subscriber_request" => &["detail"],
            "audit" => &["old_value", "new_value"],
            _ => &[],
        };
        if let Some(obj) = body.as_object_mut() {
            for field in personal {
                obj.insert((*field).to_string(), serde_json::Value::Null);
            }
        }
        tx.exec(
            "UPDATE record SET body = ?3 WHERE kind = ?1 AND id = ?2",
            &[
                kind.into(),
                rid.into(),
                serde_json::to_string(&body)?.into(),
            ],
        )?;
    }
    // The log must not hand the person's data to a replica that syncs later.
    tx.exec("DELETE FROM change_log WHERE lead_id = ?1", &[id.into()])?;
    // The stripped bodies above were written plain: from here on nothing needs the key.
    sealing::forget(tx, id)?;
    hashes.record(tx, now)?;
    if !hashes.scoped_emails.is_empty() {
        // Only the office that vouched for these hashes hears of them.
        emit(
            tx,
            bucket_of(office),
            &Op::LeadErased(LeadErased {
                suppression_hashes: hashes.scoped_emails.clone(),
                ..erased.clone()
            }),
        )?;
    }
    emit(tx, GLOBAL, &Op::LeadErased(erased.clone()))?;
    Ok(())
}

/// The suppression hashes of one erasure, by where they go.
struct ErasureHashes {
    /// Emails the server held: every office's replicas learn them.
    global_emails: Vec<SuppressionHash>,
    /// Phones the server held, under its own key: never sent anywhere.
    global_phones: Vec<SuppressionHash>,
    /// Emails only the erasing replica knew: its office's replicas learn them.
    scoped_emails: Vec<SuppressionHash>,
    /// Phones only the erasing replica knew (deployment key): kept for this office's checks.
    scoped_phones: Vec<SuppressionHash>,
    scope: String,
}

impl ErasureHashes {
    fn record(&self, tx: &mut dyn Tx, now: DateTime<Utc>) -> Result<()> {
        suppression::record(tx, &self.global_emails, suppression::EVERYWHERE, now)?;
        suppression::record(tx, &self.global_phones, suppression::EVERYWHERE, now)?;
        suppression::record(tx, &self.scoped_emails, &self.scope, now)?;
        suppression::record(tx, &self.scoped_phones, &self.scope, now)
    }
}

/// The server hashes what it holds, so suppression never depends on the erasing replica, and
/// pushed hashes are not trusted beyond the pusher's own office: a rep could otherwise send the
/// hash of anyone's address and suppress them everywhere.
fn erasure_hashes(
    tx: &mut dyn Tx,
    erased: &LeadErased,
    office: Option<&str>,
    key: &[u8],
) -> Result<ErasureHashes> {
    let mut out = ErasureHashes {
        global_emails: Vec::new(),
        global_phones: Vec::new(),
        scoped_emails: Vec::new(),
        scoped_phones: Vec::new(),
        scope: bucket_of(office).to_string(),
    };
    for (kind, value) in addresses(tx, &erased.lead_id)? {
        let h = suppression::server_hash(tx, key, kind, &value)?;
        let list = match kind {
            SuppressionKind::Email => &mut out.global_emails,
            SuppressionKind::Phone => &mut out.global_phones,
        };
        if !list.contains(&h) {
            list.push(h);
        }
    }
    for h in erased
        .suppression_hashes
        .iter()
        .filter(|h| suppression::well_formed(h))
    {
        let h = SuppressionHash {
            kind: h.kind,
            hash: h.hash.to_ascii_lowercase(),
        };
        let (held, list) = match h.kind {
            SuppressionKind::Email => (&out.global_emails, &mut out.scoped_emails),
            SuppressionKind::Phone => (&out.global_phones, &mut out.scoped_phones),
        };
        if !held.contains(&h) && !list.contains(&h) {
            list.push(h);
        }
    }
    Ok(out)
}
