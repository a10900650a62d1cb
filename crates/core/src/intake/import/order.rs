//! The order a file's rows are recorded in: oldest submission first (issue 13).
//!
//! A lead's row lands where it is inserted, so the order of an import is the order of the
//! `lead` table's pages. The new-leads queue hands leads out newest registration first; when a
//! file lists people by name, email or at random, leads adjacent in the queue lie on different
//! pages, and each page a deal reads for the first time costs a decryption on an encrypted
//! replica. Website registrations and a first sync arrive in time order; an import of a file now
//! does too.
//!
//! Two passes over the file, in bounded memory: the first reads every row with the same parser
//! but keeps only its offset, first line and submission time (16 bytes a row, `Entry`); the
//! entries are sorted (oldest first, ties in file order); the second reads each row again at its
//! offset with a positioned read and hands it on as a streamed row would be. A file already in
//! order is streamed as before. Only a file can be read twice: `import_reader` keeps stream order.

use super::columns::Stamp;
use super::csv::{CsvRows, Scanned};
use super::jsonl::JsonlRows;
use super::{feed, read_rows, Format, Item, Parsed, RawRow, RowError};
use crate::error::Result;
use crate::intake::{parse_submitted_at, IntakeContext};
use chrono::{DateTime, Utc};
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufRead, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// The first pass reads the file in chunks this large; the second reads each row with one
/// positioned read this large (a row longer than it takes more).
const SCAN_CHUNK: usize = 256 * 1024;
const ROW_CHUNK: usize = 2 * 1024;

/// How often the first pass looks at the cancel flag (the writer only looks between batches,
/// and there are none yet).
const CANCEL_EVERY: usize = 4096;

/// The time intake will give a row with this stamp (`intake::clean`), in microseconds;
/// `previous` (the row before it in the file) for a row it will reject, which so keeps its place.
fn key(stamp: Stamp, now: i64, previous: i64) -> i64 {
    match stamp {
        Stamp::Absent => now,
        Stamp::Text(t) => parse_submitted_at(t).map_or(previous, micros),
        Stamp::Unusable => previous,
    }
}

fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

/// One row of the file as the first pass found it. Offsets and lines fit in 32 bits because
/// only files under 4 GiB are ordered (`fits`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    /// Sorted by time, then by line: the file's order among equal times.
    key: i64,
    line: u32,
    offset: u32,
}

const _: () = assert!(std::mem::size_of::<Entry>() == 16);

/// Whether a file of `len` bytes can be ordered (every offset and line fits an `Entry`).
pub(super) fn fits(len: u64) -> bool {
    len < u64::from(u32::MAX)
}

/// What the first pass decided.
// One plan per import.
#[allow(clippy::large_enum_variant)]
enum Plan<'f> {
    /// Read the file through: it is in order already, or the first pass failed (streaming it
    /// meets the same error at the same row, after recording the rows before it, as always).
    Stream,
    /// The rows in the order to record them, the warnings about the file (unknown columns and
    /// keys) the first pass gave, and its parser (which knows the keys it warned about).
    Sorted(Vec<Entry>, Vec<RowError>, Rows<'f>),
    Cancelled,
}

/// The reader thread of `import_file`: orders the file, then feeds the writer as `read_rows`;
/// `counted` gets the file's rows once the first pass has counted them.
#[allow(clippy::too_many_arguments)]
pub(super) fn read_file(
    file: &File,
    total: u64,
    format: Format,
    ctx: &IntakeContext,
    sender: &super::handover::ToWriter,
    bytes: &AtomicU64,
    counted: &AtomicU64,
    cancel: Option<&AtomicBool>,
) {
    match plan(file, format, micros(ctx.now), counted, cancel) {
        // Nothing has moved the file's cursor: the first pass reads at offsets.
        Plan::Stream => read_rows(file, format, ctx, sender, bytes),
        Plan::Cancelled => {
            let _ = sender.send(vec![Item::Cancelled]);
        }
        Plan::Sorted(entries, warnings, mut rows) => {
            match &mut rows {
                Rows::Csv(r) => r.get_mut().rechunk(ROW_CHUNK),
                Rows::Jsonl(r) => r.get_mut().rechunk(ROW_CHUNK),
            }
            let mut ordered = Ordered {
                rows,
                warnings: warnings.into_iter(),
                entries: entries.into_iter(),
                done: 0,
                total,
            };
            feed(&mut ordered, ctx, sender, bytes, |o| o.done);
        }
    }
}

