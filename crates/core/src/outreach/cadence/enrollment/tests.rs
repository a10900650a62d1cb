//! Enrolments on a real database file: versions kept, steps advanced by logged follow-ups,
//! due steps in the `due` queue and the letter batch, every stop, enrolment by intake rule.

use super::*;
use crate::compliance::consent;
use crate::intake::{self, IntakeContext, RegistrationInput};
use crate::outreach::cadence::definition::Rule;
use crate::outreach::followup::{self, LogFollowUp};
use crate::outreach::letters;
use crate::outreach::queue::{self, QueueSettings};
use crate::people::leads::{LeadField, NewLead};
use crate::privacy::erase;
use crate::{FixedClock, Store};
use chrono::{Duration, TimeZone};
use std::sync::Arc;
use switchboard_protocol::{ConsentScope, Outcome};

/// Monday 2 March 2026, 09:00 UTC: 10:00 in Berlin.
fn monday() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}

struct Db {
    store: Store,
    clock: FixedClock,
    _dir: tempfile::TempDir,
}

fn db() -> Db {
    let dir = tempfile::tempdir().unwrap();
    let clock = FixedClock::at(monday());
    let store = Store::open_with_clock(
        &dir.path().join("cadence.db"),
        None,
        Arc::new(clock.clone()),
    )
    .unwrap();
    Db {
        store,
        clock,
        _dir: dir,
    }
}

fn lead(db: &mut Db, email: &str) -> String {
    let id = new_id(db.store.now());
    let at = db.store.now();
    db.store
        .with_tx(|tx| {
            leads::insert(
                tx,
                &id,
                &NewLead {
                    name: Some(format!("Lead {email}")),
                    email: Some(email.into()),
                    phone: Some("+4930123456".into()),
                    address: Some("Hauptstr. 1, Berlin".into()),
                    country: Some("DE".into()),
                    time_zone: Some("Europe/Berlin".into()),
                    owner: Some("rep.anna".into()),
                    office: Some("berlin".into()),
                    last_registered_at: Some(at),
                    ..NewLead::default()
                },
                at,
            )
        })
        .unwrap();
    id
}

fn steps(specs: &[&str]) -> Vec<Step> {
    specs
        .iter()
        .map(|s| definition::parse_step(s).unwrap())
        .collect()
}

fn save(db: &mut Db, name: &str, specs: &[&str]) -> definition::Cadence {
    let s = steps(specs);
    db.store
        .with_tx_now(|tx, at| definition::save(tx, name, &s, "manager", at))
        .unwrap()
}

fn enroll_all(db: &mut Db, cadence: &str, ids: &[String]) -> Enrolled {
    db.store
        .with_tx_now(|tx, at| enroll(tx, cadence, ids, "manager", at))
        .unwrap()
}

fn only(db: &Db, lead_id: &str) -> Enrollment {
    let mut all = for_lead(db.store.conn(), lead_id).unwrap();
    assert_eq!(all.len(), 1, "{all:?}");
    all.pop().unwrap()
}

fn log(db: &mut Db, lead_id: &str, channel: Channel, direction: Direction, outcome: Outcome) {
    let at = db.store.now();
    let input = LogFollowUp {
        lead: lead_id.into(),
        channel,
        direction,
        outcome,
        note: None,
        occurred_at: at,
        rep: "rep.anna".into(),
        next_follow_up_at: None,
    };
    db.store
        .with_tx(|tx| followup::log(tx, &input, at))
        .unwrap();
}

