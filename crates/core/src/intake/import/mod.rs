//! Import of registrations from CSV and JSON Lines files.
//!
//! Streaming in two stages: a reader thread parses and normalises rows and hands them over a
//! bounded channel (so memory stays flat however large the file), while the calling thread
//! records them through `intake` in transactions of `batch_size` rows (fewer when a batch has
//! held the write lock for `longest_batch`). A crash loses at most the
//! open batch, never part of a row; re-running the file skips what was recorded (submission ids,
//! or content keys for rows without one), so it completes the import and imports nothing twice.
//! A file (not a stream) is recorded oldest submission first, whatever its order (`order`).

pub mod columns;
pub mod csv;
pub mod deferral;
mod handover;
pub mod jsonl;
pub mod order;

use crate::error::{CoreError, Result};
use crate::intake::{self, CleanRegistration, IntakeContext, IntakeOutcome, RegistrationInput};
use crate::store::Store;
use handover::{handover, FromReader, ToWriter};
use order::ByLine;
use rusqlite::{Connection, TransactionBehavior};
use serde::Serialize;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Rows per transaction by default: large enough to amortise commits, small enough that a crash
/// loses little and the WAL stays small.
pub const DEFAULT_BATCH_SIZE: usize = 5_000;

/// The longest one batch holds the write lock. The window, `sync` and a second CLI wait at most
/// 5 s for it (`busy_timeout`); a large import's 16,000-row batch takes over a second even on a
/// quiet laptop, so on a slow or loaded one the batch ends early instead of making their writes
/// fail.
pub const LONGEST_BATCH: Duration = Duration::from_secs(1);

/// At most this many row errors and warnings are listed; the counts stay exact.
pub const MAX_LISTED: usize = 10_000;

/// Rows handed from the reader thread to the writer at a time.
const CHUNK: usize = 512;

/// Chunks in flight between the threads: bounds memory to a few thousand rows.
const CHANNEL_CHUNKS: usize = 8;

/// The file formats an import reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Jsonl,
}

impl Format {
    /// The format a file name suggests: `.jsonl`, `.ndjson` and `.json` are JSON Lines, the rest CSV.
    pub fn from_path(path: &Path) -> Format {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("jsonl" | "ndjson" | "json") => Format::Jsonl,
            _ => Format::Csv,
        }
    }
}

/// How to import.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The office new leads belong to (None on a standalone database).
    pub office: Option<String>,
    /// Who imports, for the audit log.
    pub actor: String,
    /// Rows per transaction.
    pub batch_size: usize,
    /// A batch also ends once it has held the write lock this long (`LONGEST_BATCH`).
    pub longest_batch: Duration,
    /// The file's format; None guesses from the file name.
    pub format: Option<Format>,
    /// Set (from another thread) to stop after the batch being written: the batches committed
    /// so far stay, and importing the same file again records only the rest.
    pub cancel: Option<Arc<AtomicBool>>,
    /// Work for the leads each batch recorded a registration for, done in that batch's
    /// transaction (enrolling them in a cadence: a part above intake hands it in).
    pub after_batch: Option<AfterBatch>,
}

/// Called in each batch's transaction, before it commits, with the ids of the leads whose
/// registrations the batch recorded (created or merged; duplicates and suppressed rows have
/// none), so that work and the batch commit or roll back together.
#[derive(Clone)]
pub struct AfterBatch(pub Arc<BatchFn>);

/// The work `AfterBatch` holds.
pub type BatchFn = dyn Fn(&Connection, &[String]) -> Result<()> + Send + Sync;

impl std::fmt::Debug for AfterBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AfterBatch(..)")
    }
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            office: None,
            actor: "import".into(),
            batch_size: DEFAULT_BATCH_SIZE,
            longest_batch: LONGEST_BATCH,
            format: None,
            cancel: None,
            after_batch: None,
        }
    }
}

/// A problem with one row (or, with line 0, with the whole file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowError {
    /// The row's first line in the file; the header is line 1.
    pub line: u64,
    pub reason: String,
}

