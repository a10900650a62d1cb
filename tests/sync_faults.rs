//! Faults: connections cut at random points of push and pull (at least 200 cuts), the server
//! restarted mid-sync, a `switchboard sync` killed with SIGKILL while it applies pages, and the
//! real `switchboard-server` process killed with SIGKILL while a `switchboard sync` pushes or
//! pulls. The replicas converge with nothing lost and nothing twice; a killed replica's file is
//! intact and its next sync resumes from its cursor.

use crate::cli_replica;
use crate::server_process;
use crate::support;
use crate::sync_support;

use cli_replica::{server_strings, CliReplica};
use rand::{RngExt, SeedableRng};
use server_process::ServerProcess;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use switchboard_core::{replica, FixedClock, Store};
use sync_support::{monday, CuttingProxy, Hub, Replica};

fn lead_ids(r: &Replica) -> Vec<String> {
    r.store
        .conn()
        .prepare("SELECT id FROM lead WHERE status <> 'erased' ORDER BY id")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_converge_through_hundreds_of_cut_connections_and_a_server_restart() {
    let hub = Hub::start().await;
    let proxy = CuttingProxy::start(hub.server.addr, 7).await;
    let fp = hub.server.fingerprint.clone();
    let mut rita = hub.replica("rita").await;
    let mut mona = hub.replica("mona").await;
    let mut paul = hub.replica("paul").await;
    for r in [&mut rita, &mut mona, &mut paul] {
        r.reconnect(&proxy.url(), &fp);
    }
    let mut calls = 0usize;
    let mut failures = 0usize;
    let mut round = 0usize;
    while proxy.cut_count() < 200 {
        round += 1;
        assert!(
            round < 2_000,
            "only {} cuts after {round} rounds",
            proxy.cut_count()
        );
        for (r, country) in [(&mut rita, "DE"), (&mut mona, "DE"), (&mut paul, "FR")] {
            if round % 3 == 1 {
                let tag = format!("{}-{round}", r.user);
                let prefix = if country == "FR" { "+33142" } else { "+49301" };
                r.add_lead(
                    &format!("Person {tag}"),
                    &format!("{tag}@example.com"),
                    &format!("{prefix}{round:05}{}", r.user.len()),
                    country,
                );
            }
            if let Some(lead) = lead_ids(r).get(round % 5) {
                r.call(lead, &format!("call in round {round}"));
                calls += 1;
            }
            if r.try_sync().await.is_err() {
                failures += 1;
            }
        }
    }
    assert!(failures > 50, "the cuts broke syncs ({failures} failed)");

    // The server restarts while a sync is under way: a second instance takes over the data
    // folder and the first one stops.
    proxy.cutting.store(false, Ordering::SeqCst);
    for i in 0..40 {
        let lead = lead_ids(&rita)[i % 3].clone();
        rita.call(&lead, &format!("before the restart {i}"));
        calls += 1;
    }
    let restarted = hub
        .server
        .start_sibling(Arc::new(switchboard_core::SystemClock))
        .await
        .unwrap();
    let sync = rita.try_sync();
    let Hub { server } = hub;
    let ((), _maybe_failed) = tokio::join!(server.stop(), sync);
    proxy.retarget(restarted.addr);
    let hub = Hub { server: restarted };

    // Calm again: everyone syncs until nothing moves.
    for _ in 0..3 {
        rita.sync().await;
        mona.sync().await;
        paul.sync().await;
    }
    assert_eq!(rita.snapshot(), mona.snapshot());
    let ber = rita.follow_up_ids();
    let par = paul.follow_up_ids();
    assert_eq!(ber.len() + par.len(), calls, "every call arrived");
    assert_eq!(
        hub.server_count("SELECT count(*) FROM record WHERE kind = 'follow_up'") as usize,
        calls,
        "each call is stored once on the server"
    );
    for r in [&rita, &mona, &paul] {
        assert_eq!(r.integrity(), "ok");
        assert_eq!(replica::status(r.store.conn()).unwrap().pending, 0);
    }
    eprintln!(
        "{} cuts, {failures} failed syncs, {calls} calls, {round} rounds",
        proxy.cut_count()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_killed_while_applying_pages_leaves_an_intact_file_and_resumes() {
    let hub = Hub::start().await;
    let mut ada = hub.replica("ada").await;
    // Enough changes for many pages: about eight full pages.
    let bulk = switchboard_protocol::MAX_PAGE as usize;
    ada.add_called_leads(bulk, "Bulk", 1_000_000);
    ada.sync().await;

    // mona's laptop: logged in, never synced; the CLI runs the sync in another process.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mona.db");
    let token = hub.signed_in_file(&path, "mona").await;
    let mut last_cursor = 0;
    let mut kills = 0;
    for attempt in 0..12u64 {
        let mut child = std::process::Command::new(support::binary())
            .args(["--db", path.to_str().unwrap(), "sync"])
            // Killed again and again mid-way, the sync must commit often: a bulk first sync
            // commits every 2.5 s (`engine::BULK_BATCH`), so these eight pages would give one
            // kill. Its own kill is `sync_first_bulk`'s
            // `a_first_sync_killed_during_its_bulk_load_opens_with_every_index_and_completes`.
            .env(switchboard_sync::engine::FIRST_SYNC_VAR, "replay")
            .env("SWITCHBOARD_TOKEN", token.expose())
            .env(
                "SWITCHBOARD_DB_KEY",
                switchboard_test_support::test_db_key_hex(),
            )
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Wait until the child has committed a page past the last cursor, then kill it a
        // moment later: it is then busy fetching or applying the next page.
        let mut finished = false;
        let started = std::time::Instant::now();
        loop {
            if child.try_wait().unwrap().is_some() {
                finished = true;
                break;
            }
            if cursor_of(&path) > last_cursor || started.elapsed() > Duration::from_secs(60) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        if !finished {
            tokio::time::sleep(Duration::from_millis(13 * attempt % 120)).await;
            finished = child.try_wait().unwrap().is_some();
        }
        if !finished {
            // SIGKILL: no destructor, no rollback handler, no checkpoint.
            sigkill(child.id());
            kills += 1;
        }
        let _ = child.wait();
        let store = Store::open(&path, Some(&support::test_key())).unwrap();
        let check: String = store
            .conn()
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
        let orphans: i64 = store
            .conn()
            .query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(orphans, 0);
        let cursor = replica::state(store.conn()).unwrap().cursor;
        assert!(cursor >= last_cursor, "the cursor never goes back");
        last_cursor = cursor;
        if finished {
            break;
        }
    }
    assert!(
        kills >= 2,
        "the sync was killed mid-way at least twice ({kills})"
    );

    // The next sync resumes and ends with exactly the central state.
    let mut mona = Replica::from_file(
        &path,
        &hub.server.url,
        &hub.server.fingerprint,
        "mona",
        token,
    );
    let report = mona.sync().await;
    assert!(
        report.cursor >= last_cursor && (last_cursor > 0),
        "resumed from {last_cursor}: {report:?}"
    );
    ada.sync().await;
    assert_eq!(mona.snapshot(), ada.snapshot());
    assert_eq!(mona.count("SELECT count(*) FROM follow_up"), bulk as i64);
    drop(dir);
}

/// The cursor as another reader sees it (0 before the schema exists).
fn cursor_of(path: &std::path::Path) -> i64 {
    if !path.exists() {
        return 0;
    }
    let conn =
        switchboard_test_support::open_sqlite(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY);
    conn.query_row("SELECT cursor FROM sync_state WHERE id = 1", [], |r| {
        r.get(0)
    })
    .unwrap_or(0)
}

fn sigkill(pid: u32) {
    let status = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Logs `n` calls on rita's replica file (round-robin over `leads`), as the CLI's `log` does,
/// in one transaction; returns their ids.
fn log_calls(db: &std::path::Path, leads: &[String], n: usize, round: usize) -> Vec<String> {
    use switchboard_core::followup;
    use switchboard_core::protocol::{Channel, Direction, Outcome};
    let at = monday();
    let mut store =
        Store::open_with_clock(db, Some(&support::test_key()), Arc::new(FixedClock::at(at)))
            .unwrap();
    store
        .with_tx(|tx| {
            (0..n)
                .map(|i| {
                    let input = followup::LogFollowUp {
                        lead: leads[i % leads.len()].clone(),
                        channel: Channel::Phone,
                        direction: Direction::Out,
                        outcome: Outcome::NoAnswer,
                        note: Some(format!("round {round}, call {i}")),
                        occurred_at: at,
                        rep: "rita".into(),
                        next_follow_up_at: None,
                    };
                    followup::log(tx, &input, at).map(|f| f.id)
                })
                .collect()
        })
        .unwrap()
}

/// The highest outbox entry the replica announced in its sidecar before sending a batch.
fn pushed_through(db: &std::path::Path) -> i64 {
    let side = switchboard_core::replica::identity::sidecar_path(db);
    std::fs::read_to_string(side)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["pushed_through"].as_i64())
        .unwrap_or(0)
}

/// Waits (up to 60 s) until `moved` holds or the child ends; true when the child still runs.
async fn wait_until(child: &mut std::process::Child, mut moved: impl FnMut() -> bool) -> bool {
    let started = std::time::Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        if moved() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    panic!("the sync neither progressed nor ended in 60 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_killed_mid_push_and_mid_pull_loses_nothing() {
    let mut server = ServerProcess::start();
    let mut rng = rand::rngs::StdRng::seed_from_u64(10);
    let mut mona = Replica::login(&server.url(), &server.fingerprint, "mona").await;
    let leads: Vec<String> = (0..3)
        .map(|i| {
            mona.add_lead(
                &format!("Person {i}"),
                &format!("person{i}@example.com"),
                &format!("+4930123456{i}"),
                "DE",
            )
        })
        .collect();
    mona.sync().await;
    let rita = CliReplica::login(
        &server.url(),
        &server.fingerprint,
        "rita",
        Some(support::NOW),
    );
    rita.sync();
    let db = rita.sandbox.db.clone();
    let mut logged = Vec::new();
    let mut cut_syncs = 0;

    // Mid-push: the server dies a random moment after rita announced a batch (the sidecar is
    // written just before the batch is sent).
    for round in 0..4 {
        let n = rng.random_range(300..700);
        logged.extend(log_calls(&db, &leads, n, round));
        let before = pushed_through(&db);
        let mut child = rita.sandbox.command(&["sync"]).spawn().unwrap();
        if wait_until(&mut child, || pushed_through(&db) > before).await {
            tokio::time::sleep(Duration::from_millis(rng.random_range(0..40))).await;
            server.kill();
        }
        let status = child.wait().unwrap();
        if !status.success() {
            cut_syncs += 1;
        }
        server.kill();
        server.restart();
        rita.sync();
        assert_eq!(rita.status()["pending"], 0);
    }
    assert!(
        cut_syncs >= 2,
        "the server died under a push ({cut_syncs} of 4)"
    );

    // Mid-pull: mona adds enough for several pages; rita has nothing to push, so a server that
    // dies while her sync still runs (after its start-up) dies under the pull.
    for i in 0..2_000 {
        mona.clock.set(monday());
        mona.add_lead(
            &format!("Bulk Person {i}"),
            &format!("bulk{i}@example.com"),
            &format!("+4930{:07}", 2_000_000 + i),
            "DE",
        );
    }
    mona.sync().await;
    let mut pull_cuts = 0;
    for _ in 0..10 {
        let before = cursor_of(&db);
        let started = std::time::Instant::now();
        let mut child = rita.sandbox.command(&["sync"]).spawn().unwrap();
        tokio::time::sleep(Duration::from_millis(rng.random_range(60..300))).await;
        let running = child.try_wait().unwrap().is_none();
        server.kill();
        let done = child.wait().unwrap().success();
        if running && !done {
            pull_cuts += 1;
        }
        eprintln!(
            "pull attempt: {:?}, cursor {before} -> {}, {}",
            started.elapsed(),
            cursor_of(&db),
            if done { "finished" } else { "cut" }
        );
        server.restart();
        assert!(cursor_of(&db) >= before, "the cursor never goes back");
        if done {
            break;
        }
    }
    assert!(pull_cuts >= 1, "the server died under a pull");
    rita.sync();
    mona.sync().await;

    logged.sort();
    assert_eq!(
        server_strings(
            &server.data_dir(),
            "SELECT id FROM record WHERE kind = 'follow_up'"
        ),
        logged,
        "every call is on the server exactly once"
    );
    assert_eq!(rita.follow_up_ids(), logged);
    assert_eq!(mona.follow_up_ids(), logged);
    assert_eq!(
        rita.strings("SELECT id FROM lead ORDER BY id"),
        cli_replica::strings_at(&mona.path, "SELECT id FROM lead ORDER BY id")
    );
    assert_eq!(rita.status()["pending"], 0);
    assert_eq!(rita.sandbox.integrity(), "ok");
    eprintln!("{cut_syncs} pushes and {pull_cuts} pulls cut by a SIGKILLed server");
}
