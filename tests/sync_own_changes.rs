//! Protocol 4: a replica never downloads its own changes. Through the real engine against a
//! real HTTPS server: 10,000 follow-ups pushed by one laptop are not pulled back by it (its
//! cursor still moves past them, and another laptop of the office receives every one), while
//! a change the server rewrote (a clock stamp years ahead, clamped) does come back to its origin.

use crate::sync_support;

use chrono::Duration;
use switchboard_core::followup;
use switchboard_core::protocol::{Channel, Direction, Outcome};
use switchboard_core::replica;
use sync_support::{Hub, NowUtc};

const FOLLOW_UPS: usize = 10_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_does_not_pull_back_what_it_pushed_but_does_pull_what_the_server_rewrote() {
    let hub = Hub::start().await;
    let mut mona = hub.replica("mona").await;
    let lead = mona.add_lead("Ada Lovelace", "ada@example.com", "+493012345678", "DE");
    let first = mona.sync().await;
    assert_eq!(first.pulled, 0, "the new lead came back: {first:?}");

    // 10,000 calls logged on this laptop (one transaction, a second apart).
    let start = mona.clock.now_utc();
    mona.store
        .with_tx(|tx| {
            for i in 0..FOLLOW_UPS {
                let at = start + Duration::seconds(i as i64 + 1);
                let input = followup::LogFollowUp {
                    lead: lead.clone(),
                    channel: Channel::Phone,
                    direction: Direction::Out,
                    outcome: Outcome::NoAnswer,
                    note: Some(format!("call {i}")),
                    occurred_at: at,
                    rep: "mona".into(),
                    next_follow_up_at: None,
                };
                followup::log(tx, &input, at)?;
            }
            Ok(())
        })
        .unwrap();
    mona.clock
        .advance(Duration::seconds(FOLLOW_UPS as i64 + 10));
    let cursor_before = replica::state(mona.store.conn()).unwrap().cursor;
    let report = mona.sync().await;
    assert!(report.applied >= FOLLOW_UPS as u64, "{report:?}");
    assert_eq!(report.pulled, 0, "own follow-ups came back: {report:?}");
    let cursor_after = replica::state(mona.store.conn()).unwrap().cursor;
    assert!(
        cursor_after >= cursor_before + FOLLOW_UPS as i64,
        "the cursor moves past the skipped changes ({cursor_before} -> {cursor_after})"
    );
    assert_eq!(mona.follow_up_ids().len(), FOLLOW_UPS);

    // They are on the server: another laptop of the office receives every one.
    let mut rita = hub.replica("rita").await;
    let rita_report = rita.sync().await;
    assert!(rita_report.pulled > FOLLOW_UPS as u64, "{rita_report:?}");
    assert_eq!(rita.follow_up_ids(), mona.follow_up_ids());

    // A rename stamped five years ahead of the server: the server clamps its clock stamp, so
    // what it stores is not what mona pushed, and mona receives the stored version.
    mona.clock.advance(Duration::days(5 * 365));
    mona.rename(&lead, "Ada King");
    let clamped = mona.sync().await;
    assert_eq!(
        clamped.pulled, 1,
        "the clamped rename comes back: {clamped:?}"
    );
    assert_eq!(mona.snapshot(), rita_after(&mut rita).await);
}

/// Rita's replica after one more sync, as the snapshot both replicas must agree on.
async fn rita_after(rita: &mut sync_support::Replica) -> sync_support::Snapshot {
    rita.sync().await;
    rita.snapshot()
}
