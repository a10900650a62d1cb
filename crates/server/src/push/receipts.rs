//! Receipts: what each `(replica_id, seq)` was answered, with the digest of the operation
//! answered, so a resend is told `duplicate` and a reused sequence is told apart.

use super::Verdict;
use crate::error::{Result, ServerError};
use crate::store::{col_text, Tx};
use switchboard_protocol::*;

/// SHA-256 (hex) of the operation's JSON as the protocol types write it (field order fixed by
/// the types, no maps), so the same operation always has the same digest.
pub fn op_digest(op: &Op) -> String {
    use sha2::{Digest, Sha256};
    let json = serde_json::to_vec(op).expect("an operation serialises");
    hex::encode(Sha256::digest(json))
}

pub(super) fn reused(replica: &str, seq: i64) -> ServerError {
    ServerError::ReplicaReused(format!(
        "replica {replica} already pushed another operation as {seq}: its sequence went \
         backwards (restored backup?); push again under a new replica id"
    ))
}

fn status_text(s: PushStatus) -> &'static str {
    match s {
        PushStatus::Applied => "applied",
        PushStatus::Duplicate => "duplicate",
        PushStatus::Rejected => "rejected",
    }
}

/// What a replica was answered for one key, and the digest of the operation it answered
/// (`None` for receipts from before digests were kept).
pub(super) struct Receipt {
    pub verdict: Verdict,
    pub digest: Option<String>,
}

pub(super) fn receipt(tx: &mut dyn Tx, replica: &str, seq: i64) -> Result<Option<Receipt>> {
    let row = tx.query_opt(
        "SELECT status, code, reason, digest FROM receipt WHERE replica_id = ?1 AND seq = ?2",
        &[replica.into(), seq.into()],
    )?;
    Ok(row.map(|r| Receipt {
        verdict: Verdict {
            status: match col_text(&r, 0).as_deref() {
                Some("rejected") => PushStatus::Rejected,
                Some("duplicate") => PushStatus::Duplicate,
                _ => PushStatus::Applied,
            },
            code: col_text(&r, 1),
            reason: col_text(&r, 2),
        },
        digest: col_text(&r, 3),
    }))
}

/// Records what the replica was answered for `seq`, in the transaction that applied it.
pub(super) fn record(
    tx: &mut dyn Tx,
    replica: &str,
    seq: i64,
    verdict: &Verdict,
    digest: &str,
) -> Result<()> {
    tx.exec(
        "INSERT INTO receipt (replica_id, seq, status, code, reason, digest) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        &[
            replica.into(),
            seq.into(),
            status_text(verdict.status).into(),
            verdict.code.clone().into(),
            verdict.reason.clone().into(),
            digest.into(),
        ],
    )?;
    Ok(())
}
