//! The commands the window may invoke. Each takes the store, calls the core, maps the error.

use crate::error::error_body;
use std::sync::{Mutex, MutexGuard, PoisonError};
use switchboard_core::protocol::{ErrorBody, Lead};
use switchboard_core::{leads, Store};
use tauri::State;

/// The store behind the app's lock. A panic in an earlier command leaves no half-written data
/// (its open transaction rolled back when dropped), so a poisoned lock is safe to reuse.
fn store<'a>(state: &'a State<'_, Mutex<Store>>) -> MutexGuard<'a, Store> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One page of the `new` queue: unworked leads, newest registration first.
#[tauri::command(async)]
pub fn new_queue_page(
    state: State<'_, Mutex<Store>>,
    offset: u32,
    limit: u32,
) -> Result<Vec<Lead>, ErrorBody> {
    leads::list_new(store(&state).conn(), limit, offset).map_err(error_body)
}
