use super::super::{import_file, import_reader, ImportOptions, ImportProgress, ImportReport};
use super::*;
use crate::intake::import::tests::rows;
use crate::{FixedClock, Store};
use chrono::{Duration, TimeZone};
use proptest::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}

fn store() -> Store {
    Store::open_in_memory(Arc::new(FixedClock::at(now()))).unwrap()
}

fn file(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn options(batch_size: usize) -> ImportOptions {
    ImportOptions {
        batch_size,
        ..ImportOptions::default()
    }
}

/// Imports the file through `import_file` (ordered) and its bytes through `import_reader` (the
/// stream's order): both stores and reports.
fn both(path: &Path, format: Format) -> ((Store, ImportReport), (Store, ImportReport)) {
    let mut ordered = store();
    let by_file = import_file(&mut ordered, path, &options(3), &mut |_| {}).unwrap();
    let mut streamed = store();
    let bytes = std::fs::read(path).unwrap();
    let by_stream = import_reader(
        &mut streamed,
        &bytes[..],
        0,
        format,
        &options(3),
        &mut |_| {},
    )
    .unwrap();
    ((ordered, by_file), (streamed, by_stream))
}

/// The lines of the rows in the order the first pass chose, or None when it streams the file.
fn planned(path: &Path, format: Format) -> Option<Vec<u32>> {
    let file = File::open(path).unwrap();
    match plan(&file, format, micros(now()), &AtomicU64::new(0), None) {
        Plan::Stream => None,
        Plan::Sorted(entries, _, _) => Some(entries.iter().map(|e| e.line).collect()),
        Plan::Cancelled => panic!("not cancelled"),
    }
}

fn ascending(values: &[String]) -> bool {
    values.windows(2).all(|w| w[0] <= w[1])
}

/// A permutation of 0..n that leaves few neighbours together.
fn shuffled(n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in (1..n).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        order.swap(i, (x % (i as u64 + 1)) as usize);
    }
    order
}

fn at(minutes_before_now: usize) -> String {
    (now() - Duration::minutes(minutes_before_now as i64))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

#[test]
fn a_shuffled_file_is_recorded_oldest_first() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("Email,Name,Submitted At\n");
    for i in shuffled(300) {
        text.push_str(&format!("p{i}@example.com,P {i},{}\n", at(7 * i + 1)));
    }
    // No time: the import's now, so recorded last; a time that is not one: rejected in place.
    text.push_str("late@example.com,Late,\n");
    text.push_str("bad@example.com,Bad,yesterday\n");
    let path = file(dir.path(), "regs.csv", text.as_bytes());
    assert!(planned(&path, Format::Csv).is_some());

    let mut s = store();
    let report = import_file(&mut s, &path, &options(50), &mut |_| {}).unwrap();
    assert_eq!((report.counts.created, report.counts.rejected), (301, 1));
    assert_eq!(report.errors[0].line, 303);
    let times = rows(&s, "SELECT last_registered_at FROM lead ORDER BY rowid");
    assert_eq!(times.len(), 301);
    assert!(ascending(&times), "{:?}", &times[..5]);
    let last = rows(&s, "SELECT email FROM lead ORDER BY rowid DESC LIMIT 1");
    assert_eq!(last, ["Text(\"late@example.com\")"]);
    let registered = rows(&s, "SELECT submitted_at FROM registration ORDER BY rowid");
    assert!(ascending(&registered));
}

#[test]
fn a_file_in_order_is_streamed_and_one_newest_first_is_reversed() {
    let dir = tempfile::tempdir().unwrap();
    let mut up = String::from("Email,Submitted At\n");
    for i in (0..20).rev() {
        up.push_str(&format!("p{i}@example.com,{}\n", at(i + 1)));
        // Rows that will be rejected keep their place and do not break the order.
        if i == 10 {
            up.push_str("q@example.com,not a time\n\"never,closed\n");
        }
    }
    let up = file(dir.path(), "up.csv", up.as_bytes());
    assert_eq!(planned(&up, Format::Csv), None);

    let mut down = String::from("Email,Submitted At\n");
    for i in 0..20 {
        down.push_str(&format!("p{i}@example.com,{}\n", at(i + 1)));
    }
    let down = file(dir.path(), "down.csv", down.as_bytes());
    let lines: Vec<u32> = (2..22).rev().collect();
    assert_eq!(planned(&down, Format::Csv), Some(lines));

    // Equal times keep the file's order (in order already: streamed).
    let mut ties = String::from("Email,Submitted At\n");
    for (i, minutes) in [5, 3, 3, 3, 1].into_iter().enumerate() {
        ties.push_str(&format!("p{i}@example.com,{}\n", at(minutes)));
    }
    let ties = file(dir.path(), "ties.csv", ties.as_bytes());
    assert_eq!(planned(&ties, Format::Csv), None);
    let mut ties_down = String::from("Email,Submitted At\n");
    for (i, minutes) in [1, 3, 3, 3, 5].into_iter().enumerate() {
        ties_down.push_str(&format!("p{i}@example.com,{}\n", at(minutes)));
    }
    let ties_down = file(dir.path(), "ties_down.csv", ties_down.as_bytes());
    assert_eq!(planned(&ties_down, Format::Csv), Some(vec![6, 3, 4, 5, 2]));
}

