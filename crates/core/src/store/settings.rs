//! Settings (the `setting` table) and the hybrid-logical-clock stamps kept in it: the lowest layer
//! every record module writes through, so it depends on nothing but the connection.

use crate::error::Result;
use crate::hlc::Hlc;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension};

/// Reads a setting.
pub fn get_setting(conn: &Connection, key: &str) -> Result<Option<String>> {
    // Cached: the clock reads settings on every write, so a bulk import calls this per row.
    Ok(conn
        .prepare_cached("SELECT value FROM setting WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?)
}

/// Writes a setting.
pub fn set_setting(conn: &Connection, key: &str, value: &str) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO setting(key, value) VALUES (?1, ?2)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    )?
    .execute([key, value])?;
    Ok(())
}

/// Removes a setting.
pub fn delete_setting(conn: &Connection, key: &str) -> Result<()> {
    conn.prepare_cached("DELETE FROM setting WHERE key = ?1")?
        .execute([key])?;
    Ok(())
}

/// Removes every setting whose key starts with `prefix` (compared exactly: `_` and `%` are
/// not wildcards here, as they would be to LIKE).
pub fn delete_settings_starting_with(conn: &Connection, prefix: &str) -> Result<()> {
    conn.prepare_cached("DELETE FROM setting WHERE substr(key, 1, ?2) = ?1")?
        .execute(rusqlite::params![prefix, prefix.chars().count()])?;
    Ok(())
}

/// The next hybrid-logical-clock stamp for a local write, remembered so stamps only grow.
pub fn next_hlc(conn: &Connection, now: DateTime<Utc>) -> Result<Hlc> {
    let node = get_setting(conn, "replica_id")?.unwrap_or_default();
    let last = get_setting(conn, "hlc_last")?.and_then(|t| Hlc::parse(&t));
    let stamp = Hlc::tick(last.as_ref(), now, &node);
    set_setting(conn, "hlc_last", &stamp.to_string())?;
    Ok(stamp)
}

/// Stamps for many local writes in one transaction, read from the settings once and written back
/// once (`finish`) instead of a read and a write per stamp. Stamps still only grow and are
/// unique: inside a write transaction no other connection can stamp. Anything in the same
/// transaction that stamps through `next_hlc` must come after `finish` and before a new `begin`.
pub struct HlcSequence {
    node: String,
    last: Option<Hlc>,
    taken: bool,
}

impl HlcSequence {
    /// Reads the replica id and the last stamp.
    pub fn begin(conn: &Connection) -> Result<HlcSequence> {
        Ok(HlcSequence {
            node: get_setting(conn, "replica_id")?.unwrap_or_default(),
            last: get_setting(conn, "hlc_last")?.and_then(|t| Hlc::parse(&t)),
            taken: false,
        })
    }

    /// The next stamp at wall time `now`.
    pub fn next(&mut self, now: DateTime<Utc>) -> Hlc {
        let stamp = Hlc::tick(self.last.as_ref(), now, &self.node);
        self.last = Some(stamp.clone());
        self.taken = true;
        stamp
    }

    /// Remembers the last stamp handed out, so later stamps sort after it.
    pub fn finish(&mut self, conn: &Connection) -> Result<()> {
        if let (true, Some(last)) = (self.taken, &self.last) {
            set_setting(conn, "hlc_last", &last.to_string())?;
            self.taken = false;
        }
        Ok(())
    }
}

/// Records that a stamp from elsewhere was seen, so later local stamps sort after it.
pub fn observe_hlc(conn: &Connection, seen: &Hlc) -> Result<()> {
    let last = get_setting(conn, "hlc_last")?.and_then(|t| Hlc::parse(&t));
    if last.as_ref().is_none_or(|l| seen > l) {
        let mut mine = seen.clone();
        mine.node = get_setting(conn, "replica_id")?.unwrap_or_default();
        set_setting(conn, "hlc_last", &mine.to_string())?;
    }
    Ok(())
}
