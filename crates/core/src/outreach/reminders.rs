//! Follow-up reminders: which of a user's follow-up dates have come and were not announced yet,
//! and the words of the desktop notification. The shell asks every minute and shows what
//! `take_due` returns; recording what was announced in the same call makes each fire once.
//!
//! A lead is the user's when it is assigned to them (`owner`) or when they logged its latest
//! follow-up — the one that set the date, in practice.

use crate::clock::to_text;
use crate::error::Result;
use crate::people::leads::parse_time;
use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{params, Connection};
use std::fmt::Display;

/// The most notifications shown one by one in a round; the rest are summed up in one more.
pub const MAX_SHOWN: usize = 3;

/// A follow-up date that has come.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reminder {
    pub lead_id: String,
    pub name: Option<String>,
    pub company: Option<String>,
    pub due_at: DateTime<Utc>,
}

/// The user's follow-ups due by `at` that they were not reminded of, earliest first.
pub fn due(conn: &Connection, user: &str, at: DateTime<Utc>) -> Result<Vec<Reminder>> {
    let mut stmt = conn.prepare_cached(
        "SELECT l.id, l.name, l.company, l.next_follow_up_at FROM lead l
         WHERE l.status = 'working' AND l.next_follow_up_at IS NOT NULL
           AND l.next_follow_up_at <= ?2
           AND (l.owner = ?1
                OR (SELECT f.rep FROM follow_up f WHERE f.lead_id = l.id
                    ORDER BY f.occurred_at DESC, f.id DESC LIMIT 1) = ?1)
           AND NOT EXISTS (SELECT 1 FROM reminder_sent r
                           WHERE r.lead_id = l.id AND r.due_at = l.next_follow_up_at
                             AND r.user = ?1)
         ORDER BY l.next_follow_up_at, l.id",
    )?;
    let rows = stmt.query_map(params![user, to_text(at)], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (lead_id, name, company, due): (String, Option<String>, Option<String>, String) = row?;
        if let Some(due_at) = parse_time(Some(due)) {
            out.push(Reminder {
                lead_id,
                name,
                company,
                due_at,
            });
        }
    }
    Ok(out)
}

/// The due reminders, recorded as announced to `user` at `at` so they never come again (run in
/// the transaction whose commit means "shown").
pub fn take_due(conn: &Connection, user: &str, at: DateTime<Utc>) -> Result<Vec<Reminder>> {
    let due = due(conn, user, at)?;
    let mut insert = conn.prepare_cached(
        "INSERT INTO reminder_sent(lead_id, due_at, user, notified_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT DO NOTHING",
    )?;
    for r in &due {
        insert.execute(params![r.lead_id, to_text(r.due_at), user, to_text(at)])?;
    }
    Ok(due)
}

/// A desktop notification's title and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub title: String,
    pub body: String,
}

/// The notifications for a round of reminders, times in `zone` (the user's): one per reminder up
/// to `MAX_SHOWN`, then one that counts the rest.
pub fn notices<Z>(reminders: &[Reminder], zone: &Z) -> Vec<Notice>
where
    Z: TimeZone,
    Z::Offset: Display,
{
    let mut out: Vec<Notice> = reminders
        .iter()
        .take(MAX_SHOWN)
        .map(|r| Notice {
            title: "Follow-up due".into(),
            body: sentence(r, zone),
        })
        .collect();
    let rest = reminders.len().saturating_sub(MAX_SHOWN);
    if rest > 0 {
        out.push(Notice {
            title: "Follow-ups due".into(),
            body: format!(
                "{rest} more follow-up{} due: see the due queue",
                if rest == 1 { " is" } else { "s are" }
            ),
        });
    }
    out
}

