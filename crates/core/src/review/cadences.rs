//! The managers' cadence review (issue 12): per cadence and per step, how many leads were
//! enrolled, completed, replied, booked a meeting, opted out or bounced, and how long it took
//! from a lead's registration to the cadence's first touch, for the enrolments that started in a
//! period, in one office.
//!
//! Everything is read from the enrolment rows themselves: an enrolment's `step` only moves past a
//! step when that step ran, and the stop triggers keep it where the lead was, so a stop is
//! counted against the last step that ran before it (a reply answers the last mail or call). A
//! stop recorded by the step's own outbound follow-up (a meeting booked on the call) counts
//! against that step: the follow-up at the stop's instant on the step's channel says so.

use crate::clock::to_text;
use crate::error::{CoreError, Result};
use crate::outreach::cadence::definition::{self, Step};
use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use switchboard_protocol::Channel;
use ts_rs::TS;

/// Which enrolments to count. Every field narrows; `None` means any.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct CadenceReviewQuery {
    /// The office of the enrolled lead.
    pub office: Option<String>,
    /// Enrolled from this instant on (inclusive).
    pub since: Option<DateTime<Utc>>,
    /// Enrolled before this instant (exclusive).
    pub until: Option<DateTime<Utc>>,
    /// One cadence, by name or id.
    pub cadence: Option<String>,
}

/// The counts of one cadence or one step.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct CadenceFigures {
    /// Enrolments counted (for a step: those it ran for or is waiting for).
    #[ts(type = "number")]
    pub enrolled: u64,
    /// Still going (for a step: waiting for it now).
    #[ts(type = "number")]
    pub active: u64,
    /// Went through every step (for a step: the step ran).
    #[ts(type = "number")]
    pub completed: u64,
    #[ts(type = "number")]
    pub replied: u64,
    #[ts(type = "number")]
    pub meetings: u64,
    /// Opted out of the step's channel or of all contact.
    #[ts(type = "number")]
    pub opted_out: u64,
    #[ts(type = "number")]
    pub bounced: u64,
    /// Stopped for another reason: not interested, converted, erased, closed, another office,
    /// by hand, or never planned.
    #[ts(type = "number")]
    pub other_stops: u64,
}

/// One contact step of a cadence version, with its counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct CadenceStepFigures {
    #[ts(type = "number")]
    pub version: i64,
    /// The step's place in its version, from 1 (waits count as steps).
    #[ts(type = "number")]
    pub number: u32,
    pub step: Step,
    pub channel: Option<Channel>,
    /// Stops are counted against the last step that ran before them.
    pub figures: CadenceFigures,
}

/// Time from registration to the cadence's first touch, over the enrolments touched so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct FirstTouch {
    #[ts(type = "number")]
    pub touched: u64,
    #[ts(type = "number | null")]
    pub median_seconds: Option<i64>,
    #[ts(type = "number | null")]
    pub p90_seconds: Option<i64>,
}

/// One cadence's review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct CadenceReviewRow {
    pub cadence_id: String,
    pub cadence: String,
    pub figures: CadenceFigures,
    pub first_touch: FirstTouch,
    /// Contact steps (not waits) in version and step order.
    pub steps: Vec<CadenceStepFigures>,
}

/// The review of every cadence with enrolments in the query, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct CadenceReview {
    pub cadences: Vec<CadenceReviewRow>,
}

/// How an enrolment ended, as the review counts it.
#[derive(Clone, Copy)]
enum End {
    Active,
    Completed,
    Replied,
    Meeting,
    OptedOut,
    Bounced,
    Other,
}

impl End {
    fn read(state: &str, kind: &str) -> End {
        match (state, kind) {
            ("active", _) => End::Active,
            ("completed", _) => End::Completed,
            (_, "replied") => End::Replied,
            (_, "meeting_booked") => End::Meeting,
            (_, "opted_out") => End::OptedOut,
            (_, "bounced") => End::Bounced,
            _ => End::Other,
        }
    }

