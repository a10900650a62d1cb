use super::*;
use crate::fixtures::{nine, store_at};
use crate::intake::{self, IntakeContext, IntakeOutcome, RegistrationInput};
use crate::store::outbox::{self, Entity};
use crate::{compliance::consent, Store};
use std::collections::BTreeMap;
use switchboard_protocol::{ConsentScope, PushRequest};

/// Records a registration with every page list at its limit; returns its lead.
fn register(store: &mut Store, i: usize) -> String {
    let input = RegistrationInput {
        submission_id: Some(format!("s{i}")),
        details: switchboard_protocol::RegistrationDetails {
            name: Some(format!("Person {i}")),
            email: Some(format!("p{i}@example.com")),
            country: Some("DE".into()),
            user_agent: Some("u".repeat(limits::Field::UserAgent.max_bytes())),
            pages_visited: limits::largest_pages(&format!("https://example.com/{i}")),
            ..Default::default()
        },
        ..RegistrationInput::default()
    };
    let now = store.now();
    let outcome = store
        .with_tx(|tx| {
            let ctx = IntakeContext::new(tx, None, now, "import")?;
            intake::record(tx, &input, &ctx)
        })
        .unwrap();
    match outcome {
        IntakeOutcome::Created(id) => id,
        other => panic!("{other:?}"),
    }
}

fn answer_all(store: &mut Store, ops: &[(i64, Op)]) {
    let results: Vec<PushResult> = ops
        .iter()
        .map(|(seq, _)| PushResult {
            seq: *seq,
            status: PushStatus::Applied,
            code: None,
            reason: None,
        })
        .collect();
    let at = store.now();
    store.with_tx(|tx| ack(tx, ops, &results, at)).unwrap();
}

fn request_bytes(ops: &[(i64, Op)]) -> usize {
    let request = PushRequest::of_entries("0190f0c8-7a40-7000-8000-000000000000".into(), ops);
    serde_json::to_vec(&request).unwrap().len()
}

