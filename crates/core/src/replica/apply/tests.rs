use super::*;
use crate::clock::{new_id, Clock};
use crate::fixtures::clocked_store;
use crate::people::leads::{LeadField, NewLead};
use crate::replica::{ack, pending_ops};
use crate::{FixedClock, Store};
use chrono::{TimeZone, Utc};
use switchboard_protocol::{
    Change, Channel, Direction, LeadFields, Outcome, PushResult, PushStatus,
};

/// A replica whose clock is five years ahead of the server's.
fn ahead() -> (FixedClock, Store) {
    let (store, clock) = clocked_store(Utc.with_ymd_and_hms(2031, 3, 3, 9, 0, 0).unwrap());
    (clock, store)
}

/// `ahead`, holding one lead of office BER named Ann; returns its id too.
fn ahead_with_ann() -> (FixedClock, Store, String) {
    let (clock, mut store) = ahead();
    let id = new_id(clock.now());
    let lead = NewLead {
        office: Some("BER".into()),
        name: Some("Ann".into()),
        ..NewLead::default()
    };
    store
        .with_tx(|tx| leads::insert(tx, &id, &lead, clock.now()))
        .unwrap();
    (clock, store, id)
}

fn rename(store: &mut Store, id: &str, name: &str) {
    let at = store.now();
    store
        .with_tx(|tx| {
            leads::set_fields(
                tx,
                id,
                &[(LeadField::Name, Some(name.into()))],
                "rep",
                "edit",
                at,
            )
        })
        .unwrap();
}

/// Pushes the outbox (answered applied) and returns the identity operation as the server
/// relays it: its stamp clamped to the server's time.
fn push_identity(store: &mut Store) -> LeadFieldsSet {
    let ops = store.with_tx(|tx| pending_ops(tx, 100)).unwrap();
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
    store.with_tx(|tx| ack(tx, &ops, &results, at)).unwrap();
    let server_now = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 5).unwrap();
    ops.into_iter()
        .filter_map(|(_, op)| match op {
            Op::LeadFieldsSet(set) if matches!(set.fields, LeadFields::Identity { .. }) => {
                let hlc = Hlc::parse(&set.hlc).unwrap().clamped(server_now);
                Some(LeadFieldsSet {
                    hlc: hlc.to_string(),
                    ..set
                })
            }
            _ => None,
        })
        .next_back()
        .expect("an identity change was pushed")
}

fn pull(store: &mut Store, set: &LeadFieldsSet, seq: i64) {
    let change = Change {
        server_seq: seq,
        op: Op::LeadFieldsSet(set.clone()),
    };
    apply_page(store.conn_mut(), &[change], seq).unwrap();
}

fn identity(store: &Store, id: &str) -> (String, String) {
    store
        .conn()
        .query_row(
            "SELECT name, clock_identity FROM lead WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
}

#[test]
fn its_own_clamped_edit_lowers_a_future_stamp_so_later_edits_win() {
    let (_, mut store, id) = ahead_with_ann();
    let clamped = push_identity(&mut store);
    pull(&mut store, &clamped, 1);
    assert_eq!(identity(&store, &id), ("Ann".into(), clamped.hlc.clone()));

    // Another replica's edit, later by the server's clock than the clamped stamp, wins.
    let server = Hlc::parse(&clamped.hlc).unwrap();
    let later = LeadFieldsSet {
        hlc: Hlc {
            millis: server.millis + 60_000,
            counter: 0,
            node: "other".into(),
        }
        .to_string(),
        fields: LeadFields::Identity {
            name: Some("Ann Later".into()),
            company: None,
        },
        ..clamped.clone()
    };
    pull(&mut store, &later, 2);
    assert_eq!(identity(&store, &id).0, "Ann Later");
}

#[test]
fn a_pending_local_edit_keeps_its_stamp() {
    let (_, mut store, id) = ahead_with_ann();
    let clamped = push_identity(&mut store);
    // Renamed and back before the first edit returns: same values, but an edit waits.
    rename(&mut store, &id, "Ann B");
    rename(&mut store, &id, "Ann");
    let before = identity(&store, &id);
    pull(&mut store, &clamped, 1);
    assert_eq!(identity(&store, &id), before);
}

#[test]
fn another_nodes_older_stamp_with_the_same_values_changes_nothing() {
    let (_, mut store, id) = ahead_with_ann();
    let clamped = push_identity(&mut store);
    let before = identity(&store, &id);
    let mut other = Hlc::parse(&clamped.hlc).unwrap();
    other.node = "other".into();
    let from_other = LeadFieldsSet {
        hlc: other.to_string(),
        ..clamped
    };
    pull(&mut store, &from_other, 1);
    assert_eq!(identity(&store, &id), before);
}

/// A pulled page's notes reach the full-text index as one new segment. Indexed one by one
/// between follow-up inserts, each note became a segment of its own (the next insert's
/// statement journal makes FTS5 write out what it holds), and FTS5 answers every segment
/// written with merge work: 40–240 ms per incremental sync of 100 follow-ups at 500,000 notes.
#[test]
fn a_pulled_pages_notes_are_indexed_as_one_segment() {
    let (clock, mut store, id) = ahead_with_ann();
    let segments = |store: &Store| -> i64 {
        store
            .conn()
            .query_row(
                "SELECT count(DISTINCT segid) FROM note_search_idx",
                [],
                |r| r.get(0),
            )
            .unwrap()
    };
    let before = segments(&store);
    let changes: Vec<Change> = (0..40)
        .map(|i| Change {
            server_seq: i + 1,
            op: Op::FollowUpLogged(FollowUp {
                id: format!("pulled-{i:03}"),
                lead_id: id.clone(),
                channel: Channel::Phone,
                direction: Direction::Out,
                outcome: Outcome::NoAnswer,
                note: Some(format!("pulled note {i}")),
                occurred_at: clock.now(),
                rep: "rita".into(),
                next_follow_up_at: None,
            }),
        })
        .collect();
    apply_page(store.conn_mut(), &changes, 40).unwrap();
    assert_eq!(segments(&store) - before, 1);
    let found: i64 = store
        .conn()
        .query_row(
            "SELECT count(*) FROM note_search WHERE note_search MATCH 'pulled'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(found, 40);
}
