//! The storage side of sync: building pushed operations from the outbox, applying pulled pages,
//! the replica's identity, and what this replica knows about its server. No network here: the
//! `switchboard-sync` crate moves the bytes.

pub mod apply;
pub mod bulk;
pub mod fresh;
pub mod identity;
pub mod materialize;

use crate::error::Result;
use crate::people::leads::parse_time;
use chrono::{DateTime, Utc};
use rusqlite::Connection;
use serde::Serialize;

pub use apply::{apply_page, ApplySummary, PageBatch};
pub use identity::{ensure_fresh, IdentityCheck};
pub use materialize::{ack, pending_batch, pending_ops, AckSummary, BatchLimits, PendingBatch};

pub use crate::store::sync_state::{
    adopt_unsent_work, record_login, record_logout, record_role, record_sync, signed_in_account,
    state, ServerLogin, SyncState,
};

/// One operation the server refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejected {
    /// The wire sequence it was pushed under.
    pub seq: i64,
    pub op_kind: String,
    pub entity_id: Option<String>,
    pub lead_id: Option<String>,
    pub code: Option<String>,
    pub reason: String,
    pub at: DateTime<Utc>,
}

/// The operations the server refused, newest first.
pub fn rejected(conn: &Connection, limit: u32) -> Result<Vec<Rejected>> {
    let mut stmt = conn.prepare(
        "SELECT seq, op_kind, entity_id, lead_id, code, reason, at FROM sync_rejected
         ORDER BY seq DESC LIMIT ?1",
    )?;
    let rows = stmt.query_map([limit], |r| {
        Ok(Rejected {
            seq: r.get(0)?,
            op_kind: r.get(1)?,
            entity_id: r.get(2)?,
            lead_id: r.get(3)?,
            code: r.get(4)?,
            reason: r.get(5)?,
            at: parse_time(r.get(6)?).unwrap_or_default(),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Everything `switchboard status` shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncStatus {
    pub replica_id: String,
    #[serde(flatten)]
    pub state: SyncState,
    /// Local writes waiting to be pushed.
    pub pending: i64,
    /// How many pushed operations the server refused in all.
    pub rejected_total: i64,
    /// The most recent refusals.
    pub rejected: Vec<Rejected>,
}

/// The replica's sync status.
pub fn status(conn: &Connection) -> Result<SyncStatus> {
    Ok(SyncStatus {
        replica_id: crate::store::settings::get_setting(conn, "replica_id")?.unwrap_or_default(),
        state: state(conn)?,
        pending: materialize::pending_count(conn)?,
        rejected_total: conn.query_row("SELECT count(*) FROM sync_rejected", [], |r| r.get(0))?,
        rejected: rejected(conn, 20)?,
    })
}

#[cfg(test)]
mod tests;
