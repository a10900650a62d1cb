//! Figure of issue 12 (docs/BENCHMARKS.md; not a timed test): a reply or opt-out recorded on
//! laptop A stops the cadence on online laptop B, both running `switchboard sync --watch`
//! against a real `switchboard-server` on 127.0.0.1. Prints the latency percentiles over STOPS
//! stops (at least 50) and the load average before and after.
//!
//! `cargo build --workspace --bins && cargo run -p switchboard-tests --example
//! cadence_stop_bench -- [STOPS]` (default 60).

#[path = "../support/cli_replica.rs"]
mod cli_replica;
#[path = "../support/server_process.rs"]
mod server_process;
#[path = "../support/mod.rs"]
mod support;
#[path = "../support/sync.rs"]
mod sync_support;
#[path = "../support/watch_stops.rs"]
mod watch_stops;
#[path = "../support/watcher.rs"]
mod watcher;

use std::time::Duration;
use watch_stops::Office;

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn main() {
    let stops: usize = std::env::args()
        .nth(1)
        .map(|n| n.parse().expect("STOPS is a number"))
        .unwrap_or(60)
        .max(50);
    let office = Office::start(stops);
    // Let both watchers settle into their long-polls.
    std::thread::sleep(Duration::from_secs(2));
    let before = load_average();
    let mut took: Vec<Duration> = (0..stops)
        .map(|i| {
            office
                .stop_and_wait(i, Duration::from_secs(30))
                .unwrap_or_else(|| panic!("stop {i} did not reach the owner within 30 s"))
        })
        .collect();
    let after = load_average();
    office.finish();
    took.sort();
    let pct = |p: f64| took[((took.len() as f64 * p).ceil() as usize).clamp(1, took.len()) - 1];
    let ms = |d: Duration| format!("{:.0} ms", d.as_secs_f64() * 1000.0);
    println!(
        "cadence stops reaching the online owner: {} stops; p50 {}, p90 {}, p99 {}, max {}; \
         load average before {before}, after {after}",
        took.len(),
        ms(pct(0.50)),
        ms(pct(0.90)),
        ms(pct(0.99)),
        ms(*took.last().unwrap()),
    );
}
