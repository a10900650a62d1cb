use super::*;

fn parse(text: &[u8]) -> (Vec<RawRow>, Vec<String>) {
    let mut rows = Vec::new();
    let mut warnings = Vec::new();
    for item in CsvRows::new(text).unwrap() {
        match item.unwrap() {
            Parsed::Row(r) => rows.push(r),
            Parsed::Warning(w) => warnings.push(w.reason),
        }
    }
    (rows, warnings)
}

fn summary(rows: &[RawRow]) -> Vec<(u64, bool)> {
    rows.iter().map(|r| (r.line, r.input.is_ok())).collect()
}

#[test]
fn bom_crlf_and_quoted_newlines_keep_line_numbers() {
    let text = "\u{feff}First Name,Last Name,E-mail,Notes\r\n\
                Ann,Example,ann@example.com,x\r\n\
                \"Bob\",\"Multi\r\nLine\",bob@example.com,\"a\nb\nc\"\r\n\
                Cy,Z,cy@example.com,y\r\n";
    let (rows, warnings) = parse(text.as_bytes());
    assert_eq!(warnings, ["unknown column 'Notes' ignored"]);
    let lines: Vec<(u64, u64)> = rows.iter().map(|r| (r.line, r.end_line)).collect();
    assert_eq!(lines, [(2, 2), (3, 6), (7, 7)]);
    let bob = rows[1].input.as_ref().unwrap();
    assert_eq!(bob.details.name.as_deref(), Some("Bob Multi\r\nLine"));
    assert_eq!(
        rows[0].input.as_ref().unwrap().details.email.as_deref(),
        Some("ann@example.com")
    );
}

#[test]
fn escaped_quotes_and_text_after_a_closing_quote_read_like_the_csv_crate() {
    let text = b"Name,Email\n\"A \"\"Q\"\" B\",a@example.com\n\"x\"y z\"w,b@example.com\n";
    let (rows, _) = parse(text);
    let names: Vec<String> = rows
        .iter()
        .map(|r| r.input.as_ref().unwrap().details.name.clone().unwrap())
        .collect();
    assert_eq!(names, ["A \"Q\" B", "xy z\"w"]);
}

#[test]
fn invalid_utf8_and_wrong_field_counts_fail_only_their_row() {
    let mut text = b"Email,Name\na@example.com,Ann\nb@example.com,B".to_vec();
    text.extend_from_slice(&[0xff, 0xfe]);
    text.extend_from_slice(b"\nc@example.com\nd@example.com,D,extra\ne@example.com,E\n");
    let (rows, _) = parse(&text);
    assert_eq!(
        summary(&rows),
        [(2, true), (3, false), (4, false), (5, false), (6, true)]
    );
    assert_eq!(
        rows[1].input.as_ref().unwrap_err(),
        "column 2 is not valid UTF-8"
    );
    assert_eq!(
        rows[2].input.as_ref().unwrap_err(),
        "the row has 1 fields but the header has 2"
    );
}

#[test]
fn an_empty_file_has_no_header() {
    assert!(CsvRows::new(&b""[..]).is_err());
    assert!(CsvRows::new(&b"\r\n\n"[..]).is_err());
}

/// Issue 10, defect 7: a stray quote once made the rest of the file one field.
#[test]
fn a_quote_that_never_closes_rejects_its_line_and_every_later_line_is_read() {
    let mut text = String::from("Email,Name\r\n");
    for i in 0..200 {
        if i == 1 {
            text.push_str("b1@example.com,\"Bee\r\n");
        } else {
            text.push_str(&format!("p{i}@example.com,P {i}\r\n"));
        }
    }
    let (rows, _) = parse(text.as_bytes());
    assert_eq!(rows.len(), 200);
    for (i, row) in rows.iter().enumerate() {
        assert_eq!((row.line, row.end_line), (i as u64 + 2, i as u64 + 2));
        assert_eq!(row.input.is_ok(), i != 1, "{row:?}");
    }
    let reason = rows[1].input.as_ref().unwrap_err();
    assert!(
        reason.starts_with("the quote opened on line 3 is never closed"),
        "{reason}"
    );
    assert!(reason.ends_with("reading goes on at line 4"), "{reason}");
}

#[test]
fn two_stray_quotes_reject_two_lines_not_the_lines_between() {
    let text = b"Email,Name,Phone\na@example.com,\"A\nb@example.com,B,1\nc@example.com,C\"\nd@example.com,D,3\n";
    let (rows, _) = parse(text);
    assert_eq!(
        summary(&rows),
        [(2, false), (3, true), (4, false), (5, true)]
    );
    assert!(rows[0]
        .input
        .as_ref()
        .unwrap_err()
        .contains("has 2 fields, not 3"));
}

/// When the stray quotes happen to leave the right number of fields, the row keeps the lines
/// between them and says so (the import reports its span as a warning).
#[test]
fn a_row_whose_quotes_hold_whole_lines_names_its_last_line() {
    let text =
        b"Email,Name\na@example.com,\"A\nb@example.com,B\nc@example.com,C\"\nd@example.com,D\n";
    let (rows, _) = parse(text);
    let spans: Vec<(u64, u64)> = rows.iter().map(|r| (r.line, r.end_line)).collect();
    assert_eq!(spans, [(2, 4), (5, 5)]);
}

