//! The properties each target checks. A failed property panics with what was wrong.

use crate::lines::{csv_lines, jsonl_lines};
use crate::server::{self, Answer};
use chrono::{TimeZone, Utc};
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use switchboard_core::import::{self, csv::CsvRows, jsonl, Format, ImportOptions, ImportReport};
use switchboard_core::import::{jsonl::JsonlRows, Parsed};
use switchboard_core::intake::{self, IntakeContext, RegistrationInput};
use switchboard_core::{FixedClock, Store};
use switchboard_protocol::{IntakeResponse, PushRequest, PushResponse, PushStatus};

/// Pushed operations the server applied so far in this process (see `server::ACCEPTED`).
pub static APPLIED: AtomicU64 = AtomicU64::new(0);

thread_local! {
    // One store per thread for every input: opening one (migrations) per input would cost more
    // than the input. Rows pile up, which only adds merges and duplicates to what is tried.
    static STORE: RefCell<Store> = RefCell::new(fresh_store());
}

fn fresh_store() -> Store {
    let at = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
    Store::open_in_memory(Arc::new(FixedClock::at(at))).expect("an in-memory store opens")
}

fn registrations(store: &Store) -> i64 {
    store
        .conn()
        .query_row("SELECT count(*) FROM registration", [], |r| r.get(0))
        .expect("counting registrations")
}

fn import_bytes(data: &[u8], format: Format) -> (switchboard_core::Result<ImportReport>, i64) {
    STORE.with(|store| {
        let mut store = store.borrow_mut();
        let before = registrations(&store);
        let options = ImportOptions {
            batch_size: 7,
            format: Some(format),
            ..ImportOptions::default()
        };
        let result = import::import_reader(
            &mut store,
            data,
            data.len() as u64,
            format,
            &options,
            &mut |_| {},
        );
        (result, registrations(&store) - before)
    })
}

/// The counts of a report add up to the rows read, and every listed error names a row's line.
fn check_report(report: &ImportReport, starts: &[u64], added: i64) {
    assert_eq!(
        report.counts.read,
        starts.len() as u64,
        "rows read vs rows the reader gave: {report:?}"
    );
    let outcomes = report.counts.created
        + report.counts.merged
        + report.counts.duplicates
        + report.counts.suppressed
        + report.counts.rejected;
    assert_eq!(
        outcomes, report.counts.read,
        "every row has one outcome: {report:?}"
    );
    assert!(
        added <= (report.counts.created + report.counts.merged) as i64,
        "{added} registrations stored for {report:?}"
    );
    for error in &report.errors {
        assert!(
            starts.binary_search(&error.line).is_ok(),
            "error at no row's line: {error:?}"
        );
    }
}

/// CSV: never panics; the rows' line spans cover every line after the header that is not blank,
/// in order and without overlap; the import reads exactly those rows; a refused header imports
/// nothing.
pub fn csv(data: &[u8]) {
    let lines = csv_lines(data);
    let rows = match CsvRows::new(data) {
        Ok(rows) => rows,
        Err(e) => {
            assert_eq!(
                e.code(),
                "bad_input",
                "a header is refused as bad input: {e}"
            );
            let (result, added) = import_bytes(data, Format::Csv);
            assert!(result.is_err(), "the import refused the header too");
            assert_eq!(added, 0, "a refused file imports nothing");
            return;
        }
    };
    let header = lines
        .iter()
        .position(|l| !l.is_empty())
        .expect("a header was read, so a line is not blank") as u64
        + 1;
    let mut spans = Vec::new();
    for item in rows {
        match item {
            Ok(Parsed::Row(row)) => spans.push((row.line, row.end_line)),
            Ok(Parsed::Warning(_)) => {}
            Err(e) => panic!("reading bytes failed mid-file: {e}"),
        }
    }
    let mut next = header + 1;
    for &(start, end) in &spans {
        assert!(
            start >= next && end >= start,
            "span {start}..={end} after line {next}: {spans:?}"
        );
        for line in next..start {
            assert!(
                lines[line as usize - 1].is_empty(),
                "line {line} is in no row: {spans:?}"
            );
        }
        assert!(
            !lines[start as usize - 1].is_empty(),
            "a row starts on blank line {start}"
        );
        next = end + 1;
    }
    assert!(
        next as usize <= lines.len() + 1,
        "a row ends past the last line: {spans:?}"
    );
    for line in next..=lines.len() as u64 {
        assert!(
            lines[line as usize - 1].is_empty(),
            "line {line} is in no row: {spans:?}"
        );
    }
    let (result, added) = import_bytes(data, Format::Csv);
    let report = result.unwrap_or_else(|e| panic!("the import failed after the header read: {e}"));
    let starts: Vec<u64> = spans.iter().map(|s| s.0).collect();
    check_report(&report, &starts, added);
}

