//! Benchmark 1 of issue 2: importing generated registrations from CSV, against a raw
//! prepared-statement insert of the same rows into a bare table in one transaction.
//!
//! `cargo run --release -p switchboard-core --bin bench_import -- [--rows N] [--dir DIR]`
//!
//! Each phase runs in its own child process so that its peak memory (VmHWM) is its own.
//! `BENCH_IMPORT_BESIDE_SYNC=1` ends a sync pull beside the import every 2 s (`BesideSync`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;
use switchboard_core::import::{import_file, ImportOptions};
use switchboard_core::{demo, Store};

struct Args {
    rows: usize,
    dir: Option<PathBuf>,
    phase: Option<String>,
    csv: Option<PathBuf>,
    db: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        rows: 1_000_000,
        dir: None,
        phase: None,
        csv: None,
        db: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--rows" => {
                args.rows = value()?
                    .replace('_', "")
                    .parse()
                    .map_err(|e| format!("--rows: {e}"))?
            }
            "--dir" => args.dir = Some(value()?.into()),
            "--phase" => args.phase = Some(value()?),
            "--csv" => args.csv = Some(value()?.into()),
            "--db" => args.db = Some(value()?.into()),
            "-h" | "--help" => {
                println!("bench_import [--rows N] [--dir DIR]");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(args)
}

/// Peak resident memory of this process in MiB (VmHWM), or 0 where /proc is missing.
fn peak_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// CPU seconds (user + system, all threads) this process has used, from `/proc/self/stat`
/// (clock ticks of 1/100 s), or 0 where /proc is missing. On a shared machine the wall time of
/// a phase grows with other work; its CPU time does not.
fn cpu_secs() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // The command name in parentheses may hold spaces: count fields after it.
            let rest = &s[s.rfind(')')? + 2..];
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let utime: f64 = fields.get(11)?.parse().ok()?;
            let stime: f64 = fields.get(12)?.parse().ok()?;
            Some((utime + stime) / 100.0)
        })
        .unwrap_or(0.0)
}

/// Bytes this process caused to be written to storage (`write_bytes` of `/proc/self/io`: the
/// WAL, the checkpoints and the file), or 0 where /proc is missing.
fn written_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/io")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("write_bytes:"))
                .and_then(|v| v.trim().parse().ok())
        })
        .unwrap_or(0)
}

/// The largest tables and indexes of a database and their size in MiB, from SQLite's `dbstat`.
fn sizes(db: &Path) -> Result<Vec<(String, f64)>, Box<dyn std::error::Error>> {
    let conn = rusqlite::Connection::open(db)?;
    let mut stmt = conn.prepare(
        "SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY sum(pgsize) DESC LIMIT 16",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((r.get(0)?, r.get::<_, i64>(1)? as f64 / 1048576.0))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The baseline: the csv crate and one prepared INSERT into a bare table, one transaction.
fn raw_phase(csv_path: &Path, db: &Path) -> Result<u64, Box<dyn std::error::Error>> {
    let mut conn = rusqlite::Connection::open(db)?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
         CREATE TABLE raw_registration (c0 TEXT, c1 TEXT, c2 TEXT, c3 TEXT, c4 TEXT, c5 TEXT,
           c6 TEXT, c7 TEXT, c8 TEXT, c9 TEXT, c10 TEXT, c11 TEXT, c12 TEXT, c13 TEXT, c14 TEXT,
           c15 TEXT, c16 TEXT, c17 TEXT);",
    )?;
    let mut reader = csv::Reader::from_path(csv_path)?;
    let tx = conn.transaction()?;
    let mut rows = 0u64;
    {
        let mut stmt = tx.prepare(
            "INSERT INTO raw_registration VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11,
             ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
        )?;
        let mut record = csv::StringRecord::new();
        while reader.read_record(&mut record)? {
            stmt.execute(rusqlite::params_from_iter(record.iter()))?;
            rows += 1;
        }
    }
    tx.commit()?;
    Ok(rows)
}

fn import_phase(csv_path: &Path, db: &Path) -> Result<u64, Box<dyn std::error::Error>> {
    let mut store = Store::open(db, None)?;
    let sync = std::env::var_os("BENCH_IMPORT_BESIDE_SYNC").map(|_| BesideSync::start(db));
    let report = import_file(&mut store, csv_path, &ImportOptions::default(), &mut |_| {})?;
    if let Some(sync) = sync {
        sync.stop();
    }
    eprintln!(
        "import: read {} created {} merged {} duplicates {} suppressed {} rejected {}",
        report.counts.read,
        report.counts.created,
        report.counts.merged,
        report.counts.duplicates,
        report.counts.suppressed,
        report.counts.rejected
    );
    Ok(report.counts.read)
}

/// `BENCH_IMPORT_BESIDE_SYNC=1`: the desktop's sync worker beside the import, on its own
/// connection, ending a pull every 2 s (`finish_if_pending`, which every pull's end calls).
/// Before the load's lock, the first such pull built what the import had set aside.
struct BesideSync {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<Vec<f64>>,
}

impl BesideSync {
    fn start(db: &Path) -> BesideSync {
        let store = Store::open(db, None).expect("the sync worker's connection");
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            let started = Instant::now();
            let mut built = Vec::new();
            while !stopped.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(std::time::Duration::from_secs(2));
                if switchboard_core::replica::bulk::finish_if_pending(store.conn()).unwrap_or(false)
                {
                    built.push(started.elapsed().as_secs_f64());
                }
            }
            built
        });
        BesideSync { stop, thread }
    }

    fn stop(self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let built = self.thread.join().unwrap();
        eprintln!("beside the import, a pull's end built its set-aside indexes at {built:.1?} s");
    }
}

