//! The import job: a file of registrations, committed in batches, with progress and cancel.

use super::{count, on_own_connection, JobControl};
use serde::Serialize;
use std::path::Path;
use std::sync::Mutex;
use switchboard_core::import::{self, ImportOptions, ImportProgress, ImportReport};
use switchboard_core::Store;
use ts_rs::TS;

/// Where an import stands, sent after each committed batch.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ImportStatus {
    pub read: u32,
    pub rejected: u32,
    /// Bytes parsed so far and the file's size (0 when unknown).
    pub bytes_read: f64,
    pub bytes_total: f64,
}

/// One refused row (or, as a warning, a dropped field or unknown column) by line.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ImportProblem {
    pub line: u32,
    pub reason: String,
    pub warning: bool,
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct ImportSummary {
    pub read: u32,
    pub created: u32,
    pub merged: u32,
    pub duplicates: u32,
    pub suppressed: u32,
    pub rejected: u32,
    pub problems: Vec<ImportProblem>,
    /// Stopped by Cancel: the counts are of the batches committed before it stopped.
    pub cancelled: bool,
}

impl From<ImportProgress> for ImportStatus {
    fn from(p: ImportProgress) -> Self {
        ImportStatus {
            read: count(p.counts.read),
            rejected: count(p.counts.rejected),
            bytes_read: p.bytes_read as f64,
            bytes_total: p.bytes_total as f64,
        }
    }
}

impl From<ImportReport> for ImportSummary {
    fn from(r: ImportReport) -> Self {
        let problem = |warning: bool| {
            move |e: switchboard_core::import::RowError| ImportProblem {
                line: count(e.line),
                reason: e.reason,
                warning,
            }
        };
        let mut problems: Vec<ImportProblem> = r.errors.into_iter().map(problem(false)).collect();
        problems.extend(r.warnings.into_iter().map(problem(true)));
        ImportSummary {
            read: count(r.counts.read),
            created: count(r.counts.created),
            merged: count(r.counts.merged),
            duplicates: count(r.counts.duplicates),
            suppressed: count(r.counts.suppressed),
            rejected: count(r.counts.rejected),
            problems,
            cancelled: r.cancelled,
        }
    }
}

/// Imports `file` as `actor`, stoppable through `control`, telling `progress` after each batch.
///
/// The import writes through its own connection to the shared store's database file, so the
/// other users of `shared` (the window's commands, background sync) go on between its batches
/// instead of waiting minutes for the lock.
pub fn import_file(
    shared: &Mutex<Store>,
    file: &Path,
    actor: &str,
    control: &JobControl,
    mut progress: impl FnMut(ImportStatus),
) -> switchboard_core::Result<ImportSummary> {
    let options = ImportOptions {
        actor: actor.to_string(),
        cancel: Some(control.start()),
        ..ImportOptions::default()
    };
    let mut report = |p: ImportProgress| progress(ImportStatus::from(p));
    on_own_connection(shared, |store| {
        import::import_file(store, file, &options, &mut report)
    })
    .map(ImportSummary::from)
}
