//! Cadences across the office (protocol 3), through a real server on 127.0.0.1 with real TLS
//! and the real sync engine: a manager's definition reaches the rep's laptop; every laptop
//! shows each enrolment, only its owner runs a step — once, even when both laptops were
//! offline past its due time; a stop from any laptop (by hand, or by a reply) reaches the
//! owner, which never runs another step, and beats an advance made concurrently; a website
//! registration matching an intake rule is enrolled once, by the server, however many laptops
//! pull it; an erasure ends it everywhere for good; a rep may not define cadences; stops reach
//! an owner on `sync --watch` (real binaries).

use crate::sync_support;
use crate::watch_stops;

use chrono::Duration;
use serde_json::json;
use std::sync::Arc;
use switchboard_core::cadence::{definition, enrollment, Rule};
use switchboard_core::followup::{self, LogFollowUp};
use switchboard_core::intake::{self, IntakeContext, RegistrationInput};
use switchboard_core::protocol::RegistrationDetails;
use switchboard_core::protocol::{Channel, Direction, Outcome, RegistrationKind};
use switchboard_core::FixedClock;
use sync_support::{monday, Hub, NowUtc, Replica};

const STEPS: [&str; 5] = [
    "call=Introduce the trial|connected,no_answer",
    "wait=2",
    "email=recap",
    "wait=2",
    "call=Close",
];

fn save_trial(mona: &mut Replica) -> String {
    let steps: Vec<_> = STEPS
        .iter()
        .map(|s| definition::parse_step(s).unwrap())
        .collect();
    let at = mona.clock.now_utc();
    mona.store
        .with_tx(|tx| definition::save(tx, "Trial", &steps, "mona", at))
        .unwrap()
        .id
}

fn enrolment(r: &Replica, lead: &str) -> enrollment::Enrollment {
    let all = enrollment::for_lead(r.store.conn(), lead).unwrap();
    assert_eq!(all.len(), 1, "{}: {all:?}", r.user);
    all.into_iter().next().unwrap()
}

/// Runs every cadence step due on this laptop now, as a rep does: each task's contact is
/// logged (outbound, on the step's channel). Returns how many steps ran.
fn run_due_steps(r: &mut Replica) -> usize {
    let now = r.clock.now_utc();
    let tasks = enrollment::due(r.store.conn(), now, None, 100).unwrap();
    for task in &tasks {
        assert!(task.gate.is_allowed(), "{}: {task:?}", r.user);
        log(
            r,
            &task.enrollment.lead_id,
            task.step.channel().unwrap(),
            Direction::Out,
            Outcome::NoAnswer,
        );
    }
    tasks.len()
}

fn log(r: &mut Replica, lead: &str, channel: Channel, direction: Direction, outcome: Outcome) {
    let at = r.clock.now_utc();
    let outcome = match (channel, outcome) {
        (Channel::Email, Outcome::NoAnswer) => Outcome::Sent,
        (_, o) => o,
    };
    let input = LogFollowUp {
        lead: lead.to_string(),
        channel,
        direction,
        outcome,
        note: None,
        occurred_at: at,
        rep: r.user.clone(),
        next_follow_up_at: None,
    };
    r.store
        .with_tx(|tx| followup::log(tx, &input, at))
        .unwrap_or_else(|e| panic!("{}: {e}", r.user));
}

