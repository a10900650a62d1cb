//! Figure of issue 14 (docs/BENCHMARKS.md; not a timed test): a change on one laptop visible on
//! another online laptop, both running `switchboard sync --watch` as real processes against a
//! real `switchboard-server` on 127.0.0.1 (SQLite store). WRITES follow-ups are logged one after
//! the other on rita's laptop with the `switchboard` command; each is timed from the command's
//! return (its write committed) until it is in mona's file. Measured twice in the same run:
//! with the live stream (protocol 4) and with `SWITCHBOARD_LIVE=off` (the polling of protocol
//! 3: long-poll, outbox looked at every 500 ms). Also prints each watcher's CPU time while idle.
//!
//! `cargo build -p switchboard-cli -p switchboard-server --bins && cargo run -p
//! switchboard-tests --example live_bench -- [WRITES]` (default 120, at least 100).

#[path = "../support/cli_replica.rs"]
mod cli_replica;
#[path = "../support/server_process.rs"]
mod server_process;
#[path = "../support/mod.rs"]
mod support;
#[path = "../support/sync.rs"]
mod sync_support;
#[path = "../support/watcher.rs"]
mod watcher;

use cli_replica::CliReplica;
use server_process::ServerProcess;
use std::time::{Duration, Instant};
use watcher::{laptops_sharing_one_lead, Watcher};

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// User + system CPU time of a process so far.
fn cpu_time(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which may hold spaces) closed by ')'.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // Counted in USER_HZ, 100 a second on Linux.
    Duration::from_millis(ticks * 10)
}

/// Logs `writes` follow-ups on rita's laptop and returns how long each took to reach mona's.
fn measure(
    rita: &CliReplica,
    mona: &CliReplica,
    lead: &str,
    writes: usize,
    tag: &str,
) -> Vec<Duration> {
    let conn = switchboard_test_support::open_sqlite(
        &mona.sandbox.db,
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    );
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    let mut took: Vec<Duration> = (0..writes)
        .map(|i| {
            let id = rita.call(lead, &format!("{tag} {i}"));
            let written = Instant::now();
            loop {
                let n: i64 = conn
                    .query_row("SELECT COUNT(*) FROM follow_up WHERE id = ?1", [&id], |r| {
                        r.get(0)
                    })
                    .unwrap();
                if n > 0 {
                    break written.elapsed();
                }
                assert!(
                    written.elapsed() < Duration::from_secs(30),
                    "{tag} write {i} did not reach mona within 30 s"
                );
                std::thread::sleep(Duration::from_millis(1));
            }
        })
        .collect();
    took.sort();
    took
}

fn summary(took: &[Duration]) -> String {
    let pct = |p: f64| took[((took.len() as f64 * p).ceil() as usize).clamp(1, took.len()) - 1];
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
    format!(
        "{} writes; min {}, p50 {}, p90 {}, p99 {}, max {}",
        took.len(),
        ms(took[0]),
        ms(pct(0.50)),
        ms(pct(0.90)),
        ms(pct(0.99)),
        ms(*took.last().unwrap())
    )
}

/// CPU time the two watchers spend over `window` with nothing to do.
fn idle_cpu(watchers: &[Watcher], window: Duration) -> Duration {
    let before: Duration = watchers.iter().map(|c| cpu_time(c.id())).sum();
    std::thread::sleep(window);
    let after: Duration = watchers.iter().map(|c| cpu_time(c.id())).sum();
    (after - before) / watchers.len() as u32
}

fn main() {
    let writes: usize = std::env::args()
        .nth(1)
        .map(|n| n.parse().expect("WRITES is a number"))
        .unwrap_or(120)
        .max(100);
    let server = ServerProcess::start();
    let (rita, mona, lead) = laptops_sharing_one_lead(
        &server,
        "Bench Person,bench@example.com,+49 30 5550199,DE,demo,2026-03-01T10:00:00Z",
    );

    let idle_window = Duration::from_secs(10);
    let mut results = Vec::new();
    for (live, tag) in [
        (true, "live stream"),
        (false, "polling (SWITCHBOARD_LIVE=off)"),
    ] {
        let logs = tempfile::tempdir().unwrap();
        let watchers = vec![
            Watcher::start_with(&rita, logs.path().join("rita.log"), live),
            Watcher::start_with(&mona, logs.path().join("mona.log"), live),
        ];
        std::thread::sleep(Duration::from_secs(3));
        let idle = idle_cpu(&watchers, idle_window);
        let before = load_average();
        let took = measure(&rita, &mona, &lead, writes, tag);
        let after = load_average();
        watchers.into_iter().for_each(Watcher::finish);
        results.push((tag, took, idle, before, after));
    }
    server.assert_no_panic();
    let p = |took: &[Duration], q: f64| {
        took[((took.len() as f64 * q).ceil() as usize).clamp(1, took.len()) - 1].as_secs_f64()
    };
    for (tag, took, idle, before, after) in &results {
        println!(
            "{tag}: {}; idle CPU per watcher {:.0} ms in {} s; load average before {before}, \
             after {after}",
            summary(took),
            idle.as_secs_f64() * 1000.0,
            idle_window.as_secs()
        );
    }
    let (live, polling) = (&results[0].1, &results[1].1);
    println!(
        "live / polling: p50 {:.3}, p99 {:.3}",
        p(live, 0.5) / p(polling, 0.5),
        p(live, 0.99) / p(polling, 0.99)
    );
}
