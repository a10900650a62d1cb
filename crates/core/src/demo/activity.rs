//! Demo follow-up history for the leads already in a database, so a fresh demo opens on a working
//! office: reps' calls and emails since each registration, follow-up dates (some already due),
//! a few opt-outs and subscriber requests. Everything goes through the functions real work uses,
//! the compliance gate included: an attempt the gate refuses (a call at night in the lead's time
//! zone, say) becomes an email, or is skipped.

use super::SplitMix;
use crate::error::{CoreError, Result};
use crate::outreach::followup::{self, LogFollowUp};
use crate::people::leads;
use crate::privacy::requests;
use crate::store::Store;
use chrono::{DateTime, Duration, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use switchboard_protocol::{Channel, ConsentScope, Direction, LeadStatus, Outcome, RequestKind};

/// What `generate` recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ActivityReport {
    pub leads_worked: u64,
    pub follow_ups: u64,
    /// Attempts the gate refused on every channel tried.
    pub refused: u64,
    pub opt_outs: u64,
    pub requests: u64,
}

/// Leads per transaction.
const BATCH: usize = 500;

const NOTES: &[&str] = &[
    "Asked for the price list",
    "Wants a call back after lunch",
    "Evaluating two other vendors",
    "Left a message with the assistant",
    "Interested in the annual plan",
    "Sent the brochure they asked for",
];

