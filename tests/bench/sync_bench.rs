//! Sync benchmarks 1, 2 and 4 of issue 3 (results in docs/BENCHMARKS.md; not timed tests):
//!
//! 1. a fresh replica's first sync of L leads and 5·L follow-ups over HTTPS on loopback, in rows
//!    per second, against a raw SQLite insert of the same rows in the same run; the replica
//!    encrypted (SQLCipher, as the app keeps it) and plain in turn, with what the process wrote
//!    to disk (`/proc/self/io`) against the replica's final size (issue 14); and the first sync
//!    as before issue 14 (`SWITCHBOARD_FIRST_SYNC=replay`: every index kept up to date row by
//!    row) beside the bulk one (the deferred indexes built after the load), in the same run;
//! 2. an incremental sync of 100 changes into a replica holding 10,000 and 1,000,000 rows;
//! 4. bytes on the wire per follow-up (JSON bodies of push and pull).
//!
//! `cargo run --release -p switchboard-tests --example sync_bench -- [LEADS] [RUNS]`
//! (defaults: 100000 leads, 3 runs; medians are printed).
//!
//! `SWITCHBOARD_BENCH_SAVED=DIR` keeps the populated server (and the admin replica that pushed
//! the population) in `DIR/<LEADS>-leads/`: the first run with it populates as without and
//! saves there, later runs with the same LEADS start the server and that replica on copies
//! instead of populating (about ten minutes at 100,000 leads). Both start the server anew on
//! files at rest, so their figures compare; delete the folder after a change to what the
//! server or a replica stores (a migration), since a saved population keeps the old layout.
//! `SWITCHBOARD_BENCH_ONLY=2` skips benchmark 1 (the first syncs, minutes at 100,000 leads):
//! with a saved population a run of benchmarks 2 and 4 alone takes about a minute.
//! `SWITCHBOARD_BENCH_ONLY=fetch` only fetches and decodes every page of a first sync RUNS
//! times, without applying them: the server's page production and the client's decode.

#[path = "replay.rs"]
mod replay;
mod saved;
#[path = "../support/sync.rs"]
mod sync_support;

use replay::{apply_in_bulk, median, raw_insert};
use std::time::Instant;
use switchboard_core::clock::new_id;
use switchboard_protocol::{Change, ChangesPage, Op, PushRequest};
use sync_support::{monday, Hub, Replica};

/// Fills the server with `leads` leads and five calls each, pushed by an admin replica.
async fn populate(hub: &Hub, leads: usize) -> Replica {
    let mut ada = hub.replica("ada").await;
    for i in 0..leads {
        // Stay inside calling hours: the fixture's clock moves 7 s per action.
        ada.clock.set(monday());
        let lead = ada.add_lead(
            &format!("Bench Person {i}"),
            &format!("bench{i}@example.com"),
            &format!("+4930{:07}", 1_000_000 + i),
            "DE",
        );
        for c in 0..5 {
            ada.call(&lead, &format!("bench call {c}"));
        }
        if i % 2_000 == 1_999 {
            ada.sync().await;
        }
    }
    ada.sync().await;
    ada
}

