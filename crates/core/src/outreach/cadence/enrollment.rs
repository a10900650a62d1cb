//! Leads in cadences: enrolling (by hand, many at once, in the caller's one transaction),
//! planning the next step, advancing when the step's follow-up is logged, stopping, and the due
//! steps as tasks with the gate's answer at the moment asked. The only writer of
//! `cadence_enrollment`, apart from the stop and intake-rule triggers of migration 0011, which
//! fire where the events are recorded (lower parts of the core that may not call up here). A
//! follow-up's outcome is not one of them: `followup` calls `stop_on_outcome` (migration 0021).

use crate::clock::{new_id, to_text};
use crate::compliance::gate::{Decision, DecisionView, Gate};
use crate::error::{CoreError, Result};
use crate::outreach::cadence::definition::{self, Step};
use crate::outreach::cadence::schedule::{next_due, Place, Planned};
use crate::people::leads::{self, parse_time};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;
use std::collections::HashMap;
use switchboard_protocol::{
    Channel, Direction, EnrollmentState, EnrollmentSynced, FollowUp, Lead, LeadStatus, Outcome,
};
use ts_rs::TS;

/// One lead in one cadence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export, rename = "CadenceEnrollment")]
pub struct Enrollment {
    pub id: String,
    pub lead_id: String,
    pub cadence_id: String,
    pub cadence: String,
    /// The version the lead started on and keeps.
    #[ts(type = "number")]
    pub version: i64,
    /// Index of the next step to run.
    #[ts(type = "number")]
    pub step: i64,
    pub channel: Option<Channel>,
    pub due_at: Option<DateTime<Utc>>,
    /// `active`, `completed` or `stopped`.
    pub state: String,
    /// The rep whose queue the steps go to.
    pub rep: Option<String>,
    pub enrolled_at: DateTime<Utc>,
    /// Who enrolled the lead, or `rule:<id>` for an intake rule.
    pub enrolled_by: String,
    pub ended_at: Option<DateTime<Utc>>,
    /// Why it stopped: `replied`, `meeting_booked`, `not_interested`, `opted_out_email`, …
    pub stop_reason: Option<String>,
    /// The replica that runs the steps; `None`: this one. Others show the enrolment and may
    /// stop it, never advance it.
    pub owner_replica: Option<String>,
}

// A row another replica owns keeps `due_at` empty (nothing here runs it) and shows the owner's.
const COLUMNS: &str = "e.id, e.lead_id, e.cadence_id, c.name, e.version, e.step, e.channel,
    CASE WHEN e.state = 'active' THEN coalesce(e.due_at, e.remote_due_at) END, e.state, e.rep,
    e.enrolled_at, e.enrolled_by, e.ended_at, e.stop_reason, e.owner_replica";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Enrollment> {
    let channel: Option<String> = r.get(6)?;
    Ok(Enrollment {
        id: r.get(0)?,
        lead_id: r.get(1)?,
        cadence_id: r.get(2)?,
        cadence: r.get(3)?,
        version: r.get(4)?,
        step: r.get(5)?,
        channel: channel.and_then(|c| c.parse().ok()),
        due_at: parse_time(r.get(7)?),
        state: r.get(8)?,
        rep: r.get(9)?,
        enrolled_at: parse_time(r.get(10)?).unwrap_or_default(),
        enrolled_by: r.get(11)?,
        ended_at: parse_time(r.get(12)?),
        stop_reason: r.get(13)?,
        owner_replica: r.get(14)?,
    })
}

/// A lead that was not enrolled, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct NotEnrolled {
    pub lead: String,
    pub reason: String,
}

/// What enrolling did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export, rename = "CadenceEnrolled")]
pub struct Enrolled {
    pub cadence: String,
    #[ts(type = "number")]
    pub version: i64,
    pub enrolled: u64,
    /// Leads already active in this cadence (left as they were).
    pub already: u64,
    pub skipped: Vec<NotEnrolled>,
}

