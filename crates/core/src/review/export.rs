//! CSV export of leads and of follow-up history for reporting, streamed row by row so memory
//! stays flat on any database size.
//!
//! Registration data comes from the public web, so every cell that a spreadsheet would read as a
//! formula (starting with `=`, `+`, `-`, `@`, tab or carriage return) gets a leading apostrophe.
//! That includes E.164 phone numbers (`'+4930…`), which spreadsheets then show as text — the
//! price of never evaluating what a stranger typed.
//!
//! Both exports are opened by people in spreadsheets, so their header cells are words ("Last
//! outcome", "Next follow-up"). The values stay the stable identifiers the CLI and the sync
//! protocol use (`no_answer`, `phone`, `working`): a sheet filters and pivots on them in any
//! language, and a script reading the file needs no table of translations.

use crate::error::{CoreError, Result};
use crate::outreach::followup::COLUMNS;
use crate::people::leads::{lead_from_row, LEAD_COLUMNS};
use crate::review::history::{self, HistoryQuery, ROW_LEAD_COLUMNS};
use chrono::{DateTime, Utc};
use rusqlite::{params_from_iter, Connection};
use std::borrow::Cow;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Makes a cell safe to open in a spreadsheet: formula-like text gets a leading apostrophe.
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

fn csv_error(e: csv::Error) -> CoreError {
    CoreError::io("writing CSV", std::io::Error::other(e))
}

fn time(t: Option<DateTime<Utc>>) -> String {
    t.map(crate::clock::to_text).unwrap_or_default()
}

fn write_row<W: Write>(w: &mut csv::Writer<W>, cells: &[String]) -> Result<()> {
    w.write_record(cells.iter().map(|c| neutralise(c).into_owned()))
        .map_err(csv_error)
}

const LEAD_HEADER: [&str; 19] = [
    "Lead ID",
    "Name",
    "Company",
    "Email",
    "Phone",
    "Address",
    "Country",
    "Time zone",
    "Office",
    "Owner",
    "Status",
    "Created",
    "Last registered",
    "Attempts",
    "Last attempt",
    "Last outcome",
    "Next follow-up",
    "First contact",
    "Email invalid",
];

/// Writes every lead (erased ones as their skeleton) as CSV with a header; returns the rows.
pub fn export_leads<W: Write>(conn: &Connection, out: W) -> Result<u64> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(LEAD_HEADER).map_err(csv_error)?;
    let mut stmt = conn.prepare(&format!(
        "SELECT {LEAD_COLUMNS} FROM lead ORDER BY created_at, id"
    ))?;
    let mut rows = stmt.query([])?;
    let mut n = 0;
    while let Some(row) = rows.next()? {
        let l = lead_from_row(row)?;
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        write_row(
            &mut w,
            &[
                l.id.clone(),
                text(&l.name),
                text(&l.company),
                text(&l.email),
                text(&l.phone),
                text(&l.address),
                text(&l.country),
                text(&l.time_zone),
                text(&l.office),
                text(&l.owner),
                l.status.as_str().to_string(),
                time(Some(l.created_at)),
                time(l.last_registered_at),
                l.attempts.to_string(),
                time(l.last_attempt_at),
                l.last_outcome
                    .map(|o| o.as_str().to_string())
                    .unwrap_or_default(),
                time(l.next_follow_up_at),
                time(l.first_contact_at),
                l.email_invalid.to_string(),
            ],
        )?;
        n += 1;
    }
    w.flush().map_err(|e| CoreError::io("writing CSV", e))?;
    Ok(n)
}

const HISTORY_HEADER: [&str; 12] = [
    "When",
    "Lead ID",
    "Lead",
    "Company",
    "Office",
    "Channel",
    "Direction",
    "Outcome",
    "Rep",
    "Note",
    "Next follow-up",
    "Follow-up ID",
];

/// Writes every follow-up `q` matches (its paging is ignored), newest first, as CSV with a
/// header; returns the rows.
pub fn export_history<W: Write>(conn: &Connection, q: &HistoryQuery, out: W) -> Result<u64> {
    let (filter, params) = history::filter_sql(q)?;
    let mut w = csv::Writer::from_writer(out);
    w.write_record(HISTORY_HEADER).map_err(csv_error)?;
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS}, {ROW_LEAD_COLUMNS} FROM follow_up f JOIN lead l ON l.id = f.lead_id
         WHERE {filter} ORDER BY f.occurred_at DESC, f.id DESC"
    ))?;
    let mut rows = stmt.query(params_from_iter(params.iter()))?;
    let mut n = 0;
    while let Some(row) = rows.next()? {
        let h = history::row_from(row)?;
        let f = h.follow_up;
        write_row(
            &mut w,
            &[
                time(Some(f.occurred_at)),
                f.lead_id,
                h.lead_name.unwrap_or_default(),
                h.lead_company.unwrap_or_default(),
                h.lead_office.unwrap_or_default(),
                f.channel.as_str().to_string(),
                f.direction.as_str().to_string(),
                f.outcome.as_str().to_string(),
                f.rep,
                f.note.unwrap_or_default(),
                time(f.next_follow_up_at),
                f.id,
            ],
        )?;
        n += 1;
    }
    w.flush().map_err(|e| CoreError::io("writing CSV", e))?;
    Ok(n)
}

/// Writes every follow-up `q` matches to the CSV file `path` as [`export_history`] does, whole
/// or not at all (see [`write_whole`]); returns the rows.
pub fn export_history_to_file(conn: &Connection, q: &HistoryQuery, path: &Path) -> Result<u64> {
    write_whole(path, |out| export_history(conn, q, out))
}