/// How many rows an import read and what became of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ImportCounts {
    /// Data rows read (good and bad): every line of the file but the header and blank lines is
    /// the first line of one of them, or held in a quoted field that a warning names.
    pub read: u64,
    /// Rows that created a new lead.
    pub created: u64,
    /// Rows attached to an existing lead.
    pub merged: u64,
    /// Rows recorded before (same submission, or the same form sent twice).
    pub duplicates: u64,
    /// Rows of erased people: nothing was stored.
    pub suppressed: u64,
    /// Rows refused; the report's `errors` say why.
    pub rejected: u64,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// The counts (flattened: the JSON report lists them first, as it always has).
    #[serde(flatten)]
    pub counts: ImportCounts,
    /// Why rows were refused, by line.
    pub errors: Vec<RowError>,
    /// Imported rows with a dropped field, and unknown columns (line 1 for the header).
    pub warnings: Vec<RowError>,
    /// Errors and warnings beyond `MAX_LISTED` that were counted but not listed.
    #[serde(skip_serializing_if = "is_zero")]
    pub omitted: u64,
    /// The import was cancelled: the counts are of the rows committed before it stopped.
    #[serde(skip_serializing_if = "is_false")]
    pub cancelled: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Where an import stands, after each committed batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ImportProgress {
    #[serde(flatten)]
    pub counts: ImportCounts,
    /// Bytes of the file parsed so far (of a file recorded in time order, the bytes of the rows
    /// handed to the writer), and the file's size (0 when unknown).
    pub bytes_read: u64,
    pub bytes_total: u64,
}

/// One parsed row before validation: the registration, or why the row could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRow {
    pub line: u64,
    /// The row's last line: the same unless a quoted field runs over several lines.
    pub end_line: u64,
    pub input: std::result::Result<RegistrationInput, String>,
}

/// What a parser yields: rows, and warnings about the file (unknown columns) with the line
/// that raised them.
// Rows are nearly every item; boxing them would cost an allocation per row for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    Row(RawRow),
    Warning(RowError),
}

/// Imports a CSV or JSON Lines file of registrations into the store, recording its rows in
/// the order of their submission times, oldest first (ties in file order; `order`). A file that
/// cannot be read twice (a pipe) or of 4 GiB or more is read as a stream, in file order.
pub fn import_file(
    store: &mut Store,
    path: &Path,
    options: &ImportOptions,
    progress: &mut dyn FnMut(ImportProgress),
) -> Result<ImportReport> {
    let file =
        File::open(path).map_err(|e| CoreError::io(format!("opening {}", path.display()), e))?;
    let meta = file.metadata().ok();
    let total = meta.as_ref().map_or(0, |m| m.len());
    let format = options.format.unwrap_or_else(|| Format::from_path(path));
    let input = match meta {
        Some(m) if m.is_file() && order::fits(m.len()) => Input::File(file),
        _ => Input::Stream(file),
    };
    import_input(store, input, total, format, options, progress)
}

/// Imports registrations read from any byte stream (`total`: its size if known, else 0), in
/// the stream's order.
pub fn import_reader<R: Read + Send>(
    store: &mut Store,
    read: R,
    total: u64,
    format: Format,
    options: &ImportOptions,
    progress: &mut dyn FnMut(ImportProgress),
) -> Result<ImportReport> {
    import_input(store, Input::Stream(read), total, format, options, progress)
}

/// What an import reads: a stream in its order, or a file it may order.
enum Input<R> {
    Stream(R),
    File(File),
}

fn import_input<R: Read + Send>(
    store: &mut Store,
    input: Input<R>,
    total: u64,
    format: Format,
    options: &ImportOptions,
    progress: &mut dyn FnMut(ImportProgress),
) -> Result<ImportReport> {
    let now = store.now();
    let load = deferral::begin(store.conn(), total)?;
    let deferred = load.is_some();
    let tuned = Tuned::apply(
        store.conn(),
        deferral::cache_kib(deferred),
        deferral::checkpoint_pages(deferred),
    )?;
    let result = IntakeContext::new(store.conn(), options.office.clone(), now, &options.actor)
        .and_then(|mut ctx| {
            let bytes = Arc::new(AtomicU64::new(0));
            let counted = Arc::new(AtomicU64::new(0));
            std::thread::scope(|scope| {
                let (sender, receiver) = handover();
                let reader_ctx = ctx.clone();
                let reader_bytes = bytes.clone();
                let reader_counted = counted.clone();
                let cancel = options.cancel.as_deref();
                scope.spawn(move || match input {
                    Input::Stream(read) => {
                        read_rows(read, format, &reader_ctx, &sender, &reader_bytes)
                    }
                    Input::File(file) => order::read_file(
                        &file,
                        total,
                        format,
                        &reader_ctx,
                        &sender,
                        &reader_bytes,
                        &reader_counted,
                        cancel,
                    ),
                });
                let batch_size = deferral::batch_size(deferred, options.batch_size).max(1);
                let after = options.after_batch.as_ref();
                let longest = options.longest_batch;
                let lookups = deferred.then_some(Lookups {
                    counted: &counted,
                    estimate: deferral::estimated_rows(total),
                });
                write(
                    store, receiver, &mut ctx, batch_size, longest, &bytes, total, cancel, after,
                    lookups, progress,
                )
            })
        });
    // Built even after a failed or cancelled import (the rows committed so far stay), with the
    // import's page cache.
    let built = match load {
        Some(load) => deferral::finish(store.conn(), load),
        None => Ok(()),
    };
    tuned.restore(store.conn(), deferred)?;
    let report = result?;
    built?;
    Ok(report)
}