/// Enrolls leads (ids or email addresses) in a cadence at its current version, inside the
/// caller's transaction; each lead's first step is planned in its own time zone. Erased and
/// closed leads are skipped with the reason; leads already active in the cadence stay as they
/// are. Statements are prepared once, so 100,000 leads take one pass.
pub fn enroll(
    conn: &Connection,
    cadence: &str,
    lead_refs: &[String],
    actor: &str,
    at: DateTime<Utc>,
) -> Result<Enrolled> {
    let cadence = definition::find(conn, cadence)?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO cadence_enrollment(id, lead_id, cadence_id, version, step, channel, due_at,
                                        rep, enrolled_at, enrolled_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT DO NOTHING",
    )?;
    let mut done = Enrolled {
        cadence: cadence.name.clone(),
        version: cadence.version,
        enrolled: 0,
        already: 0,
        skipped: Vec::new(),
    };
    let at_text = to_text(at);
    // Most leads share a few places (country and zone): each place's first step is planned once.
    let mut plans: HashMap<(Option<String>, Option<String>), Option<Planned>> = HashMap::new();
    let mut by_id = conn
        .prepare_cached("SELECT id, status, country, time_zone, owner FROM lead WHERE id = ?1")?;
    for reference in lead_refs {
        let found: Option<Brief> = by_id
            .query_row([reference.trim()], |r| {
                Ok(Brief {
                    id: r.get(0)?,
                    status: r.get(1)?,
                    country: r.get(2)?,
                    time_zone: r.get(3)?,
                    owner: r.get(4)?,
                })
            })
            .optional()?;
        let lead = match found {
            Some(lead) => lead,
            None => match leads::find(conn, reference) {
                Ok(lead) => Brief {
                    status: lead.status.as_str().to_string(),
                    id: lead.id,
                    country: lead.country,
                    time_zone: lead.time_zone,
                    owner: lead.owner,
                },
                Err(CoreError::NotFound(reason)) => {
                    done.skipped.push(NotEnrolled {
                        lead: reference.clone(),
                        reason,
                    });
                    continue;
                }
                Err(other) => return Err(other),
            },
        };
        let key = (lead.country.clone(), lead.time_zone.clone());
        let planned = match unenrollable(&lead.status) {
            Some(reason) => Err(reason),
            None => {
                let plan = match plans.get(&key) {
                    Some(plan) => *plan,
                    None => {
                        let place = Place::of(&leads::get(conn, &lead.id)?);
                        let plan = next_due(&cadence.steps, 0, at, &place);
                        plans.insert(key, plan);
                        plan
                    }
                };
                plan.ok_or_else(no_calling_hour)
            }
        };
        let planned = match planned {
            Ok(p) => p,
            Err(reason) => {
                done.skipped.push(NotEnrolled {
                    lead: reference.clone(),
                    reason,
                });
                continue;
            }
        };
        let rep = lead.owner.as_deref().unwrap_or(actor);
        let added = insert.execute(params![
            new_id(at),
            lead.id,
            cadence.id,
            cadence.version,
            planned.step as i64,
            planned.channel.as_str(),
            to_text(planned.due_at),
            rep,
            at_text,
            actor
        ])?;
        if added == 1 {
            done.enrolled += 1;
        } else {
            done.already += 1;
        }
    }
    Ok(done)
}

/// What enrolling needs of a lead.
struct Brief {
    id: String,
    status: String,
    country: Option<String>,
    time_zone: Option<String>,
    owner: Option<String>,
}

/// Why a lead in this status cannot be enrolled, if it cannot.
fn unenrollable(status: &str) -> Option<String> {
    match status {
        s if s == LeadStatus::Erased.as_str() => Some("the person was erased".into()),
        s if s == LeadStatus::Closed.as_str() => Some("the lead is closed".into()),
        _ => None,
    }
}

fn no_calling_hour() -> String {
    "no instant fits a call inside calling hours in every zone of the lead's country: \
     set the lead's time zone"
        .to_string()
}

/// The first step of a lead new to a cadence, or why it cannot be enrolled.
fn plan_first(
    steps: &[Step],
    lead: &Lead,
    at: DateTime<Utc>,
) -> std::result::Result<Planned, String> {
    if let Some(reason) = unenrollable(lead.status.as_str()) {
        return Err(reason);
    }
    next_due(steps, 0, at, &Place::of(lead)).ok_or_else(no_calling_hour)
}

