use super::*;
use crate::{FixedClock, Store};
use chrono::{TimeZone, Utc};
use std::io::Write;

fn store() -> Store {
    let at = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
    Store::open_in_memory(Arc::new(FixedClock::at(at))).unwrap()
}

fn import(store: &mut Store, text: &[u8], format: Format) -> ImportReport {
    let options = ImportOptions {
        batch_size: 2,
        ..ImportOptions::default()
    };
    import_reader(store, text, 0, format, &options, &mut |_| {}).unwrap()
}

#[test]
fn a_cancelled_import_keeps_its_committed_batches_and_a_rerun_records_only_the_rest() {
    let mut text = String::from("Submission ID,E-mail,First Name\n");
    for i in 0..10 {
        text.push_str(&format!("sub{i},person{i}@example.com,Person {i}\n"));
    }
    let mut s = store();
    let cancel = Arc::new(AtomicBool::new(false));
    let options = ImportOptions {
        batch_size: 2,
        cancel: Some(cancel.clone()),
        ..ImportOptions::default()
    };
    let mut batches = 0;
    let report = import_reader(
        &mut s,
        text.as_bytes(),
        0,
        Format::Csv,
        &options,
        &mut |_| {
            batches += 1;
            // Pressed while the second batch is being written: it is committed, then the import stops.
            if batches == 2 {
                cancel.store(true, Ordering::Relaxed);
            }
        },
    )
    .unwrap();
    assert!(report.cancelled);
    assert_eq!((report.counts.read, report.counts.created), (4, 4));
    let leads: i64 = s
        .conn()
        .query_row("SELECT count(*) FROM lead", [], |r| r.get(0))
        .unwrap();
    assert_eq!(leads, 4);
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["cancelled"], true);

    let rerun = import(&mut s, text.as_bytes(), Format::Csv);
    assert!(!rerun.cancelled);
    assert_eq!((rerun.counts.created, rerun.counts.duplicates), (6, 4));
    assert!(serde_json::to_value(&rerun)
        .unwrap()
        .get("cancelled")
        .is_none());
}

const HEADER: &str = "Submission ID,Type,First Name,Last Name,Company,E-mail,Phone Number,Country,IP Address,User Agent,Referrer,Pages Visited,Submitted At,Favourite Colour\r\n";

fn good_rows() -> String {
    let mut text = String::from('\u{feff}');
    text.push_str(HEADER);
    text.push_str("s1,License Key,Ann,Example,Acme,ann@example.com,030 1234567,DE,203.0.113.7,Mozilla/5.0,https://search.example/,/pricing|/download,2026-03-01T10:00:00Z,blue\r\n");
    text.push_str("s2,Demo,Bob,\"Multi\r\nLine\",\"Bob & Co, Ltd\",BOB@example.com,(415) 555-2671,USA,198.51.100.2,curl,,/demo,2026-03-01 11:00:00,red\r\n");
    text.push_str("s3,Demo,Ann,Example,,ANN@example.com ,,Germany,,,,,2026-03-01T12:00:00Z,\r\n");
    text
}

