//! The replica encrypted (SQLCipher) against unencrypted, side by side in one run (issue 13,
//! "Encrypted at rest"): a 100,000-row import, `queue next` as a rep moving through the queue
//! makes it (each lead worked, then passed on), with the WAL pages each call wrote, a claim and
//! a release as two commits, a 50-lead page and full-text search, each on a database of each
//! kind built from the same CSV. Rounds alternate which kind goes first, and the figures are
//! medians over the rounds.
//!
//! `cargo bench -p switchboard-core --bench encryption`
//! SWITCHBOARD_BENCH_ROWS=100000  SWITCHBOARD_BENCH_ROUNDS=3  SWITCHBOARD_BENCH_RUNS=300
//! SWITCHBOARD_BENCH_CACHE_MIB=0 (a page cache of that size instead of the store's)

use chrono::{DateTime, TimeZone, Utc};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;
use switchboard_core::import::{import_file, ImportOptions};
use switchboard_core::queue::{self, QueueSettings};
use switchboard_core::{demo, search, DatabaseKey, FixedClock, Store};

/// 14:00 UTC on the Monday after the generated registrations end: within calling hours for
/// most of them.
fn bench_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 14, 0, 0).unwrap()
}

fn env_usize(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap());
    values[values.len() / 2]
}

