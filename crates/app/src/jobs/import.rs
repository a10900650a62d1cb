//! The import job: a file of registrations, committed in batches, with progress and cancel,
//! optionally enrolling every imported lead in a cadence as each batch commits.

use super::{count, on_own_connection, JobControl};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use switchboard_core::cadence::{definition, enrollment};
use switchboard_core::import::{self, AfterBatch, ImportOptions, ImportProgress, ImportReport};
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
    /// The cadence the imported leads were enrolled in, if one was asked for.
    pub enrolment: Option<ImportEnrolment>,
}

/// What enrolling an import's leads in a cadence did, over the batches committed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct ImportEnrolment {
    pub cadence: String,
    /// Leads newly enrolled.
    pub enrolled: u32,
    /// Leads already in the cadence (by an intake rule, or an earlier import of the file).
    pub already: u32,
    /// Leads that could not be enrolled (erased, closed, no calling hour fits).
    pub skipped: u32,
}

/// Enrolling each batch's leads in a cadence, in the batch's transaction: the hook an import
/// runs, and what it has done so far.
pub struct CadenceEnrolment {
    done: Arc<Mutex<ImportEnrolment>>,
    cadence_id: String,
    actor: String,
    at: DateTime<Utc>,
}

impl CadenceEnrolment {
    /// Enrolment in `cadence` (name or id) as `actor` at `at`; refused before anything is
    /// imported when there is no such cadence.
    pub fn new(
        store: &Store,
        cadence: &str,
        actor: &str,
        at: DateTime<Utc>,
    ) -> switchboard_core::Result<CadenceEnrolment> {
        let found = definition::find(store.conn(), cadence)?;
        Ok(CadenceEnrolment {
            done: Arc::new(Mutex::new(ImportEnrolment {
                cadence: found.name,
                ..ImportEnrolment::default()
            })),
            cadence_id: found.id,
            actor: actor.to_string(),
            at,
        })
    }

    /// The hook the import calls with each batch's leads.
    pub fn hook(&self) -> AfterBatch {
        let (done, cadence, actor, at) = (
            self.done.clone(),
            self.cadence_id.clone(),
            self.actor.clone(),
            self.at,
        );
        AfterBatch(Arc::new(move |conn, leads| {
            // A lead merged twice in one batch is enrolled once, and counted once.
            let mut seen = HashSet::new();
            let unique: Vec<String> = leads
                .iter()
                .filter(|id| seen.insert(id.as_str()))
                .cloned()
                .collect();
            let batch = enrollment::enroll(conn, &cadence, &unique, &actor, at)?;
            let mut done = done.lock().unwrap_or_else(PoisonError::into_inner);
            done.enrolled = done.enrolled.saturating_add(count(batch.enrolled));
            done.already = done.already.saturating_add(count(batch.already));
            done.skipped = done
                .skipped
                .saturating_add(count(batch.skipped.len() as u64));
            Ok(())
        }))
    }

    /// What it has done over the batches committed so far.
    pub fn done(&self) -> ImportEnrolment {
        self.done
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
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
            enrolment: None,
        }
    }
}

/// Imports `file` as `actor`, stoppable through `control`, telling `progress` after each batch;
/// with `cadence`, every lead the file brings (new or merged) is enrolled in it as its batch
/// commits, so a cancelled import leaves exactly its committed leads enrolled.
///
/// The import writes through its own connection to the shared store's database file, so the
/// other users of `shared` (the window's commands, background sync) go on between its batches
/// instead of waiting minutes for the lock.
pub fn import_file(
    shared: &Mutex<Store>,
    file: &Path,
    actor: &str,
    cadence: Option<&str>,
    control: &JobControl,
    mut progress: impl FnMut(ImportStatus),
) -> switchboard_core::Result<ImportSummary> {
    let mut report = |p: ImportProgress| progress(ImportStatus::from(p));
    on_own_connection(shared, |store| {
        let enrolment = cadence
            .map(|c| CadenceEnrolment::new(store, c, actor, store.now()))
            .transpose()?;
        let options = ImportOptions {
            actor: actor.to_string(),
            cancel: Some(control.start()),
            after_batch: enrolment.as_ref().map(CadenceEnrolment::hook),
            ..ImportOptions::default()
        };
        let mut summary =
            ImportSummary::from(import::import_file(store, file, &options, &mut report)?);
        summary.enrolment = enrolment.as_ref().map(CadenceEnrolment::done);
        Ok(summary)
    })
}
