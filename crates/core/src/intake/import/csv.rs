//! CSV registrations: UTF-8 with or without BOM, CRLF or LF, quoted fields with newlines.
//! Rows are read as bytes so that invalid UTF-8 fails only its row.
//!
//! A quote that is never closed must not turn the rest of the file into one field. Every row is
//! bounded (the shared limits' largest cell × the header's columns), and a row that runs over several
//! lines but cannot be a row — its quote never closes, it outgrows the bound, or it has the
//! wrong number of fields — is rejected at its first line and the file is read again from the
//! line after it. So every line of the file is accounted for in the report, and the rows after a
//! stray quote are imported like any others (the README says why we continue rather than
//! refuse the file).

use super::columns::{map_header, Column, RowBuilder, Stamp};
use super::{Parsed, RawRow, RowError};
use crate::error::{CoreError, Result};
use std::io::{BufRead, Seek, SeekFrom};
use switchboard_protocol::limits;
use switchboard_protocol::limits::Field;

/// The most one cell may legitimately hold under the shared limits: the whole pages-visited
/// list (every single field's limit is below it). Longer values still reach the intake, which
/// names the field; this only bounds what a runaway row may take.
pub const MAX_CELL_BYTES: usize = limits::MAX_PAGES_TOTAL_BYTES;

/// The header row may be at most this long.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// The most bytes a data row may take: a cell's bound for each of the header's columns, plus
/// their quotes and separators.
pub fn max_row_bytes(columns: usize) -> usize {
    (MAX_CELL_BYTES + 3) * columns.max(1)
}

/// Streams the rows of a CSV file with a header row.
pub struct CsvRows<R: BufRead> {
    source: Source<R>,
    columns: Vec<Option<Column>>,
    pending: Vec<String>,
    record: Record,
    max_row: usize,
    /// The column `submitted_at` is read from (the first that names it).
    time_column: Option<usize>,
}

/// What reading on gave: a warning, a record to turn into a row, or a row already rejected.
// Rejected rows are few; boxing them would only add an allocation.
#[allow(clippy::large_enum_variant)]
enum Step {
    Warning(RowError),
    Record,
    Rejected(RawRow),
}

impl<R: BufRead> CsvRows<R> {
    /// Reads the header row and maps its columns. A header that is too long or whose quote
    /// never closes refuses the file.
    pub fn new(read: R) -> Result<CsvRows<R>> {
        let mut source = Source::new(read);
        let mut header = Record::default();
        match header
            .read(&mut source, MAX_HEADER_BYTES)
            .map_err(|e| io_error(e, 1))?
        {
            Outcome::End => {
                return Err(CoreError::BadInput(
                    "the file is empty: expected a header row".into(),
                ))
            }
            Outcome::TooLong => {
                return Err(CoreError::BadInput(format!(
                    "line {}: the header row is longer than {} KiB: is this a CSV file?",
                    header.line,
                    MAX_HEADER_BYTES / 1024
                )))
            }
            Outcome::Complete => {}
        }
        if header.unclosed.is_some() || header.end_line > header.line {
            return Err(CoreError::BadInput(format!(
                "line {}: a quote in the header row is not closed on its line; fix the header \
                 and import again",
                header.line
            )));
        }
        let names: Vec<String> = header
            .fields()
            .enumerate()
            .map(|(i, h)| {
                let h = if i == 0 {
                    h.strip_prefix(b"\xef\xbb\xbf").unwrap_or(h)
                } else {
                    h
                };
                String::from_utf8_lossy(h).into_owned()
            })
            .collect();
        let (columns, mut pending) = map_header(names.iter().map(String::as_str));
        // Warnings are handed out with `pop`, from the end.
        pending.reverse();
        let max_row = max_row_bytes(columns.len());
        let time_column = columns
            .iter()
            .position(|c| *c == Some(Column::Field(Field::SubmittedAt)));
        Ok(CsvRows {
            source,
            columns,
            pending,
            record: Record::default(),
            max_row,
            time_column,
        })
    }

    /// How many bytes of the file have been consumed.
    pub fn bytes_read(&self) -> u64 {
        self.source.consumed
    }

