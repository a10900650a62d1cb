use super::*;
use crate::clock::{new_id, to_text, Clock};
use crate::fixtures;
use crate::people::leads::{self, LeadField, NewLead};
use crate::store::outbox::{self, Entity};
use crate::{FixedClock, Store};
use rusqlite::params;
use switchboard_protocol::{Change, LeadRevoked, Op, PushResult, PushStatus};

fn clock() -> FixedClock {
    FixedClock::at(fixtures::nine())
}

fn replica(clock: &FixedClock) -> Store {
    fixtures::store_on(clock)
}

fn ann() -> NewLead {
    NewLead {
        office: Some("BER".into()),
        ..fixtures::ann()
    }
}

fn log_call(store: &mut Store, lead_id: &str, note: &str) -> String {
    let at = store.now();
    let id = new_id(at);
    store
        .with_tx(|tx| {
            tx.execute(
                "INSERT INTO follow_up(id, lead_id, channel, direction, outcome, note,
                        occurred_at, rep)
                 VALUES (?1, ?2, 'phone', 'out', 'no_answer', ?3, ?4, 'rep1')",
                params![id, lead_id, note, to_text(at)],
            )?;
            tx.execute(
                "INSERT INTO note_search(rowid, note) VALUES (last_insert_rowid(), ?1)",
                [note],
            )?;
            outbox::enqueue(tx, Entity::FollowUp, &id, None)
        })
        .unwrap();
    id
}

fn rep_of(store: &Store, follow_up: &str) -> String {
    store
        .conn()
        .query_row(
            "SELECT rep FROM follow_up WHERE id = ?1",
            [follow_up],
            |r| r.get(0),
        )
        .unwrap()
}

fn login_as(store: &mut Store, user: &str) {
    let login = ServerLogin {
        server_url: "https://127.0.0.1:1".into(),
        fingerprint: None,
        ca_file: None,
        user: user.into(),
        role: "rep".into(),
        office: Some("BER".into()),
    };
    store.with_tx(|tx| record_login(tx, &login)).unwrap();
}

#[test]
fn signing_in_adopts_work_recorded_before_but_not_another_accounts_or_pulled_work() {
    let c = clock();
    let mut s = replica(&c);
    let id = crate::fixtures::insert_lead(&mut s, &ann(), c.now());
    // Recorded under the OS login name ('rep1') before anyone signed in.
    let anonymous = log_call(&mut s, &id, "before sign-in");
    login_as(&mut s, "mona");
    assert_eq!(rep_of(&s, &anonymous), "mona");
    // Mona's own unsent call, then Mona signs out and Rita signs in on this laptop.
    let monas = log_call(&mut s, &id, "mona's call");
    s.conn()
        .execute("UPDATE follow_up SET rep = 'mona' WHERE id = ?1", [&monas])
        .unwrap();
    record_logout(s.conn()).unwrap();
    let later = log_call(&mut s, &id, "signed out again");
    // A call another laptop logged, pulled here: not in the outbox.
    let pulled = log_call(&mut s, &id, "bob's call");
    s.conn()
        .execute("UPDATE follow_up SET rep = 'bob' WHERE id = ?1", [&pulled])
        .unwrap();
    s.conn()
        .execute("DELETE FROM outbox WHERE entity_id = ?1", [&pulled])
        .unwrap();
    login_as(&mut s, "rita");
    assert_eq!(
        rep_of(&s, &monas),
        "mona",
        "another account's work stays its own"
    );
    assert_eq!(rep_of(&s, &later), "rita");
    assert_eq!(rep_of(&s, &pulled), "bob", "pulled work is never touched");
}

/// Pushes everything from `from` straight into `to` as one page, as a server would relay it.
fn relay(from: &mut Store, to: &mut Store, cursor: &mut i64) -> usize {
    relay_page(from, to, cursor).len()
}