/// Only the reader thread's work: CSV parsing, validation and normalisation, no database writes.
fn parse_phase(csv_path: &Path) -> Result<u64, Box<dyn std::error::Error>> {
    use switchboard_core::import::{csv::CsvRows, Parsed};
    use switchboard_core::intake::{clean, IntakeContext};
    let store = Store::open_in_memory(std::sync::Arc::new(switchboard_core::SystemClock))?;
    let ctx = IntakeContext::new(store.conn(), None, store.now(), "bench")?;
    let file = std::io::BufReader::new(std::fs::File::open(csv_path)?);
    let mut rows = 0;
    for item in CsvRows::new(file)? {
        if let Parsed::Row(raw) = item? {
            rows += 1;
            if let Ok(input) = raw.input {
                let _ = clean(&input, &ctx);
            }
        }
    }
    Ok(rows)
}

/// Runs one phase in this process and prints `rows seconds peak_mib` on stdout.
fn child(phase: &str, csv_path: &Path, db: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let start = Instant::now();
    let rows = match phase {
        "raw" => raw_phase(csv_path, db)?,
        "import" => import_phase(csv_path, db)?,
        "parse" => parse_phase(csv_path)?,
        other => return Err(format!("unknown phase {other}").into()),
    };
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{rows} {secs:.3} {:.1} {:.2} {}",
        peak_mib(),
        cpu_secs(),
        written_bytes()
    );
    Ok(())
}

/// What one phase measured.
struct Phase {
    rows: u64,
    secs: f64,
    peak: f64,
    cpu: f64,
    /// Bytes written to storage.
    written: f64,
}

impl Phase {
    fn rate(&self) -> f64 {
        self.rows as f64 / self.secs
    }

    /// CPU microseconds per row, all threads.
    fn cpu_us(&self) -> f64 {
        self.cpu * 1e6 / self.rows as f64
    }
}

fn run_child(phase: &str, csv_path: &Path, db: &Path) -> Result<Phase, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let out = Command::new(exe)
        .args(["--phase", phase, "--csv"])
        .arg(csv_path)
        .arg("--db")
        .arg(db)
        .output()
        .map_err(|e| e.to_string())?;
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    if !out.status.success() {
        return Err(format!("{phase} phase failed"));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let parts: Vec<&str> = text.split_whitespace().collect();
    let parse = |i: usize| parts.get(i).and_then(|p| p.parse::<f64>().ok());
    match (parse(0), parse(1), parse(2), parse(3), parse(4)) {
        (Some(rows), Some(secs), Some(peak), Some(cpu), Some(written)) => Ok(Phase {
            rows: rows as u64,
            secs,
            peak,
            cpu,
            written,
        }),
        _ => Err(format!("{phase} phase printed {text:?}")),
    }
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    if let Some(phase) = &args.phase {
        let (Some(csv_path), Some(db)) = (&args.csv, &args.db) else {
            eprintln!("--phase needs --csv and --db");
            std::process::exit(2);
        };
        if let Err(e) = child(phase, csv_path, db) {
            eprintln!("{e}");
            std::process::exit(1);
        }
        return;
    }
    let dir = args.dir.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("bench_import_{}", std::process::id()))
    });
    if let Err(e) = run(&args, &dir) {
        eprintln!("{e}");
        std::process::exit(1);
    }
}

fn run(args: &Args, dir: &Path) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(dir)?;
    let csv_path = dir.join("registrations.csv");
    // The generator is deterministic (seed 1): a file made for the same row count is reused.
    let marker = dir.join("registrations.rows");
    let reuse = std::fs::read_to_string(&marker)
        .ok()
        .as_deref()
        .map(str::trim)
        == Some(&args.rows.to_string())
        && csv_path.exists();
    let started = Instant::now();
    if !reuse {
        let _ = std::fs::remove_file(&marker);
        let file = std::io::BufWriter::new(std::fs::File::create(&csv_path)?);
        demo::generate(args.rows, 1, file)?;
        std::fs::write(&marker, args.rows.to_string())?;
    }
    let size = std::fs::metadata(&csv_path)?.len();
    println!(
        "{} {} registrations ({:.1} MiB) in {:.1} s",
        if reuse { "reused" } else { "generated" },
        args.rows,
        size as f64 / 1048576.0,
        started.elapsed().as_secs_f64()
    );
    let raw_db = dir.join("raw.db");
    let import_db = dir.join("import.db");
    let remove = |db: &Path| {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }
    };
    remove(&raw_db);
    remove(&import_db);
    // The databases are removed as soon as they are measured: a million rows make 1.7 GB.
    let raw = run_child("raw", &csv_path, &raw_db)?;
    remove(&raw_db);
    let parse = run_child("parse", &csv_path, &import_db)?;
    let import = run_child("import", &csv_path, &import_db)?;
    let db_mib = std::fs::metadata(&import_db).map_or(0.0, |m| m.len() as f64 / 1048576.0);
    let largest = sizes(&import_db)?;
    remove(&import_db);
    println!("import database: {db_mib:.0} MiB; largest tables and indexes (MiB):");
    for (name, mib) in largest {
        println!("  {mib:8.1}  {name}");
    }
    for (name, p) in [
        ("raw insert ", &raw),
        ("parse only ", &parse),
        ("import_file", &import),
    ] {
        println!(
            "{name}: {} rows in {:.2} s = {:.0} rows/s, CPU {:.2} s = {:.1} us/row, peak {:.1} MiB, wrote {:.0} MiB",
            p.rows,
            p.secs,
            p.rate(),
            p.cpu,
            p.cpu_us(),
            p.peak,
            p.written / 1048576.0
        );
    }
    println!(
        "ratio {:.3} (goal >= 0.5), import peak {:.1} MiB (goal < 200)",
        import.rate() / raw.rate(),
        import.peak
    );
    Ok(())
}
