//! JSON Lines registrations: one JSON object per line, keys named like CSV columns.
//! A line is held in memory only up to `MAX_LINE_BYTES`: a longer one (or a file that never
//! ends its line) is rejected by its number and skipped to its end without being kept.

use super::columns::{column_for, Column, RowBuilder};
use super::csv::MAX_CELL_BYTES;
use super::{Parsed, RawRow, RowError};
use crate::error::{CoreError, Result};
use serde_json::Value;
use std::collections::{HashSet, VecDeque};
use std::io::{BufRead, Seek, SeekFrom};
use switchboard_protocol::limits::Field;

/// The longest line read: a cell's bound (the shared limits) for each of the 21 columns
/// (`columns::Column`) a line may name.
pub const MAX_LINE_BYTES: usize = MAX_CELL_BYTES * 21;

/// Streams the rows of a JSON Lines file.
pub struct JsonlRows<R: BufRead> {
    reader: R,
    line: u64,
    bytes: u64,
    /// The offset of the line read last.
    line_start: u64,
    buf: Vec<u8>,
    warned: HashSet<String>,
    pending: VecDeque<Parsed>,
}

impl<R: BufRead> JsonlRows<R> {
    /// Starts reading at the first line.
    pub fn new(reader: R) -> JsonlRows<R> {
        JsonlRows {
            reader,
            line: 0,
            bytes: 0,
            line_start: 0,
            buf: Vec::new(),
            warned: HashSet::new(),
            pending: VecDeque::new(),
        }
    }

    /// How many bytes of the file have been consumed.
    pub fn bytes_read(&self) -> u64 {
        self.bytes
    }

    /// The reader the rows come from.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.reader
    }

    /// The offset of the row `next` gave last (the import's first pass, `order`).
    pub fn row_start(&self) -> u64 {
        self.line_start
    }

    fn row(
        &mut self,
        bytes: &[u8],
    ) -> std::result::Result<crate::intake::RegistrationInput, String> {
        let text =
            std::str::from_utf8(bytes).map_err(|_| "the line is not valid UTF-8".to_string())?;
        let object: serde_json::Map<String, Value> =
            serde_json::from_str(text).map_err(|e| format!("not a JSON object: {e}"))?;
        let mut builder = RowBuilder::default();
        for (key, value) in object {
            let Some(column) = column_for(&key) else {
                if self.warned.insert(key.clone()) {
                    self.pending.push_back(Parsed::Warning(RowError {
                        line: self.line,
                        reason: format!("unknown key '{key}' ignored"),
                    }));
                }
                continue;
            };
            match (column, value) {
                (_, Value::Null) => {}
                (_, Value::String(s)) => builder.set(column, &s),
                (_, v @ (Value::Number(_) | Value::Bool(_))) => builder.set(column, &v.to_string()),
                (Column::Field(Field::PagesVisited), Value::Array(items)) => {
                    let pages = items
                        .into_iter()
                        .map(|i| match i {
                            Value::String(s) => Ok(s),
                            _ => Err("pages_visited must be a list of texts".to_string()),
                        })
                        .collect::<std::result::Result<Vec<_>, _>>()?;
                    builder.set_pages(pages);
                }
                (_, _) => return Err(format!("'{key}' must be text")),
            }
        }
        Ok(builder.finish())
    }
}

impl<R: BufRead> Iterator for JsonlRows<R> {
    type Item = Result<Parsed>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(p) = self.pending.pop_front() {
                return Some(Ok(p));
            }
            self.buf.clear();
            self.line_start = self.bytes;
            let (n, whole) = match read_line(&mut self.reader, &mut self.buf, MAX_LINE_BYTES) {
                Ok((0, _)) => return None,
                Ok(read) => read,
                Err(e) => {
                    return Some(Err(CoreError::io(
                        format!("reading line {}", self.line + 1),
                        e,
                    )))
                }
            };
            self.line += 1;
            self.bytes += n;
            let mut bytes = std::mem::take(&mut self.buf);
            let mut content: &[u8] = &bytes;
            if self.line == 1 {
                content = content.strip_prefix(b"\xef\xbb\xbf").unwrap_or(content);
            }
            if whole && content.iter().all(u8::is_ascii_whitespace) {
                self.buf = bytes;
                continue;
            }
            let line = self.line;
            let input = if whole {
                self.row(content)
            } else {
                Err(format!(
                    "the line is longer than {} KiB ({n} bytes)",
                    MAX_LINE_BYTES / 1024
                ))
            };
            bytes.clear();
            self.buf = bytes;
            self.pending.push_back(Parsed::Row(RawRow {
                line,
                end_line: line,
                input,
            }));
        }
    }
}

