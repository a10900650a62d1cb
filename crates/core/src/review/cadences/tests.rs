//! The cadence review on a real database file and a fixed clock: leads registered at known
//! instants, enrolled, then called, mailed, answered and opted out through the same functions
//! the window and CLI use; the figures must follow from those events.

use super::*;
use crate::clock::new_id;
use crate::compliance::consent;
use crate::intake::{self, IntakeContext, IntakeOutcome, RegistrationInput};
use crate::outreach::cadence::enrollment;
use crate::outreach::followup::{self, LogFollowUp};
use crate::{FixedClock, Store};
use chrono::{Duration, TimeZone};
use std::sync::Arc;
use switchboard_protocol::{ConsentScope, Direction, Outcome};

/// Monday 2 March 2026, 09:00 UTC: 10:00 in Berlin and Paris.
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
    let store =
        Store::open_with_clock(&dir.path().join("review.db"), None, Arc::new(clock.clone()))
            .unwrap();
    Db {
        store,
        clock,
        _dir: dir,
    }
}

/// A lead of `office` whose registration was submitted `ago` before now.
fn registered(db: &mut Db, email: &str, office: &str, ago: Duration) -> String {
    // A phone of its own, so intake does not merge the leads by it.
    let phone = format!(
        "+49 30 {}",
        1_000_000 + email.bytes().map(u32::from).sum::<u32>()
    );
    let input = RegistrationInput {
        submission_id: Some(new_id(db.store.now())),
        kind: Some("demo".into()),
        submitted_at: Some(crate::clock::to_text(db.store.now() - ago)),
        details: switchboard_protocol::RegistrationDetails {
            name: Some(format!("Lead {email}")),
            email: Some(email.into()),
            phone: Some(phone),
            country: Some("DE".into()),
            ..Default::default()
        },
        ..RegistrationInput::default()
    };
    let outcome = db
        .store
        .with_tx_now(|tx, at| {
            let ctx = IntakeContext::new(tx, Some(office.into()), at, "intake")?;
            intake::record(tx, &input, &ctx)
        })
        .unwrap();
    match outcome {
        IntakeOutcome::Created(id) => id,
        other => panic!("{other:?}"),
    }
}

