use super::*;
use crate::people::leads::{self, NewLead};
use crate::{compliance::consent, FixedClock, Store};
use chrono::TimeZone;
use std::sync::Arc;
use switchboard_protocol::ConsentScope;

fn utc(d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, d, h, mi, 0).unwrap()
}

/// Noon in Berlin on 2 March 2026.
fn noon() -> DateTime<Utc> {
    utc(2, 11, 0)
}

fn lead(name: &str, country: &str, registered: DateTime<Utc>) -> NewLead {
    NewLead {
        name: Some(name.into()),
        email: Some(format!("{}@example.com", name.to_lowercase())),
        phone: Some("+4930123456".into()),
        country: Some(country.into()),
        last_registered_at: Some(registered),
        ..NewLead::default()
    }
}

fn add_lead(s: &mut Store, l: NewLead) -> String {
    let at = l.last_registered_at.unwrap();
    crate::fixtures::insert_lead(s, &l, at)
}

fn store() -> Store {
    crate::fixtures::store_at(noon())
}

fn next_name(s: &Store, queue: &str, rep: &str, at: DateTime<Utc>) -> Option<String> {
    next(s.conn(), queue, rep, at, &QueueSettings::default())
        .unwrap()
        .map(|n| n.lead.name.unwrap())
}

#[test]
fn built_in_queues_exist_and_user_queues_are_validated() {
    let s = store();
    let names: Vec<String> = list(s.conn())
        .unwrap()
        .into_iter()
        .map(|q| q.name)
        .collect();
    assert_eq!(names, vec!["callable", "due", "new"]);
    let mut def = QueueDef {
        name: "germany".into(),
        description: "German leads".into(),
        filter: QueueFilter {
            countries: vec!["de".into()],
            ..QueueFilter::base(QueueBase::Open)
        },
        order: QueueOrder::OldestRegistration,
        built_in: false,
    };
    super::add(s.conn(), &def, "admin", noon()).unwrap();
    assert_eq!(
        get(s.conn(), "germany").unwrap().filter.countries,
        vec!["DE"]
    );
    assert_eq!(
        super::add(s.conn(), &def, "admin", noon())
            .unwrap_err()
            .code(),
        "conflict"
    );
    def.name = "drop table;".into();
    assert_eq!(
        super::add(s.conn(), &def, "admin", noon())
            .unwrap_err()
            .code(),
        "bad_input"
    );
    assert_eq!(remove(s.conn(), "new").unwrap_err().code(), "bad_input");
    remove(s.conn(), "germany").unwrap();
    assert_eq!(get(s.conn(), "germany").unwrap_err().code(), "not_found");
}

#[test]
fn new_hands_out_the_newest_registration_and_says_why() {
    let mut s = store();
    add_lead(&mut s, lead("Old", "DE", utc(1, 9, 0)));
    add_lead(&mut s, lead("Fresh", "DE", noon() - Duration::minutes(4)));
    let n = next(s.conn(), "new", "rep1", noon(), &QueueSettings::default())
        .unwrap()
        .unwrap();
    assert_eq!(n.lead.name.as_deref(), Some("Fresh"));
    assert_eq!(n.reasons[0], "registered 4 minutes ago, not contacted yet");
    assert!(
        n.reasons[1] == "phone allowed now (12:00 in DE)",
        "{:?}",
        n.reasons
    );
    assert_eq!(n.channels.len(), 3);
    assert_eq!(n.lease_until, noon() + Duration::minutes(15));
}

#[test]
fn a_lease_keeps_a_lead_from_a_second_rep_until_it_expires() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.db");
    let clock = Arc::new(FixedClock::at(noon()));
    let mut a = Store::open_with_clock(&path, None, clock.clone()).unwrap();
    let b = Store::open_with_clock(&path, None, clock).unwrap();
    add_lead(&mut a, lead("One", "DE", utc(2, 8, 0)));
    add_lead(&mut a, lead("Two", "DE", utc(2, 7, 0)));
    assert_eq!(next_name(&a, "new", "ann", noon()).as_deref(), Some("One"));
    assert_eq!(next_name(&b, "new", "bob", noon()).as_deref(), Some("Two"));
    assert_eq!(next_name(&b, "new", "cy", noon()), None);
    // The holder gets their own lead back; after expiry anyone may take it.
    assert_eq!(next_name(&a, "new", "ann", noon()).as_deref(), Some("One"));
    let later = noon() + Duration::minutes(16);
    assert_eq!(next_name(&b, "new", "cy", later).as_deref(), Some("One"));
    let page = page(a.conn(), "new", 0, 10, noon() + Duration::minutes(20)).unwrap();
    assert_eq!(page[0].leased_by.as_deref(), Some("cy"));
    assert_eq!(page[1].leased_by, None, "Two's lease expired at 12:15");
}

