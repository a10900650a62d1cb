//! The apply side of a first sync on its own: replays pages that `sync_bench` wrote
//! (`SYNC_BENCH_DUMP=FILE`) into fresh replica files as the sync engine applies them (batches
//! of pages per transaction, the pull's checkpoint setting), against the raw insert of the same
//! rows in the same run. No server, no network: for profiling the replica's write path. Each run
//! applies the pages twice: keeping every index up to date (before issue 14) and in bulk, the
//! deferred indexes built after the load (`replica::bulk`, a fresh replica's first sync).
//!
//! `cargo run --release -p switchboard-tests --example apply_bench -- FILE [RUNS]`;
//! `APPLY_BENCH_ONLY=bulk` (or `rows`) runs one of the two ways, for a profiler.
//! `APPLY_BENCH_READER=1` keeps a second connection of the same process reading leads by rowid
//! while the pages are applied, as the window reads beside its sync worker, and prints how many
//! reads it made and how long they took. `APPLY_BENCH_READER=late` opens that connection's store
//! 2 s into the load instead, as a job opened during a first sync does (before the load's lock,
//! that opening built the set-aside indexes there and then).

#[path = "replay.rs"]
mod replay;

use replay::{apply_in_batches, apply_in_bulk, median, raw_insert};
use std::time::Instant;
use switchboard_core::replica::{self, PageBatch};
use switchboard_core::Store;
use switchboard_protocol::ChangesPage;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).expect("usage: apply_bench FILE [RUNS]");
    let runs: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(3);
    let pages: Vec<ChangesPage> = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let changes: usize = pages.iter().map(|p| p.changes.len()).sum();
    let (mut apply_rates, mut bulk_rates, mut raw_rates) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        for bulk in [false, true] {
            if std::env::var("APPLY_BENCH_ONLY")
                .is_ok_and(|only| only != (if bulk { "bulk" } else { "rows" }))
            {
                continue;
            }
            let dir = tempfile::tempdir().unwrap();
            let replica_path = dir.path().join("replica.db");
            let mut store = Store::open(&replica_path, None).unwrap();
            let reader =
                std::env::var_os("APPLY_BENCH_READER").map(|_| Reader::start(&replica_path));
            let start = Instant::now();
            let before = replica::apply::widen_checkpoints(store.conn()).unwrap();
            if bulk {
                apply_in_bulk(store.conn_mut(), &pages);
            } else {
                apply_in_batches(PageBatch::new(store.conn_mut()), &pages);
            }
            replica::apply::restore_checkpoints(store.conn(), before, true).unwrap();
            let secs = start.elapsed().as_secs_f64();
            if let Some(reader) = reader {
                reader.stop();
            }
            let (raw_secs, rows) = raw_insert(&replica_path);
            if bulk {
                bulk_rates.push(rows as f64 / secs);
            } else {
                apply_rates.push(rows as f64 / secs);
            }
            raw_rates.push(rows as f64 / raw_secs);
            eprintln!(
                "applied {changes} changes ({rows} rows) {} in {secs:.2}s; raw insert in {raw_secs:.2}s",
                if bulk { "in bulk" } else { "row by row" }
            );
        }
    }
    // A way left out by `APPLY_BENCH_ONLY` reads as 0.
    let median_or_zero = |v: Vec<f64>| if v.is_empty() { 0.0 } else { median(v) };
    let (apply, bulk, raw) = (
        median_or_zero(apply_rates),
        median_or_zero(bulk_rates),
        median(raw_rates),
    );
    println!(
        "apply_rows_per_s={apply:.0} bulk_rows_per_s={bulk:.0} raw_insert_rows_per_s={raw:.0} ratio={:.3} bulk_ratio={:.3}",
        apply / raw,
        bulk / raw
    );
}

/// A second connection, opened before the load, reading leads at scattered rowids in a loop on
/// its own thread.
struct Reader {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<Vec<f64>>,
}

impl Reader {
    fn start(path: &std::path::Path) -> Reader {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        let late = std::env::var("APPLY_BENCH_READER").as_deref() == Ok("late");
        let early = (!late).then(|| Store::open(path, None).unwrap());
        let path = path.to_path_buf();
        let thread = std::thread::spawn(move || {
            let store = early.unwrap_or_else(|| {
                std::thread::sleep(std::time::Duration::from_secs(2));
                let opening = Instant::now();
                let store = Store::open(&path, None).unwrap();
                eprintln!(
                    "reader: store opened 2 s into the load in {:.2}s",
                    opening.elapsed().as_secs_f64()
                );
                store
            });
            let mut lookup = store
                .conn()
                .prepare("SELECT name FROM lead WHERE rowid = ?1")
                .unwrap();
            let mut times = Vec::new();
            let mut rowid: i64 = 1;
            while !stopped.load(std::sync::atomic::Ordering::Relaxed) {
                // Scattered over the first 100,000 rowids (a multiplicative step).
                rowid = rowid * 48_271 % 100_003;
                let t = Instant::now();
                let _: Option<String> = lookup.query_row([rowid], |r| r.get(0)).unwrap_or(None);
                times.push(t.elapsed().as_secs_f64() * 1e6);
            }
            times
        });
        Reader { stop, thread }
    }

    fn stop(self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let mut times = self.thread.join().unwrap();
        let reads = times.len();
        times.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let at = |q: f64| {
            times
                .get(((reads as f64 - 1.0) * q) as usize)
                .copied()
                .unwrap_or(0.0)
        };
        eprintln!(
            "reader: {reads} lead reads meanwhile, p50 {:.1} µs, p99 {:.1} µs",
            at(0.5),
            at(0.99)
        );
    }
}