    /// The reader the rows come from.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.source.inner
    }

    /// Where in the file reading stands: the offset of the next byte to be parsed.
    pub fn offset(&self) -> u64 {
        self.source.position()
    }

    /// The import's first pass (`order`): the next row's first line, the offset of its first
    /// byte and its `submitted_at` cell, without building the row; header warnings as `next`
    /// gives them.
    pub fn scan(&mut self) -> Option<Result<Scanned<'_>>> {
        Some(Ok(match self.step()? {
            Err(e) => return Some(Err(e)),
            Ok(Step::Warning(w)) => Scanned::Warning(w),
            Ok(Step::Rejected(row)) => Scanned::Row {
                line: row.line,
                start: self.record.start,
                stamp: Stamp::Unusable,
            },
            Ok(Step::Record) => {
                let record = &self.record;
                let stamp = if record.unclosed.is_some() || record.len() != self.columns.len() {
                    Stamp::Unusable
                } else {
                    match self.time_column.and_then(|i| record.fields().nth(i)) {
                        None => Stamp::Absent,
                        Some(bytes) => Stamp::of(std::str::from_utf8(bytes).ok()),
                    }
                };
                Scanned::Row {
                    line: record.line,
                    start: record.start,
                    stamp,
                }
            }
        }))
    }

    fn row(&self) -> RawRow {
        let record = &self.record;
        let line = record.line;
        let end_line = record.end_line;
        if let Some(opened) = record.unclosed {
            return RawRow {
                line,
                end_line,
                input: Err(format!("the quote opened on line {opened} is never closed")),
            };
        }
        if record.len() != self.columns.len() {
            return RawRow {
                line,
                end_line,
                input: Err(format!(
                    "the row has {} fields but the header has {}",
                    record.len(),
                    self.columns.len()
                )),
            };
        }
        let mut builder = RowBuilder::default();
        for (index, (bytes, column)) in record.fields().zip(&self.columns).enumerate() {
            let text = match std::str::from_utf8(bytes) {
                Ok(t) => t,
                Err(_) => {
                    return RawRow {
                        line,
                        end_line,
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
            end_line,
            input: Ok(builder.finish()),
        }
    }

    /// Rejects the row that began on `self.record.line` alone and reads again from the line
    /// after it.
    fn runaway(&mut self, why: String) -> RawRow {
        let line = self.record.line;
        let rest = std::mem::take(&mut self.record.rest);
        self.source.replay(rest, line + 1);
        RawRow {
            line,
            end_line: line,
            input: Err(format!(
                "{why}; the row is skipped and reading goes on at line {}",
                line + 1
            )),
        }
    }
}

impl<R: BufRead + Seek> CsvRows<R> {
    /// The import's second pass (`order`): the row the first pass found at `offset`, beginning
    /// on `line`. A record is read from its first byte alone (nothing before it changes how it
    /// reads), so the row, its errors and its lines are what reading the file through gave.
    /// The header's warnings are the first pass's to give.
    pub fn row_at(&mut self, offset: u64, line: u64) -> Result<RawRow> {
        self.pending.clear();
        self.source
            .restart(offset, line)
            .map_err(|e| io_error(e, line))?;
        match self.next() {
            Some(Ok(Parsed::Row(row))) if row.line == line => Ok(row),
            Some(Err(e)) => Err(e),
            _ => Err(changed(line)),
        }
    }
}

/// A row the second pass did not find where the first pass saw it.
pub(super) fn changed(line: u64) -> CoreError {
    CoreError::BadInput(format!(
        "line {line}: the file changed while it was being imported; import it again (rows \
         already recorded are skipped)"
    ))
}

/// A row as the import's first pass sees it.
pub enum Scanned<'a> {
    Warning(RowError),
    Row {
        line: u64,
        /// The offset of the row's first byte in the file.
        start: u64,
        stamp: Stamp<'a>,
    },
}

impl<R: BufRead> CsvRows<R> {
    fn step(&mut self) -> Option<Result<Step>> {
        if let Some(warning) = self.pending.pop() {
            return Some(Ok(Step::Warning(RowError {
                line: 1,
                reason: warning,
            })));
        }
        let outcome = match self.record.read(&mut self.source, self.max_row) {
            Ok(outcome) => outcome,
            Err(e) => return Some(Err(io_error(e, self.source.line))),
        };
        let record = &self.record;
        let several_lines = record.end_line > record.line;
        let row = match outcome {
            Outcome::End => return None,
            Outcome::TooLong if several_lines => {
                let why = format!(
                    "the row is longer than {} KiB by line {}, so a quote on line {} is \
                     probably not closed",
                    self.max_row / 1024,
                    record.end_line,
                    record.line
                );
                self.runaway(why)
            }
            Outcome::TooLong => {
                let why = format!("the line is longer than {} KiB", self.max_row / 1024);
                self.runaway(why)
            }
            Outcome::Complete if several_lines => {
                if let Some(opened) = record.unclosed {
                    let why = format!(
                        "the quote opened on line {opened} is never closed (it would run to \
                         the end of the file)"
                    );
                    self.runaway(why)
                } else if record.len() != self.columns.len() {
                    let why = format!(
                        "the row runs from line {} to line {} and has {} fields, not {}, so a \
                         quote on line {} is probably not closed",
                        record.line,
                        record.end_line,
                        record.len(),
                        self.columns.len(),
                        record.line
                    );
                    self.runaway(why)
                } else {
                    return Some(Ok(Step::Record));
                }
            }
            Outcome::Complete => return Some(Ok(Step::Record)),
        };
        Some(Ok(Step::Rejected(row)))
    }
}

impl<R: BufRead> Iterator for CsvRows<R> {
    type Item = Result<Parsed>;

    fn next(&mut self) -> Option<Self::Item> {
        Some(Ok(match self.step()? {
            Err(e) => return Some(Err(e)),
            Ok(Step::Warning(w)) => Parsed::Warning(w),
            Ok(Step::Rejected(row)) => Parsed::Row(row),
            Ok(Step::Record) => Parsed::Row(self.row()),
        }))
    }
}

fn io_error(e: std::io::Error, line: u64) -> CoreError {
    CoreError::io(format!("reading line {line}"), e)
}

/// How reading one record ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    /// A whole record (at the end of the file, perhaps with a quote still open).
    Complete,
    /// The record outgrew its bound; `rest` holds what followed its first line.
    TooLong,
    /// No record: only blank lines were left.
    End,
}