#[test]
fn editing_a_cadence_adds_a_version_and_enrolled_leads_keep_theirs() {
    let mut db = db();
    let (a, b) = (
        lead(&mut db, "a@example.com"),
        lead(&mut db, "b@example.com"),
    );
    let v1 = save(
        &mut db,
        "Trial",
        &["call=Intro", "wait=2", "email=follow-up"],
    );
    assert_eq!(v1.version, 1);
    enroll_all(&mut db, "trial", std::slice::from_ref(&a));
    let v2 = save(&mut db, "Trial", &["email=welcome", "wait=1", "call=Intro"]);
    assert_eq!((v2.id.clone(), v2.version), (v1.id.clone(), 2));
    enroll_all(&mut db, "Trial", std::slice::from_ref(&b));
    let (ea, eb) = (only(&db, &a), only(&db, &b));
    assert_eq!((ea.version, ea.channel), (1, Some(Channel::Phone)));
    assert_eq!((eb.version, eb.channel), (2, Some(Channel::Email)));
    assert_eq!(
        definition::steps_of(db.store.conn(), &v1.id, 1).unwrap(),
        v1.steps
    );
    let listed = definition::list(db.store.conn()).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].steps, v2.steps);
    // Bad definitions are refused with what to do.
    let err = db
        .store
        .with_tx_now(|tx, at| definition::save(tx, "x", &steps(&["wait=2"]), "m", at))
        .unwrap_err();
    assert!(err.to_string().contains("waits only"), "{err}");
    let err = db
        .store
        .with_tx_now(|tx, at| definition::save(tx, "x", &steps(&["letter=nope"]), "m", at))
        .unwrap_err();
    assert_eq!(err.code(), "not_found");
}

#[test]
fn each_due_step_is_in_the_due_queue_and_logging_it_advances_the_enrolment() {
    let mut db = db();
    let id = lead(&mut db, "ann@example.com");
    save(
        &mut db,
        "Trial",
        &["call=Intro|connected,no_answer", "wait=1", "email=recap"],
    );
    let done = enroll_all(
        &mut db,
        "Trial",
        &[
            id.clone(),
            "ann@example.com".into(),
            "nobody@example.com".into(),
        ],
    );
    assert_eq!((done.enrolled, done.already, done.skipped.len()), (1, 1, 1));
    let e = only(&db, &id);
    assert_eq!(
        (e.step, e.due_at, e.rep.as_deref()),
        (0, Some(monday()), Some("rep.anna"))
    );

    // A new lead with a due call step is in the due queue (the due-date rule alone needs a
    // working lead with a date).
    let settings = QueueSettings::default();
    let next = queue::next(db.store.conn(), "due", "rep.anna", monday(), &settings)
        .unwrap()
        .expect("the cadence step is due");
    assert_eq!(next.lead.id, id);
    assert!(
        next.reasons.contains(
            &"cadence 'Trial' step 1 of 3 due: call: Intro (then: wait 1 business day(s))".into()
        ),
        "{:?}",
        next.reasons
    );
    let tasks = due(db.store.conn(), monday(), Some("rep.anna"), 10).unwrap();
    assert_eq!(tasks.len(), 1);
    assert!(tasks[0].gate.is_allowed());
    assert_eq!(tasks[0].then.as_deref(), Some("wait 1 business day(s)"));
    assert!(due(db.store.conn(), monday(), Some("rep.bob"), 10)
        .unwrap()
        .is_empty());

    // The call is logged: the email step follows one business day later, at the same time.
    log(
        &mut db,
        &id,
        Channel::Phone,
        Direction::Out,
        Outcome::NoAnswer,
    );
    let e = only(&db, &id);
    assert_eq!((e.step, e.channel), (2, Some(Channel::Email)));
    assert_eq!(e.due_at, Some(monday() + Duration::days(1)));
    assert!(due(db.store.conn(), monday(), None, 10).unwrap().is_empty());
    assert!(
        queue::next(db.store.conn(), "due", "rep.anna", monday(), &settings)
            .unwrap()
            .is_none()
    );

    // An email sent before the step is due does not count; at its time it completes the cadence.
    log(&mut db, &id, Channel::Email, Direction::Out, Outcome::Sent);
    assert_eq!(only(&db, &id).state, "active");
    db.clock.advance(Duration::days(1));
    log(&mut db, &id, Channel::Email, Direction::Out, Outcome::Sent);
    let e = only(&db, &id);
    assert_eq!((e.state.as_str(), e.due_at), ("completed", None));
    let counts = counts(db.store.conn(), &e.cadence_id).unwrap();
    assert_eq!((counts.active, counts.completed), (0, 1));
}

