//! Pulled pages written in batches, and when a batch commits.

use super::{Progress, SyncReport};
use crate::error::Result;
use std::time::{Duration, Instant};
use switchboard_core::replica::PageBatch;
use switchboard_core::Store;

/// How long applied pages may wait in an open batch: a long pull commits (and reports its
/// progress) at least this often, so the window's queue fills while pages arrive, at the cost
/// of about one extra commit a second.
pub const REPORT_EVERY: Duration = Duration::from_secs(1);

/// How long a bulk first sync keeps one batch open: it reports its progress page by page
/// without committing, and each commit writes every page the batch dirtied into the WAL again
/// (the randomly keyed indexes that stay during the load are dirtied anew by every batch), so
/// it commits this rarely. The write lock is then held for at most this, plus
/// `BULK_PAGE_WAIT`, one page's apply and the commit: about 3.5 s, under the 5 s busy timeout
/// another writer on the replica waits (`store::Store::open`).
pub const BULK_BATCH: Duration = Duration::from_millis(2_500);

/// How long a bulk first sync waits for the next page with its batch open before it commits:
/// a page takes tens of milliseconds to arrive.
pub const BULK_PAGE_WAIT: Duration = Duration::from_millis(500);

/// The changes a sync brings in all, while it pulls: those pulled since the pull started at
/// `start` (cursor, changes pulled before), scaled by how much of the sequence range up to the
/// server's `head` the `cursor` has covered (changes spread over it roughly evenly; the
/// estimate tightens with every page). `None` before the cursor has moved.
pub(super) fn estimate(start: (i64, u64), head: i64, cursor: i64, pulled: u64) -> Option<u64> {
    let (from, before) = start;
    let (span, done) = (head - from, cursor - from);
    if span <= 0 || done <= 0 {
        return None;
    }
    let since = u128::from(pulled.saturating_sub(before));
    let whole = since * span as u128 / done.min(span) as u128;
    Some(before.saturating_add(u64::try_from(whole).unwrap_or(u64::MAX)))
}

/// Applies pulled pages in batches (`PageBatch`) and reports them once they are committed, so
/// whoever reloads on `Progress::Pulled` reads the new data.
pub(super) struct PageWriter<'c> {
    pub(super) batch: PageBatch<'c>,
    unreported: u64,
    /// Changes applied since the last commit (progress may have been reported for them).
    uncommitted: u64,
    /// The cursor and the sync's pulled count when this pull started, and the newest head the
    /// server named since: what `expected` is measured against.
    start: (i64, u64),
    head: Option<i64>,
    /// The last page is applied: `expected` is what was pulled.
    pub(super) finished: bool,
    /// How long the batch may stay open: `REPORT_EVERY`, or `BULK_BATCH` during a bulk load.
    window: Duration,
    /// When the batch last committed.
    committed: Instant,
}

impl<'c> PageWriter<'c> {
    /// A writer for a pull starting at `cursor`; `bulk`: the pull is a bulk first sync, whose
    /// batches are bounded by time and by the pages they add (`PageBatch::bulk`) rather than
    /// by their changes.
    pub(super) fn new(store: &'c mut Store, cursor: i64, pulled: u64, bulk: bool) -> Self {
        let conn = store.conn_mut();
        PageWriter {
            batch: if bulk {
                PageBatch::bulk(conn)
            } else {
                PageBatch::new(conn)
            },
            unreported: 0,
            uncommitted: 0,
            start: (cursor, pulled),
            head: None,
            finished: false,
            window: if bulk { BULK_BATCH } else { REPORT_EVERY },
            committed: Instant::now(),
        }
    }

    /// Whether the open batch should commit before it takes another page: it is full, or it
    /// has been open its whole window.
    pub(super) fn due(&self) -> bool {
        self.batch.is_full() || self.committed.elapsed() >= self.window
    }

    fn expected(&self, report: &SyncReport) -> Option<u64> {
        if self.finished {
            return Some(report.pulled);
        }
        estimate(self.start, self.head?, report.cursor, report.pulled)
    }

    pub(super) fn apply(
        &mut self,
        page: &switchboard_protocol::ChangesPage,
        report: &mut SyncReport,
    ) -> Result<()> {
        let summary = self.batch.apply(&page.changes, page.next_cursor)?;
        report.pages += 1;
        report.pulled += summary.changes;
        report.erased += summary.erased;
        report.revoked += summary.revoked;
        report.cursor = page.next_cursor;
        self.unreported += summary.changes;
        self.uncommitted += summary.changes;
        self.head = self.head.max(page.head_cursor);
        Ok(())
    }

    pub(super) fn commit(
        &mut self,
        report: &mut SyncReport,
        progress: &mut dyn FnMut(Progress),
    ) -> Result<()> {
        self.batch.commit()?;
        self.committed = Instant::now();
        report.commits += u64::from(std::mem::take(&mut self.uncommitted) > 0);
        self.report_progress(report, progress);
        Ok(())
    }

    /// Reports what was applied since, committed or not (a bulk load commits by the batch).
    pub(super) fn report_progress(
        &mut self,
        report: &SyncReport,
        progress: &mut dyn FnMut(Progress),
    ) {
        if self.unreported > 0 {
            progress(Progress::Pulled {
                changes: std::mem::take(&mut self.unreported),
                total: report.pulled,
                cursor: report.cursor,
                expected: self.expected(report),
            });
        }
    }
}