#[test]
fn a_csv_export_with_bom_crlf_and_quoted_newlines_imports() {
    let mut s = store();
    let mut text = good_rows();
    text.push_str(
        "s1,License Key,Ann,Example,Acme,ann@example.com,,DE,,,,,2026-03-01T10:00:00Z,\r\n",
    );
    let report = import(&mut s, text.as_bytes(), Format::Csv);
    assert_eq!(
        (
            report.counts.read,
            report.counts.created,
            report.counts.merged,
            report.counts.duplicates
        ),
        (4, 2, 1, 1)
    );
    assert_eq!(report.counts.rejected, 0);
    assert!(report.errors.is_empty());
    assert_eq!(
        report.warnings,
        [
            RowError {
                line: 1,
                reason: "unknown column 'Favourite Colour' ignored".into()
            },
            RowError {
                line: 3,
                reason: "the row runs from line 3 to line 4: a quoted field holds line breaks"
                    .into()
            }
        ]
    );
    let (name, phone, company): (String, String, String) = s
        .conn()
        .query_row(
            "SELECT name, phone, company FROM lead WHERE email = 'bob@example.com'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(name, "Bob Multi Line");
    assert_eq!(phone, "+14155552671");
    assert_eq!(company, "Bob & Co, Ltd");
}

#[test]
fn bad_rows_are_reported_with_their_line_numbers_and_good_rows_imported() {
    let mut s = store();
    let mut text = HEADER.as_bytes().to_vec();
    let rows: Vec<Vec<u8>> = vec![
        // line 2: good
        b"g1,Demo,Ann,Example,Acme,ann@example.com,,DE,,,,,2026-03-01T10:00:00Z,\r\n".to_vec(),
        // line 3-4: quoted newline, no email and no phone
        b"b1,Demo,\"No\nContact\",X,,,,DE,,,,,2026-03-01T10:00:00Z,\r\n".to_vec(),
        // line 5: invalid email, no phone
        b"b2,Demo,Cy,Z,,cy-at-example.com,,DE,,,,,2026-03-01T10:00:00Z,\r\n".to_vec(),
        // line 6: a field over its limit (company: 300 bytes)
        format!(
            "b3,Demo,Dee,Z,{},dee@example.com,,DE,,,,,2026-03-01T10:00:00Z,\r\n",
            "x".repeat(65 * 1024)
        )
        .into_bytes(),
        // line 7: a NUL byte
        b"b4,Demo,E\0d,Z,,ed@example.com,,DE,,,,,2026-03-01T10:00:00Z,\r\n".to_vec(),
        // line 8: invalid UTF-8
        b"b5,Demo,F\xffo,Z,,fo@example.com,,DE,,,,,2026-03-01T10:00:00Z,\r\n".to_vec(),
        // line 9: in the future
        b"b6,Demo,Gi,Z,,gi@example.com,,DE,,,,,2027-01-01T00:00:00Z,\r\n".to_vec(),
        // line 10: too few fields
        b"b7,Demo,Hu\r\n".to_vec(),
        // line 11: an invalid phone next to a good email (refused, like the server's intake)
        b"g2,Demo,Ida,Z,,ida@example.com,12,DE,,,,,2026-03-01T10:00:00Z,\r\n".to_vec(),
    ];
    for row in rows {
        text.extend_from_slice(&row);
    }
    let report = import(&mut s, &text, Format::Csv);
    assert_eq!(report.counts.read, 9);
    assert_eq!(report.counts.created, 1);
    assert_eq!(report.counts.rejected, 8);
    let lines: Vec<u64> = report.errors.iter().map(|e| e.line).collect();
    assert_eq!(lines, [3, 5, 6, 7, 8, 9, 10, 11]);
    let reasons: Vec<&str> = report.errors.iter().map(|e| e.reason.as_str()).collect();
    assert_eq!(reasons[0], "neither an email address nor a phone number");
    assert_eq!(reasons[1], "invalid email: it has no @");
    assert_eq!(
        reasons[2],
        "company is 66560 bytes long; the limit is 300 bytes (shorten it or leave it out)"
    );
    assert_eq!(reasons[3], "name contains a NUL byte");
    assert_eq!(reasons[4], "column 3 is not valid UTF-8");
    assert!(reasons[5].contains("in the future"));
    assert_eq!(reasons[6], "the row has 3 fields but the header has 14");
    assert!(
        reasons[7].contains("invalid phone number"),
        "{}",
        reasons[7]
    );
    let leads: i64 = s
        .conn()
        .query_row("SELECT count(*) FROM lead", [], |r| r.get(0))
        .unwrap();
    assert_eq!(leads, 1);
}

/// Issue 10, defect 7: one unclosed quote on line 3 of 10,000 rows once read as 2 rows.
#[test]
fn a_stray_quote_on_line_3_rejects_that_line_and_imports_the_other_9999_rows() {
    let mut text = String::from("Submission ID,E-mail,First Name\n");
    for i in 0..10_000 {
        if i == 1 {
            text.push_str("sub1,person1@example.com,\"Person 1\n");
        } else {
            text.push_str(&format!("sub{i},person{i}@example.com,Person {i}\n"));
        }
    }
    let mut s = store();
    let options = ImportOptions::default();
    let report = import_reader(
        &mut s,
        text.as_bytes(),
        0,
        Format::Csv,
        &options,
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(report.counts.read, 10_000);
    assert_eq!((report.counts.created, report.counts.rejected), (9_999, 1));
    assert_eq!(report.errors.len(), 1);
    assert_eq!(report.errors[0].line, 3);
    assert!(
        report.errors[0]
            .reason
            .contains("quote on line 3 is probably not closed")
            && report.errors[0]
                .reason
                .ends_with("reading goes on at line 4"),
        "{:?}",
        report.errors
    );
    let leads: i64 = s
        .conn()
        .query_row("SELECT count(*) FROM lead", [], |r| r.get(0))
        .unwrap();
    assert_eq!(leads, 9_999);
}

#[test]
fn json_lines_import_like_csv() {
    let mut s = store();
    let text = concat!(
        "{\"submission_id\":\"j1\",\"kind\":\"trial\",\"name\":\"Ann Example\",\"email\":\"ann@example.com\",\"country\":\"DE\",\"pages_visited\":[\"/a\"],\"submitted_at\":\"2026-03-01T10:00:00Z\"}\n",
        "{oops\n",
        "{\"submission_id\":\"j2\",\"kind\":\"demo\",\"email\":\"Ann@Example.com\",\"phone\":\"+49 30 1234567\",\"submitted_at\":\"2026-03-01T11:00:00Z\"}\n",
    );
    let report = import(&mut s, text.as_bytes(), Format::Jsonl);
    assert_eq!(
        (
            report.counts.read,
            report.counts.created,
            report.counts.merged
        ),
        (3, 1, 1)
    );
    assert_eq!(report.errors.len(), 1);
    assert_eq!(report.errors[0].line, 2);
    assert!(report.errors[0].reason.starts_with("not a JSON object"));
}

#[test]
fn re_running_a_file_imports_nothing_twice() {
    let mut s = store();
    let mut text = good_rows();
    // Rows without a submission id rely on the content key.
    text.push_str(",Demo,Jo,No-Id,,jo@example.com,,FR,,,,,2026-03-01T13:00:00Z,\r\n");
    let first = import(&mut s, text.as_bytes(), Format::Csv);
    assert_eq!(first.counts.created + first.counts.merged, 4);
    let before = snapshot(&s);
    let second = import(&mut s, text.as_bytes(), Format::Csv);
    assert_eq!(second.counts.duplicates, 4);
    assert_eq!(second.counts.created + second.counts.merged, 0);
    assert_eq!(snapshot(&s), before);
}

#[test]
fn a_re_import_after_an_erasure_reports_the_person_suppressed() {
    let mut s = store();
    let text = good_rows();
    import(&mut s, text.as_bytes(), Format::Csv);
    let now = s.now();
    s.with_tx(|tx| {
        crate::compliance::suppression::suppress(
            tx,
            crate::compliance::suppression::Identifier::Email,
            "ann@example.com",
            now,
        )?;
        tx.execute(
            "DELETE FROM registration WHERE email = 'ann@example.com'",
            [],
        )?;
        Ok(())
    })
    .unwrap();
    let again = import(&mut s, text.as_bytes(), Format::Csv);
    assert_eq!((again.counts.suppressed, again.counts.duplicates), (2, 1));
}

#[test]
fn the_report_serialises_with_the_documented_keys() {
    let report = ImportReport {
        counts: ImportCounts {
            read: 2,
            rejected: 1,
            ..ImportCounts::default()
        },
        errors: vec![RowError {
            line: 3,
            reason: "bad".into(),
        }],
        ..ImportReport::default()
    };
    let json = serde_json::to_value(&report).unwrap();
    for key in [
        "read",
        "created",
        "merged",
        "duplicates",
        "suppressed",
        "rejected",
        "errors",
    ] {
        assert!(json.get(key).is_some(), "{key}");
    }
    assert_eq!(json["errors"][0]["line"], 3);
    assert!(json.get("omitted").is_none());
    // The counts come first, in this order (the CLI's `--json` and the window read them).
    let text = serde_json::to_string(&report).unwrap();
    assert!(
        text.starts_with(
            r#"{"read":2,"created":0,"merged":0,"duplicates":0,"suppressed":0,"rejected":1,"errors":["#
        ),
        "{text}"
    );
}

/// Everything an import writes, without random ids, in a stable order.
pub(super) fn snapshot(s: &Store) -> Vec<String> {
    let mut out = Vec::new();
    for sql in [
        "SELECT name, company, email, phone, address, country, time_zone, created_at,
                last_registered_at, status FROM lead ORDER BY email, phone",
        // Content keys are keyed per database, so only their kind is compared.
        "SELECT l.email, l.phone, substr(r.submission_id, 1, 8), r.kind, r.submitted_at,
                r.name, r.email, r.phone, r.country, r.ip, r.pages_visited
         FROM registration r JOIN lead l ON l.id = r.lead_id
         ORDER BY r.submitted_at, r.email, r.kind, r.ip",
        "SELECT entity, count(*) FROM outbox GROUP BY entity ORDER BY entity",
        "SELECT action, field, old_value, new_value, count(*) FROM audit
         GROUP BY action, field, old_value, new_value ORDER BY 1, 2, 3, 4",
        "SELECT count(*) FROM lead_search",
    ] {
        out.extend(rows(s, sql));
    }
    out
}

/// Every row `sql` selects, its columns joined by `|` (shared with `order::tests`).
pub(super) fn rows(s: &Store, sql: &str) -> Vec<String> {
    let mut stmt = s.conn().prepare(sql).unwrap();
    let n = stmt.column_count();
    let rows = stmt
        .query_map([], |r| {
            let mut cols = Vec::new();
            for i in 0..n {
                let v: rusqlite::types::Value = r.get(i)?;
                cols.push(format!("{v:?}"));
            }
            Ok(cols.join("|"))
        })
        .unwrap();
    rows.map(|r| r.unwrap()).collect()
}

#[test]
fn an_interrupted_import_re_run_equals_one_uninterrupted_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("regs.csv");
    let mut file = File::create(&path).unwrap();
    crate::demo::generate(400, 7, &mut file).unwrap();
    file.flush().unwrap();
    let options = ImportOptions {
        batch_size: 50,
        ..ImportOptions::default()
    };

    let mut whole = store();
    let report = import_file(&mut whole, &path, &options, &mut |_| {}).unwrap();
    assert_eq!(report.counts.read, 400);
    assert!(
        report.counts.merged > 0 && report.counts.duplicates > 0,
        "{report:?}"
    );

    let mut broken = store();
    // A crash after three committed batches: the progress callback is called after each
    // commit, so panicking there stops the import between batches like a kill would.
    let crashed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut batches = 0;
        import_file(&mut broken, &path, &options, &mut |_| {
            batches += 1;
            if batches == 3 {
                panic!("simulated crash");
            }
        })
    }));
    assert!(crashed.is_err());
    let partial: i64 = broken
        .conn()
        .query_row("SELECT count(*) FROM registration", [], |r| r.get(0))
        .unwrap();
    assert!(partial > 0 && partial < report.counts.created as i64 + report.counts.merged as i64);
    let rerun = import_file(&mut broken, &path, &options, &mut |_| {}).unwrap();
    assert_eq!(rerun.counts.read, 400);
    assert_eq!(
        rerun.counts.created + rerun.counts.merged,
        report.counts.created + report.counts.merged - partial as u64
    );
    let (got, want) = (snapshot(&broken), snapshot(&whole));
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g, w);
    }
    assert_eq!(got.len(), want.len());
}