/// Plans the first step of enrolments the intake-rule trigger made (their `due_at` is empty),
/// counting from the registration's arrival. Returns how many were planned.
pub fn plan_pending(conn: &Connection) -> Result<usize> {
    let pending: Vec<(String, String, String, i64, String)> = conn
        .prepare_cached(
            "SELECT id, lead_id, cadence_id, version, enrolled_at FROM cadence_enrollment
             WHERE due_at IS NULL AND state = 'active' AND owner_replica IS NULL",
        )?
        .query_map([], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    for (id, lead_id, cadence_id, version, enrolled_at) in &pending {
        let steps = definition::steps_of(conn, cadence_id, *version)?;
        let lead = leads::get(conn, lead_id)?;
        let at = parse_time(Some(enrolled_at.clone())).unwrap_or_default();
        let rep = lead.owner.clone();
        match plan_first(&steps, &lead, at) {
            Ok(p) => conn
                .prepare_cached(
                    "UPDATE cadence_enrollment SET step = ?2, channel = ?3, due_at = ?4,
                            rep = coalesce(rep, ?5)
                     WHERE id = ?1",
                )?
                .execute(params![
                    id,
                    p.step as i64,
                    p.channel.as_str(),
                    to_text(p.due_at),
                    rep
                ])?,
            Err(reason) => conn
                .prepare_cached(
                    "UPDATE cadence_enrollment SET state = 'stopped', ended_at = enrolled_at,
                            stop_reason = ?2
                     WHERE id = ?1",
                )?
                .execute(params![id, reason])?,
        };
    }
    Ok(pending.len())
}

/// Advances the lead's enrolments whose due step is on the follow-up's channel: an outbound
/// contact logged at or after the step fell due completes it, and the next step is planned from
/// that moment. Called by `followup::log` for every follow-up it records.
pub fn on_follow_up(conn: &Connection, f: &FollowUp) -> Result<()> {
    if f.direction != Direction::Out {
        return Ok(());
    }
    let due: Vec<(String, String, i64, i64)> = conn
        .prepare_cached(
            "SELECT id, cadence_id, version, step FROM cadence_enrollment
             WHERE lead_id = ?1 AND state = 'active' AND channel = ?2 AND due_at <= ?3",
        )?
        .query_map(
            params![f.lead_id, f.channel.as_str(), to_text(f.occurred_at)],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )?
        .collect::<rusqlite::Result<_>>()?;
    if due.is_empty() {
        return Ok(());
    }
    let place = Place::of(&leads::get(conn, &f.lead_id)?);
    for (id, cadence_id, version, step) in due {
        let steps = definition::steps_of(conn, &cadence_id, version)?;
        let next = next_due(&steps, step as usize + 1, f.occurred_at, &place);
        match next {
            Some(p) => conn
                .prepare_cached(
                    "UPDATE cadence_enrollment SET step = ?2, channel = ?3, due_at = ?4
                     WHERE id = ?1",
                )?
                .execute(params![
                    id,
                    p.step as i64,
                    p.channel.as_str(),
                    to_text(p.due_at)
                ])?,
            None => conn
                .prepare_cached(
                    "UPDATE cadence_enrollment SET state = 'completed', step = ?2, channel = NULL,
                            due_at = NULL, ended_at = ?3
                     WHERE id = ?1",
                )?
                .execute(params![id, steps.len() as i64, to_text(f.occurred_at)])?,
        };
    }
    Ok(())
}

/// Whether a follow-up with this outcome, in either direction, ends the lead's cadences: the
/// person answered, booked, declined, bought, or the address bounced.
fn ends_cadences(outcome: Outcome) -> bool {
    match outcome {
        Outcome::Replied
        | Outcome::MeetingBooked
        | Outcome::NotInterested
        | Outcome::Converted
        | Outcome::Bounced => true,
        Outcome::Connected
        | Outcome::NoAnswer
        | Outcome::Voicemail
        | Outcome::Busy
        | Outcome::WrongNumber
        | Outcome::CallbackRequested
        | Outcome::Sent
        | Outcome::Returned => false,
    }
}

/// Stops the lead's active enrolments when a follow-up just stored (logged here or pulled from
/// another laptop) ends them (`ends_cadences`), at the follow-up's time and with its outcome as
/// the reason. Called by `followup::insert_indexed` for every new follow-up; it was migration
/// 0011's trigger until 0021, whose program ran for every follow-up, stopping or not.
pub fn stop_on_outcome(conn: &Connection, f: &FollowUp) -> Result<()> {
    if !ends_cadences(f.outcome) {
        return Ok(());
    }
    conn.prepare_cached(
        "UPDATE cadence_enrollment
            SET state = 'stopped', due_at = NULL, ended_at = ?2, stop_reason = ?3
          WHERE lead_id = ?1 AND state = 'active'",
    )?
    .execute(params![
        f.lead_id,
        to_text(f.occurred_at),
        f.outcome.as_str()
    ])?;
    Ok(())
}

/// Stops a lead's active enrolments by hand (in one cadence, or all); returns how many.
pub fn stop(
    conn: &Connection,
    lead: &str,
    cadence: Option<&str>,
    actor: &str,
    at: DateTime<Utc>,
) -> Result<usize> {
    let lead = leads::find(conn, lead)?;
    let cadence_id = cadence
        .map(|c| definition::find(conn, c).map(|c| c.id))
        .transpose()?;
    let stopped = conn
        .prepare_cached(
            "UPDATE cadence_enrollment SET state = 'stopped', due_at = NULL, ended_at = ?3,
                    stop_reason = ?4
             WHERE lead_id = ?1 AND state = 'active' AND (?2 IS NULL OR cadence_id = ?2)",
        )?
        .execute(params![
            lead.id,
            cadence_id,
            to_text(at),
            format!("manual: {actor}")
        ])?;
    Ok(stopped)
}

/// A lead's enrolments, newest first.
pub fn for_lead(conn: &Connection, lead_id: &str) -> Result<Vec<Enrollment>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM cadence_enrollment e JOIN cadence c ON c.id = e.cadence_id
         WHERE e.lead_id = ?1 ORDER BY e.enrolled_at DESC, e.id"
    ))?;
    let rows = stmt.query_map([lead_id], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A cadence's enrolments, newest first, up to `limit`.
pub fn of_cadence(conn: &Connection, cadence_id: &str, limit: u32) -> Result<Vec<Enrollment>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM cadence_enrollment e JOIN cadence c ON c.id = e.cadence_id
         WHERE e.cadence_id = ?1 ORDER BY e.enrolled_at DESC, e.id LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![cadence_id, limit], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// How many of a cadence's enrolments are in each state, and why the stopped ones stopped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TS)]
#[ts(export, rename = "CadenceCounts")]
pub struct Counts {
    pub active: u64,
    pub completed: u64,
    pub stopped: u64,
    /// `(reason, count)`, most frequent first.
    pub stop_reasons: Vec<(String, u64)>,
}

/// The state counts of a cadence's enrolments.
pub fn counts(conn: &Connection, cadence_id: &str) -> Result<Counts> {
    let mut counts = Counts::default();
    let mut stmt = conn.prepare_cached(
        "SELECT state, coalesce(stop_reason, ''), count(*) FROM cadence_enrollment
         WHERE cadence_id = ?1 GROUP BY 1, 2 ORDER BY 3 DESC, 2",
    )?;
    let mut rows = stmt.query([cadence_id])?;
    while let Some(r) = rows.next()? {
        let (state, reason, n): (String, String, u64) = (r.get(0)?, r.get(1)?, r.get(2)?);
        match state.as_str() {
            "active" => counts.active += n,
            "completed" => counts.completed += n,
            _ => {
                counts.stopped += n;
                counts.stop_reasons.push((reason, n));
            }
        }
    }
    Ok(counts)
}

/// A due step: a task for the responsible rep, with the gate's answer for its channel now.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export, rename = "CadenceTask")]
pub struct Task {
    pub enrollment: Enrollment,
    pub lead_name: Option<String>,
    pub step: Step,
    /// What comes after this step, if anything.
    pub then: Option<String>,
    #[ts(as = "DecisionView")]
    pub gate: Decision,
}

/// The steps due by `at`, oldest first (for one rep, or everyone), each checked by the gate at
/// `at` — a step is run only when the gate allows it then, whatever held when it was planned.
pub fn due(
    conn: &Connection,
    at: DateTime<Utc>,
    rep: Option<&str>,
    limit: u32,
) -> Result<Vec<Task>> {
    plan_pending(conn)?;
    let found: Vec<Enrollment> = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM cadence_enrollment e JOIN cadence c ON c.id = e.cadence_id
             WHERE e.state = 'active' AND e.due_at <= ?1 AND (?2 IS NULL OR e.rep = ?2)
             ORDER BY e.due_at, e.id LIMIT ?3"
        ))?
        .query_map(params![to_text(at), rep, limit], from_row)?
        .collect::<rusqlite::Result<_>>()?;
    let gate = Gate::new(conn)?;
    found
        .into_iter()
        .map(|e| {
            let steps = definition::steps_of(conn, &e.cadence_id, e.version)?;
            let lead = leads::get(conn, &e.lead_id)?;
            let index = e.step as usize;
            let step = steps.get(index).cloned().ok_or_else(|| {
                CoreError::BadInput(format!("enrolment {} points past its steps", e.id))
            })?;
            let channel = step.channel().unwrap_or(Channel::Email);
            Ok(Task {
                gate: gate.check(&lead, channel, at)?,
                lead_name: lead.name,
                then: steps.get(index + 1).map(Step::label),
                step,
                enrollment: e,
            })
        })
        .collect()
}

