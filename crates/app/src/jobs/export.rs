//! The export jobs: leads, the follow-up history or an audience written to a CSV file whole or
//! not at all, with progress (rows written) and cancel, on their own connection.

use super::{on_own_connection, JobControl};
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use switchboard_core::audience::{self, Export, Segment};
use switchboard_core::export;
use switchboard_core::history::HistoryQuery;
use switchboard_core::Store;

/// What a CSV export of the store holds.
#[derive(Debug, Clone, PartialEq)]
pub enum Dataset {
    /// Every lead (erased ones as their skeleton).
    Leads,
    /// The follow-ups the query matches (its paging is ignored), newest first.
    History(HistoryQuery),
}

impl Dataset {
    /// Writes the dataset as CSV with a header to `out`; returns the rows.
    pub fn write(&self, store: &Store, out: &mut dyn Write) -> switchboard_core::Result<u64> {
        match self {
            Dataset::Leads => export::export_leads(store.conn(), out),
            Dataset::History(query) => export::export_history(store.conn(), query, out),
        }
    }
}

/// Exports `dataset` to the CSV file `path`, stoppable through `control`, telling `progress` the
/// rows written so far as the file grows. Returns the rows, or `None` when cancelled: `path` is
/// then untouched, as it is on any failure.
pub fn export_file(
    shared: &Mutex<Store>,
    dataset: &Dataset,
    path: &Path,
    control: &JobControl,
    mut progress: impl FnMut(u64),
) -> switchboard_core::Result<Option<u64>> {
    let cancel = control.start();
    let written = on_own_connection(shared, |store| {
        export::write_whole(path, |out| {
            dataset.write(store, &mut Tracked::new(out, &cancel, &mut progress))
        })
    });
    unless_cancelled(written, &cancel)
}

/// Exports the audience of `segment` to the CSV file `path` as `actor` and records the export
/// (who, which filter, which leads) in the same transaction, so a recorded export always has its
/// whole file and a failed or cancelled one leaves neither. `None` when cancelled.
pub fn export_audience(
    shared: &Mutex<Store>,
    segment: &Segment,
    path: &Path,
    actor: &str,
    control: &JobControl,
    mut progress: impl FnMut(u64),
) -> switchboard_core::Result<Option<Export>> {
    let cancel = control.start();
    let written = on_own_connection(shared, |store| {
        store.with_tx_now(|tx, at| {
            let mut recorded = None;
            export::write_whole(path, |out| {
                let mut out = Tracked::new(out, &cancel, &mut progress);
                let export = audience::export(tx, segment, &mut out, actor, at)?;
                let rows = export.count;
                recorded = Some(export);
                Ok(rows)
            })?;
            Ok(recorded)
        })
    });
    unless_cancelled(written, &cancel).map(Option::flatten)
}

/// A job's result, with the failure a cancel caused (the write refused) turned into `None`.
fn unless_cancelled<T>(
    result: switchboard_core::Result<T>,
    cancel: &AtomicBool,
) -> switchboard_core::Result<Option<T>> {
    match result {
        Err(_) if cancel.load(Ordering::Relaxed) => Ok(None),
        other => other.map(Some),
    }
}

/// The CSV output on its way to the file: counts the records that pass (a line break outside
/// quotes ends one; the first is the header) and refuses to write once the job is cancelled,
/// which fails the export so the partial file is removed.
struct Tracked<'a, W: Write + ?Sized> {
    out: &'a mut W,
    cancel: &'a AtomicBool,
    progress: &'a mut dyn FnMut(u64),
    quoted: bool,
    lines: u64,
}

impl<'a, W: Write + ?Sized> Tracked<'a, W> {
    fn new(out: &'a mut W, cancel: &'a AtomicBool, progress: &'a mut dyn FnMut(u64)) -> Self {
        Tracked {
            out,
            cancel,
            progress,
            quoted: false,
            lines: 0,
        }
    }
}

impl<W: Write + ?Sized> Write for Tracked<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.cancel.load(Ordering::Relaxed) {
            return Err(io::Error::other("the export was cancelled"));
        }
        let n = self.out.write(buf)?;
        let before = self.lines;
        for &b in &buf[..n] {
            match b {
                // An escaped quote ("") toggles twice, so it leaves the state as it was.
                b'"' => self.quoted = !self.quoted,
                b'\n' if !self.quoted => self.lines += 1,
                _ => {}
            }
        }
        if self.lines != before {
            (self.progress)(self.lines.saturating_sub(1));
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_counted_by_line_breaks_outside_quotes() {
        let cancel = AtomicBool::new(false);
        let mut seen = Vec::new();
        let mut progress = |rows| seen.push(rows);
        let mut file = Vec::new();
        let mut out = Tracked::new(&mut file, &cancel, &mut progress);
        out.write_all(b"id,note\n1,\"two\nlines, \"\"quoted\"\"\"\n2,")
            .unwrap();
        out.write_all(b"plain\n").unwrap();
        assert_eq!(seen, vec![1, 2]);
        assert_eq!(
            file,
            b"id,note\n1,\"two\nlines, \"\"quoted\"\"\"\n2,plain\n"
        );
    }

    #[test]
    fn a_cancelled_export_writes_nothing_more() {
        let cancel = AtomicBool::new(true);
        let mut progress = |_| {};
        let mut file = Vec::new();
        let mut out = Tracked::new(&mut file, &cancel, &mut progress);
        assert!(out.write_all(b"id\n").is_err());
        assert!(file.is_empty());
    }
}