fn later(r: &Replica, days: i64) {
    r.clock.advance(Duration::days(days));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_runs_once_on_its_owner_even_when_both_laptops_were_offline() {
    let hub = Hub::start().await;
    let mut mona = hub.replica("mona").await; // manager, BER: defines, enrols, owns
    let mut rita = hub.replica("rita").await; // rep, BER: a second laptop of the office
    let lead = rita.add_lead("Ann Example", "ann@example.com", "+4930123456", "DE");
    rita.sync().await;
    mona.sync().await;
    let cadence = save_trial(&mut mona);
    let at = mona.clock.now_utc();
    let done = mona
        .store
        .with_tx(|tx| enrollment::enroll(tx, "Trial", std::slice::from_ref(&lead), "mona", at))
        .unwrap();
    assert_eq!(done.enrolled, 1);
    mona.sync().await;
    rita.sync().await;

    // The definition and the enrolment reached rita's laptop, owned by mona's replica.
    let shown = definition::find(rita.store.conn(), "Trial").unwrap();
    assert_eq!(
        (shown.id.as_str(), shown.steps.len()),
        (cadence.as_str(), 5)
    );
    let on_rita = enrolment(&rita, &lead);
    let mona_id = switchboard_core::replica::status(mona.store.conn())
        .unwrap()
        .replica_id;
    assert_eq!(on_rita.owner_replica.as_deref(), Some(mona_id.as_str()));
    assert_eq!((on_rita.state.as_str(), on_rita.step), ("active", 0));
    assert!(on_rita.due_at.is_some(), "rita shows when the step is due");
    assert_eq!(enrolment(&mona, &lead).owner_replica, None);

    // Both offline past the due time; each laptop runs what is due on it.
    later(&mona, 1);
    later(&rita, 1);
    assert_eq!(run_due_steps(&mut mona), 1, "the owner runs the step");
    assert_eq!(run_due_steps(&mut rita), 0, "another laptop never does");
    // A call rita logs on her own is a call, not the cadence's step.
    log(
        &mut rita,
        &lead,
        Channel::Phone,
        Direction::Out,
        Outcome::NoAnswer,
    );
    rita.sync().await;
    mona.sync().await;
    rita.sync().await;

    for r in [&mona, &rita] {
        let e = enrolment(r, &lead);
        assert_eq!(
            (e.state.as_str(), e.step),
            ("active", 2),
            "{}: {e:?}",
            r.user
        );
        assert_eq!(e.channel, Some(Channel::Email), "{}", r.user);
        assert_eq!(
            run_due_steps_count(r),
            0,
            "{}: nothing is due twice",
            r.user
        );
    }
    // The first step ran exactly once: one cadence call by its owner.
    assert_eq!(
        mona.count("SELECT count(*) FROM follow_up WHERE rep = 'mona' AND channel = 'phone'"),
        1
    );
    assert_eq!(
        rita.count("SELECT count(*) FROM follow_up WHERE rep = 'mona' AND channel = 'phone'"),
        1
    );
    assert!(no_rejections(&mona) && no_rejections(&rita));
}

fn run_due_steps_count(r: &Replica) -> usize {
    enrollment::due(r.store.conn(), r.clock.now_utc(), None, 100)
        .unwrap()
        .len()
}

fn no_rejections(r: &Replica) -> bool {
    let rejected = r.count("SELECT count(*) FROM sync_rejected");
    assert_eq!(
        rejected,
        0,
        "{}: {:?}",
        r.user,
        switchboard_core::replica::rejected(r.store.conn(), 10)
    );
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_from_any_laptop_beats_an_advance_in_either_order() {
    for stop_first in [true, false] {
        let hub = Hub::start().await;
        let mut mona = hub.replica("mona").await;
        let mut rita = hub.replica("rita").await;
        let lead = rita.add_lead("Bea Example", "bea@example.com", "+4930123457", "DE");
        rita.sync().await;
        mona.sync().await;
        save_trial(&mut mona);
        let at = mona.clock.now_utc();
        mona.store
            .with_tx(|tx| enrollment::enroll(tx, "Trial", std::slice::from_ref(&lead), "mona", at))
            .unwrap();
        mona.sync().await;
        rita.sync().await;

        // Offline at once: rita stops the cadence by hand, mona (the owner) runs its step.
        later(&mona, 1);
        later(&rita, 1);
        let at = rita.clock.now_utc();
        let stopped = rita
            .store
            .with_tx(|tx| enrollment::stop(tx, &lead, Some("Trial"), "rita", at))
            .unwrap();
        assert_eq!(stopped, 1);
        assert_eq!(run_due_steps(&mut mona), 1);
        if stop_first {
            rita.sync().await;
            mona.sync().await;
        } else {
            mona.sync().await;
            rita.sync().await;
            mona.sync().await;
        }
        rita.sync().await;
        for r in [&mona, &rita] {
            let e = enrolment(r, &lead);
            assert_eq!(
                e.state, "stopped",
                "{} (stop first: {stop_first}): {e:?}",
                r.user
            );
            assert_eq!(e.stop_reason.as_deref(), Some("manual: rita"), "{}", r.user);
        }
        // The owner never runs another step.
        later(&mona, 10);
        assert_eq!(run_due_steps(&mut mona), 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_logged_on_another_laptop_stops_the_owner() {
    let hub = Hub::start().await;
    let mut mona = hub.replica("mona").await;
    let mut rita = hub.replica("rita").await;
    let lead = rita.add_lead("Cy Example", "cy@example.com", "+4930123458", "DE");
    rita.sync().await;
    mona.sync().await;
    save_trial(&mut mona);
    let at = mona.clock.now_utc();
    mona.store
        .with_tx(|tx| enrollment::enroll(tx, "Trial", std::slice::from_ref(&lead), "mona", at))
        .unwrap();
    mona.sync().await;
    rita.sync().await;
    log(
        &mut rita,
        &lead,
        Channel::Email,
        Direction::In,
        Outcome::Replied,
    );
    assert_eq!(enrolment(&rita, &lead).state, "stopped");
    rita.sync().await;
    mona.sync().await;
    let e = enrolment(&mona, &lead);
    assert_eq!(
        (e.state.as_str(), e.stop_reason.as_deref()),
        ("stopped", Some("replied"))
    );
    later(&mona, 10);
    assert_eq!(run_due_steps(&mut mona), 0);
    // A fresh laptop of the office learns the enrolment stopped.
    let fresh = hub.replica("rita").await;
    let mut fresh = fresh;
    fresh.sync().await;
    assert_eq!(enrolment(&fresh, &lead).state, "stopped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registration_matching_a_rule_is_enrolled_once_however_many_laptops_pull_it() {
    // The server's clock reads the laptops' Monday: the intake enrols at that time.
    let hub = Hub::start_with_clock(Arc::new(FixedClock::at(monday()))).await;
    let mut mona = hub.replica("mona").await;
    let mut rita = hub.replica("rita").await;
    let mut rita2 = hub.replica("rita").await; // rita's second laptop
    save_trial(&mut mona);
    let at = mona.clock.now_utc();
    let rule = Rule {
        kind: Some(RegistrationKind::Trial),
        country: Some("DE".into()),
        ..Rule::default()
    };
    mona.store
        .with_tx(|tx| definition::add_rule(tx, "Trial", &rule, "mona", at))
        .unwrap();
    mona.sync().await;
    for r in [&mut rita, &mut rita2] {
        r.sync().await;
        assert_eq!(
            r.count("SELECT count(*) FROM cadence_rule"),
            1,
            "{}",
            r.user
        );
    }

    let answer = hub
        .intake(json!({
            "submission_id": "web-1",
            "kind": "trial",
            "submitted_at": "2026-03-02T08:00:00Z",
            "name": "Dee Example",
            "email": "dee@example.com",
            "phone": "+49 30 1234599",
            "country": "DE"
        }))
        .await;
    let lead = answer["lead_id"].as_str().unwrap().to_string();
    rita.sync().await;
    rita2.sync().await;
    mona.sync().await; // the owner (the rule's laptop) plans the first step as it pulls…
    mona.sync().await; // …and pushes the plan with its next sync
    rita.sync().await;
    rita2.sync().await;
    for r in [&mona, &rita, &rita2] {
        let e = enrolment(r, &lead);
        assert_eq!(
            (e.state.as_str(), e.enrolled_by.starts_with("rule:")),
            ("active", true)
        );
        assert!(
            e.due_at.is_some(),
            "{}: planned by its owner: {e:?}",
            r.user
        );
        assert_eq!(
            r.count("SELECT count(*) FROM cadence_enrollment"),
            1,
            "{}",
            r.user
        );
    }
    assert_eq!(enrolment(&mona, &lead).owner_replica, None);
    assert_eq!(
        hub.server_count("SELECT count(*) FROM record WHERE kind = 'cadence_enrollment'"),
        1
    );
    later(&mona, 1);
    later(&rita, 1);
    later(&rita2, 1);
    assert_eq!(run_due_steps(&mut rita) + run_due_steps(&mut rita2), 0);
    assert_eq!(run_due_steps(&mut mona), 1);
    assert!(no_rejections(&mona) && no_rejections(&rita) && no_rejections(&rita2));

    // A registration imported on rita's laptop is enrolled there (the importing laptop owns
    // it); the laptops that pull the registration do not enrol it again.
    let input = RegistrationInput {
        kind: Some("trial".into()),
        details: RegistrationDetails {
            name: Some("Eve Import".into()),
            email: Some("eve@example.com".into()),
            phone: Some("+49 30 1234598".into()),
            country: Some("DE".into()),
            ..Default::default()
        },
        ..RegistrationInput::default()
    };
    let imported = rita
        .store
        .with_tx_now(|tx, at| {
            let ctx = IntakeContext::new(tx, Some("BER".into()), at, "rita")?;
            intake::record(tx, &input, &ctx)
        })
        .unwrap();
    let intake::IntakeOutcome::Created(eve) = imported else {
        panic!("{imported:?}")
    };
    rita.sync().await;
    rita2.sync().await;
    mona.sync().await;
    for r in [&mona, &rita, &rita2] {
        let e = enrolment(r, &eve);
        assert_eq!(
            e.owner_replica.is_none(),
            r.path == rita.path,
            "{}: {e:?}",
            r.user
        );
    }
    assert_eq!(
        hub.server_count("SELECT count(*) FROM record WHERE kind = 'cadence_enrollment'"),
        2
    );
    assert!(no_rejections(&mona) && no_rejections(&rita) && no_rejections(&rita2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rep_may_not_define_cadences() {
    let hub = Hub::start().await;
    let mut rita = hub.replica("rita").await;
    let steps = vec![definition::parse_step("email=intro").unwrap()];
    let at = rita.clock.now_utc();
    let refused = rita
        .store
        .with_tx(|tx| definition::save(tx, "Mine", &steps, "rita", at))
        .unwrap_err();
    assert!(refused.to_string().contains("manager"), "{refused}");
    rita.sync().await;
    assert_eq!(rita.count("SELECT count(*) FROM cadence"), 0);
}

/// The smoke of the stop figure (`cadence_stop_bench`): real binaries, both laptops on
/// `sync --watch`; a few replies and opt-outs recorded on rita's laptop stop mona's enrolments.
/// The 30 s limit only keeps a broken build from hanging; the figure is measured by the bench.
#[test]
fn stops_reach_an_online_owner_through_sync_watch() {
    let limit = std::time::Duration::from_secs(30);
    let office = watch_stops::Office::start(5);
    let shown = office.rita.run(&["cadence", "show", "Stops"]);
    shown.ok();
    let mona_id = office.mona.replica_id();
    let tail = &mona_id[mona_id.len() - 12..];
    assert!(
        shown.stdout.contains(&format!("laptop …{tail}")),
        "{mona_id}: {}",
        shown.stdout
    );
    assert!(office
        .mona
        .run(&["cadence", "show", "Stops"])
        .ok()
        .stdout
        .contains("this laptop"));
    for i in 0..4 {
        let took = office.stop_and_wait(i, limit);
        assert!(took.is_some(), "stop {i} never reached mona's laptop");
    }
    // `cadence stop` on a laptop that does not own the enrolment stops it on the owner too.
    let lead = &office.leads[4];
    office.rita.run(&["cadence", "stop", lead]).ok();
    assert!(office.wait_stopped_on_owner(lead, limit).is_some());
    // The owner pushed its stops back: rita's laptop shows them stopped too.
    std::thread::sleep(std::time::Duration::from_secs(2));
    let stopped = office
        .rita
        .strings("SELECT id FROM cadence_enrollment WHERE state = 'stopped'");
    assert_eq!(stopped.len(), 5, "{stopped:?}");
    office.finish();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erasure_ends_the_cadence_on_every_laptop_and_is_final() {
    let hub = Hub::start().await;
    let mut mona = hub.replica("mona").await;
    let mut rita = hub.replica("rita").await;
    let lead = rita.add_lead("Fay Example", "fay@example.com", "+4930123460", "DE");
    rita.sync().await;
    mona.sync().await;
    save_trial(&mut mona);
    mona.sync().await;
    rita.sync().await;
    let at = rita.clock.now_utc();
    rita.store
        .with_tx(|tx| enrollment::enroll(tx, "Trial", std::slice::from_ref(&lead), "rita", at))
        .unwrap();
    rita.sync().await;
    mona.sync().await;
    // Offline at once: mona (a manager: a rep may not carry out an erasure) erases the person,
    // rita (the owner) runs the due step.
    later(&rita, 1);
    mona.erase(&lead);
    assert_eq!(run_due_steps(&mut rita), 1);
    mona.sync().await;
    rita.sync().await; // the owner's advance arrives after the erasure: it changes nothing
    rita.sync().await;
    mona.sync().await;
    for r in [&mona, &rita] {
        let e = enrolment(r, &lead);
        assert_eq!(
            (e.state.as_str(), e.stop_reason.as_deref()),
            ("stopped", Some("erased")),
            "{}: {e:?}",
            r.user
        );
    }
    later(&rita, 10);
    assert_eq!(run_due_steps(&mut rita), 0);
    // (The call's workflow change is refused `subject_erased`, as any edit of an erased lead.)
    for r in [&mona, &rita] {
        let cadence_rejections = r.count(
            "SELECT count(*) FROM sync_rejected
             WHERE op_kind IN ('cadence_saved', 'cadence_rule_added', 'enrollment_synced')",
        );
        assert_eq!(cadence_rejections, 0, "{}", r.user);
    }
}