/// Where a byte of a record is, as RFC 4180 reads it (and the `csv` crate, which keeps a quote
/// inside an unquoted field and text after a closing quote as they are).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    FieldStart,
    Unquoted,
    Quoted,
    /// Just after a quote inside a quoted field: a second quote is an escaped one.
    QuoteInQuoted,
}

/// One record being read: its fields' bytes, where they end, and its lines.
#[derive(Debug, Default)]
struct Record {
    data: Vec<u8>,
    ends: Vec<usize>,
    /// The record's first and last lines, and the offset of its first byte.
    line: u64,
    end_line: u64,
    start: u64,
    /// The line of a quote still open at the end of the file.
    unclosed: Option<u64>,
    /// The bytes after the record's first line, kept so the file can be read again from there.
    rest: Vec<u8>,
}

impl Record {
    fn len(&self) -> usize {
        self.ends.len()
    }

    fn fields(&self) -> impl Iterator<Item = &[u8]> {
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let field = &self.data[start..end];
            start = end;
            field
        })
    }

    /// Reads the next record, skipping blank lines before it. At most `max` bytes of it are
    /// kept: past that it reads on only to the end of its first line, to read again from there.
    fn read<R: BufRead>(&mut self, source: &mut Source<R>, max: usize) -> std::io::Result<Outcome> {
        self.data.clear();
        self.ends.clear();
        self.rest.clear();
        self.unclosed = None;
        let mut state = State::FieldStart;
        let mut started = false;
        let mut size = 0usize;
        let mut quote_line = 0;
        loop {
            if started && size < max && matches!(state, State::Unquoted | State::Quoted) {
                let rest = (source.line > self.line).then_some(&mut self.rest);
                let taken =
                    source.take_plain(state == State::Quoted, max - size, &mut self.data, rest)?;
                if taken > 0 {
                    size += taken;
                    self.end_line = source.line;
                }
            }
            let Some((byte, at)) = source.next()? else {
                if !started {
                    return Ok(Outcome::End);
                }
                if state == State::Quoted {
                    self.unclosed = Some(quote_line);
                }
                self.ends.push(self.data.len());
                return Ok(Outcome::Complete);
            };
            if !started {
                if byte == b'\r' || byte == b'\n' {
                    continue;
                }
                started = true;
                self.line = at;
                self.start = source.position() - 1;
            }
            self.end_line = at;
            size += 1;
            if at > self.line {
                self.rest.push(byte);
            }
            if size > max {
                // Keep nothing more of the record; finish its first line so that reading
                // can go on after it.
                if at > self.line {
                    return Ok(Outcome::TooLong);
                }
                while let Some((byte, at)) = source.next()? {
                    if at > self.line {
                        self.rest.push(byte);
                        break;
                    }
                }
                self.end_line = self.line;
                return Ok(Outcome::TooLong);
            }
            match (state, byte) {
                (State::Quoted, b'"') => state = State::QuoteInQuoted,
                (State::Quoted, _) => self.data.push(byte),
                (State::QuoteInQuoted, b'"') => {
                    self.data.push(b'"');
                    state = State::Quoted;
                }
                (State::FieldStart, b'"') => {
                    state = State::Quoted;
                    quote_line = at;
                }
                (_, b',') => {
                    self.ends.push(self.data.len());
                    state = State::FieldStart;
                }
                (_, b'\r' | b'\n') => {
                    self.ends.push(self.data.len());
                    if byte == b'\r' && source.skip_lf()? && at > self.line {
                        self.rest.push(b'\n');
                    }
                    return Ok(Outcome::Complete);
                }
                (_, _) => {
                    self.data.push(byte);
                    state = State::Unquoted;
                }
            }
        }
    }
}