/// A lead's due cadence steps as sentences for the call session: "cadence 'Trial' step 1 of 3
/// due: call: Introduce the trial (then: wait 2 business day(s))".
pub fn due_steps(conn: &Connection, lead_id: &str, at: DateTime<Utc>) -> Result<Vec<String>> {
    let at_text = to_text(at);
    for_lead(conn, lead_id)?
        .into_iter()
        .filter(|e| {
            e.state == "active"
                && e.owner_replica.is_none()
                && e.due_at.is_some_and(|d| to_text(d) <= at_text)
        })
        .map(|e| {
            let steps = definition::steps_of(conn, &e.cadence_id, e.version)?;
            let index = e.step as usize;
            let step = steps.get(index).map(Step::label).unwrap_or_default();
            let then = steps
                .get(index + 1)
                .map(|s| format!(" (then: {})", s.label()))
                .unwrap_or_default();
            Ok(format!(
                "cadence '{}' step {} of {} due: {step}{then}",
                e.cadence,
                index + 1,
                steps.len()
            ))
        })
        .collect()
}

/// The active enrolment with this id, if any (for tests and the CLI).
pub fn find(conn: &Connection, id: &str) -> Result<Option<Enrollment>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM cadence_enrollment e JOIN cadence c ON c.id = e.cadence_id
             WHERE e.id = ?1"
        ))?
        .query_row([id], from_row)
        .optional()?)
}

