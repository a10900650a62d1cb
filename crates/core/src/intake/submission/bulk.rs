//! The state a bulk import carries between registrations so that a million rows go in fast.

use super::held_keys::{key_hash, HashFn, HeldKeys};
use super::{CleanRegistration, Key};
use crate::error::Result;
use crate::hlc::Hlc;
use crate::people::registration;
use crate::store::deferred_indexes::{build_now, search_deferred};
use crate::store::settings::HlcSequence;
use chrono::{DateTime, Utc};
use rusqlite::Connection;

/// What a bulk writer keeps from one registration to the next.
///
/// - Clock stamps come from an `HlcSequence`: the settings are read once per transaction and
///   written once at `finish`, not read and written for every new lead.
/// - Ids are UUIDv7 from one monotonic context, so the rows of an import append to the primary
///   key indexes (and to `registration_by_lead`) instead of landing on random pages of them.
/// - A Bloom filter holds every email, phone and submission key that may exist: those in the
///   database when the import began and those it recorded since. A key the filter has never
///   seen cannot exist, so its lookup is skipped; a false positive only costs the lookup. Its
///   size is fixed (`FILTER_BYTES`), so memory stays flat however large the file. When another
///   connection commits between batches (`PRAGMA data_version` moves), the filter no longer
///   proves anything and every key is looked up from then on.
/// - While a bulk load has the full-text index set aside (`deferred_indexes::search_deferred`),
///   new leads go in without their entries; it is read again whenever another connection
///   commits, since a load that could not take its `LoadLock` (a folder where the lock file
///   cannot be made) may have been finished by a store opened elsewhere meanwhile.
/// - A large import (`with_held_keys`) has `LOOKUP_INDEXES` set aside and finds leads by email
///   and phone, and registrations by submission key, in memory (`HeldKeys`); it needs no filter.
///   When another connection commits, its rows are not in the table: the indexes are built there
///   and then, in the import's transaction, and every lookup goes through them from then on.
/// - Every other bulk writer builds the submission index and the intake-rule trigger first if a
///   large import has them set aside (`registration::ensure_write_rules`), once per transaction.
pub struct Bulk {
    stamps: Option<HlcSequence>,
    ids: uuid::ContextV7,
    filter: Option<Vec<u64>>,
    keys: Option<HeldKeys>,
    data_version: i64,
    search: bool,
    texts: registration::TextIds,
}

/// The indexes a large import sets aside because `Bulk` answers their lookups from memory.
pub const LOOKUP_INDEXES: &[&str] = &[
    "lead_by_email",
    "lead_by_phone",
    registration::SUBMISSION_INDEX,
];

/// The Bloom filter's size: 2^27 bits, 16 MiB. With four probes per key it answers "maybe" for
/// an unseen key about once in 20,000 at three million keys, once in 250 at ten million.
const FILTER_BYTES: usize = 1 << 24;
const FILTER_PROBES: u64 = 4;

impl Bulk {
    /// Fills the filter from the database's existing leads and registrations.
    pub fn new(conn: &Connection) -> Result<Bulk> {
        Bulk::build(conn, None, key_hash)
    }

    /// For an import that set `LOOKUP_INDEXES` aside and expects about `rows` rows: the leads'
    /// emails and phones and the registrations' submission keys go into a table sized for them
    /// and the rows' (two keys a lead at most, one a registration).
    pub fn with_held_keys(conn: &Connection, rows: usize) -> Result<Bulk> {
        Bulk::build(conn, Some(rows), key_hash)
    }

    /// `with_held_keys` with another hash (tests make values collide).
    #[cfg(test)]
    pub(super) fn with_held_keys_hashed(
        conn: &Connection,
        rows: usize,
        hash: HashFn,
    ) -> Result<Bulk> {
        Bulk::build(conn, Some(rows), hash)
    }

