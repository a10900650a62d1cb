//! Which lead holds an email or a phone, and which registration a submission key, answered from
//! memory while a large import has their indexes set aside (`import::deferral`).
//!
//! At a million leads `lead_by_email`, `lead_by_phone` and the submission index take each new
//! row on a random page, outgrow the page cache, and every batch's commit wrote their pages into
//! the WAL again. The import's own dedup is their only reader meanwhile, so it asks this table
//! instead: a 32-bit hash of the kind and the value (the kind in its top two bits) to the rowid
//! of the row that holds it (for a lead, the oldest: the one `lead_by` finds through the index).
//! One open-addressed table of 8-byte slots (the hash, and the rowid in 32 bits), sized once
//! from the rows the import expects, so no allocation per key: 32 MB at a million rows, three
//! million keys. A hash is not the value: a hit is confirmed against the row, and a value whose
//! hash a different value of its kind took first is kept by its text beside the table
//! (`clashes`: a few thousand of three million keys, each costing one more row read), as is a
//! value of a row whose rowid needs more than 32 bits.

use super::Key;
use crate::error::Result;
use rusqlite::{Connection, OptionalExtension};
use std::collections::HashMap;

/// Hashes a kind and a value; a parameter so that tests can make every value collide.
pub(super) type HashFn = fn(Key, &str) -> u64;

pub(super) struct HeldKeys {
    /// The slots' hashes; 0 marks an empty slot (a real hash of 0 is stored as 1).
    hashes: Vec<u32>,
    rowids: Vec<u32>,
    used: usize,
    /// By kind, the values whose hash a different value holds in the slots, or whose lead's
    /// rowid does not fit a slot.
    clashes: [HashMap<String, i64>; 3],
    hash: HashFn,
}

/// Slots per key at the largest: linear probing stays short (a miss, the common case in an
/// import, reads about 8 hashes, one or two cache lines, at three quarters full).
const LOAD_NUM: usize = 3;
const LOAD_DEN: usize = 4;

/// The hash of a key: foldhash, several times faster than the standard library's SipHash on
/// keys of 10–40 bytes (SipHash took 2 % of a million-row import's writer). Its seed is fixed:
/// nothing here needs the hash to be secret, since keys that collide only cost lookups
/// (`clashes`), never a wrong answer.
pub(super) fn key_hash(kind: Key, value: &str) -> u64 {
    use std::hash::{BuildHasher, Hash, Hasher};
    let mut hasher = foldhash::quality::FixedState::with_seed(KEY_HASH_SEED).build_hasher();
    (kind as u8).hash(&mut hasher);
    value.hash(&mut hasher);
    hasher.finish()
}

const KEY_HASH_SEED: u64 = 0x5357_4254_4b45_5953;

impl HeldKeys {
    /// An empty table with room for `keys` keys before it grows.
    pub(super) fn with_capacity(keys: usize, hash: HashFn) -> HeldKeys {
        let slots = (keys * LOAD_DEN / LOAD_NUM).max(64);
        HeldKeys {
            hashes: vec![0; slots],
            rowids: vec![0; slots],
            used: 0,
            clashes: Default::default(),
            hash,
        }
    }