fn lease_of(s: &Store, id: &str) -> (Option<String>, Option<String>) {
    s.conn()
        .query_row(
            "SELECT owner, until FROM lead_lease WHERE lead_id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .unwrap()
        .unwrap_or((None, None))
}

#[test]
fn passing_on_a_lead_gives_it_back_and_claims_the_next_in_one_commit() {
    let mut s = store();
    let one = add_lead(&mut s, lead("One", "DE", utc(2, 8, 0)));
    let two = add_lead(&mut s, lead("Two", "DE", utc(2, 7, 0)));
    let settings = QueueSettings::default();
    let conn = s.conn();
    let first = next_after(conn, "new", "ann", None, noon(), &settings)
        .unwrap()
        .unwrap();
    assert_eq!(first.lead.id, one);

    // Passing it on while it is still the top: it comes back, and nothing is written while at
    // least half its lease is left.
    let writes = conn.total_changes();
    for minutes in [0, 1, 7] {
        let again = next_after(
            conn,
            "new",
            "ann",
            Some(&one),
            noon() + Duration::minutes(minutes),
            &settings,
        )
        .unwrap()
        .unwrap();
        assert_eq!(again.lead.id, one);
        assert_eq!(again.lease_until, noon() + Duration::minutes(15));
    }
    assert_eq!(conn.total_changes(), writes, "a held claim writes nothing");
    // With less than half left the same claim moves the lease.
    let later = noon() + Duration::minutes(8);
    next_after(conn, "new", "ann", Some(&one), later, &settings)
        .unwrap()
        .unwrap();
    assert_eq!(lease_of(&s, &one).0.as_deref(), Some("ann"));
    assert_eq!(
        lease_of(&s, &one).1,
        Some(crate::clock::to_text(later + Duration::minutes(15)))
    );

    // Worked elsewhere, One leaves the queue: passing it on hands out Two and gives One back,
    // in one transaction, as `release` then `next` would.
    conn.execute("UPDATE lead SET status = 'working' WHERE id = ?1", [&one])
        .unwrap();
    let moved = next_after(conn, "new", "ann", Some(&one), later, &settings)
        .unwrap()
        .unwrap();
    assert_eq!(moved.lead.id, two);
    assert_eq!(lease_of(&s, &one), (None, None));
    assert_eq!(lease_of(&s, &two).0.as_deref(), Some("ann"));
    assert!(conn.is_autocommit(), "the transaction was committed");

    // Another rep's lease is not theirs to give back; an empty queue still gives back the own.
    let bob = next_after(conn, "new", "bob", Some(&two), later, &settings).unwrap();
    assert_eq!(bob, None, "Two is ann's");
    assert_eq!(lease_of(&s, &two).0.as_deref(), Some("ann"));
    assert_eq!(
        next_after(conn, "due", "ann", Some(&two), later, &settings).unwrap(),
        None
    );
    assert_eq!(lease_of(&s, &two), (None, None));

    // Inside the caller's transaction it joins it instead of opening its own.
    s.with_tx(|tx| next_after(tx, "new", "ann", None, later, &settings))
        .unwrap()
        .unwrap();
    assert_eq!(lease_of(&s, &two).0.as_deref(), Some("ann"));
}

#[test]
fn two_connections_racing_never_claim_the_same_lead() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("race.db");
    let clock = Arc::new(FixedClock::at(noon()));
    let mut setup = Store::open_with_clock(&path, None, clock.clone()).unwrap();
    let total = 15 * HAND;
    for i in 0..total {
        add_lead(
            &mut setup,
            lead(
                &format!("L{i}"),
                "DE",
                utc(2, 8, 0) - Duration::minutes(i as i64),
            ),
        );
    }
    // Three connections on one file, as the window, the CLI and a second window would be; each
    // rep passes on the lead they worked, so most calls come from their hand.
    let handles: Vec<_> = ["ann", "bob", "cy"]
        .into_iter()
        .map(|rep| {
            let path = path.clone();
            let clock = clock.clone();
            std::thread::spawn(move || {
                let s = Store::open_with_clock(&path, None, clock).unwrap();
                let mut got: Vec<String> = Vec::new();
                let settings = QueueSettings::default();
                while let Some(n) = next_after(
                    s.conn(),
                    "new",
                    rep,
                    got.last().map(String::as_str),
                    noon(),
                    &settings,
                )
                .unwrap()
                {
                    // A holder would get its own lead again: log-and-move-on is simulated by
                    // marking it worked.
                    s.conn()
                        .execute(
                            "UPDATE lead SET status = 'working' WHERE id = ?1",
                            [&n.lead.id],
                        )
                        .unwrap();
                    got.push(n.lead.id);
                }
                got
            })
        })
        .collect();
    let results: Vec<Vec<String>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let mut all: Vec<&String> = results.iter().flatten().collect();
    assert_eq!(all.len(), total);
    all.sort();
    all.dedup();
    assert_eq!(all.len(), total, "no lead handed to two reps");
}

