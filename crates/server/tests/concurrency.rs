//! Many writers and readers at once (issue 14): pushes from replicas of two offices commit side
//! by side (on PostgreSQL truly in parallel), several of them fighting over the same lead, while
//! readers follow the log in small pages. Every reader must see every committed change exactly
//! once, in cursor order, and the contested lead must end with the newest write (no update lost
//! to a concurrent one).

use crate::support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::*;
use switchboard_protocol::*;
use switchboard_server::{leads, store};
use switchboard_test_support::{ApiClient, TestOptions};

const WRITERS: u32 = 24;
const ROUNDS: u32 = 5;
const READERS: usize = 3;

/// Follows the whole log (as an admin) in pages of 7 until `done` is set and a last pass finds
/// nothing new; returns the sequence numbers seen, in the order they came.
async fn follow(client: ApiClient, done: Arc<AtomicBool>) -> Vec<i64> {
    let mut cursor = 0;
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let finished = done.load(Ordering::SeqCst);
        let page = client.pull(cursor, 7, 0).await.expect("pull");
        for c in &page.changes {
            assert!(
                c.server_seq > cursor && seen.last().is_none_or(|&l| c.server_seq > l),
                "changes come in cursor order: {} after {cursor}",
                c.server_seq
            );
            seen.push(c.server_seq);
        }
        assert!(page.next_cursor >= cursor, "the cursor never goes back");
        cursor = page.next_cursor;
        if finished && !page.has_more && page.changes.is_empty() {
            return seen;
        }
        assert!(Instant::now() < deadline, "the followers finish");
    }
}

async fn writers_and_readers(options: TestOptions) {
    let w = World::start(options).await;
    let contested = new_lead(&w.rep_a, "seed-a", 1, "Ada", "ada@example.com").await;
    let done = Arc::new(AtomicBool::new(false));
    let followers: Vec<_> = (0..READERS)
        .map(|i| {
            let client = w.admin.against(w.server.http(), &w.admin.base);
            let done = done.clone();
            tokio::spawn(async move {
                // Start at different moments, so the readers' pages fall differently.
                tokio::time::sleep(Duration::from_millis(15 * i as u64)).await;
                follow(client, done).await
            })
        })
        .collect();

    // One moment for every stamp, so the clocks differ only in their counters.
    let at = t0();
    let mut writers = Vec::new();
    for n in 0..WRITERS {
        // Even writers are office A's replicas, odd ones office B's; each has its own connection.
        let (base, rep) = if n % 2 == 0 {
            (&w.rep_a, "rep_a")
        } else {
            (&w.rep_b, "rep_b")
        };
        let client = base.against(w.server.http(), &base.base);
        let contested = contested.clone();
        writers.push(tokio::spawn(async move {
            let replica = format!("writer-{n}");
            let own = id("own");
            let mut seq = 0;
            for round in 0..ROUNDS {
                let mut ops = vec![
                    identity(&own, &format!("Own {n}"), hlc(at, round, &replica)),
                    follow_up(&own, Some("called"), rep),
                ];
                if rep == "rep_a" {
                    // Office A's writers all rename the one lead, each with its own clock.
                    let stamp = hlc(at, 1000 + n * ROUNDS + round, &replica);
                    ops.push(identity(&contested, &format!("Ada {n}.{round}"), stamp));
                    ops.push(follow_up(&contested, None, rep));
                }
                let pushed = numbered_from(seq + 1, ops);
                seq += pushed.len() as i64;
                let answer = client.push(&replica, pushed).await.expect("push");
                assert!(
                    answer
                        .results
                        .iter()
                        .all(|r| r.status == PushStatus::Applied),
                    "{answer:?}"
                );
            }
        }));
    }
    for t in writers {
        t.await.expect("writer");
    }
    done.store(true, Ordering::SeqCst);

    let (log, _) = w.admin.pull_all(0).await.expect("pull");
    let expected: Vec<i64> = log.iter().map(|c| c.server_seq).collect();
    for f in followers {
        let seen = f.await.expect("follower");
        assert_eq!(
            seen, expected,
            "a follower saw exactly the committed changes, each once, in order"
        );
    }
    let mut follow_ups = BTreeMap::new();
    for c in &log {
        if let Op::FollowUpLogged(f) = &c.op {
            *follow_ups.entry(f.lead_id == contested).or_insert(0) += 1;
        }
    }
    assert_eq!(follow_ups.get(&false), Some(&(WRITERS * ROUNDS)));
    assert_eq!(follow_ups.get(&true), Some(&(WRITERS / 2 * ROUNDS)));

    // The newest clock won although its push may have committed before older ones.
    let newest = (0..WRITERS)
        .step_by(2)
        .map(|n| hlc(at, 1000 + n * ROUNDS + ROUNDS - 1, &format!("writer-{n}")))
        .max()
        .unwrap();
    // The store blocks (PostgreSQL's client runs its own runtime): read it off the async threads.
    let store = w.server.state.store.clone();
    let lead = contested.clone();
    let state = tokio::task::spawn_blocking(move || {
        store::read(&*store, |tx| leads::load_state(tx, &lead))
    })
    .await
    .unwrap()
    .unwrap()
    .expect("the contested lead exists");
    assert_eq!(state.group(FieldGroup::Identity).1, newest);
    w.server.stop().await;
}
both_backends!(
    many_writers_and_readers_see_every_change_once_in_order,
    writers_and_readers
);

