//! Protocol 4: a pull naming its replica (`replica`, `through`) leaves out the changes that
//! replica pushed, on both storage backends, against a real HTTPS server.

use crate::support;

use chrono::Utc;
use std::time::{Duration, Instant};
use support::*;
use switchboard_protocol::*;
use switchboard_test_support::{ApiClient, TestOptions};

/// `GET /v1/changes` as a replica names itself.
async fn pull_as(
    client: &ApiClient,
    replica: &str,
    through: i64,
    after: i64,
    wait: u32,
) -> ChangesPage {
    let response = client
        .http
        .get(format!(
            "{}/v1/changes?after={after}&limit={MAX_PAGE}&wait={wait}&replica={replica}&through={through}",
            client.base
        ))
        .bearer_auth(client.token.expose())
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    response.json().await.unwrap()
}

fn follow_ups(page: &ChangesPage) -> usize {
    page.changes
        .iter()
        .filter(|c| matches!(c.op, Op::FollowUpLogged(_)))
        .count()
}

both_backends!(
    own_pushed_changes_are_left_out_of_that_replicas_pull,
    own_changes
);
async fn own_changes(options: TestOptions) {
    let w = World::start(options).await;
    let lead = new_lead(&w.mgr_a, "laptop-1", 1, "Ada", "ada@example.com").await;
    let calls: Vec<Op> = (0..40).map(|_| follow_up(&lead, None, "mgr_a")).collect();
    let pushed = w
        .mgr_a
        .push("laptop-1", numbered_from(3, calls))
        .await
        .unwrap();
    assert!(pushed
        .results
        .iter()
        .all(|r| r.status == PushStatus::Applied));
    let latest = w.mgr_a.pull_all(0).await.unwrap().1;

    // The pushing replica: nothing of its own, and its cursor passes all of it.
    let mine = pull_as(&w.mgr_a, "laptop-1", 1_000, 0, 0).await;
    assert!(mine.changes.is_empty(), "{:?}", mine.changes);
    assert_eq!(mine.next_cursor, latest);

    // Another replica of the same account, and another account of the office: everything.
    let other = pull_as(&w.mgr_a, "laptop-2", 1_000, 0, 0).await;
    assert_eq!(follow_ups(&other), 40);
    assert_eq!(follow_ups(&w.rep_a.pull(0, MAX_PAGE, 0).await.unwrap()), 40);
    // Naming another account's replica leaves nothing out (it would tell whose changes are
    // whose).
    assert_eq!(
        follow_ups(&pull_as(&w.rep_a, "laptop-1", 1_000, 0, 0).await),
        40
    );

    // A copy restored from before the last 10 calls (its outbox reaches sequence 32) receives
    // those 10 again.
    let restored = pull_as(&w.mgr_a, "laptop-1", 32, 0, 0).await;
    assert_eq!(follow_ups(&restored), 10);
    assert_eq!(restored.changes.len(), 10, "{:?}", restored.changes);

    // A long-poll that only finds the replica's own new change answers at once with the
    // cursor moved, instead of holding the request.
    let more = w
        .mgr_a
        .push(
            "laptop-1",
            numbered_from(43, vec![follow_up(&lead, None, "mgr_a")]),
        )
        .await
        .unwrap();
    assert_eq!(more.results[0].status, PushStatus::Applied);
    let started = Instant::now();
    let poll = pull_as(&w.mgr_a, "laptop-1", 1_000, latest, 20).await;
    assert!(poll.changes.is_empty());
    assert!(poll.next_cursor > latest);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );

    // A change the server rewrites is not the pushed operation: a name stamped a year ahead
    // is stored with its clock clamped, and comes back to the replica that pushed it.
    let ahead = Utc::now() + chrono::Duration::days(365);
    let rename = w
        .mgr_a
        .push(
            "laptop-1",
            numbered_from(
                44,
                vec![identity(&lead, "Ada King", hlc(ahead, 0, "laptop-1"))],
            ),
        )
        .await
        .unwrap();
    assert_eq!(rename.results[0].status, PushStatus::Applied, "{rename:?}");
    let back = pull_as(&w.mgr_a, "laptop-1", 1_000, poll.next_cursor, 0).await;
    assert_eq!(back.changes.len(), 1, "{:?}", back.changes);
    let Op::LeadFieldsSet(set) = &back.changes[0].op else {
        panic!("{:?}", back.changes[0].op)
    };
    assert_ne!(
        set.hlc,
        hlc(ahead, 0, "laptop-1"),
        "the stored clock is clamped"
    );

    // An erasure pushed without hashes: the server adds the hash of the email it held, so
    // the erasure it publishes is its own and reaches the replica that asked for it too.
    let erase = w
        .mgr_a
        .push(
            "laptop-1",
            numbered_from(
                45,
                vec![Op::LeadErased(LeadErased {
                    lead_id: lead.clone(),
                    erased_at: t0(),
                    by: "mgr_a".into(),
                    suppression_hashes: vec![],
                })],
            ),
        )
        .await
        .unwrap();
    assert_eq!(erase.results[0].status, PushStatus::Applied, "{erase:?}");
    let erased = pull_as(&w.mgr_a, "laptop-1", 1_000, back.next_cursor, 0).await;
    assert!(
        erased.changes.iter().any(|c| matches!(
            &c.op,
            Op::LeadErased(e) if e.lead_id == lead && !e.suppression_hashes.is_empty()
        )),
        "{:?}",
        erased.changes
    );
}