/// "Follow up with Ada Lovelace (Acme) — due 14:00"
fn sentence<Z>(r: &Reminder, zone: &Z) -> String
where
    Z: TimeZone,
    Z::Offset: Display,
{
    let who = r
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or("a lead");
    let company = r
        .company
        .as_deref()
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| format!(" ({c})"))
        .unwrap_or_default();
    let local = r.due_at.with_timezone(zone);
    format!(
        "Follow up with {who}{company} — due {}",
        local.format("%H:%M")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::new_id;
    use crate::fixtures::{clocked_store, nine};
    use crate::outreach::followup::{self, LogFollowUp};
    use crate::people::leads::{self, LeadField, NewLead};
    use crate::{FixedClock, Store};
    use chrono::{Duration, FixedOffset};

    use switchboard_protocol::{Channel, Direction, Outcome};

    /// A lead that `rep` called at nine, to be followed up at `due`.
    fn called(s: &mut Store, name: &str, rep: &str, due: DateTime<Utc>) -> String {
        let id = new_id(nine());
        let lead = NewLead {
            name: Some(name.into()),
            company: Some("Acme".into()),
            phone: Some("+4930123456".into()),
            time_zone: Some("Europe/Berlin".into()),
            ..NewLead::default()
        };
        let input = LogFollowUp {
            lead: id.clone(),
            channel: Channel::Phone,
            direction: Direction::Out,
            outcome: Outcome::NoAnswer,
            note: None,
            occurred_at: nine(),
            rep: rep.into(),
            next_follow_up_at: Some(due),
        };
        s.with_tx(|tx| {
            leads::insert(tx, &id, &lead, nine())?;
            followup::log(tx, &input, nine())
        })
        .unwrap();
        id
    }

    #[test]
    fn a_reminder_fires_once_when_its_date_comes_for_the_rep_who_set_it() {
        let (mut s, clock) = clocked_store(nine());
        let two = nine() + Duration::hours(5);
        let ada = called(&mut s, "Ada Lovelace", "rita", two);
        called(&mut s, "Grace Hopper", "max", two);

        assert!(s
            .with_tx(|tx| take_due(tx, "rita", s_now(&clock)))
            .unwrap()
            .is_empty());
        clock.set(two - Duration::minutes(1));
        assert!(s
            .with_tx(|tx| take_due(tx, "rita", s_now(&clock)))
            .unwrap()
            .is_empty());

        clock.set(two);
        let fired = s.with_tx(|tx| take_due(tx, "rita", s_now(&clock))).unwrap();
        assert_eq!(fired.len(), 1, "max's lead is not rita's");
        assert_eq!(fired[0].lead_id, ada);
        assert_eq!(fired[0].due_at, two);
        clock.advance(Duration::minutes(1));
        assert!(s
            .with_tx(|tx| take_due(tx, "rita", s_now(&clock)))
            .unwrap()
            .is_empty());
        assert_eq!(
            s.with_tx(|tx| take_due(tx, "max", s_now(&clock)))
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn a_new_date_or_an_assignment_reminds_again() {
        let (mut s, clock) = clocked_store(nine());
        let ten = nine() + Duration::hours(1);
        let ada = called(&mut s, "Ada Lovelace", "max", ten);
        clock.set(ten);
        assert!(s
            .with_tx(|tx| take_due(tx, "rita", s_now(&clock)))
            .unwrap()
            .is_empty());
        s.with_tx(|tx| {
            leads::set_fields(
                tx,
                &ada,
                &[(LeadField::Owner, Some("rita".into()))],
                "boss",
                "assign",
                ten,
            )
        })
        .unwrap();
        assert_eq!(
            s.with_tx(|tx| take_due(tx, "rita", s_now(&clock)))
                .unwrap()
                .len(),
            1
        );

        let eleven = ten + Duration::hours(1);
        s.with_tx(|tx| {
            leads::set_fields(
                tx,
                &ada,
                &[(LeadField::NextFollowUpAt, Some(to_text(eleven)))],
                "rita",
                "reschedule",
                ten,
            )
        })
        .unwrap();
        clock.set(eleven);
        assert_eq!(
            s.with_tx(|tx| take_due(tx, "rita", s_now(&clock)))
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn notices_name_the_person_and_local_time_and_sum_up_the_rest() {
        let due = Utc.with_ymd_and_hms(2026, 3, 2, 13, 0, 0).unwrap();
        let one = |name: Option<&str>, company: Option<&str>| Reminder {
            lead_id: "l".into(),
            name: name.map(str::to_string),
            company: company.map(str::to_string),
            due_at: due,
        };
        let berlin = FixedOffset::east_opt(3600).unwrap();
        let shown = notices(&[one(Some("Ada Lovelace"), Some("Acme"))], &berlin);
        assert_eq!(
            shown[0].body,
            "Follow up with Ada Lovelace (Acme) — due 14:00"
        );
        assert_eq!(
            notices(&[one(None, None)], &Utc)[0].body,
            "Follow up with a lead — due 13:00"
        );
        let many = vec![one(Some("A"), None); MAX_SHOWN + 2];
        let shown = notices(&many, &Utc);
        assert_eq!(shown.len(), MAX_SHOWN + 1);
        assert_eq!(
            shown[MAX_SHOWN].body,
            "2 more follow-ups are due: see the due queue"
        );
    }

    fn s_now(clock: &FixedClock) -> DateTime<Utc> {
        use crate::Clock;
        clock.now()
    }
}
