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
//! SWITCHBOARD_BENCH_IMPORTS=4 (imports per kind and round, alternating kinds, timed together)
//! SWITCHBOARD_BENCH_SORTED=0 (1: the CSV in submission order, a diagnosis of row locality)
//! SWITCHBOARD_BENCH_STREAM=0 (1: import the CSV as a stream, `import_reader`, in the file's
//! order — what `import_file` did before it recorded a file oldest submission first)
//! SWITCHBOARD_BENCH_REOPEN=0 (1: time the queries on the database opened again after the
//! import, with a cold page cache, as a window started later sees it)
//! SWITCHBOARD_BENCH_CIPHER=1 (only the per-page cost of each page cipher and HMAC,
//!   `cipher_pages`; SWITCHBOARD_BENCH_PROVIDER=sqlcipher: the CBC rows through SQLCipher's own
//!   OpenSSL provider)
//! SWITCHBOARD_BENCH_PAUSE_MS=0 (a sleep between working a lead and the next `queue next`)
//! SWITCHBOARD_BENCH_WORK=1 (0: leads are not worked, so no commit runs between the calls)
//! SWITCHBOARD_BENCH_KIND=plain|encrypted (only that kind: for a profiler; no medians printed)

use chrono::{DateTime, TimeZone, Utc};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;
use switchboard_core::import::{import_file, import_reader, Format, ImportOptions};
use switchboard_core::queue::{self, QueueSettings};
use switchboard_core::{demo, search, DatabaseKey, FixedClock, Store};
use switchboard_page_crypto::{keyed_as, PageCipher};

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

/// Pages this connection read from the file or the WAL so far (its page cache's misses): on an
/// encrypted replica each one is decrypted and its MAC checked.
fn cache_misses(conn: &rusqlite::Connection) -> i64 {
    db_status(conn, rusqlite::ffi::SQLITE_DBSTATUS_CACHE_MISS)
}

/// Pages this connection wrote so far (to the WAL: each one encrypted and MACed if encrypted).
fn cache_writes(conn: &rusqlite::Connection) -> i64 {
    db_status(conn, rusqlite::ffi::SQLITE_DBSTATUS_CACHE_WRITE)
}

fn db_status(conn: &rusqlite::Connection, what: std::os::raw::c_int) -> i64 {
    let (mut current, mut highwater) = (0, 0);
    // SAFETY: the handle is the open connection's, used on this thread only; the status call
    // writes the two integers it is given.
    let rc = unsafe {
        rusqlite::ffi::sqlite3_db_status(conn.handle(), what, &mut current, &mut highwater, 0)
    };
    assert_eq!(rc, rusqlite::ffi::SQLITE_OK);
    i64::from(current)
}

/// A deal's writes taken apart, with the SQL `queue::next_after` runs (the lease upserts of a
/// hand of 8, the delete of the rest, the commit), median µs of `runs` deals of 8 leads, one
/// minute apart: begin, upserts, delete, commit.
fn deal_parts(conn: &rusqlite::Connection, runs: usize) -> [f64; 4] {
    let ids: Vec<String> = conn
        .prepare("SELECT id FROM lead WHERE status = 'new' LIMIT 8")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let text = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut parts: [Vec<f64>; 4] = Default::default();
    for i in 0..runs + 20 {
        let at = bench_now() + chrono::Duration::minutes(60 + i as i64);
        let until = text(at + chrono::Duration::minutes(15));
        let mut took = [0.0; 4];
        let mut lap = Instant::now();
        let mut split = |n: usize, lap: &mut Instant| {
            took[n] = lap.elapsed().as_secs_f64() * 1e6;
            *lap = Instant::now();
        };
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        split(0, &mut lap);
        for id in &ids {
            conn.prepare_cached(
                "INSERT INTO lead_lease(lead_id, owner, until) VALUES (?1, ?2, ?3)
                 ON CONFLICT(lead_id) DO UPDATE SET owner = excluded.owner, until = excluded.until
                 WHERE lead_lease.until <= ?4 OR lead_lease.owner = excluded.owner",
            )
            .unwrap()
            .execute(rusqlite::params![id, "bench-dealer", until, text(at)])
            .unwrap();
        }
        split(1, &mut lap);
        conn.prepare_cached(
            "DELETE FROM lead_lease WHERE until <= ?1 OR (owner = ?2 AND lead_id NOT IN (?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10))",
        )
        .unwrap()
        .execute(rusqlite::params_from_iter(
            [text(at), "bench-dealer".into()].into_iter().chain(ids.iter().cloned()),
        ))
        .unwrap();
        split(2, &mut lap);
        conn.execute_batch("COMMIT").unwrap();
        split(3, &mut lap);
        if i >= 20 {
            for (part, us) in parts.iter_mut().zip(took) {
                part.push(us);
            }
        }
    }
    conn.execute("DELETE FROM lead_lease WHERE owner = 'bench-dealer'", [])
        .unwrap();
    parts.map(|mut p| median(&mut p))
}