fn relay_page(from: &mut Store, to: &mut Store, cursor: &mut i64) -> Vec<Change> {
    let ops = from.with_tx(|tx| pending_ops(tx, 10_000)).unwrap();
    let changes: Vec<Change> = ops
        .iter()
        .map(|(_, op)| {
            *cursor += 1;
            Change {
                server_seq: *cursor,
                op: op.clone(),
            }
        })
        .collect();
    let results: Vec<PushResult> = ops
        .iter()
        .map(|(seq, _)| PushResult {
            seq: *seq,
            status: PushStatus::Applied,
            code: None,
            reason: None,
        })
        .collect();
    let at = from.now();
    from.with_tx(|tx| ack(tx, &ops, &results, at)).unwrap();
    apply_page(to.conn_mut(), &changes, *cursor).unwrap();
    changes
}

fn count(store: &Store, sql: &str) -> i64 {
    store.conn().query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn a_new_lead_and_its_calls_arrive_whole_and_once() {
    let c = clock();
    let (mut a, mut b) = (replica(&c), replica(&c));
    let id = crate::fixtures::insert_lead(&mut a, &ann(), c.now());
    log_call(&mut a, &id, "asked for a callback on Tuesday");
    let mut cursor = 0;
    // One lead (all six groups), one call.
    assert_eq!(relay(&mut a, &mut b, &mut cursor), 7);
    assert_eq!(materialize::pending_count(a.conn()).unwrap(), 0);
    let lead = leads::get(b.conn(), &id).unwrap();
    assert_eq!(lead.name.as_deref(), Some("Ann Example"));
    assert_eq!(lead.office.as_deref(), Some("BER"));
    assert_eq!(lead.attempts, 1);
    assert_eq!(state(b.conn()).unwrap().cursor, 7);
    assert_eq!(
        count(
            &b,
            "SELECT count(*) FROM note_search WHERE note_search MATCH 'callback'"
        ),
        1
    );
    assert_eq!(
        count(
            &b,
            "SELECT count(*) FROM lead_search WHERE lead_search MATCH 'ann'"
        ),
        1
    );
    // The same state again changes nothing.
    let ops_a: Vec<Op> = {
        // Rebuild the ops from A's rows by re-queueing them.
        a.with_tx(|tx| {
            outbox::enqueue(tx, Entity::LeadFields, &id, Some("*"))?;
            pending_ops(tx, 100)
        })
        .unwrap()
        .into_iter()
        .map(|(_, op)| op)
        .collect()
    };
    let page: Vec<Change> = ops_a
        .into_iter()
        .enumerate()
        .map(|(i, op)| Change {
            server_seq: 100 + i as i64,
            op,
        })
        .collect();
    let summary = apply_page(b.conn_mut(), &page, 200).unwrap();
    assert_eq!(summary.applied, 0, "{summary:?}");
    assert_eq!(count(&b, "SELECT count(*) FROM follow_up"), 1);
}

/// Every column of every lead and follow-up, and what the search index finds, as text.
fn dump(store: &Store) -> Vec<String> {
    let mut rows = Vec::new();
    for sql in [
        "SELECT id, office, name, company, email, phone, address, country, time_zone, status,
                owner, created_at, attempts, last_attempt_at, last_outcome,
                next_follow_up_at, first_contact_at, email_invalid, clock_identity,
                clock_email, clock_phone, clock_postal, clock_workflow, clock_office
         FROM lead ORDER BY id",
        "SELECT id, lead_id, outcome, note, occurred_at FROM follow_up ORDER BY id",
        "SELECT rowid FROM lead_search WHERE lead_search MATCH 'ann' ORDER BY rowid",
        "SELECT rowid FROM note_search WHERE note_search MATCH 'callback' ORDER BY rowid",
    ] {
        let mut stmt = store.conn().prepare(sql).unwrap();
        let width = stmt.column_count();
        let found: Vec<String> = stmt
            .query_map([], |r| {
                (0..width)
                    .map(|i| {
                        r.get::<_, rusqlite::types::Value>(i)
                            .map(|v| format!("{v:?}"))
                    })
                    .collect::<rusqlite::Result<Vec<_>>>()
                    .map(|v| v.join("|"))
            })
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        rows.extend(found);
    }
    rows
}

#[test]
fn a_page_of_new_leads_ends_as_its_changes_applied_one_by_one() {
    let c = clock();
    let mut a = replica(&c);
    let ids: Vec<String> = (0..3)
        .map(|i| {
            c.advance(chrono::Duration::seconds(1));
            let id = crate::fixtures::insert_lead(&mut a, &ann(), c.now());
            for n in 0..=i {
                c.advance(chrono::Duration::seconds(1));
                log_call(&mut a, &id, &format!("callback {n}"));
            }
            id
        })
        .collect();
    // A later edit of one group travels in the same page: the newest stamp must win.
    c.advance(chrono::Duration::seconds(1));
    let at = c.now();
    a.with_tx(|tx| {
        leads::set_fields(
            tx,
            &ids[1],
            &[(LeadField::Name, Some("Ann Renamed".into()))],
            "a",
            "edit",
            at,
        )
    })
    .unwrap();
    let page = outbox_as_page(&mut a);
    let (mut whole, mut single) = (replica(&c), replica(&c));
    let summary = apply_page(whole.conn_mut(), &page, page.len() as i64).unwrap();
    let mut applied = 0;
    for change in &page {
        applied += apply_page(
            single.conn_mut(),
            std::slice::from_ref(change),
            change.server_seq,
        )
        .unwrap()
        .applied;
    }
    assert_eq!(dump(&whole), dump(&single));
    assert_eq!(summary.applied, applied);
    let lead = leads::get(whole.conn(), &ids[2]).unwrap();
    assert_eq!(lead.attempts, 3);
    assert_eq!(
        leads::get(whole.conn(), &ids[1]).unwrap().name.as_deref(),
        Some("Ann Renamed")
    );
    // The same page again changes nothing.
    assert_eq!(
        apply_page(whole.conn_mut(), &page, page.len() as i64)
            .unwrap()
            .applied,
        0
    );
}

#[test]
fn the_newest_stamp_wins_per_field_group_in_any_order() {
    let c = clock();
    let (mut a, mut b, mut hub) = (replica(&c), replica(&c), replica(&c));
    let id = crate::fixtures::insert_lead(&mut a, &ann(), c.now());
    let mut cursor = 0;
    let created = relay_page(&mut a, &mut b, &mut cursor);
    apply_page(hub.conn_mut(), &created, cursor).unwrap();
    c.advance(chrono::Duration::seconds(1));
    let at = c.now();
    a.with_tx(|tx| {
        leads::set_fields(
            tx,
            &id,
            &[(LeadField::Name, Some("Ann A".into()))],
            "a",
            "edit",
            at,
        )
    })
    .unwrap();
    c.advance(chrono::Duration::seconds(1));
    let at = c.now();
    b.with_tx(|tx| {
        leads::set_fields(
            tx,
            &id,
            &[
                (LeadField::Name, Some("Ann B".into())),
                (LeadField::Phone, None),
            ],
            "b",
            "edit",
            at,
        )
    })
    .unwrap();
    let a_ops = a.with_tx(|tx| pending_ops(tx, 100)).unwrap();
    let b_ops = b.with_tx(|tx| pending_ops(tx, 100)).unwrap();
    let page = |ops: &[(i64, Op)]| -> Vec<Change> {
        ops.iter()
            .map(|(s, op)| Change {
                server_seq: *s,
                op: op.clone(),
            })
            .collect()
    };
    // The hub sees B's newer edit first, then A's older one; A and B see each other's.
    apply_page(hub.conn_mut(), &page(&b_ops), 1).unwrap();
    apply_page(hub.conn_mut(), &page(&a_ops), 2).unwrap();
    apply_page(a.conn_mut(), &page(&b_ops), 3).unwrap();
    apply_page(b.conn_mut(), &page(&a_ops), 3).unwrap();
    for s in [&a, &b, &hub] {
        let lead = leads::get(s.conn(), &id).unwrap();
        assert_eq!(lead.name.as_deref(), Some("Ann B"));
        assert_eq!(lead.phone, None);
        assert_eq!(lead.email.as_deref(), Some("ann@example.com"));
    }
    // Later local stamps sort after everything seen.
    let seen: String = a
        .conn()
        .query_row("SELECT clock_identity FROM lead", [], |r| r.get(0))
        .unwrap();
    let next = crate::store::settings::next_hlc(a.conn(), c.now())
        .unwrap()
        .to_string();
    assert!(next > seen);
}

#[test]
fn an_erasure_before_the_push_leaves_no_personal_information_to_push() {
    let c = clock();
    let mut a = replica(&c);
    let id = crate::fixtures::insert_lead(&mut a, &ann(), c.now());
    log_call(&mut a, &id, "Ann said call back");
    crate::privacy::erase::erase(&mut a, &id, "manager").unwrap();
    let ops = a.with_tx(|tx| pending_ops(tx, 1000)).unwrap();
    let wire = serde_json::to_string(&ops.iter().map(|(_, o)| o).collect::<Vec<_>>()).unwrap();
    for pii in ["Ann", "ann@example.com", "4930123456", "Acme"] {
        assert!(!wire.contains(pii), "{pii} in {wire}");
    }
    assert!(ops
        .iter()
        .any(|(_, op)| matches!(op, Op::LeadErased(e) if !e.suppression_hashes.is_empty())));
}

#[test]
fn a_pulled_erasure_purges_and_later_records_stay_scrubbed() {
    let c = clock();
    let (mut a, mut b) = (replica(&c), replica(&c));
    let id = crate::fixtures::insert_lead(&mut a, &ann(), c.now());
    let mut cursor = 0;
    relay(&mut a, &mut b, &mut cursor);
    // B logs a call offline while A erases.
    log_call(&mut b, &id, "Ann wants a demo");
    crate::privacy::erase::erase(&mut a, &id, "manager").unwrap();
    relay(&mut a, &mut b, &mut cursor);
    relay(&mut b, &mut a, &mut cursor);
    for s in [&a, &b] {
        let lead = leads::get(s.conn(), &id).unwrap();
        assert_eq!(lead.name, None);
        assert_eq!(lead.email, None);
        assert_eq!(
            count(s, "SELECT count(*) FROM follow_up WHERE note IS NOT NULL"),
            0
        );
        assert_eq!(
            count(s, "SELECT count(*) FROM follow_up"),
            1,
            "the call is kept"
        );
        assert_eq!(
            count(
                s,
                "SELECT count(*) FROM lead_search WHERE lead_search MATCH 'ann'"
            ),
            0
        );
    }
    assert!(count(&b, "SELECT count(*) FROM suppression") >= 1);
}

#[test]
fn an_erasure_heard_twice_purges_once_and_keeps_both_hashes() {
    // The server sends the global erasure (its own hashes) and, to the lead's office only,
    // a second one with the hashes only the erasing replica knew.
    let c = clock();
    let (mut a, mut b) = (replica(&c), replica(&c));
    let id = crate::fixtures::insert_lead(&mut a, &ann(), c.now());
    let mut cursor = 0;
    relay(&mut a, &mut b, &mut cursor);
    let erased = |hash: char| {
        Op::LeadErased(switchboard_protocol::LeadErased {
            lead_id: id.clone(),
            erased_at: c.now(),
            by: "manager".into(),
            suppression_hashes: vec![switchboard_protocol::SuppressionHash {
                kind: switchboard_protocol::SuppressionKind::Email,
                hash: hash.to_string().repeat(64),
            }],
        })
    };
    let changes = vec![
        Change {
            server_seq: cursor + 1,
            op: erased('a'),
        },
        Change {
            server_seq: cursor + 2,
            op: erased('b'),
        },
    ];
    apply_page(b.conn_mut(), &changes, cursor + 2).unwrap();
    assert_eq!(leads::get(b.conn(), &id).unwrap().name, None);
    assert_eq!(count(&b, "SELECT count(*) FROM erasure"), 1);
    assert_eq!(
        count(
            &b,
            &format!(
                "SELECT count(*) FROM suppression WHERE hash IN ('{}', '{}')",
                "a".repeat(64),
                "b".repeat(64)
            )
        ),
        2
    );
    assert_eq!(
        count(&b, "SELECT count(*) FROM outbox"),
        0,
        "nothing to push"
    );
}

#[test]
fn a_revoked_lead_leaves_nothing_behind() {
    let c = clock();
    let (mut a, mut b) = (replica(&c), replica(&c));
    let id = crate::fixtures::insert_lead(&mut a, &ann(), c.now());
    log_call(&mut a, &id, "Ann is interested");
    let mut cursor = 0;
    relay(&mut a, &mut b, &mut cursor);
    let page = vec![Change {
        server_seq: 50,
        op: Op::LeadRevoked(LeadRevoked {
            lead_id: id.clone(),
        }),
    }];
    let summary = apply_page(b.conn_mut(), &page, 50).unwrap();
    assert_eq!(summary.revoked, 1);
    for table in ["lead", "follow_up", "audit"] {
        assert_eq!(
            count(&b, &format!("SELECT count(*) FROM {table}")),
            0,
            "{table}"
        );
    }
    assert_eq!(
        count(
            &b,
            "SELECT count(*) FROM note_search WHERE note_search MATCH 'interested'"
        ),
        0
    );
}

#[test]
fn rejected_operations_leave_the_queue_and_are_listed_without_pii() {
    let c = clock();
    let mut a = replica(&c);
    let _id = crate::fixtures::insert_lead(&mut a, &ann(), c.now());
    let ops = a.with_tx(|tx| pending_ops(tx, 100)).unwrap();
    let results: Vec<PushResult> = ops
        .iter()
        .enumerate()
        .map(|(i, (seq, _))| PushResult {
            seq: *seq,
            status: if i == 2 {
                PushStatus::Rejected
            } else {
                PushStatus::Duplicate
            },
            code: (i == 2).then(|| "forbidden_office".to_string()),
            reason: (i == 2).then(|| "lead belongs to another office".to_string()),
        })
        .collect();
    let summary = a.with_tx(|tx| ack(tx, &ops, &results, c.now())).unwrap();
    assert_eq!(summary.rejected, 1);
    assert_eq!(summary.duplicate, 5);
    let st = status(a.conn()).unwrap();
    assert_eq!(st.pending, 0);
    assert_eq!(st.rejected_total, 1);
    assert_eq!(st.rejected[0].code.as_deref(), Some("forbidden_office"));
    assert_eq!(st.rejected[0].op_kind, "lead_fields_set");
    let json = serde_json::to_string(&st).unwrap();
    assert!(!json.contains("Ann"));
}

#[test]
fn a_page_and_its_cursor_commit_together() {
    let c = clock();
    let mut b = replica(&c);
    // The second change refers to a record kind the store cannot hold: a broken page.
    let bad = vec![Change {
        server_seq: 1,
        op: Op::FollowUpLogged(switchboard_protocol::FollowUp {
            id: "f1".into(),
            lead_id: "l1".into(),
            channel: switchboard_protocol::Channel::Phone,
            direction: switchboard_protocol::Direction::Out,
            outcome: switchboard_protocol::Outcome::Busy,
            note: None,
            occurred_at: c.now(),
            rep: "r".into(),
            next_follow_up_at: None,
        }),
    }];
    b.conn()
        .execute_batch("CREATE TRIGGER no_calls BEFORE INSERT ON follow_up BEGIN SELECT RAISE(ABORT, 'refused'); END;")
        .unwrap();
    assert!(apply_page(b.conn_mut(), &bad, 1).is_err());
    assert_eq!(state(b.conn()).unwrap().cursor, 0);
    assert_eq!(count(&b, "SELECT count(*) FROM lead"), 0);
}

/// `store`'s outbox as the server would relay it: one page of changes numbered from 1.
fn outbox_as_page(store: &mut Store) -> Vec<Change> {
    let ops = store.with_tx(|tx| pending_ops(tx, 1000)).unwrap();
    ops.into_iter()
        .enumerate()
        .map(|(i, (_, op))| Change {
            server_seq: i as i64 + 1,
            op,
        })
        .collect()
}

/// Three leads with calls from `a`, as one page of changes numbered from 1.
fn three_leads_page(c: &FixedClock) -> Vec<Change> {
    let mut a = replica(c);
    for i in 0..3 {
        c.advance(chrono::Duration::seconds(1));
        let id = crate::fixtures::insert_lead(&mut a, &ann(), c.now());
        for n in 0..=i {
            log_call(&mut a, &id, &format!("callback {n}"));
        }
    }
    outbox_as_page(&mut a)
}

#[test]
fn pages_in_one_batch_end_as_the_same_pages_applied_one_by_one() {
    let c = clock();
    let changes = three_leads_page(&c);
    let pages: Vec<&[Change]> = changes.chunks(4).collect();
    let (mut batched, mut single) = (replica(&c), replica(&c));
    for page in &pages {
        let cursor = page.last().unwrap().server_seq;
        apply_page(single.conn_mut(), page, cursor).unwrap();
    }
    let mut batch = PageBatch::new(batched.conn_mut());
    for page in &pages {
        batch.apply(page, page.last().unwrap().server_seq).unwrap();
        assert!(!batch.is_full());
    }
    batch.commit().unwrap();
    drop(batch);
    assert_eq!(dump(&batched), dump(&single));
    assert_eq!(count(&batched, "SELECT count(*) FROM follow_up"), 6);
    assert_eq!(state(batched.conn()).unwrap().cursor, changes.len() as i64);
}

#[test]
fn a_batch_dropped_before_its_commit_leaves_no_page_and_no_open_transaction() {
    let c = clock();
    let changes = three_leads_page(&c);
    let mut b = replica(&c);
    let (first, rest) = changes.split_at(5);
    let mut batch = PageBatch::new(b.conn_mut());
    batch.apply(first, 5).unwrap();
    batch.commit().unwrap();
    batch.apply(rest, changes.len() as i64).unwrap();
    drop(batch);
    assert!(b.conn().is_autocommit());
    // The committed page stays, the dropped one is gone with its cursor.
    assert_eq!(state(b.conn()).unwrap().cursor, 5);
    let held = count(&b, "SELECT count(*) FROM lead") + count(&b, "SELECT count(*) FROM follow_up");
    assert_eq!(held, 1);
    // Pulling again from the cursor completes the replica.
    apply_page(b.conn_mut(), rest, changes.len() as i64).unwrap();
    assert_eq!(count(&b, "SELECT count(*) FROM follow_up"), 6);
}

#[test]
fn a_batch_is_full_after_a_page_that_removes_someone() {
    let c = clock();
    let changes = three_leads_page(&c);
    let lead_id = match &changes[0].op {
        Op::LeadFieldsSet(op) => op.lead_id.clone(),
        other => panic!("unexpected first change {other:?}"),
    };
    let mut b = replica(&c);
    let mut batch = PageBatch::new(b.conn_mut());
    batch.apply(&changes, changes.len() as i64).unwrap();
    assert!(!batch.is_full());
    let revoke = [Change {
        server_seq: 100,
        op: Op::LeadRevoked(LeadRevoked { lead_id }),
    }];
    batch.apply(&revoke, 100).unwrap();
    assert!(batch.is_full());
    batch.commit().unwrap();
    drop(batch);
    assert_eq!(count(&b, "SELECT count(*) FROM lead"), 2);
}

/// A bulk first sync's batch is bounded by the pages it adds to the file (each stays dirty in
/// the page cache until the commit), not by its changes: a few changes with long notes fill
/// it, and the ordinary batch holding the same pages is nowhere near full.
#[test]
fn a_bulk_batch_is_full_once_it_has_added_its_pages_whatever_its_changes() {
    let c = clock();
    let mut a = replica(&c);
    let id = fixtures::insert_lead(&mut a, &ann(), c.now());
    for n in 0..40 {
        log_call(
            &mut a,
            &id,
            &format!("call {n}: {}", "a long note ".repeat(300)),
        );
    }
    let changes = outbox_as_page(&mut a);
    let (first, rest) = changes.split_at(2);
    let end = changes.len() as i64;
    for bulk in [true, false] {
        let mut b = replica(&c);
        let mut batch = if bulk {
            PageBatch::bulk_of(b.conn_mut(), 16)
        } else {
            PageBatch::new(b.conn_mut())
        };
        batch.apply(first, 2).unwrap();
        assert!(!batch.is_full());
        batch.apply(rest, end).unwrap();
        assert_eq!(batch.is_full(), bulk, "bulk: {bulk}");
        batch.commit().unwrap();
        // A new transaction counts from its own start.
        assert!(!batch.is_full());
        drop(batch);
        assert_eq!(count(&b, "SELECT count(*) FROM follow_up"), 40);
    }
}

#[test]
fn a_bulk_load_builds_search_at_its_end_and_ends_as_the_pages_applied_one_by_one() {
    let c = clock();
    let mut a = replica(&c);
    let ids: Vec<String> = (0..3)
        .map(|i| {
            c.advance(chrono::Duration::seconds(1));
            let id = crate::fixtures::insert_lead(&mut a, &ann(), c.now());
            for n in 0..=i {
                log_call(&mut a, &id, &format!("callback {n}"));
            }
            id
        })
        .collect();
    // Erased in the middle of the load: neither the person's terms nor their notes may be
    // found once the load ends.
    crate::privacy::erase::erase(&mut a, &ids[0], "manager").unwrap();
    let changes = outbox_as_page(&mut a);
    let (mut bulked, mut single) = (replica(&c), replica(&c));
    let load = bulk::begin(bulked.conn())
        .unwrap()
        .expect("a fresh replica");
    assert!(bulk::search_deferred(bulked.conn()).unwrap());
    for page in changes.chunks(3) {
        let cursor = page.last().unwrap().server_seq;
        apply_page(single.conn_mut(), page, cursor).unwrap();
        apply_page(bulked.conn_mut(), page, cursor).unwrap();
    }
    assert!(
        count(
            &single,
            "SELECT count(*) FROM note_search WHERE note_search MATCH 'callback'"
        ) > 0
    );
    assert_eq!(
        count(
            &bulked,
            "SELECT count(*) FROM note_search WHERE note_search MATCH 'callback'"
        ),
        0,
        "the load writes no note entries"
    );
    // A buffer of a few bytes makes the fill write a segment per entry or two, as a million
    // rows write hundreds with FTS5's 1 MiB.
    for table in ["lead_search", "note_search"] {
        bulked
            .conn()
            .execute_batch(&format!(
                "INSERT INTO {table}({table}, rank) VALUES ('hashsize', 16)"
            ))
            .unwrap();
    }
    assert!(load.finish(bulked.conn()).unwrap());
    assert!(!bulk::search_deferred(bulked.conn()).unwrap());
    for table in ["lead_search", "note_search"] {
        let segments = format!("SELECT count(DISTINCT segid) FROM {table}_idx");
        assert_eq!(
            count(&bulked, &segments),
            1,
            "{table} merged into one segment"
        );
        let merging: Vec<(String, i64)> = bulked
            .conn()
            .prepare(&format!(
                "SELECT k, v FROM {table}_config WHERE k IN ('automerge', 'crisismerge') ORDER BY k"
            ))
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let defaults = [
            ("automerge".to_string(), 4),
            ("crisismerge".to_string(), 16),
        ];
        assert_eq!(merging, defaults, "{table}: FTS5's merge settings back");
    }
    assert_eq!(dump(&bulked), dump(&single));
    assert_eq!(
        count(
            &bulked,
            "SELECT count(*) FROM note_search WHERE note_search MATCH 'callback'"
        ),
        5,
        "the two living leads' notes"
    );
    assert_eq!(
        count(
            &bulked,
            "SELECT count(*) FROM lead_search WHERE lead_search MATCH 'ann'"
        ),
        2
    );
    // Finished once: the rows the app writes afterwards are indexed as they come.
    assert!(!bulk::finish_if_pending(bulked.conn()).unwrap());
}
