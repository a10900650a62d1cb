//! Benchmarks 2 and 3 (docs/BENCHMARKS.md): `queue next` and a 50-lead queue page on a
//! 1,000,000-lead database, and full-text search over it; then issue 12's figure: the same queue
//! measurements again once 1,000,000 active cadence enrolments are added, in the same run. A plain
//! binary, not a timed test:
//!
//! ```text
//! cargo bench -p switchboard-core --bench queue_search
//! ```
//!
//! Environment: `SWITCHBOARD_BENCH_DB` (database file, reused when it already holds the wanted
//! number of leads; default in the system temp folder), `SWITCHBOARD_BENCH_LEADS` (default
//! 1000000), `SWITCHBOARD_BENCH_RUNS` (timed runs per measurement, default 1000),
//! `SWITCHBOARD_BENCH_ONLY` (run only measurements whose label contains it),
//! `SWITCHBOARD_BENCH_CACHE_MB` (SQLite page cache for the run; default: the store's),
//! `SWITCHBOARD_BENCH_ENROLMENTS` (active cadence enrolments added before the second round of
//! queue measurements, default 1000000; 0 skips that round; a reused file's enrolments from an
//! earlier run are removed first, so the first round always runs without any).
//!
//! The database is filled with SQL in one transaction (leads plus their `lead_search` rows and
//! some opt-outs), as an import would leave it; the measurements then call the same core
//! functions the CLI and the desktop app call.

use chrono::{DateTime, Duration, TimeZone, Utc};
use rusqlite::params;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use switchboard_core::cadence::{definition, Step};
use switchboard_core::clock::{new_id, to_text};
use switchboard_core::normalize::single_zone;
use switchboard_core::queue::{self, QueueSettings};
use switchboard_core::{search, FixedClock, Store};

/// The instant the measurements run at: 14:00 UTC on a Monday (afternoon in Europe, morning on
/// the US east coast, night in Asia-Pacific).
fn bench_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 14, 0, 0).unwrap()
}

/// A small deterministic generator (SplitMix64), so every run builds the same database.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const FIRST: &[&str] = &[
    "Anna",
    "Ben",
    "Clara",
    "David",
    "Elena",
    "Felix",
    "Greta",
    "Hugo",
    "Ines",
    "Jonas",
    "Karin",
    "Lukas",
    "Marie",
    "Noah",
    "Olga",
    "Paul",
    "Quentin",
    "Rosa",
    "Simon",
    "Tara",
    "Ulrich",
    "Vera",
    "William",
    "Xenia",
    "Yusuf",
    "Zoe",
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "Sophie",
    "Louis",
    "Camille",
    "Hiroshi",
    "Yuki",
    "Sakura",
    "Pedro",
    "Lucia",
    "Mateo",
    "Sofia",
    "Arjun",
    "Priya",
    "Lars",
    "Ingrid",
    "Piotr",
    "Agnieszka",
    "Chloé",
    "Jürgen",
    "Søren",
    "Ana",
    "Mohammed",
    "Fatima",
    "Olivia",
    "Liam",
    "Emma",
    "Oliver",
];
const LAST: &[&str] = &[
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Martin",
    "Bernard",
    "Dubois",
    "Thomas",
    "Robert",
    "Richard",
    "Petit",
    "Durand",
    "Tanaka",
    "Suzuki",
    "Takahashi",
    "Watanabe",
    "Silva",
    "Santos",
    "Oliveira",
    "Souza",
    "Rossi",
    "Russo",
    "Ferrari",
    "Esposito",
    "Jansen",
    "de Vries",
    "van Dijk",
    "Bakker",
    "Nowak",
    "Kowalski",
    "Wiśniewski",
    "Andersson",
    "Johansson",
    "Karlsson",
    "Nilsson",
    "Sharma",
    "Patel",
    "Singh",
    "Kumar",
    "O'Brien",
    "Murphy",
    "Kelly",
    "Walsh",
    "Fernández",
    "López",
    "Martínez",
    "Sánchez",
    "Pérez",
    "Gómez",
    "Novak",
    "Horvat",
    "Kovač",
    "Popescu",
    "Ionescu",
    "Nagy",
    "Tóth",
    "Szabó",
    "Virtanen",
    "Korhonen",
];
const STEM: &[&str] = &[
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Stark",
    "Wayne",
    "Wonka",
    "Cyberdyne",
    "Soylent",
    "Tyrell",
    "Aperture",
    "Black Mesa",
    "Gringotts",
    "Oscorp",
    "Monarch",
    "Nakatomi",
    "Virtucon",
    "Massive Dynamic",
    "Bluth",
    "Dunder",
    "Pied Piper",
    "Prestige",
    "Sirius",
    "Northwind",
    "Contoso",
    "Fabrikam",
    "Tailspin",
    "Litware",
    "Adatum",
    "Proseware",
    "Woodgrove",
    "Lucerne",
    "Margie",
    "Alpine",
    "Blue Yonder",
    "Coho",
    "Fourth Coffee",
    "Graphic Design",
    "Humongous",
    "Consolidated",
    "Trey",
    "Wingtip",
    "Wide World",
    "Relecloud",
    "Zava",
    "Kontoso",
    "Datum",
    "Nordlicht",
    "Sonnenhof",
    "Bergwerk",
    "Rheintal",
    "Elbe",
    "Lumière",
    "Soleil",
    "Fuji",
    "Sakura",
    "Andes",
    "Tejo",
];
const FORM: &[&str] = &[
    "GmbH",
    "AG",
    "Ltd",
    "Inc",
    "LLC",
    "SA",
    "SAS",
    "BV",
    "KK",
    "Ltda",
    "SpA",
    "AB",
    "Oy",
    "Sp. z o.o.",
    "Robotics",
    "Systems",
    "Logistics",
    "Software",
    "Industries",
    "Labs",
    "Partners",
    "Group",
];
/// (country, calling code, share in ‰, national digits, office)
const COUNTRIES: &[(&str, &str, u64, usize, &str)] = &[
    ("DE", "49", 220, 10, "BER"),
    ("US", "1", 200, 10, "NYC"),
    ("GB", "44", 90, 10, "LON"),
    ("FR", "33", 80, 9, "PAR"),
    ("NL", "31", 50, 9, "AMS"),
    ("ES", "34", 50, 9, "MAD"),
    ("IT", "39", 50, 10, "MIL"),
    ("JP", "81", 60, 10, "TYO"),
    ("AU", "61", 30, 9, "SYD"),
    ("BR", "55", 40, 11, "SAO"),
    ("IN", "91", 50, 10, "BLR"),
    ("CA", "1", 30, 10, "TOR"),
    ("SE", "46", 20, 9, "STO"),
    ("PL", "48", 20, 9, "WAW"),
    ("CH", "41", 10, 9, "ZRH"),
];
const PHONE_OUTCOMES: &[&str] = &[
    "connected",
    "no_answer",
    "voicemail",
    "busy",
    "callback_requested",
    "meeting_booked",
];

