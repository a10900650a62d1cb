//! The server's suppression list: keyed hashes of erased people's emails and phones, each with
//! the scope it applies in (docs/SYNC.md, "Threat model").
//!
//! Emails are hashed with the deployment key every replica holds, so replicas can check them
//! offline. Phones are hashed with a second key that never leaves the server, because phone
//! numbers are few enough to enumerate: a rep holding the deployment key could recover every
//! erased number from its hash. Phone hashes are therefore checked here only (intake and push).

use crate::changelog::GLOBAL;
use crate::error::Result;
use crate::normalize;
use crate::store::{col_text, Tx};
use crate::time_text;
use chrono::{DateTime, Utc};
use rand::Rng;
use switchboard_protocol::{SuppressionHash, SuppressionKind};

/// The scope of a hash the server computed from data it held: every office.
pub const EVERYWHERE: &str = GLOBAL;

const PHONE_KEY: &str = "phone_suppression_key";

/// The server-only key phones are hashed with: made on first use, kept in `meta` (a store
/// that leaks it has leaked the personal data it protects already).
pub fn phone_key(tx: &mut dyn Tx) -> Result<Vec<u8>> {
    let read = |tx: &mut dyn Tx| -> Result<Option<Vec<u8>>> {
        Ok(tx
            .query_opt("SELECT value FROM meta WHERE key = ?1", &[PHONE_KEY.into()])?
            .and_then(|r| col_text(&r, 0))
            .and_then(|hex_key| hex::decode(hex_key).ok()))
    };
    if let Some(key) = read(tx)? {
        return Ok(key);
    }
    let mut bytes = [0u8; 32];
    rand::rand_core::UnwrapErr(rand::rngs::SysRng).fill_bytes(&mut bytes);
    tx.exec(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING",
        &[PHONE_KEY.into(), hex::encode(bytes).into()],
    )?;
    Ok(read(tx)?.unwrap_or_else(|| bytes.to_vec()))
}

/// The hash the server records for a normalised address it holds: emails with the deployment
/// key (replicas learn them), phones with the server-only key (they stay here).
pub fn server_hash(
    tx: &mut dyn Tx,
    deployment_key: &[u8],
    kind: SuppressionKind,
    normalised: &str,
) -> Result<SuppressionHash> {
    Ok(match kind {
        SuppressionKind::Email => normalize::suppression_hash(deployment_key, kind, normalised),
        SuppressionKind::Phone => normalize::suppression_hash(&phone_key(tx)?, kind, normalised),
    })
}

/// Whether a normalised address is suppressed for a person of `office` (`None`: a person of no
/// office). Phones are looked up under both keys: the server-only one, and the deployment key
/// that erasures recorded before the split and replicas' own hashes use.
pub fn is_suppressed(
    tx: &mut dyn Tx,
    deployment_key: &[u8],
    kind: SuppressionKind,
    normalised: &str,
    office: Option<&str>,
) -> Result<bool> {
    let mut hashes = vec![normalize::suppression_hash(
        deployment_key,
        kind,
        normalised,
    )];
    if kind == SuppressionKind::Phone {
        hashes.push(server_hash(tx, deployment_key, kind, normalised)?);
    }
    let scope = crate::changelog::bucket_of(office);
    for h in hashes {
        if tx
            .query_opt(
                "SELECT 1 FROM suppression WHERE hash = ?1 AND (scope = ?2 OR scope = ?3)",
                &[h.hash.as_str().into(), EVERYWHERE.into(), scope.into()],
            )?
            .is_some()
        {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Records `hashes` in `scope` (idempotent); malformed hashes are skipped.
pub fn record(
    tx: &mut dyn Tx,
    hashes: &[SuppressionHash],
    scope: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    for h in hashes.iter().filter(|h| well_formed(h)) {
        tx.exec(
            "INSERT INTO suppression (hash, kind, scope, created_at) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (hash, scope) DO NOTHING",
            &[
                h.hash.to_ascii_lowercase().into(),
                h.kind.as_str().into(),
                scope.into(),
                time_text(now).into(),
            ],
        )?;
    }
    Ok(())
}

/// A hex HMAC-SHA256.
pub fn well_formed(h: &SuppressionHash) -> bool {
    h.hash.len() == 64 && h.hash.bytes().all(|b| b.is_ascii_hexdigit())
}