#[test]
fn gate_blocked_capped_and_cooling_leads_are_skipped() {
    let mut s = store();
    let opted = add_lead(&mut s, lead("Opted", "DE", utc(2, 10, 0)));
    let capped = add_lead(&mut s, lead("Capped", "DE", utc(2, 9, 0)));
    let cooling = add_lead(&mut s, lead("Cooling", "DE", utc(2, 8, 0)));
    add_lead(&mut s, lead("Ready", "DE", utc(2, 7, 0)));
    s.with_tx(|tx| consent::opt_out(tx, &opted, ConsentScope::All, "call", None, "rep", noon()))
        .unwrap();
    s.conn()
        .execute("UPDATE lead SET attempts = 6 WHERE id = ?1", [&capped])
        .unwrap();
    s.conn()
        .execute(
            "UPDATE lead SET attempts = 1, last_outcome = 'no_answer', last_attempt_at = ?2
             WHERE id = ?1",
            params![cooling, to_text(noon() - Duration::hours(1))],
        )
        .unwrap();
    assert_eq!(next_name(&s, "new", "r", noon()).as_deref(), Some("Ready"));
    let relaxed = QueueSettings {
        attempt_cap: 7,
        cool_down_minutes: 30,
        ..QueueSettings::default()
    };
    let n = next(s.conn(), "new", "r2", noon(), &relaxed)
        .unwrap()
        .unwrap();
    assert_eq!(n.lead.name.as_deref(), Some("Capped"));
    assert!(
        n.reasons.iter().any(|r| r == "6 of 7 attempts made"),
        "{:?}",
        n.reasons
    );
    let n = next(s.conn(), "new", "r3", noon(), &relaxed)
        .unwrap()
        .unwrap();
    assert_eq!(n.lead.name.as_deref(), Some("Cooling"));
}

