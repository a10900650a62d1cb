//! Feedback from an email service: its unsubscribe, complaint and bounce exports (CSV). Each
//! unsubscribe or complaint becomes an email opt-out with the service recorded as the source;
//! a hard bounce marks the address invalid for email; soft bounces are counted and ignored.
//! Unknown addresses are reported, never invented. A file already imported (same bytes) changes
//! nothing, and a row whose opt-out is already recorded is skipped. A malformed file is
//! rejected whole, with the numbers of the offending lines.

use crate::clock::to_text;
use crate::compliance::consent;
use crate::compliance::suppression::{self, Identifier};
use crate::error::{CoreError, Result};
use crate::normalize::normalize_email;
use crate::people::leads;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::io::Read;
use switchboard_domain::time::parse_loose;
use switchboard_protocol::{Channel, ConsentScope};

/// What a feedback row reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedbackEvent {
    Unsubscribe,
    Complaint,
    HardBounce,
    SoftBounce,
    /// Deliveries, opens, clicks… in a full event export: not feedback about consent.
    Other,
}

impl FeedbackEvent {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            FeedbackEvent::Unsubscribe => "unsubscribe",
            FeedbackEvent::Complaint => "complaint",
            FeedbackEvent::HardBounce => "hard_bounce",
            FeedbackEvent::SoftBounce => "soft_bounce",
            FeedbackEvent::Other => "other",
        }
    }

    /// Parses the kind a whole file reports when it has no event column (`--event`).
    pub fn parse(text: &str) -> Result<FeedbackEvent> {
        match classify(text, None) {
            Some(FeedbackEvent::Other) | None => Err(CoreError::BadInput(format!(
                "unknown feedback event '{text}' (unsubscribe, complaint, hard_bounce, soft_bounce)"
            ))),
            Some(e) => Ok(e),
        }
    }
}

/// Lowercase letters and digits only, so `Email Address`, `email_address` and `EmailAddress`
/// compare equal.
fn squash(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

const EMAIL_COLUMNS: &[&str] = &[
    "email",
    "emailaddress",
    "recipient",
    "recipientemail",
    "recipientaddress",
    "subscriberemail",
    "address",
    "to",
];
const EVENT_COLUMNS: &[&str] = &[
    "event",
    "eventtype",
    "type",
    "recordtype",
    "status",
    "action",
    "category",
];
const BOUNCE_TYPE_COLUMNS: &[&str] = &[
    "bouncetype",
    "bounceclassification",
    "bouncecategory",
    "bounceclass",
    "classification",
];
const TIME_COLUMNS: &[&str] = &[
    "timestamp",
    "date",
    "time",
    "datetime",
    "createdat",
    "eventdate",
    "eventtime",
    "occurredat",
    "receivedat",
    "unsubtime",
    "cleantime",
    "bouncedat",
    "unsubscribedat",
];
const REASON_COLUMNS: &[&str] = &[
    "reason",
    "unsubreason",
    "bouncereason",
    "diagnostic",
    "diagnosticcode",
    "description",
    "details",
];

/// What an event (and, for bounces, a bounce type) cell says; `None` when unrecognised.
fn classify(event: &str, bounce_type: Option<&str>) -> Option<FeedbackEvent> {
    let hardness = bounce_type.map(squash).filter(|t| !t.is_empty());
    let hard_or_soft = |default_hard: bool| match hardness.as_deref() {
        Some("soft" | "transient" | "temporary" | "softbounce" | "blocked" | "undetermined") => {
            FeedbackEvent::SoftBounce
        }
        Some(_) => FeedbackEvent::HardBounce,
        None if default_hard => FeedbackEvent::HardBounce,
        None => FeedbackEvent::SoftBounce,
    };
    Some(match squash(event).as_str() {
        "unsubscribe" | "unsubscribed" | "unsub" | "optout" | "optedout" | "listunsubscribe"
        | "groupunsubscribe" => FeedbackEvent::Unsubscribe,
        "complaint" | "complained" | "spam" | "spamreport" | "spamcomplaint" | "abuse"
        | "abusereport" | "fbl" => FeedbackEvent::Complaint,
        // A bounce of unstated kind is hard unless a bounce-type column says otherwise:
        // services list cleaned (permanently failing) addresses without a type.
        "bounce" | "bounced" | "cleaned" => hard_or_soft(true),
        "hardbounce" | "hard" | "permanent" | "permanentbounce" => FeedbackEvent::HardBounce,
        "softbounce" | "soft" | "transient" | "transientbounce" | "blocked" | "deferred" => {
            FeedbackEvent::SoftBounce
        }
        "delivered" | "delivery" | "sent" | "send" | "processed" | "open" | "opened" | "click"
        | "clicked" | "subscribe" | "subscribed" => FeedbackEvent::Other,
        _ => return None,
    })
}

/// One usable row of a feedback file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedbackRow {
    /// The line the row starts on (the header is line 1).
    pub line: u64,
    /// Normalised.
    pub email: String,
    pub event: FeedbackEvent,
    pub occurred_at: Option<DateTime<Utc>>,
    pub reason: Option<String>,
}

fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    if let Some(at) = parse_loose(t) {
        return Some(at);
    }
    // Unix seconds (or milliseconds, as some services write them).
    if let Ok(n) = t.parse::<i64>() {
        return if n > 100_000_000_000 {
            DateTime::from_timestamp_millis(n)
        } else {
            DateTime::from_timestamp(n, 0)
        };
    }
    None
}

/// The most lines a rejection lists before summarising the rest.
const MAX_REPORTED_ERRORS: usize = 20;

/// Reads a feedback file. `default_event` is what rows mean when the file has no event column.
/// Every problem is collected, and the file is rejected with them all (up to a limit).
pub fn parse(bytes: &[u8], default_event: Option<FeedbackEvent>) -> Result<Vec<FeedbackRow>> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let first_line = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    let delimiter = [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|d| first_line.iter().filter(|b| *b == d).count())
        .unwrap_or(b',');
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(false)
        .from_reader(bytes);
    let headers = reader
        .headers()
        .map_err(|e| reject(vec![csv_problem(bytes, &e)]))?
        .clone();
    let names: Vec<String> = headers.iter().map(squash).collect();
    let column = |aliases: &[&str]| {
        aliases
            .iter()
            .find_map(|a| names.iter().position(|n| n == a))
    };
    let Some(email_col) = column(EMAIL_COLUMNS) else {
        return Err(reject(vec![format!(
            "line 1: no email column (expected one of: Email, Email Address, email_address, \
             Recipient; found: {})",
            headers.iter().collect::<Vec<_>>().join(", ")
        )]));
    };
    let event_col = column(EVENT_COLUMNS);
    // A Mailchimp-style list export says what it lists by its time column.
    let implied = if names.iter().any(|n| n == "unsubtime") {
        Some(FeedbackEvent::Unsubscribe)
    } else if names.iter().any(|n| n == "cleantime") {
        Some(FeedbackEvent::HardBounce)
    } else {
        None
    };
    let default_event = default_event.or(implied);
    if event_col.is_none() && default_event.is_none() {
        return Err(reject(vec![
            "line 1: no event column (Event, Type or Status) and no event given for the whole \
             file (e.g. --event unsubscribe)"
                .to_string(),
        ]));
    }
    let bounce_col = column(BOUNCE_TYPE_COLUMNS);
    let time_col = column(TIME_COLUMNS);
    let reason_col = column(REASON_COLUMNS);

    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                problems.push(csv_problem(bytes, &e));
                continue;
            }
        };
        let line = record
            .position()
            .map_or(0, |p| line_at(bytes, p.byte() as usize));
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let cell = |i: Option<usize>| i.and_then(|i| record.get(i)).map(str::trim);
        let email = match normalize_email(cell(Some(email_col)).unwrap_or("")) {
            Ok(e) => e,
            Err(e) => {
                problems.push(format!("line {line}: {e}"));
                continue;
            }
        };
        let event = match cell(event_col).filter(|e| !e.is_empty()) {
            Some(text) => match classify(text, cell(bounce_col)) {
                Some(e) => e,
                None => {
                    problems.push(format!("line {line}: unknown event '{text}'"));
                    continue;
                }
            },
            None => match default_event {
                Some(FeedbackEvent::HardBounce) if bounce_col.is_some() => {
                    classify("bounce", cell(bounce_col)).unwrap_or(FeedbackEvent::HardBounce)
                }
                Some(e) => e,
                None => {
                    problems.push(format!("line {line}: no event"));
                    continue;
                }
            },
        };
        rows.push(FeedbackRow {
            line,
            email,
            event,
            occurred_at: cell(time_col).and_then(parse_time),
            reason: cell(reason_col)
                .filter(|r| !r.is_empty())
                .map(|r| r.chars().take(500).collect()),
        });
    }
    if !problems.is_empty() {
        return Err(reject(problems));
    }
    Ok(rows)
}

