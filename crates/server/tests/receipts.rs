//! Push receipts remember what they answered: the same `(replica id, seq)` with other content
//! (a replica restored from a backup) is refused whole with `replica_reused`, never answered
//! `duplicate`; on both storage backends.

use crate::support;

use support::*;
use switchboard_protocol::*;
use switchboard_server::store::Val;
use switchboard_test_support::TestOptions;

fn follow_up_ids(ops: &[Op]) -> Vec<String> {
    let mut ids: Vec<String> = ops
        .iter()
        .filter_map(|op| match op {
            Op::FollowUpLogged(f) => Some(f.id.clone()),
            _ => None,
        })
        .collect();
    ids.sort();
    ids
}

both_backends!(
    a_reused_sequence_with_other_content_is_refused_whole,
    reused_sequence
);
async fn reused_sequence(options: TestOptions) {
    let w = World::start(options).await;
    let lead = new_lead(&w.rep_a, "ra", 1, "Ada Lovelace", "ada@example.com").await;
    let before_backup = numbered_from(100, vec![follow_up(&lead, Some("one"), "rep_a")]);
    let after_backup = numbered_from(101, vec![follow_up(&lead, Some("two"), "rep_a")]);
    w.rep_a.push("ra", before_backup.clone()).await.unwrap();
    w.rep_a.push("ra", after_backup.clone()).await.unwrap();

    // The backup is restored: its next entry reuses 101 for new work, followed by 102.
    let restored = numbered_from(
        101,
        vec![
            follow_up(&lead, Some("after the restore"), "rep_a"),
            follow_up(&lead, Some("and another"), "rep_a"),
        ],
    );
    let known = follow_up_ids(&everything(&w.mgr_a).await);
    let err = w
        .rep_a
        .push("ra", restored.clone())
        .await
        .expect_err("a reused key is refused");
    let text = err.to_string();
    assert!(
        text.contains("409") && text.contains("replica_reused"),
        "{text}"
    );
    assert_eq!(
        follow_up_ids(&everything(&w.mgr_a).await),
        known,
        "nothing of the refused push was applied, not even its new key 102"
    );

    // A genuine resend (same content) is still a duplicate, also mixed with new keys.
    let mut resend = after_backup.clone();
    resend.extend(numbered_from(
        102,
        vec![follow_up(&lead, Some("three"), "rep_a")],
    ));
    let answer = w.rep_a.push("ra", resend).await.unwrap();
    let statuses: Vec<_> = answer.results.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [PushStatus::Duplicate, PushStatus::Applied]);

    // Under a new replica id the restored work is applied.
    let answer = w.rep_a.push("ra-new", restored.clone()).await.unwrap();
    assert!(answer
        .results
        .iter()
        .all(|r| r.status == PushStatus::Applied));
    let all = follow_up_ids(&everything(&w.mgr_a).await);
    assert_eq!(all.len(), known.len() + 3);
    for op in &restored {
        let Op::FollowUpLogged(f) = &op.op else {
            unreachable!()
        };
        assert!(all.contains(&f.id));
    }
}

both_backends!(
    receipts_from_before_digests_count_as_a_match,
    legacy_receipts
);
async fn legacy_receipts(options: TestOptions) {
    let w = World::start(options).await;
    let lead = new_lead(&w.rep_a, "ra", 1, "Ada Lovelace", "ada@example.com").await;
    let first = numbered_from(100, vec![follow_up(&lead, Some("one"), "rep_a")]);
    w.rep_a.push("ra", first).await.unwrap();
    // A receipt written by a server before migration 0002 has no digest.
    w.server
        .admin(|tx| {
            tx.exec(
                "UPDATE receipt SET digest = NULL WHERE replica_id = ?1",
                &[Val::Text("ra".into())],
            )
        })
        .await
        .unwrap();
    let other = numbered_from(100, vec![follow_up(&lead, Some("other"), "rep_a")]);
    let answer = w.rep_a.push("ra", other).await.unwrap();
    assert_eq!(answer.results[0].status, PushStatus::Duplicate);
}

