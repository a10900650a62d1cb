//! Applying pulled changes to the local replica.
//!
//! A page of changes and the cursor that follows it are written in one transaction, so an
//! interrupted sync resumes after the last whole page and never applies a change twice or skips
//! one. Every operation is idempotent: append-only records insert-or-ignore by id, lead field
//! groups keep the newest hybrid-logical-clock stamp, erasure and revocation are final.

use super::fresh::NewLeads;
use crate::clock::to_text;
use crate::compliance::consent;
use crate::error::Result;
use crate::hlc::{supersedes, Hlc};
use crate::outreach::followup;
use crate::people::leads;
use crate::people::registration;
use crate::privacy::erase;
use crate::privacy::requests;
use crate::store::audit;
use crate::store::outbox;
use crate::store::settings::observe_hlc;
use rusqlite::Connection;
use std::collections::BTreeSet;
use switchboard_protocol::{
    AuditEntry, Change, FollowUp, LeadFieldsSet, LeadRevoked, Op, Registration,
};

/// What applying a page did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApplySummary {
    /// Changes in the page.
    pub changes: u64,
    /// Changes that altered this replica (the rest were already known or older).
    pub applied: u64,
    /// People erased by this page.
    pub erased: u64,
    /// Leads removed because they left this replica's office.
    pub revoked: u64,
}

/// Applies one pulled page and stores `new_cursor`, all in one transaction. When the page erased
/// or removed anyone, the WAL is checkpointed and truncated afterwards so no old page image
/// with their data stays on disk.
pub fn apply_page(
    conn: &mut Connection,
    changes: &[Change],
    new_cursor: i64,
) -> Result<ApplySummary> {
    let mut batch = PageBatch::new(conn);
    let summary = batch.apply(changes, new_cursor)?;
    batch.commit()?;
    Ok(summary)
}

/// Consecutive pages of one pull written in one transaction.
///
/// Each commit writes every page it dirtied to the WAL again, and a page of changes dirties
/// pages all over the indexes (emails arrive in no order), so committing after every 5,000
/// changes wrote the same index pages hundreds of times in a first sync. A batch still commits
/// whole pages with the cursor after the last of them, so an interrupted pull resumes exactly
/// after the last committed page; it only commits less often. It holds the write lock while it
/// is open: the caller commits when it is full, when a page erased or removed anyone (the WAL
/// is scrubbed right after that commit), and before it waits for the network.
pub struct PageBatch<'c> {
    conn: &'c mut Connection,
    open: bool,
    changes: u64,
    scrub: bool,
    /// A bulk first sync's batch (`PageBatch::bulk`): bounded by the pages it adds, not by its
    /// changes.
    bulk: bool,
    max_new_pages: i64,
    /// The file's pages when the transaction began.
    pages_at_begin: i64,
}

impl<'c> PageBatch<'c> {
    /// Changes after which a batch is full: under a second of writing, so another writer on
    /// this replica (the app while it syncs) waits far less than its busy timeout.
    pub const MAX_CHANGES: u64 = 50_000;

