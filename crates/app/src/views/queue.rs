//! The queues as the call screen and `switchboard queue` show them: pages in the order leads are
//! handed out, and the claim of a queue's next lead.

use switchboard_core::protocol::Lead;
use switchboard_core::queue::{self, NextLead, QueueEntry, QueueSettings};
use switchboard_core::{leads, Result, Store};

/// A page of the named queue in the order `claim_next` hands leads out, with each lead's
/// channels as the gate decides them now and who holds it.
pub fn page(store: &Store, name: &str, offset: usize, limit: usize) -> Result<Vec<QueueEntry>> {
    queue::page(store.conn(), name, offset, limit, store.now())
}

/// A page of the `new` queue as the new-leads screen scrolls it: unworked leads, newest
/// registration first.
pub fn new_leads(store: &Store, offset: u32, limit: u32) -> Result<Vec<Lead>> {
    leads::list_new(store.conn(), limit, offset)
}

/// Claims the queue's top lead that may be contacted now for `rep`, under the queue settings
/// stored in the replica; `None` when the queue has nothing to offer now.
pub fn claim_next(store: &mut Store, name: &str, rep: &str) -> Result<Option<NextLead>> {
    claim_next_after(store, name, rep, None)
}

/// `claim_next` for a rep done with `previous` (the call session's current lead), given back
/// in the same transaction; most calls are served from the rep's hand and write nothing
/// (`queue::next_after`).
pub fn claim_next_after(
    store: &mut Store,
    name: &str,
    rep: &str,
    previous: Option<&str>,
) -> Result<Option<NextLead>> {
    store.with_tx_now(|tx, at| {
        let settings = QueueSettings::load(tx)?;
        queue::next_after(tx, name, rep, previous, at, &settings)
    })
}
