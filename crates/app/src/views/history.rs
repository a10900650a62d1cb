//! The follow-up history as the review screen and `switchboard history` show it: pages with
//! their summary, further pages as the list scrolls, and the review's charts.

use switchboard_core::history::{self, HistoryPage, HistoryQuery, HistoryRow, ReviewStats};
use switchboard_core::{leads, Result, Store};

/// A page of the follow-ups `query` matches, newest first, and the summary of all of them.
pub fn page(store: &Store, query: &HistoryQuery) -> Result<HistoryPage> {
    history::query(store.conn(), query)
}

/// The next page of rows (`query.offset` in), without the summary the first page brought.
pub fn rows(store: &Store, query: &HistoryQuery) -> Result<Vec<HistoryRow>> {
    history::rows(store.conn(), query)
}

/// The review's charts for `query` as of now: follow-ups per day by channel, speed to lead, and
/// subscriber requests with their handling time.
pub fn review_stats(store: &Store, query: &HistoryQuery) -> Result<ReviewStats> {
    history::review_stats(store.conn(), query, store.now())
}

/// The lead id a history filter names by `reference` (an id, a unique prefix or an email).
pub fn lead_id(store: &Store, reference: &str) -> Result<String> {
    Ok(leads::find(store.conn(), reference)?.id)
}