#[test]
fn callable_follows_local_time_and_due_follows_the_date() {
    let mut s = store();
    add_lead(&mut s, lead("Tokyo", "JP", utc(2, 10, 0)));
    add_lead(&mut s, lead("Berlin", "DE", utc(2, 9, 0)));
    // 11:00 UTC is 20:00 in Tokyo (callable) and 12:00 in Berlin.
    let page_names = |at| -> Vec<String> {
        page(s.conn(), "callable", 0, 10, at)
            .unwrap()
            .into_iter()
            .map(|e| e.lead.name.unwrap())
            .collect()
    };
    assert_eq!(page_names(noon()), vec!["Tokyo", "Berlin"]);
    // 13:00 UTC: 22:00 in Tokyo.
    assert_eq!(page_names(utc(2, 13, 0)), vec!["Berlin"]);
    // 22:00 UTC: nobody.
    assert!(page_names(utc(2, 22, 0)).is_empty());
    assert_eq!(page(s.conn(), "callable", 1, 10, noon()).unwrap().len(), 1);

    let due = add_lead(&mut s, lead("Due", "DE", utc(1, 9, 0)));
    s.with_tx(|tx| {
        leads::set_fields(
            tx,
            &due,
            &[
                (leads::LeadField::Status, Some("working".into())),
                (
                    leads::LeadField::NextFollowUpAt,
                    Some(to_text(utc(2, 10, 0))),
                ),
            ],
            "rep",
            "test",
            noon(),
        )
    })
    .unwrap();
    assert_eq!(next_name(&s, "due", "r", utc(2, 9, 59)), None);
    let n = next(s.conn(), "due", "r", noon(), &QueueSettings::default())
        .unwrap()
        .unwrap();
    assert_eq!(
        n.reasons[0],
        "follow-up due since 2026-03-02 10:00 UTC (1 hour ago)"
    );
}

#[test]
fn user_queues_filter_by_country_and_registration_kind() {
    let mut s = store();
    add_lead(&mut s, lead("Anna", "DE", utc(2, 10, 0)));
    let fr = add_lead(&mut s, lead("Marie", "FR", utc(2, 9, 0)));
    s.conn()
        .execute(
            "INSERT INTO registration(id, lead_id, kind, submitted_at, received_at)
             VALUES ('r1', ?1, 'license_key', ?2, ?2)",
            params![fr, to_text(utc(2, 9, 0))],
        )
        .unwrap();
    let def = |name: &str, filter| QueueDef {
        name: name.into(),
        description: String::new(),
        filter,
        order: QueueOrder::NewestRegistration,
        built_in: false,
    };
    add_q(
        &s,
        def(
            "fr",
            QueueFilter {
                countries: vec!["FR".into()],
                ..QueueFilter::base(QueueBase::Open)
            },
        ),
    );
    add_q(
        &s,
        def(
            "keys",
            QueueFilter {
                kinds: vec![RegistrationKind::LicenseKey],
                ..QueueFilter::base(QueueBase::New)
            },
        ),
    );
    let n = next(s.conn(), "fr", "r", noon(), &QueueSettings::default())
        .unwrap()
        .unwrap();
    assert_eq!(n.lead.name.as_deref(), Some("Marie"));
    assert_eq!(n.reasons[0], "in your queue 'fr'");
    assert_eq!(page(s.conn(), "keys", 0, 5, noon()).unwrap().len(), 1);
}

fn add_q(s: &Store, def: QueueDef) {
    super::add(s.conn(), &def, "admin", noon()).unwrap();
}

#[test]
fn walks_use_indexes_instead_of_sorting() {
    let s = store();
    for name in ["new", "due", "callable"] {
        let def = get(s.conn(), name).unwrap();
        let w = walk_sql(&def, &QueueSettings::default(), noon(), Some("r"));
        let plan: Vec<String> = s
            .conn()
            .prepare(&format!("EXPLAIN QUERY PLAN {}", w.sql))
            .unwrap()
            .query_map(params_from_iter(w.params.iter()), |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let plan = plan.join(" | ");
        assert!(!plan.contains("TEMP B-TREE"), "{name}: {plan}");
        assert!(plan.contains("USING INDEX lead_"), "{name}: {plan}");
    }
}

#[test]
fn settings_round_trip_and_are_checked() {
    let s = store();
    assert_eq!(
        QueueSettings::load(s.conn()).unwrap(),
        QueueSettings::default()
    );
    let mine = QueueSettings {
        lease_minutes: 5,
        attempt_cap: 3,
        cool_down_minutes: 60,
    };
    mine.save(s.conn()).unwrap();
    assert_eq!(QueueSettings::load(s.conn()).unwrap(), mine);
    let bad = QueueSettings {
        attempt_cap: 0,
        ..mine
    };
    assert_eq!(bad.save(s.conn()).unwrap_err().code(), "bad_input");
}

#[test]
fn ages_read_naturally() {
    let at = noon();
    assert_eq!(ago(at - Duration::seconds(20), at), "just now");
    assert_eq!(ago(at - Duration::minutes(1), at), "1 minute ago");
    assert_eq!(ago(at - Duration::hours(5), at), "5 hours ago");
    assert_eq!(ago(at - Duration::days(3), at), "3 days ago");
}

/// `n` leads in the `new` queue, newest first: `L0` registered last.
fn queue_of(s: &mut Store, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            add_lead(
                s,
                lead(
                    &format!("L{i}"),
                    "DE",
                    utc(2, 8, 0) - Duration::minutes(i as i64),
                ),
            )
        })
        .collect()
}