    /// Notes every email and phone of the leads in the database, and every submission key of its
    /// registrations.
    pub(super) fn fill(&mut self, conn: &Connection) -> Result<()> {
        let mut stmt = conn.prepare("SELECT rowid, email, phone FROM lead")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let rowid: i64 = row.get(0)?;
            for (kind, column) in [(Key::Email, 1), (Key::Phone, 2)] {
                if let Ok(value) = row.get_ref(column)?.as_str() {
                    self.note(conn, kind, value, rowid)?;
                }
            }
        }
        let mut stmt = conn.prepare(
            "SELECT rowid, submission_id FROM registration WHERE submission_id NOT NULL",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            if let Ok(value) = row.get_ref(1)?.as_str() {
                self.note(conn, Key::Submission, value, row.get(0)?)?;
            }
        }
        Ok(())
    }

    /// The id of the row holding `value`: for an email or a phone the oldest lead, as `lead_by`
    /// would find it; for a submission key its registration.
    pub(super) fn find(&self, conn: &Connection, kind: Key, value: &str) -> Result<Option<String>> {
        let rowid = match self.clashes[kind as usize].get(value) {
            Some(&rowid) => rowid,
            None => match self.probe(self.hash_of(kind, value)) {
                Ok(i) => i64::from(self.rowids[i]),
                Err(_) => return Ok(None),
            },
        };
        let (id, held) = holder(conn, kind, rowid)?;
        Ok((held.as_deref() == Some(value)).then_some(id))
    }

    /// Notes that the row at `rowid` holds `value` now (a lead created with it or given it by a
    /// merge, a registration recorded with it); an older lead holding it keeps the slot.
    pub(super) fn note(
        &mut self,
        conn: &Connection,
        kind: Key,
        value: &str,
        rowid: i64,
    ) -> Result<()> {
        if let Some(held) = self.clashes[kind as usize].get_mut(value) {
            if takes_over(conn, kind, rowid, *held)? {
                *held = rowid;
            }
            return Ok(());
        }
        let hash = self.hash_of(kind, value);
        let fits = u32::try_from(rowid);
        let slot = match self.probe(hash) {
            Err(empty) => {
                if let Ok(small) = fits {
                    (self.hashes[empty], self.rowids[empty]) = (hash, small);
                    self.used += 1;
                    if self.used * LOAD_DEN > self.hashes.len() * LOAD_NUM {
                        self.grow();
                    }
                    return Ok(());
                }
                None
            }
            Ok(i) => Some(i),
        };
        if let Some(i) = slot {
            let held = i64::from(self.rowids[i]);
            if holder(conn, kind, held)?.1.as_deref() == Some(value) {
                if held != rowid && takes_over(conn, kind, rowid, held)? {
                    match fits {
                        Ok(small) => self.rowids[i] = small,
                        // Beside the table, where `find` looks first.
                        Err(_) => {
                            self.clashes[kind as usize].insert(value.to_string(), rowid);
                        }
                    }
                }
                return Ok(());
            }
        }
        self.clashes[kind as usize].insert(value.to_string(), rowid);
        Ok(())
    }

    /// The slot hash: the kind in the top two bits, both halves of the 64-bit hash folded into
    /// the other 30, never 0. A slot so only ever answers for its own kind: a phone must not be
    /// confirmed against the lead of an email slot whose hash it shares (a merge giving an older
    /// lead that phone then moved the slot, and the email's lead was lost), nor a submission key
    /// against a lead's rowid read as a registration's.
    fn hash_of(&self, kind: Key, value: &str) -> u32 {
        let h = (self.hash)(kind, value);
        let folded = (h ^ (h >> 32)) as u32 & 0x3fff_ffff;
        (folded | (kind as u32) << 30).max(1)
    }

    /// The slot holding `hash`, or the empty slot where it would go.
    fn probe(&self, hash: u32) -> std::result::Result<usize, usize> {
        let n = self.hashes.len();
        let mut i = ((u64::from(hash) * n as u64) >> 32) as usize;
        loop {
            match self.hashes[i] {
                0 => return Err(i),
                h if h == hash => return Ok(i),
                _ => i = if i + 1 == n { 0 } else { i + 1 },
            }
        }
    }

    fn grow(&mut self) {
        let slots = self.hashes.len() * 2;
        let hashes = std::mem::replace(&mut self.hashes, vec![0; slots]);
        let rowids = std::mem::replace(&mut self.rowids, vec![0; slots]);
        for (hash, rowid) in hashes.into_iter().zip(rowids).filter(|(h, _)| *h != 0) {
            if let Err(i) = self.probe(hash) {
                (self.hashes[i], self.rowids[i]) = (hash, rowid);
            }
        }
    }
}