#[test]
fn progress_is_reported_after_each_batch() {
    let mut s = store();
    let text = good_rows();
    let mut seen = Vec::new();
    let options = ImportOptions {
        batch_size: 1,
        ..ImportOptions::default()
    };
    import_reader(
        &mut s,
        text.as_bytes(),
        text.len() as u64,
        Format::Csv,
        &options,
        &mut |p| seen.push(p.counts.read),
    )
    .unwrap();
    assert_eq!(seen, [1, 2, 3, 3]);
}

#[test]
fn a_batch_that_held_the_write_lock_its_longest_commits_early() {
    let mut s = store();
    let text = good_rows();
    let mut seen = Vec::new();
    // Every batch has held the lock "too long" after its first row: one row per commit, and
    // the rows still all land once.
    let options = ImportOptions {
        batch_size: 1_000,
        longest_batch: Duration::ZERO,
        ..ImportOptions::default()
    };
    let report = import_reader(
        &mut s,
        text.as_bytes(),
        text.len() as u64,
        Format::Csv,
        &options,
        &mut |p| seen.push(p.counts.read),
    )
    .unwrap();
    assert_eq!(seen, [1, 2, 3, 3]);
    assert_eq!(report.counts.read, 3);
    let default = ImportOptions::default();
    assert_eq!(default.longest_batch, LONGEST_BATCH);
    assert!(
        LONGEST_BATCH < Duration::from_secs(5),
        "under the busy timeout"
    );
}