/// The leads `rep` holds a lease on, whatever its end.
fn held_by(s: &Store, rep: &str) -> Vec<String> {
    let mut held: Vec<String> = s
        .conn()
        .prepare("SELECT lead_id FROM lead_lease WHERE owner = ?1")
        .unwrap()
        .query_map([rep], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    held.sort();
    held
}

fn sorted(ids: &[String]) -> Vec<String> {
    let mut ids = ids.to_vec();
    ids.sort();
    ids
}

/// Logging a contact takes the lead out of `new`, as the call session's save does.
fn work(s: &Store, id: &str) {
    s.conn()
        .execute("UPDATE lead SET status = 'working' WHERE id = ?1", [id])
        .unwrap();
}

#[test]
fn a_hand_is_dealt_in_one_commit_and_handed_out_without_writing() {
    let mut s = store();
    let ids = queue_of(&mut s, 3 * HAND);
    let settings = QueueSettings::default();
    let conn = s.conn();
    let first = next_after(conn, "new", "ann", None, noon(), &settings)
        .unwrap()
        .unwrap();
    assert_eq!(first.lead.id, ids[0]);
    assert_eq!(
        held_by(&s, "ann"),
        sorted(&ids[..HAND]),
        "one claim deals a hand"
    );
    let mut previous = first.lead.id;
    for (i, id) in ids.iter().enumerate().take(HAND).skip(1) {
        work(&s, &previous);
        let writes = conn.total_changes();
        let at = noon() + Duration::seconds(i as i64);
        let n = next_after(conn, "new", "ann", Some(&previous), at, &settings)
            .unwrap()
            .unwrap();
        assert_eq!(&n.lead.id, id, "the hand goes out in queue order");
        assert_eq!(n.lease_until, noon() + Duration::minutes(15));
        assert_eq!(
            conn.total_changes(),
            writes,
            "served from the hand: no write"
        );
        previous = n.lead.id;
    }
    // The hand is used up: the next call deals the next one and gives the worked leads back.
    work(&s, &previous);
    let at = noon() + Duration::minutes(1);
    let n = next_after(conn, "new", "ann", Some(&previous), at, &settings)
        .unwrap()
        .unwrap();
    assert_eq!(n.lead.id, ids[HAND]);
    assert_eq!(n.lease_until, at + Duration::minutes(15));
    assert_eq!(held_by(&s, "ann"), sorted(&ids[HAND..2 * HAND]));
    assert!(conn.is_autocommit());
}

#[test]
fn a_better_lead_arriving_is_handed_out_before_the_rest_of_the_hand() {
    let mut s = store();
    let ids = queue_of(&mut s, 3 * HAND);
    let settings = QueueSettings::default();
    let first = next_after(s.conn(), "new", "ann", None, noon(), &settings)
        .unwrap()
        .unwrap();
    work(&s, &first.lead.id);
    let fresh = add_lead(&mut s, lead("Fresh", "DE", noon() - Duration::minutes(1)));
    let n = next_after(
        s.conn(),
        "new",
        "ann",
        Some(&first.lead.id),
        noon(),
        &settings,
    )
    .unwrap()
    .unwrap();
    assert_eq!(n.lead.id, fresh, "the new registration tops the queue");
    // Dealt again: the new lead and the rest of the old hand, the worked lead given back.
    let mut hand = vec![fresh.clone()];
    hand.extend(ids[1..HAND].iter().cloned());
    assert_eq!(held_by(&s, "ann"), sorted(&hand));
    work(&s, &fresh);
    let n = next_after(s.conn(), "new", "ann", Some(&fresh), noon(), &settings)
        .unwrap()
        .unwrap();
    assert_eq!(n.lead.id, ids[1], "then the hand goes on");
    // Switching queues gives the `new` hand back when the other queue deals.
    s.conn()
        .execute(
            "UPDATE lead SET status = 'working', next_follow_up_at = ?2 WHERE id = ?1",
            params![ids[20], crate::clock::to_text(utc(2, 9, 0))],
        )
        .unwrap();
    let due = next_after(s.conn(), "due", "ann", Some(&ids[1]), noon(), &settings)
        .unwrap()
        .unwrap();
    assert_eq!(due.lead.id, ids[20]);
    assert_eq!(held_by(&s, "ann"), vec![ids[20].clone()]);
}

#[test]
fn lease_expiry_frees_the_hand_and_a_stale_hand_is_dealt_again() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.db");
    let clock = Arc::new(FixedClock::at(noon()));
    let mut a = Store::open_with_clock(&path, None, clock.clone()).unwrap();
    let b = Store::open_with_clock(&path, None, clock).unwrap();
    let ids = queue_of(&mut a, 3 * HAND);
    let settings = QueueSettings::default();
    let ann = next_after(a.conn(), "new", "ann", None, noon(), &settings)
        .unwrap()
        .unwrap();
    assert_eq!(ann.lead.id, ids[0]);
    // While the hand's leases hold, another connection's rep walks past all of it.
    let bob = next_after(b.conn(), "new", "bob", None, noon(), &settings)
        .unwrap()
        .unwrap();
    assert_eq!(bob.lead.id, ids[HAND]);
    // Less than half the lease left: ann's next call claims her lead again for a full lease.
    let stale = noon() + Duration::minutes(8);
    let again = next_after(a.conn(), "new", "ann", Some(&ids[0]), stale, &settings)
        .unwrap()
        .unwrap();
    assert_eq!(again.lead.id, ids[0]);
    assert_eq!(again.lease_until, stale + Duration::minutes(15));
    // Past the end of bob's leases, ann's walk reaches them: expiry freed bob's hand.
    let expired = noon() + Duration::minutes(16);
    work(&a, &ids[0]);
    let mut got = Vec::new();
    let mut previous = Some(ids[0].clone());
    for _ in 0..(2 * HAND) {
        let n = next_after(
            a.conn(),
            "new",
            "ann",
            previous.as_deref(),
            expired,
            &settings,
        )
        .unwrap()
        .unwrap();
        work(&a, &n.lead.id);
        got.push(n.lead.id.clone());
        previous = Some(n.lead.id);
    }
    assert_eq!(got, ids[1..=2 * HAND].to_vec());
    assert!(got.contains(&bob.lead.id));
}