/// The first pass: every row's entry, sorted unless the file is in order already; `counted`
/// gets the number of rows.
fn plan<'f>(
    file: &'f File,
    format: Format,
    now: i64,
    counted: &AtomicU64,
    cancel: Option<&AtomicBool>,
) -> Plan<'f> {
    let mut index = Index::default();
    let read = PosReader::new(file, SCAN_CHUNK);
    let scanned = match format {
        Format::Csv => CsvRows::new(read).and_then(|mut rows| {
            let done = scan_csv(&mut rows, &mut index, now, cancel)?;
            Ok((done, Rows::Csv(rows)))
        }),
        Format::Jsonl => {
            let mut rows = JsonlRows::new(read);
            scan_jsonl(&mut rows, &mut index, now, cancel).map(|done| (done, Rows::Jsonl(rows)))
        }
    };
    match scanned {
        Err(_) => Plan::Stream,
        Ok((false, _)) => Plan::Cancelled,
        Ok((true, rows)) => {
            counted.store(index.entries.len() as u64, Ordering::Relaxed);
            index.finish(rows)
        }
    }
}

/// Indexes a CSV file; false when cancelled.
fn scan_csv(
    rows: &mut CsvRows<PosReader>,
    index: &mut Index,
    now: i64,
    cancel: Option<&AtomicBool>,
) -> Result<bool> {
    while let Some(item) = rows.scan() {
        match item? {
            Scanned::Warning(w) => index.warnings.push(w),
            Scanned::Row { line, start, stamp } => {
                if !index.push(line, start, stamp, now, cancel) {
                    return Ok(false);
                }
            }
        }
    }
    Ok(true)
}

/// Indexes a JSON Lines file; false when cancelled. A line is parsed whole to find its time
/// under any of the names its key may have.
fn scan_jsonl(
    rows: &mut JsonlRows<PosReader>,
    index: &mut Index,
    now: i64,
    cancel: Option<&AtomicBool>,
) -> Result<bool> {
    while let Some(item) = rows.next() {
        match item? {
            Parsed::Warning(w) => index.warnings.push(w),
            Parsed::Row(row) => {
                let stamp = match &row.input {
                    Ok(input) => Stamp::of(Some(input.submitted_at.as_deref().unwrap_or(""))),
                    Err(_) => Stamp::Unusable,
                };
                if !index.push(row.line, rows.row_start(), stamp, now, cancel) {
                    return Ok(false);
                }
            }
        }
    }
    Ok(true)
}

/// The entries so far, and whether they are in order.
#[derive(Default)]
struct Index {
    entries: Vec<Entry>,
    warnings: Vec<RowError>,
    previous: Option<i64>,
    unordered: bool,
}

impl Index {
    /// Adds a row; false when the import was cancelled.
    fn push(
        &mut self,
        line: u64,
        offset: u64,
        stamp: Stamp,
        now: i64,
        cancel: Option<&AtomicBool>,
    ) -> bool {
        let previous = self.previous.unwrap_or(i64::MIN);
        let key = key(stamp, now, previous);
        self.unordered |= key < previous;
        self.previous = Some(key);
        // `fits` bounds both by the file's length.
        let (line, offset) = (line as u32, offset as u32);
        self.entries.push(Entry { key, line, offset });
        !(self.entries.len().is_multiple_of(CANCEL_EVERY)
            && cancel.is_some_and(|c| c.load(Ordering::Relaxed)))
    }

    /// A file whose times never go back is streamed. One whose times only go back (newest
    /// first) is sorted too, although its neighbours in the queue are neighbours in the file
    /// either way: a person's registrations are then recorded oldest first whatever the file's
    /// direction, so which of them fills the lead's fields does not depend on it.
    fn finish(self, rows: Rows) -> Plan {
        if !self.unordered {
            return Plan::Stream;
        }
        let mut entries = self.entries;
        // Lines are unique, so the unstable sort (no buffer) is the stable order.
        entries.sort_unstable();
        entries.shrink_to_fit();
        Plan::Sorted(entries, self.warnings, rows)
    }
}

