//! The `new` and `due` walks answer from their covering indexes (migration 0021): their plans,
//! the order ties take, and the migration on a replica from before it.

use super::super::*;
use crate::people::leads::{self, NewLead};
use crate::{FixedClock, Store};
use chrono::TimeZone;
use std::sync::Arc;

fn noon() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 11, 0, 0).unwrap()
}

fn add(s: &mut Store, name: &str, registered: DateTime<Utc>) -> String {
    let l = NewLead {
        name: Some(name.into()),
        email: Some(format!("{}@example.com", name.to_lowercase())),
        phone: Some("+4930123456".into()),
        country: Some("DE".into()),
        last_registered_at: Some(registered),
        ..NewLead::default()
    };
    crate::fixtures::insert_lead(s, &l, registered)
}

fn plan(conn: &Connection, def: &QueueDef, rep: Option<&str>) -> String {
    let w = walk_sql(def, &QueueSettings::default(), noon(), rep);
    let rows: Vec<String> = conn
        .prepare(&format!("EXPLAIN QUERY PLAN {}", w.sql))
        .unwrap()
        .query_map(params_from_iter(w.params.iter()), |r| r.get::<_, String>(3))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    rows.join(" | ")
}

fn user_queue(base: QueueBase, order: QueueOrder) -> QueueDef {
    QueueDef {
        name: "mine".into(),
        description: String::new(),
        filter: QueueFilter {
            countries: vec!["DE".into(), "AT".into()],
            offices: vec!["berlin".into()],
            owners: vec!["ann".into()],
            statuses: vec![LeadStatus::New],
            kinds: vec![RegistrationKind::Demo],
            ..QueueFilter::base(base)
        },
        order,
        built_in: false,
    }
}

#[test]
fn new_and_due_walks_read_their_covering_index_not_the_lead_rows() {
    let s = crate::fixtures::store_at(noon());
    let conn = s.conn();
    let mut walks = vec![
        (get(conn, "new").unwrap(), "lead_new_queue"),
        (get(conn, "due").unwrap(), "lead_due_queue"),
    ];
    for order in [
        QueueOrder::NewestRegistration,
        QueueOrder::OldestRegistration,
    ] {
        walks.push((user_queue(QueueBase::New, order), "lead_new_queue"));
    }
    for (def, index) in walks {
        for rep in [Some("ann"), None] {
            let plan = plan(conn, &def, rep);
            // A column of the walk missing from the index turns this into `USING INDEX`: a
            // read of the lead's row, a page of `lead` per candidate.
            assert!(
                plan.contains(&format!("lead USING COVERING INDEX {index}")),
                "{} {rep:?}: {plan}",
                def.name
            );
            // The only row of `lead` read by id is a cadence step's (the `due` walk's other
            // side, issue 12); nothing scans the table.
            let by_id = plan
                .matches("SEARCH lead USING INDEX sqlite_autoindex_lead_1")
                .count();
            assert_eq!(
                by_id,
                usize::from(def.filter.base == QueueBase::Due),
                "{plan}"
            );
            assert!(
                !plan.contains("SCAN lead |") && !plan.ends_with("SCAN lead"),
                "{plan}"
            );
            assert!(
                !plan.contains("TEMP B-TREE"),
                "{} {rep:?}: {plan}",
                def.name
            );
        }
    }
    // The open queues keep a narrow index: ordered, unsorted, reading the rows.
    let plan = plan(conn, &get(conn, "callable").unwrap(), Some("ann"));
    assert!(plan.contains("USING INDEX lead_open_queue"), "{plan}");
    assert!(!plan.contains("TEMP B-TREE"), "{plan}");
}