/// JSON Lines: never panics; every line that is not blank is one row, by its number; a line
/// longer than the bound is rejected as such; the import reads exactly those rows.
pub fn jsonl(data: &[u8]) {
    let lines = jsonl_lines(data);
    let mut expected = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let content = if i == 0 {
            line.strip_prefix(b"\xef\xbb\xbf").unwrap_or(line)
        } else {
            line
        };
        let long = line.len() + 1 > jsonl::MAX_LINE_BYTES;
        if long || !content.iter().all(u8::is_ascii_whitespace) {
            expected.push((i as u64 + 1, long));
        }
    }
    let mut got = Vec::new();
    for item in JsonlRows::new(data) {
        match item {
            Ok(Parsed::Row(row)) => {
                let long = matches!(&row.input, Err(e) if e.contains("longer than"));
                assert_eq!(row.end_line, row.line);
                got.push((row.line, long));
            }
            Ok(Parsed::Warning(_)) => {}
            Err(e) => panic!("reading bytes failed mid-file: {e}"),
        }
    }
    assert_eq!(got, expected, "rows by line (and whether too long)");
    let (result, added) = import_bytes(data, Format::Jsonl);
    let report = result.unwrap_or_else(|e| panic!("a JSON Lines import failed: {e}"));
    let starts: Vec<u64> = expected.iter().map(|e| e.0).collect();
    check_report(&report, &starts, added);
}

/// The core's intake of one registration: the input's fields are the bytes split at 0xFF.
/// Never panics; a refusal is `bad_input` with a reason; an accepted row is findable.
pub fn core_intake(data: &[u8]) {
    let mut parts = data
        .split(|b| *b == 0xff)
        .map(|p| Some(String::from_utf8_lossy(p).into_owned()).filter(|s| !s.is_empty()));
    let mut next = || parts.next().flatten();
    let input = RegistrationInput {
        submission_id: next(),
        kind: next(),
        product: next(),
        submitted_at: next(),
        details: switchboard_protocol::RegistrationDetails {
            name: next(),
            company: next(),
            email: next(),
            phone: next(),
            address: next(),
            country: next(),
            ip: next(),
            user_agent: next(),
            referrer: next(),
            pages_visited: next()
                .map(|p| p.split('|').map(str::to_string).collect())
                .unwrap_or_default(),
            form_version: next(),
        },
    };
    STORE.with(|store| {
        let store = store.borrow();
        let ctx =
            IntakeContext::new(store.conn(), None, store.now(), "fuzz").expect("an intake context");
        match intake::record(store.conn(), &input, &ctx) {
            Ok(outcome) => {
                if let Some(lead) = outcome_lead(&outcome) {
                    let found: i64 = store
                        .conn()
                        .query_row("SELECT count(*) FROM lead WHERE id = ?1", [&lead], |r| {
                            r.get(0)
                        })
                        .expect("looking the lead up");
                    assert_eq!(found, 1, "the recorded lead {lead} exists");
                }
            }
            Err(e) => {
                assert_eq!(e.code(), "bad_input", "a refusal is bad input: {e}");
                assert!(!e.to_string().trim().is_empty(), "a refusal says why");
            }
        }
    });
}

fn outcome_lead(outcome: &intake::IntakeOutcome) -> Option<String> {
    match outcome {
        intake::IntakeOutcome::Created(id) | intake::IntakeOutcome::Merged(id) => {
            Some(id.to_string())
        }
        _ => None,
    }
}