/// Bytes this process has caused to be written to storage so far (`/proc/self/io`).
fn write_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/io")
        .ok()
        .and_then(|io| {
            io.lines()
                .find_map(|l| l.strip_prefix("write_bytes: ")?.trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Pages this connection wrote out of its page cache (`SQLITE_DBSTATUS_CACHE_WRITE`: into the
/// WAL at commit) and of those, the ones written mid-transaction because the cache was full of
/// dirty pages (`SQLITE_DBSTATUS_CACHE_SPILL`), since it opened.
fn cache_writes(conn: &rusqlite::Connection) -> (i32, i32) {
    let status = |op| {
        let (mut current, mut high) = (0, 0);
        // SAFETY: the handle is this open connection's, used on this thread only, and the
        // call only reads its counters into the two integers.
        let rc = unsafe {
            rusqlite::ffi::sqlite3_db_status(conn.handle(), op, &mut current, &mut high, 0)
        };
        assert_eq!(rc, rusqlite::ffi::SQLITE_OK);
        current
    };
    (
        status(rusqlite::ffi::SQLITE_DBSTATUS_CACHE_WRITE),
        status(rusqlite::ffi::SQLITE_DBSTATUS_CACHE_SPILL),
    )
}

/// Size of a replica: its database file plus what is left in its WAL.
fn file_size(db: &std::path::Path) -> u64 {
    let len = |p: &std::path::Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let mut wal = db.as_os_str().to_os_string();
    wal.push("-wal");
    len(db) + len(std::path::Path::new(&wal))
}

/// Adds `rows` follow-up rows (on filler leads) straight into a replica's file.
fn pad(replica: &Replica, rows: usize) {
    let conn = replica.store.conn();
    conn.execute_batch("BEGIN").unwrap();
    let lead = new_id(monday());
    conn.execute(
        "INSERT INTO lead(id, created_at, office) VALUES (?1, '2026-03-01T00:00:00.000Z', 'BER')",
        [&lead],
    )
    .unwrap();
    let mut stmt = conn
        .prepare(
            "INSERT INTO follow_up(id, lead_id, channel, direction, outcome, note, occurred_at, rep)
             VALUES (?1, ?2, 'phone', 'out', 'no_answer', 'filler', '2026-03-01T00:00:00.000Z', 'x')",
        )
        .unwrap();
    for i in 0..rows {
        stmt.execute([format!("pad-{i:09}"), lead.clone()]).unwrap();
    }
    drop(stmt);
    conn.execute_batch("COMMIT").unwrap();
}

/// A sync of `replica` that pulls at least the 100 changes just pushed; its milliseconds.
async fn timed_pull_ms(replica: &mut Replica) -> f64 {
    let start = Instant::now();
    let report = replica.sync().await;
    assert!(report.pulled >= 100, "{report:?}");
    start.elapsed().as_secs_f64() * 1000.0
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let leads: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let runs: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(3);
    // Holds the server's data folder and ada's replica when a saved population is involved.
    let work = tempfile::tempdir().unwrap();
    let populate_start = Instant::now();
    let saved = saved::folder(leads);
    let (hub, ada) = match &saved {
        Some(dir) if dir.exists() => {
            let (hub, ada) = saved::reuse(dir, work.path()).await;
            eprintln!(
                "reused the population of {leads} leads saved in {} (copied and started in {:.1}s)",
                dir.display(),
                populate_start.elapsed().as_secs_f64()
            );
            (hub, ada)
        }
        _ => {
            let hub = match saved {
                Some(_) => saved::fresh_hub(work.path()).await,
                None => Hub::start().await,
            };
            let ada = populate(&hub, leads).await;
            eprintln!(
                "populated {leads} leads, {} follow-ups in {:.1}s",
                leads * 5,
                populate_start.elapsed().as_secs_f64()
            );
            match &saved {
                Some(dir) => saved::save(dir, hub, ada).await,
                None => (hub, ada),
            }
        }
    };

    let only = std::env::var("SWITCHBOARD_BENCH_ONLY").unwrap_or_default();
    if only == "fetch" {
        // The server's page production and the client's decode alone, without an apply.
        let mut secs = Vec::new();
        for run in 0..runs {
            let (pages, s) = fetch_all(&hub).await;
            eprintln!("fetch+decode run {run}: {} pages in {s:.2}s", pages.len());
            secs.push(s);
        }
        println!(
            "fetch_decode_s per_run={secs:.2?} median={:.2}",
            median(secs.clone())
        );
        return;
    }
    if only == "2" {
        eprintln!("SWITCHBOARD_BENCH_ONLY=2: benchmark 1 (first syncs) skipped");
    } else {
        first_syncs(&hub, leads, runs).await;
    }

    // 2. Incremental sync of 100 changes at two database sizes.
    let mut ada = ada;
    for size in [10_000usize, 1_000_000] {
        let mut times = Vec::new();
        let mut replica = hub.replica("mona").await;
        replica.sync().await;
        let held = replica.count("SELECT count(*) FROM follow_up") as usize;
        pad(&replica, size.saturating_sub(held));
        let lead = ada
            .store
            .conn()
            .query_row("SELECT id FROM lead LIMIT 1", [], |r| r.get::<_, String>(0))
            .unwrap();
        for run in 0..runs.max(3) {
            ada.clock.set(monday());
            for c in 0..100 {
                ada.call(&lead, &format!("incremental {run}-{c}"));
            }
            let own = ada.sync().await;
            // Protocol 4: the pushing replica does not pull its own 100 calls back.
            if run == 0 {
                println!(
                    "bench4 own_changes_pulled_back={} of {} pushed",
                    own.pulled, own.pushed
                );
            }
            times.push(timed_pull_ms(&mut replica).await);
        }
        let rows = replica.count("SELECT count(*) FROM follow_up");
        println!(
            "bench2 rows={rows} incremental_100_changes_ms_median={:.1}",
            median(times)
        );
        // The same replica pulling 100 new leads (registrations arriving at another laptop).
        let mut times = Vec::new();
        for run in 0..runs.max(3) {
            ada.clock.set(monday());
            for n in 0..100 {
                ada.add_lead(
                    &format!("Incremental Person {size}-{run}-{n}"),
                    &format!("incremental-{size}-{run}-{n}@example.com"),
                    &format!("+4940{:07}", 1_000_000 + size / 1000 * 1000 + run * 100 + n),
                    "DE",
                );
            }
            ada.sync().await;
            times.push(timed_pull_ms(&mut replica).await);
        }
        let leads_now = replica.count("SELECT count(*) FROM lead");
        println!(
            "bench2 rows={rows} leads={leads_now} incremental_100_new_leads_ms_median={:.1}",
            median(times)
        );
    }

    // 4. Bytes per follow-up on the wire (JSON bodies; TLS and HTTP headers excluded).
    let ops: Vec<(i64, Op)> = ada
        .store
        .conn()
        .prepare("SELECT id FROM follow_up LIMIT 100")
        .unwrap()
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(|id| id.unwrap())
        .enumerate()
        .map(|(i, id)| {
            let f = switchboard_core::replica::materialize::follow_up(ada.store.conn(), &id)
                .unwrap()
                .unwrap();
            (i as i64, Op::FollowUpLogged(f))
        })
        .collect();
    let push = PushRequest::of_entries(new_id(monday()), &ops);
    let page = ChangesPage {
        changes: ops
            .iter()
            .map(|(seq, op)| Change {
                server_seq: 1_000_000 + seq,
                op: op.clone(),
            })
            .collect(),
        next_cursor: 1_000_100,
        has_more: false,
        role: None,
        head_cursor: None,
    };
    let push_bytes = serde_json::to_vec(&push).unwrap().len() as f64 / ops.len() as f64;
    let pull_bytes = serde_json::to_vec(&page).unwrap().len() as f64 / ops.len() as f64;
    println!(
        "bench4 push_bytes_per_follow_up={push_bytes:.0} pull_bytes_per_follow_up={pull_bytes:.0}"
    );
}

/// Every page of a fresh replica's first sync fetched into memory (server, TLS, decoding), and
/// how long that took.
async fn fetch_all(hub: &Hub) -> (Vec<ChangesPage>, f64) {
    let fresh = hub.replica("mona").await;
    let start = Instant::now();
    let mut pages = Vec::new();
    let mut cursor = 0;
    loop {
        let page = fresh
            .client
            .pull(&fresh.token, cursor, switchboard_protocol::MAX_PAGE, 0)
            .await
            .unwrap();
        cursor = page.next_cursor;
        let more = page.has_more;
        pages.push(page);
        if !more {
            break;
        }
    }
    (pages, start.elapsed().as_secs_f64())
}

/// Benchmark 1: first syncs (encrypted, plain, replayed) against a raw insert, and their phases.
/// `SWITCHBOARD_BENCH_ONE_THREAD=1` adds, to each run of benchmark 1, a plain bulk first sync on a
/// current-thread runtime (what `switchboard sync` ran on until it got two workers): the pull of
/// the next page only moves while the apply of the last one waits.
const ONE_THREAD_VAR: &str = "SWITCHBOARD_BENCH_ONE_THREAD";

/// A plain bulk first sync of a fresh replica on its own current-thread runtime; its seconds.
async fn first_sync_on_one_thread(hub: &Hub) -> f64 {
    std::env::set_var(switchboard_sync::engine::FIRST_SYNC_VAR, "bulk");
    let (url, fingerprint) = (hub.server.url.clone(), hub.server.fingerprint.clone());
    tokio::task::spawn_blocking(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut fresh = Replica::login_keyed(&url, &fingerprint, "mona", None).await;
            let start = Instant::now();
            fresh.sync().await;
            start.elapsed().as_secs_f64()
        })
    })
    .await
    .unwrap()
}

async fn first_syncs(hub: &Hub, leads: usize, runs: usize) {
    // 1. First sync vs raw insert; the replica encrypted (SQLCipher, as the app keeps it) and
    // plain in turn, and what the process wrote to disk during each against the file's size;
    // then, plain, the first sync as before issue 14 (every index kept up to date row by row).
    let mut sync_rates = Vec::new();
    let mut replay_rates = Vec::new();
    let mut raw_rates = Vec::new();
    let mut secs_encrypted = Vec::new();
    let mut secs_plain = Vec::new();
    let mut secs_replay = Vec::new();
    let mut written_ratios = Vec::new();
    let mut written_replay = Vec::new();
    let mut secs_one_thread = Vec::new();
    let one_thread = std::env::var_os(ONE_THREAD_VAR).is_some();
    let key = sync_support::test_key();
    // The server keeps each change it opened for a pull (the delivery cache): the first sync
    // after populating opens them all, later ones are served from memory. One untimed sync
    // first, so every timed one finds the server in the same state (with
    // SWITCHBOARD_DELIVERY_CACHE_MB=0 every one opens them all).
    std::env::set_var(switchboard_sync::engine::FIRST_SYNC_VAR, "bulk");
    let warm_start = Instant::now();
    Replica::login_keyed(&hub.server.url, &hub.server.fingerprint, "mona", None)
        .await
        .sync()
        .await;
    eprintln!(
        "warm-up first sync (untimed in the figures): {:.2}s",
        warm_start.elapsed().as_secs_f64()
    );
    for run in 0..runs {
        // The replayed sync writes about 2 GB at 100,000 leads, which the kernel is still
        // writing back when the next run's first sync starts: the encrypted and the plain sync
        // take turns at going first, so neither is always the one that waits for it.
        let order = if run % 2 == 0 {
            [(true, false), (false, false), (false, true)]
        } else {
            [(false, false), (true, false), (false, true)]
        };
        for (encrypted, replay) in order {
            // Read by the engine when a pull starts; nothing else runs meanwhile.
            std::env::set_var(
                switchboard_sync::engine::FIRST_SYNC_VAR,
                if replay { "replay" } else { "bulk" },
            );
            let mut fresh = Replica::login_keyed(
                &hub.server.url,
                &hub.server.fingerprint,
                "mona",
                encrypted.then_some(&key),
            )
            .await;
            let written_before = write_bytes();
            let start = Instant::now();
            let report = fresh.sync().await;
            let secs = start.elapsed().as_secs_f64();
            let written = write_bytes().saturating_sub(written_before);
            let size = file_size(&fresh.path);
            let (pages_written, spilled) = cache_writes(fresh.store.conn());
            let rows = fresh
                .count("SELECT (SELECT count(*) FROM lead) + (SELECT count(*) FROM follow_up)");
            let ratio = written as f64 / size as f64;
            eprintln!(
                "first sync ({}{}): {rows} rows ({} changes) in {secs:.2}s; wrote {:.0} MB for a {:.0} MB replica ({ratio:.2}x); {} commits, {pages_written} pages out of the cache ({:.0} MB, {spilled} spilled mid-transaction)",
                if encrypted { "encrypted" } else { "plain" },
                if replay { ", replayed as before" } else { ", bulk" },
                report.pulled,
                written as f64 / 1e6,
                size as f64 / 1e6,
                report.commits,
                pages_written as f64 * 4096.0 / 1e6,
            );
            if replay {
                secs_replay.push(secs);
                replay_rates.push(rows as f64 / secs);
                written_replay.push(ratio);
                continue;
            }
            written_ratios.push(ratio);
            if encrypted {
                secs_encrypted.push(secs);
                continue;
            }
            // The ratios compare plain files: the replayed sync and the raw insert are plain.
            sync_rates.push(rows as f64 / secs);
            secs_plain.push(secs);
            // The raw copy reads the plain file (it attaches the source without a key).
            let (raw_secs, raw_rows) = raw_insert(&fresh.path);
            raw_rates.push(raw_rows as f64 / raw_secs);
            eprintln!("raw insert {raw_rows} rows in {raw_secs:.2}s");
        }
        if one_thread {
            let secs = first_sync_on_one_thread(hub).await;
            eprintln!("first sync (plain, bulk, on a current-thread runtime): {secs:.2}s");
            secs_one_thread.push(secs);
        }
    }
    std::env::remove_var(switchboard_sync::engine::FIRST_SYNC_VAR);
    // Issue 13's figure: each run's encrypted first sync over its plain one (same run, same
    // server, back to back), the median of those ratios.
    let per_run: Vec<f64> = secs_encrypted
        .iter()
        .zip(&secs_plain)
        .map(|(e, p)| e / p)
        .collect();
    println!(
        "bench1 encrypted_over_plain_per_run={per_run:.3?} median={:.3}",
        median(per_run.clone())
    );
    println!(
        "bench1 first_sync_s_median encrypted={:.2} plain={:.2} replayed={:.2} encrypted_over_plain={:.3} written_over_size_median={:.2} replayed_written_over_size_median={:.2}",
        median(secs_encrypted.clone()),
        median(secs_plain.clone()),
        median(secs_replay),
        median(secs_encrypted) / median(secs_plain.clone()),
        median(written_ratios),
        median(written_replay)
    );
    if one_thread {
        let per_run: Vec<f64> = secs_one_thread
            .iter()
            .zip(&secs_plain)
            .map(|(one, two)| one / two)
            .collect();
        println!(
            "bench1 one_thread_plain_s_median={:.2} two_workers_plain_s_median={:.2} one_over_two_per_run={per_run:.3?} median={:.3}",
            median(secs_one_thread),
            median(secs_plain.clone()),
            median(per_run.clone())
        );
    }
    // Where the time of a first sync goes: the same pages fetched into memory only (server,
    // TLS, JSON decoding), then applied to another fresh replica without the network.
    {
        let (pages, fetch) = fetch_all(hub).await;
        // The pages can be kept for `apply_bench`, which replays them without the server.
        if let Ok(path) = std::env::var("SYNC_BENCH_DUMP") {
            let body = serde_json::to_vec(&pages).unwrap();
            std::fs::write(&path, body).unwrap();
            eprintln!("pages written to {path}");
        }
        // The client's share of the fetch: the same pages in the packed form the server sends,
        // decoded step by step as the client did before issue 14's direct reader (zstd with the
        // dictionary, MessagePack into a JSON tree, the tree into a `ChangesPage`), then as it
        // does now (MessagePack straight into the pages); and what writing that form costs.
        {
            use switchboard_protocol::packed;
            let start = Instant::now();
            let bodies: Vec<Vec<u8>> = pages.iter().map(packed::encode).collect();
            let encode = start.elapsed().as_secs_f64();
            let start = Instant::now();
            let unzstd: Vec<Vec<u8>> = bodies
                .iter()
                .map(|b| packed::decompress(b, 1 << 30).unwrap())
                .collect();
            let decompress = start.elapsed().as_secs_f64();
            let start = Instant::now();
            let trees: Vec<serde_json::Value> =
                unzstd.iter().map(|b| packed::unpack(b).unwrap()).collect();
            let unpack = start.elapsed().as_secs_f64();
            let start = Instant::now();
            let decoded: Vec<ChangesPage> = trees
                .into_iter()
                .map(|t| serde_json::from_value(t).unwrap())
                .collect();
            let shape = start.elapsed().as_secs_f64();
            assert_eq!(decoded.len(), pages.len());
            // What the client does now: MessagePack straight into the pages (issue 14).
            let start = Instant::now();
            let direct: Vec<ChangesPage> = unzstd
                .iter()
                .map(|b| packed::unpack_as(b).unwrap())
                .collect();
            let straight = start.elapsed().as_secs_f64();
            assert!(
                direct == decoded,
                "the direct reader gives the tree path's pages"
            );
            eprintln!(
                "client decode of the {} packed pages ({:.1} MB): zstd {decompress:.2}s, MessagePack to tree {unpack:.2}s, tree to pages {shape:.2}s; MessagePack straight to pages {straight:.2}s ({:.1}x faster than by the tree); packed::encode of them {encode:.2}s",
                pages.len(),
                bodies.iter().map(Vec::len).sum::<usize>() as f64 / 1e6,
                (unpack + shape) / straight
            );
        }
        let mut target = hub.replica("mona").await;
        let start = Instant::now();
        // As the engine applies a fresh replica's pages that arrive back to back: in batches,
        // the deferred indexes built after the last.
        apply_in_bulk(target.store.conn_mut(), &pages);
        let apply = start.elapsed().as_secs_f64();
        eprintln!(
            "phases: fetch+decode {} pages in {fetch:.2}s; apply in {apply:.2}s",
            pages.len()
        );
    }
    let (sync_rate, raw_rate) = (median(sync_rates), median(raw_rates));
    let replay_rate = median(replay_rates);
    println!(
        "bench1 leads={leads} follow_ups={} first_sync_rows_per_s={sync_rate:.0} replayed_rows_per_s={replay_rate:.0} raw_insert_rows_per_s={raw_rate:.0} ratio={:.3} replayed_ratio={:.3} bulk_over_replayed={:.2}",
        leads * 5,
        sync_rate / raw_rate,
        replay_rate / raw_rate,
        sync_rate / replay_rate
    );
}