    /// A batch over `conn`, with no transaction open yet.
    pub fn new(conn: &'c mut Connection) -> PageBatch<'c> {
        Self::with(conn, false, 0)
    }

    fn with(conn: &'c mut Connection, bulk: bool, max_new_pages: i64) -> PageBatch<'c> {
        PageBatch {
            conn,
            open: false,
            changes: 0,
            scrub: false,
            bulk,
            max_new_pages,
            pages_at_begin: 0,
        }
    }

    /// A batch of a bulk first sync (`replica::bulk`), which the caller also bounds by time:
    /// full once it has added `bulk::BATCH_NEW_PAGES` pages to the file, whatever its changes.
    /// Every page it adds stays dirty in the page cache until the commit, and so do the pages
    /// of the indexes it inserts into; a cache full of dirty pages spills them into the WAL
    /// mid-transaction, and the commit writes them again. `bulk::widen_cache` sizes the cache
    /// for that bound.
    pub fn bulk(conn: &'c mut Connection) -> PageBatch<'c> {
        Self::with(conn, true, super::bulk::BATCH_NEW_PAGES)
    }

    /// A bulk batch full after `pages` new pages, for tests that cannot write 64 MiB.
    #[cfg(test)]
    pub(crate) fn bulk_of(conn: &'c mut Connection, pages: i64) -> PageBatch<'c> {
        Self::with(conn, true, pages)
    }

    /// Applies one page and its cursor inside the batch's transaction (opening it if needed).
    /// On an error the whole batch is rolled back: its pages were not committed, and the cursor
    /// stays before them.
    pub fn apply(&mut self, changes: &[Change], new_cursor: i64) -> Result<ApplySummary> {
        if !self.open {
            self.conn.execute_batch("BEGIN IMMEDIATE")?;
            self.open = true;
            if self.bulk {
                self.pages_at_begin = self.page_count()?;
            }
        }
        match apply_in(self.conn, changes, new_cursor) {
            Ok(summary) => {
                self.changes += summary.changes;
                self.scrub |= summary.erased > 0 || summary.revoked > 0;
                Ok(summary)
            }
            Err(e) => {
                self.rollback();
                Err(e)
            }
        }
    }

    /// Whether the batch should commit before it takes another page.
    pub fn is_full(&self) -> bool {
        if self.scrub {
            return true;
        }
        if !self.bulk {
            return self.changes >= Self::MAX_CHANGES;
        }
        // An error reading the count is the next statement's to report: commit now.
        self.open
            && self
                .page_count()
                .map_or(true, |p| p - self.pages_at_begin >= self.max_new_pages)
    }

    /// The file's pages, those this transaction added included.
    fn page_count(&self) -> Result<i64> {
        Ok(self
            .conn
            .prepare_cached("PRAGMA page_count")?
            .query_row([], |r| r.get(0))?)
    }

    /// Commits the open transaction, if any; scrubs the WAL when a page erased or removed
    /// anyone.
    pub fn commit(&mut self) -> Result<()> {
        if !self.open {
            return Ok(());
        }
        if let Err(e) = self.conn.execute_batch("COMMIT") {
            self.rollback();
            return Err(e.into());
        }
        self.open = false;
        self.changes = 0;
        if std::mem::take(&mut self.scrub) {
            erase::scrub_wal(self.conn)?;
        }
        Ok(())
    }

    fn rollback(&mut self) {
        if std::mem::take(&mut self.open) {
            // Nothing more to do when even the rollback fails: SQLite rolls back a transaction
            // that its connection leaves open when it closes.
            let _ = self.conn.execute_batch("ROLLBACK");
        }
        self.changes = 0;
        self.scrub = false;
    }
}

impl Drop for PageBatch<'_> {
    /// A batch dropped before its commit (a cancelled sync) leaves nothing half-applied and the
    /// connection out of the transaction.
    fn drop(&mut self) {
        self.rollback();
    }
}

/// WAL pages (4 KiB each) a long pull may accumulate before SQLite checkpoints: 64 MiB.
pub const PULL_AUTOCHECKPOINT: i64 = 16_384;

/// Lets the WAL grow to `PULL_AUTOCHECKPOINT` pages while a pull applies its pages; returns the
/// setting to restore. With the default 1,000 pages a long pull checkpoints (and fsyncs) after
/// nearly every page and writes the same index pages into the database again and again.
pub fn widen_checkpoints(conn: &Connection) -> Result<i64> {
    let before: i64 = conn.query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))?;
    conn.execute_batch(&format!(
        "PRAGMA wal_autocheckpoint = {PULL_AUTOCHECKPOINT}"
    ))?;
    Ok(before)
}

/// Restores the checkpoint setting after a pull; after a long one (`truncate`), checkpoints
/// once and truncates the WAL so the file does not stay large.
pub fn restore_checkpoints(conn: &Connection, before: i64, truncate: bool) -> Result<()> {
    conn.execute_batch(&format!("PRAGMA wal_autocheckpoint = {before}"))?;
    if truncate {
        crate::store::wal::truncate(conn)?;
    }
    Ok(())
}

/// The transactional part of `apply_page`.
pub fn apply_in(conn: &Connection, changes: &[Change], new_cursor: i64) -> Result<ApplySummary> {
    let mut summary = ApplySummary {
        changes: changes.len() as u64,
        ..ApplySummary::default()
    };
    let mut counters: BTreeSet<String> = BTreeSet::new();
    let mut newest: Option<Hlc> = None;
    // A bulk first sync builds the full-text entries of its new rows after the load.
    let index_search = !crate::store::deferred_indexes::search_deferred(conn)?;
    let mut new_leads = NewLeads::scan(conn, changes, index_search)?;
    // A registration pulled twice, or recorded here too, is skipped by the submission index.
    registration::ensure_write_rules(conn)?;
    let mut replica_id: Option<String> = None;
    // Pulled writes are not local intake nor local changes (migration 0013's triggers).
    conn.prepare_cached("INSERT OR IGNORE INTO sync_applying(id) VALUES (1)")?
        .execute([])?;
    // Follow-ups whose notes wait to be indexed together (`followup::index_notes`); any other
    // operation indexes them first, so whatever reads or removes index entries finds them.
    let mut notes: Vec<i64> = Vec::new();
    for (index, change) in changes.iter().enumerate() {
        if !matches!(change.op, Op::FollowUpLogged(_)) {
            followup::index_notes(conn, &mut notes)?;
        }
        let applied = match &change.op {
            Op::LeadFieldsSet(op) => {
                if let Some(stamp) = Hlc::parse(&op.hlc) {
                    if newest.as_ref().is_none_or(|n| &stamp > n) {
                        newest = Some(stamp);
                    }
                }
                if new_leads.write(conn, &op.lead_id, &to_text(op.created_at))? {
                    new_leads.is_effective(index)
                } else {
                    fields(conn, op)?
                }
            }
            Op::RegistrationAdded(r) => {
                new_leads.write(conn, &r.lead_id, &to_text(r.submitted_at))?;
                registration(conn, r)?
            }
            Op::FollowUpLogged(f) => {
                let live = new_leads.write(conn, &f.lead_id, &to_text(f.occurred_at))?;
                let inserted = follow_up(conn, f, live)?;
                if inserted && index_search {
                    notes.push(conn.last_insert_rowid());
                }
                // A new lead's row was written with the counters of its follow-ups here.
                if inserted && !live {
                    counters.insert(f.lead_id.clone());
                }
                inserted
            }
            Op::ConsentRecorded(c) => {
                new_leads.write(conn, &c.lead_id, &to_text(c.occurred_at))?;
                leads::ensure_skeleton(conn, &c.lead_id, &to_text(c.occurred_at))?;
                consent::apply_remote(conn, c)?
            }
            Op::RequestOpened(r) => {
                new_leads.write(conn, &r.lead_id, &to_text(r.received_at))?;
                leads::ensure_skeleton(conn, &r.lead_id, &to_text(r.received_at))?;
                requests::apply_remote(conn, r)?
            }
            Op::RequestHandled(r) => requests::apply_remote_handled(conn, r)?,
            Op::AuditRecorded(a) => audit(conn, a)?,
            Op::LeadErased(e) => {
                // A person erased before this replica ever saw them still leaves the same
                // PII-free skeleton here as everywhere else.
                leads::ensure_skeleton(conn, &e.lead_id, &to_text(e.erased_at))?;
                erase::apply_remote(conn, e)?;
                // A replica that held the person keeps no more of them than one that first
                // syncs after the erasure: the skeleton the server's log alone gives.
                leads::to_erased_skeleton(conn, &e.lead_id)?;
                summary.erased += 1;
                true
            }
            Op::PartnerRegistered(p) => crate::partners::apply_remote(conn, p)?,
            Op::DisclosureRecorded(d) => crate::partners::disclosure::apply_remote(conn, d)?,
            Op::CadenceSaved(c) => crate::cadence::definition::apply_saved(conn, c)?,
            Op::CadenceRuleAdded(r) => crate::cadence::definition::apply_rule(conn, r)?,
            Op::EnrollmentSynced(e) => {
                new_leads.write(conn, &e.lead_id, &to_text(e.enrolled_at))?;
                let me = replica_id.get_or_insert_with(|| {
                    crate::store::settings::get_setting(conn, "replica_id")
                        .ok()
                        .flatten()
                        .unwrap_or_default()
                });
                crate::cadence::enrollment::apply_synced(conn, e, me)?
            }
            Op::LeadRevoked(r) => {
                let removed = revoke(conn, r)?;
                if removed {
                    summary.revoked += 1;
                    counters.remove(&r.lead_id);
                }
                removed
            }
        };
        if applied {
            summary.applied += 1;
        }
    }
    followup::index_notes(conn, &mut notes)?;
    for lead_id in &counters {
        if leads::exists(conn, lead_id)? {
            leads::recompute_counters(conn, lead_id)?;
        }
    }
    if let Some(stamp) = newest {
        observe_hlc(conn, &stamp)?;
    }
    if changes
        .iter()
        .any(|c| matches!(c.op, Op::EnrollmentSynced(_)))
    {
        // An enrolment the server made at intake and named this replica the owner of: planned
        // (and pushed back planned) at once, so every laptop shows when its first step is due.
        crate::cadence::enrollment::plan_pending(conn)?;
    }
    conn.prepare_cached("DELETE FROM sync_applying")?
        .execute([])?;
    crate::store::sync_state::set_cursor(conn, new_cursor)?;
    Ok(summary)
}

fn fields(conn: &Connection, op: &LeadFieldsSet) -> Result<bool> {
    leads::ensure_skeleton(conn, &op.lead_id, &to_text(op.created_at))?;
    // Erasure is final: nothing brings an erased person's fields back.
    if leads::is_erased(conn, &op.lead_id)? {
        return Ok(false);
    }
    let group = op.fields.group();
    let current = leads::group_clock(conn, &op.lead_id, group)?;
    if !supersedes(&op.hlc, &current) {
        adopt_clamped_stamp(conn, op, &current)?;
        return Ok(false);
    }
    leads::write_group(conn, &op.lead_id, &op.fields, &op.hlc)?;
    Ok(true)
}

/// The server clamps a stamp that runs ahead of its clock (a laptop whose clock is years
/// ahead), so this replica's own edit comes back with a lower stamp than the one it keeps. Left
/// alone, the local stamp would beat every later edit of others here, and this replica alone
/// would keep its value forever. When the pulled change carries this stamp's node and the very
/// values the lead holds, it is the server's copy of the local edit: take the server's stamp.
/// The values do not change, so nothing else does.
fn adopt_clamped_stamp(conn: &Connection, op: &LeadFieldsSet, current: &str) -> Result<()> {
    let (Some(incoming), Some(mine)) = (Hlc::parse(&op.hlc), Hlc::parse(current)) else {
        return Ok(());
    };
    if incoming.node != mine.node || op.hlc.as_str() >= current {
        return Ok(());
    }
    let group = op.fields.group();
    // A local edit of the group still waiting to be pushed keeps its stamp; its own copy comes
    // back after its push.
    if outbox::has_pending_group(conn, &op.lead_id, group.as_str())? {
        return Ok(());
    }
    if leads::holds_group(conn, &op.lead_id, &op.fields)? {
        leads::set_group_clock(conn, &op.lead_id, group, &op.hlc)?;
    }
    Ok(())
}

fn registration(conn: &Connection, r: &Registration) -> Result<bool> {
    leads::ensure_skeleton(conn, &r.lead_id, &to_text(r.submitted_at))?;
    registration::apply_remote(conn, r)
}

/// `live`: the lead is known to exist and not to be erased (created in this page), so neither
/// needs looking up; `index_search`: its note's full-text entry is written now (a bulk load
/// builds them all at its end).
/// Stores a pulled follow-up without its note's full-text entry (the caller indexes notes in
/// runs: `followup::index_notes`); the follow-up's rowid is `last_insert_rowid` if it was new.
fn follow_up(conn: &Connection, f: &FollowUp, live: bool) -> Result<bool> {
    if live {
        return followup::insert_indexed(conn, f, false, false);
    }
    leads::ensure_skeleton(conn, &f.lead_id, &to_text(f.occurred_at))?;
    followup::store_remote_indexed(conn, f, false)
}

fn audit(conn: &Connection, a: &AuditEntry) -> Result<bool> {
    let erased = match &a.lead_id {
        Some(id) => leads::is_erased(conn, id)?,
        None => false,
    };
    audit::apply_remote(conn, a, erased)
}

/// Removes a lead that left this replica's office, and everything about it, PII included.
/// Every table with a `lead_id` column is cleared, so tables added later are covered too.
fn revoke(conn: &Connection, op: &LeadRevoked) -> Result<bool> {
    if !leads::exists(conn, &op.lead_id)? {
        return Ok(false);
    }
    // The notes' index rows are found through the follow-ups, so they go first.
    followup::unindex_notes(conn, &op.lead_id)?;
    let tables: Vec<String> = conn
        .prepare_cached(
            "SELECT m.name FROM sqlite_schema m, pragma_table_info(m.name) p
             WHERE m.type = 'table' AND p.name = 'lead_id' AND m.name <> 'lead'
             ORDER BY m.name",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    // Children may reference each other (a lead's records are all keyed by lead_id); with
    // foreign keys on, delete until a pass removes nothing that blocks the lead row.
    for _ in 0..3 {
        let mut blocked = false;
        for table in &tables {
            match conn.execute(
                &format!("DELETE FROM \"{table}\" WHERE lead_id = ?1"),
                [&op.lead_id],
            ) {
                Ok(_) => {}
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if e.code == rusqlite::ErrorCode::ConstraintViolation =>
                {
                    blocked = true
                }
                Err(e) => return Err(e.into()),
            }
        }
        if !blocked {
            break;
        }
    }
    // Audit entries about the lead's records are covered by lead_id; queued pushes about the
    // lead go too (the server would refuse them: the lead is no longer this office's).
    outbox::drop_for_lead(conn, &op.lead_id)?;
    leads::delete(conn, &op.lead_id)
}

#[cfg(test)]
mod tests;
