//! Append-only records (registrations, follow-ups, consent events, requests, audit entries,
//! disclosures): stored sealed once by `(kind, id)`, and the one update they take, a
//! subscriber request being handled.

use super::{Effects, Verdict};
use crate::changelog::{bucket_of, emit};
use crate::error::{Result, ServerError};
use crate::sealing::{self, Opener};
use crate::store::{col_text, Tx};
use switchboard_protocol::*;

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

/// Stores a record once: a known `(kind, id)` or registration submission is a `duplicate`.
pub(crate) fn add_record(
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

/// Marks a subscriber request handled, unless a later handling is stored already (`stale`).
pub(super) fn handle_request(
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
