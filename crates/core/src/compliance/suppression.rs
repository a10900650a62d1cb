//! Suppression of erased people: keyed hashes (HMAC-SHA256 with the deployment's key) of their
//! normalised email and phone, so a re-import or re-registration is recognised without keeping
//! the personal information itself. The hashing is the domain's (`switchboard_domain`); the list
//! kept in this replica's database is here.

use crate::clock::to_text;
use crate::error::{CoreError, Result};
use crate::store::settings::get_setting;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};

pub use switchboard_domain::suppression::{hash, Identifier};

/// The deployment's suppression key. A standalone database mints its own; a synced replica
/// takes the central store's at login so every replica hashes alike.
pub fn key(conn: &Connection) -> Result<Vec<u8>> {
    let text = get_setting(conn, "suppression_key")?
        .ok_or_else(|| CoreError::NotFound("suppression key missing".into()))?;
    hex::decode(text.trim()).map_err(|_| CoreError::BadInput("suppression key is not hex".into()))
}

/// Adds a hash to the suppression list (idempotent).
pub fn add_hash(
    conn: &Connection,
    identifier: Identifier,
    hash: &str,
    at: DateTime<Utc>,
) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO suppression(hash, kind, created_at) VALUES (?1, ?2, ?3)
         ON CONFLICT(hash) DO NOTHING",
    )?
    .execute(params![hash, identifier.as_str(), to_text(at)])?;
    Ok(())
}

/// Suppresses a normalised identifier; returns the hash that was stored.
pub fn suppress(
    conn: &Connection,
    identifier: Identifier,
    normalised: &str,
    at: DateTime<Utc>,
) -> Result<String> {
    let h = hash(&key(conn)?, identifier, normalised);
    add_hash(conn, identifier, &h, at)?;
    Ok(h)
}

/// Whether a normalised identifier belongs to an erased person.
pub fn is_suppressed(
    conn: &Connection,
    key: &[u8],
    identifier: Identifier,
    normalised: &str,
) -> Result<bool> {
    let h = hash(key, identifier, normalised);
    Ok(conn
        .prepare_cached("SELECT 1 FROM suppression WHERE hash = ?1")?
        .query_row([h], |_| Ok(()))
        .optional()?
        .is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::nine;

    #[test]
    fn suppressed_identifiers_are_recognised_without_being_stored() {
        let at = nine();
        let store = crate::fixtures::store_at(at);
        let conn = store.conn();
        suppress(conn, Identifier::Email, "ann@example.com", at).unwrap();
        let k = key(conn).unwrap();
        assert!(is_suppressed(conn, &k, Identifier::Email, "ann@example.com").unwrap());
        assert!(!is_suppressed(conn, &k, Identifier::Email, "bob@example.com").unwrap());
        assert!(!is_suppressed(conn, &k, Identifier::Phone, "ann@example.com").unwrap());
        let stored: String = conn
            .query_row("SELECT hash FROM suppression", [], |r| r.get(0))
            .unwrap();
        assert!(!stored.contains("ann"));
    }
}