/// The connection's settings an import changes for its duration, as they were before.
struct Tuned {
    cache_size: i64,
    wal_autocheckpoint: i64,
}

impl Tuned {
    fn apply(conn: &Connection, cache_kib: i64, checkpoint_pages: i64) -> Result<Tuned> {
        let before = Tuned {
            cache_size: conn.query_row("PRAGMA cache_size", [], |r| r.get(0))?,
            wal_autocheckpoint: conn.query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))?,
        };
        // SQLite's default page cache (2 MiB) is far smaller than the lead and registration
        // indexes and the search index being written, so every batch re-read pages from the
        // file. A cache of 64 MiB for the import's duration (what `Store::open` sets too; a
        // connection opened another way may have less) keeps most of them in memory; memory
        // stays bounded by it. 32 MiB, tried before, shrank the store's own cache during imports.
        conn.pragma_update(None, "cache_size", -cache_kib)?;
        // Each 5,000-row batch writes more than the default 1,000-page WAL threshold, so every
        // commit copied the WAL back into the database; checkpointing every few batches copies
        // the pages that every batch touches (index interiors, the search index) once instead of
        // each time.
        conn.pragma_update(None, "wal_autocheckpoint", checkpoint_pages)?;
        Ok(before)
    }

    /// After a large import (`truncate`), also checkpoints and truncates the WAL, which grew
    /// past the store's usual size (`deferral::LARGE_CHECKPOINT_PAGES`). Readers or a writer
    /// elsewhere that keep it busy past the busy timeout leave it to the next checkpoint.
    fn restore(self, conn: &Connection, truncate: bool) -> Result<()> {
        conn.pragma_update(None, "cache_size", self.cache_size)?;
        conn.pragma_update(None, "wal_autocheckpoint", self.wal_autocheckpoint)?;
        if truncate {
            crate::store::wal::truncate(conn)?;
        }
        Ok(())
    }
}

/// SQLite page cache during an import, in KiB.
pub(crate) const IMPORT_CACHE_KIB: i64 = 64 * 1024;

/// WAL pages after which a commit during an import checkpoints (32 MiB of 4 KiB pages; a large
/// import's are `deferral::LARGE_CHECKPOINT_PAGES`).
const IMPORT_CHECKPOINT_PAGES: i64 = 8 * 1024;

/// The reader thread: parses the stream in its format and feeds the writer.
fn read_rows<R: Read>(
    read: R,
    format: Format,
    ctx: &IntakeContext,
    sender: &ToWriter,
    bytes: &AtomicU64,
) {
    let buffered = BufReader::with_capacity(256 * 1024, read);
    match format {
        Format::Csv => match csv::CsvRows::new(buffered) {
            Ok(mut rows) => feed(&mut rows, ctx, sender, bytes, |r| r.bytes_read()),
            Err(e) => {
                let _ = sender.send(vec![Item::Fatal(e)]);
            }
        },
        Format::Jsonl => {
            let mut rows = jsonl::JsonlRows::new(buffered);
            feed(&mut rows, ctx, sender, bytes, |r| r.bytes_read())
        }
    }
}

/// What the reader thread hands to the writer.
#[allow(clippy::large_enum_variant)]
enum Item {
    Row {
        line: u64,
        row: std::result::Result<CleanRegistration, String>,
    },
    Warning(RowError),
    Fatal(CoreError),
    /// The import was cancelled before any row was handed over (`order`'s first pass).
    Cancelled,
}

/// Parses and normalises rows on the reader thread; stops when the writer hangs up.
fn feed<I: Iterator<Item = Result<Parsed>>>(
    rows: &mut I,
    ctx: &IntakeContext,
    sender: &ToWriter,
    bytes: &AtomicU64,
    position: impl Fn(&I) -> u64,
) {
    let mut chunk = Vec::with_capacity(CHUNK);
    loop {
        let item = match rows.next() {
            None => break,
            Some(Err(e)) => {
                chunk.push(Item::Fatal(e));
                break;
            }
            Some(Ok(Parsed::Warning(w))) => Item::Warning(w),
            Some(Ok(Parsed::Row(raw))) => {
                // Lines held in a quoted field are named, so the report accounts for each line
                // even when two stray quotes happen to leave the right number of fields.
                if raw.end_line > raw.line {
                    chunk.push(Item::Warning(RowError {
                        line: raw.line,
                        reason: format!(
                            "the row runs from line {} to line {}: a quoted field holds line breaks",
                            raw.line, raw.end_line
                        ),
                    }));
                }
                Item::Row {
                    line: raw.line,
                    row: raw
                        .input
                        .and_then(|input| intake::clean(&input, ctx).map_err(|e| e.to_string())),
                }
            }
        };
        chunk.push(item);
        if chunk.len() >= CHUNK {
            bytes.store(position(rows), Ordering::Relaxed);
            let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK));
            if sender.send(full).is_err() {
                return;
            }
        }
    }
    bytes.store(position(rows), Ordering::Relaxed);
    let _ = sender.send(chunk);
}