#[test]
fn a_step_runs_only_when_the_gate_allows_it_at_that_moment() {
    let mut db = db();
    let id = lead(&mut db, "ann@example.com");
    save(&mut db, "Calls", &["call=Intro"]);
    enroll_all(&mut db, "Calls", std::slice::from_ref(&id));
    // Planned for 10:00 Berlin; asked at 22:00 Berlin, the gate says no and logging is refused.
    let night = monday() + Duration::hours(12);
    db.clock.set(night);
    let tasks = due(db.store.conn(), night, None, 10).unwrap();
    assert_eq!(
        tasks[0].gate.reason().map(|r| r.code()),
        Some("outside_calling_hours")
    );
    let input = LogFollowUp {
        lead: id.clone(),
        channel: Channel::Phone,
        direction: Direction::Out,
        outcome: Outcome::Connected,
        note: None,
        occurred_at: night,
        rep: "rep.anna".into(),
        next_follow_up_at: None,
    };
    let err = db
        .store
        .with_tx(|tx| followup::log(tx, &input, night))
        .unwrap_err();
    assert_eq!(err.code(), "blocked");
    assert_eq!(only(&db, &id).state, "active");
}

fn stopped_by(db: &mut Db, what: impl FnOnce(&mut Db, &str)) -> Option<String> {
    let id = lead(db, &format!("{}@example.com", new_id(db.store.now())));
    enroll_all(db, "Trial", std::slice::from_ref(&id));
    what(db, &id);
    let e = for_lead(db.store.conn(), &id).unwrap().pop().unwrap();
    (e.state == "stopped").then(|| e.stop_reason.unwrap_or_default())
}

#[test]
fn every_stop_event_ends_the_enrolment_where_it_is_recorded() {
    let mut db = db();
    // The next step is an email (so an opt-out of email stops it, one of phone does not).
    save(&mut db, "Trial", &["email=welcome", "wait=2", "call=Intro"]);
    let reason = |db: &mut Db, f: &dyn Fn(&mut Db, &str)| stopped_by(db, f);
    // Outcomes that end a cadence, in either direction, and one that ends nothing
    // (`ends_cadences`).
    for (channel, direction, outcome, stopped) in [
        (
            Channel::Email,
            Direction::In,
            Outcome::Replied,
            Some("replied"),
        ),
        (
            Channel::Phone,
            Direction::In,
            Outcome::MeetingBooked,
            Some("meeting_booked"),
        ),
        (
            Channel::Phone,
            Direction::Out,
            Outcome::NotInterested,
            Some("not_interested"),
        ),
        (Channel::Phone, Direction::Out, Outcome::NoAnswer, None),
    ] {
        assert_eq!(
            reason(&mut db, &|db, id| log(db, id, channel, direction, outcome)),
            stopped.map(String::from),
            "{outcome}"
        );
    }
    let opt_out = |scope: ConsentScope| {
        move |db: &mut Db, id: &str| {
            let at = db.store.now();
            db.store
                .with_tx(|tx| consent::opt_out(tx, id, scope, "asked", None, "rep", at))
                .unwrap();
        }
    };
    assert_eq!(reason(&mut db, &opt_out(ConsentScope::Phone)), None);
    assert_eq!(
        reason(&mut db, &opt_out(ConsentScope::Email)),
        Some("opted_out_email".into())
    );
    assert_eq!(
        reason(&mut db, &opt_out(ConsentScope::All)),
        Some("opted_out_all".into())
    );
    assert_eq!(
        reason(&mut db, &|db, id| {
            let at = db.store.now();
            db.store
                .with_tx(|tx| leads::set_email_invalid(tx, id, true, "mail", "bounce", at))
                .unwrap();
        }),
        Some("bounced".into())
    );
    assert_eq!(
        reason(&mut db, &|db, id| {
            let at = db.store.now();
            db.store
                .with_tx(|tx| {
                    leads::set_fields(
                        tx,
                        id,
                        &[(LeadField::Office, Some("paris".into()))],
                        "m",
                        "move",
                        at,
                    )
                })
                .unwrap();
        }),
        Some("moved_office".into())
    );
    assert_eq!(
        reason(&mut db, &|db, id| {
            erase::erase(&mut db.store, id, "dpo").unwrap();
        }),
        Some("erased".into())
    );
    assert_eq!(
        reason(&mut db, &|db, id| {
            let n = db
                .store
                .with_tx_now(|tx, at| stop(tx, id, Some("Trial"), "manager", at))
                .unwrap();
            assert_eq!(n, 1);
        }),
        Some("manual: manager".into())
    );
    // A stopped lead can be enrolled again by hand; an erased one cannot.
    let id = lead(&mut db, "again@example.com");
    enroll_all(&mut db, "Trial", std::slice::from_ref(&id));
    db.store
        .with_tx_now(|tx, at| stop(tx, &id, None, "manager", at))
        .unwrap();
    assert_eq!(
        enroll_all(&mut db, "Trial", std::slice::from_ref(&id)).enrolled,
        1
    );
}