fn env_usize(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

fn country(rng: &mut Rng) -> &'static (&'static str, &'static str, u64, usize, &'static str) {
    let mut roll = rng.below(1000);
    for c in COUNTRIES {
        if roll < c.2 {
            return c;
        }
        roll -= c.2;
    }
    &COUNTRIES[0]
}

fn ascii_local(text: &str) -> String {
    text.chars()
        .filter_map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' => Some(c.to_ascii_lowercase()),
            'ä' | 'á' | 'à' => Some('a'),
            'é' | 'è' => Some('e'),
            'í' => Some('i'),
            'ö' | 'ó' | 'ø' => Some('o'),
            'ü' | 'ú' => Some('u'),
            'ś' => Some('s'),
            'č' => Some('c'),
            'ñ' => Some('n'),
            _ => None,
        })
        .collect()
}

/// Fills an empty database with `n` leads; about 1% opted out of phone or of everything.
fn build(store: &mut Store, n: usize) {
    let now = bench_now();
    let started = Instant::now();
    let mut rng = Rng(20260302);
    let tx = store.conn_mut().transaction().unwrap();
    {
        let mut lead = tx
            .prepare(
                "INSERT INTO lead(id, office, name, company, email, phone, country, time_zone,
                                  status, owner, created_at, last_registered_at, attempts,
                                  last_attempt_at, last_outcome, next_follow_up_at,
                                  first_contact_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11, ?12, ?13, ?14, ?15,
                         ?16)",
            )
            .unwrap();
        let mut fts = tx
            .prepare(
                "INSERT INTO lead_search(rowid, name, company, email, phone)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .unwrap();
        let mut consent = tx
            .prepare(
                "INSERT INTO consent_event(id, lead_id, scope, action, source, occurred_at,
                                           recorded_by)
                 VALUES (?1, ?2, ?3, 'opt_out', 'bench', ?4, 'bench')",
            )
            .unwrap();
        for i in 0..n {
            // Registrations over the past year, denser towards now.
            let back = (rng.below(1_000_000) as f64 / 1_000_000.0).powi(2) * 365.0 * 86_400.0;
            let registered = now - Duration::seconds(back as i64 + 60);
            let id = new_id(registered);
            let first = rng.pick(FIRST);
            let last = rng.pick(LAST);
            let company = format!("{} {}", rng.pick(STEM), rng.pick(FORM));
            let c = country(&mut rng);
            let email = format!(
                "{}.{}{}@{}.example",
                ascii_local(first),
                ascii_local(last),
                i,
                ascii_local(&company)
            );
            let mut phone = format!("+{}", c.1);
            for _ in 0..c.3 {
                phone.push(char::from(b'0' + rng.below(10) as u8));
            }
            let zone = single_zone(c.0).map(|z| z.name().to_string());
            let roll = rng.below(100);
            let (status, attempts, last_attempt, outcome, next, owner) = if roll < 60 {
                ("new", 0, None, None, None, None)
            } else if roll < 95 {
                let attempts = 1 + rng.below(5) as i64;
                let last = registered
                    + Duration::seconds(
                        rng.below((now - registered).num_seconds() as u64 + 1) as i64
                    );
                let next = now + Duration::hours(rng.below(60 * 24) as i64 - 30 * 24);
                (
                    "working",
                    attempts,
                    Some(to_text(last)),
                    Some(rng.pick(PHONE_OUTCOMES)),
                    Some(to_text(next)),
                    Some(format!("rep{}", rng.below(40))),
                )
            } else {
                (
                    "closed",
                    3,
                    None,
                    Some("not_interested"),
                    None,
                    Some("rep1".into()),
                )
            };
            lead.execute(params![
                id,
                c.4,
                format!("{first} {last}"),
                company,
                email,
                phone,
                c.0,
                zone,
                status,
                owner,
                to_text(registered),
                attempts,
                last_attempt,
                outcome,
                next,
                last_attempt,
            ])
            .unwrap();
            let rowid = tx.last_insert_rowid();
            fts.execute(params![
                rowid,
                format!("{first} {last}"),
                company,
                email,
                phone
            ])
            .unwrap();
            if rng.below(100) == 0 {
                let scope = if rng.below(2) == 0 { "all" } else { "phone" };
                consent
                    .execute(params![new_id(now), id, scope, to_text(registered)])
                    .unwrap();
            }
            if (i + 1) % 200_000 == 0 {
                eprintln!("  {} leads written ({:.0?})", i + 1, started.elapsed());
            }
        }
    }
    switchboard_core::store::set_setting(&tx, "bench.leads", &n.to_string()).unwrap();
    tx.commit().unwrap();
    store
        .conn()
        .execute_batch("ANALYZE; PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
    eprintln!("built {n} leads in {:.1?}", started.elapsed());
}