#[test]
fn batches_are_sized_by_bytes_and_never_split_an_entry() {
    let mut s = store_at(nine());
    for i in 0..80 {
        register(&mut s, i);
    }
    let queued = pending_count(s.conn()).unwrap();
    let mut batches = 0;
    let mut entries_seen = 0;
    loop {
        let at = s.now();
        let batch = s
            .with_tx(|tx| pending_batch(tx, &BatchLimits::default(), at))
            .unwrap();
        assert_eq!(batch.rejected, 0);
        if batch.ops.is_empty() {
            break;
        }
        batches += 1;
        let bytes = request_bytes(&batch.ops);
        assert!(bytes <= limits::PUSH_BATCH_BYTES + 1024, "{bytes} bytes");
        // The estimate errs on the large side (by at most the envelope per operation).
        assert!(bytes <= batch.bytes + 256, "{bytes} vs {}", batch.bytes);
        assert!(batch.bytes - bytes <= 32 * batch.ops.len());
        // Every entry is whole: its parts run from 0 without a gap.
        let mut parts: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        for (seq, _) in &batch.ops {
            parts.entry(entry_of(*seq)).or_default().push(seq % PARTS);
        }
        for (entry, p) in &parts {
            let built = s
                .conn()
                .query_row(
                    "SELECT entity, entity_id, detail FROM outbox WHERE seq = ?1",
                    [entry],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .map(|(e, i, d): (String, String, Option<String>)| {
                    build(s.conn(), &e, &i, d.as_deref()).unwrap().len()
                })
                .unwrap();
            assert_eq!(*p, (0..built as i64).collect::<Vec<_>>());
        }
        entries_seen += parts.len() as i64;
        answer_all(&mut s, &batch.ops);
    }
    assert_eq!(entries_seen, queued);
    assert_eq!(pending_count(s.conn()).unwrap(), 0);
    // 80 registrations at the limits are about 1.5 MB of JSON: more than one batch.
    assert!(batches >= 2, "{batches} batches");
}

#[test]
fn an_operation_that_can_never_fit_is_rejected_locally_and_the_rest_go() {
    let mut s = store_at(nine());
    for i in 0..3 {
        register(&mut s, i);
    }
    // Old data from before the limits: a registration of 300 KB, written straight to SQLite.
    let huge = serde_json::to_string(&vec!["x".repeat(300 * 1024)]).unwrap();
    let big_id: String = s
        .conn()
        .query_row(
            "SELECT id FROM registration WHERE submission_id = 's1'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    s.conn()
        .execute(
            "UPDATE registration SET pages_visited = ?1 WHERE id = ?2",
            params![huge, big_id],
        )
        .unwrap();
    let before = pending_count(s.conn()).unwrap();
    let at = s.now();
    let batch = s
        .with_tx(|tx| pending_batch(tx, &BatchLimits::default(), at))
        .unwrap();
    assert_eq!(batch.rejected, 1);
    assert!(batch.ops.iter().all(|(_, op)| match op {
        Op::RegistrationAdded(r) => r.id != big_id,
        _ => true,
    }));
    // Its entry left the queue; every other one is in the batch.
    assert_eq!(pending_count(s.conn()).unwrap(), before - 1);
    let st = crate::replica::status(s.conn()).unwrap();
    assert_eq!(st.rejected_total, 1);
    let r = &st.rejected[0];
    assert_eq!(r.code.as_deref(), Some(TOO_LARGE));
    assert_eq!(r.op_kind, "registration_added");
    assert_eq!(r.entity_id.as_deref(), Some(big_id.as_str()));
    assert!(
        r.reason.contains("more than the 262144 bytes"),
        "{}",
        r.reason
    );
    answer_all(&mut s, &batch.ops);
    assert_eq!(pending_count(s.conn()).unwrap(), 0);
}

#[test]
fn an_opt_out_of_a_new_lead_brings_the_lead_along_ahead_of_older_entries() {
    let mut s = store_at(nine());
    register(&mut s, 0);
    let lead = register(&mut s, 1);
    let at = s.now();
    s.with_tx(|tx| {
        consent::opt_out(tx, &lead, ConsentScope::All, "phone call", None, "rep1", at).map(|_| ())
    })
    .unwrap();
    let ops = pending_ops(s.conn(), 1000).unwrap();
    let head: Vec<(&str, Option<&str>)> = ops
        .iter()
        .take(7)
        .map(|(_, op)| (op.kind(), op.lead_id()))
        .collect();
    assert_eq!(head[..6], [("lead_fields_set", Some(lead.as_str())); 6]);
    assert_eq!(head[6], ("consent_recorded", Some(lead.as_str())));
    // Nothing twice, nothing lost: every entry once, in its own order within its class.
    let mut seqs: Vec<i64> = ops.iter().map(|(seq, _)| *seq).collect();
    let n = seqs.len();
    seqs.sort();
    seqs.dedup();
    assert_eq!(seqs.len(), n);
    let all: i64 = s
        .conn()
        .query_row("SELECT count(*) FROM outbox", [], |r| r.get(0))
        .unwrap();
    let entries: std::collections::HashSet<i64> = seqs.iter().map(|s| entry_of(*s)).collect();
    assert_eq!(entries.len() as i64, all);
}

#[test]
fn an_opt_out_logged_after_5000_follow_ups_leads_the_first_batch() {
    let mut s = store_at(nine());
    let lead = register(&mut s, 0);
    // The lead was pushed before.
    let first = pending_ops(s.conn(), 1000).unwrap();
    answer_all(&mut s, &first);
    let at = s.now();
    s.with_tx(|tx| {
        for i in 0..5000 {
            let id = format!("f{i:05}");
            tx.execute(
                "INSERT INTO follow_up(id, lead_id, channel, direction, outcome, note,
                        occurred_at, rep)
                 VALUES (?1, ?2, 'phone', 'out', 'no_answer', 'no answer', ?3, 'rep1')",
                params![id, lead, to_text(at)],
            )?;
            outbox::enqueue(tx, Entity::FollowUp, &id, None)?;
        }
        consent::opt_out(tx, &lead, ConsentScope::All, "phone call", None, "rep1", at).map(|_| ())
    })
    .unwrap();
    let batch = s
        .with_tx(|tx| pending_batch(tx, &BatchLimits::default(), at))
        .unwrap();
    assert!(
        matches!(batch.ops[0].1, Op::ConsentRecorded(_)),
        "{}",
        batch.ops[0].1.kind()
    );
    // The rest keep their order.
    let follow_ups: Vec<i64> = batch
        .ops
        .iter()
        .filter(|(_, op)| matches!(op, Op::FollowUpLogged(_)))
        .map(|(seq, _)| *seq)
        .collect();
    assert!(follow_ups.windows(2).all(|w| w[0] < w[1]));
    assert!(batch.ops.len() <= 1000);
}