#[test]
fn a_registration_matching_a_rule_enrols_its_lead_at_intake() {
    let mut db = db();
    save(
        &mut db,
        "Demo follow-up",
        &["call=Book the demo", "wait=3", "email=recap"],
    );
    db.store
        .with_tx_now(|tx, at| {
            definition::add_rule(
                tx,
                "Demo follow-up",
                &Rule {
                    kind: Some(switchboard_protocol::RegistrationKind::Demo),
                    country: Some("de".into()),
                    ..Rule::default()
                },
                "manager",
                at,
            )
        })
        .unwrap();
    let register = |db: &mut Db, email: &str, kind: &str, country: &str| {
        let input = RegistrationInput {
            kind: Some(kind.into()),
            details: switchboard_protocol::RegistrationDetails {
                name: Some("Ann Example".into()),
                email: Some(email.into()),
                phone: Some("+49 30 1234567".into()),
                country: Some(country.into()),
                ..Default::default()
            },
            ..RegistrationInput::default()
        };
        db.store
            .with_tx_now(|tx, at| {
                let ctx = IntakeContext::new(tx, None, at, "intake")?;
                intake::record(tx, &input, &ctx)
            })
            .unwrap()
    };
    let demo = register(&mut db, "demo@example.com", "demo", "DE");
    register(&mut db, "key@example.com", "license_key", "DE");
    register(&mut db, "fr@example.com", "demo", "FR");
    let intake::IntakeOutcome::Created(id) = demo else {
        panic!("{demo:?}")
    };
    // Planned when the due steps are asked for, from the registration's arrival.
    let tasks = due(db.store.conn(), monday(), None, 10).unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].enrollment.lead_id, id);
    assert!(tasks[0].enrollment.enrolled_by.starts_with("rule:"));
    assert_eq!(tasks[0].enrollment.due_at, Some(monday()));
    // The same person registering again is not enrolled twice.
    register(&mut db, "demo@example.com", "demo", "DE");
    assert_eq!(for_lead(db.store.conn(), &id).unwrap().len(), 1);
}

