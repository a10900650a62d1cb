//! CSV registrations: UTF-8 with or without BOM, CRLF or LF, quoted fields with newlines.
//! Rows are read as bytes so that invalid UTF-8 fails only its row.

use super::columns::{map_header, Column, RowBuilder};
use super::{Parsed, RawRow, RowError};
use crate::error::{CoreError, Result};
use std::collections::VecDeque;
use std::io::Read;

/// Streams the rows of a CSV file with a header row.
pub struct CsvRows<R: Read> {
    reader: csv::Reader<LineIndex<R>>,
    columns: Vec<Option<Column>>,
    record: csv::ByteRecord,
    pending: Vec<String>,
}

impl<R: Read> CsvRows<R> {
    /// Reads the header row and maps its columns.
    pub fn new(read: R) -> Result<CsvRows<R>> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(LineIndex::new(read));
        let mut header = csv::ByteRecord::new();
        let found = reader
            .read_byte_record(&mut header)
            .map_err(|e| csv_error(e, 1))?;
        if !found {
            return Err(CoreError::BadInput(
                "the file is empty: expected a header row".into(),
            ));
        }
        let names: Vec<String> = header
            .iter()
            .map(|h| String::from_utf8_lossy(h).into_owned())
            .collect();
        let (columns, mut pending) = map_header(names.iter().map(String::as_str));
        // Warnings are handed out with `pop`, from the end.
        pending.reverse();
        Ok(CsvRows {
            reader,
            columns,
            record: csv::ByteRecord::new(),
            pending,
        })
    }

    /// How many bytes of the file have been consumed.
    pub fn bytes_read(&self) -> u64 {
        self.reader.position().byte()
    }

    fn row(&mut self) -> RawRow {
        let start = self.record.position().map_or(0, |p| p.byte());
        let line = self.reader.get_mut().line_at(start);
        if self.record.len() != self.columns.len() {
            return RawRow {
                line,
                input: Err(format!(
                    "the row has {} fields but the header has {}",
                    self.record.len(),
                    self.columns.len()
                )),
            };
        }
        let mut builder = RowBuilder::default();
        for (index, (bytes, column)) in self.record.iter().zip(&self.columns).enumerate() {
            let text = match std::str::from_utf8(bytes) {
                Ok(t) => t,
                Err(_) => {
                    return RawRow {
                        line,
                        input: Err(format!("column {} is not valid UTF-8", index + 1)),
                    }
                }
            };
            if let Some(column) = column {
                builder.set(*column, text);
            }
        }
        RawRow {
            line,
            input: Ok(builder.finish()),
        }
    }
}

impl<R: Read> Iterator for CsvRows<R> {
    type Item = Result<Parsed>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(warning) = self.pending.pop() {
            return Some(Ok(Parsed::Warning(RowError {
                line: 1,
                reason: warning,
            })));
        }
        match self.reader.read_byte_record(&mut self.record) {
            Ok(true) => Some(Ok(Parsed::Row(self.row()))),
            Ok(false) => None,
            Err(e) => {
                let line = self.reader.position().line();
                Some(Err(csv_error(e, line)))
            }
        }
    }
}

/// Remembers where line breaks are in the bytes the CSV parser has been given but not yet
/// passed, so that each record's first line is known exactly. (The parser's own line count lags
/// by one after CRLF endings: it counts the LF only when it starts the next record.)
struct LineIndex<R> {
    inner: R,
    offset: u64,
    /// Offsets of CR and LF bytes not yet behind a record start, and whether each is an LF.
    breaks: VecDeque<(u64, bool)>,
    passed_lf: u64,
}

impl<R: Read> LineIndex<R> {
    fn new(inner: R) -> Self {
        LineIndex {
            inner,
            offset: 0,
            breaks: VecDeque::new(),
            passed_lf: 0,
        }
    }

    /// The line of the first byte of the record the parser started at byte `start`: line
    /// breaks before it, and those it skipped at `start` (the LF of a CRLF, blank lines), count.
    fn line_at(&mut self, start: u64) -> u64 {
        let mut at = start;
        while let Some(&(offset, lf)) = self.breaks.front() {
            if offset < start || offset == at {
                if offset == at {
                    at += 1;
                }
                self.passed_lf += u64::from(lf);
                self.breaks.pop_front();
            } else {
                break;
            }
        }
        1 + self.passed_lf
    }
}

impl<R: Read> Read for LineIndex<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for (i, b) in buf[..n].iter().enumerate() {
            if *b == b'\n' || *b == b'\r' {
                self.breaks.push_back((self.offset + i as u64, *b == b'\n'));
            }
        }
        self.offset += n as u64;
        Ok(n)
    }
}

fn csv_error(e: csv::Error, line: u64) -> CoreError {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => CoreError::io(format!("reading line {line}"), io),
        other => CoreError::BadInput(format!("line {line}: malformed CSV: {other:?}")),
    }
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn bom_crlf_and_quoted_newlines_keep_line_numbers() {
        let text = "\u{feff}First Name,Last Name,E-mail,Notes\r\n\
                    Ann,Example,ann@example.com,x\r\n\
                    \"Bob\",\"Multi\r\nLine\",bob@example.com,\"a\nb\nc\"\r\n\
                    Cy,Z,cy@example.com,y\r\n";
        let (rows, warnings) = parse(text.as_bytes());
        assert_eq!(warnings, ["unknown column 'Notes' ignored"]);
        let lines: Vec<u64> = rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, [2, 3, 7]);
        let bob = rows[1].input.as_ref().unwrap();
        assert_eq!(bob.name.as_deref(), Some("Bob Multi\r\nLine"));
        assert_eq!(
            rows[0].input.as_ref().unwrap().email.as_deref(),
            Some("ann@example.com")
        );
    }

    #[test]
    fn invalid_utf8_and_wrong_field_counts_fail_only_their_row() {
        let mut text = b"Email,Name\na@example.com,Ann\nb@example.com,B".to_vec();
        text.extend_from_slice(&[0xff, 0xfe]);
        text.extend_from_slice(b"\nc@example.com\nd@example.com,D,extra\ne@example.com,E\n");
        let (rows, _) = parse(&text);
        let summary: Vec<(u64, bool)> = rows.iter().map(|r| (r.line, r.input.is_ok())).collect();
        assert_eq!(
            summary,
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
    }
}