/// Percentiles of one measurement, wall clock and this thread's CPU time, in microseconds.
struct Stats {
    p50: f64,
    p99: f64,
    cpu_p50: f64,
    cpu_p99: f64,
}

/// CPU time this thread has used, in microseconds. On a shared machine the wall clock also
/// counts time other processes held the cores; this does not.
fn thread_cpu_us() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own; CLOCK_THREAD_CPUTIME_ID is valid on
    // Linux and the BSDs.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime");
    ts.tv_sec as f64 * 1e6 + ts.tv_nsec as f64 / 1e3
}

fn percentile(values: &mut [f64], q: f64) -> f64 {
    values.sort_by(|a, b| a.partial_cmp(b).unwrap());
    values[((values.len() - 1) as f64 * q).round() as usize]
}

/// Runs `f` `runs` times after a short warm-up.
fn measure(runs: usize, mut f: impl FnMut(usize)) -> Stats {
    for i in 0..runs.min(50) {
        f(i);
    }
    let mut wall = Vec::with_capacity(runs);
    let mut cpu = Vec::with_capacity(runs);
    for i in 0..runs {
        let c = thread_cpu_us();
        let t = Instant::now();
        f(i);
        wall.push(t.elapsed().as_secs_f64() * 1e6);
        cpu.push(thread_cpu_us() - c);
    }
    Stats {
        p50: percentile(&mut wall, 0.5),
        p99: percentile(&mut wall, 0.99),
        cpu_p50: percentile(&mut cpu, 0.5),
        cpu_p99: percentile(&mut cpu, 0.99),
    }
}

/// Whether a measurement was asked for (`SWITCHBOARD_BENCH_ONLY` = part of its label).
fn wanted(label: &str) -> bool {
    std::env::var("SWITCHBOARD_BENCH_ONLY").map_or(true, |only| label.contains(&only))
}