/// A large import sets the intake-rule trigger aside while no rule exists. A rule saved on another
/// connection mid-import brings it back before the import's next row, so the rows recorded after
/// the rule enrol by it and those before do not, as with the trigger in place; with a rule from
/// the start the trigger stays.
#[test]
fn a_rule_saved_during_a_large_import_enrols_the_rows_recorded_after_it() {
    use crate::intake::import::{import_reader, Format, ImportOptions};
    use crate::people::registration::RULE_TRIGGER;
    use crate::store::deferred_indexes::present;
    let mut db = db();
    let path = db._dir.path().join("cadence.db");
    save(
        &mut db,
        "Demo follow-up",
        &["call=Book the demo", "email=recap"],
    );
    let rows = |file: u8| -> Vec<u8> {
        let mut text = String::from("Submission ID,Type,Submitted At,E-mail,Country\n");
        for n in 0..300 {
            text.push_str(&format!(
                "f{file}-{n},demo,2026-03-01T08:00:00Z,p{file}-{n}@example.com,DE\n"
            ));
        }
        text.into_bytes()
    };
    let options = ImportOptions {
        batch_size: 100,
        ..ImportOptions::default()
    };
    // A stream declared large enough for `import::deferral` to set indexes aside.
    let large = 5_000 * 512;
    let clock = Arc::new(db.clock.clone());
    let mut before_rule = None;
    let mut trigger_seen = Vec::new();
    import_reader(
        &mut db.store,
        &rows(1)[..],
        large,
        Format::Csv,
        &options,
        &mut |_| {
            let mut other = Store::open_with_clock(&path, None, clock.clone()).unwrap();
            trigger_seen.push(present(other.conn(), RULE_TRIGGER).unwrap());
            if before_rule.is_none() {
                let recorded: i64 = other
                    .conn()
                    .query_row("SELECT count(*) FROM registration", [], |r| r.get(0))
                    .unwrap();
                before_rule = Some(recorded);
                other
                    .with_tx_now(|tx, at| {
                        let rule = Rule {
                            kind: Some(switchboard_protocol::RegistrationKind::Demo),
                            ..Rule::default()
                        };
                        definition::add_rule(tx, "Demo follow-up", &rule, "manager", at)
                    })
                    .unwrap();
            }
        },
    )
    .unwrap();
    assert!(!trigger_seen[0], "set aside: no rule yet");
    assert!(trigger_seen[1..].iter().all(|&t| t), "{trigger_seen:?}");
    let enrolled = |db: &Db| -> i64 {
        db.store
            .conn()
            .query_row(
                "SELECT count(*) FROM cadence_enrollment WHERE enrolled_by LIKE 'rule:%'",
                [],
                |r| r.get(0),
            )
            .unwrap()
    };
    let before_rule = before_rule.unwrap();
    assert!(before_rule > 0 && before_rule < 300);
    assert_eq!(enrolled(&db), 300 - before_rule);
    assert!(present(db.store.conn(), RULE_TRIGGER).unwrap());
    // With a rule from the start, nothing to set the trigger aside for.
    let mut trigger_seen = Vec::new();
    let conn_path = path.clone();
    import_reader(
        &mut db.store,
        &rows(2)[..],
        large,
        Format::Csv,
        &options,
        &mut |_| {
            let other = rusqlite::Connection::open(&conn_path).unwrap();
            trigger_seen.push(present(&other, RULE_TRIGGER).unwrap());
        },
    )
    .unwrap();
    assert!(trigger_seen.iter().all(|&t| t), "{trigger_seen:?}");
    assert_eq!(enrolled(&db), 600 - before_rule);
}

#[test]
fn a_due_letter_step_joins_the_letter_batch_and_sending_it_advances() {
    let mut db = db();
    let id = lead(&mut db, "ann@example.com");
    db.store
        .with_tx_now(|tx, at| {
            letters::save_template(tx, None, "Brochure", "Dear {{first_name}}", "m", at)
        })
        .unwrap();
    save(
        &mut db,
        "Post",
        &["letter=Brochure", "wait=1", "call=Did it arrive?"],
    );
    enroll_all(&mut db, "Post", std::slice::from_ref(&id));
    let added = db
        .store
        .with_tx_now(|tx, at| letters::add_due(tx, "rep.anna", at))
        .unwrap();
    assert_eq!(added.added, 1);
    db.store
        .with_tx_now(|tx, at| letters::mark_sent(tx, None, "rep.anna", at))
        .unwrap();
    let e = only(&db, &id);
    assert_eq!((e.step, e.channel), (2, Some(Channel::Phone)));
    assert_eq!(e.due_at, Some(monday() + Duration::days(1)));
}

