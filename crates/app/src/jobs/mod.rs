//! Long jobs with progress and cancel, each on its own connection to the store's database file:
//! importing a file of registrations, and exporting leads, the follow-up history or an audience.

mod export;
mod import;

pub use export::{export_audience, export_file, Dataset};
pub use import::{
    import_file, CadenceEnrolment, ImportEnrolment, ImportProblem, ImportStatus, ImportSummary,
};

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use switchboard_core::Store;

/// A count for the window's 32-bit numbers. Counts past u32 cannot come from one file the
/// window imports or exports; saturate rather than wrap.
pub fn count(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The running job's cancel switch. Each job gets a fresh one, so a late Cancel of a finished
/// job cannot stop the next.
#[derive(Default)]
pub struct JobControl {
    current: Mutex<Arc<AtomicBool>>,
}

/// The window's one import at a time is stopped through the switch it keeps for it.
pub type ImportControl = JobControl;

impl JobControl {
    /// A fresh switch for a job about to start.
    pub fn start(&self) -> Arc<AtomicBool> {
        let fresh = Arc::new(AtomicBool::new(false));
        *self.current.lock().unwrap_or_else(PoisonError::into_inner) = fresh.clone();
        fresh
    }

    /// Stops the running job at its next step (an import after the batch it is writing, an
    /// export before its next chunk of output).
    pub fn cancel(&self) {
        let current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        current.store(true, Ordering::Relaxed);
    }
}

/// Runs `job` on its own connection to the shared store's database file, so the other users of
/// `shared` (the window's commands, background sync) go on while it runs instead of waiting
/// minutes for the lock. An in-memory store has no file to open twice: the job then holds it.
pub(crate) fn on_own_connection<T, E: From<switchboard_core::CoreError>>(
    shared: &Mutex<Store>,
    job: impl FnOnce(&mut Store) -> Result<T, E>,
) -> Result<T, E> {
    let lock = || shared.lock().unwrap_or_else(PoisonError::into_inner);
    let own = {
        let shared = lock();
        shared
            .path()
            .map(|db| (db.to_path_buf(), shared.key().cloned(), shared.clock()))
    };
    match own {
        Some((db, key, clock)) => job(&mut Store::open_with_clock(&db, key.as_ref(), clock)?),
        None => job(&mut lock()),
    }
}