/// A large import's leads by email and phone, and registrations by submission key, come from
/// memory (`Bulk::with_held_keys`), sized for the rows the reader's first pass counted, or
/// estimated from a stream's size.
struct Lookups<'a> {
    counted: &'a AtomicU64,
    estimate: u64,
}

/// Records rows on the calling thread, one transaction per batch; stops after a batch once
/// `cancel` is set (returning drops the receiver, which stops the reader).
#[allow(clippy::too_many_arguments)]
fn write(
    store: &mut Store,
    receiver: FromReader,
    ctx: &mut IntakeContext,
    batch_size: usize,
    longest_batch: Duration,
    bytes: &AtomicU64,
    total: u64,
    cancel: Option<&AtomicBool>,
    after_batch: Option<&AfterBatch>,
    lookups: Option<Lookups>,
    progress: &mut dyn FnMut(ImportProgress),
) -> Result<ImportReport> {
    let mut report = ImportReport::default();
    let (mut errors, mut warnings) = (ByLine::default(), ByLine::default());
    let FromReader { rows, mut spent } = receiver;
    let mut items = rows.iter().flatten().peekable();
    let conn = store.conn_mut();
    // A file's first pass has counted its rows by the time the first row arrives.
    items.peek();
    let mut bulk = match lookups {
        Some(l) => {
            let rows = match l.counted.load(Ordering::Relaxed) {
                0 => l.estimate,
                n => n,
            };
            intake::Bulk::with_held_keys(conn, rows as usize)?
        }
        None => intake::Bulk::new(conn)?,
    };
    let mut finished = false;
    while !finished {
        // Waits for the reader (a file's first pass takes seconds) before taking the write lock.
        items.peek();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Another process may have erased someone, or added leads, since the last batch.
        ctx.refresh(&tx)?;
        bulk.begin(&tx)?;
        let opened = Instant::now();
        let mut rows = 0;
        let mut recorded = Vec::new();
        while rows < batch_size && (rows == 0 || opened.elapsed() < longest_batch) {
            let Some(item) = items.next() else {
                finished = true;
                break;
            };
            match item {
                Item::Fatal(e) => return Err(e),
                Item::Cancelled => {
                    report.cancelled = true;
                    finished = true;
                    break;
                }
                Item::Warning(w) => note(&mut report, &mut warnings, w.line, w.reason),
                Item::Row { line, row } => {
                    rows += 1;
                    report.counts.read += 1;
                    match row {
                        Err(reason) => {
                            report.counts.rejected += 1;
                            note(&mut report, &mut errors, line, reason);
                        }
                        Ok(mut clean) => {
                            match intake::record_clean_bulk(&tx, &clean, ctx, &mut bulk)? {
                                IntakeOutcome::Created(id) => {
                                    report.counts.created += 1;
                                    recorded.push(id);
                                }
                                IntakeOutcome::Merged(id) => {
                                    report.counts.merged += 1;
                                    recorded.push(id);
                                }
                                IntakeOutcome::Duplicate => report.counts.duplicates += 1,
                                IntakeOutcome::Suppressed => report.counts.suppressed += 1,
                            }
                            for reason in std::mem::take(&mut clean.warnings) {
                                note(&mut report, &mut warnings, line, reason);
                            }
                            spent.take(clean);
                        }
                    }
                }
            }
        }
        bulk.finish(&tx)?;
        if let Some(AfterBatch(hook)) = after_batch {
            hook(&tx, &recorded)?;
        }
        tx.commit()?;
        progress(ImportProgress {
            counts: report.counts,
            bytes_read: bytes.load(Ordering::Relaxed),
            bytes_total: total,
        });
        if !finished && cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            report.cancelled = true;
            break;
        }
    }
    report.errors = errors.into_list();
    report.warnings = warnings.into_list();
    Ok(report)
}

/// Lists a problem by its line (rows recorded in time order come out of line order).
fn note(report: &mut ImportReport, list: &mut ByLine, line: u64, reason: String) {
    if !list.note(line, reason, MAX_LISTED) {
        report.omitted += 1;
    }
}

#[cfg(test)]
mod tests;