/// What one database of one kind measured in one round.
#[derive(Default)]
struct Figures {
    deal_parts: [f64; 4],
    import_s: f64,
    import_pages: f64,
    import_reads: f64,
    next_dealt_reads: f64,
    next_served_reads: f64,
    page_read_us: f64,
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

/// A fresh database of one kind with the CSV imported, the import's wall time in seconds, the
/// pages it wrote and the pages it read from the file (each decrypted if encrypted).
fn import(csv: &Path, db: &Path, key: Option<&DatabaseKey>) -> (Store, f64, i64, i64) {
    remove(db);
    let clock = Arc::new(FixedClock::at(bench_now()));
    let mut store = Store::open_with_clock(db, key, clock).expect("opening the bench database");
    let written = cache_writes(store.conn());
    let missed = cache_misses(store.conn());
    let started = Instant::now();
    let options = ImportOptions::default();
    let report = if env_usize("SWITCHBOARD_BENCH_STREAM", 0) == 1 {
        let file = std::fs::File::open(csv).expect("the CSV opens");
        let len = file.metadata().map_or(0, |m| m.len());
        import_reader(&mut store, file, len, Format::Csv, &options, &mut |_| {})
    } else {
        import_file(&mut store, csv, &options, &mut |_| {})
    }
    .expect("the import runs");
    let import_s = started.elapsed().as_secs_f64();
    assert!(report.counts.created > 0, "the import created leads");
    let pages = cache_writes(store.conn()) - written;
    let reads = cache_misses(store.conn()) - missed;
    if env_usize("SWITCHBOARD_BENCH_REOPEN", 0) == 1 {
        drop(store);
        let clock = Arc::new(FixedClock::at(bench_now()));
        store = Store::open_with_clock(db, key, clock).expect("opening the bench database again");
    }
    // A diagnosis, not a setting of the app: a page cache that holds the whole file, filled
    // with the lead table and the queue's index, so no `next` reads (and decrypts) a page for
    // the first time. Set after the import, which sets its own cache size while it runs.
    let cache_mib = env_usize("SWITCHBOARD_BENCH_CACHE_MIB", 0);
    if cache_mib > 0 {
        let conn = store.conn();
        conn.pragma_update(None, "cache_size", -((cache_mib * 1024) as i64))
            .unwrap();
        for sql in [
            "SELECT count(*) FROM lead NOT INDEXED WHERE status <> 'x'",
            "SELECT count(*) FROM lead INDEXED BY lead_new_queue WHERE status = 'new'",
        ] {
            conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
        }
    }
    (store, import_s, pages, reads)
}

fn measure(csv: &Path, db: &Path, key: Option<&DatabaseKey>, runs: usize) -> Figures {
    let (store, import_s, import_pages, import_reads) = import(csv, db, key);
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
    // A diagnosis: a pause between working a lead and asking for the next, as a rep's is, so
    // the call does not start in CPU caches the work's commit just left.
    let pause_ms = env_usize("SWITCHBOARD_BENCH_PAUSE_MS", 0) as u64;
    // A diagnosis: 0 leaves each lead unworked, so every call after the first is served from
    // the hand (the same lead) and no commit runs between the calls.
    let work = env_usize("SWITCHBOARD_BENCH_WORK", 1) == 1;
    // Calls that wrote (the WAL grew: a hand was dealt) and calls served without writing are
    // timed apart; the cost per lead handed out is their medians weighted by how often each
    // happened, which a few slow outliers on a loaded machine do not skew as they do a mean.
    let (mut served, mut dealt) = (Vec::with_capacity(runs), Vec::new());
    let (mut served_reads, mut dealt_reads) = (0, 0);
    let mut call_frames = 0;
    for i in 0..runs + 20 {
        if let Some(id) = held.as_ref().filter(|_| work) {
            conn.execute("UPDATE lead SET status = 'working' WHERE id = ?1", [id])
                .unwrap();
        }
        if pause_ms > 0 {
            std::thread::sleep(std::time::Duration::from_millis(pause_ms));
        }
        let at = now + chrono::Duration::seconds(i as i64 + 1);
        let before = wal_frames();
        let misses = cache_misses(conn);
        let t = Instant::now();
        let n = queue::next_after(conn, "new", "bench-rep", held.as_deref(), at, &settings)
            .unwrap()
            .expect("the new queue has leads");
        let us = t.elapsed().as_secs_f64() * 1e6;
        let read = cache_misses(conn) - misses;
        let wrote = wal_frames() - before;
        if i >= 20 {
            call_frames += wrote;
            if wrote > 0 {
                dealt.push(us);
                dealt_reads += read;
            } else {
                served.push(us);
                served_reads += read;
            }
        }
        held = Some(n.lead.id);
    }
    let per_call = |reads: i64, calls: usize| reads as f64 / calls.max(1) as f64;
    let next_dealt_reads = per_call(dealt_reads, dealt.len());
    let next_served_reads = per_call(served_reads, served.len());
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
    let deal_parts = deal_parts(conn, runs);
    // The cost of reading one page the cache does not hold: a scan of the lead table through a
    // cache of 16 pages, so every page it reads is a miss (read, and decrypted if encrypted).
    conn.pragma_update(None, "cache_size", 16).unwrap();
    let misses = cache_misses(conn);
    let t = Instant::now();
    let _: i64 = conn
        .query_row(
            "SELECT count(*) FROM lead NOT INDEXED WHERE status <> 'x'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let page_read_us =
        t.elapsed().as_secs_f64() * 1e6 / (cache_misses(conn) - misses).max(1) as f64;
    drop(store);
    Figures {
        deal_parts,
        import_s,
        import_pages: import_pages as f64,
        import_reads: import_reads as f64,
        next_dealt_reads,
        next_served_reads,
        page_read_us,
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

/// A diagnosis, not the workload: the CSV's rows in the order they were submitted, so
/// the import stores the leads the newest-first queue hands out next to one another.
fn sort_by_submission(csv: &Path) {
    let mut reader = csv::Reader::from_path(csv).unwrap();
    let header = reader.headers().unwrap().clone();
    let column = header.iter().position(|h| h == "Submitted At").unwrap();
    let mut rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    rows.sort_by(|a, b| a[column].cmp(&b[column]));
    let mut writer = csv::Writer::from_path(csv).unwrap();
    writer.write_record(&header).unwrap();
    for row in rows {
        writer.write_record(&row).unwrap();
    }
    writer.flush().unwrap();
}

/// The page ciphers and SQLCipher settings `cipher_pages` compares: the raw key is the same for
/// all of them.
const CIPHERS: [(&str, Option<(PageCipher, &str)>); 6] = [
    ("plain", None),
    (
        "CBC, HMAC-SHA512 (SQLCipher 4's default)",
        Some((PageCipher::SqlcipherCbc, "")),
    ),
    (
        "CBC, HMAC-SHA256",
        Some((
            PageCipher::SqlcipherCbc,
            "PRAGMA cipher_hmac_algorithm = HMAC_SHA256;",
        )),
    ),
    (
        "CTR, HMAC-SHA256",
        Some((
            PageCipher::CtrHmac,
            "PRAGMA cipher_hmac_algorithm = HMAC_SHA256;",
        )),
    ),
    (
        "CTR, GMAC (the replica's)",
        Some((
            PageCipher::CtrGmac,
            "PRAGMA cipher_hmac_algorithm = HMAC_SHA256;",
        )),
    ),
    // A diagnosis of the split between the cipher and the MAC, never a setting of the app: the
    // per-page MAC is what detects a tampered file.
    (
        "CTR, no MAC (diagnosis only)",
        Some((PageCipher::CtrGmac, "PRAGMA cipher_use_hmac = OFF;")),
    ),
];

/// Whether the bench runs through SQLCipher's own OpenSSL provider
/// (`SWITCHBOARD_BENCH_PROVIDER=sqlcipher`; the provider is chosen once per process), which has
/// no CTR pages.
fn sqlcipher_s_provider() -> bool {
    std::env::var("SWITCHBOARD_BENCH_PROVIDER").as_deref() == Ok("sqlcipher")
}

/// Opens `db` with a raw key, the page cipher and the cipher settings of `format` (plain when
/// `None`), as the store does: key first, then the settings, then the first read.
fn open_cipher(db: &Path, format: Option<(PageCipher, &str)>) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(db).unwrap();
    if let Some((cipher, extra)) = format {
        if !sqlcipher_s_provider() {
            assert!(
                switchboard_page_crypto::install(),
                "the page crypto provider registers"
            );
        }
        keyed_as(cipher, || {
            conn.execute_batch(&format!("PRAGMA key = \"x'{}'\"; {extra}", "07".repeat(32)))
        })
        .unwrap()
        .unwrap();
    }
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    })
    .unwrap();
    conn
}

/// SQLCipher's per-page cost alone, on a 50,000-row table (about 1,600 pages of 4 KiB) in WAL
/// mode with the replica's `synchronous` and `secure_delete`: one write commit (an `UPDATE` of
/// one row, median of `runs`), one page read (a scan through a 16-page cache, every page a
/// miss; median of 5 scans) and one open (key, settings, first read; median of 50). Each kind
/// in turn, `rounds` times, the order reversed every other round.
fn cipher_pages(dir: &Path, rounds: usize, runs: usize) {
    println!(
        "cipher_pages: {rounds} rounds, {runs} commits each; load average at start {}",
        load_average()
    );
    let mut figures: Vec<Vec<[f64; 3]>> = vec![Vec::new(); CIPHERS.len()];
    for round in 0..rounds {
        let mut order: Vec<usize> = (0..CIPHERS.len()).collect();
        if round % 2 == 1 {
            order.reverse();
        }
        for i in order {
            let (name, extra) = CIPHERS[i];
            if sqlcipher_s_provider()
                && matches!(extra, Some((c, _)) if c != PageCipher::SqlcipherCbc)
            {
                continue;
            }
            let db = dir.join("cipher.db");
            remove(&db);
            let conn = open_cipher(&db, extra);
            conn.execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA secure_delete = ON;
                 CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT NOT NULL);
                 WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50000)
                 INSERT INTO t SELECT i, printf('%080d', i) FROM n;",
            )
            .unwrap();
            let commit = time_us(runs, |n| {
                conn.execute(
                    "UPDATE t SET v = printf('%080d', ?1) WHERE id = ?2",
                    [n as i64, (n * 7919 % 50_000) as i64 + 1],
                )
                .unwrap();
            });
            conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE); PRAGMA cache_size = 16;")
                .unwrap();
            let mut reads: Vec<f64> = (0..5)
                .map(|_| {
                    let misses = cache_misses(&conn);
                    let t = Instant::now();
                    let _: i64 = conn
                        .query_row("SELECT count(*) FROM t WHERE v <> 'x'", [], |r| r.get(0))
                        .unwrap();
                    t.elapsed().as_secs_f64() * 1e6 / (cache_misses(&conn) - misses).max(1) as f64
                })
                .collect();
            drop(conn);
            let open = time_us(50, |_| drop(open_cipher(&db, extra)));
            let row = [commit, median(&mut reads), open];
            println!(
                "round {} {name:<36} commit {:>6.2} µs | page read {:>5.2} µs | open {:>7.1} µs | load {}",
                round + 1,
                row[0],
                row[1],
                row[2],
                load_average()
            );
            figures[i].push(row);
            remove(&db);
        }
    }
    println!("median of {rounds} rounds                 commit µs  page read µs  open µs");
    for (i, (name, _)) in CIPHERS.iter().enumerate() {
        if figures[i].is_empty() {
            continue;
        }
        let col = |k: usize| median(&mut figures[i].iter().map(|r| r[k]).collect::<Vec<_>>());
        println!(
            "{name:<36} {:>10.2} {:>13.2} {:>8.1}",
            col(0),
            col(1),
            col(2)
        );
    }
    println!("load average at end {}", load_average());
}