fn report(name: &str, s: &Stats, goal_us: f64) {
    println!(
        "{name:<48} wall p50 {:>8.1} p99 {:>8.1} µs | cpu p50 {:>8.1} p99 {:>8.1} µs | goal p99 < {:.0} µs: wall {}, cpu {}",
        s.p50,
        s.p99,
        s.cpu_p50,
        s.cpu_p99,
        goal_us,
        if s.p99 < goal_us { "met" } else { "MISSED" },
        if s.cpu_p99 < goal_us { "met" } else { "MISSED" },
    );
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    format!("{cpu}, {cores} cores available")
}

/// Benchmark 2: `queue next` (claim + release) and a 50-lead page of each built-in queue, then
/// successive claims; `suffix` ends each label.
fn measure_queues(conn: &rusqlite::Connection, runs: usize, suffix: &str) {
    let now = bench_now();
    let settings = QueueSettings::default();
    for name in ["new", "due", "callable"] {
        let label = format!("queue next {name} (claim + release{suffix})");
        if wanted(&label) {
            let s = measure(runs, |_| {
                let n = queue::next(conn, name, "bench-rep", now, &settings)
                    .unwrap()
                    .expect("queue has leads");
                queue::release(conn, &n.lead.id, "bench-rep").unwrap();
            });
            report(&label, &s, 2000.0);
        }
        let label = format!("queue page {name} (50 leads{suffix})");
        if !wanted(&label) {
            continue;
        }
        let s = measure(runs, |_| {
            let page = queue::page(conn, name, 0, 50, now).unwrap();
            assert_eq!(page.len(), 50);
        });
        report(&label, &s, 2000.0);
    }
    // Successive claims without release: each walk passes over the leases taken before it.
    if wanted("successive") {
        let mut claimed = Vec::with_capacity(runs);
        let s = measure(runs, |i| {
            let rep = format!("rep-{i}");
            let n = queue::next(conn, "new", &rep, now, &settings)
                .unwrap()
                .expect("queue has leads");
            claimed.push((n.lead.id, rep));
        });
        report(
            &format!("queue next new (successive claims, no release{suffix})"),
            &s,
            2000.0,
        );
        for (id, rep) in claimed {
            queue::release(conn, &id, &rep).unwrap();
        }
    }
}

/// Removes the enrolments and cadences an earlier run left in a reused database file.
fn clear_enrolments(conn: &rusqlite::Connection) {
    conn.execute_batch(
        "DELETE FROM cadence_enrollment; DELETE FROM cadence_rule;
         DELETE FROM cadence_version; DELETE FROM cadence;",
    )
    .unwrap();
}