#[test]
fn a_quote_left_open_on_the_last_line_rejects_that_row() {
    let (rows, _) = parse(b"Email,Name\na@example.com,A\nb@example.com,\"B");
    assert_eq!(summary(&rows), [(2, true), (3, false)]);
    assert_eq!(
        rows[1].input.as_ref().unwrap_err(),
        "the quote opened on line 3 is never closed"
    );
}

#[test]
fn an_overlong_line_is_skipped_without_holding_it_and_the_next_lines_are_read() {
    let cap = max_row_bytes(2);
    let mut text = b"Email,Name\na@example.com,A\nb@example.com,".to_vec();
    text.extend(std::iter::repeat_n(b'x', cap * 3));
    text.extend_from_slice(b"\r\nc@example.com,C\n");
    let mut rows = CsvRows::new(&text[..]).unwrap();
    let mut seen = Vec::new();
    for item in rows.by_ref() {
        if let Parsed::Row(row) = item.unwrap() {
            seen.push((row.line, row.input.map_err(|e| e.contains("longer than"))));
        }
    }
    assert_eq!(seen.len(), 3);
    assert_eq!((seen[1].0, seen[1].1.clone().unwrap_err()), (3, true));
    assert_eq!(seen[2].0, 4);
    assert!(seen[2].1.is_ok());
    // The row kept no more than its bound.
    assert!(rows.record.data.capacity() <= cap * 2);
}

#[test]
fn a_runaway_quote_past_the_bound_rejects_its_line_only() {
    let cap = max_row_bytes(2);
    let mut text = String::from("Email,Name\na@example.com,\"A\n");
    let mut n = 0;
    while text.len() < cap * 2 {
        text.push_str(&format!("p{n}@example.com,P\n"));
        n += 1;
    }
    let (rows, _) = parse(text.as_bytes());
    assert_eq!(rows.len(), n + 1);
    assert!(rows[0]
        .input
        .as_ref()
        .unwrap_err()
        .contains("probably not closed"));
    assert!(rows[1..].iter().all(|r| r.input.is_ok()));
    assert_eq!(rows.last().unwrap().line, n as u64 + 2);
}

#[test]
fn a_header_whose_quote_does_not_close_refuses_the_file() {
    let err = CsvRows::new(&b"Email,\"Name\na@example.com,A\n"[..])
        .err()
        .unwrap();
    assert!(err.to_string().contains("line 1"), "{err}");
}

#[test]
fn lone_cr_line_ends_count_as_lines() {
    let (rows, _) = parse(b"Email,Name\ra@example.com,A\r\rb@example.com,B");
    assert_eq!(summary(&rows), [(2, true), (4, true)]);
}

#[test]
fn a_cell_holds_any_single_field_the_shared_limits_allow() {
    for field in limits::Field::all() {
        assert!(field.max_bytes() <= MAX_CELL_BYTES, "{field:?}");
    }
}

/// Everything a reader gives for a file: rows and warnings as the import sees them, then the
/// first pass's view (line, offset and time of each row).
fn everything<R: BufRead + Seek>(read: impl Fn() -> R) -> (Vec<String>, Vec<String>) {
    let parsed = match CsvRows::new(read()) {
        Err(e) => return (vec![format!("header: {e}")], Vec::new()),
        Ok(rows) => rows
            .map(|item| match item {
                Ok(Parsed::Row(r)) => format!("row {} {} {:?}", r.line, r.end_line, r.input),
                Ok(Parsed::Warning(w)) => format!("warning {} {}", w.line, w.reason),
                Err(e) => format!("error {e}"),
            })
            .collect(),
    };
    let mut scanned = Vec::new();
    let mut rows = CsvRows::new(read()).unwrap();
    while let Some(item) = CsvRows::scan(&mut rows) {
        scanned.push(match item {
            Ok(Scanned::Row { line, start, stamp }) => format!("row {line} {start} {stamp:?}"),
            Ok(Scanned::Warning(w)) => format!("warning {} {}", w.line, w.reason),
            Err(e) => format!("error {e}"),
        });
    }
    (parsed, scanned)
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// Fields read in runs (`Source::take_plain`) give exactly what reading byte by byte gave
    /// (a buffer of one byte, so every run is one byte at most), whatever the buffer's size and
    /// wherever its edges fall: quotes, escaped quotes, text
    /// after a closing quote, CR, LF and CRLF inside and outside quotes, quotes never closed
    /// (the file is read again after such a row), blank lines and rows of the wrong width.
    #[test]
    fn reading_fields_in_runs_reads_what_byte_by_byte_reading_read(
        body in proptest::collection::vec(
            proptest::sample::select(vec!["a", "b", "é", " ", ",", "\"", "\"\"", "\r", "\n", "\r\n", "x@y.z", "2026-03-02T08:00:00Z"]),
            0..120,
        ),
        capacity in 2usize..16,
    ) {
        let text = format!("Name,Email,Submitted At\n{}", body.concat());
        let bytes = text.as_bytes();
        let byte_by_byte =
            everything(|| std::io::BufReader::with_capacity(1, std::io::Cursor::new(bytes)));
        proptest::prop_assert_eq!(&everything(|| std::io::Cursor::new(bytes)), &byte_by_byte);
        proptest::prop_assert_eq!(
            &everything(|| std::io::BufReader::with_capacity(capacity, std::io::Cursor::new(bytes))),
            &byte_by_byte
        );
    }
}