/// Runs `write` into `FILE.partial` beside `file`, syncs it and renames it to `file`, so `file`
/// is either the complete export or untouched; the partial file is removed on failure.
pub fn write_whole(file: &Path, write: impl FnOnce(&mut dyn Write) -> Result<u64>) -> Result<u64> {
    let partial = partial_path(file);
    let result = (|| -> Result<u64> {
        let context = || format!("writing {}", partial.display());
        let created = std::fs::File::create(&partial).map_err(|e| CoreError::io(context(), e))?;
        let mut out = BufWriter::new(created);
        let rows = write(&mut out)?;
        let created = out
            .into_inner()
            .map_err(|e| CoreError::io(context(), e.into_error()))?;
        created
            .sync_all()
            .map_err(|e| CoreError::io(context(), e))?;
        std::fs::rename(&partial, file)
            .map_err(|e| CoreError::io(format!("creating {}", file.display()), e))?;
        Ok(rows)
    })();
    if result.is_err() {
        // Best effort: the failure being reported matters more than a leftover partial file.
        let _ = std::fs::remove_file(&partial);
    }
    result
}

fn partial_path(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_os_string();
    name.push(".partial");
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::fixtures::noon;
    use crate::outreach::followup::{self, LogFollowUp};
    use crate::people::leads::NewLead;
    use crate::Store;

    use switchboard_protocol::{Channel, Direction, Outcome};

    #[test]
    fn formula_like_cells_are_neutralised() {
        for (input, expected) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("+4930123456", "'+4930123456"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tcmd", "'\tcmd"),
            ("\r=1", "'\r=1"),
            ("Ann", "Ann"),
            ("a=b", "a=b"),
            ("", ""),
        ] {
            assert_eq!(neutralise(input), expected, "{input:?}");
        }
    }

    fn setup() -> Store {
        let mut s = crate::fixtures::store_at(noon());
        let lead = NewLead {
            name: Some("=cmd|' /C calc'!A0".into()),
            company: Some("Acme, \"Robotics\"\nGmbH".into()),
            time_zone: None,
            last_registered_at: Some(noon()),
            ..crate::fixtures::ann()
        };
        let _id = crate::fixtures::insert_lead(&mut s, &lead, noon());
        let input = LogFollowUp {
            lead: "ann@example.com".into(),
            channel: Channel::Email,
            direction: Direction::Out,
            outcome: Outcome::Sent,
            note: Some("@mention, then \"quotes\"".into()),
            occurred_at: noon(),
            rep: "rep1".into(),
            next_follow_up_at: None,
        };
        s.with_tx(|tx| followup::log(tx, &input, noon())).unwrap();
        s
    }

    #[test]
    fn leads_export_round_trips_through_a_csv_reader_with_formulas_defused() {
        let s = setup();
        let mut out = Vec::new();
        assert_eq!(export_leads(s.conn(), &mut out).unwrap(), 1);
        let mut r = csv::Reader::from_reader(out.as_slice());
        assert_eq!(r.headers().unwrap().len(), LEAD_HEADER.len());
        assert_eq!(&r.headers().unwrap()[15], "Last outcome");
        let rec = r.records().next().unwrap().unwrap();
        assert_eq!(&rec[1], "'=cmd|' /C calc'!A0");
        assert_eq!(&rec[2], "Acme, \"Robotics\"\nGmbH");
        assert_eq!(&rec[4], "'+4930123456");
        assert_eq!(&rec[10], "working");
        assert_eq!(&rec[13], "1");
    }

    #[test]
    fn history_export_writes_every_matching_follow_up() {
        let s = setup();
        let mut out = Vec::new();
        let q = HistoryQuery {
            limit: 0,
            channel: Some(Channel::Email),
            ..HistoryQuery::default()
        };
        assert_eq!(export_history(s.conn(), &q, &mut out).unwrap(), 1);
        let mut r = csv::Reader::from_reader(out.as_slice());
        let rec = r.records().next().unwrap().unwrap();
        assert_eq!(&rec[2], "'=cmd|' /C calc'!A0");
        assert_eq!(&rec[9], "'@mention, then \"quotes\"");
        // Words head the columns; the values stay identifiers a sheet or script filters on.
        assert_eq!(&r.headers().unwrap()[7], "Outcome");
        assert_eq!((&rec[5], &rec[6], &rec[7]), ("email", "out", "sent"));
        let none = HistoryQuery {
            channel: Some(Channel::Phone),
            ..HistoryQuery::default()
        };
        let mut out = Vec::new();
        assert_eq!(export_history(s.conn(), &none, &mut out).unwrap(), 0);
        assert_eq!(
            String::from_utf8(out).unwrap().lines().count(),
            1,
            "header only"
        );
    }

    #[test]
    fn a_history_file_is_written_whole_or_the_old_one_stays() {
        let s = setup();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.csv");
        let rows = export_history_to_file(s.conn(), &HistoryQuery::default(), &path).unwrap();
        assert_eq!(rows, 1);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("When,Lead ID,Lead,Company,Office,Channel,Direction,Outcome,Rep,"),
            "the header is words: {text}"
        );
        assert!(text.contains("'=cmd|"), "the name is neutralised: {text}");

        let failed = write_whole(&path, |out| {
            out.write_all(b"half a file").unwrap();
            Err(CoreError::BadInput("the export stopped".into()))
        });
        assert_eq!(failed.unwrap_err().code(), "bad_input");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("history.csv")]);

        let nowhere = dir.path().join("missing").join("history.csv");
        let err = export_history_to_file(s.conn(), &HistoryQuery::default(), &nowhere);
        assert_eq!(err.unwrap_err().code(), "io");
    }
}
