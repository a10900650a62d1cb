//! Two offices and a manager work offline, then sync in several orders against a real server:
//! every replica that may see a lead holds the same state, and every follow-up exists once.

use crate::sync_support;

use sync_support::{Hub, Replica};

/// Offline work of one round: new leads, and calls on every lead the replica holds.
fn work(r: &mut Replica, round: usize, country: &str) -> usize {
    let tag = format!("{}{round}", r.user);
    let mut calls = 0;
    for i in 0..2 {
        let phone = if country == "FR" {
            format!("+3314{round}{i}0000{}", r.user.len())
        } else {
            format!("+4930{round}{i}0000{}", r.user.len())
        };
        r.add_lead(
            &format!("Person {tag}-{i}"),
            &format!("{tag}-{i}@example.com"),
            &phone,
            country,
        );
    }
    let leads: Vec<String> = r
        .store
        .conn()
        .prepare("SELECT id FROM lead WHERE status <> 'erased' ORDER BY id")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    for lead in leads.iter().take(4) {
        r.call(lead, &format!("round {round} call by {}", r.user));
        calls += 1;
    }
    calls
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offices_and_a_manager_converge_whatever_the_sync_order() {
    let hub = Hub::start().await;
    let mut rita = hub.replica("rita").await; // rep, BER
    let mut mona = hub.replica("mona").await; // manager, BER
    let mut paul = hub.replica("paul").await; // rep, PAR
    let mut calls = 0;
    // Each round: everyone works offline, then they sync in a different order.
    let orders: [[usize; 3]; 4] = [[0, 1, 2], [2, 1, 0], [1, 0, 2], [2, 0, 1]];
    for (round, order) in orders.iter().enumerate() {
        calls += work(&mut rita, round, "DE");
        calls += work(&mut mona, round, "DE");
        calls += work(&mut paul, round, "FR");
        for who in order {
            match who {
                0 => rita.sync().await,
                1 => mona.sync().await,
                _ => paul.sync().await,
            };
        }
    }
    // Two more passes settle what the last round's early syncers have not pulled yet.
    for _ in 0..2 {
        rita.sync().await;
        mona.sync().await;
        paul.sync().await;
    }

    // Same office, same state; the other office sees none of it.
    assert_eq!(rita.snapshot(), mona.snapshot());
    let ber_leads = rita.count("SELECT count(*) FROM lead");
    assert_eq!(ber_leads, 16, "8 leads each from rita and mona");
    assert_eq!(paul.count("SELECT count(*) FROM lead"), 8);
    assert_eq!(
        paul.count("SELECT count(*) FROM lead WHERE office = 'BER'"),
        0
    );
    assert_eq!(
        rita.count("SELECT count(*) FROM lead WHERE office = 'PAR'"),
        0
    );

    // Every follow-up exactly once: on the server, and on every replica of its office.
    let ber_calls = rita.follow_up_ids().len() as i64;
    let par_calls = paul.follow_up_ids().len() as i64;
    assert_eq!((ber_calls + par_calls) as usize, calls);
    assert_eq!(
        hub.server_count("SELECT count(*) FROM record WHERE kind = 'follow_up'"),
        calls as i64,
        "the server holds each call once"
    );
    // Counters derived from the merged history agree with it.
    assert_eq!(
        rita.count("SELECT coalesce(sum(attempts), 0) FROM lead"),
        rita.count("SELECT count(*) FROM follow_up WHERE direction = 'out'")
    );
    // Nothing is left to push, and a further sync changes nothing.
    for r in [&mut rita, &mut mona, &mut paul] {
        let report = r.sync().await;
        assert_eq!(report.pushed, 0);
        assert_eq!(report.pulled, 0);
        assert_eq!(
            switchboard_core::replica::status(r.store.conn())
                .unwrap()
                .rejected_total,
            0
        );
    }
}
