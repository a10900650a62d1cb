use super::*;
use crate::clock::new_id;
use crate::outreach::followup::{self, LogFollowUp};
use crate::people::leads::{self, NewLead};
use crate::Store;
use chrono::{Duration, TimeZone};

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
    let mut s = crate::fixtures::store_at(t(23, 0));
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
    use crate::privacy::requests;
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
