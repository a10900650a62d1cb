//! Enrolling an import's leads in a cadence (issue 12), on a real SQLite file: every new or
//! merged lead enrolled once — also when an intake rule already enrolled it at intake — progress
//! reported, and a cancelled import leaving exactly its committed batches' leads enrolled.

use chrono::{DateTime, TimeZone, Utc};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use switchboard_app::jobs::{self, CadenceEnrolment, ImportEnrolment, JobControl};
use switchboard_core::cadence::{definition, Rule};
use switchboard_core::import::{self, ImportOptions};
use switchboard_core::protocol::RegistrationKind;
use switchboard_core::{FixedClock, Store};

/// Monday 2 March 2026, 09:00 UTC.
fn monday() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}

/// A store with the cadence "Welcome" (a mail) and "Demo follow-up" (a call), into which every
/// demo registration is enrolled by rule.
fn store(dir: &Path) -> Store {
    let mut store = Store::open_with_clock(
        &dir.join("replica.db"),
        None,
        Arc::new(FixedClock::at(monday())),
    )
    .unwrap();
    let step = |s: &str| vec![definition::parse_step(s).unwrap()];
    store
        .with_tx_now(|tx, at| {
            definition::save(tx, "Welcome", &step("email=hello"), "manager", at)?;
            definition::save(tx, "Demo follow-up", &step("call=Book it"), "manager", at)?;
            let demos = Rule {
                kind: Some(RegistrationKind::Demo),
                ..Rule::default()
            };
            definition::add_rule(tx, "Demo follow-up", &demos, "manager", at)
        })
        .unwrap();
    store
}

/// A CSV of `kinds.len()` registrations from German leads, `person{first + i}@example.com`.
fn csv(dir: &Path, name: &str, first: usize, kinds: &[&str]) -> PathBuf {
    let mut text = String::from("Submission ID,E-mail,Name,Phone,Country,Type\n");
    for (i, kind) in kinds.iter().enumerate() {
        let n = first + i;
        text.push_str(&format!(
            "{name}-{n},person{n}@example.com,Person {n},+49 30 {},DE,{kind}\n",
            2_000_000 + n
        ));
    }
    let path = dir.join(format!("{name}.csv"));
    std::fs::write(&path, text).unwrap();
    path
}

/// Each (lead email, cadence name, enrolments of that lead in that cadence), sorted.
fn enrolments(store: &Store) -> Vec<(String, String, i64)> {
    store
        .conn()
        .prepare(
            "SELECT l.email, c.name, count(*) FROM cadence_enrollment e
             JOIN lead l ON l.id = e.lead_id JOIN cadence c ON c.id = e.cadence_id
             GROUP BY 1, 2 ORDER BY 1, 2",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

fn import(shared: &Mutex<Store>, file: &Path, cadence: &str) -> jobs::ImportSummary {
    let mut reports = 0;
    let summary = jobs::import_file(
        shared,
        file,
        "rep.anna",
        Some(cadence),
        &JobControl::default(),
        |_| reports += 1,
    )
    .unwrap();
    assert!(reports >= 1, "progress is reported after each batch");
    summary
}

#[test]
fn every_imported_lead_is_enrolled_once_even_when_a_rule_enrolled_it_at_intake() {
    let dir = tempfile::tempdir().unwrap();
    let shared = Mutex::new(store(dir.path()));
    let file = csv(dir.path(), "first", 0, &["demo", "quote", "demo"]);

    // Into the cadence the rule also enrols demo registrations in.
    let summary = import(&shared, &file, "demo follow-up");
    assert_eq!(summary.created, 3);
    assert_eq!(
        summary.enrolment,
        Some(ImportEnrolment {
            cadence: "Demo follow-up".into(),
            enrolled: 1,
            already: 2,
            skipped: 0,
        })
    );
    let once = |email: &str, cadence: &str| (email.to_string(), cadence.to_string(), 1);
    let expected = vec![
        once("person0@example.com", "Demo follow-up"),
        once("person1@example.com", "Demo follow-up"),
        once("person2@example.com", "Demo follow-up"),
    ];
    assert_eq!(enrolments(&shared.lock().unwrap()), expected);

    // Into another cadence: a demo lead registering again (merged) is in both, once each; the
    // same file again records nothing and enrols nobody twice.
    let again = csv(dir.path(), "second", 2, &["quote", "quote"]);
    let summary = import(&shared, &again, "Welcome");
    assert_eq!((summary.created, summary.merged), (1, 1), "{summary:?}");
    assert_eq!(summary.enrolment.as_ref().map(|e| e.enrolled), Some(2));
    let summary = import(&shared, &again, "Welcome");
    assert_eq!(summary.duplicates, 2);
    assert_eq!(summary.enrolment.as_ref().map(|e| e.enrolled), Some(0));
    let expected = vec![
        once("person0@example.com", "Demo follow-up"),
        once("person1@example.com", "Demo follow-up"),
        once("person2@example.com", "Demo follow-up"),
        once("person2@example.com", "Welcome"),
        once("person3@example.com", "Welcome"),
    ];
    assert_eq!(enrolments(&shared.lock().unwrap()), expected);

    // An unknown cadence is refused before anything is imported.
    let third = csv(dir.path(), "third", 10, &["quote"]);
    let err = jobs::import_file(
        &shared,
        &third,
        "rep.anna",
        Some("Nope"),
        &JobControl::default(),
        |_| {},
    )
    .unwrap_err();
    assert_eq!(err.code(), "not_found");
    let leads: i64 = shared
        .lock()
        .unwrap()
        .conn()
        .query_row("SELECT count(*) FROM lead", [], |r| r.get(0))
        .unwrap();
    assert_eq!(leads, 4);
}

#[test]
fn a_cancelled_import_leaves_exactly_its_committed_leads_enrolled() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = store(dir.path());
    let file = csv(dir.path(), "big", 0, &["quote"; 10]);
    let enrolment = CadenceEnrolment::new(&store, "Welcome", "rep.anna", monday()).unwrap();
    let cancel = Arc::new(AtomicBool::new(false));
    let options = ImportOptions {
        batch_size: 3,
        cancel: Some(cancel.clone()),
        after_batch: Some(enrolment.hook()),
        ..ImportOptions::default()
    };
    let mut batches = 0;
    let report = import::import_file(&mut store, &file, &options, &mut |p| {
        batches += 1;
        // Each report comes after a batch committed, its leads enrolled with it.
        assert_eq!(u64::from(enrolment.done().enrolled), p.counts.created);
        if batches == 2 {
            cancel.store(true, Ordering::Relaxed);
        }
    })
    .unwrap();
    assert!(report.cancelled);
    assert_eq!(report.counts.created, 6);
    assert_eq!(enrolment.done().enrolled, 6);
    assert_eq!(enrolments(&store).len(), 6);
}