fn synced(
    id: &str,
    lead: &str,
    cadence: &str,
    owner: &str,
    step: i64,
    state: EnrollmentState,
) -> EnrollmentSynced {
    EnrollmentSynced {
        id: id.into(),
        lead_id: lead.into(),
        cadence_id: cadence.into(),
        version: 1,
        owner_replica: owner.into(),
        step,
        channel: Some(Channel::Phone),
        due_at: (state == EnrollmentState::Active).then(monday),
        state,
        rep: Some("rep.anna".into()),
        enrolled_at: monday(),
        enrolled_by: "manager".into(),
        ended_at: None,
        stop_reason: (state == EnrollmentState::Stopped).then(|| "replied".into()),
        changed_by: "manager".into(),
    }
}

#[test]
fn a_pulled_enrolment_of_another_laptop_is_shown_never_run_and_a_stop_outranks_an_advance() {
    let mut db = db();
    let ann = lead(&mut db, "ann@example.com");
    let bob = lead(&mut db, "bob@example.com");
    let cadence = save(&mut db, "Trial", &["call=Intro", "wait=2", "email=recap"]);
    let apply = |db: &mut Db, e: EnrollmentSynced| {
        db.store
            .with_tx(|tx| apply_synced(tx, &e, "this-laptop"))
            .unwrap()
    };
    assert!(apply(
        &mut db,
        synced(
            "e1",
            &ann,
            &cadence.id,
            "other-laptop",
            0,
            EnrollmentState::Active
        )
    ));
    let shown = for_lead(db.store.conn(), &ann).unwrap();
    assert_eq!(shown[0].owner_replica.as_deref(), Some("other-laptop"));
    assert_eq!(
        shown[0].due_at,
        Some(monday()),
        "the owner's due time is shown"
    );
    let later = monday() + Duration::days(1);
    assert!(
        due(db.store.conn(), later, None, 10).unwrap().is_empty(),
        "never run here"
    );
    assert!(due_steps(db.store.conn(), &ann, later).unwrap().is_empty());

    // A stop, then an older advance: the stop stays.
    assert!(apply(
        &mut db,
        synced(
            "e1",
            &ann,
            &cadence.id,
            "other-laptop",
            0,
            EnrollmentState::Stopped
        )
    ));
    assert!(!apply(
        &mut db,
        synced(
            "e1",
            &ann,
            &cadence.id,
            "other-laptop",
            2,
            EnrollmentState::Active
        )
    ));
    let e = find(db.store.conn(), "e1").unwrap().unwrap();
    assert_eq!(
        (e.state.as_str(), e.stop_reason.as_deref()),
        ("stopped", Some("replied"))
    );

    // An enrolment the server made and named this laptop the owner of is run here.
    assert!(apply(
        &mut db,
        synced(
            "e2",
            &bob,
            &cadence.id,
            "this-laptop",
            0,
            EnrollmentState::Active
        )
    ));
    let tasks = due(db.store.conn(), later, None, 10).unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(
        (
            tasks[0].enrollment.id.as_str(),
            tasks[0].enrollment.owner_replica.as_deref()
        ),
        ("e2", None)
    );
    // An enrolment of a cadence this laptop does not hold is left out.
    assert!(!apply(
        &mut db,
        synced(
            "e3",
            &bob,
            "unknown-cadence",
            "x",
            0,
            EnrollmentState::Active
        )
    ));
}