/// Queues every enrolment changed here since the last push (`unsent`, migration 0013) for the
/// push, in the order they were made; called at the start of each push, in its transaction.
/// Enrolling marks rows instead of writing an outbox row per lead.
pub fn queue_unsent(conn: &Connection) -> Result<()> {
    crate::store::outbox::enqueue_unsent_enrollments(conn)?;
    conn.prepare_cached("UPDATE cadence_enrollment SET unsent = 0 WHERE unsent = 1")?
        .execute([])?;
    Ok(())
}

/// An enrolment's state as it is pushed: `replica_id` is this replica's id (the owner of the
/// enrolments it made), `user` the signed-in account pushing it.
pub fn synced_op(
    conn: &Connection,
    id: &str,
    replica_id: &str,
    user: &str,
) -> Result<Option<EnrollmentSynced>> {
    Ok(conn
        .prepare_cached(
            "SELECT id, lead_id, cadence_id, version, coalesce(owner_replica, ?2), step, channel,
                    coalesce(due_at, remote_due_at), state, rep, enrolled_at, enrolled_by,
                    ended_at, stop_reason
             FROM cadence_enrollment WHERE id = ?1",
        )?
        .query_row(params![id, replica_id], |r| {
            let channel: Option<String> = r.get(6)?;
            let state: String = r.get(8)?;
            Ok(EnrollmentSynced {
                id: r.get(0)?,
                lead_id: r.get(1)?,
                cadence_id: r.get(2)?,
                version: r.get(3)?,
                owner_replica: r.get(4)?,
                step: r.get(5)?,
                channel: channel.and_then(|c| c.parse().ok()),
                due_at: parse_time(r.get(7)?),
                state: EnrollmentState::parse(&state).unwrap_or(EnrollmentState::Active),
                rep: r.get(9)?,
                enrolled_at: parse_time(r.get(10)?).unwrap_or_default(),
                enrolled_by: r.get(11)?,
                ended_at: parse_time(r.get(12)?),
                stop_reason: r.get(13)?,
                changed_by: user.to_string(),
            })
        })
        .optional()?)
}