/// Works the leads of `store` (at most `max_leads`, oldest first) as `reps` would have up to
/// `end`: about seven in ten get one to three attempts after their registration, with speed to
/// lead from minutes to days. The same database, reps and seed give the same history.
pub fn generate(
    store: &mut Store,
    reps: &[String],
    seed: u64,
    end: DateTime<Utc>,
    max_leads: usize,
) -> Result<ActivityReport> {
    if reps.is_empty() || reps.iter().any(|r| r.trim().is_empty()) {
        return Err(CoreError::BadInput(
            "demo activity needs at least one rep name".into(),
        ));
    }
    let ids: Vec<String> = {
        let mut stmt = store.conn().prepare(
            "SELECT id FROM lead WHERE status <> 'erased' ORDER BY created_at, id LIMIT ?1",
        )?;
        let rows = stmt.query_map([max_leads as i64], |r| r.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let mut rng = SplitMix(seed ^ 0x5EED_AC71_u64);
    let mut report = ActivityReport::default();
    for chunk in ids.chunks(BATCH) {
        store.with_tx(|tx| {
            for id in chunk {
                work_lead(tx, id, reps, &mut rng, end, &mut report)?;
            }
            Ok(())
        })?;
    }
    Ok(report)
}

/// Registration to first attempt: a spread like a real team's, from minutes to days.
fn first_delay(rng: &mut SplitMix) -> Duration {
    let minutes = match rng.below(100) {
        0..=19 => 1 + rng.below(4),
        20..=44 => 5 + rng.below(55),
        45..=69 => 60 + rng.below(180),
        70..=84 => 240 + rng.below(1200),
        85..=94 => 1440 + rng.below(2880),
        _ => 4320 + rng.below(7200),
    };
    Duration::minutes(minutes as i64)
}

/// An outcome of `channel` drawn with the odds a sales team sees: most calls go unanswered,
/// most emails are just sent, few end in a booking or a sale.
fn likely_outcome(rng: &mut SplitMix, channel: Channel) -> Outcome {
    let odds = |outcome: Outcome| -> u64 {
        match outcome {
            Outcome::NoAnswer | Outcome::Sent => 40,
            Outcome::Connected | Outcome::Voicemail => 20,
            Outcome::Replied | Outcome::CallbackRequested => 12,
            Outcome::Busy | Outcome::Bounced | Outcome::MeetingBooked | Outcome::NotInterested => 5,
            _ => 2,
        }
    };
    let outcomes = Outcome::allowed_on(channel);
    let total: u64 = outcomes.iter().map(|&o| odds(o)).sum();
    let mut roll = rng.below(total);
    for &outcome in outcomes {
        let weight = odds(outcome);
        if roll < weight {
            return outcome;
        }
        roll -= weight;
    }
    outcomes[0]
}

/// `at`, or when it falls outside 09:00–18:00 in `zone`, a moment in the next such window: reps
/// call in working hours (and the gate refuses calls at night).
fn in_working_hours(rng: &mut SplitMix, at: DateTime<Utc>, zone: Option<&str>) -> DateTime<Utc> {
    let Some(zone) = zone.and_then(|z| z.parse::<Tz>().ok()) else {
        return at;
    };
    let local = at.with_timezone(&zone);
    if (9..18).contains(&local.hour()) {
        return at;
    }
    let day = if local.hour() < 9 {
        local.date_naive()
    } else {
        local.date_naive() + Duration::days(1)
    };
    let nine = day.and_time(NaiveTime::from_hms_opt(9, 0, 0).expect("09:00 exists"));
    match zone.from_local_datetime(&nine).earliest() {
        Some(start) => start.with_timezone(&Utc) + Duration::minutes(rng.below(8 * 60) as i64),
        None => at,
    }
}

fn work_lead(
    tx: &rusqlite::Transaction<'_>,
    id: &str,
    reps: &[String],
    rng: &mut SplitMix,
    end: DateTime<Utc>,
    report: &mut ActivityReport,
) -> Result<()> {
    if rng.below(10) >= 7 {
        return Ok(());
    }
    let lead = leads::get(tx, id)?;
    if lead.status == LeadStatus::Erased {
        return Ok(());
    }
    let registered = lead.last_registered_at.unwrap_or(lead.created_at);
    let rep = &reps[rng.below(reps.len() as u64) as usize];
    let attempts = 1 + rng.below(3);
    let mut at = registered + first_delay(rng);
    let mut worked = false;
    for attempt in 0..attempts {
        at = in_working_hours(rng, at, lead.time_zone.as_deref());
        if at > end {
            break;
        }
        let last = attempt + 1 == attempts;
        let wanted = if lead.phone.is_some() && rng.below(10) < 6 {
            Channel::Phone
        } else {
            Channel::Email
        };
        let mut tried = vec![wanted];
        if wanted == Channel::Phone && lead.email.is_some() {
            tried.push(Channel::Email);
        }
        let mut logged = None;
        for channel in tried {
            let outcome = likely_outcome(rng, channel);
            let open_ended = matches!(
                outcome,
                Outcome::NoAnswer
                    | Outcome::Voicemail
                    | Outcome::Busy
                    | Outcome::CallbackRequested
                    | Outcome::Sent
            );
            let input = LogFollowUp {
                lead: id.to_string(),
                channel,
                direction: Direction::Out,
                outcome,
                note: (rng.below(3) == 0)
                    .then(|| NOTES[rng.below(NOTES.len() as u64) as usize].to_string()),
                occurred_at: at,
                rep: rep.clone(),
                next_follow_up_at: (open_ended && last)
                    .then(|| at + Duration::days(1 + rng.below(10) as i64)),
            };
            match followup::log(tx, &input, end) {
                Ok(_) => {
                    logged = Some(channel);
                    break;
                }
                Err(CoreError::Blocked(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        match logged {
            Some(_) => {
                report.follow_ups += 1;
                worked = true;
            }
            None => report.refused += 1,
        }
        at += Duration::hours(20 + rng.below(72) as i64);
    }
    if worked {
        report.leads_worked += 1;
    }
    let aftermath = at.min(end);
    match rng.below(100) {
        0..=2 if worked => {
            let scope = [ConsentScope::Email, ConsentScope::Phone, ConsentScope::All]
                [rng.below(3) as usize];
            requests::opt_out_request(tx, id, scope, "phone", rep, aftermath)?;
            report.opt_outs += 1;
        }
        3 => {
            // An access request received up to five weeks ago: some are already overdue.
            let received = end - Duration::hours(rng.below(24 * 35) as i64);
            requests::open(
                tx,
                id,
                RequestKind::Access,
                Some("asked by email"),
                received.max(registered),
                rep,
            )?;
            report.requests += 1;
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::intake::import::{self, ImportOptions};
    use crate::review::history::{self, HistoryQuery};
    use crate::FixedClock;
    use chrono::TimeZone;
    use std::sync::Arc;

    fn end() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap()
    }

    fn seeded() -> Store {
        let mut store = Store::open_in_memory(Arc::new(FixedClock::at(end()))).unwrap();
        let mut csv = Vec::new();
        crate::demo::generate(400, 7, &mut csv).unwrap();
        import::import_reader(
            &mut store,
            csv.as_slice(),
            0,
            import::Format::Csv,
            &ImportOptions::default(),
            &mut |_| {},
        )
        .unwrap();
        store
    }

    fn reps() -> Vec<String> {
        vec!["rita".into(), "sam".into()]
    }

    #[test]
    fn works_most_leads_through_the_gate_with_a_spread_of_speed_to_lead() {
        let mut store = seeded();
        let report = generate(&mut store, &reps(), 1, end(), 10_000).unwrap();
        let leads: u64 = store
            .conn()
            .query_row("SELECT count(*) FROM lead", [], |r| r.get(0))
            .unwrap();
        assert!(report.leads_worked > leads / 2, "{report:?} of {leads}");
        assert!(report.follow_ups >= report.leads_worked);
        let page = history::query(store.conn(), &HistoryQuery::default()).unwrap();
        assert_eq!(page.summary.total as u64, report.follow_ups);
        let reps_seen: Vec<_> = page.summary.by_rep.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(reps_seen.len(), 2, "{reps_seen:?}");
        assert!(page.summary.by_channel.len() >= 2, "calls and emails");
        // Nothing is dated after the end, and nothing a gate would refuse was recorded: every
        // follow-up's lead was contactable then, which `followup::log` checked.
        let latest: String = store
            .conn()
            .query_row("SELECT max(occurred_at) FROM follow_up", [], |r| r.get(0))
            .unwrap();
        assert!(latest.as_str() <= crate::clock::to_text(end()).as_str());
        let sp = page.summary.speed_to_lead;
        assert!(sp.median_seconds.unwrap() > 60, "{sp:?}");
    }

    #[test]
    fn the_same_database_reps_and_seed_give_the_same_history() {
        let history = |seed| {
            let mut store = seeded();
            let report = generate(&mut store, &reps(), seed, end(), 10_000).unwrap();
            let mut stmt = store
                .conn()
                .prepare("SELECT lead_id, channel, outcome, occurred_at, rep FROM follow_up ORDER BY occurred_at, lead_id")
                .unwrap();
            let rows: Vec<(String, String, String, String, String)> = stmt
                .query_map([], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap();
            (report, rows)
        };
        let (a, rows_a) = history(3);
        let (b, rows_b) = history(3);
        assert_eq!(a, b);
        assert_eq!(rows_a.len(), rows_b.len());
        // Lead ids are fresh per import; compare everything else.
        let strip = |rows: Vec<(String, String, String, String, String)>| {
            rows.into_iter()
                .map(|(_, c, o, at, rep)| (c, o, at, rep))
                .collect::<Vec<_>>()
        };
        assert_eq!(strip(rows_a), strip(rows_b));
        let (c, _) = history(4);
        assert_ne!(a, c);
    }

    #[test]
    fn refuses_an_empty_rep_list() {
        let mut store = seeded();
        let err = generate(&mut store, &[], 1, end(), 10).unwrap_err();
        assert_eq!(err.code(), "bad_input");
    }
}
