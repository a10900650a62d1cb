//! Applying pushed operations: authorization, erasure, clock merge, office moves.
//!
//! A push is applied in one write transaction, each operation together with its receipt
//! `(replica_id, seq, digest)`, so a push cut anywhere can be resent whole: what was applied
//! answers `duplicate`, and a known key with other content refuses the push (`replica_reused`).
//! Every rejection is decided before anything is written.
//!
//! The parts: `receipts` (what each key was answered), `authorize` (what may be applied, by
//! whom, in which office), `apply` (one operation), `fields` (field groups, last-writer-wins,
//! office moves), `records` (append-only records) and `erase` (erasures and suppression).

mod apply;
mod authorize;
mod cadence;
mod erase;
mod fields;
mod receipts;
mod records;

pub use apply::apply;
pub use cadence::{enrol_by_rules, note_replica};
pub use erase::{erase, SERVER_AUTHOR};
pub use fields::{clamp_hlc, CLOCK_TOLERANCE_MS};
pub use receipts::op_digest;
pub(crate) use records::add_record;

use crate::accounts::Actor;
use crate::error::{Result, ServerError};
use crate::store::{self, Store};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use switchboard_protocol::*;

/// Most operations one push may carry (the shared limit replicas fill their batches to).
pub const MAX_OPS: usize = limits::MAX_PUSH_OPS;

/// What became of one operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    pub status: PushStatus,
    pub code: Option<String>,
    pub reason: Option<String>,
}

impl Verdict {
    fn applied() -> Verdict {
        Verdict {
            status: PushStatus::Applied,
            code: None,
            reason: None,
        }
    }

    fn noted(code: &str, reason: impl Into<String>) -> Verdict {
        Verdict {
            status: PushStatus::Applied,
            code: Some(code.into()),
            reason: Some(reason.into()),
        }
    }

    fn duplicate(reason: impl Into<String>) -> Verdict {
        Verdict {
            status: PushStatus::Duplicate,
            code: Some("already_known".into()),
            reason: Some(reason.into()),
        }
    }

    fn rejected(code: &str, reason: impl Into<String>) -> Verdict {
        Verdict {
            status: PushStatus::Rejected,
            code: Some(code.into()),
            reason: Some(reason.into()),
        }
    }
}

/// The result of a push: the answers, and whether something changed (to wake pullers) or was
/// purged (to scrub the files).
pub struct PushOutcome {
    pub response: PushResponse,
    pub changed: bool,
    pub purged: bool,
    /// The change-log buckets (office codes, `*` for every office, `""` for leads without an
    /// office) the committed push wrote to: the hook for live-change notification, read after
    /// commit (`api::push` wakes pullers there).
    pub buckets: std::collections::BTreeSet<String>,
}

/// Validates the shape of a push before anything is applied.
pub fn check_request(req: &PushRequest) -> Result<()> {
    let id = req.replica_id.trim();
    if id.is_empty() || id.len() > 100 {
        return Err(ServerError::Invalid(
            "replica_id must have 1 to 100 characters".into(),
        ));
    }
    if req.ops.len() > MAX_OPS {
        return Err(ServerError::Invalid(format!(
            "at most {MAX_OPS} operations per push"
        )));
    }
    Ok(())
}

/// Applies a push in one write transaction: each operation and its receipt together, so a
/// push cut anywhere is either wholly applied (a resend answers `duplicate`) or not at all.
/// `key` is the deployment's suppression key, for erasures.
///
/// A key `(replica_id, seq)` answered before is a `duplicate` only when the operation is the
/// one answered then (same digest). Other content under a known key means the replica's
/// sequence went backwards (a backup restored in place, a disk image): the whole push is
/// refused with `replica_reused` before anything is applied, and the replica pushes again under
/// a new id. Answering `duplicate` there would drop the new operations silently.
pub fn push(
    store: &dyn Store,
    actor: &Actor,
    req: &PushRequest,
    now: DateTime<Utc>,
    key: &[u8],
) -> Result<PushOutcome> {
    check_request(req)?;
    let digests: Vec<String> = req.ops.iter().map(|p| op_digest(&p.op)).collect();
    let (results, effects, buckets) = store::write(store, |tx| {
        // Judged by the account as it stands now (`roles::current`), not as it was read
        // when the request was authenticated.
        let actor = &crate::roles::current(tx, actor)?;
        let mut earlier = Vec::with_capacity(req.ops.len());
        let mut in_this_push: HashMap<i64, &str> = HashMap::new();
        let seqs: Vec<i64> = req.ops.iter().map(|p| p.seq).collect();
        let mut known_receipts = receipts::receipts(tx, &req.replica_id, &seqs)?;
        for (pushed, digest) in req.ops.iter().zip(&digests) {
            let known = known_receipts.remove(&pushed.seq);
            let seen = known.as_ref().and_then(|r| r.digest.as_deref());
            let repeated = in_this_push.insert(pushed.seq, digest);
            if seen.or(repeated).is_some_and(|d| d != digest) {
                return Err(receipts::reused(&req.replica_id, pushed.seq));
            }
            earlier.push(known.map(|r| r.verdict));
        }
        cadence::note_replica(tx, &req.replica_id, &actor.user, now)?;
        let mut results = Vec::with_capacity(req.ops.len());
        let mut answered: HashMap<i64, Verdict> = HashMap::new();
        // Receipts are written together after the last operation (nothing in between reads
        // them: a key repeated in this push is answered from `answered`).
        let mut new_receipts: Vec<(i64, Verdict, &str)> = Vec::new();
        let mut all = Effects::default();
        for ((pushed, digest), earlier) in req.ops.iter().zip(&digests).zip(earlier) {
            // A key repeated inside this push (with the same operation) is answered like a
            // resend of the first.
            let earlier = earlier.or_else(|| answered.get(&pushed.seq).cloned());
            let verdict = match earlier {
                Some(earlier) => Verdict {
                    status: PushStatus::Duplicate,
                    ..earlier
                },
                None => {
                    let mut effects = Effects::default();
                    // A change that is this operation unchanged names its origin, so the
                    // pushing replica does not pull it back (`changelog::as_pushed`).
                    let verdict = crate::changelog::as_pushed(
                        &req.replica_id,
                        pushed.seq,
                        &pushed.op,
                        || {
                            apply(
                                tx,
                                actor,
                                &req.replica_id,
                                &pushed.op,
                                now,
                                key,
                                &mut effects,
                            )
                        },
                    )?;
                    new_receipts.push((pushed.seq, verdict.clone(), digest));
                    all.changed |= effects.changed;
                    all.purged |= effects.purged;
                    answered.insert(pushed.seq, verdict.clone());
                    verdict
                }
            };
            results.push(PushResult {
                seq: pushed.seq,
                status: verdict.status,
                code: verdict.code,
                reason: verdict.reason,
            });
        }
        receipts::record_all(tx, &req.replica_id, &new_receipts)?;
        Ok((results, all, tx.changed_buckets()))
    })?;
    if effects.purged {
        store.scrub()?;
    }
    Ok(PushOutcome {
        response: PushResponse { results },
        changed: effects.changed,
        purged: effects.purged,
        buckets,
    })
}

/// Side effects of applying one operation.
#[derive(Debug, Default, Clone, Copy)]
pub struct Effects {
    pub changed: bool,
    pub purged: bool,
}

/// Either what a check lets through, or the verdict refusing the operation.
type Refused<T> = std::result::Result<T, Verdict>;
