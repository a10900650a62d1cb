//! Field groups of a lead: the clock stamp clamped to server time, last-writer-wins by the
//! domain's one rule (`hlc::supersedes`, which replicas apply too), and office moves.

use super::{Effects, Verdict};
use crate::accounts::Actor;
use crate::changelog::{self, bucket_of, emit};
use crate::error::{Result, ServerError};
use crate::leads::{self, LeadRow};
use crate::store::Tx;
use chrono::{DateTime, Duration, Utc};
use switchboard_domain::hlc::{supersedes, Hlc};
use switchboard_protocol::*;

/// How far ahead of server time a clock stamp may be before it is clamped.
pub const CLOCK_TOLERANCE_MS: i64 = 5_000;

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

/// Sets one field group when its clamped stamp supersedes the stored one (else `stale`),
/// creating the lead on its first group; a changed office moves the lead.
pub(super) fn set_fields(
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
            move_lead(
                tx,
                &lead.id,
                old_office.as_deref(),
                new_office.as_deref(),
                now,
            )?;
            return Ok(Verdict::applied());
        }
    }
    let applied = Op::LeadFieldsSet(LeadFieldsSet { hlc, ..set.clone() });
    emit(tx, bucket_of(old_office.as_deref()), &applied)?;
    Ok(Verdict::applied())
}

/// Moves a lead: the old office's replicas purge it, the new office's receive all of it.
fn move_lead(
    tx: &mut dyn Tx,
    lead_id: &str,
    from: Option<&str>,
    to: Option<&str>,
    now: DateTime<Utc>,
) -> Result<()> {
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
    super::cadence::stop_for_move(tx, lead_id, now)?;
    let lead = leads::load(tx, lead_id)?
        .ok_or_else(|| ServerError::Internal("moved lead vanished".into()))?;
    changelog::emit_snapshot(tx, &lead, bucket_of(to))
}