#[test]
fn the_covering_indexes_hold_every_column_a_walk_selects() {
    let s = crate::fixtures::store_at(noon());
    for index in ["lead_new_queue", "lead_due_queue"] {
        let columns: Vec<String> = s
            .conn()
            .prepare("SELECT name FROM pragma_index_info(?1)")
            .unwrap()
            .query_map([index], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        for column in LEAD_COLUMNS.split(',').map(str::trim) {
            assert!(
                columns.iter().any(|c| c == column),
                "{index} lacks {column}"
            );
        }
        assert_eq!(
            columns[1], "id",
            "{index}: ties break by id, right after the order"
        );
    }
}

#[test]
fn ties_in_queue_order_break_by_id_in_pages_and_in_hands() {
    let mut s = crate::fixtures::store_at(noon());
    let at = noon() - Duration::hours(1);
    let mut ids: Vec<String> = (0..2 * HAND + 4)
        .map(|i| add(&mut s, &format!("Tie{i}"), at))
        .collect();
    ids.sort();
    let conn = s.conn();
    let paged: Vec<String> = page(conn, "new", 0, 100, noon())
        .unwrap()
        .into_iter()
        .map(|e| e.lead.id)
        .collect();
    assert_eq!(paged, ids);
    let oldest = QueueDef {
        name: "oldest".into(),
        description: String::new(),
        filter: QueueFilter::base(QueueBase::New),
        order: QueueOrder::OldestRegistration,
        built_in: false,
    };
    super::add(conn, &oldest, "admin", noon()).unwrap();
    let reversed: Vec<String> = page(conn, "oldest", 0, 100, noon())
        .unwrap()
        .into_iter()
        .map(|e| e.lead.id)
        .collect();
    assert_eq!(reversed, ids.iter().rev().cloned().collect::<Vec<_>>());
    // A rep moving through the queue is handed the same order, hand after hand.
    let settings = QueueSettings::default();
    let mut handed = Vec::new();
    let mut previous: Option<String> = None;
    for i in 0..ids.len() {
        let at = noon() + Duration::seconds(i as i64);
        let n = next_after(conn, "new", "ann", previous.as_deref(), at, &settings)
            .unwrap()
            .unwrap();
        conn.execute(
            "UPDATE lead SET status = 'working' WHERE id = ?1",
            [&n.lead.id],
        )
        .unwrap();
        handed.push(n.lead.id.clone());
        previous = Some(n.lead.id);
    }
    assert_eq!(handed, ids);
    // The same leads due at one time come in id order too.
    conn.execute(
        "UPDATE lead SET next_follow_up_at = '2026-03-02T10:00:00.000Z'",
        [],
    )
    .unwrap();
    let due: Vec<String> = page(conn, "due", 0, 100, noon())
        .unwrap()
        .into_iter()
        .map(|e| e.lead.id)
        .collect();
    assert_eq!(due, ids);
}

#[test]
fn migration_0021_replaces_the_narrow_indexes_even_while_a_bulk_load_waits_to_rebuild_them() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let clock = Arc::new(FixedClock::at(noon()));
    let (one, two);
    {
        let mut s = Store::open_with_clock(&path, None, clock.clone()).unwrap();
        one = add(&mut s, "One", noon() - Duration::hours(1));
        two = add(&mut s, "Two", noon() - Duration::hours(2));
        // A replica from before 0021, killed during a large import: its narrow queue indexes
        // set aside and recorded for the rebuild (what `deferred_indexes::drop_recording` does).
        let old = [
            ("lead_new_queue", "CREATE INDEX lead_new_queue ON lead(last_registered_at DESC) WHERE status = 'new'"),
            ("lead_due_queue", "CREATE INDEX lead_due_queue ON lead(next_follow_up_at) WHERE next_follow_up_at IS NOT NULL AND status = 'working'"),
        ];
        s.conn()
            .execute_batch(&format!(
                "DROP INDEX lead_new_queue; DROP INDEX lead_due_queue; PRAGMA user_version = {};",
                crate::store::database::migrations_before("0021_covering_queues")
            ))
            .unwrap();
        crate::store::settings::set_setting(
            s.conn(),
            crate::store::deferred_indexes::PENDING,
            &serde_json::to_string(&old).unwrap(),
        )
        .unwrap();
    }
    let s = Store::open_with_clock(&path, None, clock).unwrap();
    let conn = s.conn();
    for index in ["lead_new_queue", "lead_due_queue"] {
        let columns: i64 = conn
            .query_row("SELECT count(*) FROM pragma_index_info(?1)", [index], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(columns, 19, "{index} is the covering one");
    }
    assert!(
        crate::store::settings::get_setting(conn, crate::store::deferred_indexes::PENDING)
            .unwrap()
            .is_none(),
        "the rebuild was finished (nothing left to build)"
    );
    let got: Vec<String> = page(conn, "new", 0, 10, noon())
        .unwrap()
        .into_iter()
        .map(|e| e.lead.id)
        .collect();
    assert_eq!(got, vec![one.clone(), two]);
    assert_eq!(leads::get(conn, &one).unwrap().name.as_deref(), Some("One"));
}

#[test]
fn a_lead_larger_than_an_index_cell_is_walked_and_handed_out_whole() {
    let mut s = crate::fixtures::store_at(noon());
    // Over a quarter of a 4 KiB page: the index entry spills to overflow pages.
    let long = "Lange Straße 1, ".repeat(300);
    let big = NewLead {
        name: Some("Big".into()),
        company: Some("C".repeat(2_000)),
        email: Some("big@example.com".into()),
        phone: Some("+4930123456".into()),
        address: Some(long.clone()),
        country: Some("DE".into()),
        last_registered_at: Some(noon() - Duration::minutes(1)),
        ..NewLead::default()
    };
    let id = crate::fixtures::insert_lead(&mut s, &big, noon() - Duration::minutes(1));
    let small = add(&mut s, "Small", noon() - Duration::minutes(2));
    let settings = QueueSettings::default();
    let n = next(s.conn(), "new", "ann", noon(), &settings)
        .unwrap()
        .unwrap();
    assert_eq!(n.lead.id, id);
    assert_eq!(n.lead.address.as_deref(), Some(long.as_str()));
    assert_eq!(n.lead.company.map(|c| c.len()), Some(2_000));
    // Logging a contact takes it out of the index; the next lead follows.
    s.conn()
        .execute("UPDATE lead SET status = 'working' WHERE id = ?1", [&id])
        .unwrap();
    let n = next_after(s.conn(), "new", "ann", Some(&id), noon(), &settings)
        .unwrap()
        .unwrap();
    assert_eq!(n.lead.id, small);
    let check: String = s
        .conn()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}