    fn add_to(self, f: &mut CadenceFigures, n: u64) {
        let slot = match self {
            End::Active => &mut f.active,
            End::Completed => &mut f.completed,
            End::Replied => &mut f.replied,
            End::Meeting => &mut f.meetings,
            End::OptedOut => &mut f.opted_out,
            End::Bounced => &mut f.bounced,
            End::Other => &mut f.other_stops,
        };
        *slot += n;
    }
}

/// The WHERE clause and its parameters: only the conditions given, so the period can use
/// `cadence_enrollment_by_start` (an `?1 IS NULL OR …` form would scan every enrolment).
fn filter(conn: &Connection, q: &CadenceReviewQuery) -> Result<(String, String, Vec<Value>)> {
    if let (Some(since), Some(until)) = (q.since, q.until) {
        if since >= until {
            return Err(CoreError::BadInput(
                "the period ends before it starts: give an end after the start".into(),
            ));
        }
    }
    let mut conditions = Vec::new();
    let mut params = Vec::new();
    let mut join = String::new();
    if let Some(since) = q.since {
        params.push(Value::Text(to_text(since)));
        conditions.push(format!("e.enrolled_at >= ?{}", params.len()));
    }
    if let Some(until) = q.until {
        params.push(Value::Text(to_text(until)));
        conditions.push(format!("e.enrolled_at < ?{}", params.len()));
    }
    if let Some(cadence) = q.cadence.as_deref() {
        params.push(Value::Text(definition::find(conn, cadence)?.id));
        conditions.push(format!("e.cadence_id = ?{}", params.len()));
    }
    if let Some(office) = q.office.as_deref().map(str::trim) {
        join = "JOIN lead l ON l.id = e.lead_id".into();
        params.push(Value::Text(office.to_string()));
        conditions.push(format!("l.office = ?{}", params.len()));
    }
    let clause = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    Ok((join, clause, params))
}

/// The cadence review for `q`.
pub fn review(conn: &Connection, q: &CadenceReviewQuery) -> Result<CadenceReview> {
    let (join, clause, params) = filter(conn, q)?;
    // One pass over the enrolments in the period, grouped down to a few rows per step.
    let mut stmt = conn.prepare(&counts_sql(&join, &clause))?;
    let groups: Vec<(String, i64, i64, String, String, bool, u64)> = stmt
        .query_map(params_from_iter(params.iter()), |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut rows: BTreeMap<String, CadenceReviewRow> = BTreeMap::new();
    let mut steps_of: BTreeMap<(String, i64), Vec<Step>> = BTreeMap::new();
    for (cadence_id, version, at, state, kind, step_ran, n) in groups {
        let row = match rows.get_mut(&cadence_id) {
            Some(row) => row,
            None => {
                let name = definition::find(conn, &cadence_id)?.name;
                rows.entry(cadence_id.clone()).or_insert(CadenceReviewRow {
                    cadence_id: cadence_id.clone(),
                    cadence: name,
                    figures: CadenceFigures::default(),
                    first_touch: FirstTouch::default(),
                    steps: Vec::new(),
                })
            }
        };
        let key = (cadence_id.clone(), version);
        if !steps_of.contains_key(&key) {
            let steps = definition::steps_of(conn, &cadence_id, version)?;
            row.steps.extend(contact_steps(version, &steps));
            steps_of.insert(key.clone(), steps);
        }
        let end = End::read(&state, &kind);
        row.figures.enrolled += n;
        end.add_to(&mut row.figures, n);
        let steps = &steps_of[&key];
        // A completed enrolment's `step` is the number of steps: every step ran. An outcome
        // that stops the cadence as the step itself is logged (a meeting booked on the call)
        // stops it before it advances: that step ran too.
        let at = (usize::try_from(at).unwrap_or(0) + usize::from(step_ran)).min(steps.len());
        for figures in row.steps.iter_mut().filter(|s| s.version == version) {
            let index = figures.number as usize - 1;
            let f = &mut figures.figures;
            if index < at {
                f.enrolled += n;
                f.completed += n;
                if !matches!(end, End::Active | End::Completed)
                    && Some(index) == last_ran(steps, at)
                {
                    end.add_to(f, n);
                }
            } else if index == at && matches!(end, End::Active) {
                f.enrolled += n;
                f.active += n;
            }
        }
    }
    for row in rows.values_mut() {
        row.steps.sort_by_key(|s| (s.version, s.number));
    }
    for (cadence_id, touch) in first_touches(conn, &join, &clause, &params)? {
        if let Some(row) = rows.get_mut(&cadence_id) {
            row.first_touch = touch;
        }
    }
    let mut cadences: Vec<CadenceReviewRow> = rows.into_values().collect();
    cadences.sort_by_key(|c| c.cadence.to_lowercase());
    Ok(CadenceReview { cadences })
}

/// The counts of the enrolments `clause` selects, grouped by cadence, version, step and how
/// they ended; the last column says whether a stop came with the step's own follow-up.
fn counts_sql(join: &str, clause: &str) -> String {
    format!(
        "SELECT e.cadence_id, e.version, e.step, e.state,
                CASE WHEN e.stop_reason IN ('replied', 'meeting_booked', 'bounced')
                          THEN e.stop_reason
                     WHEN e.stop_reason LIKE 'opted\\_out\\_%' ESCAPE '\\' THEN 'opted_out'
                     ELSE '' END,
                e.state = 'stopped' AND e.channel IS NOT NULL AND EXISTS (
                    SELECT 1 FROM follow_up f
                     WHERE f.lead_id = e.lead_id AND f.occurred_at = e.ended_at
                       AND f.direction = 'out' AND f.channel = e.channel
                       AND f.outcome = e.stop_reason),
                count(*)
         FROM cadence_enrollment e {join} {clause}
         GROUP BY 1, 2, 3, 4, 5, 6"
    )
}

/// The contact steps of a version, with empty counts.
fn contact_steps(version: i64, steps: &[Step]) -> impl Iterator<Item = CadenceStepFigures> + '_ {
    steps.iter().enumerate().filter_map(move |(i, step)| {
        step.channel().map(|channel| CadenceStepFigures {
            version,
            number: i as u32 + 1,
            step: step.clone(),
            channel: Some(channel),
            figures: CadenceFigures::default(),
        })
    })
}

