//! Follow-up history for managers: who was contacted, how, with what result, how fast after
//! registration — filtered by lead, rep, office, period, channel and outcome, newest first,
//! paged, with summary counts over the whole filtered set.

use crate::clock::to_text;
use crate::error::{CoreError, Result};
use crate::leads::parse_time;
use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{params_from_iter, Connection};
use serde::{Deserialize, Serialize};
use switchboard_protocol::{Channel, Direction, FollowUp, Outcome, RequestKind, RequestStatus};
use ts_rs::TS;

/// Which follow-ups to show. Every field narrows; `None` means any.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct HistoryQuery {
    pub lead_id: Option<String>,
    pub rep: Option<String>,
    /// The office of the lead.
    pub office: Option<String>,
    /// From this instant on (inclusive).
    pub since: Option<DateTime<Utc>>,
    /// Before this instant (exclusive).
    pub until: Option<DateTime<Utc>>,
    pub channel: Option<Channel>,
    pub outcome: Option<Outcome>,
    pub direction: Option<Direction>,
    pub offset: u32,
    /// Rows per page (1 to 1000; 0 means 50).
    pub limit: u32,
}

/// One follow-up with who it was with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct HistoryRow {
    pub follow_up: FollowUp,
    pub lead_name: Option<String>,
    pub lead_company: Option<String>,
    pub lead_office: Option<String>,
}

/// How many follow-ups had one value of a dimension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Count {
    pub key: String,
    pub count: i64,
}

/// Time from registration to first contact over the leads in the filtered set that were
/// contacted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SpeedToLead {
    pub leads: i64,
    pub median_seconds: Option<i64>,
    pub p90_seconds: Option<i64>,
    pub mean_seconds: Option<i64>,
}

/// Totals over the whole filtered set (not just the page).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct HistorySummary {
    pub total: i64,
    pub by_channel: Vec<Count>,
    pub by_outcome: Vec<Count>,
    pub by_rep: Vec<Count>,
    pub speed_to_lead: SpeedToLead,
}

/// A page of history and the summary of everything the query matches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct HistoryPage {
    pub rows: Vec<HistoryRow>,
    pub summary: HistorySummary,
}

/// The WHERE clause (over `follow_up f JOIN lead l`) and its parameters.
pub(crate) fn filter_sql(q: &HistoryQuery) -> Result<(String, Vec<Value>)> {
    let mut clauses = vec!["1 = 1".to_string()];
    let mut params = Vec::new();
    let mut text = |clause: &str, value: String, params: &mut Vec<Value>| {
        clauses.push(clause.to_string());
        params.push(Value::Text(value));
    };
    if let Some(v) = &q.lead_id {
        text("f.lead_id = ?", v.clone(), &mut params);
    }
    if let Some(v) = &q.rep {
        text("f.rep = ?", v.trim().to_string(), &mut params);
    }
    if let Some(v) = &q.office {
        text("l.office = ?", v.trim().to_string(), &mut params);
    }
    if let Some(v) = q.since {
        text("f.occurred_at >= ?", to_text(v), &mut params);
    }
    if let Some(v) = q.until {
        text("f.occurred_at < ?", to_text(v), &mut params);
    }
    if let Some(v) = q.channel {
        text("f.channel = ?", v.as_str().to_string(), &mut params);
    }
    if let Some(v) = q.outcome {
        text("f.outcome = ?", v.as_str().to_string(), &mut params);
    }
    if let Some(v) = q.direction {
        text("f.direction = ?", v.as_str().to_string(), &mut params);
    }
    if let (Some(s), Some(u)) = (q.since, q.until) {
        if u <= s {
            return Err(CoreError::BadInput(
                "the end of the period must come after its start".into(),
            ));
        }
    }
    Ok((clauses.join(" AND "), params))
}

/// The columns `row_from` reads, over `follow_up f JOIN lead l`.
pub(crate) const ROW_COLUMNS: &str = "f.id, f.lead_id, f.channel, f.direction, f.outcome, f.note, \
    f.occurred_at, f.rep, f.next_follow_up_at, l.name, l.company, l.office";