#[test]
fn a_missing_file_is_an_io_error() {
    let mut s = store();
    let err = import_file(
        &mut s,
        Path::new("/nonexistent/regs.csv"),
        &ImportOptions::default(),
        &mut |_| {},
    )
    .unwrap_err();
    assert_eq!(err.code(), "io");
}

#[test]
fn an_import_gives_back_the_connection_settings_it_changed_even_when_it_fails() {
    let mut s = store();
    let pragmas = |s: &Store| -> (i64, i64) {
        let read = |name: &str| {
            s.conn()
                .query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
                .unwrap()
        };
        (read("cache_size"), read("wal_autocheckpoint"))
    };
    s.conn().pragma_update(None, "cache_size", -1000).unwrap();
    let before = pragmas(&s);
    let options = ImportOptions::default();
    let mut during = None;
    import_reader(
        &mut s,
        &b"Email\nann@example.com\n"[..],
        0,
        Format::Csv,
        &options,
        &mut |_| during = Some(()),
    )
    .unwrap();
    assert!(during.is_some());
    assert_eq!(pragmas(&s), before);
    // A header whose quote never closes fails the whole file; the settings come back all the same.
    let failed = import_reader(
        &mut s,
        &b"Email,\"Name\na@example.com,A\n"[..],
        0,
        Format::Csv,
        &options,
        &mut |_| {},
    );
    assert!(failed.is_err());
    assert_eq!(pragmas(&s), before);
}