    fn build(conn: &Connection, rows: Option<usize>, hash: HashFn) -> Result<Bulk> {
        let data_version = data_version(conn)?;
        let keys = match rows {
            Some(rows) => {
                let count = |table: &str| -> Result<usize> {
                    let sql = format!("SELECT count(*) FROM {table}");
                    Ok(conn.query_row(&sql, [], |r| r.get::<_, i64>(0))? as usize)
                };
                let held = 2 * (rows + count("lead")?) + rows + count("registration")?;
                let mut keys = HeldKeys::with_capacity(held, hash);
                keys.fill(conn)?;
                Some(keys)
            }
            None => None,
        };
        let mut bulk = Bulk {
            stamps: None,
            ids: uuid::ContextV7::new(),
            filter: keys.is_none().then(|| vec![0u64; FILTER_BYTES / 8]),
            keys,
            data_version,
            search: !search_deferred(conn)?,
            texts: registration::TextIds::default(),
        };
        let in_filter: &[(Key, &str)] = &[
            (Key::Email, "SELECT email FROM lead WHERE email IS NOT NULL"),
            (Key::Phone, "SELECT phone FROM lead WHERE phone IS NOT NULL"),
            (
                Key::Submission,
                "SELECT submission_id FROM registration WHERE submission_id IS NOT NULL",
            ),
        ];
        // A large import's keys are all in `keys`: no filter to fill.
        let in_filter = if bulk.filter.is_some() {
            in_filter
        } else {
            &[]
        };
        for &(kind, sql) in in_filter {
            let mut stmt = conn.prepare(sql)?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                let value = row.get_ref(0)?;
                if let Ok(text) = value.as_str() {
                    bulk.add(kind, text);
                }
            }
        }
        Ok(bulk)
    }

    /// Call at the start of each transaction: forgets the text ids of the last one, and the filter
    /// if another connection wrote.
    pub fn begin(&mut self, conn: &Connection) -> Result<()> {
        self.texts.clear();
        if self.keys.is_none() {
            registration::ensure_write_rules(conn)?;
        }
        let version = data_version(conn)?;
        if version != self.data_version {
            self.filter = None;
            if self.keys.take().is_some() {
                // A rule may have come with that commit (`import::deferral`).
                build_now(
                    conn,
                    &[LOOKUP_INDEXES, &[registration::RULE_TRIGGER]].concat(),
                )?;
            }
            self.data_version = version;
            self.search = !search_deferred(conn)?;
        }
        Ok(())
    }

    /// Call before committing: writes back the last clock stamp handed out.
    pub fn finish(&mut self, conn: &Connection) -> Result<()> {
        if let Some(mut stamps) = self.stamps.take() {
            stamps.finish(conn)?;
        }
        Ok(())
    }

    pub(super) fn stamp(&mut self, conn: &Connection, now: DateTime<Utc>) -> Result<Hlc> {
        let stamps = match &mut self.stamps {
            Some(s) => s,
            none => none.insert(HlcSequence::begin(conn)?),
        };
        Ok(stamps.next(now))
    }

    /// Whether new leads get their full-text entries now (else the bulk load's end builds them).
    pub(super) fn search(&self) -> bool {
        self.search
    }

    /// The browser and referrer texts' ids known in this transaction.
    pub(super) fn texts(&mut self) -> &mut registration::TextIds {
        &mut self.texts
    }

    pub(super) fn new_id(&self, at: DateTime<Utc>) -> String {
        let ts = uuid::Timestamp::from_unix(
            &self.ids,
            at.timestamp() as u64,
            at.timestamp_subsec_nanos(),
        );
        uuid::Uuid::new_v7(ts).to_string()
    }

    pub(super) fn remember(&mut self, reg: &CleanRegistration) {
        if self.keys.is_some() {
            return;
        }
        self.add(Key::Submission, &reg.submission_key);
        if let Some(email) = &reg.details.email {
            self.add(Key::Email, email);
        }
        if let Some(phone) = &reg.details.phone {
            self.add(Key::Phone, phone);
        }
    }

    /// Notes the submission key of a registration the import recorded (at `rowid`).
    pub(super) fn registered(&mut self, conn: &Connection, key: &str, rowid: i64) -> Result<()> {
        if let Some(keys) = &mut self.keys {
            keys.note(conn, Key::Submission, key, rowid)?;
        }
        Ok(())
    }

    /// Whether a registration with this submission key is recorded: from memory while the import
    /// holds the table, else through the index unless the filter proves there is none.
    pub(super) fn submission_seen(&self, conn: &Connection, key: &str) -> Result<bool> {
        match &self.keys {
            Some(keys) => Ok(keys.find(conn, Key::Submission, key)?.is_some()),
            None if self.may_exist(Key::Submission, key) => super::submission_seen(conn, key),
            None => Ok(false),
        }
    }

    /// Notes the email and phone of a lead the import created (at `rowid`).
    pub(super) fn created(
        &mut self,
        conn: &Connection,
        rowid: i64,
        reg: &CleanRegistration,
    ) -> Result<()> {
        if let Some(keys) = &mut self.keys {
            if let Some(email) = &reg.details.email {
                keys.note(conn, Key::Email, email, rowid)?;
            }
            if let Some(phone) = &reg.details.phone {
                keys.note(conn, Key::Phone, phone, rowid)?;
            }
        }
        Ok(())
    }

    /// Notes an email or phone a merge filled in on lead `lead_id`.
    pub(super) fn filled(
        &mut self,
        conn: &Connection,
        lead_id: &str,
        kind: Key,
        value: &str,
    ) -> Result<()> {
        if let Some(keys) = &mut self.keys {
            let rowid: i64 = conn
                .prepare_cached("SELECT rowid FROM lead WHERE id = ?1")?
                .query_row([lead_id], |r| r.get(0))?;
            keys.note(conn, kind, value, rowid)?;
        }
        Ok(())
    }

    /// The oldest lead with this email or phone: from memory while the import holds the table,
    /// else through the index unless the filter proves there is none.
    pub(super) fn lead_by(
        &self,
        conn: &Connection,
        kind: Key,
        value: &str,
    ) -> Result<Option<String>> {
        match &self.keys {
            Some(keys) => keys.find(conn, kind, value),
            None if self.may_exist(kind, value) => super::lead_by(conn, kind, value),
            None => Ok(None),
        }
    }

    pub(super) fn probes(kind: Key, value: &str, bits: u64) -> impl Iterator<Item = usize> {
        let h = key_hash(kind, value);
        let (h1, h2) = (h & 0xffff_ffff, (h >> 32) | 1);
        (0..FILTER_PROBES).map(move |i| (h1.wrapping_add(i.wrapping_mul(h2)) % bits) as usize)
    }

    pub(super) fn add(&mut self, kind: Key, value: &str) {
        if let Some(filter) = &mut self.filter {
            let bits = filter.len() as u64 * 64;
            for bit in Bulk::probes(kind, value, bits) {
                filter[bit / 64] |= 1 << (bit % 64);
            }
        }
    }

    pub(super) fn may_exist(&self, kind: Key, value: &str) -> bool {
        match &self.filter {
            Some(filter) => {
                let bits = filter.len() as u64 * 64;
                Bulk::probes(kind, value, bits).all(|bit| filter[bit / 64] & (1 << (bit % 64)) != 0)
            }
            None => true,
        }
    }
}

/// Changes whenever another connection commits to the database.
fn data_version(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("PRAGMA data_version", [], |r| r.get(0))?)
}