fn main() {
    if env_usize("SWITCHBOARD_BENCH_CIPHER", 0) == 1 {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let rounds = env_usize("SWITCHBOARD_BENCH_ROUNDS", 3).max(1);
        cipher_pages(
            dir.path(),
            rounds,
            env_usize("SWITCHBOARD_BENCH_RUNS", 3000).max(1),
        );
        return;
    }
    let rows = env_usize("SWITCHBOARD_BENCH_ROWS", 100_000);
    let rounds = env_usize("SWITCHBOARD_BENCH_ROUNDS", 3).max(1);
    let runs = env_usize("SWITCHBOARD_BENCH_RUNS", 300).max(1);
    let imports = env_usize("SWITCHBOARD_BENCH_IMPORTS", 4).max(1);
    let dir = tempfile::tempdir().expect("a temporary folder");
    let csv = dir.path().join("registrations.csv");
    demo::generate(
        rows,
        1,
        std::io::BufWriter::new(std::fs::File::create(&csv).unwrap()),
    )
    .unwrap();
    if env_usize("SWITCHBOARD_BENCH_SORTED", 0) == 1 {
        sort_by_submission(&csv);
    }
    let key = DatabaseKey::from_bytes([7; 32]);
    println!(
        "{rows} registrations, {rounds} rounds, {imports} imports per kind and round, {runs} timed runs per query; load average at start {}",
        load_average()
    );
    // A diagnosis: one kind only, so a profiler's samples belong to it.
    let only_kind = match std::env::var("SWITCHBOARD_BENCH_KIND").as_deref() {
        Ok("plain") => Some(false),
        Ok("encrypted") => Some(true),
        _ => None,
    };
    let (mut plain, mut encrypted) = (Vec::new(), Vec::new());
    let db_of = |encrypt: bool| {
        dir.path()
            .join(if encrypt { "encrypted.db" } else { "plain.db" })
    };
    for round in 0..rounds {
        // Alternate which kind goes first, so a change in the machine's load hits both.
        let plain_first = round % 2 == 0;
        // All but the last import of each kind, alternating kinds: one 6-second import is too
        // short to tell a 10 % difference from the machine's noise.
        let mut extra = [0.0, 0.0];
        for i in 1..imports {
            let first = plain_first == (i % 2 == 1);
            for encrypt in [!first, first] {
                let db = db_of(encrypt);
                let (store, seconds, _, _) = import(&csv, &db, encrypt.then_some(&key));
                drop(store);
                remove(&db);
                extra[usize::from(encrypt)] += seconds;
            }
        }
        for encrypt in [!plain_first, plain_first] {
            if only_kind.is_some_and(|only| only != encrypt) {
                continue;
            }
            let db = db_of(encrypt);
            let mut figures = measure(&csv, &db, encrypt.then_some(&key), runs);
            figures.import_s += extra[usize::from(encrypt)];
            remove(&db);
            println!(
                "round {} {:<9} import {:>6.2} s | claim+release {:>6.1} µs | queue next {:>6.1} µs (writing {:>6.1} reading {:.1} pages, served {:>6.1} reading {:.1}, {:.2} WAL pages) | page read {:.2} µs | page {:>7.1} µs | search {:>7.1} µs | {:.0} MiB | load {}",
                round + 1,
                if encrypt { "encrypted" } else { "plain" },
                figures.import_s,
                figures.claim_release_us,
                figures.next_us,
                figures.next_dealt_us,
                figures.next_dealt_reads,
                figures.next_served_us,
                figures.next_served_reads,
                figures.next_wal_pages,
                figures.page_read_us,
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
    if only_kind.is_some() {
        return;
    }
    let column =
        |figures: &[Figures], f: Pick| median(&mut figures.iter().map(f).collect::<Vec<_>>());
    println!("median of {rounds} rounds       plain   encrypted   slower by");
    let lines: [(&str, Pick); 18] = [
        ("imports (s, together)", |f| f.import_s),
        ("pages one import wrote", |f| f.import_pages),
        ("pages one import read", |f| f.import_reads),
        ("import µs per page written", |f| {
            f.import_s * 1e6
                / f.import_pages
                / env_usize("SWITCHBOARD_BENCH_IMPORTS", 4).max(1) as f64
        }),
        ("claim + release (µs)", |f| f.claim_release_us),
        ("queue next new (µs)", |f| f.next_us),
        ("  a call that writes (µs)", |f| f.next_dealt_us),
        ("  a call from the hand (µs)", |f| f.next_served_us),
        ("WAL pages per next", |f| f.next_wal_pages),
        ("pages read, dealing call", |f| f.next_dealt_reads),
        ("pages read, from the hand", |f| f.next_served_reads),
        ("one page read (µs)", |f| f.page_read_us),
        ("deal's writes: begin (µs)", |f| f.deal_parts[0]),
        ("  8 lease upserts (µs)", |f| f.deal_parts[1]),
        ("  delete the rest (µs)", |f| f.deal_parts[2]),
        ("  commit (µs)", |f| f.deal_parts[3]),
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