fn log(db: &mut Db, lead: &str, channel: Channel, direction: Direction, outcome: Outcome) {
    let at = db.store.now();
    let input = LogFollowUp {
        lead: lead.into(),
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

fn opt_out(db: &mut Db, lead: &str, scope: ConsentScope) {
    db.store
        .with_tx_now(|tx, at| consent::opt_out(tx, lead, scope, "phone call", None, "rep.anna", at))
        .unwrap();
}

fn run(db: &Db, q: &CadenceReviewQuery) -> CadenceReview {
    review(db.store.conn(), q).unwrap()
}

fn figures(enrolled: u64, active: u64, completed: u64, stops: [u64; 5]) -> CadenceFigures {
    let [replied, meetings, opted_out, bounced, other_stops] = stops;
    CadenceFigures {
        enrolled,
        active,
        completed,
        replied,
        meetings,
        opted_out,
        bounced,
        other_stops,
    }
}

#[test]
fn figures_per_cadence_and_step_follow_from_the_recorded_events() {
    let mut db = db();
    let hour = Duration::hours(1);
    // Registered 1 to 7 hours before Monday 09:00; one lead of another office.
    let ids: Vec<String> = (1..=7)
        .map(|i| registered(&mut db, &format!("l{i}@example.com"), "berlin", hour * i))
        .collect();
    let paris = registered(&mut db, "p@example.com", "paris", hour);
    let steps: Vec<Step> = [
        "call=Intro|connected,no_answer,meeting_booked",
        "wait=1",
        "email=recap",
        "wait=1",
        "call=Check in",
    ]
    .iter()
    .map(|s| definition::parse_step(s).unwrap())
    .collect();
    db.store
        .with_tx_now(|tx, at| definition::save(tx, "Trial", &steps, "manager", at))
        .unwrap();
    let mut all = ids.clone();
    all.push(paris.clone());
    let done = db
        .store
        .with_tx_now(|tx, at| enrollment::enroll(tx, "Trial", &all, "manager", at))
        .unwrap();
    assert_eq!(done.enrolled, 8);

    // Monday: calls 30, 60, 90, … minutes after enrolling.
    let call = |db: &mut Db, lead: &str, outcome: Outcome| {
        db.clock.advance(Duration::minutes(30));
        log(db, lead, Channel::Phone, Direction::Out, outcome);
    };
    call(&mut db, &ids[0], Outcome::NoAnswer); // then replies by mail
    call(&mut db, &ids[1], Outcome::Connected); // then gets the mail, waits for the last call
    call(&mut db, &ids[2], Outcome::NoAnswer); // then opts out of email
    call(&mut db, &ids[3], Outcome::MeetingBooked); // stops on the call itself
    call(&mut db, &ids[4], Outcome::NoAnswer); // then gets the mail, which bounces
    call(&mut db, &paris, Outcome::Connected);
    // ids[5] opts out of everything before any step ran; ids[6] is never touched.
    opt_out(&mut db, &ids[5], ConsentScope::All);

    // Tuesday, when the email step is due.
    db.clock.set(monday() + Duration::days(1) + hour * 4);
    log(
        &mut db,
        &ids[0],
        Channel::Email,
        Direction::In,
        Outcome::Replied,
    );
    log(
        &mut db,
        &ids[1],
        Channel::Email,
        Direction::Out,
        Outcome::Sent,
    );
    opt_out(&mut db, &ids[2], ConsentScope::Email);
    log(
        &mut db,
        &ids[4],
        Channel::Email,
        Direction::Out,
        Outcome::Sent,
    );
    log(
        &mut db,
        &ids[4],
        Channel::Email,
        Direction::In,
        Outcome::Bounced,
    );

    let berlin = CadenceReviewQuery {
        office: Some("berlin".into()),
        ..CadenceReviewQuery::default()
    };
    let review = run(&db, &berlin);
    assert_eq!(review.cadences.len(), 1);
    let trial = &review.cadences[0];
    assert_eq!(trial.cadence, "Trial");
    // Seven enrolled: two still going (one never touched, one waiting for the last call), a
    // reply, a meeting, two opt-outs (one of all before any step ran), a bounce.
    assert_eq!(trial.figures, figures(7, 2, 0, [1, 1, 2, 1, 0]));
    let numbers: Vec<u32> = trial.steps.iter().map(|s| s.number).collect();
    assert_eq!(numbers, [1, 3, 5], "waits are not listed");
    // The first call ran for five (the meeting was booked on it) and one waits for it; the
    // reply, the meeting and the email opt-out answer it.
    assert_eq!(trial.steps[0].figures, figures(6, 1, 5, [1, 1, 1, 0, 0]));
    // The mail went to two; one of them bounced.
    assert_eq!(trial.steps[1].channel, Some(Channel::Email));
    assert_eq!(trial.steps[1].figures, figures(2, 0, 2, [0, 0, 0, 1, 0]));
    // The last call is due for one.
    assert_eq!(trial.steps[2].figures, figures(1, 1, 0, [0, 0, 0, 0, 0]));

    // First touch: each touched lead's call, from its registration 1..5 hours before Monday
    // 09:00 plus the 30-minute steps: 1h30, 3h, 4h30, 6h, 7h30.
    let expected: Vec<i64> = (1..=5).map(|i| i * 3600 + i * 1800).collect();
    assert_eq!(
        trial.first_touch,
        FirstTouch {
            touched: 5,
            median_seconds: Some(expected[2]),
            p90_seconds: Some(expected[4]),
        }
    );

    // Every office: the Paris lead adds one enrolment that has run its call.
    let everyone = run(&db, &CadenceReviewQuery::default());
    let trial = &everyone.cadences[0];
    assert_eq!(trial.figures.enrolled, 8);
    assert_eq!(trial.figures.active, 3);
    assert_eq!(trial.steps[0].figures.completed, 6);
    assert_eq!(trial.first_touch.touched, 6);
}

#[test]
fn the_period_and_office_narrow_the_enrolments_and_an_empty_one_has_no_rows() {
    let mut db = db();
    let first = registered(&mut db, "a@example.com", "berlin", Duration::hours(2));
    let steps = [definition::parse_step("email=hello").unwrap()];
    db.store
        .with_tx_now(|tx, at| definition::save(tx, "Hello", &steps, "manager", at))
        .unwrap();
    db.store
        .with_tx_now(|tx, at| {
            enrollment::enroll(tx, "Hello", std::slice::from_ref(&first), "m", at)
        })
        .unwrap();
    db.clock.advance(Duration::days(7));
    let second = registered(&mut db, "b@example.com", "berlin", Duration::hours(2));
    db.store
        .with_tx_now(|tx, at| {
            enrollment::enroll(tx, "Hello", std::slice::from_ref(&second), "m", at)
        })
        .unwrap();

    let week_two = CadenceReviewQuery {
        since: Some(monday() + Duration::days(7)),
        until: Some(monday() + Duration::days(14)),
        ..CadenceReviewQuery::default()
    };
    assert_eq!(run(&db, &week_two).cadences[0].figures.enrolled, 1);
    let week_one = CadenceReviewQuery {
        until: Some(monday() + Duration::days(1)),
        cadence: Some("hello".into()),
        ..CadenceReviewQuery::default()
    };
    assert_eq!(run(&db, &week_one).cadences[0].figures.enrolled, 1);
    let elsewhere = CadenceReviewQuery {
        office: Some("paris".into()),
        ..CadenceReviewQuery::default()
    };
    assert!(run(&db, &elsewhere).cadences.is_empty());

    let backwards = CadenceReviewQuery {
        since: Some(monday() + Duration::days(1)),
        until: Some(monday()),
        ..CadenceReviewQuery::default()
    };
    let err = review(db.store.conn(), &backwards).unwrap_err();
    assert_eq!(err.code(), "bad_input");
    let unknown = CadenceReviewQuery {
        cadence: Some("Nope".into()),
        ..CadenceReviewQuery::default()
    };
    assert_eq!(
        review(db.store.conn(), &unknown).unwrap_err().code(),
        "not_found"
    );
}

#[test]
fn the_period_query_walks_the_start_index() {
    let db = db();
    let (join, clause, params) = filter(
        db.store.conn(),
        &CadenceReviewQuery {
            since: Some(monday()),
            until: Some(monday() + Duration::days(30)),
            ..CadenceReviewQuery::default()
        },
    )
    .unwrap();
    let plan: Vec<String> = db
        .store
        .conn()
        .prepare(&format!(
            "EXPLAIN QUERY PLAN {}",
            counts_sql(&join, &clause)
        ))
        .unwrap()
        .query_map(params_from_iter(params.iter()), |r| r.get::<_, String>(3))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert!(
        plan.iter().any(|step| step
            .contains("INDEX cadence_enrollment_by_start (enrolled_at>? AND enrolled_at<?)")),
        "{plan:?}"
    );
}