/// The 1-based line number of a byte offset (the CSV reader's own count drifts on CRLF files).
fn line_at(bytes: &[u8], offset: usize) -> u64 {
    // On CRLF files a record's position points at the `\n` ending the line before it.
    let mut offset = offset.min(bytes.len());
    while offset < bytes.len() && matches!(bytes[offset], b'\r' | b'\n') {
        offset += 1;
    }
    1 + bytes[..offset].iter().filter(|b| **b == b'\n').count() as u64
}

fn csv_problem(bytes: &[u8], e: &csv::Error) -> String {
    let line = e
        .position()
        .map_or(0, |p| line_at(bytes, p.byte() as usize));
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("line {line}: {len} fields where the header has {expected_len}"),
        csv::ErrorKind::Utf8 { .. } => format!("line {line}: not UTF-8 text"),
        _ => format!("line {line}: {e}"),
    }
}

fn reject(mut problems: Vec<String>) -> CoreError {
    let more = problems.len().saturating_sub(MAX_REPORTED_ERRORS);
    problems.truncate(MAX_REPORTED_ERRORS);
    let mut text = format!(
        "feedback file rejected, nothing imported:\n  {}",
        problems.join("\n  ")
    );
    if more > 0 {
        text += &format!("\n  … and {more} more");
    }
    CoreError::BadInput(text)
}

/// An address in the file that matches no lead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnknownAddress {
    pub line: u64,
    pub email: String,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FeedbackReport {
    pub source: String,
    /// SHA-256 of the file's bytes.
    pub hash: String,
    /// The same file was imported before; nothing was changed.
    pub already_imported: bool,
    pub rows: u64,
    pub unsubscribes: u64,
    pub complaints: u64,
    pub hard_bounces: u64,
    /// Counted and ignored: the address may work next time.
    pub soft_bounces: u64,
    /// Deliveries, opens, clicks: ignored.
    pub other_events: u64,
    /// Email opt-outs recorded by this import.
    pub opted_out: u64,
    /// Unsubscribes and complaints of people already opted out of email.
    pub already_opted_out: u64,
    /// Addresses marked invalid by this import.
    pub invalidated: u64,
    pub already_invalid: u64,
    /// Addresses of erased people (recognised by their suppression hash only).
    pub erased: u64,
    pub unknown: Vec<UnknownAddress>,
}

/// Imports a feedback file whose rows carry their own event column.
pub fn import(
    conn: &Connection,
    reader: impl Read,
    source_name: &str,
    actor: &str,
    at: DateTime<Utc>,
) -> Result<FeedbackReport> {
    import_with(conn, reader, source_name, None, actor, at)
}

