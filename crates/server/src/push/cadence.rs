//! Cadences on the server (protocol 3): definitions and intake rules (a manager's), enrolments
//! merged so that a stop beats any advance and only the owner replica advances, the website
//! intake's enrolments by rule, and the stop a lead's move to another office makes.

use super::{Effects, Verdict};
use crate::accounts::Actor;
use crate::changelog::{bucket_of, emit, GLOBAL};
use crate::error::Result;
use crate::sealing::{self, Opener};
use crate::store::{col_text, Tx};
use chrono::{DateTime, Utc};
use switchboard_protocol::*;

/// Most steps a cadence may have (the replicas' limit too).
const MAX_STEPS: usize = 50;

/// The bucket a manager's cadences sync in: their office's (an admin's: everyone's).
fn definition_bucket(actor: &Actor) -> &str {
    actor.office.as_deref().unwrap_or(GLOBAL)
}

/// Stores one version of a cadence once; a known `(id, version)` is a `duplicate`.
pub(super) fn save(
    tx: &mut dyn Tx,
    actor: &Actor,
    saved: &CadenceSaved,
    effects: &mut Effects,
) -> Result<Verdict> {
    if saved.cadence_id.trim().is_empty() || saved.cadence_id.len() > 100 {
        return Ok(Verdict::rejected(
            "invalid",
            "a cadence id has 1 to 100 characters",
        ));
    }
    if saved.name.trim().is_empty() || saved.name.len() > 100 || saved.version < 1 {
        return Ok(Verdict::rejected(
            "invalid",
            "a cadence needs a name of 1 to 100 bytes and a version from 1",
        ));
    }
    if saved.steps.is_empty() || saved.steps.len() > MAX_STEPS {
        return Ok(Verdict::rejected(
            "invalid",
            format!("a cadence needs 1 to {MAX_STEPS} steps"),
        ));
    }
    let owner = tx.query_opt(
        "SELECT office FROM cadence_def WHERE cadence_id = ?1",
        &[saved.cadence_id.as_str().into()],
    )?;
    if let Some(row) = &owner {
        if !actor.may_touch(col_text(row, 0).as_deref()) {
            return Ok(Verdict::rejected(
                "forbidden_office",
                format!("cadence {} belongs to another office", saved.cadence_id),
            ));
        }
    }
    let inserted = tx.exec(
        "INSERT INTO cadence_def (cadence_id, version, office, body) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (cadence_id, version) DO NOTHING",
        &[
            saved.cadence_id.as_str().into(),
            saved.version.into(),
            actor.office.as_deref().into(),
            serde_json::to_string(saved)?.into(),
        ],
    )?;
    if inserted == 0 {
        return Ok(Verdict::duplicate(format!(
            "cadence {} version {} is saved already",
            saved.cadence_id, saved.version
        )));
    }
    emit(
        tx,
        definition_bucket(actor),
        &Op::CadenceSaved(saved.clone()),
    )?;
    effects.changed = true;
    Ok(Verdict::applied())
}

/// The office of a cadence the server holds, if it holds it (`Some(None)`: an admin's).
fn cadence_office(
    tx: &mut dyn Tx,
    cadence_id: &str,
    version: Option<i64>,
) -> Result<Option<Option<String>>> {
    let row = match version {
        Some(v) => tx.query_opt(
            "SELECT office FROM cadence_def WHERE cadence_id = ?1 AND version = ?2",
            &[cadence_id.into(), v.into()],
        )?,
        None => tx.query_opt(
            "SELECT office FROM cadence_def WHERE cadence_id = ?1",
            &[cadence_id.into()],
        )?,
    };
    Ok(row.map(|r| col_text(&r, 0)))
}

/// Stores an intake rule once, with the replica that pushed it (the owner of last resort of
/// the enrolments it makes at the website's intake).
pub(super) fn add_rule(
    tx: &mut dyn Tx,
    actor: &Actor,
    replica_id: &str,
    rule: &CadenceRuleAdded,
    effects: &mut Effects,
) -> Result<Verdict> {
    if rule.id.trim().is_empty() || rule.id.len() > 100 {
        return Ok(Verdict::rejected(
            "invalid",
            "a rule id has 1 to 100 characters",
        ));
    }
    if let Some(office) = &rule.office {
        if !actor.may_touch(Some(office)) {
            return Ok(Verdict::rejected(
                "forbidden_office",
                format!("you cannot add a rule for office {office}"),
            ));
        }
    }
    let Some(office) = cadence_office(tx, &rule.cadence_id, None)? else {
        return Ok(Verdict::rejected(
            "unknown_cadence",
            format!("no cadence {} on the server", rule.cadence_id),
        ));
    };
    if !actor.may_touch(office.as_deref()) && office.is_some() {
        return Ok(Verdict::rejected(
            "forbidden_office",
            format!("cadence {} belongs to another office", rule.cadence_id),
        ));
    }
    let inserted = tx.exec(
        "INSERT INTO cadence_rule (id, cadence_id, office, owner_replica, body) \
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (id) DO NOTHING",
        &[
            rule.id.as_str().into(),
            rule.cadence_id.as_str().into(),
            office.as_deref().into(),
            replica_id.into(),
            serde_json::to_string(rule)?.into(),
        ],
    )?;
    if inserted == 0 {
        return Ok(Verdict::duplicate(format!(
            "rule {} is known already",
            rule.id
        )));
    }
    emit(
        tx,
        office.as_deref().unwrap_or(GLOBAL),
        &Op::CadenceRuleAdded(rule.clone()),
    )?;
    effects.changed = true;
    Ok(Verdict::applied())
}