/// Every kind of bad row the CSV reader knows, with BOM and CRLF, times out of order: the
/// ordered import reports exactly what reading the file through reports.
#[test]
fn a_messy_csv_reports_the_same_lines_and_counts_as_the_stream() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = b"\xef\xbb\xbfE-mail,Name,Country,Submitted At,Shoe Size\r\n".to_vec();
    let good = |n: usize, minutes: usize| {
        format!("g{n}@example.com,G {n},DE,{},42\r\n", at(minutes)).into_bytes()
    };
    let lines: Vec<Vec<u8>> = vec![
        good(1, 50),
        b"m1@example.com,\"Multi\r\nLine\",FR,2026-03-01T08:00:00Z,1\r\n".to_vec(),
        good(2, 90),
        b"w@example.com,Wrong count\r\n".to_vec(),
        b"\r\n".to_vec(),
        b"u@example.com,U \xff,DE,2026-03-01T07:00:00Z,1\r\n".to_vec(),
        b"c@example.com,Country,Atlantis,2026-03-01T06:00:00Z,1\r\n".to_vec(),
        b"t@example.com,T,DE,yesterday,1\r\n".to_vec(),
        b"f@example.com,F,DE,2027-01-01T00:00:00Z,1\r\n".to_vec(),
        b",No contact,DE,2026-03-01T05:00:00Z,1\r\n".to_vec(),
        // A quote that never closes on a row of the right length: rejected, reading goes on.
        b"r@example.com,\"Runaway,DE,2026-03-01T04:00:00Z,1\r\n".to_vec(),
        good(3, 10),
        // Two stray quotes that happen to leave the right number of fields.
        b"s@example.com,\"S\r\nx,y\",DE,2026-03-01T03:00:00Z,1\r\n".to_vec(),
        good(4, 200),
        b"n@example.com,No time,DE,,1\r\n".to_vec(),
    ];
    for line in lines {
        text.extend(line);
    }
    // A line longer than any row may be.
    text.extend(b"o@example.com,");
    text.extend(std::iter::repeat_n(
        b'x',
        super::super::csv::max_row_bytes(5) + 10,
    ));
    text.extend(b",DE,2026-03-01T02:00:00Z,1\r\n");
    text.extend(good(5, 30));
    // A quote left open on the last line.
    text.extend(b"z@example.com,\"Zed,DE,2026-03-01T01:00:00Z,1");
    let path = file(dir.path(), "messy.csv", &text);
    let order = planned(&path, Format::Csv).expect("out of order: sorted");
    assert_ne!(order, {
        let mut o = order.clone();
        o.sort();
        o
    });

    let ((ordered, by_file), (streamed, by_stream)) = both(&path, Format::Csv);
    assert_eq!(by_file, by_stream);
    assert!(by_file.counts.rejected >= 8, "{by_file:?}");
    assert!(by_file.warnings.len() >= 4, "{:?}", by_file.warnings);
    let leads = "SELECT email, name, country, last_registered_at FROM lead ORDER BY email";
    assert_eq!(rows(&ordered, leads), rows(&streamed, leads));
    assert!(ascending(&rows(
        &ordered,
        "SELECT submitted_at FROM registration ORDER BY rowid"
    )));
}