/// `POST /v1/push` as a signed-in rep: never a 5xx; a 4xx is an `ErrorBody`; a 200 answers
/// every operation of the request, by its sequence.
pub fn push(data: &[u8]) {
    let answer = server::post("/v1/push", server::Caller::Rep, data);
    check_answer(&answer);
    if answer.status == 200 {
        let request: PushRequest =
            serde_json::from_slice(data).expect("a body the server accepted decodes");
        answers_every_op(&request, &answer.body);
    }
}

/// A 200 push answer is a `PushResponse` answering every operation of `request`, in order;
/// counts the applied ones.
fn answers_every_op(request: &PushRequest, body: &[u8]) {
    let response: PushResponse = serde_json::from_slice(body).expect("a 200 is a PushResponse");
    let sent: Vec<i64> = request.ops.iter().map(|op| op.seq).collect();
    let answered: Vec<i64> = response.results.iter().map(|r| r.seq).collect();
    assert_eq!(answered, sent, "every operation is answered, in order");
    let applied = response
        .results
        .iter()
        .filter(|r| r.status == PushStatus::Applied)
        .count();
    APPLIED.fetch_add(applied as u64, Ordering::Relaxed);
}

/// `POST /v1/push` in the compact form (protocol 4): the first byte says whether the rest is
/// zstd-compressed (its lowest bit), the rest is the body in `application/msgpack`. Never a
/// 5xx; a 4xx is an `ErrorBody`; a 200 answers every operation of the request, which the
/// server's own decoder reads back within the push limit.
pub fn compact_push(data: &[u8]) {
    let Some((&flag, body)) = data.split_first() else {
        return;
    };
    let zstd = flag & 1 == 1;
    let encoding = zstd.then_some(switchboard_protocol::COMPACT_ENCODING);
    let answer = server::post_as(
        "/v1/push",
        server::Caller::Rep,
        switchboard_protocol::COMPACT_CONTENT_TYPE,
        encoding,
        body,
    );
    check_answer(&answer);
    if answer.status == 200 {
        let request: PushRequest = switchboard_server::wire::decode_compact(
            zstd,
            body,
            switchboard_protocol::limits::PUSH_BODY_LIMIT,
        )
        .expect("a body the server accepted decodes");
        answers_every_op(&request, &answer.body);
        // The compact form is the JSON's shapes: the request reads the same from either.
        let json = serde_json::to_vec(&request).expect("a request serialises");
        let again: PushRequest = serde_json::from_slice(&json).expect("its JSON reads back");
        assert_eq!(again, request, "the compact and JSON forms agree");
    }
}

/// `POST /v1/push` in the packed form (protocol 5). The first byte's lowest bit says what the
/// rest is: 1, packed MessagePack, which this target compresses with the dictionary first (the
/// fuzzer explores the MessagePack reader); 0, the body as sent (it explores the zstd decoder
/// with the dictionary). Whatever decompresses reads alike straight into a push, a page and a
/// tree and through the tree (`reads_alike`). Never a 5xx; a 4xx is an `ErrorBody`; the
/// dictionary decoder never yields more than the push limit; a 200 answers every operation,
/// and the body's tree packs and reads back to itself.
pub fn packed_push(data: &[u8]) {
    use switchboard_protocol::packed;
    let Some((&flag, rest)) = data.split_first() else {
        return;
    };
    let compressed;
    let body = if flag & 1 == 1 {
        compressed = packed::compress(rest);
        &compressed[..]
    } else {
        rest
    };
    let limit = switchboard_protocol::limits::PUSH_BODY_LIMIT;
    match packed::decompress(body, limit) {
        Ok(bytes) => {
            assert!(bytes.len() <= limit, "{} bytes past the limit", bytes.len());
            reads_alike::<PushRequest>(&bytes);
            reads_alike::<switchboard_protocol::ChangesPage>(&bytes);
            reads_alike::<serde_json::Value>(&bytes);
        }
        Err(packed::PackedError::TooLarge { .. } | packed::PackedError::Unreadable(_)) => {}
        Err(e) => panic!("decompressing gave a shape error: {e}"),
    }
    let answer = server::post_as(
        "/v1/push",
        server::Caller::Rep,
        packed::PACKED_CONTENT_TYPE,
        None,
        body,
    );
    check_answer(&answer);
    if answer.status == 200 {
        let request: PushRequest = switchboard_server::wire::decode_packed(body, limit)
            .expect("a body the server accepted decodes");
        answers_every_op(&request, &answer.body);
        let tree = packed::decode_value(body, limit).expect("the accepted body reads");
        let again = packed::decode_value(&packed::encode_value(&tree), limit)
            .expect("a re-packed tree reads");
        assert_eq!(again, tree, "the packed form reads back exactly");
    }
}