/// The stored state of an enrolment.
fn stored(tx: &mut dyn Tx, id: &str, lead_id: &str) -> Result<Option<EnrollmentSynced>> {
    let Some(row) = tx.query_opt(
        "SELECT body FROM record WHERE kind = 'cadence_enrollment' AND id = ?1 AND lead_id = ?2",
        &[id.into(), lead_id.into()],
    )?
    else {
        return Ok(None);
    };
    let body = col_text(&row, 0).unwrap_or_default();
    match Opener::default().open(tx, Some(lead_id), &body)? {
        Some(json) => Ok(Some(serde_json::from_str(&json)?)),
        None => Ok(None),
    }
}

fn store(tx: &mut dyn Tx, e: &EnrollmentSynced, insert: bool) -> Result<()> {
    let body = sealing::seal_body(tx, Some(&e.lead_id), serde_json::to_string(e)?)?;
    let sql = if insert {
        "INSERT INTO record (kind, id, lead_id, submission_id, body) \
         VALUES ('cadence_enrollment', ?1, ?2, NULL, ?3)"
    } else {
        "UPDATE record SET body = ?3 WHERE kind = 'cadence_enrollment' AND id = ?1 AND lead_id = ?2"
    };
    tx.exec(
        sql,
        &[e.id.as_str().into(), e.lead_id.as_str().into(), body.into()],
    )?;
    Ok(())
}

/// Merges a pushed enrolment state. A new enrolment is owned by the replica that pushes it. A
/// known one takes the pushed state only when it ranks higher (`EnrollmentSynced::rank`): a
/// stop from any replica of the office, an advance only from the owner (`not_owner`).
pub(super) fn sync_enrollment(
    tx: &mut dyn Tx,
    replica_id: &str,
    pushed: &EnrollmentSynced,
    office: Option<&str>,
    effects: &mut Effects,
) -> Result<Verdict> {
    if pushed.id.trim().is_empty()
        || pushed.id.len() > 100
        || !(0..=MAX_STEPS as i64).contains(&pushed.step)
    {
        return Ok(Verdict::rejected(
            "invalid",
            "an enrolment needs an id of 1 to 100 characters and a step within its cadence",
        ));
    }
    if cadence_office(tx, &pushed.cadence_id, Some(pushed.version))?.is_none() {
        return Ok(Verdict::rejected(
            "unknown_cadence",
            format!(
                "no cadence {} version {} on the server",
                pushed.cadence_id, pushed.version
            ),
        ));
    }
    let merged = match stored(tx, &pushed.id, &pushed.lead_id)? {
        None => {
            if pushed.owner_replica != replica_id {
                return Ok(Verdict::rejected(
                    "not_owner",
                    format!(
                        "enrolment {} is new: it is owned by the replica that makes it",
                        pushed.id
                    ),
                ));
            }
            store(tx, pushed, true)?;
            pushed.clone()
        }
        Some(known) => {
            if pushed.own_rank() <= known.own_rank() {
                return Ok(Verdict::noted(
                    "stale",
                    "the enrolment is as far or further already (or stopped)",
                ));
            }
            if pushed.state != EnrollmentState::Stopped && known.owner_replica != replica_id {
                return Ok(Verdict::rejected(
                    "not_owner",
                    format!(
                        "only the replica that owns enrolment {} runs its steps; others may stop it",
                        pushed.id
                    ),
                ));
            }
            let merged = EnrollmentSynced {
                step: pushed.step,
                channel: pushed.channel,
                due_at: pushed.due_at,
                state: pushed.state,
                ended_at: pushed.ended_at,
                stop_reason: pushed.stop_reason.clone(),
                changed_by: pushed.changed_by.clone(),
                ..known
            };
            store(tx, &merged, false)?;
            merged
        }
    };
    emit(tx, bucket_of(office), &Op::EnrollmentSynced(merged))?;
    effects.changed = true;
    Ok(Verdict::applied())
}

/// Records which replica `user` pushed from last (the owner rule of `enrol_by_rules`).
pub fn note_replica(
    tx: &mut dyn Tx,
    replica_id: &str,
    user: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    tx.exec(
        "INSERT INTO replica_seen (replica_id, user_name, seen_at) VALUES (?1, ?2, ?3) \
         ON CONFLICT (replica_id) DO UPDATE SET user_name = excluded.user_name, \
         seen_at = excluded.seen_at",
        &[
            replica_id.into(),
            user.into(),
            now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                .into(),
        ],
    )?;
    Ok(())
}