fn vocab<T: std::str::FromStr<Err = switchboard_protocol::UnknownValue>>(
    r: &rusqlite::Row<'_>,
    i: usize,
) -> rusqlite::Result<T> {
    r.get::<_, String>(i)?.parse().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

pub(crate) fn row_from(r: &rusqlite::Row<'_>) -> rusqlite::Result<HistoryRow> {
    Ok(HistoryRow {
        follow_up: FollowUp {
            id: r.get(0)?,
            lead_id: r.get(1)?,
            channel: vocab(r, 2)?,
            direction: vocab(r, 3)?,
            outcome: vocab(r, 4)?,
            note: r.get(5)?,
            occurred_at: parse_time(r.get(6)?).unwrap_or_default(),
            rep: r.get(7)?,
            next_follow_up_at: parse_time(r.get(8)?),
        },
        lead_name: r.get(9)?,
        lead_company: r.get(10)?,
        lead_office: r.get(11)?,
    })
}

fn counts(conn: &Connection, column: &str, filter: &str, params: &[Value]) -> Result<Vec<Count>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {column}, count(*) FROM follow_up f JOIN lead l ON l.id = f.lead_id
         WHERE {filter} GROUP BY {column} ORDER BY count(*) DESC, {column}"
    ))?;
    let rows = stmt.query_map(params_from_iter(params.iter()), |r| {
        Ok(Count {
            key: r.get(0)?,
            count: r.get(1)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn speed_to_lead(conn: &Connection, filter: &str, params: &[Value]) -> Result<SpeedToLead> {
    // Registration: the person's first submission (the lead's creation if none is on file).
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT coalesce((SELECT min(r.submitted_at) FROM registration r WHERE r.lead_id = l.id),
                         l.created_at),
                l.first_contact_at
         FROM lead l
         WHERE l.first_contact_at IS NOT NULL AND l.id IN (
             SELECT f.lead_id FROM follow_up f JOIN lead l ON l.id = f.lead_id WHERE {filter})"
    ))?;
    let mut seconds: Vec<i64> = stmt
        .query_map(params_from_iter(params.iter()), |r| {
            Ok((
                r.get::<_, Option<String>>(0)?,
                r.get::<_, Option<String>>(1)?,
            ))
        })?
        .filter_map(|row| {
            let (registered, contacted) = row.ok()?;
            let d = parse_time(contacted)? - parse_time(registered)?;
            Some(d.num_seconds().max(0))
        })
        .collect();
    seconds.sort_unstable();
    let n = seconds.len();
    if n == 0 {
        return Ok(SpeedToLead::default());
    }
    let at = |q: f64| seconds[((n - 1) as f64 * q).round() as usize];
    Ok(SpeedToLead {
        leads: n as i64,
        median_seconds: Some(at(0.5)),
        p90_seconds: Some(at(0.9)),
        mean_seconds: Some(seconds.iter().sum::<i64>() / n as i64),
    })
}

/// One bar of the speed-to-lead distribution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SpeedBucket {
    /// Stable key (`under_5_min`, …, `over_3_days`, `not_contacted`).
    pub key: String,
    /// What the UI shows ("< 5 min").
    pub label: String,
    pub leads: u32,
}

/// How long leads waited from their first registration to the first outbound contact attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SpeedDistribution {
    /// Every bucket in order, `not_contacted` last, empty ones included.
    pub buckets: Vec<SpeedBucket>,
    pub contacted: u32,
    pub not_contacted: u32,
    /// Median wait over the contacted leads.
    pub median_seconds: Option<f64>,
}

/// Subscriber requests of one kind and how long they took to handle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct RequestKindStats {
    pub kind: RequestKind,
    pub received: u32,
    /// Done or rejected.
    pub handled: u32,
    /// Handled after their due date.
    pub handled_late: u32,
    pub open: u32,
    /// Open and past their due date now.
    pub overdue: u32,
    pub median_days_to_handle: Option<f64>,
    pub max_days_to_handle: Option<f64>,
}

/// Follow-ups of one channel on one UTC day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct DayCount {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    pub channel: Channel,
    pub count: u32,
}

