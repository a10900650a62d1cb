//! Applying one pushed operation: refusals first (nothing is written for them), then the
//! erasure gate, the office check and suppressed phones, then the operation by its kind.

use super::{authorize, cadence, erase, fields, records, Effects, Verdict};
use crate::accounts::Actor;
use crate::error::Result;
use crate::leads;
use crate::privacy_view;
use crate::store::Tx;
use crate::suppression;
use chrono::{DateTime, Utc};
use switchboard_protocol::*;

/// Applies one operation inside `tx`. Rejections return before any write.
pub fn apply(
    tx: &mut dyn Tx,
    actor: &Actor,
    replica_id: &str,
    op: &Op,
    now: DateTime<Utc>,
    key: &[u8],
    effects: &mut Effects,
) -> Result<Verdict> {
    if let Some(refused) = authorize::refuse_outright(tx, actor, op)? {
        return Ok(refused);
    }
    match op {
        Op::CadenceSaved(saved) => return cadence::save(tx, actor, saved, effects),
        Op::CadenceRuleAdded(rule) => {
            return cadence::add_rule(tx, actor, replica_id, rule, effects)
        }
        _ => {}
    }
    let Some(lead_id) = op.lead_id() else {
        // An audit entry about no lead: kept in the author's office.
        return records::add_record(tx, op, actor.office.as_deref(), effects, None);
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
    let stripped = match lead.as_ref().filter(|l| l.erased) {
        Some(l) => match erase::strip_personal(op, l) {
            Ok(stripped) => stripped,
            Err(refused) => return Ok(refused),
        },
        None => None,
    };
    let op = stripped.as_ref().unwrap_or(op);

    let office = match authorize::office(tx, actor, op, lead.as_ref())? {
        Ok(office) => office,
        Err(refused) => return Ok(refused),
    };
    if let Some(refused) = authorize::role(tx, actor, op)? {
        return Ok(refused);
    }

    if let Some(phone) = pushed_phone(op) {
        if suppression::is_suppressed(tx, key, SuppressionKind::Phone, phone, office.as_deref())? {
            return erase::refuse_suppressed(
                tx,
                lead_id,
                lead.is_some(),
                office,
                now,
                key,
                effects,
            );
        }
    }

    let verdict = match op {
        Op::LeadFieldsSet(set) => fields::set_fields(tx, actor, set, lead, office, now, effects)?,
        Op::LeadErased(erased) => {
            erase::erase(tx, erased, office.as_deref(), now, key)?;
            effects.changed = true;
            effects.purged = true;
            Verdict::applied()
        }
        Op::RequestHandled(handled) => {
            records::handle_request(tx, handled, office.as_deref(), effects)?
        }
        Op::EnrollmentSynced(e) => {
            if lead.is_none() {
                leads::create(tx, lead_id, office.as_deref(), now)?;
            }
            cadence::sync_enrollment(tx, replica_id, e, office.as_deref(), effects)?
        }
        _ => {
            if lead.is_none() {
                leads::create(tx, lead_id, office.as_deref(), now)?;
            }
            let first_request =
                matches!(op, Op::RequestOpened(_)) && !privacy_view::has_request(tx, lead_id)?;
            let verdict = records::add_record(tx, op, office.as_deref(), effects, Some(lead_id))?;
            if first_request && verdict.status == PushStatus::Applied {
                privacy_view::first_request_recorded(tx, lead_id)?;
            }
            verdict
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

/// The phone number an operation brings in, if any.
fn pushed_phone(op: &Op) -> Option<&str> {
    match op {
        Op::LeadFieldsSet(LeadFieldsSet {
            fields: LeadFields::Phone { phone },
            ..
        }) => phone.as_deref(),
        Op::RegistrationAdded(r) => r.details.phone.as_deref(),
        _ => None,
    }
}
