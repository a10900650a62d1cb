//! The desk a front end works at: the local store behind one lock, and who acts on it.

use crate::session::Acting;
use chrono::{DateTime, Utc};
use rusqlite::Transaction;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use switchboard_core::{Result, Store};

/// The window's store, shared by its commands, and the identity its writes are recorded under.
pub struct Desk {
    store: Arc<Mutex<Store>>,
    acting: Acting,
}

impl Desk {
    /// A desk over `store`, acting as `acting` says (and follows).
    pub fn new(store: Store, acting: Acting) -> Desk {
        Desk {
            store: Arc::new(Mutex::new(store)),
            acting,
        }
    }

    /// Who acts now, and the switch sign-in and sign-out turn.
    pub fn acting(&self) -> &Acting {
        &self.acting
    }

    /// The store behind its lock, for jobs that open their own connection to its file.
    pub fn shared(&self) -> &Mutex<Store> {
        &self.store
    }

    /// The store's lock itself, for the sync service, which replaces the store with an empty one
    /// when a revoked device erases its replica.
    pub fn shared_handle(&self) -> Arc<Mutex<Store>> {
        self.store.clone()
    }

    /// The store, locked. A panic in an earlier user leaves no half-written data (its open
    /// transaction rolled back when dropped), so a poisoned lock is safe to reuse.
    pub fn lock(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `read` on the locked store.
    pub fn read<T>(&self, read: impl FnOnce(&Store) -> Result<T>) -> Result<T> {
        read(&self.lock())
    }

    /// Runs `change` in one transaction at the store's now as whoever acts now (the actor it is
    /// given).
    pub fn act<T>(
        &self,
        change: impl FnOnce(&Transaction<'_>, &str, DateTime<Utc>) -> Result<T>,
    ) -> Result<T> {
        let actor = self.acting.get().actor;
        self.lock().with_tx_now(|tx, at| change(tx, &actor, at))
    }
}
