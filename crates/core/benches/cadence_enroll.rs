//! Issue 12's figure (docs/BENCHMARKS.md): enrolling 100,000 leads in a cadence at once, in one
//! transaction through `cadence::enrollment::enroll` — the function `switchboard cadence enroll`
//! calls. A plain binary, not a timed test:
//!
//! ```text
//! cargo bench -p switchboard-core --bench cadence_enroll
//! ```
//!
//! Environment: `SWITCHBOARD_BENCH_LEADS` (default 100000), `SWITCHBOARD_BENCH_RUNS` (default 3:
//! each run enrols every lead in a fresh cadence on the same database file).

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::params;
use std::sync::Arc;
use std::time::Instant;
use switchboard_core::cadence::{definition, enrollment, Step};
use switchboard_core::clock::{new_id, to_text};
use switchboard_core::{FixedClock, Store};

/// Monday 2 March 2026, 14:00 UTC.
fn bench_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 14, 0, 0).unwrap()
}

/// Countries with their zone (none for the multi-zone ones: the schedule checks every zone).
const PLACES: &[(&str, Option<&str>)] = &[
    ("DE", Some("Europe/Berlin")),
    ("GB", Some("Europe/London")),
    ("FR", Some("Europe/Paris")),
    ("US", None),
    ("CA", None),
    ("AU", None),
    ("JP", Some("Asia/Tokyo")),
    ("SA", Some("Asia/Riyadh")),
    ("BR", None),
    ("IN", Some("Asia/Kolkata")),
];

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let n = env_number("SWITCHBOARD_BENCH_LEADS", 100_000);
    let runs = env_number("SWITCHBOARD_BENCH_RUNS", 3);
    let dir = tempfile::tempdir().expect("a temporary folder");
    let path = dir.path().join("cadence-bench.db");
    let mut store = Store::open_with_clock(&path, None, Arc::new(FixedClock::at(bench_now())))
        .expect("the store");
    let at = bench_now();
    let fill = Instant::now();
    let ids: Vec<String> = store
        .with_tx(|tx| {
            let mut insert = tx.prepare(
                "INSERT INTO lead(id, name, email, phone, country, time_zone, status, created_at,
                                  last_registered_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'new', ?7, ?7)",
            )?;
            let mut ids = Vec::with_capacity(n);
            for i in 0..n {
                let id = new_id(at - chrono::Duration::seconds(i as i64));
                let (country, zone) = PLACES[i % PLACES.len()];
                insert.execute(params![
                    id,
                    format!("Lead {i}"),
                    format!("lead{i}@example.com"),
                    format!("+4930{i:07}"),
                    country,
                    zone,
                    to_text(at)
                ])?;
                ids.push(id);
            }
            Ok(ids)
        })
        .expect("filling the database");
    println!("{n} leads written in {:.2} s", fill.elapsed().as_secs_f64());
    let steps: Vec<Step> = [
        "call=Introduce the trial|connected,no_answer,voicemail",
        "wait=2",
        "email=recap",
        "wait=3",
        "call=Check in",
    ]
    .iter()
    .map(|s| definition::parse_step(s).expect("a step"))
    .collect();
    let mut times = Vec::new();
    for run in 0..runs {
        let name = format!("Bench {run}");
        store
            .with_tx(|tx| definition::save(tx, &name, &steps, "bench", at))
            .expect("the cadence");
        let started = Instant::now();
        let done = store
            .with_tx(|tx| enrollment::enroll(tx, &name, &ids, "bench", at))
            .expect("enrolling");
        let took = started.elapsed().as_secs_f64();
        assert_eq!(done.enrolled as usize, n, "{:?}", done.skipped.first());
        println!("run {}: enrolled {n} leads in {took:.2} s", run + 1);
        times.push(took);
    }
    times.sort_by(f64::total_cmp);
    println!(
        "median of {runs}: {:.2} s for {n} leads (goal: under 5 s)",
        times[times.len() / 2]
    );
}