#[test]
fn a_messy_json_lines_file_reports_the_same_lines_and_counts_as_the_stream() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = b"\xef\xbb\xbf".to_vec();
    for line in [
        format!("{{\"email\":\"a@example.com\",\"shoe\":1,\"submitted_at\":\"{}\"}}\r\n", at(5)),
        "\n".to_string(),
        format!("{{\"email\":\"b@example.com\",\"created\":\"{}\"}}\n", at(50)),
        "{oops\n".to_string(),
        format!("{{\"email\":\"c@example.com\",\"hat\":2,\"shoe\":3,\"country\":\"Atlantis\",\"date\":\"{}\"}}\n", at(500)),
        "{\"email\":\"d@example.com\",\"submitted_at\":\"yesterday\"}\n".to_string(),
        "{\"phone\":4930123456,\"country\":\"DE\"}\n".to_string(),
        format!("{{\"email\":{{\"x\":1}},\"submitted_at\":\"{}\"}}\n", at(900)),
        format!("{{\"email\":\"e@example.com\",\"hat\":1,\"submitted_at\":\"{}\"}}\n", at(1000)),
    ] {
        text.extend(line.into_bytes());
    }
    text.extend(b"{\"name\":\"");
    text.extend(std::iter::repeat_n(
        b'x',
        super::super::jsonl::MAX_LINE_BYTES + 10,
    ));
    text.extend(b"\"}\n");
    text.extend(
        format!(
            "{{\"email\":\"f@example.com\",\"submitted_at\":\"{}\"}}",
            at(2)
        )
        .into_bytes(),
    );
    let path = file(dir.path(), "messy.jsonl", &text);
    assert!(planned(&path, Format::Jsonl).is_some());

    let ((ordered, by_file), (streamed, by_stream)) = both(&path, Format::Jsonl);
    assert_eq!(by_file, by_stream);
    let keys: Vec<(u64, &str)> = by_file
        .warnings
        .iter()
        .map(|w| (w.line, w.reason.as_str()))
        .collect();
    assert_eq!(
        keys,
        [
            (1, "unknown key 'shoe' ignored"),
            (5, "unknown key 'hat' ignored"),
            (
                5,
                "country 'Atlantis' is not recognised; phone numbers need a + prefix"
            )
        ]
    );
    assert_eq!(by_file.counts.created, 6);
    let leads = "SELECT email, phone, last_registered_at FROM lead ORDER BY email, phone";
    assert_eq!(rows(&ordered, leads), rows(&streamed, leads));
    assert!(ascending(&rows(
        &ordered,
        "SELECT last_registered_at FROM lead ORDER BY rowid"
    )));
}

/// The merge rule is unchanged — a registration fills only the fields its lead lacks — so with
/// the file ordered a person's oldest registration gives the lead its fields and later ones fill
/// the gaps, wherever each sits in the file; last_registered_at is the newest either way.
#[test]
fn a_persons_oldest_registration_fills_the_lead_whatever_the_file_order() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "Email,Company,Phone,Country,Submitted At\n\
         ann@example.com,New Co,+49 30 1234567,DE,{}\n\
         ann@example.com,Old Co,,DE,{}\n",
        at(60),
        at(6000)
    );
    let path = file(dir.path(), "ann.csv", text.as_bytes());
    let ((ordered, _), (streamed, _)) = both(&path, Format::Csv);
    let lead = "SELECT company, phone FROM lead";
    assert_eq!(
        rows(&ordered, lead),
        ["Text(\"Old Co\")|Text(\"+49301234567\")"]
    );
    // Read as a stream the file's first row came first.
    assert_eq!(
        rows(&streamed, lead),
        ["Text(\"New Co\")|Text(\"+49301234567\")"]
    );
    let newest =
        "SELECT last_registered_at = (SELECT max(submitted_at) FROM registration) FROM lead";
    assert_eq!(rows(&ordered, newest), ["Integer(1)"]);
    assert_eq!(rows(&streamed, newest), ["Integer(1)"]);
}

#[test]
fn progress_counts_the_rows_handed_over_and_ends_at_the_files_size() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("Email,Submitted At\n\n");
    for i in shuffled(40) {
        text.push_str(&format!("p{i}@example.com,{}\r\n\r\n", at(i + 1)));
    }
    let path = file(dir.path(), "regs.csv", text.as_bytes());
    let mut seen: Vec<ImportProgress> = Vec::new();
    let mut s = store();
    import_file(&mut s, &path, &options(7), &mut |p| seen.push(p)).unwrap();
    let bytes: Vec<u64> = seen.iter().map(|p| p.bytes_read).collect();
    assert!(bytes.windows(2).all(|w| w[0] <= w[1]), "{bytes:?}");
    assert_eq!(*bytes.last().unwrap(), text.len() as u64);
    assert!(seen.iter().all(|p| p.bytes_total == text.len() as u64));
}