impl<R: BufRead + Seek> JsonlRows<R> {
    /// The import's second pass (`order`): the row on `line`, which begins at `offset`. Keys
    /// warned about are not warned about again, so a first pass over the whole file has already
    /// given every warning at the line it belongs to.
    pub fn row_at(&mut self, offset: u64, line: u64) -> Result<RawRow> {
        let io = |e| CoreError::io(format!("reading line {line}"), e);
        self.reader.seek(SeekFrom::Start(offset)).map_err(io)?;
        self.line = line - 1;
        self.bytes = offset;
        self.pending.clear();
        match self.next() {
            Some(Ok(Parsed::Row(row))) if row.line == line => Ok(row),
            Some(Err(e)) => Err(e),
            _ => Err(super::csv::changed(line)),
        }
    }
}

/// Reads one line (with its LF) into `buf`, keeping at most `max` bytes of it: the bytes the
/// line took, and whether it was kept whole.
fn read_line<R: BufRead>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<(u64, bool)> {
    let mut taken = 0u64;
    let mut whole = true;
    loop {
        let available = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok((taken, whole));
        }
        let (part, done) = match available.iter().position(|b| *b == b'\n') {
            Some(i) => (&available[..=i], true),
            None => (available, false),
        };
        let used = part.len();
        if whole && buf.len() + used <= max {
            buf.extend_from_slice(part);
        } else {
            whole = false;
            buf.clear();
        }
        reader.consume(used);
        taken += used as u64;
        if done {
            return Ok((taken, whole));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &[u8]) -> (Vec<RawRow>, Vec<String>) {
        let mut rows = Vec::new();
        let mut warnings = Vec::new();
        for item in JsonlRows::new(text) {
            match item.unwrap() {
                Parsed::Row(r) => rows.push(r),
                Parsed::Warning(w) => warnings.push(w.reason),
            }
        }
        (rows, warnings)
    }

    #[test]
    fn objects_map_like_csv_columns_with_line_numbers() {
        let text = "\u{feff}{\"First Name\":\"Ann\",\"last_name\":\"Example\",\"email\":\"ann@example.com\",\"pages_visited\":[\"/a\",\"/b\"],\"shoe\":1}\r\n\
                    \n\
                    {\"email\":\"bob@example.com\",\"shoe\":2,\"phone\":4930123456}\n";
        let (rows, warnings) = parse(text.as_bytes());
        assert_eq!(warnings, ["unknown key 'shoe' ignored"]);
        assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), [1, 3]);
        let ann = rows[0].input.as_ref().unwrap();
        assert_eq!(ann.details.name.as_deref(), Some("Ann Example"));
        assert_eq!(ann.details.pages_visited, ["/a", "/b"]);
        assert_eq!(
            rows[1].input.as_ref().unwrap().details.phone.as_deref(),
            Some("4930123456")
        );
    }

    #[test]
    fn bad_lines_fail_alone() {
        let mut text =
            b"{\"email\":\"a@example.com\"}\nnot json\n[1,2]\n{\"email\":{\"x\":1}}\n".to_vec();
        text.extend_from_slice(b"{\"email\":\"b\xff@example.com\"}\n{\"email\":\"c@example.com\"}");
        let (rows, _) = parse(&text);
        let summary: Vec<(u64, bool)> = rows.iter().map(|r| (r.line, r.input.is_ok())).collect();
        assert_eq!(
            summary,
            [
                (1, true),
                (2, false),
                (3, false),
                (4, false),
                (5, false),
                (6, true)
            ]
        );
        assert_eq!(
            rows[4].input.as_ref().unwrap_err(),
            "the line is not valid UTF-8"
        );
        assert_eq!(rows[3].input.as_ref().unwrap_err(), "'email' must be text");
    }

    #[test]
    fn an_overlong_line_is_rejected_by_number_without_being_held() {
        let mut text = b"{\"email\":\"a@example.com\"}\n{\"name\":\"".to_vec();
        text.extend(std::iter::repeat_n(b'x', MAX_LINE_BYTES + 10));
        text.extend_from_slice(b"\"}\n{\"email\":\"c@example.com\"}\n{\"email\":\"never ends");
        let mut rows = JsonlRows::new(&text[..]);
        let mut seen = Vec::new();
        for item in rows.by_ref() {
            if let Parsed::Row(r) = item.unwrap() {
                seen.push((r.line, r.input.map_err(|e| e.contains("longer than"))));
            }
        }
        assert_eq!(seen.len(), 4);
        assert_eq!(seen[1], (2, Err(true)));
        assert_eq!(seen[2].0, 3);
        assert!(seen[2].1.is_ok());
        assert_eq!(seen[3], (4, Err(false)));
        assert!(rows.buf.capacity() <= 2 * MAX_LINE_BYTES);
    }
}
