//! Receipts: what each `(replica_id, seq)` was answered, with the digest of the operation
//! answered, so a resend is told `duplicate` and a reused sequence is told apart.

use super::Verdict;
use crate::error::{Result, ServerError};
use crate::store::{col_int, col_text, Tx};
use std::collections::HashMap;
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

fn receipt_of(r: &crate::store::Row) -> Receipt {
    Receipt {
        verdict: Verdict {
            status: match col_text(r, 0).as_deref() {
                Some("rejected") => PushStatus::Rejected,
                Some("duplicate") => PushStatus::Duplicate,
                _ => PushStatus::Applied,
            },
            code: col_text(r, 1),
            reason: col_text(r, 2),
        },
        digest: col_text(r, 3),
    }
}

/// The receipts `replica` holds for `seqs`, by sequence. A push's sequences are almost always
/// one short run, so they are read in one range query (a round trip per operation was most of
/// a push's statements on PostgreSQL); scattered ones are read one by one.
pub(super) fn receipts(
    tx: &mut dyn Tx,
    replica: &str,
    seqs: &[i64],
) -> Result<HashMap<i64, Receipt>> {
    let mut found = HashMap::new();
    let (Some(&low), Some(&high)) = (seqs.iter().min(), seqs.iter().max()) else {
        return Ok(found);
    };
    if high.saturating_sub(low) <= 2 * seqs.len() as i64 {
        for r in tx.query(
            "SELECT status, code, reason, digest, seq FROM receipt \
             WHERE replica_id = ?1 AND seq BETWEEN ?2 AND ?3",
            &[replica.into(), low.into(), high.into()],
        )? {
            if let Some(seq) = col_int(&r, 4) {
                found.insert(seq, receipt_of(&r));
            }
        }
        return Ok(found);
    }
    for &seq in seqs {
        if let Some(r) = tx.query_opt(
            "SELECT status, code, reason, digest FROM receipt WHERE replica_id = ?1 AND seq = ?2",
            &[replica.into(), seq.into()],
        )? {
            found.insert(seq, receipt_of(&r));
        }
    }
    Ok(found)
}

/// Receipt rows per multi-row insert (6 parameters each, far below every backend's limit).
const INSERT_CHUNK: usize = 50;

/// Records what the replica was answered for each `(seq, verdict, digest)`, in the
/// transaction that applied them: one multi-row insert per `INSERT_CHUNK`, not a round trip each.
pub(super) fn record_all(
    tx: &mut dyn Tx,
    replica: &str,
    answered: &[(i64, Verdict, &str)],
) -> Result<()> {
    for chunk in answered.chunks(INSERT_CHUNK) {
        let mut sql = String::from(
            "INSERT INTO receipt (replica_id, seq, status, code, reason, digest) VALUES ",
        );
        let mut params = Vec::with_capacity(chunk.len() * 6);
        for (i, (seq, verdict, digest)) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            let n = i * 6;
            sql.push_str(&format!(
                "(?{}, ?{}, ?{}, ?{}, ?{}, ?{})",
                n + 1,
                n + 2,
                n + 3,
                n + 4,
                n + 5,
                n + 6
            ));
            params.extend([
                replica.into(),
                (*seq).into(),
                status_text(verdict.status).into(),
                verdict.code.clone().into(),
                verdict.reason.clone().into(),
                (*digest).into(),
            ]);
        }
        tx.exec(&sql, &params)?;
    }
    Ok(())
}