both_backends!(
    a_key_repeated_inside_one_push_is_a_duplicate_or_a_refusal,
    repeated_in_one_push
);
async fn repeated_in_one_push(options: TestOptions) {
    let w = World::start(options).await;
    let lead = new_lead(&w.rep_a, "ra", 1, "Ada Lovelace", "ada@example.com").await;
    let call = follow_up(&lead, Some("one"), "rep_a");
    let same = vec![
        PushOp {
            seq: 100,
            op: call.clone(),
        },
        PushOp { seq: 100, op: call },
    ];
    let answer = w.rep_a.push("ra", same).await.unwrap();
    let statuses: Vec<_> = answer.results.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [PushStatus::Applied, PushStatus::Duplicate]);

    let known = follow_up_ids(&everything(&w.mgr_a).await);
    let clash = numbered_from(101, vec![follow_up(&lead, Some("two"), "rep_a")])
        .into_iter()
        .chain(numbered_from(
            101,
            vec![follow_up(&lead, Some("three"), "rep_a")],
        ))
        .collect();
    let err = w
        .rep_a
        .push("ra", clash)
        .await
        .expect_err("two operations, one key");
    assert!(err.to_string().contains("replica_reused"), "{err}");
    assert_eq!(follow_up_ids(&everything(&w.mgr_a).await), known);
}

both_backends!(
    receipts_of_a_run_and_of_scattered_keys_are_all_found,
    scattered_keys
);
/// A push's receipts are read in one range query when its keys are one short run, one by one
/// when they are scattered; either way every known key is found and the receipts of a long
/// push (written in multi-row inserts) all answer a resend.
async fn scattered_keys(options: TestOptions) {
    let w = World::start(options).await;
    let lead = new_lead(&w.rep_a, "ra", 1, "Ada Lovelace", "ada@example.com").await;
    let long: Vec<PushOp> = numbered_from(
        10,
        (0..120)
            .map(|i| follow_up(&lead, Some(&format!("call {i}")), "rep_a"))
            .collect(),
    );
    let answer = w.rep_a.push("ra", long.clone()).await.unwrap();
    assert!(answer
        .results
        .iter()
        .all(|r| r.status == PushStatus::Applied));
    let answer = w.rep_a.push("ra", long.clone()).await.unwrap();
    assert!(
        answer
            .results
            .iter()
            .all(|r| r.status == PushStatus::Duplicate),
        "{:?}",
        answer.results
    );

    // Scattered keys: two known (far apart), one new in between.
    let known = follow_up_ids(&everything(&w.mgr_a).await);
    let scattered = vec![
        long[0].clone(),
        PushOp {
            seq: 5_000,
            op: follow_up(&lead, Some("new, far away"), "rep_a"),
        },
        long[119].clone(),
    ];
    let answer = w.rep_a.push("ra", scattered).await.unwrap();
    let statuses: Vec<_> = answer.results.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [
            PushStatus::Duplicate,
            PushStatus::Applied,
            PushStatus::Duplicate
        ]
    );
    assert_eq!(
        follow_up_ids(&everything(&w.mgr_a).await).len(),
        known.len() + 1
    );

    // A scattered key reused with other content is still refused whole.
    let reused = vec![
        PushOp {
            seq: 9_000,
            op: follow_up(&lead, Some("would be new"), "rep_a"),
        },
        PushOp {
            seq: 129,
            op: follow_up(&lead, Some("not what 129 was"), "rep_a"),
        },
    ];
    let err = w.rep_a.push("ra", reused).await.expect_err("129 is known");
    assert!(err.to_string().contains("replica_reused"), "{err}");
    assert_eq!(
        follow_up_ids(&everything(&w.mgr_a).await).len(),
        known.len() + 1
    );
}
