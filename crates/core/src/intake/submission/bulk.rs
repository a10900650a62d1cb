//! The state a bulk import carries between registrations so that a million rows go in fast.

use super::CleanRegistration;
use crate::error::Result;
use crate::hlc::Hlc;
use crate::store::deferred_indexes::search_deferred;
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
///   commits, since opening the store elsewhere may have rebuilt the index meanwhile.
pub struct Bulk {
    stamps: Option<HlcSequence>,
    ids: uuid::ContextV7,
    filter: Option<Vec<u64>>,
    data_version: i64,
    search: bool,
}

/// The Bloom filter's size: 2^27 bits, 16 MiB. With four probes per key it answers "maybe" for
/// an unseen key about once in 20,000 at three million keys, once in 250 at ten million.
const FILTER_BYTES: usize = 1 << 24;
const FILTER_PROBES: u64 = 4;

/// The kinds of keys the filter tells apart.
#[derive(Clone, Copy)]
pub(super) enum Key {
    Email,
    Phone,
    Submission,
}

impl Bulk {
    /// Fills the filter from the database's existing leads and registrations.
    pub fn new(conn: &Connection) -> Result<Bulk> {
        let data_version = data_version(conn)?;
        let mut bulk = Bulk {
            stamps: None,
            ids: uuid::ContextV7::new(),
            filter: Some(vec![0u64; FILTER_BYTES / 8]),
            data_version,
            search: !search_deferred(conn)?,
        };
        for (kind, sql) in [
            (Key::Email, "SELECT email FROM lead WHERE email IS NOT NULL"),
            (Key::Phone, "SELECT phone FROM lead WHERE phone IS NOT NULL"),
            (
                Key::Submission,
                "SELECT submission_id FROM registration WHERE submission_id IS NOT NULL",
            ),
        ] {
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

    /// Call at the start of each transaction: forgets the filter if another connection wrote.
    pub fn begin(&mut self, conn: &Connection) -> Result<()> {
        let version = data_version(conn)?;
        if version != self.data_version {
            self.filter = None;
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

    pub(super) fn new_id(&self, at: DateTime<Utc>) -> String {
        let ts = uuid::Timestamp::from_unix(
            &self.ids,
            at.timestamp() as u64,
            at.timestamp_subsec_nanos(),
        );
        uuid::Uuid::new_v7(ts).to_string()
    }

    pub(super) fn remember(&mut self, reg: &CleanRegistration) {
        self.add(Key::Submission, &reg.submission_key);
        if let Some(email) = &reg.details.email {
            self.add(Key::Email, email);
        }
        if let Some(phone) = &reg.details.phone {
            self.add(Key::Phone, phone);
        }
    }

    pub(super) fn probes(kind: Key, value: &str) -> impl Iterator<Item = usize> {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (kind as u8).hash(&mut hasher);
        value.hash(&mut hasher);
        let h = hasher.finish();
        let (h1, h2) = (h & 0xffff_ffff, (h >> 32) | 1);
        let bits = (FILTER_BYTES * 8) as u64;
        (0..FILTER_PROBES).map(move |i| (h1.wrapping_add(i.wrapping_mul(h2)) % bits) as usize)
    }

    pub(super) fn add(&mut self, kind: Key, value: &str) {
        if let Some(filter) = &mut self.filter {
            for bit in Bulk::probes(kind, value) {
                filter[bit / 64] |= 1 << (bit % 64);
            }
        }
    }

    pub(super) fn may_exist(&self, kind: Key, value: &str) -> bool {
        match &self.filter {
            Some(filter) => {
                Bulk::probes(kind, value).all(|bit| filter[bit / 64] & (1 << (bit % 64)) != 0)
            }
            None => true,
        }
    }
}

/// Changes whenever another connection commits to the database.
fn data_version(conn: &Connection) -> Result<i64> {
    Ok(conn.query_row("PRAGMA data_version", [], |r| r.get(0))?)
}