#[test]
fn migration_0014_carries_live_leases_over_from_the_lead_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let clock = Arc::new(FixedClock::at(noon()));
    let (one, two);
    {
        let mut s = Store::open_with_clock(&path, None, clock.clone()).unwrap();
        one = add_lead(&mut s, lead("One", "DE", utc(2, 8, 0)));
        two = add_lead(&mut s, lead("Two", "DE", utc(2, 7, 0)));
        // A replica from before 0014: its lease in the lead row (the migrations after it run
        // again too).
        s.conn()
            .execute_batch(&format!(
                "DROP TABLE lead_lease;
                 UPDATE lead SET lease_owner = 'ann', lease_until = '2026-03-02T11:15:00.000Z'
                  WHERE id = '{one}';
                 PRAGMA user_version = {};",
                crate::store::database::migrations_before("0014_lead_lease")
            ))
            .unwrap();
    }
    let s = Store::open_with_clock(&path, None, clock).unwrap();
    assert_eq!(
        lease_of(&s, &one),
        (Some("ann".into()), Some("2026-03-02T11:15:00.000Z".into()))
    );
    let left: i64 = s
        .conn()
        .query_row(
            "SELECT count(*) FROM lead WHERE lease_owner IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(left, 0, "the lead rows no longer hold leases");
    // The carried lease still keeps the lead from another rep.
    assert_eq!(next_name(&s, "new", "bob", noon()).as_deref(), Some("Two"));
    assert_eq!(lease_of(&s, &two).0.as_deref(), Some("bob"));
}
