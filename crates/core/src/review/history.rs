//! Follow-up history for managers: who was contacted, how, with what result, how fast after
//! registration — filtered by lead, rep, office, period, channel and outcome, newest first,
//! paged, with summary counts over the whole filtered set.

use crate::clock::to_text;
use crate::error::{CoreError, Result};
use crate::outreach::followup::{self, COLUMNS};
use crate::people::leads::parse_time;
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

/// The lead's columns `row_from` reads after the follow-up's (`followup::COLUMNS`), over
/// `follow_up f JOIN lead l`.
pub(crate) const ROW_LEAD_COLUMNS: &str = "l.name, l.company, l.office";

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
        follow_up: followup::from_row(r)?,
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
/// whatever it was. Erased people are left out: their skeleton keeps no registration time (the
/// same skeleton on every replica, issue 13), and a fresh replica never holds their calls.
pub fn speed_to_lead_distribution(
    conn: &Connection,
    q: &HistoryQuery,
) -> Result<SpeedDistribution> {
    // Validates the period the same way the history does.
    filter_sql(q)?;
    let text = |v: Option<DateTime<Utc>>| v.map(to_text);
    let mut stmt = conn.prepare_cached(
        "WITH registered AS (
             SELECT l.id, l.owner,
                    coalesce((SELECT min(r.submitted_at) FROM registration r
                              WHERE r.lead_id = l.id), l.created_at) AS at
             FROM lead l
             WHERE l.status <> 'erased' AND (?1 IS NULL OR l.office = ?1)
         ), first AS (
             SELECT g.owner, g.at,
                    (SELECT f.id FROM follow_up f
                     WHERE f.lead_id = g.id AND f.direction = 'out'
                     ORDER BY f.occurred_at, f.id LIMIT 1) AS first_id
             FROM registered g
             WHERE (?2 IS NULL OR g.at >= ?2) AND (?3 IS NULL OR g.at < ?3)
         )
         SELECT unixepoch(f.occurred_at) - unixepoch(first.at)
         FROM first LEFT JOIN follow_up f ON f.id = first.first_id
         WHERE ?4 IS NULL OR coalesce(f.rep, first.owner) = ?4",
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
        "SELECT {COLUMNS}, {ROW_LEAD_COLUMNS} FROM follow_up f JOIN lead l ON l.id = f.lead_id
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
mod tests;