/// The id of the lead (or for a submission key, the registration) at `rowid`, and its value of
/// `kind`.
fn holder(conn: &Connection, kind: Key, rowid: i64) -> Result<(String, Option<String>)> {
    let sql = match kind {
        Key::Email => "SELECT id, email FROM lead WHERE rowid = ?1",
        Key::Phone => "SELECT id, phone FROM lead WHERE rowid = ?1",
        Key::Submission => "SELECT id, submission_id FROM registration WHERE rowid = ?1",
    };
    Ok(conn
        .prepare_cached(sql)?
        .query_row([rowid], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?
        .unwrap_or_default())
}

/// Whether the row at `a` holds a value of `kind` in place of the row at `b`: for an email or a
/// phone, when lead `a` comes before lead `b` in `lead_by`'s order (created_at, then id); never
/// for a submission key, which one registration holds.
fn takes_over(conn: &Connection, kind: Key, a: i64, b: i64) -> Result<bool> {
    if kind == Key::Submission {
        return Ok(false);
    }
    let mut stmt = conn.prepare_cached("SELECT created_at, id FROM lead WHERE rowid = ?1")?;
    let mut order = |rowid: i64| -> Result<Option<(String, String)>> {
        Ok(stmt
            .query_row([rowid], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    };
    let (a, b) = (order(a)?, order(b)?);
    Ok(match (a, b) {
        (Some(a), Some(b)) => a < b,
        (Some(_), None) => true,
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FixedClock, Store};
    use chrono::{TimeZone, Utc};
    use std::sync::Arc;

    fn store() -> Store {
        let at = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
        Store::open_in_memory(Arc::new(FixedClock::at(at))).unwrap()
    }

    /// A lead row with the columns `HeldKeys` reads; returns its rowid.
    fn lead(s: &Store, id: &str, created: &str, email: Option<&str>, phone: Option<&str>) -> i64 {
        s.conn()
            .execute(
                "INSERT INTO lead (id, email, phone, created_at) VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![id, email, phone, created],
            )
            .unwrap();
        s.conn().last_insert_rowid()
    }

    fn same_hash(_: Key, _: &str) -> u64 {
        42
    }

    #[test]
    fn values_that_share_a_hash_are_told_apart_by_the_lead_row() {
        let s = store();
        let conn = s.conn();
        let mut keys = HeldKeys::with_capacity(4, same_hash);
        let ann = lead(
            &s,
            "a",
            "2026-03-01T00:00:00Z",
            Some("ann@x.org"),
            Some("+4930111"),
        );
        keys.note(conn, Key::Email, "ann@x.org", ann).unwrap();
        // Bob's email has Ann's hash: the slot's lead does not hold it, so there is no lead.
        assert_eq!(keys.find(conn, Key::Email, "bob@x.org").unwrap(), None);
        let bob = lead(&s, "b", "2026-03-01T00:00:00Z", Some("bob@x.org"), None);
        keys.note(conn, Key::Email, "bob@x.org", bob).unwrap();
        keys.note(conn, Key::Phone, "+4930111", ann).unwrap();
        let find = |keys: &HeldKeys, kind, value| keys.find(conn, kind, value).unwrap();
        assert_eq!(find(&keys, Key::Email, "ann@x.org").as_deref(), Some("a"));
        assert_eq!(find(&keys, Key::Email, "bob@x.org").as_deref(), Some("b"));
        assert_eq!(find(&keys, Key::Phone, "+4930111").as_deref(), Some("a"));
        assert_eq!(find(&keys, Key::Email, "cat@x.org"), None);
        assert_eq!(find(&keys, Key::Phone, "+4930222"), None);
        // An older lead with a clashing value takes its place from the newer one.
        let older = lead(&s, "0", "2026-02-01T00:00:00Z", Some("bob@x.org"), None);
        keys.note(conn, Key::Email, "bob@x.org", older).unwrap();
        assert_eq!(find(&keys, Key::Email, "bob@x.org").as_deref(), Some("0"));
        assert_eq!(find(&keys, Key::Email, "ann@x.org").as_deref(), Some("a"));
    }

    #[test]
    fn the_oldest_lead_holds_a_value_as_lead_by_finds_it_and_the_table_grows() {
        let s = store();
        let conn = s.conn();
        let mut keys = HeldKeys::with_capacity(1, key_hash);
        let newer = lead(&s, "n", "2026-03-01T00:00:00Z", None, Some("+4930111"));
        let same_time_smaller_id = lead(&s, "m", "2026-03-01T00:00:00Z", None, Some("+4930111"));
        keys.note(conn, Key::Phone, "+4930111", newer).unwrap();
        keys.note(conn, Key::Phone, "+4930111", same_time_smaller_id)
            .unwrap();
        assert_eq!(
            keys.find(conn, Key::Phone, "+4930111").unwrap().as_deref(),
            Some("m")
        );
        for i in 0..500 {
            let email = format!("p{i}@x.org");
            let rowid = lead(
                &s,
                &format!("p{i}"),
                "2026-03-01T00:00:00Z",
                Some(&email),
                None,
            );
            keys.note(conn, Key::Email, &email, rowid).unwrap();
        }
        assert!(keys.hashes.len() >= 500 * LOAD_DEN / LOAD_NUM);
        for i in 0..500 {
            let id = keys.find(conn, Key::Email, &format!("p{i}@x.org")).unwrap();
            assert_eq!(id, Some(format!("p{i}")));
        }
        // A rowid beyond 32 bits is kept beside the table.
        s.conn()
            .execute(
                "INSERT INTO lead (rowid, id, email, created_at)
                 VALUES (8589934592, 'big', 'big@x.org', '2026-03-01T00:00:00Z')",
                [],
            )
            .unwrap();
        keys.note(conn, Key::Email, "big@x.org", 8_589_934_592)
            .unwrap();
        assert_eq!(
            keys.find(conn, Key::Email, "big@x.org").unwrap().as_deref(),
            Some("big")
        );
        // The same value as a phone is another key.
        assert_eq!(keys.find(conn, Key::Phone, "p1@x.org").unwrap(), None);
        let mut filled = HeldKeys::with_capacity(1, key_hash);
        filled.fill(conn).unwrap();
        assert_eq!(
            filled
                .find(conn, Key::Phone, "+4930111")
                .unwrap()
                .as_deref(),
            Some("m")
        );
        assert_eq!(
            filled
                .find(conn, Key::Email, "p7@x.org")
                .unwrap()
                .as_deref(),
            Some("p7")
        );
    }
}
