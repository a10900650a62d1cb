//! Erasing a person: what a pushed `lead_erased` (or a phone number of an erased person)
//! purges, the PII-free skeleton it keeps, and the suppression hashes it records and sends.

use super::{Effects, Refused, Verdict};
use crate::changelog::{bucket_of, emit, GLOBAL};
use crate::error::Result;
use crate::leads::{self, LeadRow};
use crate::sealing::{self, Opener};
use crate::store::{col_text, Tx};
use crate::suppression;
use crate::time_text;
use chrono::{DateTime, Utc};
use switchboard_protocol::*;

/// The author the server signs its own erasures with.
pub const SERVER_AUTHOR: &str = "switchboard-server";

/// A pushed phone number belongs to an erased person: nothing of the operation is kept, and
/// the lead it was given to is erased here, so the pushing replica purges it when it pulls the
/// erasure (the replica cannot check phones itself: their hashes never leave the server).
pub(super) fn refuse_suppressed(
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

/// What of an operation on an erased person is still accepted: only PII-free skeleton data.
/// `Ok(Some(op))` is the operation with its personal text dropped, `Ok(None)` keeps it as it
/// is, `Err` refuses it (a second erasure is a `duplicate`).
pub(super) fn strip_personal(op: &Op, lead: &LeadRow) -> Refused<Option<Op>> {
    Ok(match op {
        Op::LeadErased(_) => return Err(Verdict::duplicate("the person is already erased")),
        Op::FollowUpLogged(f) if f.note.is_some() => Some(Op::FollowUpLogged(FollowUp {
            note: None,
            ..f.clone()
        })),
        Op::AuditRecorded(a) if a.old_value.is_some() || a.new_value.is_some() => {
            Some(Op::AuditRecorded(AuditEntry {
                old_value: None,
                new_value: None,
                ..a.clone()
            }))
        }
        Op::RequestHandled(h) if h.detail.is_some() => Some(Op::RequestHandled(RequestHandled {
            detail: None,
            ..h.clone()
        })),
        // A disclosure names fields, never values: the ledger stays complete.
        Op::FollowUpLogged(_)
        | Op::AuditRecorded(_)
        | Op::RequestHandled(_)
        | Op::DisclosureRecorded(_) => None,
        // The erasure ended every cadence of the person; a late state changes nothing.
        Op::EnrollmentSynced(_) => {
            return Err(Verdict::noted(
                "stale",
                "the person was erased: their cadences ended with the erasure",
            ))
        }
        _ => {
            return Err(Verdict::rejected(
                "subject_erased",
                format!(
                    "lead {} was erased; its personal data is not accepted",
                    lead.id
                ),
            ))
        }
    })
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
        out.extend(reg.details.email.map(|e| (SuppressionKind::Email, e)));
        out.extend(reg.details.phone.map(|p| (SuppressionKind::Phone, p)));
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
    // No instance may serve the person's changes from its delivery cache either.
    crate::delivery_cache::bump_generation(tx)?;
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