/// Every index's name and definition, in name order.
/// The definitions of the database's indexes and triggers (an import sets some of each aside).
fn index_sql(s: &Store) -> Vec<String> {
    s.conn()
        .prepare(
            "SELECT name || ': ' || sql FROM sqlite_schema
             WHERE type IN ('index', 'trigger') AND sql IS NOT NULL ORDER BY name",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

fn demo_rows(rows: usize) -> Vec<u8> {
    let mut text = Vec::new();
    crate::demo::generate(rows, 7, &mut text).unwrap();
    text
}

/// A stream declared as large as `rows` rows of `deferral`'s estimate.
fn as_large_as(rows: u64) -> u64 {
    rows * 512
}

#[test]
fn a_large_import_sets_aside_the_queue_indexes_and_builds_them_back_as_they_were() {
    let mut s = store();
    let before = index_sql(&s);
    let text = demo_rows(300);
    let during = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = during.clone();
    let options = ImportOptions {
        batch_size: 100,
        after_batch: Some(AfterBatch(Arc::new(move |conn, _| {
            let missing: i64 = conn.query_row(
                "SELECT count(*) FROM json_each(?1)
                 WHERE value NOT IN (SELECT name FROM sqlite_schema WHERE type = 'index')",
                [serde_json::to_string(deferral::DEFERRED).unwrap()],
                |r| r.get(0),
            )?;
            let pending =
                crate::store::settings::get_setting(conn, crate::store::deferred_indexes::PENDING)?;
            seen.lock().unwrap().push((missing, pending.is_some()));
            Ok(())
        }))),
        ..ImportOptions::default()
    };
    let report = import_reader(
        &mut s,
        &text[..],
        as_large_as(5_000),
        Format::Csv,
        &options,
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(report.counts.read, 300);
    let during = during.lock().unwrap();
    assert!(during.len() >= 3, "{during:?}");
    assert!(
        during.iter().all(|&seen| seen == (3, true)),
        "set aside in every batch: {during:?}"
    );
    assert_eq!(index_sql(&s), before, "every index back, defined as before");
    let pending =
        crate::store::settings::get_setting(s.conn(), crate::store::deferred_indexes::PENDING)
            .unwrap();
    assert_eq!(pending, None);
    // The rebuilt queue index holds every imported lead (all `new`).
    let queued: i64 = s
        .conn()
        .query_row(
            "SELECT count(*) FROM lead INDEXED BY lead_new_queue WHERE status = 'new'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(queued as u64, report.counts.created);
}

#[test]
fn a_cancelled_large_import_builds_the_indexes_back_and_a_rerun_completes_it() {
    let mut s = store();
    let before = index_sql(&s);
    let text = demo_rows(300);
    let cancel = Arc::new(AtomicBool::new(false));
    let options = ImportOptions {
        batch_size: 100,
        cancel: Some(cancel.clone()),
        ..ImportOptions::default()
    };
    let total = as_large_as(5_000);
    let report = import_reader(&mut s, &text[..], total, Format::Csv, &options, &mut |_| {
        cancel.store(true, Ordering::Relaxed)
    })
    .unwrap();
    assert!(report.cancelled);
    assert_eq!(index_sql(&s), before);
    cancel.store(false, Ordering::Relaxed);
    let rest = import_reader(&mut s, &text[..], total, Format::Csv, &options, &mut |_| {}).unwrap();
    assert_eq!(rest.counts.read, 300);
    assert_eq!(index_sql(&s), before);
    let mut whole = store();
    import_reader(&mut whole, &text[..], 0, Format::Csv, &options, &mut |_| {}).unwrap();
    assert_eq!(snapshot(&s), snapshot(&whole));
}

#[test]
fn an_import_small_for_the_replica_or_of_unknown_size_keeps_every_index() {
    let mut s = store();
    import_reader(
        &mut s,
        &demo_rows(300)[..],
        0,
        Format::Csv,
        &ImportOptions::default(),
        &mut |_| {},
    )
    .unwrap();
    let leads: u64 = s
        .conn()
        .query_row("SELECT count(*) FROM lead", [], |r| r.get(0))
        .unwrap();
    for total in [0, as_large_as(4_999)] {
        assert!(
            deferral::begin(s.conn(), total).unwrap().is_none(),
            "{total} bytes"
        );
    }
    // Large in bytes but fewer estimated rows than the replica holds leads: kept too. The
    // threshold is compared against the leads counted above.
    assert!(leads < 5_000);
    s.conn()
        .execute_batch(&format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {})
             INSERT INTO lead (id, name, created_at, status)
             SELECT 'x' || i, 'X', '2026-01-01T00:00:00Z', 'new' FROM n",
            6_000 - leads
        ))
        .unwrap();
    assert!(deferral::begin(s.conn(), as_large_as(5_999))
        .unwrap()
        .is_none());
    let load = deferral::begin(s.conn(), as_large_as(6_000)).unwrap();
    deferral::finish(s.conn(), load.expect("large")).unwrap();
}

#[test]
fn a_large_import_at_the_default_batch_size_commits_larger_batches_and_a_chosen_size_stays() {
    let default = DEFAULT_BATCH_SIZE;
    assert_eq!(
        deferral::batch_size(true, default),
        deferral::LARGE_BATCH_SIZE
    );
    assert!(deferral::LARGE_BATCH_SIZE > default);
    assert_eq!(deferral::batch_size(false, default), default);
    assert_eq!(deferral::batch_size(true, 100), 100);
    assert!(deferral::cache_kib(true) > deferral::cache_kib(false));
}

#[test]
fn a_large_import_during_a_first_sync_that_set_indexes_aside_keeps_them() {
    use crate::store::deferred_indexes::{defer_search, drop_recording, finish_if_pending};
    let s = store();
    defer_search(s.conn(), &[]).unwrap();
    assert!(deferral::begin(s.conn(), as_large_as(50_000))
        .unwrap()
        .is_none());
    finish_if_pending(s.conn()).unwrap();
    drop_recording(s.conn(), &["lead_by_email"]).unwrap();
    assert!(deferral::begin(s.conn(), as_large_as(50_000))
        .unwrap()
        .is_none());
    finish_if_pending(s.conn()).unwrap();
    let load = deferral::begin(s.conn(), as_large_as(50_000)).unwrap();
    deferral::finish(s.conn(), load.expect("nothing set aside any more")).unwrap();
}

/// How many leads the full-text index finds for `query` (an FTS5 match).
fn found(s: &Store, query: &str) -> i64 {
    s.conn()
        .query_row(
            "SELECT count(*) FROM lead_search WHERE lead_search MATCH ?1",
            [query],
            |r| r.get(0),
        )
        .unwrap()
}

#[test]
fn a_large_import_builds_the_full_text_entries_at_its_end_and_misses_its_leads_until_then() {
    let mut s = store();
    let text = demo_rows(300);
    let during = Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = during.clone();
    let options = ImportOptions {
        batch_size: 100,
        after_batch: Some(AfterBatch(Arc::new(move |conn, _| {
            let (leads, entries): (i64, i64) = conn.query_row(
                "SELECT (SELECT count(*) FROM lead), (SELECT count(*) FROM lead_search)",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let pending = crate::store::deferred_indexes::search_deferred(conn)?;
            seen.lock().unwrap().push((leads, entries, pending));
            Ok(())
        }))),
        ..ImportOptions::default()
    };
    let total = as_large_as(5_000);
    let report = import_reader(&mut s, &text[..], total, Format::Csv, &options, &mut |_| {});
    let report = report.unwrap();
    let during = during.lock().unwrap();
    assert!(during.len() >= 3, "{during:?}");
    for &(leads, entries, pending) in during.iter() {
        assert!(leads > 0 && pending, "{during:?}");
        // Merges refresh the entry of the lead they change, so a few may be there already.
        assert!(entries < leads / 4, "entries written per row: {during:?}");
    }
    drop(during);
    assert!(!crate::store::deferred_indexes::search_deferred(s.conn()).unwrap());
    // Afterwards the index holds exactly what one small (row by row) import of the file writes.
    let mut whole = store();
    let small = ImportOptions {
        batch_size: 100,
        ..ImportOptions::default()
    };
    import_reader(&mut whole, &text[..], 0, Format::Csv, &small, &mut |_| {}).unwrap();
    assert_eq!(snapshot(&s), snapshot(&whole));
    let created = report.counts.created as i64;
    let email: String = s
        .conn()
        .query_row(
            "SELECT email FROM lead WHERE email IS NOT NULL ORDER BY rowid DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let query = format!("email : \"{email}\"");
    assert_eq!(found(&s, &query), 1, "the last imported lead is found");
    let entries: i64 = s
        .conn()
        .query_row("SELECT count(*) FROM lead_search", [], |r| r.get(0))
        .unwrap();
    assert_eq!(entries, created);
}

/// A store opened elsewhere mid-import (the window, a job) and a pull ending on another
/// connection leave what the import set aside to it (the import holds the database's
/// `LoadLock`); the import's end builds it all, and every lead has its entry.
#[test]
fn a_store_opened_elsewhere_mid_import_leaves_the_set_aside_indexes_to_the_import() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.db");
    let at = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
    let clock = Arc::new(FixedClock::at(at));
    let mut s = Store::open_with_clock(&path, None, clock.clone()).unwrap();
    let before = index_sql(&s);
    let text = demo_rows(300);
    let options = ImportOptions {
        batch_size: 100,
        ..ImportOptions::default()
    };
    let mut seen = Vec::new();
    let report = import_reader(
        &mut s,
        &text[..],
        as_large_as(5_000),
        Format::Csv,
        &options,
        &mut |_| {
            let other = Store::open_with_clock(&path, None, clock.clone()).unwrap();
            let pull_end = crate::store::deferred_indexes::finish_if_pending(other.conn());
            let search = crate::store::deferred_indexes::search_deferred(other.conn());
            seen.push((pull_end.unwrap(), search.unwrap(), index_sql(&other).len()));
        },
    )
    .unwrap();
    // Every report comes after a batch's commit, before the import's end.
    let during = &seen[..];
    assert!(during.len() >= 3, "{seen:?}");
    // And the intake-rule trigger: there is no rule.
    let set_aside = deferral::DEFERRED.len() + crate::intake::LOOKUP_INDEXES.len() + 1;
    assert!(
        during
            .iter()
            .all(|&s| s == (false, true, before.len() - set_aside)),
        "left to the import: {seen:?}"
    );
    assert_eq!(index_sql(&s), before, "every index back, defined as before");
    let (leads, entries): (i64, i64) = s
        .conn()
        .query_row(
            "SELECT (SELECT count(*) FROM lead), (SELECT count(*) FROM lead_search)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(leads as u64, report.counts.created);
    assert_eq!(entries, leads, "every lead has its entry");
}

/// A large import's WAL grows past the store's usual size between checkpoints
/// (`deferral::LARGE_CHECKPOINT_PAGES`); its end truncates it, while another connection (the
/// window) keeps the file open. A small import leaves the WAL to the usual checkpoints.
#[test]
fn a_large_import_truncates_the_wal_at_its_end() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.db");
    let clock = Arc::new(FixedClock::at(Utc::now()));
    let mut s = Store::open_with_clock(&path, None, clock.clone()).unwrap();
    let _window = Store::open_with_clock(&path, None, clock).unwrap();
    let wal = || {
        std::fs::metadata(dir.path().join("r.db-wal"))
            .unwrap()
            .len()
    };
    let options = ImportOptions::default();
    let small = demo_rows(100);
    import_reader(&mut s, &small[..], 0, Format::Csv, &options, &mut |_| {}).unwrap();
    assert!(wal() > 0, "a small import leaves its WAL");
    let large = demo_rows(300);
    let report = import_reader(
        &mut s,
        &large[..],
        as_large_as(5_000),
        Format::Csv,
        &options,
        &mut |_| {},
    )
    .unwrap();
    assert!(report.counts.created > 0);
    assert_eq!(wal(), 0, "truncated at the large import's end");
}

/// A large import killed half way lets its lock go with the process: the next opening builds
/// what it set aside.
#[test]
fn a_load_lock_let_go_leaves_the_set_aside_indexes_to_the_next_opening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.db");
    let clock = Arc::new(FixedClock::at(Utc::now()));
    let s = Store::open_with_clock(&path, None, clock.clone()).unwrap();
    let before = index_sql(&s);
    let load = deferral::begin(s.conn(), as_large_as(50_000)).unwrap();
    let load = load.expect("large");
    assert!(crate::store::deferred_indexes::LoadLock::take(s.conn())
        .unwrap()
        .is_none());
    let opened = Store::open_with_clock(&path, None, clock.clone()).unwrap();
    assert!(index_sql(&opened).len() < before.len());
    drop(opened);
    drop(load);
    let opened = Store::open_with_clock(&path, None, clock).unwrap();
    assert_eq!(index_sql(&opened), before);
    assert!(!crate::store::deferred_indexes::search_deferred(opened.conn()).unwrap());
}

/// A row in `demo`'s columns: submission id, kind, time, first name, email, phone (Germany).
fn demo_row(id: &str, kind: &str, at: &str, name: &str, email: &str, phone: &str) -> String {
    format!("{id},{kind},,{at},{name},,,{email},{phone},DE,,,,,,,,\r\n")
}

/// Rows that find leads by phone alone, and phones that several leads hold, in `demo`'s
/// columns without a header: the second part refers to leads of the first.
fn phone_rows(part: u8) -> String {
    let rows: &[[&str; 6]] = if part == 1 {
        &[
            [
                "p1",
                "Demo",
                "2026-03-01T08:00:00Z",
                "Pat",
                "pat@example.com",
                "",
            ],
            // Fills Pat's phone; the next row finds Pat by it.
            [
                "p2",
                "Trial",
                "2026-03-01T09:00:00Z",
                "Pat",
                "pat@example.com",
                "030 5550001",
            ],
            [
                "p3",
                "Demo",
                "2026-03-01T10:00:00Z",
                "Pat",
                "",
                "030 5550001",
            ],
            // A new person with Pat's phone: phone-only rows still go to Pat, the oldest.
            [
                "p4",
                "Demo",
                "2026-03-01T11:00:00Z",
                "Quinn",
                "quinn@example.com",
                "030 5550001",
            ],
            [
                "p5",
                "License Key",
                "2026-03-01T12:00:00Z",
                "",
                "",
                "030 5550001",
            ],
            [
                "p6",
                "Demo",
                "2026-03-01T13:00:00Z",
                "Ray",
                "",
                "030 5550002",
            ],
            [
                "p7",
                "Trial",
                "2026-03-01T14:00:00Z",
                "Ray",
                "ray@example.com",
                "030 5550002",
            ],
            [
                "p8",
                "Info Request",
                "2026-03-01T15:00:00Z",
                "",
                "",
                "030 5550002",
            ],
        ]
    } else {
        &[
            ["q1", "Trial", "2026-03-02T08:00:00Z", "", "", "030 5550001"],
            [
                "q2",
                "Demo",
                "2026-03-02T08:10:00Z",
                "Quinn",
                "quinn@example.com",
                "",
            ],
            [
                "q3",
                "Demo",
                "2026-03-02T08:20:00Z",
                "Sam",
                "sam@example.com",
                "030 5550002",
            ],
            ["q4", "Trial", "2026-03-02T08:30:00Z", "", "", "030 5550002"],
            [
                "q5",
                "Trial",
                "2026-03-02T08:40:00Z",
                "Tia",
                "",
                "030 5550003",
            ],
            [
                "q6",
                "Demo",
                "2026-03-02T08:50:00Z",
                "Tia",
                "tia@example.com",
                "030 5550003",
            ],
            [
                "q7",
                "Info Request",
                "2026-03-02T09:00:00Z",
                "",
                "",
                "030 5550003",
            ],
            // A merge in this import fills a phone, which the next row finds.
            [
                "u1",
                "Demo",
                "2026-03-02T07:00:00Z",
                "Uma",
                "uma@example.com",
                "",
            ],
            [
                "u2",
                "Trial",
                "2026-03-02T07:20:00Z",
                "Uma",
                "uma@example.com",
                "030 5550004",
            ],
            ["u3", "Demo", "2026-03-02T07:40:00Z", "", "", "030 5550004"],
            [
                "p1",
                "Demo",
                "2026-03-01T08:00:00Z",
                "Pat",
                "pat@example.com",
                "",
            ],
        ]
    };
    rows.iter()
        .map(|[id, kind, at, name, email, phone]| demo_row(id, kind, at, name, email, phone))
        .collect()
}

/// Imports `text` as a large import (leads found from memory) or a small one (through the
/// indexes), in batches of 50; a large one checks that the lookup indexes are set aside.
fn import_sized(s: &mut Store, text: &[u8], large: bool) -> ImportReport {
    let options = ImportOptions {
        batch_size: 50,
        after_batch: Some(AfterBatch(Arc::new(move |conn, _| {
            for name in crate::intake::LOOKUP_INDEXES {
                let present = crate::store::deferred_indexes::present(conn, name)?;
                assert_eq!(present, !large, "{name}");
            }
            Ok(())
        }))),
        ..ImportOptions::default()
    };
    let total = if large { as_large_as(5_000) } else { 0 };
    import_reader(s, text, total, Format::Csv, &options, &mut |_| {}).unwrap()
}

#[test]
fn a_large_import_finds_leads_by_email_and_phone_from_memory_as_a_small_one_does_by_index() {
    let mut first = demo_rows(0);
    first.extend_from_slice(phone_rows(1).as_bytes());
    let mut second = demo_rows(400);
    second.extend_from_slice(phone_rows(2).as_bytes());
    let at = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
    let stores = [false, true].map(|is_large| {
        let clock = Arc::new(FixedClock::at(at));
        let s = Store::open_in_memory(clock.clone()).unwrap();
        (s, clock, is_large)
    });
    let before = index_sql(&stores[1].0);
    let mut reports = Vec::new();
    let [(mut small, small_clock, _), (mut large, large_clock, _)] = stores;
    for (s, clock, is_large) in [
        (&mut small, &small_clock, false),
        (&mut large, &large_clock, true),
    ] {
        import_sized(s, &first, false);
        // Leads of the second import are younger than the first's (ids alone would not say).
        clock.advance(chrono::Duration::minutes(1));
        reports.push(import_sized(s, &second, is_large));
    }
    assert_eq!(reports[0].counts, reports[1].counts);
    let counts = reports[1].counts;
    assert!(counts.merged > 3 && counts.duplicates > 0, "{counts:?}");
    assert_eq!(snapshot(&large), snapshot(&small));
    // Which lead each registration went to, by the lead's first registration (content keys
    // differ between databases: left out).
    let owners = "SELECT r.submission_id, (SELECT min(f.submission_id) FROM registration f
                   WHERE f.lead_id = r.lead_id AND f.submission_id NOT LIKE 'content:%')
                  FROM registration r WHERE r.submission_id NOT LIKE 'content:%' ORDER BY 1";
    assert_eq!(rows(&large, owners), rows(&small, owners));
    let owner = |sub: &str| -> String {
        large
            .conn()
            .query_row(
                "SELECT min(f.submission_id) FROM registration r JOIN registration f
                 ON f.lead_id = r.lead_id WHERE r.submission_id = ?1",
                [sub],
                |r| r.get(0),
            )
            .unwrap()
    };
    for (sub, lead) in [
        ("q1", "p1"),
        ("q2", "p4"),
        ("q4", "p6"),
        ("q7", "q5"),
        ("u3", "u1"),
    ] {
        assert_eq!(owner(sub), lead, "{sub}");
    }
    assert_eq!(index_sql(&large), before);
}

