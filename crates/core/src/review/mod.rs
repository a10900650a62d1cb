//! Review: what managers read back — follow-up history, the cadence review, CSV export and
//! full-text search.

pub mod cadences;
pub mod export;
pub mod history;
pub mod search;
