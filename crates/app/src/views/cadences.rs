//! Cadences as the screens and `switchboard cadence report` show them: the cadences to enrol in,
//! enrolling many leads at once, a lead's enrolments with the step it is on and what comes next,
//! stopping one by hand, and the cadence review (one line per cadence, then one per contact step,
//! each named in words and with its times written out).

use crate::desk::Desk;
use serde::Serialize;
use switchboard_core::cadence::{definition, enrollment, Cadence, Step};
use switchboard_core::review::cadences::{
    self, CadenceFigures, CadenceReviewQuery, CadenceStepFigures, FirstTouch,
};
use switchboard_core::{Result, Store};
use ts_rs::TS;

/// One of a lead's enrolments as the lead page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct LeadCadence {
    pub enrollment: enrollment::Enrollment,
    /// How many steps its version has.
    pub steps: u32,
    /// The step it is on (active) — its kind, template or script.
    pub current: Option<Step>,
    /// The step after it, if any.
    pub next: Option<Step>,
}

/// The cadences with their current steps.
pub fn list(store: &Store) -> Result<Vec<Cadence>> {
    definition::list(store.conn())
}

/// A lead's enrolments (id), newest first, each with its current and next step.
pub fn for_lead(store: &Store, lead: &str) -> Result<Vec<LeadCadence>> {
    let conn = store.conn();
    enrollment::for_lead(conn, lead)?
        .into_iter()
        .map(|e| {
            let steps = definition::steps_of(conn, &e.cadence_id, e.version)?;
            let index = usize::try_from(e.step).unwrap_or(usize::MAX);
            let active = e.state == "active";
            Ok(LeadCadence {
                steps: steps.len() as u32,
                current: active.then(|| steps.get(index).cloned()).flatten(),
                next: active
                    .then(|| steps.get(index.saturating_add(1)).cloned())
                    .flatten(),
                enrollment: e,
            })
        })
        .collect()
}

/// Enrols `leads` (ids or emails) in `cadence` as whoever acts now.
pub fn enroll(desk: &Desk, cadence: &str, leads: &[String]) -> Result<enrollment::Enrolled> {
    desk.act(|tx, actor, at| enrollment::enroll(tx, cadence, leads, actor, at))
}

/// Stops `lead`'s enrolment in `cadence` by hand; returns how many stopped (0 or 1).
pub fn stop(desk: &Desk, lead: &str, cadence: &str) -> Result<u32> {
    desk.act(|tx, actor, at| enrollment::stop(tx, lead, Some(cadence), actor, at))
        .map(|n| n as u32)
}

/// One line of the cadence review: a whole cadence (`step` empty) or one of its steps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct CadenceReviewLine {
    pub cadence_id: String,
    pub cadence: String,
    /// The step in words ("Step 1: Call: Introduce the trial"); empty on the cadence's line.
    pub step: Option<String>,
    pub figures: CadenceFigures,
    /// Time from registration to first touch, on the cadence's line only.
    pub first_touch: Option<FirstTouch>,
    /// The median and 90th percentile in words ("1 h 30 min"), on the cadence's line only.
    pub first_touch_median: Option<String>,
    pub first_touch_p90: Option<String>,
}

/// The cadence review of the enrolments `query` selects, as lines for a table.
pub fn review(store: &Store, query: &CadenceReviewQuery) -> Result<Vec<CadenceReviewLine>> {
    let review = cadences::review(store.conn(), query)?;
    let mut lines = Vec::new();
    for row in review.cadences {
        let versions = row
            .steps
            .iter()
            .map(|s| s.version)
            .collect::<std::collections::BTreeSet<_>>();
        let words = |seconds: Option<i64>| seconds.map(duration_words);
        lines.push(CadenceReviewLine {
            cadence_id: row.cadence_id.clone(),
            cadence: row.cadence.clone(),
            step: None,
            figures: row.figures,
            first_touch_median: words(row.first_touch.median_seconds),
            first_touch_p90: words(row.first_touch.p90_seconds),
            first_touch: Some(row.first_touch),
        });
        for step in row.steps {
            lines.push(CadenceReviewLine {
                cadence_id: row.cadence_id.clone(),
                cadence: row.cadence.clone(),
                step: Some(step_words(&step, versions.len() > 1)),
                figures: step.figures,
                first_touch: None,
                first_touch_median: None,
                first_touch_p90: None,
            });
        }
    }
    Ok(lines)
}

/// "Step 3: Email with template “recap”", or "Version 2, step 3: …" when versions differ.
fn step_words(s: &CadenceStepFigures, name_version: bool) -> String {
    let what = match &s.step {
        Step::Email { template } => format!("Email with template “{template}”"),
        Step::Call { script, .. } => format!("Call: {script}"),
        Step::Letter { template } => format!("Letter with template “{template}”"),
        Step::Wait { business_days } => format!("Wait {business_days} business days"),
    };
    if name_version {
        format!("Version {}, step {}: {what}", s.version, s.number)
    } else {
        format!("Step {}: {what}", s.number)
    }
}

/// A duration in words for people: "45 s", "12 min", "1 h 30 min", "2 d 3 h".
pub fn duration_words(seconds: i64) -> String {
    let s = seconds.max(0);
    let (days, hours, minutes) = (s / 86_400, s % 86_400 / 3_600, s % 3_600 / 60);
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{s} s"),
        (0, 0, m) => format!("{m} min"),
        (0, h, 0) => format!("{h} h"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, 0, _) => format!("{d} d"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

#[cfg(test)]
mod tests {
    use super::duration_words;

    #[test]
    fn durations_read_as_words() {
        let cases = [
            (-5, "0 s"),
            (45, "45 s"),
            (12 * 60 + 5, "12 min"),
            (3_600, "1 h"),
            (5_400, "1 h 30 min"),
            (2 * 86_400, "2 d"),
            (2 * 86_400 + 3 * 3_600 + 59, "2 d 3 h"),
        ];
        for (seconds, words) in cases {
            assert_eq!(duration_words(seconds), words, "{seconds}");
        }
    }
}