/// A parser that can read a row at an offset.
enum Rows<'f> {
    Csv(CsvRows<PosReader<'f>>),
    Jsonl(JsonlRows<PosReader<'f>>),
}

/// The second pass: the warnings about the file first (as a stream gives the header's first),
/// then the rows in the sorted order. `done` counts the bytes of the rows handed on, and the
/// whole file once they all are.
struct Ordered<'f> {
    rows: Rows<'f>,
    warnings: std::vec::IntoIter<RowError>,
    entries: std::vec::IntoIter<Entry>,
    done: u64,
    total: u64,
}

impl Iterator for Ordered<'_> {
    type Item = Result<Parsed>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(w) = self.warnings.next() {
            return Some(Ok(Parsed::Warning(w)));
        }
        let Some(entry) = self.entries.next() else {
            self.done = self.total;
            return None;
        };
        let (offset, line) = (u64::from(entry.offset), u64::from(entry.line));
        let read: Result<(RawRow, u64)> = match &mut self.rows {
            Rows::Csv(rows) => rows.row_at(offset, line).map(|r| (r, rows.offset())),
            Rows::Jsonl(rows) => rows.row_at(offset, line).map(|r| (r, rows.bytes_read())),
        };
        Some(read.map(|(row, end)| {
            self.done = (self.done + end.saturating_sub(offset)).min(self.total);
            Parsed::Row(row)
        }))
    }
}

/// Buffered reading of a file by positioned reads (`pread`), so the file can be read again at
/// any row without sharing a cursor; no mapping, whose pages would count in the import's memory.
pub(super) struct PosReader<'f> {
    file: &'f File,
    /// The file's offset of `buf[end]`.
    at: u64,
    buf: Vec<u8>,
    pos: usize,
    end: usize,
}

impl<'f> PosReader<'f> {
    pub(super) fn new(file: &'f File, chunk: usize) -> Self {
        PosReader {
            file,
            at: 0,
            buf: vec![0; chunk],
            pos: 0,
            end: 0,
        }
    }
}

impl PosReader<'_> {
    /// Reads on in chunks of `chunk` bytes from where reading stands.
    fn rechunk(&mut self, chunk: usize) {
        self.at -= (self.end - self.pos) as u64;
        self.buf = vec![0; chunk];
        (self.pos, self.end) = (0, 0);
    }
}

impl Read for PosReader<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for PosReader<'_> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if self.pos == self.end {
            let n = loop {
                match self.file.read_at(&mut self.buf, self.at) {
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    read => break read?,
                }
            };
            self.at += n as u64;
            (self.pos, self.end) = (0, n);
        }
        Ok(&self.buf[self.pos..self.end])
    }

    fn consume(&mut self, amount: usize) {
        self.pos = (self.pos + amount).min(self.end);
    }
}

impl Seek for PosReader<'_> {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let SeekFrom::Start(offset) = to else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::Unsupported,
                "an import seeks to offsets only",
            ));
        };
        self.at = offset;
        (self.pos, self.end) = (0, 0);
        Ok(offset)
    }
}

/// The report's errors or warnings as a stream lists them: by line, and in the order given
/// within a line; the first `MAX_LISTED` lines are kept whatever order the rows came in.
#[derive(Default)]
pub(super) struct ByLine {
    kept: BinaryHeap<(u64, u64, String)>,
    given: u64,
}

impl ByLine {
    /// Keeps the problem, or tells (false) that it or one it displaced goes unlisted.
    pub(super) fn note(&mut self, line: u64, reason: String, limit: usize) -> bool {
        self.given += 1;
        let item = (line, self.given, reason);
        if self.kept.len() < limit {
            self.kept.push(item);
            return true;
        }
        if self.kept.peek().is_some_and(|last| item < *last) {
            self.kept.pop();
            self.kept.push(item);
        }
        false
    }

    pub(super) fn into_list(self) -> Vec<RowError> {
        self.kept
            .into_sorted_vec()
            .into_iter()
            .map(|(line, _, reason)| RowError { line, reason })
            .collect()
    }
}

#[cfg(test)]
mod tests;