/// Packed MessagePack read straight into `T` and through its JSON tree: a value the direct
/// reader gives is the tree's, and `unpack_as` (direct, the tree when it steps aside) answers
/// exactly as the tree path does, errors included.
fn reads_alike<T>(bytes: &[u8])
where
    T: serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    use switchboard_protocol::packed;
    let tree = packed::unpack_via_tree::<T>(bytes);
    if let Ok(direct) = packed::unpack_direct::<T>(bytes) {
        assert_eq!(
            Ok(&direct),
            tree.as_ref(),
            "the direct reader agrees with the tree"
        );
    }
    assert_eq!(
        packed::unpack_as::<T>(bytes),
        tree,
        "unpack_as answers as the tree"
    );
}

/// `POST /v1/registrations` with the intake key: never a 5xx; a 4xx is an `ErrorBody`, and an
/// invalid submission (a JSON object) names the field; a 200 is an `IntakeResponse`.
pub fn registration(data: &[u8]) {
    let answer = server::post("/v1/registrations", server::Caller::Intake, data);
    check_answer(&answer);
    if answer.status == 200 {
        let _: IntakeResponse =
            serde_json::from_slice(&answer.body).expect("a 200 is an IntakeResponse");
    } else if let Some(error) = &answer.error {
        // A body that is not an object at all ("{" as a JSON string) has no field to name.
        let object = serde_json::from_slice::<serde_json::Value>(data).is_ok_and(|v| v.is_object());
        if error.code == "invalid" && object {
            const FIELDS: [&str; 15] = [
                "submission_id",
                "kind",
                "product",
                "submitted_at",
                "name",
                "company",
                "email",
                "phone",
                "address",
                "country",
                "ip",
                "user_agent",
                "referrer",
                "pages_visited",
                "form_version",
            ];
            assert!(
                FIELDS.iter().any(|f| error.message.contains(f)),
                "an invalid submission names its field: {error:?}"
            );
        }
    }
}

/// A one-click unsubscribe with a token from outside: the parser never panics, nothing but the
/// key makes a token that verifies, the endpoint answers its one page, and nobody is opted out
/// (the harness holds no lead a random token could name with a valid MAC).
pub fn unsubscribe(data: &[u8]) {
    // A request line longer than this never reaches the application (hyper refuses it).
    let data = &data[..data.len().min(8 * 1024)];
    let (_, key) = server::unsubscribe_key();
    if let Some(token) = switchboard_domain::unsubscribe::parse(&String::from_utf8_lossy(data)) {
        assert!(!token.verify(key), "a token made without the key verified");
    }
    let before = server::consent_events();
    let answer = server::one_click(data);
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    assert!(
        String::from_utf8_lossy(&answer.body).contains("<title>Unsubscribed</title>"),
        "every token gets the same page: {}",
        String::from_utf8_lossy(&answer.body)
    );
    assert_eq!(
        server::consent_events(),
        before,
        "a random token opted someone out"
    );
}

fn check_answer(answer: &Answer) {
    assert!(
        answer.status < 500,
        "the server answered {} to a client's bytes: {}",
        answer.status,
        String::from_utf8_lossy(&answer.body)
    );
    if answer.status >= 400 {
        let error = answer.error.as_ref().unwrap_or_else(|| {
            panic!(
                "a {} is not an ErrorBody: {}",
                answer.status,
                String::from_utf8_lossy(&answer.body)
            )
        });
        assert!(
            !error.code.is_empty() && !error.message.is_empty(),
            "{error:?}"
        );
    }
}