fn latest_replica_of(tx: &mut dyn Tx, user: &str) -> Result<Option<String>> {
    Ok(tx
        .query_opt(
            "SELECT replica_id FROM replica_seen WHERE user_name = ?1 \
             ORDER BY seen_at DESC, replica_id LIMIT 1",
            &[user.into()],
        )?
        .and_then(|r| col_text(&r, 0)))
}

/// Enrols the lead of a website registration in every cadence whose intake rule it matches
/// (once per cadence: not when the lead is already enrolled in it). The rules are evaluated
/// here, once, where the registration enters; the replicas that pull it do not evaluate them
/// again. The enrolment's owner: the replica the lead's responsible rep last pushed from, else
/// the replica that pushed the rule. Its owner plans the first step when it pulls it.
pub fn enrol_by_rules(
    tx: &mut dyn Tx,
    registration: &Registration,
    office: Option<&str>,
    lead_owner: Option<&str>,
    now: DateTime<Utc>,
) -> Result<usize> {
    let rules = tx.query(
        "SELECT r.body, r.owner_replica FROM cadence_rule r \
         WHERE r.office IS NULL OR r.office = ?1 ORDER BY r.id",
        &[office.unwrap_or("").into()],
    )?;
    let mut enrolled: Vec<String> = existing_cadences(tx, &registration.lead_id)?;
    let rep_replica = match lead_owner {
        Some(rep) => latest_replica_of(tx, rep)?,
        None => None,
    };
    let mut made = 0;
    for row in rules {
        let rule: CadenceRuleAdded = serde_json::from_str(&col_text(&row, 0).unwrap_or_default())?;
        let matches = rule.kind.is_none_or(|k| k == registration.kind)
            && rule.product.as_deref().is_none_or(|p| {
                registration
                    .product
                    .as_deref()
                    .is_some_and(|q| q.eq_ignore_ascii_case(p))
            })
            && rule
                .country
                .as_deref()
                .is_none_or(|c| registration.details.country.as_deref() == Some(c))
            && rule.office.as_deref().is_none_or(|o| office == Some(o));
        if !matches || enrolled.contains(&rule.cadence_id) {
            continue;
        }
        let Some(version) = tx
            .query_opt(
                "SELECT max(version) FROM cadence_def WHERE cadence_id = ?1",
                &[rule.cadence_id.as_str().into()],
            )?
            .and_then(|r| crate::store::col_int(&r, 0))
        else {
            continue;
        };
        let owner = rep_replica
            .clone()
            .or_else(|| col_text(&row, 1))
            .unwrap_or_default();
        let enrollment = EnrollmentSynced {
            id: uuid::Uuid::now_v7().to_string(),
            lead_id: registration.lead_id.clone(),
            cadence_id: rule.cadence_id.clone(),
            version,
            owner_replica: owner,
            step: 0,
            channel: None,
            due_at: None,
            state: EnrollmentState::Active,
            rep: lead_owner.map(str::to_string),
            enrolled_at: now,
            enrolled_by: format!("rule:{}", rule.id),
            ended_at: None,
            stop_reason: None,
            changed_by: super::SERVER_AUTHOR.to_string(),
        };
        store(tx, &enrollment, true)?;
        emit(tx, bucket_of(office), &Op::EnrollmentSynced(enrollment))?;
        enrolled.push(rule.cadence_id);
        made += 1;
    }
    Ok(made)
}

/// The cadences a lead is enrolled in (any state).
fn existing_cadences(tx: &mut dyn Tx, lead_id: &str) -> Result<Vec<String>> {
    let rows = tx.query(
        "SELECT id FROM record WHERE kind = 'cadence_enrollment' AND lead_id = ?1",
        &[lead_id.into()],
    )?;
    let mut cadences = Vec::new();
    for row in rows {
        if let Some(e) = stored(tx, &col_text(&row, 0).unwrap_or_default(), lead_id)? {
            cadences.push(e.cadence_id);
        }
    }
    Ok(cadences)
}

/// Stops a lead's active enrolments because it moved to another office (before its snapshot
/// goes to the new office, so that office receives them stopped).
pub(super) fn stop_for_move(tx: &mut dyn Tx, lead_id: &str, now: DateTime<Utc>) -> Result<()> {
    let rows = tx.query(
        "SELECT id FROM record WHERE kind = 'cadence_enrollment' AND lead_id = ?1",
        &[lead_id.into()],
    )?;
    for row in rows {
        let id = col_text(&row, 0).unwrap_or_default();
        let Some(mut e) = stored(tx, &id, lead_id)? else {
            continue;
        };
        if e.state != EnrollmentState::Active {
            continue;
        }
        e.state = EnrollmentState::Stopped;
        e.due_at = None;
        e.ended_at = Some(now);
        e.stop_reason = Some("moved_office".into());
        e.changed_by = super::SERVER_AUTHOR.to_string();
        store(tx, &e, false)?;
    }
    Ok(())
}