/// The file's bytes, with line numbers, and bytes handed back to be read again first.
struct Source<R> {
    inner: R,
    replay: Vec<u8>,
    replay_at: usize,
    /// The line the next byte is on (counting LF, CRLF and a lone CR as line breaks).
    line: u64,
    after_cr: bool,
    /// Bytes taken from `inner`, and the offset in the file where it was when they began.
    consumed: u64,
    base: u64,
}

impl<R: BufRead> Source<R> {
    fn new(inner: R) -> Self {
        Source {
            inner,
            replay: Vec::new(),
            replay_at: 0,
            line: 1,
            after_cr: false,
            consumed: 0,
            base: 0,
        }
    }

    /// The offset in the file of the next byte `next` gives (replayed bytes are the file's
    /// bytes just before where `inner` stands).
    fn position(&self) -> u64 {
        self.base + self.consumed - (self.replay.len() - self.replay_at) as u64
    }

    /// The bytes available now without reading past them: what is left to replay, else the
    /// reader's buffer (empty at the end of the file).
    fn available(&mut self) -> std::io::Result<&[u8]> {
        if self.replay_at < self.replay.len() {
            return Ok(&self.replay[self.replay_at..]);
        }
        // Retried until not interrupted, then asked again to hand the buffer out: a borrow
        // returned from inside the loop would hold `inner` for the loop's later turns. The
        // second call only returns what the first one filled.
        loop {
            match self.inner.fill_buf() {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
                Ok(_) => break,
            }
        }
        self.inner.fill_buf()
    }

    /// Moves past `n` of the bytes `available` gave.
    fn advance(&mut self, n: usize) {
        if self.replay_at < self.replay.len() {
            self.replay_at += n;
        } else {
            self.inner.consume(n);
            self.consumed += n as u64;
        }
    }

    /// The next byte and its line.
    fn next(&mut self) -> std::io::Result<Option<(u8, u64)>> {
        let Some(&byte) = self.available()?.first() else {
            return Ok(None);
        };
        self.advance(1);
        if self.after_cr && byte != b'\n' {
            self.line += 1;
        }
        let at = self.line;
        self.after_cr = byte == b'\r';
        if byte == b'\n' {
            self.line += 1;
        }
        Ok(Some((byte, at)))
    }

    /// Appends to `out` (and to `rest`, if given) the bytes up to the next one that means
    /// something inside a field — a comma (unquoted), a quote (quoted), a line break — or up to
    /// `limit` bytes, consumes them and says how many. The bytes of a field are most of a file,
    /// and `next` hands them over one call each; these change no line and no state. Takes none
    /// right after a CR, whose line is only counted with the byte after it.
    fn take_plain(
        &mut self,
        quoted: bool,
        limit: usize,
        out: &mut Vec<u8>,
        rest: Option<&mut Vec<u8>>,
    ) -> std::io::Result<usize> {
        if self.after_cr {
            return Ok(0);
        }
        let buf = self.available()?;
        let buf = &buf[..buf.len().min(limit)];
        let special = if quoted { b'"' } else { b',' };
        let n = memchr::memchr3(special, b'\r', b'\n', buf).unwrap_or(buf.len());
        out.extend_from_slice(&buf[..n]);
        if let Some(rest) = rest {
            rest.extend_from_slice(&buf[..n]);
        }
        self.advance(n);
        Ok(n)
    }

    /// Takes the LF of a CRLF, so a record ends on the line it ended; says whether there was one.
    fn skip_lf(&mut self) -> std::io::Result<bool> {
        if self.available()?.first() == Some(&b'\n') {
            self.next()?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Reads on from `offset`, which begins line `line`, as if the file began there.
    fn restart(&mut self, offset: u64, line: u64) -> std::io::Result<()>
    where
        R: Seek,
    {
        self.inner.seek(SeekFrom::Start(offset))?;
        self.replay.clear();
        self.replay_at = 0;
        self.line = line;
        self.after_cr = false;
        self.consumed = 0;
        self.base = offset;
        Ok(())
    }

    /// Reads `bytes` (which begin line `line`) again before the rest of the file.
    fn replay(&mut self, mut bytes: Vec<u8>, line: u64) {
        bytes.extend_from_slice(&self.replay[self.replay_at..]);
        self.replay = bytes;
        self.replay_at = 0;
        self.line = line;
        self.after_cr = false;
    }
}

#[cfg(test)]
mod tests;
