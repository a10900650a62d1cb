//! The export jobs on a real SQLite file: whole files, progress in rows, cancel leaving nothing,
//! and the window's shared store free while they run.

use chrono::{DateTime, Duration, Utc};
use std::path::Path;
use std::sync::{Arc, Mutex};
use switchboard_app::jobs::{self, Dataset, JobControl};
use switchboard_core::audience::Segment;
use switchboard_core::followup::{self, LogFollowUp};
use switchboard_core::history::HistoryQuery;
use switchboard_core::protocol::{Channel, Direction, Outcome};
use switchboard_core::{FixedClock, Store};

fn at() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-02T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// `leads` leads who may be mailed (a trial each), each with `calls` emails sent.
fn store(dir: &Path, leads: usize, calls: usize) -> Mutex<Store> {
    let mut store = Store::open_with_clock(
        &dir.join("replica.db"),
        None,
        Arc::new(FixedClock::at(at())),
    )
    .unwrap();
    store
        .with_tx(|tx| {
            for i in 0..leads {
                let id = format!("lead-{i:05}");
                tx.execute(
                    "INSERT INTO lead(id, name, company, email, country, created_at,
                     last_registered_at) VALUES (?1, 'Ann \"Quoted\" Example', 'Acme',
                     ?2, 'DE', '2026-03-01T10:00:00.000Z', '2026-03-01T10:00:00.000Z')",
                    rusqlite::params![id, format!("{id}@example.com")],
                )?;
                tx.execute(
                    "INSERT INTO registration(id, lead_id, kind, product, submitted_at,
                     received_at) VALUES (?1, ?2, 'trial', 'Widget',
                     '2026-03-01T10:00:00.000Z', '2026-03-01T10:00:00.000Z')",
                    rusqlite::params![format!("reg-{id}"), id],
                )?;
                for c in 0..calls {
                    let input = LogFollowUp {
                        lead: id.clone(),
                        channel: Channel::Email,
                        direction: Direction::Out,
                        outcome: Outcome::Sent,
                        note: Some(format!("call {c}\nsecond line, with a comma")),
                        occurred_at: at() - Duration::minutes(c as i64),
                        rep: "ann".into(),
                        next_follow_up_at: None,
                    };
                    followup::log(tx, &input, at())?;
                }
            }
            Ok(())
        })
        .unwrap();
    Mutex::new(store)
}

fn every_follow_up() -> HistoryQuery {
    HistoryQuery {
        lead_id: None,
        rep: None,
        office: None,
        since: None,
        until: None,
        channel: None,
        outcome: None,
        direction: None,
        offset: 0,
        limit: 0,
    }
}

fn csv_records(path: &Path) -> usize {
    csv::Reader::from_path(path).unwrap().records().count()
}

#[test]
fn an_export_writes_every_row_and_reports_progress_while_the_store_stays_free() {
    let dir = tempfile::tempdir().unwrap();
    let shared = store(dir.path(), 300, 4);
    let out = dir.path().join("history.csv");
    let mut seen = Vec::new();
    let mut store_was_free = true;
    let rows = jobs::export_file(
        &shared,
        &Dataset::History(every_follow_up()),
        &out,
        &JobControl::default(),
        |rows| {
            seen.push(rows);
            store_was_free &= shared.try_lock().is_ok();
        },
    )
    .unwrap();
    assert_eq!(rows, Some(1200));
    assert_eq!(csv_records(&out), 1200);
    assert!(seen.len() > 1, "progress came once: {seen:?}");
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
    assert_eq!(seen.last(), Some(&1200));
    assert!(store_was_free, "the job held the window's store");

    let leads = dir.path().join("leads.csv");
    let rows = jobs::export_file(
        &shared,
        &Dataset::Leads,
        &leads,
        &JobControl::default(),
        |_| {},
    );
    assert_eq!(rows.unwrap(), Some(300));
    assert_eq!(csv_records(&leads), 300);
}

#[test]
fn a_cancelled_export_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let shared = store(dir.path(), 300, 4);
    let out = dir.path().join("history.csv");
    let control = JobControl::default();
    let mut seen = Vec::new();
    let rows = jobs::export_file(
        &shared,
        &Dataset::History(every_follow_up()),
        &out,
        &control,
        |rows| {
            seen.push(rows);
            control.cancel();
        },
    )
    .unwrap();
    assert_eq!(rows, None);
    assert_eq!(seen.len(), 1, "the export went on after Cancel: {seen:?}");
    assert!(!out.exists());
    assert!(!dir.path().join("history.csv.partial").exists());
}

#[test]
fn an_audience_export_is_recorded_with_its_whole_file_or_not_at_all() {
    let dir = tempfile::tempdir().unwrap();
    let shared = store(dir.path(), 400, 0);
    let everyone = Segment::parse("").unwrap();
    let recorded = |shared: &Mutex<Store>| -> i64 {
        let store = shared.lock().unwrap();
        let count = "SELECT count(*) FROM audience_export";
        store.conn().query_row(count, [], |r| r.get(0)).unwrap()
    };

    let cancelled = dir.path().join("cancelled.csv");
    let control = JobControl::default();
    let done = jobs::export_audience(&shared, &everyone, &cancelled, "ann", &control, |_| {
        control.cancel()
    });
    assert_eq!(done.unwrap(), None);
    assert!(!cancelled.exists());
    assert_eq!(recorded(&shared), 0);

    let out = dir.path().join("audience.csv");
    let control = JobControl::default();
    let export = jobs::export_audience(&shared, &everyone, &out, "ann", &control, |_| {})
        .unwrap()
        .expect("not cancelled");
    assert_eq!(export.count, 400);
    assert_eq!(export.exported_by, "ann");
    assert_eq!(csv_records(&out), 400);
    assert_eq!(recorded(&shared), 1);
}