/// The after-commit hook for live changes: a committed push names the offices it wrote to
/// (a lead moved from A to B writes both; a push that changes nothing names none).
async fn changed_offices(options: TestOptions) {
    let w = World::start(options).await;
    let lead = new_lead(&w.admin, "adm", 1, "Ada", "ada@example.com").await;
    let state = w.server.state.clone();
    let lead_id = lead.clone();
    let (moved, repeated) = tokio::task::spawn_blocking(move || {
        let admin = switchboard_server::accounts::Actor {
            user: "admin".into(),
            role: Role::Admin,
            office: None,
            offices: Vec::new(),
        };
        let req = PushRequest {
            replica_id: "adm".into(),
            ops: numbered_from(3, vec![office(&lead_id, "A", hlc(t0(), 5, "adm"))]),
        };
        let now = state.clock.now();
        let key = &state.suppression_key_bytes;
        let first = switchboard_server::push::push(&*state.store, &admin, &req, now, key);
        let again = switchboard_server::push::push(&*state.store, &admin, &req, now, key);
        (first.unwrap().buckets, again.unwrap().buckets)
    })
    .await
    .unwrap();
    assert!(moved.contains("A"), "{moved:?}");
    assert!(
        repeated.is_empty(),
        "a resent push changes nothing: {repeated:?}"
    );
    w.server.stop().await;
}
both_backends!(a_push_names_the_offices_it_changed, changed_offices);

/// A PostgreSQL store on a fresh schema with a one-row counter table, or `None` (after
/// `fresh_pg_url`'s notice) when no test PostgreSQL is set. Blocking: call it off async threads.
fn pg_counter(test: &str) -> Option<Arc<store::postgres::PgStore>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let url = runtime.block_on(switchboard_test_support::fresh_pg_url(test))?;
    drop(runtime);
    let keys = Arc::new(switchboard_server::sealing::Keyring::generate());
    let pg = store::postgres::PgStore::connect_with_pool(&url, 8, keys).expect("connect");
    store::write(&pg, |tx| {
        tx.exec(
            "CREATE TABLE race_counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)",
            &[],
        )?;
        tx.exec("INSERT INTO race_counter (id, n) VALUES (1, 0)", &[])
    })
    .unwrap();
    Some(Arc::new(pg))
}

/// Makes the running statement fail as a lost serialization race (PostgreSQL's 40001).
const LOSE_RACE: &str =
    "DO $$ BEGIN RAISE EXCEPTION 'lost on purpose' USING ERRCODE = 'serialization_failure'; END $$";

fn counter(pg: &store::postgres::PgStore) -> i64 {
    store::read(pg, |tx| {
        let rows = tx.query("SELECT n FROM race_counter WHERE id = 1", &[])?;
        Ok(store::col_int(&rows[0], 0).unwrap())
    })
    .unwrap()
}