/// Applies a pulled enrolment state. A new one is stored with its owner (`None` when the owner
/// is this replica, `replica_id`); a known one takes the pulled state only when it ranks higher
/// (`EnrollmentSynced::rank`: a stop beats any advance, whatever order they arrive in). Its
/// owner never changes. An enrolment of a cadence version this replica does not hold (another
/// office's cadence) or of a lead it does not hold is left out.
pub fn apply_synced(conn: &Connection, e: &EnrollmentSynced, replica_id: &str) -> Result<bool> {
    let known: Option<(String, i64, bool)> = conn
        .prepare_cached(
            "SELECT state, step, coalesce(due_at, remote_due_at) IS NOT NULL
             FROM cadence_enrollment WHERE id = ?1",
        )?
        .query_row([&e.id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let mine = e.owner_replica == replica_id;
    let due = e.due_at.map(to_text);
    let (own_due, remote_due) = if mine {
        (due.clone(), None)
    } else {
        (None, due.clone())
    };
    match known {
        None => {
            let usable: bool = conn
                .prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM cadence_version
                                     WHERE cadence_id = ?1 AND version = ?2)
                        AND EXISTS (SELECT 1 FROM lead WHERE id = ?3)",
                )?
                .query_row(params![e.cadence_id, e.version, e.lead_id], |r| r.get(0))?;
            if !usable {
                return Ok(false);
            }
            if e.state == EnrollmentState::Active {
                // One active enrolment per lead and cadence: a second one made elsewhere at the
                // same time (two laptops enrolled the lead offline) is shown stopped here.
                let active: bool = conn
                    .prepare_cached(
                        "SELECT EXISTS (SELECT 1 FROM cadence_enrollment
                         WHERE lead_id = ?1 AND cadence_id = ?2 AND state = 'active')",
                    )?
                    .query_row(params![e.lead_id, e.cadence_id], |r| r.get(0))?;
                if active {
                    return Ok(false);
                }
            }
            conn.prepare_cached(
                "INSERT INTO cadence_enrollment(id, lead_id, cadence_id, version, step, channel,
                        due_at, state, rep, enrolled_at, enrolled_by, ended_at, stop_reason,
                        owner_replica, remote_due_at, unsent)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, 0)",
            )?
            .execute(params![
                e.id,
                e.lead_id,
                e.cadence_id,
                e.version,
                e.step,
                e.channel.map(|c| c.as_str()),
                own_due,
                e.state.as_str(),
                e.rep,
                to_text(e.enrolled_at),
                e.enrolled_by,
                e.ended_at.map(to_text),
                e.stop_reason,
                (!mine).then_some(e.owner_replica.as_str()),
                remote_due
            ])?;
            Ok(true)
        }
        Some((state, step, planned)) => {
            let state = EnrollmentState::parse(&state).unwrap_or(EnrollmentState::Active);
            if e.own_rank() <= EnrollmentSynced::rank(state, step, planned) {
                return Ok(false);
            }
            let active = e.state == EnrollmentState::Active;
            conn.prepare_cached(
                "UPDATE cadence_enrollment SET step = ?2, channel = ?3, state = ?4,
                        ended_at = ?5, stop_reason = ?6,
                        due_at = CASE WHEN owner_replica IS NULL AND ?7 THEN ?8 END,
                        remote_due_at = CASE WHEN owner_replica IS NOT NULL AND ?7 THEN ?8 END
                 WHERE id = ?1",
            )?
            .execute(params![
                e.id,
                e.step,
                e.channel.map(|c| c.as_str()),
                e.state.as_str(),
                e.ended_at.map(to_text),
                e.stop_reason,
                active,
                due
            ])?;
            Ok(true)
        }
    }
}

#[cfg(test)]
mod tests;
