//! Review: what managers read back — follow-up history, CSV export and full-text search.

pub mod export;
pub mod history;
pub mod search;