/// Imports a feedback file inside the caller's transaction; `default_event` says what rows mean
/// when the file has no event column (a plain list of unsubscribed addresses, say).
pub fn import_with(
    conn: &Connection,
    mut reader: impl Read,
    source_name: &str,
    default_event: Option<FeedbackEvent>,
    actor: &str,
    at: DateTime<Utc>,
) -> Result<FeedbackReport> {
    let source = source_name.trim();
    if source.is_empty() {
        return Err(CoreError::BadInput(
            "name the email service the feedback comes from (--source)".into(),
        ));
    }
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .map_err(|e| CoreError::io("reading the feedback file", e))?;
    let hash = hex::encode(Sha256::digest(&bytes));
    let rows = parse(&bytes, default_event)?;
    let mut report = FeedbackReport {
        source: source.to_string(),
        hash: hash.clone(),
        rows: rows.len() as u64,
        ..FeedbackReport::default()
    };
    let seen = conn
        .prepare_cached("SELECT 1 FROM feedback_import WHERE hash = ?1")?
        .query_row([&hash], |_| Ok(()))
        .optional()?
        .is_some();
    if seen {
        report.already_imported = true;
        return Ok(report);
    }
    let key = suppression::key(conn)?;
    for row in &rows {
        match row.event {
            FeedbackEvent::Unsubscribe => report.unsubscribes += 1,
            FeedbackEvent::Complaint => report.complaints += 1,
            FeedbackEvent::HardBounce => report.hard_bounces += 1,
            FeedbackEvent::SoftBounce => {
                report.soft_bounces += 1;
                continue;
            }
            FeedbackEvent::Other => {
                report.other_events += 1;
                continue;
            }
        }
        let ids = lead_ids_by_email(conn, &row.email)?;
        if ids.is_empty() {
            if suppression::is_suppressed(conn, &key, Identifier::Email, &row.email)? {
                report.erased += 1;
            } else {
                report.unknown.push(UnknownAddress {
                    line: row.line,
                    email: row.email.clone(),
                });
            }
            continue;
        }
        for id in ids {
            apply(conn, &id, row, source, actor, at, &mut report)?;
        }
    }
    conn.prepare_cached(
        "INSERT INTO feedback_import(hash, source, imported_at, imported_by, rows, opted_out,
                                     invalidated, unknown)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        hash,
        source,
        to_text(at),
        actor,
        report.rows as i64,
        report.opted_out as i64,
        report.invalidated as i64,
        report.unknown.len() as i64
    ])?;
    Ok(report)
}