/// Imports 300 demo rows and then Lee's registration `late` (lee@example.com, submitted before
/// them all) into a replica file, as a large import in batches of 100. After each batch's commit
/// `after_batch` gets the batch's number, the file and its clock: another connection's turn.
/// Returns the store, the report and the folder that holds the file.
fn import_beside(
    late: &str,
    after_batch: &mut dyn FnMut(usize, &std::path::Path, &Arc<FixedClock>),
) -> (Store, ImportReport, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.db");
    let at = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
    let clock = Arc::new(FixedClock::at(at));
    let mut s = Store::open_with_clock(&path, None, clock.clone()).unwrap();
    let mut text = demo_rows(300);
    let row = demo_row(
        late,
        "Demo",
        "2026-03-01T08:00:00Z",
        "Lee",
        "lee@example.com",
        "",
    );
    text.extend_from_slice(row.as_bytes());
    let options = ImportOptions {
        batch_size: 100,
        ..ImportOptions::default()
    };
    let mut batches = 0;
    let report = import_reader(
        &mut s,
        &text[..],
        as_large_as(5_000),
        Format::Csv,
        &options,
        &mut |_| {
            batches += 1;
            after_batch(batches, &path, &clock);
        },
    )
    .unwrap();
    assert!(batches >= 3);
    assert_eq!(report.counts.read, 301);
    (s, report, dir)
}