/// The review's charts beyond the history summary, for the same filters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ReviewStats {
    pub per_day: Vec<DayCount>,
    pub speed_to_lead: SpeedDistribution,
    /// One entry per request kind, every kind present.
    pub requests: Vec<RequestKindStats>,
}

/// Speed-to-lead buckets: exclusive upper bound in seconds, key, label.
const SPEED_BUCKETS: &[(i64, &str, &str)] = &[
    (5 * 60, "under_5_min", "< 5 min"),
    (3600, "5_to_60_min", "5–60 min"),
    (4 * 3600, "1_to_4_h", "1–4 h"),
    (24 * 3600, "4_to_24_h", "4–24 h"),
    (3 * 86_400, "1_to_3_days", "1–3 days"),
    (i64::MAX, "over_3_days", "> 3 days"),
];

fn median(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

fn saturate(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Follow-ups per UTC day and channel over the history filter, oldest day first.
pub fn per_day(conn: &Connection, q: &HistoryQuery) -> Result<Vec<DayCount>> {
    let (filter, params) = filter_sql(q)?;
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT substr(f.occurred_at, 1, 10), f.channel, count(*)
         FROM follow_up f JOIN lead l ON l.id = f.lead_id
         WHERE {filter} GROUP BY 1, 2 ORDER BY 1, 2"
    ))?;
    let rows = stmt.query_map(params_from_iter(params.iter()), |r| {
        Ok(DayCount {
            day: r.get(0)?,
            channel: vocab(r, 1)?,
            count: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The speed-to-lead distribution of the leads that `q` selects: leads of `office` whose first
/// registration falls in `since..until`; with `rep`, those the rep contacted first (or, not yet
/// contacted, owns). Channel, outcome and direction do not apply: the first attempt counts
/// whatever it was. Erased people never contacted are left out (they can no longer be).
pub fn speed_to_lead_distribution(
    conn: &Connection,
    q: &HistoryQuery,
) -> Result<SpeedDistribution> {
    // Validates the period the same way the history does.
    filter_sql(q)?;
    let text = |v: Option<DateTime<Utc>>| v.map(to_text);
    let mut stmt = conn.prepare_cached(
        "WITH registered AS (
             SELECT l.id, l.owner, l.status,
                    coalesce((SELECT min(r.submitted_at) FROM registration r
                              WHERE r.lead_id = l.id), l.created_at) AS at
             FROM lead l
             WHERE (?1 IS NULL OR l.office = ?1)
         ), first AS (
             SELECT g.owner, g.status, g.at,
                    (SELECT f.id FROM follow_up f
                     WHERE f.lead_id = g.id AND f.direction = 'out'
                     ORDER BY f.occurred_at, f.id LIMIT 1) AS first_id
             FROM registered g
             WHERE (?2 IS NULL OR g.at >= ?2) AND (?3 IS NULL OR g.at < ?3)
         )
         SELECT unixepoch(f.occurred_at) - unixepoch(first.at)
         FROM first LEFT JOIN follow_up f ON f.id = first.first_id
         WHERE (f.id IS NOT NULL OR first.status != 'erased')
           AND (?4 IS NULL OR coalesce(f.rep, first.owner) = ?4)",
    )?;
    let office = q.office.as_deref().map(str::trim);
    let rep = q.rep.as_deref().map(str::trim);
    let waits = stmt
        .query_map(
            rusqlite::params![office, text(q.since), text(q.until), rep],
            |r| r.get::<_, Option<i64>>(0),
        )?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut counts = vec![0usize; SPEED_BUCKETS.len()];
    let mut contacted: Vec<f64> = Vec::new();
    let mut not_contacted = 0usize;
    for wait in waits {
        match wait {
            // A contact logged before the registration arrived (clock skew) waited no time.
            Some(seconds) => {
                let seconds = seconds.max(0);
                let i = SPEED_BUCKETS
                    .iter()
                    .position(|(bound, _, _)| seconds < *bound)
                    .unwrap_or(SPEED_BUCKETS.len() - 1);
                counts[i] += 1;
                contacted.push(seconds as f64);
            }
            None => not_contacted += 1,
        }
    }
    contacted.sort_by(f64::total_cmp);
    let mut buckets: Vec<SpeedBucket> = SPEED_BUCKETS
        .iter()
        .zip(&counts)
        .map(|((_, key, label), n)| SpeedBucket {
            key: (*key).into(),
            label: (*label).into(),
            leads: saturate(*n),
        })
        .collect();
    buckets.push(SpeedBucket {
        key: "not_contacted".into(),
        label: "not yet contacted".into(),
        leads: saturate(not_contacted),
    });
    Ok(SpeedDistribution {
        buckets,
        contacted: saturate(contacted.len()),
        not_contacted: saturate(not_contacted),
        median_seconds: median(&contacted),
    })
}

/// Subscriber requests received in `since..until` about leads of `office`, per kind, with how
/// long the handled ones took and how many open ones are past due at `now`. Rep, channel and
/// outcome do not apply: requests come from the person, not from a rep's contact.
pub fn request_stats(
    conn: &Connection,
    q: &HistoryQuery,
    now: DateTime<Utc>,
) -> Result<Vec<RequestKindStats>> {
    filter_sql(q)?;
    let text = |v: Option<DateTime<Utc>>| v.map(to_text);
    let mut stmt = conn.prepare_cached(
        "SELECT s.kind, s.status, s.due_at < ?4,
                unixepoch(s.handled_at) - unixepoch(s.received_at),
                s.handled_at > s.due_at
         FROM subscriber_request s JOIN lead l ON l.id = s.lead_id
         WHERE (?1 IS NULL OR l.office = ?1)
           AND (?2 IS NULL OR s.received_at >= ?2) AND (?3 IS NULL OR s.received_at < ?3)",
    )?;
    let office = q.office.as_deref().map(str::trim);
    let mut stats: Vec<(RequestKindStats, Vec<f64>)> = RequestKind::ALL
        .iter()
        .map(|&kind| {
            let none = RequestKindStats {
                kind,
                received: 0,
                handled: 0,
                handled_late: 0,
                open: 0,
                overdue: 0,
                median_days_to_handle: None,
                max_days_to_handle: None,
            };
            (none, Vec::new())
        })
        .collect();
    let mut rows = stmt.query(rusqlite::params![
        office,
        text(q.since),
        text(q.until),
        to_text(now)
    ])?;
    while let Some(r) = rows.next()? {
        let kind: RequestKind = vocab(r, 0)?;
        let status: RequestStatus = vocab(r, 1)?;
        let Some((s, days)) = stats.iter_mut().find(|(s, _)| s.kind == kind) else {
            continue;
        };
        s.received += 1;
        if status == RequestStatus::Open {
            s.open += 1;
            if r.get::<_, bool>(2)? {
                s.overdue += 1;
            }
        } else {
            s.handled += 1;
            if r.get::<_, Option<bool>>(4)?.unwrap_or(false) {
                s.handled_late += 1;
            }
            if let Some(seconds) = r.get::<_, Option<i64>>(3)? {
                days.push(seconds.max(0) as f64 / 86_400.0);
            }
        }
    }
    Ok(stats
        .into_iter()
        .map(|(mut s, mut days)| {
            days.sort_by(f64::total_cmp);
            s.median_days_to_handle = median(&days);
            s.max_days_to_handle = days.last().copied();
            s
        })
        .collect())
}

/// Everything the review charts beyond the history summary, for the same filters, as of `now`.
pub fn review_stats(
    conn: &Connection,
    q: &HistoryQuery,
    now: DateTime<Utc>,
) -> Result<ReviewStats> {
    Ok(ReviewStats {
        per_day: per_day(conn, q)?,
        speed_to_lead: speed_to_lead_distribution(conn, q)?,
        requests: request_stats(conn, q, now)?,
    })
}

/// Follow-ups matching `q`, newest first, one page, with the summary of all that match.
pub fn query(conn: &Connection, q: &HistoryQuery) -> Result<HistoryPage> {
    let rows = rows(conn, q)?;
    let (filter, params) = filter_sql(q)?;
    let by_channel = counts(conn, "f.channel", &filter, &params)?;
    let summary = HistorySummary {
        total: by_channel.iter().map(|c| c.count).sum(),
        by_channel,
        by_outcome: counts(conn, "f.outcome", &filter, &params)?,
        by_rep: counts(conn, "f.rep", &filter, &params)?,
        speed_to_lead: speed_to_lead(conn, &filter, &params)?,
    };
    Ok(HistoryPage { rows, summary })
}

/// One page of the follow-ups `q` matches, newest first (`q.limit`: 50 when 0, at most 1,000),
/// without the summary: what a list asks for as it scrolls on.
pub fn rows(conn: &Connection, q: &HistoryQuery) -> Result<Vec<HistoryRow>> {
    let (filter, params) = filter_sql(q)?;
    let limit = match q.limit {
        0 => 50,
        n => n.min(MAX_ROWS),
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ROW_COLUMNS} FROM follow_up f JOIN lead l ON l.id = f.lead_id
         WHERE {filter} ORDER BY f.occurred_at DESC, f.id DESC LIMIT {limit} OFFSET {}",
        q.offset
    ))?;
    let rows = stmt
        .query_map(params_from_iter(params.iter()), row_from)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// The most rows one page of history carries.
pub const MAX_ROWS: u32 = 1000;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::new_id;
    use crate::followup::{self, LogFollowUp};
    use crate::leads::{self, NewLead};
    use crate::{FixedClock, Store};
    use chrono::{Duration, TimeZone};
    use std::sync::Arc;

    fn t(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, h, m, 0).unwrap()
    }

    fn lead(s: &mut Store, email: &str, office: &str, registered: DateTime<Utc>) -> String {
        let id = new_id(registered);
        s.with_tx(|tx| {
            leads::insert(
                tx,
                &id,
                &NewLead {
                    name: Some(email.split('@').next().unwrap().into()),
                    email: Some(email.into()),
                    office: Some(office.into()),
                    address: Some("1 Main St".into()),
                    last_registered_at: Some(registered),
                    ..NewLead::default()
                },
                registered,
            )
        })
        .unwrap();
        id
    }

    fn log(s: &mut Store, email: &str, ch: Channel, o: Outcome, rep: &str, at: DateTime<Utc>) {
        let input = LogFollowUp {
            lead: email.into(),
            channel: ch,
            direction: Direction::Out,
            outcome: o,
            note: None,
            occurred_at: at,
            rep: rep.into(),
            next_follow_up_at: None,
        };
        s.with_tx(|tx| followup::log(tx, &input, t(23, 0))).unwrap();
    }

    fn setup() -> Store {
        let mut s = Store::open_in_memory(Arc::new(FixedClock::at(t(23, 0)))).unwrap();
        lead(&mut s, "ann@a.example", "BER", t(9, 0));
        lead(&mut s, "bob@b.example", "BER", t(9, 0));
        lead(&mut s, "cy@c.example", "PAR", t(8, 0));
        log(
            &mut s,
            "ann@a.example",
            Channel::Email,
            Outcome::Sent,
            "rep1",
            t(9, 10),
        );
        log(
            &mut s,
            "ann@a.example",
            Channel::Mail,
            Outcome::Sent,
            "rep1",
            t(10, 0),
        );
        log(
            &mut s,
            "bob@b.example",
            Channel::Email,
            Outcome::Sent,
            "rep2",
            t(10, 30),
        );
        log(
            &mut s,
            "cy@c.example",
            Channel::Email,
            Outcome::Replied,
            "rep3",
            t(12, 0),
        );
        s
    }

    #[test]
    fn history_is_newest_first_and_filtered() {
        let s = setup();
        let all = query(s.conn(), &HistoryQuery::default()).unwrap();
        let times: Vec<_> = all.rows.iter().map(|r| r.follow_up.occurred_at).collect();
        assert_eq!(times, vec![t(12, 0), t(10, 30), t(10, 0), t(9, 10)]);
        assert_eq!(all.summary.total, 4);
        let ber = query(
            s.conn(),
            &HistoryQuery {
                office: Some("BER".into()),
                channel: Some(Channel::Email),
                ..HistoryQuery::default()
            },
        )
        .unwrap();
        assert_eq!(ber.rows.len(), 2);
        assert_eq!(ber.rows[0].lead_name.as_deref(), Some("bob"));
        let window = query(
            s.conn(),
            &HistoryQuery {
                since: Some(t(10, 0)),
                until: Some(t(12, 0)),
                rep: Some("rep1".into()),
                ..HistoryQuery::default()
            },
        )
        .unwrap();
        assert_eq!(window.rows.len(), 1);
        assert_eq!(window.rows[0].follow_up.channel, Channel::Mail);
        let bad = HistoryQuery {
            since: Some(t(12, 0)),
            until: Some(t(10, 0)),
            ..HistoryQuery::default()
        };
        assert_eq!(query(s.conn(), &bad).unwrap_err().code(), "bad_input");
    }

    #[test]
    fn pages_do_not_change_the_summary() {
        let s = setup();
        let page = query(
            s.conn(),
            &HistoryQuery {
                offset: 1,
                limit: 2,
                ..HistoryQuery::default()
            },
        )
        .unwrap();
        assert_eq!(page.rows.len(), 2);
        assert_eq!(page.rows[0].follow_up.occurred_at, t(10, 30));
        let s2 = &page.summary;
        assert_eq!(s2.total, 4);
        assert_eq!(
            s2.by_channel,
            vec![
                Count {
                    key: "email".into(),
                    count: 3
                },
                Count {
                    key: "mail".into(),
                    count: 1
                }
            ]
        );
        assert_eq!(
            s2.by_outcome[0],
            Count {
                key: "sent".into(),
                count: 3
            }
        );
        assert_eq!(
            s2.by_rep[0],
            Count {
                key: "rep1".into(),
                count: 2
            }
        );
    }

    #[test]
    fn pages_of_rows_follow_one_another_without_gaps_or_repeats() {
        let s = setup();
        let page = |offset| {
            rows(
                s.conn(),
                &HistoryQuery {
                    offset,
                    limit: 3,
                    ..HistoryQuery::default()
                },
            )
            .unwrap()
        };
        let first = page(0);
        let second = page(3);
        assert_eq!((first.len(), second.len()), (3, 1));
        let paged: Vec<_> = first
            .iter()
            .chain(&second)
            .map(|r| &r.follow_up.id)
            .collect();
        let whole = query(s.conn(), &HistoryQuery::default()).unwrap().rows;
        let whole: Vec<_> = whole.iter().map(|r| &r.follow_up.id).collect();
        assert_eq!(paged, whole);
        assert!(page(4).is_empty());
    }

    #[test]
    fn speed_to_lead_measures_registration_to_first_contact() {
        let s = setup();
        let sp = query(s.conn(), &HistoryQuery::default())
            .unwrap()
            .summary
            .speed_to_lead;
        // ann: 10 minutes, bob: 90 minutes, cy: 4 hours.
        assert_eq!(sp.leads, 3);
        assert_eq!(sp.median_seconds, Some(90 * 60));
        assert_eq!(sp.p90_seconds, Some(4 * 3600));
        assert_eq!(sp.mean_seconds, Some((10 + 90 + 240) * 60 / 3));
        let only_ann = query(
            s.conn(),
            &HistoryQuery {
                rep: Some("rep1".into()),
                ..HistoryQuery::default()
            },
        )
        .unwrap()
        .summary
        .speed_to_lead;
        assert_eq!(only_ann.leads, 1);
        assert_eq!(
            only_ann.median_seconds,
            Some(Duration::minutes(10).num_seconds())
        );
    }

    fn bucket(d: &SpeedDistribution, key: &str) -> u32 {
        d.buckets.iter().find(|b| b.key == key).unwrap().leads
    }

    #[test]
    fn speed_to_lead_distribution_buckets_first_outbound_attempts() {
        let mut s = setup();
        // dee: registered at 08:00, wrote in herself at 08:01, first called back two days later.
        lead(&mut s, "dee@d.example", "PAR", t(8, 0));
        let inbound = LogFollowUp {
            lead: "dee@d.example".into(),
            channel: Channel::Email,
            direction: Direction::In,
            outcome: Outcome::Replied,
            note: None,
            occurred_at: t(8, 1),
            rep: "rep3".into(),
            next_follow_up_at: None,
        };
        s.with_tx(|tx| followup::log(tx, &inbound, t(23, 0)))
            .unwrap();
        let two_days = t(8, 0) + Duration::days(2);
        let dee = LogFollowUp {
            direction: Direction::Out,
            outcome: Outcome::Sent,
            occurred_at: two_days,
            ..inbound
        };
        s.with_tx(|tx| followup::log(tx, &dee, two_days)).unwrap();
        // eve: registered, never contacted.
        lead(&mut s, "eve@e.example", "BER", t(11, 0));

        let all = speed_to_lead_distribution(s.conn(), &HistoryQuery::default()).unwrap();
        let keys: Vec<_> = all.buckets.iter().map(|b| b.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "under_5_min",
                "5_to_60_min",
                "1_to_4_h",
                "4_to_24_h",
                "1_to_3_days",
                "over_3_days",
                "not_contacted"
            ]
        );
        // ann 10 min, bob 90 min, cy 4 h (the 4 h bound is exclusive), dee 2 days; eve none.
        assert_eq!(bucket(&all, "under_5_min"), 0);
        assert_eq!(bucket(&all, "5_to_60_min"), 1);
        assert_eq!(bucket(&all, "1_to_4_h"), 1);
        assert_eq!(bucket(&all, "4_to_24_h"), 1);
        assert_eq!(bucket(&all, "1_to_3_days"), 1);
        assert_eq!(bucket(&all, "not_contacted"), 1);
        assert_eq!((all.contacted, all.not_contacted), (4, 1));
        assert_eq!(all.median_seconds, Some((90.0 + 240.0) / 2.0 * 60.0));

        let par = speed_to_lead_distribution(
            s.conn(),
            &HistoryQuery {
                office: Some("PAR".into()),
                ..HistoryQuery::default()
            },
        )
        .unwrap();
        assert_eq!((par.contacted, par.not_contacted), (2, 0));
        assert_eq!(
            par.median_seconds,
            Some((240.0 + 2.0 * 1440.0) / 2.0 * 60.0)
        );

        // Registered from 09:00 on: ann, bob and eve (cy and dee registered at 08:00).
        let later = speed_to_lead_distribution(
            s.conn(),
            &HistoryQuery {
                since: Some(t(9, 0)),
                until: Some(t(12, 0)),
                ..HistoryQuery::default()
            },
        )
        .unwrap();
        assert_eq!((later.contacted, later.not_contacted), (2, 1));

        let rep2 = speed_to_lead_distribution(
            s.conn(),
            &HistoryQuery {
                rep: Some("rep2".into()),
                ..HistoryQuery::default()
            },
        )
        .unwrap();
        assert_eq!((rep2.contacted, rep2.not_contacted), (1, 0));
        assert_eq!(rep2.median_seconds, Some(90.0 * 60.0));

        let bad = HistoryQuery {
            since: Some(t(12, 0)),
            until: Some(t(10, 0)),
            ..HistoryQuery::default()
        };
        let err = speed_to_lead_distribution(s.conn(), &bad).unwrap_err();
        assert_eq!(err.code(), "bad_input");
    }

    #[test]
    fn request_stats_count_per_kind_with_handling_time_and_overdue_by_the_clock() {
        use crate::requests;
        let mut s = setup();
        let ids: Vec<String> = ["ann@a.example", "bob@b.example", "cy@c.example"]
            .iter()
            .map(|email| leads::find(s.conn(), email).unwrap().id)
            .collect();
        let day = |d: i64| t(9, 0) + Duration::days(d);
        let open = |s: &mut Store, lead: &str, kind: RequestKind, at: DateTime<Utc>| {
            s.with_tx(|tx| requests::open(tx, lead, kind, None, at, "mgr"))
                .unwrap()
                .id
        };
        let handle = |s: &mut Store, id: &str, status: RequestStatus, at: DateTime<Utc>| {
            s.with_tx(|tx| requests::handle(tx, id, status, "mgr", at))
                .unwrap();
        };
        // Corrections: one done in 2 days, one rejected after 40 days (late), one still open.
        let c1 = open(&mut s, &ids[0], RequestKind::Correct, day(0));
        handle(&mut s, &c1, RequestStatus::Done, day(2));
        let c2 = open(&mut s, &ids[1], RequestKind::Correct, day(0));
        handle(&mut s, &c2, RequestStatus::Rejected, day(40));
        open(&mut s, &ids[2], RequestKind::Correct, day(1));
        // An access request about the Paris lead, open.
        open(&mut s, &ids[2], RequestKind::Access, day(0));

        let at = |s: &Store, q: &HistoryQuery| request_stats(s.conn(), q, s.now()).unwrap();
        let all = at(&s, &HistoryQuery::default());
        let kinds: Vec<_> = all.iter().map(|k| k.kind).collect();
        assert_eq!(kinds, RequestKind::ALL);
        let correct = all.iter().find(|k| k.kind == RequestKind::Correct).unwrap();
        assert_eq!(
            (
                correct.received,
                correct.handled,
                correct.handled_late,
                correct.open
            ),
            (3, 2, 1, 1)
        );
        assert_eq!(correct.median_days_to_handle, Some(21.0));
        assert_eq!(correct.max_days_to_handle, Some(40.0));
        // The store's clock stands at 2026-03-02 23:00: nothing is past its month yet.
        assert_eq!(correct.overdue, 0);
        let erase = all.iter().find(|k| k.kind == RequestKind::Erase).unwrap();
        assert_eq!((erase.received, erase.median_days_to_handle), (0, None));

        // Two months later the open correction and the access request are overdue.
        let later = request_stats(s.conn(), &HistoryQuery::default(), day(60)).unwrap();
        let overdue: u32 = later.iter().map(|k| k.overdue).sum();
        assert_eq!(overdue, 2);

        let ber = at(
            &s,
            &HistoryQuery {
                office: Some("BER".into()),
                ..HistoryQuery::default()
            },
        );
        let correct = ber.iter().find(|k| k.kind == RequestKind::Correct).unwrap();
        assert_eq!((correct.received, correct.open), (2, 0));
        let access = ber.iter().find(|k| k.kind == RequestKind::Access).unwrap();
        assert_eq!(access.received, 0);

        let day_one = at(
            &s,
            &HistoryQuery {
                since: Some(day(1)),
                ..HistoryQuery::default()
            },
        );
        let received: u32 = day_one.iter().map(|k| k.received).sum();
        assert_eq!(received, 1);
    }

    #[test]
    fn per_day_counts_follow_ups_by_channel_under_the_history_filter() {
        let mut s = setup();
        let next_day = t(10, 0) + Duration::days(1);
        let input = LogFollowUp {
            lead: "bob@b.example".into(),
            channel: Channel::Email,
            direction: Direction::Out,
            outcome: Outcome::Replied,
            note: None,
            occurred_at: next_day,
            rep: "rep2".into(),
            next_follow_up_at: None,
        };
        s.with_tx(|tx| followup::log(tx, &input, next_day)).unwrap();
        let days = per_day(s.conn(), &HistoryQuery::default()).unwrap();
        let flat: Vec<_> = days
            .iter()
            .map(|d| (d.day.as_str(), d.channel, d.count))
            .collect();
        assert_eq!(
            flat,
            [
                ("2026-03-02", Channel::Email, 3),
                ("2026-03-02", Channel::Mail, 1),
                ("2026-03-03", Channel::Email, 1),
            ]
        );
        let ber_mail = per_day(
            s.conn(),
            &HistoryQuery {
                office: Some("BER".into()),
                channel: Some(Channel::Mail),
                ..HistoryQuery::default()
            },
        )
        .unwrap();
        assert_eq!(ber_mail.len(), 1);
        assert_eq!(ber_mail[0].count, 1);
    }
}