fn lead_ids_by_email(conn: &Connection, email: &str) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id FROM lead WHERE email = ?1 AND status != 'erased' ORDER BY created_at",
    )?;
    let rows = stmt.query_map([email], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn apply(
    conn: &Connection,
    lead_id: &str,
    row: &FeedbackRow,
    source: &str,
    actor: &str,
    at: DateTime<Utc>,
    report: &mut FeedbackReport,
) -> Result<()> {
    // An event time from the service's clock never lies in our future.
    let when = row.occurred_at.map_or(at, |t| t.min(at));
    match row.event {
        FeedbackEvent::Unsubscribe | FeedbackEvent::Complaint => {
            let label = format!("{source} {}", row.event.as_str());
            let mut evidence = format!("{} reported at {}", row.event.as_str(), to_text(when));
            if let Some(reason) = &row.reason {
                evidence += &format!(": {reason}");
            }
            // The same report, seen in another export of the service, is not recorded twice.
            let recorded = conn
                .prepare_cached(
                    "SELECT 1 FROM consent_event
                     WHERE lead_id = ?1 AND source = ?2 AND evidence = ?3 LIMIT 1",
                )?
                .query_row(params![lead_id, label, evidence], |_| Ok(()))
                .optional()?
                .is_some();
            if recorded || consent::state(conn, lead_id)?.is_opted_out(Channel::Email) {
                report.already_opted_out += 1;
                return Ok(());
            }
            consent::opt_out(
                conn,
                lead_id,
                ConsentScope::Email,
                &label,
                Some(&evidence),
                actor,
                when,
            )?;
            report.opted_out += 1;
        }
        FeedbackEvent::HardBounce => {
            let action = format!("{source} hard bounce");
            if leads::set_email_invalid(conn, lead_id, true, actor, &action, at)? {
                report.invalidated += 1;
            } else {
                report.already_invalid += 1;
            }
        }
        FeedbackEvent::SoftBounce | FeedbackEvent::Other => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_and_event_aliases_of_common_services_are_understood() {
        let file = "Email Address;Event;Bounce Type;Timestamp;Reason\n\
                    Ann@Example.com;unsubscribed;;2026-03-01 10:00:00;too many mails\n\
                    bo@example.com;Bounce;Permanent;1772359200;550 no such user\n\
                    cy@example.com;bounce;Transient;;mailbox full\n\
                    di@example.com;spamreport;;2026-03-01T09:00:00Z;\n\
                    ed@example.com;open;;;\n";
        let rows = parse(file.as_bytes(), None).unwrap();
        let events: Vec<_> = rows.iter().map(|r| r.event).collect();
        assert_eq!(
            events,
            vec![
                FeedbackEvent::Unsubscribe,
                FeedbackEvent::HardBounce,
                FeedbackEvent::SoftBounce,
                FeedbackEvent::Complaint,
                FeedbackEvent::Other
            ]
        );
        assert_eq!(rows[0].email, "ann@example.com");
        assert_eq!(rows[0].line, 2);
        assert_eq!(rows[1].occurred_at.unwrap().timestamp(), 1_772_359_200);
        assert_eq!(rows[0].reason.as_deref(), Some("too many mails"));
    }

    #[test]
    fn a_plain_list_needs_an_event_for_the_whole_file() {
        let file = "\u{feff}email_address,UNSUB_TIME\nann@example.com,2026-03-01\n";
        let rows = parse(file.as_bytes(), None).unwrap();
        assert_eq!(rows[0].event, FeedbackEvent::Unsubscribe);
        let plain = "Recipient\nann@example.com\n";
        let err = parse(plain.as_bytes(), None).unwrap_err().to_string();
        assert!(err.contains("line 1") && err.contains("--event"), "{err}");
        let rows = parse(plain.as_bytes(), Some(FeedbackEvent::Complaint)).unwrap();
        assert_eq!(rows[0].event, FeedbackEvent::Complaint);
    }

    #[test]
    fn malformed_files_are_rejected_with_every_bad_line() {
        let file = "Email,Type\nann@example.com,unsubscribe\nnot-an-address,bounce\n\
                    bo@example.com,unsubscribe,extra\ncy@example.com,teleported\n";
        let err = parse(file.as_bytes(), None).unwrap_err();
        assert_eq!(err.code(), "bad_input");
        let text = err.to_string();
        assert!(text.contains("line 3: invalid email"), "{text}");
        assert!(
            text.contains("line 4: 3 fields where the header has 2"),
            "{text}"
        );
        assert!(
            text.contains("line 5: unknown event 'teleported'"),
            "{text}"
        );
        assert!(!text.contains("line 2"), "{text}");
        let crlf = file.replace('\n', "\r\n");
        let text = parse(crlf.as_bytes(), None).unwrap_err().to_string();
        assert!(text.contains("line 4: 3 fields"), "{text}");
        assert!(text.contains("line 5: unknown event"), "{text}");
        let none = parse(b"Name,Type\nAnn,unsubscribe\n", None).unwrap_err();
        assert!(none.to_string().contains("no email column"), "{none}");
    }
}

#[cfg(test)]
mod import_tests {
    use super::*;
    use crate::clock::new_id;
    use crate::fixtures::nine;
    use crate::people::leads::NewLead;
    use crate::Store;

    fn store_with(emails: &[&str]) -> (Store, Vec<String>) {
        let at = nine();
        let mut s = crate::fixtures::store_at(at);
        let mut ids = Vec::new();
        for e in emails {
            let id = new_id(at);
            let new = NewLead {
                email: Some(e.to_string()),
                ..NewLead::default()
            };
            s.with_tx(|tx| leads::insert(tx, &id, &new, at)).unwrap();
            ids.push(id);
        }
        (s, ids)
    }

    const FILE: &str = "Email,Event,Bounce Type,Timestamp\n\
        ann@example.com,unsubscribe,,2026-03-01 10:00:00\n\
        bo@example.com,complaint,,\n\
        cy@example.com,bounce,hard,\n\
        di@example.com,bounce,soft,\n\
        stranger@example.com,unsubscribe,,\n";

    #[test]
    fn an_import_opts_out_invalidates_and_reports_unknowns_once() {
        let (mut s, ids) = store_with(&[
            "ann@example.com",
            "bo@example.com",
            "cy@example.com",
            "di@example.com",
        ]);
        let now = s.now();
        let first = s
            .with_tx(|tx| import(tx, FILE.as_bytes(), "mailchimp", "manager", now))
            .unwrap();
        assert_eq!(
            (first.opted_out, first.invalidated, first.soft_bounces),
            (2, 1, 1)
        );
        assert_eq!(
            first.unknown,
            vec![UnknownAddress {
                line: 6,
                email: "stranger@example.com".into()
            }]
        );
        let ann = consent::state(s.conn(), &ids[0]).unwrap();
        let out = ann.blocking(Channel::Email).unwrap();
        assert_eq!(out.source, "mailchimp unsubscribe");
        assert_eq!(out.since.to_rfc3339(), "2026-03-01T10:00:00+00:00");
        assert!(leads::get(s.conn(), &ids[2]).unwrap().email_invalid);
        assert!(!leads::get(s.conn(), &ids[3]).unwrap().email_invalid);
        assert!(!consent::state(s.conn(), &ids[0])
            .unwrap()
            .is_opted_out(Channel::Phone));

        let events = |s: &Store| -> i64 {
            s.conn()
                .query_row("SELECT count(*) FROM consent_event", [], |r| r.get(0))
                .unwrap()
        };
        let before = (events(&s), crate::store::outbox::pending(s.conn()).unwrap());
        let again = s
            .with_tx(|tx| import(tx, FILE.as_bytes(), "mailchimp", "manager", now))
            .unwrap();
        assert!(again.already_imported);
        assert_eq!((again.opted_out, again.invalidated), (0, 0));
        // The same events in a file with other bytes change nothing either.
        let reordered = FILE.replace("Email,Event", "email,event");
        let third = s
            .with_tx(|tx| import(tx, reordered.as_bytes(), "mailchimp", "manager", now))
            .unwrap();
        assert!(!third.already_imported);
        assert_eq!((third.opted_out, third.invalidated), (0, 0));
        assert_eq!((third.already_opted_out, third.already_invalid), (2, 1));
        assert_eq!(
            before,
            (events(&s), crate::store::outbox::pending(s.conn()).unwrap())
        );
    }

    #[test]
    fn a_rejected_file_writes_nothing() {
        let (mut s, ids) = store_with(&["ann@example.com"]);
        let now = s.now();
        let bad = "Email,Event\nann@example.com,unsubscribe\nbroken\n";
        let err = s
            .with_tx(|tx| import(tx, bad.as_bytes(), "sendgrid", "manager", now))
            .unwrap_err();
        assert!(err.to_string().contains("line 3"), "{err}");
        assert!(!consent::state(s.conn(), &ids[0])
            .unwrap()
            .is_opted_out(Channel::Email));
    }
}