/// The last contact step before index `at`, the one that ran last.
fn last_ran(steps: &[Step], at: usize) -> Option<usize> {
    (0..at).rev().find(|&i| steps[i].channel().is_some())
}

/// Per cadence, the time from each touched enrolment's registration (the lead's latest
/// submission at or before the enrolment, else the lead's creation) to its first outbound
/// follow-up at or after the enrolment, on whatever channel.
fn first_touches(
    conn: &Connection,
    join: &str,
    clause: &str,
    params: &[Value],
) -> Result<BTreeMap<String, FirstTouch>> {
    let mut stmt = conn.prepare(&format!(
        "SELECT cadence_id, unixepoch(touched) - unixepoch(registered) FROM (
             SELECT e.cadence_id,
                    (SELECT min(f.occurred_at) FROM follow_up f
                      WHERE f.lead_id = e.lead_id AND f.occurred_at >= e.enrolled_at
                        AND f.direction = 'out') AS touched,
                    coalesce((SELECT max(r.submitted_at) FROM registration r
                               WHERE r.lead_id = e.lead_id AND r.submitted_at <= e.enrolled_at),
                             (SELECT created_at FROM lead WHERE id = e.lead_id)) AS registered
             FROM cadence_enrollment e {join} {clause})
         WHERE touched IS NOT NULL"
    ))?;
    let mut seconds: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let mut found = stmt.query(params_from_iter(params.iter()))?;
    while let Some(r) = found.next()? {
        let (cadence_id, took): (String, Option<i64>) = (r.get(0)?, r.get(1)?);
        if let Some(took) = took {
            seconds.entry(cadence_id).or_default().push(took.max(0));
        }
    }
    Ok(seconds
        .into_iter()
        .map(|(cadence_id, mut s)| {
            s.sort_unstable();
            let at = |q: f64| s[((s.len() - 1) as f64 * q).round() as usize];
            let touch = FirstTouch {
                touched: s.len() as u64,
                median_seconds: Some(at(0.5)),
                p90_seconds: Some(at(0.9)),
            };
            (cadence_id, touch)
        })
        .collect())
}

#[cfg(test)]
mod tests;