#[test]
fn a_cancel_during_the_first_pass_records_nothing_and_a_rerun_records_all() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from("Email,Submitted At\n");
    let rows_in_file = CANCEL_EVERY + 10;
    for i in shuffled(rows_in_file) {
        text.push_str(&format!("p{i}@example.com,{}\n", at(i + 1)));
    }
    let path = file(dir.path(), "regs.csv", text.as_bytes());
    let mut s = store();
    let cancel = Arc::new(AtomicBool::new(true));
    let cancelled = ImportOptions {
        cancel: Some(cancel),
        ..ImportOptions::default()
    };
    let report = import_file(&mut s, &path, &cancelled, &mut |_| {}).unwrap();
    assert!(report.cancelled);
    assert_eq!(report.counts.read, 0);
    let rerun = import_file(&mut s, &path, &ImportOptions::default(), &mut |_| {}).unwrap();
    assert_eq!(rerun.counts.created, rows_in_file as u64);
}

#[test]
fn the_report_lists_the_first_lines_whatever_order_they_came_in() {
    let mut list = ByLine::default();
    let mut unlisted = 0;
    for (line, reason) in [(9, "i"), (3, "c"), (7, "g"), (3, "c2"), (1, "a"), (8, "h")] {
        if !list.note(line, reason.into(), 3) {
            unlisted += 1;
        }
    }
    assert_eq!(unlisted, 3);
    let kept: Vec<(u64, String)> = list
        .into_list()
        .into_iter()
        .map(|e| (e.line, e.reason))
        .collect();
    assert_eq!(kept, [(1, "a".into()), (3, "c".into()), (3, "c2".into())]);
}

/// A person's fields are the same in each of their rows, and times are at least 11 minutes
/// apart (beyond the duplicate window), so what is recorded does not depend on the order.
fn random_file() -> impl Strategy<Value = Vec<(usize, usize, bool, usize)>> {
    (1usize..40).prop_flat_map(|n| {
        (
            prop::collection::vec((0usize..6, 0usize..3, any::<bool>()), n),
            Just((0..n).collect::<Vec<_>>()).prop_shuffle(),
        )
            .prop_map(|(rows, slots)| {
                rows.into_iter()
                    .zip(slots)
                    .map(|((person, kind, id), slot)| (person, kind, id, slot))
                    .collect()
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn an_ordered_import_records_what_the_stream_records(rows_in_file in random_file(), jsonl in any::<bool>()) {
        let dir = tempfile::tempdir().unwrap();
        let kinds = ["demo", "trial", "license key"];
        let mut text = if jsonl { String::new() } else { String::from("Submission ID,Type,Email,Name,Company,Submitted At\n") };
        for (n, (person, kind, id, slot)) in rows_in_file.iter().enumerate() {
            let id = if *id { format!("s{n}") } else { String::new() };
            let when = at(11 * slot + 1);
            if jsonl {
                text.push_str(&format!(
                    "{{\"submission_id\":\"{id}\",\"kind\":\"{}\",\"email\":\"p{person}@example.com\",\"name\":\"P {person}\",\"company\":\"C{person}\",\"submitted_at\":\"{when}\"}}\n",
                    kinds[*kind]
                ));
            } else {
                text.push_str(&format!("{id},{},p{person}@example.com,P {person},C{person},{when}\n", kinds[*kind]));
            }
        }
        let (name, format) = if jsonl { ("r.jsonl", Format::Jsonl) } else { ("r.csv", Format::Csv) };
        let path = file(dir.path(), name, text.as_bytes());
        let ((ordered, by_file), (streamed, by_stream)) = both(&path, format);
        prop_assert_eq!(by_file, by_stream);
        for sql in [
            "SELECT email, name, company, last_registered_at, status FROM lead ORDER BY email",
            "SELECT r.kind, r.submitted_at, r.email, l.email FROM registration r
             JOIN lead l ON l.id = r.lead_id ORDER BY r.submitted_at",
        ] {
            prop_assert_eq!(rows(&ordered, sql), rows(&streamed, sql));
        }
        prop_assert!(ascending(&rows(&ordered, "SELECT submitted_at FROM registration ORDER BY rowid")));
    }
}