/// A write that lost often enough to run alone must not lose again: it waits for every writer
/// in flight, and the snapshot it reads must include their commits. (Its lock was once taken
/// inside its SERIALIZABLE transaction, whose snapshot predated that wait, so the writer it
/// waited for beat it once more — under load, until the retries ran out: a 500.)
#[test]
fn an_escalated_write_holds_alone_against_the_writers_it_waited_for() {
    let Some(pg) = pg_counter("an_escalated_write_holds_alone") else {
        return;
    };
    let (holding_tx, holding) = std::sync::mpsc::channel();
    let (go, go_rx) = std::sync::mpsc::channel::<()>();
    let first = {
        let pg = pg.clone();
        std::thread::spawn(move || {
            let mut runs = 0;
            store::write(&*pg, |tx| {
                runs += 1;
                tx.exec("UPDATE race_counter SET n = n + 1 WHERE id = 1", &[])?;
                holding_tx.send(()).unwrap();
                go_rx.recv().unwrap();
                Ok(())
            })
            .expect("the first writer commits");
            runs
        })
    };
    holding.recv().unwrap();
    let second = {
        let pg = pg.clone();
        std::thread::spawn(move || {
            let mut runs = 0;
            let done = store::write(&*pg, |tx| {
                runs += 1;
                if runs <= 3 {
                    // Lose the first races on purpose, so the next run is the escalated one.
                    return tx.exec(LOSE_RACE, &[]).map(drop);
                }
                tx.exec("UPDATE race_counter SET n = n + 10 WHERE id = 1", &[])
                    .map(drop)
            });
            (done, runs)
        })
    };
    // Release the first writer only once the escalated one waits for it.
    let deadline = Instant::now() + Duration::from_secs(20);
    while store::read(&*pg, |tx| {
        let rows = tx.query(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted",
            &[],
        )?;
        Ok(store::col_int(&rows[0], 0).unwrap())
    })
    .unwrap()
        == 0
    {
        assert!(
            Instant::now() < deadline,
            "the escalated write waits for the lock"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    go.send(()).unwrap();
    assert_eq!(first.join().unwrap(), 1);
    let (done, runs) = second.join().unwrap();
    done.expect("the escalated write commits");
    assert_eq!(runs, 4, "the write that ran alone did not lose again");
    assert_eq!(counter(&pg), 11);
}

/// A body that lets a lost race's error go (and so commits an aborted transaction, which
/// PostgreSQL rolls back without a word) is run again rather than reported written.
#[test]
fn a_lost_race_the_body_let_go_is_run_again_not_dropped() {
    let Some(pg) = pg_counter("a_lost_race_the_body_let_go") else {
        return;
    };
    let mut runs = 0;
    store::write(&*pg, |tx| {
        runs += 1;
        tx.exec("UPDATE race_counter SET n = n + 1 WHERE id = 1", &[])?;
        if runs == 1 {
            let lost = tx.exec(LOSE_RACE, &[]);
            assert!(lost.is_err());
        }
        Ok(())
    })
    .expect("the write commits");
    assert_eq!(runs, 2);
    assert_eq!(
        counter(&pg),
        1,
        "the write that returned Ok is in the database"
    );
}

/// A write that loses every race gives up as "busy" (503 with Retry-After: the client tries
/// again), not as an internal error (500).
#[test]
fn a_write_that_keeps_losing_is_busy_not_internal() {
    let Some(pg) = pg_counter("a_write_that_keeps_losing") else {
        return;
    };
    let mut runs = 0;
    let failed = store::write(&*pg, |tx| {
        runs += 1;
        tx.exec(LOSE_RACE, &[]).map(drop)
    })
    .unwrap_err();
    assert!(runs > 3, "it was retried, alone at last: {runs} runs");
    assert!(
        matches!(failed, switchboard_server::ServerError::Busy(_)),
        "{failed:?}"
    );
    assert_eq!(failed.status().as_u16(), 503);
    assert_eq!(failed.code(), "busy");
    let response = axum::response::IntoResponse::into_response(failed);
    assert_eq!(response.headers()["retry-after"], "1");
}

/// Many writers reading then writing one row at once (the merge's pattern, at its most
/// contested): every write commits — none comes back as an error — and none is lost.
#[test]
fn many_writers_on_one_row_all_commit() {
    const THREADS: i64 = 16;
    const WRITES: i64 = 15;
    let Some(pg) = pg_counter("many_writers_on_one_row_all_commit") else {
        return;
    };
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let pg = pg.clone();
            std::thread::spawn(move || {
                for _ in 0..WRITES {
                    store::write(&*pg, |tx| {
                        let rows = tx.query("SELECT n FROM race_counter WHERE id = 1", &[])?;
                        let n = store::col_int(&rows[0], 0).unwrap();
                        tx.exec(
                            "UPDATE race_counter SET n = ?1 WHERE id = 1",
                            &[(n + 1).into()],
                        )
                    })
                    .expect("a contested write commits");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("writer");
    }
    assert_eq!(counter(&pg), THREADS * WRITES);
}