/// Adds `n` active enrolments: every open lead in the cadence "Bench A", then open leads in
/// "Bench B" until there are `n`. Steps alternate call and email; due times spread over a month
/// either side of now, so about half are due (as follow-up dates are in `build`), and enrolment
/// times over the past year (all at one instant, SQLite would find a lead's enrolments by
/// skip-scanning an index that real data does not let it skip through).
fn enrol(conn: &rusqlite::Connection, n: usize) {
    let started = Instant::now();
    let now = bench_now();
    let steps: Vec<Step> = ["call=Intro|connected,no_answer", "wait=2", "email=recap"]
        .iter()
        .map(|s| definition::parse_step(s).unwrap())
        .collect();
    conn.execute_batch("BEGIN").unwrap();
    let mut left = n as i64;
    for (i, name) in ["Bench A", "Bench B", "Bench C"].iter().enumerate() {
        if left <= 0 {
            break;
        }
        let cadence = definition::save(conn, name, &steps, "bench", now).unwrap();
        let added = conn
            .execute(
                "INSERT INTO cadence_enrollment(id, lead_id, cadence_id, version, step, channel,
                                                due_at, rep, enrolled_at, enrolled_by)
                 SELECT lower(hex(randomblob(16))), id, ?1, 1,
                        CASE WHEN rowid % 2 = 0 THEN 0 ELSE 2 END,
                        CASE WHEN rowid % 2 = 0 THEN 'phone' ELSE 'email' END,
                        strftime('%Y-%m-%dT%H:%M:%fZ', ?2,
                                 ((rowid * 7919 + ?4) % 86400 * 60 - 43200 * 60) || ' seconds'),
                        coalesce(owner, 'rep' || (rowid % 40)),
                        strftime('%Y-%m-%dT%H:%M:%fZ', ?2,
                                 '-' || ((rowid * 104729 + ?4) % 31536000) || ' seconds'),
                        'bench'
                   FROM lead WHERE status IN ('new', 'working') LIMIT ?3",
                params![cadence.id, to_text(now), left, i as i64],
            )
            .unwrap();
        left -= added as i64;
    }
    conn.execute_batch("COMMIT; ANALYZE; PRAGMA wal_checkpoint(TRUNCATE);")
        .unwrap();
    eprintln!(
        "added {} enrolments in {:.1?}",
        n as i64 - left.max(0),
        started.elapsed()
    );
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is accepted.
    let leads = env_usize("SWITCHBOARD_BENCH_LEADS", 1_000_000);
    let runs = env_usize("SWITCHBOARD_BENCH_RUNS", 1000).max(1);
    let path = std::env::var_os("SWITCHBOARD_BENCH_DB")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join(format!("switchboard-bench-{leads}.db")));
    let clock = Arc::new(FixedClock::at(bench_now()));
    let mut store = Store::open_with_clock(&path, None, clock).expect("open bench database");
    let have: usize = switchboard_core::store::get_setting(store.conn(), "bench.leads")
        .unwrap()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    if have != leads {
        drop(store);
        for suffix in ["", "-wal", "-shm"] {
            let mut p = path.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
        store = Store::open_with_clock(&path, None, Arc::new(FixedClock::at(bench_now()))).unwrap();
        eprintln!("building {leads} leads in {}", path.display());
        build(&mut store, leads);
    }
    // The store's own page cache is SQLite's default (about 2 MB); a larger one can be tried.
    let cache_mb = env_usize("SWITCHBOARD_BENCH_CACHE_MB", 0);
    if cache_mb > 0 {
        store
            .conn()
            .execute_batch(&format!("PRAGMA cache_size = -{}", cache_mb * 1024))
            .unwrap();
    }
    let conn = store.conn();
    let now = bench_now();
    println!("machine: {} (load average {})", machine(), load_average());
    println!(
        "database: {} ({} leads, {:.0} MB), page cache {}, {runs} timed runs per line, at {}",
        path.display(),
        leads,
        std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0) as f64 / 1e6,
        if cache_mb > 0 {
            format!("{cache_mb} MB")
        } else {
            "default".into()
        },
        to_text(now)
    );

    // Benchmark 2: the queues as they are, then (issue 12) beside 1,000,000 active enrolments.
    let enrolments = env_usize("SWITCHBOARD_BENCH_ENROLMENTS", 1_000_000);
    clear_enrolments(conn);
    measure_queues(conn, runs, "");
    if enrolments > 0 {
        enrol(conn, enrolments);
        println!(
            "with {enrolments} active enrolments (load average {}):",
            load_average()
        );
        measure_queues(conn, runs, &format!(", {enrolments} enrolments"));
    }

    // Benchmark 3: full-text search with typical queries.
    let mut rng = Rng(7);
    let names: Vec<String> = (0..200)
        .map(|i| {
            if i % 2 == 0 {
                rng.pick(LAST).to_string()
            } else {
                format!("{} {}", rng.pick(FIRST), rng.pick(LAST))
            }
        })
        .collect();
    let companies: Vec<String> = (0..200)
        .map(|_| {
            let stem = rng.pick(STEM);
            stem.chars().take(3 + rng.below(3) as usize).collect()
        })
        .collect();
    let sample = |sql: &str| -> Vec<String> {
        conn.prepare(sql)
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    };
    let emails = sample("SELECT email FROM lead WHERE rowid % 5003 = 1 LIMIT 200");
    let phones: Vec<String> = sample("SELECT phone FROM lead WHERE rowid % 4999 = 2 LIMIT 200")
        .into_iter()
        .map(|p| {
            // "+49 301 234 56…": the way people type them, truncated to a prefix.
            let digits = &p[1..p.len() - 2];
            let mut spaced = String::from("+");
            for (i, ch) in digits.chars().enumerate() {
                if i == 2 || (i > 2 && (i - 2) % 3 == 0) {
                    spaced.push(' ');
                }
                spaced.push(ch);
            }
            spaced
        })
        .collect();
    for (label, queries) in [
        ("search names", &names),
        ("search company prefixes", &companies),
        ("search emails", &emails),
        ("search phone digits", &phones),
    ] {
        if !wanted(label) {
            continue;
        }
        let mut total_hits = 0usize;
        let s = measure(runs, |i| {
            let q = &queries[i % queries.len()];
            total_hits += search::search(conn, q, 20).unwrap().len();
        });
        report(label, &s, 10_000.0);
        assert!(total_hits > 0, "{label}: the queries find leads");
    }
    println!("load average after: {}", load_average());
}