/// The median wall time of `runs` calls of `f` in µs, after a short warm-up.
fn time_us(runs: usize, mut f: impl FnMut(usize)) -> f64 {
    for i in 0..runs.min(20) {
        f(i);
    }
    let mut wall: Vec<f64> = (0..runs)
        .map(|i| {
            let t = Instant::now();
            f(i);
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    median(&mut wall)
}

/// What one database of one kind measured in one round.
#[derive(Default)]
struct Figures {
    import_s: f64,
    claim_release_us: f64,
    next_us: f64,
    next_dealt_us: f64,
    next_served_us: f64,
    next_wal_pages: f64,
    page_us: f64,
    search_us: f64,
    size_mib: f64,
}

/// One figure of a round's `Figures`.
type Pick = fn(&Figures) -> f64;

fn remove(db: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
}

fn measure(csv: &Path, db: &Path, key: Option<&DatabaseKey>, runs: usize) -> Figures {
    remove(db);
    let clock = Arc::new(FixedClock::at(bench_now()));
    let mut store = Store::open_with_clock(db, key, clock).expect("opening the bench database");
    // A diagnosis, not a setting of the app: with a page cache that holds the whole file, no
    // call reads (and decrypts) a page it has not read before.
    let cache_mib = env_usize("SWITCHBOARD_BENCH_CACHE_MIB", 0);
    if cache_mib > 0 {
        store
            .conn()
            .pragma_update(None, "cache_size", -((cache_mib * 1024) as i64))
            .unwrap();
    }
    let started = Instant::now();
    let report = import_file(&mut store, csv, &ImportOptions::default(), &mut |_| {})
        .expect("the import runs");
    let import_s = started.elapsed().as_secs_f64();
    assert!(report.counts.created > 0, "the import created leads");
    let conn = store.conn();
    let now = bench_now();
    let settings = QueueSettings::default();
    let claim_release_us = time_us(runs, |_| {
        let n = queue::next(conn, "new", "bench-rep", now, &settings)
            .unwrap()
            .expect("the new queue has leads");
        queue::release(conn, &n.lead.id, "bench-rep").unwrap();
    });
    // The rep moving through the queue: each lead handed out is worked (its status changes, as
    // logging a call does, outside the timed part) and passed on, a second later each call.
    // The WAL is emptied first and not checkpointed again until the end, so it only grows and
    // its frames (a page and a 24-byte header each, after a 32-byte file header) count the pages
    // the calls wrote.
    conn.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .unwrap();
    let wal = std::path::PathBuf::from(format!("{}-wal", db.display()));
    let wal_frames = || -> i64 {
        // The page size is in the WAL's header (bytes 8..12, big-endian).
        use std::io::Read;
        let mut header = [0u8; 12];
        let Ok(mut file) = std::fs::File::open(&wal) else {
            return 0;
        };
        let len = file.metadata().map_or(0, |m| m.len());
        if len < 32 || file.read_exact(&mut header).is_err() {
            return 0;
        }
        let page = u64::from(u32::from_be_bytes(header[8..12].try_into().unwrap()));
        ((len - 32) / (page + 24)) as i64
    };
    let mut held: Option<String> = None;
    // Calls that wrote (the WAL grew: a hand was dealt) and calls served without writing are
    // timed apart; the cost per lead handed out is their medians weighted by how often each
    // happened, which a few slow outliers on a loaded machine do not skew as they do a mean.
    let (mut served, mut dealt) = (Vec::with_capacity(runs), Vec::new());
    let mut call_frames = 0;
    for i in 0..runs + 20 {
        if let Some(id) = &held {
            conn.execute("UPDATE lead SET status = 'working' WHERE id = ?1", [id])
                .unwrap();
        }
        let at = now + chrono::Duration::seconds(i as i64 + 1);
        let before = wal_frames();
        let t = Instant::now();
        let n = queue::next_after(conn, "new", "bench-rep", held.as_deref(), at, &settings)
            .unwrap()
            .expect("the new queue has leads");
        let us = t.elapsed().as_secs_f64() * 1e6;
        let wrote = wal_frames() - before;
        if i >= 20 {
            call_frames += wrote;
            if wrote > 0 {
                dealt.push(us);
            } else {
                served.push(us);
            }
        }
        held = Some(n.lead.id);
    }
    let share = dealt.len() as f64 / runs as f64;
    let part = |v: &mut Vec<f64>| if v.is_empty() { 0.0 } else { median(v) };
    let next_dealt_us = part(&mut dealt);
    let next_served_us = part(&mut served);
    let next_us = share * next_dealt_us + (1.0 - share) * next_served_us;
    let next_wal_pages = call_frames as f64 / runs as f64;
    conn.pragma_update(None, "wal_autocheckpoint", 1000)
        .unwrap();
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .unwrap();
    if let Some(id) = held {
        queue::release(conn, &id, "bench-rep").unwrap();
    }
    let page_us = time_us(runs, |_| {
        assert_eq!(queue::page(conn, "new", 0, 50, now).unwrap().len(), 50);
    });
    let names: Vec<String> = conn
        .prepare("SELECT name FROM lead WHERE rowid % 499 = 1 AND name IS NOT NULL LIMIT 200")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert!(!names.is_empty());
    let search_us = time_us(runs, |i| {
        search::search(conn, &names[i % names.len()], 20).unwrap();
    });
    drop(store);
    Figures {
        import_s,
        claim_release_us,
        next_us,
        next_dealt_us,
        next_served_us,
        next_wal_pages,
        page_us,
        search_us,
        size_mib: std::fs::metadata(db).map_or(0.0, |m| m.len() as f64 / 1048576.0),
    }
}

fn main() {
    let rows = env_usize("SWITCHBOARD_BENCH_ROWS", 100_000);
    let rounds = env_usize("SWITCHBOARD_BENCH_ROUNDS", 3).max(1);
    let runs = env_usize("SWITCHBOARD_BENCH_RUNS", 300).max(1);
    let dir = tempfile::tempdir().expect("a temporary folder");
    let csv = dir.path().join("registrations.csv");
    demo::generate(
        rows,
        1,
        std::io::BufWriter::new(std::fs::File::create(&csv).unwrap()),
    )
    .unwrap();
    let key = DatabaseKey::from_bytes([7; 32]);
    println!(
        "{rows} registrations, {rounds} rounds, {runs} timed runs per query; load average at start {}",
        load_average()
    );
    let (mut plain, mut encrypted) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        // Alternate which kind goes first, so a change in the machine's load hits both.
        let plain_first = round % 2 == 0;
        for encrypt in [!plain_first, plain_first] {
            let db = dir
                .path()
                .join(if encrypt { "encrypted.db" } else { "plain.db" });
            let figures = measure(&csv, &db, encrypt.then_some(&key), runs);
            remove(&db);
            println!(
                "round {} {:<9} import {:>6.2} s | claim+release {:>6.1} µs | queue next {:>6.1} µs (writing {:>6.1}, served {:>6.1}, {:.2} WAL pages) | page {:>7.1} µs | search {:>7.1} µs | {:.0} MiB | load {}",
                round + 1,
                if encrypt { "encrypted" } else { "plain" },
                figures.import_s,
                figures.claim_release_us,
                figures.next_us,
                figures.next_dealt_us,
                figures.next_served_us,
                figures.next_wal_pages,
                figures.page_us,
                figures.search_us,
                figures.size_mib,
                load_average()
            );
            if encrypt {
                encrypted.push(figures);
            } else {
                plain.push(figures);
            }
        }
    }
    let column =
        |figures: &[Figures], f: Pick| median(&mut figures.iter().map(f).collect::<Vec<_>>());
    println!("median of {rounds} rounds       plain   encrypted   slower by");
    let lines: [(&str, Pick); 8] = [
        ("import (s)", |f| f.import_s),
        ("claim + release (µs)", |f| f.claim_release_us),
        ("queue next new (µs)", |f| f.next_us),
        ("  a call that writes (µs)", |f| f.next_dealt_us),
        ("  a call from the hand (µs)", |f| f.next_served_us),
        ("WAL pages per next", |f| f.next_wal_pages),
        ("queue page new, 50 (µs)", |f| f.page_us),
        ("search names (µs)", |f| f.search_us),
    ];
    for (label, f) in lines {
        let (p, e) = (column(&plain, f), column(&encrypted, f));
        println!(
            "{label:<26} {p:>9.2} {e:>11.2} {:>10.1} %",
            (e / p - 1.0) * 100.0
        );
    }
    println!("load average at end {}", load_average());
}
