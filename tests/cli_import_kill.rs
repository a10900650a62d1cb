//! A kill -9 in the middle of a large import leaves an intact database, and running the same
//! import again completes it with every row recorded exactly once.

use crate::support;

use std::time::{Duration, Instant};
use support::{Sandbox, NOW};

/// Rows in the generated file: large enough that the import runs for seconds in a debug build
/// (about 2,000 rows a second on two cores), small enough to keep the test near half a minute;
/// small batches make sure several transactions commit before the kill.
const ROWS: &str = "20000";
const BATCH: &str = "100";

fn registrations(sandbox: &Sandbox) -> i64 {
    let conn = sandbox.sql();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    conn.query_row("SELECT count(*) FROM registration", [], |r| r.get(0))
        .unwrap_or(0)
}

/// The indexes a large import sets aside (`import::deferral::DEFERRED`).
const QUEUE_INDEXES: [&str; 3] = ["lead_new_queue", "lead_open_queue", "lead_due_queue"];

/// What a large import sets aside that a rule depends on: the unique index on submission ids,
/// and the intake-rule trigger while no rule exists (`people::registration::ensure_write_rules`).
const RULES: [&str; 2] = ["registration_by_submission", "cadence_enrol_by_rule"];

/// Whether indexes set aside by a bulk load are waiting to be built.
const PENDING: &str = "SELECT count(*) FROM setting WHERE key = 'bulk_load_indexes'";

/// Whether the leads' full-text index set aside by a bulk load is waiting to be rebuilt.
const SEARCH_PENDING: &str = "SELECT count(*) FROM setting WHERE key = 'bulk_load_search'";

/// Leads without a full-text entry (the index is contentless: entries are matched by rowid).
const UNINDEXED: &str = "SELECT count(*) FROM lead WHERE status <> 'erased'
     AND rowid NOT IN (SELECT rowid FROM lead_search)";

/// Whether the index or trigger `name` exists.
fn present(sandbox: &Sandbox, name: &str) -> bool {
    sandbox.count(&format!(
        "SELECT count(*) FROM sqlite_schema WHERE type IN ('index', 'trigger') AND name = '{name}'"
    )) == 1
}

/// The definitions of the database's indexes and triggers.
fn index_sql(sandbox: &Sandbox) -> Vec<String> {
    let conn = sandbox.sql();
    let mut stmt = conn
        .prepare("SELECT name || ': ' || sql FROM sqlite_schema WHERE type IN ('index', 'trigger') AND sql IS NOT NULL ORDER BY name")
        .unwrap();
    let names = stmt.query_map([], |r| r.get(0)).unwrap();
    names.collect::<rusqlite::Result<_>>().unwrap()
}

