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
use switchboard_protocol::{Channel, Direction, FollowUp, Outcome};
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

/// Follow-ups matching `q`, newest first, one page, with the summary of all that match.
pub fn query(conn: &Connection, q: &HistoryQuery) -> Result<HistoryPage> {
    let (filter, params) = filter_sql(q)?;
    let limit = match q.limit {
        0 => 50,
        n => n.min(1000),
    };
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {ROW_COLUMNS} FROM follow_up f JOIN lead l ON l.id = f.lead_id
         WHERE {filter} ORDER BY f.occurred_at DESC, f.id DESC LIMIT {limit} OFFSET {}",
        q.offset
    ))?;
    let rows = stmt
        .query_map(params_from_iter(params.iter()), row_from)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
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
}