#[test]
fn another_writer_mid_import_brings_the_lookup_indexes_back_and_its_leads_are_found() {
    let (s, _, _dir) = import_beside("late-1", &mut |batch, path, _| {
        let other = rusqlite::Connection::open(path).unwrap();
        let present = |name: &str| -> bool {
            other
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE name = ?1)",
                    [name],
                    |r| r.get(0),
                )
                .unwrap()
        };
        // Set aside until another connection writes; built by the batch after it.
        assert_eq!(present("lead_by_email"), batch > 1, "batch {batch}");
        assert!(!present("lead_new_queue"));
        if batch == 1 {
            other
                .execute(
                    "INSERT INTO lead (id, email, created_at)
                     VALUES ('other', 'lee@example.com', '2026-03-02T08:00:00Z')",
                    [],
                )
                .unwrap();
        }
    });
    let lee: String = s
        .conn()
        .query_row(
            "SELECT lead_id FROM registration WHERE submission_id = 'late-1'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(lee, "other");
}

/// A large import sets the submission index aside and finds its submissions in memory; a pull
/// or an intake on another connection meanwhile builds the index before it writes, so neither
/// records a submission the import recorded, and the import's later rows find theirs.
#[test]
fn writers_mid_import_build_the_submission_index_first_and_no_submission_is_recorded_twice() {
    use crate::people::registration::{self, SUBMISSION_INDEX};
    use crate::store::deferred_indexes::present;
    use switchboard_protocol::{Change, Op};
    let (s, report, _dir) = import_beside("late-2", &mut |batch, path, clock| {
        if batch != 1 {
            return;
        }
        let mut other = Store::open_with_clock(path, None, clock.clone()).unwrap();
        let present = |conn: &rusqlite::Connection| present(conn, SUBMISSION_INDEX).unwrap();
        assert!(!present(other.conn()), "set aside by the import");
        // Another office recorded the import's first submission too; its registration
        // arrives by a pull.
        let mut pulled = other
            .conn()
            .query_row(
                "SELECT id FROM registration ORDER BY rowid LIMIT 1",
                [],
                |r| r.get::<_, String>(0),
            )
            .map(|id| registration::find(other.conn(), &id).unwrap().unwrap())
            .unwrap();
        pulled.id = "0190aaaa-0000-7000-8000-000000000001".into();
        let change = Change {
            server_seq: 1,
            op: Op::RegistrationAdded(pulled.clone()),
        };
        crate::replica::apply::apply_page(other.conn_mut(), &[change], 1).unwrap();
        assert!(present(other.conn()), "built by the pull before it wrote");
        let copies: i64 = other
            .conn()
            .query_row(
                "SELECT count(*) FROM registration WHERE submission_id = ?1",
                [&pulled.submission_id],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(copies, 1, "the pulled copy is skipped");
        // The website's submission the file lists last arrives by intake first.
        let input = crate::intake::RegistrationInput {
            submission_id: Some("late-2".into()),
            kind: Some("Demo".into()),
            submitted_at: Some("2026-03-01T08:00:00Z".into()),
            details: switchboard_protocol::RegistrationDetails {
                email: Some("lee@example.com".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let now = other.now();
        other
            .with_tx(|tx| {
                let ctx = IntakeContext::new(tx, None, now, "web")?;
                crate::intake::record(tx, &input, &ctx)
            })
            .unwrap();
    });
    // The demo rows' own duplicates, and late-2, which the intake recorded first.
    let alone = import(&mut store(), &demo_rows(300), Format::Csv);
    assert_eq!(report.counts.duplicates, alone.counts.duplicates + 1);
    let late: i64 = s
        .conn()
        .query_row(
            "SELECT count(*) FROM registration WHERE submission_id = 'late-2'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(late, 1);
    let twice: i64 = s
        .conn()
        .query_row(
            "SELECT count(*) FROM (SELECT submission_id FROM registration
              GROUP BY submission_id HAVING count(*) > 1)",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(twice, 0);
    assert!(present(s.conn(), SUBMISSION_INDEX).unwrap());
    let pending =
        crate::store::settings::get_setting(s.conn(), crate::store::deferred_indexes::PENDING)
            .unwrap();
    assert_eq!(pending, None);
}