#[test]
fn a_killed_import_leaves_an_intact_database_and_a_rerun_completes_it() {
    let sandbox = Sandbox::init();
    let file = sandbox.path("demo.csv");
    let file = file.to_str().unwrap();
    sandbox
        .run(&[
            "demo-data",
            "--registrations",
            ROWS,
            "--seed",
            "7",
            "--out",
            file,
        ])
        .ok();

    // Start the import and kill it (SIGKILL) once some batches are committed.
    let mut child = sandbox
        .command(&["import", file, "--batch-size", BATCH, "--json"])
        .spawn()
        .expect("starting the import");
    let started = Instant::now();
    let mut seen = 0;
    while seen == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the import committed nothing within a minute"
        );
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the import finished ({status}) before it could be killed; raise ROWS");
        }
        std::thread::sleep(Duration::from_millis(50));
        seen = registrations(&sandbox);
    }
    child.kill().expect("SIGKILL"); // Child::kill sends SIGKILL on Unix.
    let status = child.wait().unwrap();
    assert!(!status.success(), "the import was not killed: {status}");

    assert_eq!(sandbox.integrity(), "ok");
    let partial = registrations(&sandbox);
    assert!(partial > 0);
    // A large import into an empty replica set the queue indexes aside; the killed file says
    // which, and the next command that opens it builds them before anything reads it.
    assert!(
        !QUEUE_INDEXES.iter().all(|i| present(&sandbox, i)),
        "the import kept every queue index: {}",
        sandbox.count(PENDING)
    );
    assert_eq!(sandbox.count(PENDING), 1);
    assert!(
        RULES.iter().all(|name| !present(&sandbox, name)),
        "the submission index and the rule trigger were set aside too"
    );
    // The leads' full-text entries were left for the import's end too.
    assert_eq!(sandbox.count(SEARCH_PENDING), 1);
    assert!(sandbox.count(UNINDEXED) > 0);
    let found = sandbox.run(&["leads", "search", "a"]);
    found.no_panic();
    found.ok();
    assert!(QUEUE_INDEXES.iter().all(|i| present(&sandbox, i)));
    assert!(RULES.iter().all(|name| present(&sandbox, name)));
    assert_eq!(sandbox.count(PENDING), 0);
    assert_eq!(sandbox.count(SEARCH_PENDING), 0);
    assert_eq!(sandbox.count(UNINDEXED), 0, "every lead searchable again");
    // Whole batches only: a crash never leaves part of a transaction behind.
    assert_eq!(
        sandbox
            .count("SELECT count(*) FROM registration WHERE lead_id NOT IN (SELECT id FROM lead)"),
        0
    );

    // The re-run completes the import. The same file imported in one go into a fresh database
    // is the reference; it runs alongside to keep the test short.
    let fresh = Sandbox::init();
    let reference = fresh
        .command(&["import", file, "--json"])
        .spawn()
        .expect("starting the reference import");
    let rerun = sandbox.run(&["import", file, "--batch-size", BATCH, "--json"]);
    rerun.no_panic();
    assert!(rerun.code == 0 || rerun.code == 2, "{}", rerun.stderr);
    let rerun = rerun.json();
    let reference = support::finish(reference.wait_with_output().unwrap());
    reference.no_panic();
    let reference = reference.json();

    assert_eq!(rerun["read"], reference["read"]);
    assert_eq!(rerun["rejected"], reference["rejected"]);
    for table in ["registration", "lead"] {
        let query = format!("SELECT count(*) FROM {table}");
        assert_eq!(
            sandbox.count(&query),
            fresh.count(&query),
            "{table} rows after kill and re-run differ from one clean import"
        );
    }
    assert_eq!(
        sandbox.count(
            "SELECT count(*) FROM (SELECT submission_id FROM registration
             WHERE submission_id IS NOT NULL GROUP BY submission_id HAVING count(*) > 1)"
        ),
        0
    );
    assert!(sandbox.count("SELECT count(*) FROM registration") > partial);
    assert_eq!(sandbox.integrity(), "ok");
    assert_eq!(
        index_sql(&sandbox),
        index_sql(&fresh),
        "every index and trigger back after the re-run"
    );
    assert_eq!(sandbox.count(PENDING), 0);
    assert_eq!(sandbox.count(SEARCH_PENDING), 0);
    assert_eq!(sandbox.count(UNINDEXED), 0);
    let entries = "SELECT count(*) FROM lead_search";
    assert_eq!(sandbox.count(entries), fresh.count(entries));
    assert_eq!(
        sandbox.count("SELECT count(*) FROM lead INDEXED BY lead_open_queue WHERE status IN ('new', 'working')"),
        sandbox.count("SELECT count(*) FROM lead WHERE status IN ('new', 'working')"),
    );

    // A third run finds everything already recorded.
    let third = sandbox.run(&["import", file, "--json"]).json();
    assert_eq!(third["created"], 0);
    assert_eq!(third["merged"], 0);
}

#[test]
fn demo_data_is_deterministic() {
    let sandbox = Sandbox::new();
    let a = sandbox.run(&["demo-data", "--registrations", "50", "--seed", "3"]);
    let b = sandbox.run(&["demo-data", "--registrations", "50", "--seed", "3"]);
    let c = sandbox.run(&["demo-data", "--registrations", "50", "--seed", "4"]);
    a.ok();
    assert_eq!(a.stdout, b.stdout);
    assert_ne!(a.stdout, c.stdout);
    assert_eq!(a.stdout.lines().count(), 51, "a header and 50 rows");
    assert!(!sandbox.db.exists(), "demo-data needs no database");
}

#[test]
fn demo_data_ends_now_and_demo_activity_works_the_imported_leads() {
    let sandbox = Sandbox::init();
    let csv = sandbox.path("demo.csv");
    let file = csv.to_str().unwrap();
    sandbox
        .run(&[
            "demo-data",
            "--registrations",
            "120",
            "--end",
            "now",
            "--out",
            file,
        ])
        .ok();
    // SWITCHBOARD_NOW is the sandbox's clock: every registration falls in the four weeks before it.
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(
        text.contains(&NOW[..7]),
        "registrations near the sandbox's now"
    );
    sandbox.run(&["import", file]).ok();

    let report = sandbox.json(&["demo-activity", "--reps", "anna,ben"]);
    let follow_ups = report["follow_ups"].as_i64().unwrap();
    assert!(follow_ups > 50, "{report}");
    assert_eq!(sandbox.count("SELECT count(*) FROM follow_up"), follow_ups);
    assert_eq!(
        sandbox.count("SELECT count(DISTINCT rep) FROM follow_up WHERE rep IN ('anna', 'ben')"),
        2
    );
    let later = format!("SELECT count(*) FROM follow_up WHERE occurred_at > '{NOW}'");
    assert_eq!(sandbox.count(&later), 0, "nothing after the clock's now");

    sandbox
        .run(&["demo-data", "--registrations", "1", "--end", "yesterday"])
        .expect(2)
        .stderr_mentions(&["--end", "now"]);
    sandbox.run(&["demo-activity", "--reps", " "]).expect(2);
}
