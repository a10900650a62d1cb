//! Intake: one website registration becomes a recorded registration attached to a lead.
//!
//! `record` runs inside the caller's transaction and decides, in this order: is the input usable
//! (else `CoreError::BadInput` before anything is written), is the person suppressed (erased
//! earlier: nothing is stored), was this submission recorded before (`Duplicate`), does it belong
//! to a lead we know (`Merged`), or is it a new person (`Created`).

use crate::clock::{new_id, to_text};
use crate::error::{CoreError, Result};
use crate::hlc::Hlc;
use crate::leads::{self, LeadField, NewLead};
use crate::normalize::{normalize_country, single_zone};
use crate::outbox::{self, Entity};
use crate::store::HlcSequence;
use crate::suppression::{self, Identifier};
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use rusqlite::{params, Connection, OptionalExtension};
use sha2::Sha256;
use switchboard_protocol::{limits, RegistrationKind};

pub use switchboard_domain::registration::{identifiers, parse_kind, parse_submitted_at};

/// Two registrations of the same email and kind this close together are one submission sent twice.
pub const DUPLICATE_WINDOW_MINUTES: i64 = 10;

/// How far in the future a submission time may lie (clocks of web servers drift a little).
pub const FUTURE_SKEW_MINUTES: i64 = 5;

/// The prefix of submission keys derived from content for rows that came without an id.
pub const CONTENT_KEY_PREFIX: &str = "content:";

/// One registration as submitted: raw text, not yet validated or normalised.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistrationInput {
    /// The website's id of the submission, when it has one.
    pub submission_id: Option<String>,
    /// What was asked for ("license_key", "License Key", "demo", …); unknown values read as other.
    pub kind: Option<String>,
    pub product: Option<String>,
    /// RFC 3339, `YYYY-MM-DD HH:MM[:SS]` (UTC) or `YYYY-MM-DD`; absent means "now".
    pub submitted_at: Option<String>,
    /// The full name (parsers join first and last names).
    pub name: Option<String>,
    pub company: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    /// A country code or name; also the region phone numbers are read in.
    pub country: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub referrer: Option<String>,
    pub pages_visited: Vec<String>,
    pub form_version: Option<String>,
}

/// Where and when registrations are being recorded.
#[derive(Clone)]
pub struct IntakeContext {
    /// The office new leads belong to (None on a standalone database).
    pub office: Option<String>,
    /// The instant of recording (from the store's clock).
    pub now: DateTime<Utc>,
    /// Who records, for the audit log ("import", "intake", a user name).
    pub actor: String,
    suppression_key: Vec<u8>,
    /// Whether anyone is suppressed at all: most databases have no erasures, and then two
    /// keyed hashes and lookups per registration can be skipped.
    any_suppressed: bool,
}

impl IntakeContext {
    /// A context for recording into `conn`'s database; reads the suppression key once. Use it
    /// within one transaction, or call `refresh` at the start of each.
    pub fn new(
        conn: &Connection,
        office: Option<String>,
        now: DateTime<Utc>,
        actor: &str,
    ) -> Result<IntakeContext> {
        let mut ctx = IntakeContext {
            office,
            now,
            actor: actor.to_string(),
            suppression_key: suppression::key(conn)?,
            any_suppressed: true,
        };
        ctx.refresh(conn)?;
        Ok(ctx)
    }

    /// Re-reads what another writer may have changed since: whether the suppression list is empty.
    pub fn refresh(&mut self, conn: &Connection) -> Result<()> {
        self.any_suppressed = conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM suppression)")?
            .query_row([], |r| r.get(0))?;
        Ok(())
    }
}

/// What became of a registration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntakeOutcome {
    /// A new lead was created for it (the lead's id).
    Created(String),
    /// It was attached to an existing lead (the lead's id).
    Merged(String),
    /// The same submission was recorded before; nothing was written.
    Duplicate,
    /// The person was erased earlier; nothing was written.
    Suppressed,
}

/// A registration that passed validation: normalised values, ready to be recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct CleanRegistration {
    /// The website's id, or a keyed hash of the content for rows without one.
    pub submission_key: String,
    pub kind: RegistrationKind,
    pub product: Option<String>,
    pub submitted_at: DateTime<Utc>,
    pub name: Option<String>,
    pub company: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    /// ISO alpha-2 when recognised.
    pub country: Option<String>,
    /// The country as typed when it was not recognised (kept on the registration only).
    pub country_raw: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub referrer: Option<String>,
    pub pages_visited: Vec<String>,
    pub form_version: Option<String>,
    /// What was kept only partly and why, e.g. a country that is not recognised.
    pub warnings: Vec<String>,
}

/// Records one registration inside the caller's transaction.
pub fn record(
    conn: &Connection,
    input: &RegistrationInput,
    ctx: &IntakeContext,
) -> Result<IntakeOutcome> {
    let clean = clean(input, ctx)?;
    record_clean(conn, &clean, ctx)
}

/// Validates and normalises a registration without touching the database. An invalid email or
/// phone refuses the row (`identifiers`); an unrecognised country is kept raw with a warning.
pub fn clean(input: &RegistrationInput, ctx: &IntakeContext) -> Result<CleanRegistration> {
    check_sizes(input)?;
    let submitted_at = match text(&input.submitted_at) {
        None => ctx.now,
        Some(t) => parse_submitted_at(t).ok_or_else(|| {
            CoreError::BadInput(format!(
                "submitted_at '{}' is not a date (use RFC 3339, e.g. 2026-03-02T09:00:00Z)",
                shorten(t)
            ))
        })?,
    };
    if submitted_at > ctx.now + Duration::minutes(FUTURE_SKEW_MINUTES) {
        return Err(CoreError::BadInput(format!(
            "submitted_at {} lies in the future",
            to_text(submitted_at)
        )));
    }
    let country_text = text(&input.country);
    let country = country_text.and_then(normalize_country).map(str::to_string);
    let mut warnings = Vec::new();
    let country_raw = match (country_text, &country) {
        (Some(raw), None) => {
            warnings.push(format!(
                "country '{}' is not recognised; phone numbers need a + prefix",
                shorten(raw)
            ));
            Some(raw.to_string())
        }
        _ => None,
    };
    let (email, phone) = identifiers(text(&input.email), text(&input.phone), country.as_deref())
        .map_err(CoreError::BadInput)?;
    if email.is_none() && phone.is_none() {
        return Err(CoreError::BadInput(
            "neither an email address nor a phone number".into(),
        ));
    }
    let submission_key = match text(&input.submission_id) {
        Some(id) => id.to_string(),
        None => content_key(&ctx.suppression_key, input),
    };
    Ok(CleanRegistration {
        submission_key,
        kind: parse_kind(text(&input.kind)),
        product: owned(&input.product),
        submitted_at,
        name: text(&input.name).map(collapse_spaces),
        company: text(&input.company).map(collapse_spaces),
        email,
        phone,
        address: owned(&input.address),
        country,
        country_raw,
        ip: owned(&input.ip),
        user_agent: owned(&input.user_agent),
        referrer: owned(&input.referrer),
        pages_visited: input
            .pages_visited
            .iter()
            .map(|p| p.trim())
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect(),
        form_version: owned(&input.form_version),
        warnings,
    })
}

/// Records an already cleaned registration inside the caller's transaction.
pub fn record_clean(
    conn: &Connection,
    reg: &CleanRegistration,
    ctx: &IntakeContext,
) -> Result<IntakeOutcome> {
    record_with(conn, reg, ctx, None)
}

/// `record_clean` for a bulk writer: the same decisions and the same rows, with the work that
/// repeats per row done once per transaction or skipped where `bulk` proves it unnecessary.
/// Call `bulk.finish` before committing each transaction.
pub fn record_clean_bulk(
    conn: &Connection,
    reg: &CleanRegistration,
    ctx: &IntakeContext,
    bulk: &mut Bulk,
) -> Result<IntakeOutcome> {
    let outcome = record_with(conn, reg, ctx, Some(bulk))?;
    if matches!(
        outcome,
        IntakeOutcome::Created(_) | IntakeOutcome::Merged(_)
    ) {
        bulk.remember(reg);
    }
    Ok(outcome)
}

fn record_with(
    conn: &Connection,
    reg: &CleanRegistration,
    ctx: &IntakeContext,
    mut bulk: Option<&mut Bulk>,
) -> Result<IntakeOutcome> {
    // Suppression first: a re-import of an erased person reports "suppressed" even when the
    // skeleton of their old registration still carries the submission key.
    if ctx.any_suppressed && is_suppressed(conn, reg, &ctx.suppression_key)? {
        return Ok(IntakeOutcome::Suppressed);
    }
    let may_exist = |kind: Key, value: &str| match &bulk {
        Some(b) => b.may_exist(kind, value),
        None => true,
    };
    if may_exist(Key::Submission, &reg.submission_key)
        && submission_seen(conn, &reg.submission_key)?
    {
        return Ok(IntakeOutcome::Duplicate);
    }
    let existing = match (&reg.email, &reg.phone) {
        (Some(email), _) if may_exist(Key::Email, email) => lead_by(conn, "email", email)?,
        (None, Some(phone)) if may_exist(Key::Phone, phone) => lead_by(conn, "phone", phone)?,
        _ => None,
    };
    let outcome = match existing {
        Some(lead_id) => {
            if resent_within_window(conn, &lead_id, reg)? {
                return Ok(IntakeOutcome::Duplicate);
            }
            // `set_fields` stamps through the settings: hand back the reserved stamps first.
            if let Some(b) = bulk.as_deref_mut() {
                b.finish(conn)?;
            }
            merge_into(conn, &lead_id, reg, ctx)?;
            IntakeOutcome::Merged(lead_id)
        }
        None => {
            let lead_id = match bulk.as_deref_mut() {
                Some(b) => b.new_id(ctx.now),
                None => new_id(ctx.now),
            };
            let lead = NewLead {
                office: ctx.office.clone(),
                name: reg.name.clone(),
                company: reg.company.clone(),
                email: reg.email.clone(),
                phone: reg.phone.clone(),
                address: reg.address.clone(),
                country: reg.country.clone(),
                time_zone: reg
                    .country
                    .as_deref()
                    .and_then(single_zone)
                    .map(|tz| tz.name().to_string()),
                owner: None,
                last_registered_at: Some(reg.submitted_at),
            };
            match bulk.as_deref_mut() {
                Some(b) => {
                    let clock = b.stamp(conn, ctx.now)?;
                    leads::insert_stamped(conn, &lead_id, &lead, ctx.now, &clock)?;
                }
                None => leads::insert(conn, &lead_id, &lead, ctx.now)?,
            }
            IntakeOutcome::Created(lead_id)
        }
    };
    let lead_id = match &outcome {
        IntakeOutcome::Created(id) | IntakeOutcome::Merged(id) => id,
        _ => unreachable!("only created and merged registrations are stored"),
    };
    let id = match bulk {
        Some(b) => b.new_id(ctx.now),
        None => new_id(ctx.now),
    };
    insert_registration(conn, &id, lead_id, reg, ctx)?;
    Ok(outcome)
}

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
pub struct Bulk {
    stamps: Option<HlcSequence>,
    ids: uuid::ContextV7,
    filter: Option<Vec<u64>>,
    data_version: i64,
}

/// The Bloom filter's size: 2^27 bits, 16 MiB. With four probes per key it answers "maybe" for
/// an unseen key about once in 20,000 at three million keys, once in 250 at ten million.
const FILTER_BYTES: usize = 1 << 24;
const FILTER_PROBES: u64 = 4;

/// The kinds of keys the filter tells apart.
#[derive(Clone, Copy)]
enum Key {
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

    fn stamp(&mut self, conn: &Connection, now: DateTime<Utc>) -> Result<Hlc> {
        let stamps = match &mut self.stamps {
            Some(s) => s,
            none => none.insert(HlcSequence::begin(conn)?),
        };
        Ok(stamps.next(now))
    }

    fn new_id(&self, at: DateTime<Utc>) -> String {
        let ts = uuid::Timestamp::from_unix(
            &self.ids,
            at.timestamp() as u64,
            at.timestamp_subsec_nanos(),
        );
        uuid::Uuid::new_v7(ts).to_string()
    }

    fn remember(&mut self, reg: &CleanRegistration) {
        self.add(Key::Submission, &reg.submission_key);
        if let Some(email) = &reg.email {
            self.add(Key::Email, email);
        }
        if let Some(phone) = &reg.phone {
            self.add(Key::Phone, phone);
        }
    }

    fn probes(kind: Key, value: &str) -> impl Iterator<Item = usize> {
        use std::hash::{Hash, Hasher};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (kind as u8).hash(&mut hasher);
        value.hash(&mut hasher);
        let h = hasher.finish();
        let (h1, h2) = (h & 0xffff_ffff, (h >> 32) | 1);
        let bits = (FILTER_BYTES * 8) as u64;
        (0..FILTER_PROBES).map(move |i| (h1.wrapping_add(i.wrapping_mul(h2)) % bits) as usize)
    }

    fn add(&mut self, kind: Key, value: &str) {
        if let Some(filter) = &mut self.filter {
            for bit in Bulk::probes(kind, value) {
                filter[bit / 64] |= 1 << (bit % 64);
            }
        }
    }

    fn may_exist(&self, kind: Key, value: &str) -> bool {
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

fn is_suppressed(conn: &Connection, reg: &CleanRegistration, key: &[u8]) -> Result<bool> {
    if let Some(email) = &reg.email {
        if suppression::is_suppressed(conn, key, Identifier::Email, email)? {
            return Ok(true);
        }
    }
    if let Some(phone) = &reg.phone {
        if suppression::is_suppressed(conn, key, Identifier::Phone, phone)? {
            return Ok(true);
        }
    }
    Ok(false)
}

fn submission_seen(conn: &Connection, key: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM registration WHERE submission_id = ?1")?
        .query_row([key], |_| Ok(()))
        .optional()?
        .is_some())
}

/// The oldest live lead with this normalised email or phone.
fn lead_by(conn: &Connection, column: &str, value: &str) -> Result<Option<String>> {
    let sql = match column {
        "email" => "SELECT id FROM lead WHERE email = ?1 ORDER BY created_at, id LIMIT 1",
        _ => "SELECT id FROM lead WHERE phone = ?1 ORDER BY created_at, id LIMIT 1",
    };
    Ok(conn
        .prepare_cached(sql)?
        .query_row([value], |r| r.get(0))
        .optional()?)
}

/// The same email (or, without one, phone) and kind within the window: a form sent twice.
fn resent_within_window(conn: &Connection, lead_id: &str, reg: &CleanRegistration) -> Result<bool> {
    let window = Duration::minutes(DUPLICATE_WINDOW_MINUTES);
    let from = to_text(reg.submitted_at - window);
    let until = to_text(reg.submitted_at + window);
    let (column_sql, value) = match (&reg.email, &reg.phone) {
        (Some(e), _) => (
            "SELECT 1 FROM registration WHERE lead_id = ?1 AND kind = ?2 AND email = ?3
               AND submitted_at >= ?4 AND submitted_at <= ?5 LIMIT 1",
            e,
        ),
        (None, Some(p)) => (
            "SELECT 1 FROM registration WHERE lead_id = ?1 AND kind = ?2 AND phone = ?3
               AND email IS NULL AND submitted_at >= ?4 AND submitted_at <= ?5 LIMIT 1",
            p,
        ),
        (None, None) => return Ok(false),
    };
    Ok(conn
        .prepare_cached(column_sql)?
        .query_row(
            params![lead_id, reg.kind.as_str(), value, from, until],
            |_| Ok(()),
        )
        .optional()?
        .is_some())
}

/// Fills the lead's empty fields from the registration, except fields the person corrected.
fn merge_into(
    conn: &Connection,
    lead_id: &str,
    reg: &CleanRegistration,
    ctx: &IntakeContext,
) -> Result<()> {
    type Current = (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        String,
        Option<String>,
    );
    let (name, company, email, phone, address, country, time_zone, corrected, last): Current = conn
        .prepare_cached(
            "SELECT name, company, email, phone, address, country, time_zone, corrected,
                    last_registered_at
             FROM lead WHERE id = ?1",
        )?
        .query_row([lead_id], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
            ))
        })?;
    let corrected: Vec<&str> = corrected.split(',').map(str::trim).collect();
    let zone = reg
        .country
        .as_deref()
        .and_then(single_zone)
        .map(|tz| tz.name().to_string());
    let mut changes = Vec::new();
    for (field, current, offered) in [
        (LeadField::Name, &name, &reg.name),
        (LeadField::Company, &company, &reg.company),
        (LeadField::Email, &email, &reg.email),
        (LeadField::Phone, &phone, &reg.phone),
        (LeadField::Address, &address, &reg.address),
        (LeadField::Country, &country, &reg.country),
    ] {
        if current.is_none() && offered.is_some() && !corrected.contains(&field.column()) {
            changes.push((field, offered.clone()));
        }
    }
    // The zone follows a country that this registration fills in.
    let country_filled = changes.iter().any(|(f, _)| *f == LeadField::Country);
    if time_zone.is_none()
        && zone.is_some()
        && (country_filled || country == reg.country)
        && !corrected.contains(&LeadField::TimeZone.column())
    {
        changes.push((LeadField::TimeZone, zone));
    }
    if !changes.is_empty() {
        leads::set_fields(conn, lead_id, &changes, &ctx.actor, "registration", ctx.now)?;
    }
    // last_registered_at is derived from registrations, which replicate themselves (append-only),
    // so it needs no field clock, audit entry or outbox entry of its own.
    let newer = leads::parse_time(last).is_none_or(|l| reg.submitted_at > l);
    if newer {
        conn.prepare_cached("UPDATE lead SET last_registered_at = ?1 WHERE id = ?2")?
            .execute(params![to_text(reg.submitted_at), lead_id])?;
    }
    Ok(())
}

fn insert_registration(
    conn: &Connection,
    id: &str,
    lead_id: &str,
    reg: &CleanRegistration,
    ctx: &IntakeContext,
) -> Result<()> {
    let pages = serde_json::to_string(&reg.pages_visited).expect("strings serialise");
    conn.prepare_cached(
        "INSERT INTO registration(id, lead_id, submission_id, kind, product, submitted_at, name,
             company, email, phone, address, country, ip, user_agent, referrer, pages_visited,
             form_version, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
    )?
    .execute(params![
        id,
        lead_id,
        reg.submission_key,
        reg.kind.as_str(),
        reg.product,
        to_text(reg.submitted_at),
        reg.name,
        reg.company,
        reg.email,
        reg.phone,
        reg.address,
        reg.country.as_ref().or(reg.country_raw.as_ref()),
        reg.ip,
        reg.user_agent,
        reg.referrer,
        pages,
        reg.form_version,
        to_text(ctx.now),
    ])?;
    outbox::enqueue(conn, Entity::Registration, id, None)?;
    Ok(())
}

/// The shared limits (`switchboard_protocol::limits`), so the server's intake refuses exactly
/// what this one refuses, with the same words.
fn check_sizes(input: &RegistrationInput) -> Result<()> {
    limits::check_registration(&limits::RegistrationText {
        submission_id: input.submission_id.as_deref(),
        kind: input.kind.as_deref(),
        product: input.product.as_deref(),
        submitted_at: input.submitted_at.as_deref(),
        name: input.name.as_deref(),
        company: input.company.as_deref(),
        email: input.email.as_deref(),
        phone: input.phone.as_deref(),
        address: input.address.as_deref(),
        country: input.country.as_deref(),
        ip: input.ip.as_deref(),
        user_agent: input.user_agent.as_deref(),
        referrer: input.referrer.as_deref(),
        pages_visited: &input.pages_visited,
        form_version: input.form_version.as_deref(),
    })
    .map_err(|e| CoreError::BadInput(e.to_string()))
}

/// A keyed hash of everything submitted, standing in for a submission id so that re-running a
/// file without ids imports nothing twice. Keyed so that the stored key reveals nothing.
fn content_key(key: &[u8], input: &RegistrationInput) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts keys of any length");
    for field in [
        &input.kind,
        &input.product,
        &input.submitted_at,
        &input.name,
        &input.company,
        &input.email,
        &input.phone,
        &input.address,
        &input.country,
        &input.ip,
        &input.user_agent,
        &input.referrer,
        &input.form_version,
    ] {
        // A marker byte tells "absent" from "empty" and separates fields unambiguously.
        match field {
            Some(v) => {
                mac.update(&[1]);
                mac.update(&(v.len() as u64).to_le_bytes());
                mac.update(v.as_bytes());
            }
            None => mac.update(&[0]),
        }
    }
    for page in &input.pages_visited {
        mac.update(&(page.len() as u64).to_le_bytes());
        mac.update(page.as_bytes());
    }
    format!(
        "{CONTENT_KEY_PREFIX}{}",
        hex::encode(&mac.finalize().into_bytes()[..16])
    )
}

fn text(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

fn owned(value: &Option<String>) -> Option<String> {
    text(value).map(str::to_string)
}

fn collapse_spaces(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Quotes at most a few dozen characters of bad input in an error message.
fn shorten(value: &str) -> String {
    let mut s: String = value.chars().take(40).collect();
    if s.len() < value.len() {
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FixedClock, Store};
    use chrono::TimeZone;
    use std::sync::Arc;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
    }

    fn store() -> Store {
        Store::open_in_memory(Arc::new(FixedClock::at(now()))).unwrap()
    }

    fn ctx(s: &Store) -> IntakeContext {
        IntakeContext::new(s.conn(), None, s.now(), "import").unwrap()
    }

    /// Ann's second submission ("s-2"), sent at `at`.
    fn ann_again(at: &str) -> RegistrationInput {
        RegistrationInput {
            submission_id: Some("s-2".into()),
            submitted_at: Some(at.into()),
            ..ann()
        }
    }

    fn ann() -> RegistrationInput {
        RegistrationInput {
            submission_id: Some("s-1".into()),
            kind: Some("License Key".into()),
            product: Some("Widget Pro".into()),
            submitted_at: Some("2026-03-02T08:00:00Z".into()),
            name: Some("  Ann   Example ".into()),
            company: Some("Acme".into()),
            email: Some(" Ann@Example.COM".into()),
            phone: Some("030 1234567".into()),
            country: Some("Germany".into()),
            ip: Some("203.0.113.7".into()),
            user_agent: Some("Mozilla/5.0".into()),
            referrer: Some("https://search.example/".into()),
            pages_visited: vec!["/pricing".into(), "/download".into()],
            form_version: Some("v3".into()),
            ..RegistrationInput::default()
        }
    }

    fn rec(s: &mut Store, input: &RegistrationInput) -> Result<IntakeOutcome> {
        let c = ctx(s);
        s.with_tx(|tx| record(tx, input, &c))
    }

    /// Records `input`, which must create a lead; returns the new lead's id.
    fn created(s: &mut Store, input: &RegistrationInput) -> String {
        match rec(s, input).unwrap() {
            IntakeOutcome::Created(id) => id,
            other => panic!("expected a new lead, got {other:?}"),
        }
    }

    fn count(s: &Store, table: &str) -> i64 {
        s.conn()
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn a_new_person_becomes_a_lead_with_normalised_fields_and_zone() {
        let mut s = store();
        let id = created(&mut s, &ann());
        let lead = leads::get(s.conn(), &id).unwrap();
        assert_eq!(lead.name.as_deref(), Some("Ann Example"));
        assert_eq!(lead.email.as_deref(), Some("ann@example.com"));
        assert_eq!(lead.phone.as_deref(), Some("+49301234567"));
        assert_eq!(lead.country.as_deref(), Some("DE"));
        // Germany has two zones in tzdb (Berlin, Busingen): no single zone.
        assert_eq!(lead.time_zone, None);
        assert_eq!(lead.last_registered_at, Some(now() - Duration::hours(1)));
        let (kind, pages, email): (String, String, String) = s
            .conn()
            .query_row(
                "SELECT kind, pages_visited, email FROM registration WHERE lead_id = ?1",
                [&id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(kind, "license_key");
        assert_eq!(pages, r#"["/pricing","/download"]"#);
        assert_eq!(email, "ann@example.com");
        let entities: Vec<String> = s
            .conn()
            .prepare("SELECT entity FROM outbox ORDER BY seq")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(entities, ["lead_fields", "registration"]);
    }

    #[test]
    fn a_single_zone_country_sets_the_time_zone_and_office_comes_from_context() {
        let mut s = store();
        let mut input = ann();
        input.country = Some("FR".into());
        input.phone = Some("01 23 45 67 89".into());
        let mut c = ctx(&s);
        c.office = Some("paris".into());
        let outcome = s.with_tx(|tx| record(tx, &input, &c)).unwrap();
        let IntakeOutcome::Created(id) = outcome else {
            panic!()
        };
        let lead = leads::get(s.conn(), &id).unwrap();
        assert_eq!(lead.time_zone.as_deref(), Some("Europe/Paris"));
        assert_eq!(lead.office.as_deref(), Some("paris"));
        assert_eq!(lead.phone.as_deref(), Some("+33123456789"));
    }

    #[test]
    fn the_same_submission_id_is_recorded_once() {
        let mut s = store();
        rec(&mut s, &ann()).unwrap();
        let mut again = ann();
        again.submitted_at = Some("2026-03-01T08:00:00Z".into());
        assert_eq!(rec(&mut s, &again).unwrap(), IntakeOutcome::Duplicate);
        assert_eq!(count(&s, "registration"), 1);
    }

    #[test]
    fn the_same_email_and_kind_within_ten_minutes_is_a_duplicate_but_not_after() {
        let mut s = store();
        rec(&mut s, &ann()).unwrap();
        let resent = ann_again("2026-03-02T08:09:59Z");
        assert_eq!(rec(&mut s, &resent).unwrap(), IntakeOutcome::Duplicate);
        let mut other_kind = resent.clone();
        other_kind.submission_id = Some("s-3".into());
        other_kind.kind = Some("demo".into());
        assert!(matches!(
            rec(&mut s, &other_kind).unwrap(),
            IntakeOutcome::Merged(_)
        ));
        let mut later = ann();
        later.submission_id = Some("s-4".into());
        later.submitted_at = Some("2026-03-02T08:10:01Z".into());
        assert!(matches!(
            rec(&mut s, &later).unwrap(),
            IntakeOutcome::Merged(_)
        ));
        assert_eq!(count(&s, "registration"), 3);
        assert_eq!(count(&s, "lead"), 1);
    }

    #[test]
    fn rows_without_an_id_are_recognised_by_content() {
        let mut s = store();
        let mut input = ann();
        input.submission_id = None;
        assert!(matches!(
            rec(&mut s, &input).unwrap(),
            IntakeOutcome::Created(_)
        ));
        // A day later the same row again (a re-run of the file): still a duplicate.
        let c = IntakeContext::new(s.conn(), None, now() + Duration::days(1), "import").unwrap();
        let outcome = s.with_tx(|tx| record(tx, &input, &c)).unwrap();
        assert_eq!(outcome, IntakeOutcome::Duplicate);
        let key: String = s
            .conn()
            .query_row("SELECT submission_id FROM registration", [], |r| r.get(0))
            .unwrap();
        assert!(key.starts_with(CONTENT_KEY_PREFIX));
        assert!(!key.contains("ann"));
    }

    #[test]
    fn a_known_email_attaches_and_fills_only_empty_fields() {
        let mut s = store();
        let mut first = ann();
        first.company = None;
        first.phone = None;
        let id = created(&mut s, &first);
        let mut second = ann_again("2026-03-02T08:30:00Z");
        second.name = Some("Annie E.".into());
        second.email = Some("ANN@example.com ".into());
        assert_eq!(
            rec(&mut s, &second).unwrap(),
            IntakeOutcome::Merged(id.clone())
        );
        let lead = leads::get(s.conn(), &id).unwrap();
        assert_eq!(
            lead.name.as_deref(),
            Some("Ann Example"),
            "never overwritten"
        );
        assert_eq!(lead.company.as_deref(), Some("Acme"), "filled");
        assert_eq!(lead.phone.as_deref(), Some("+49301234567"), "filled");
        assert_eq!(
            lead.last_registered_at,
            Some(Utc.with_ymd_and_hms(2026, 3, 2, 8, 30, 0).unwrap())
        );
        let audited: i64 = s
            .conn()
            .query_row(
                "SELECT count(*) FROM audit WHERE lead_id = ?1 AND action = 'registration'",
                [&id],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(audited, 2);
    }

    #[test]
    fn a_corrected_field_is_not_refilled_even_when_empty() {
        let mut s = store();
        let id = created(&mut s, &ann());
        // The person asked to remove their company and phone: both corrected to empty.
        s.with_tx(|tx| {
            leads::set_fields(
                tx,
                &id,
                &[(LeadField::Company, None), (LeadField::Phone, None)],
                "rep",
                "correct",
                now(),
            )?;
            tx.execute(
                "UPDATE lead SET corrected = 'company,phone' WHERE id = ?1",
                [&id],
            )?;
            Ok(())
        })
        .unwrap();
        let mut again = ann_again("2026-03-02T08:45:00Z");
        again.address = Some("Hauptstr. 1, Berlin".into());
        assert_eq!(
            rec(&mut s, &again).unwrap(),
            IntakeOutcome::Merged(id.clone())
        );
        let lead = leads::get(s.conn(), &id).unwrap();
        assert_eq!(lead.company, None);
        assert_eq!(lead.phone, None);
        assert_eq!(lead.address.as_deref(), Some("Hauptstr. 1, Berlin"));
    }

    #[test]
    fn without_email_the_phone_number_matches() {
        let mut s = store();
        let mut first = ann();
        first.email = None;
        let id = created(&mut s, &first);
        let mut second = first.clone();
        second.submission_id = Some("s-2".into());
        second.phone = Some("+49 30 1234567".into());
        second.country = None;
        second.submitted_at = Some("2026-03-01T08:00:00Z".into());
        assert_eq!(
            rec(&mut s, &second).unwrap(),
            IntakeOutcome::Merged(id.clone())
        );
        // An older registration does not move last_registered_at back.
        let lead = leads::get(s.conn(), &id).unwrap();
        assert_eq!(lead.last_registered_at, Some(now() - Duration::hours(1)));
    }

    #[test]
    fn an_erased_person_is_suppressed_and_nothing_is_stored() {
        let mut s = store();
        s.with_tx(|tx| suppression::suppress(tx, Identifier::Phone, "+49301234567", now()))
            .unwrap();
        let mut input = ann();
        input.email = Some("other@example.com".into());
        assert_eq!(rec(&mut s, &input).unwrap(), IntakeOutcome::Suppressed);
        assert_eq!(count(&s, "lead"), 0);
        assert_eq!(count(&s, "registration"), 0);
        assert_eq!(count(&s, "outbox"), 0);
    }

    fn rejection(input: &RegistrationInput) -> String {
        let mut s = store();
        let err = rec(&mut s, input).unwrap_err();
        assert_eq!(err.code(), "bad_input");
        assert_eq!(count(&s, "lead") + count(&s, "registration"), 0);
        err.to_string()
    }

    #[test]
    fn unusable_input_is_rejected_with_a_reason_and_nothing_written() {
        let mut none = ann();
        none.email = Some("  ".into());
        none.phone = None;
        assert_eq!(
            rejection(&none),
            "neither an email address nor a phone number"
        );

        let mut bad_email = ann();
        bad_email.phone = None;
        bad_email.email = Some("ann.example.com".into());
        assert_eq!(rejection(&bad_email), "invalid email: it has no @");

        let mut both_bad = ann();
        both_bad.email = Some("ann@".into());
        both_bad.phone = Some("12".into());
        assert!(rejection(&both_bad).contains("invalid phone number"));

        let mut big = ann();
        big.company = Some("x".repeat(301));
        assert_eq!(
            rejection(&big),
            "company is 301 bytes long; the limit is 300 bytes (shorten it or leave it out)"
        );

        let mut nul = ann();
        nul.name = Some("Ann\0Example".into());
        assert_eq!(rejection(&nul), "name contains a NUL byte");

        let mut future = ann();
        future.submitted_at = Some("2026-03-02T09:06:00Z".into());
        assert!(rejection(&future).contains("lies in the future"));

        let mut garbled = ann();
        garbled.submitted_at = Some("yesterday".into());
        assert!(rejection(&garbled).contains("is not a date"));
    }

    #[test]
    fn fields_at_their_limits_and_slight_clock_skew_are_accepted() {
        let mut s = store();
        let mut input = ann();
        input.address = Some("a".repeat(limits::Field::Address.max_bytes()));
        input.user_agent = Some("u".repeat(limits::Field::UserAgent.max_bytes()));
        input.pages_visited = limits::largest_pages("https://example.com/p");
        input.submitted_at = Some("2026-03-02T09:04:00Z".into());
        assert!(matches!(
            rec(&mut s, &input).unwrap(),
            IntakeOutcome::Created(_)
        ));
    }

    #[test]
    fn a_bad_phone_or_email_next_to_a_good_one_refuses_the_registration() {
        let s = store();
        let mut input = ann();
        input.phone = Some("123".into());
        let err = clean(&input, &ctx(&s)).unwrap_err().to_string();
        assert!(err.contains("phone"), "{err}");
        let mut input = ann();
        input.email = Some("ann@@example".into());
        input.phone = Some("+49 30 1234567".into());
        let err = clean(&input, &ctx(&s)).unwrap_err().to_string();
        assert!(err.starts_with("invalid email"), "{err}");
    }

    /// Records through a `Bulk` in one transaction, as the import does.
    fn rec_bulk(s: &mut Store, bulk: &mut Bulk, input: &RegistrationInput) -> IntakeOutcome {
        let c = ctx(s);
        s.with_tx(|tx| {
            bulk.begin(tx)?;
            let outcome = record_clean_bulk(tx, &clean(input, &c)?, &c, bulk)?;
            bulk.finish(tx)?;
            Ok(outcome)
        })
        .unwrap()
    }

    #[test]
    fn a_bulk_writer_finds_leads_that_existed_before_it_started() {
        let mut s = store();
        let id = created(&mut s, &ann());
        let mut phone_only = ann();
        phone_only.submission_id = Some("p-1".into());
        phone_only.email = None;
        phone_only.phone = Some("+49 30 1234567".into());
        phone_only.kind = Some("demo".into());
        let mut bulk = Bulk::new(s.conn()).unwrap();
        // The same submission: a duplicate, found although the writer never recorded it.
        assert_eq!(
            rec_bulk(&mut s, &mut bulk, &ann()),
            IntakeOutcome::Duplicate
        );
        assert_eq!(
            rec_bulk(&mut s, &mut bulk, &phone_only),
            IntakeOutcome::Merged(id.clone())
        );
        let mut new_person = ann();
        new_person.submission_id = Some("n-1".into());
        new_person.email = Some("new@example.com".into());
        new_person.phone = None;
        let IntakeOutcome::Created(other) = rec_bulk(&mut s, &mut bulk, &new_person) else {
            panic!()
        };
        // Seen in this run now: the next registration of the same email attaches to it.
        new_person.submission_id = Some("n-2".into());
        new_person.kind = Some("trial".into());
        assert_eq!(
            rec_bulk(&mut s, &mut bulk, &new_person),
            IntakeOutcome::Merged(other)
        );
    }

    #[test]
    fn a_bulk_writer_looks_everything_up_once_another_connection_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sb.db");
        let clock = Arc::new(FixedClock::at(now()));
        let mut s = Store::open_with_clock(&path, clock.clone()).unwrap();
        let mut bulk = Bulk::new(s.conn()).unwrap();
        let mut other = Store::open_with_clock(&path, clock).unwrap();
        let id = created(&mut other, &ann());
        let mut again = ann();
        again.submission_id = Some("s-2".into());
        again.kind = Some("demo".into());
        assert_eq!(
            rec_bulk(&mut s, &mut bulk, &again),
            IntakeOutcome::Merged(id)
        );
        assert_eq!(
            rec_bulk(&mut s, &mut bulk, &ann()),
            IntakeOutcome::Duplicate
        );
    }

    #[test]
    fn bulk_ids_and_clock_stamps_grow_and_later_single_writes_stamp_after_them() {
        let mut s = store();
        let mut bulk = Bulk::new(s.conn()).unwrap();
        for i in 0..50 {
            let mut input = ann();
            input.submission_id = Some(format!("s-{i}"));
            input.email = Some(format!("p{i}@example.com"));
            input.phone = None;
            assert!(matches!(
                rec_bulk(&mut s, &mut bulk, &input),
                IntakeOutcome::Created(_)
            ));
        }
        let column = |sql: &str| -> Vec<String> {
            s.conn()
                .prepare(sql)
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .collect::<rusqlite::Result<_>>()
                .unwrap()
        };
        for sql in [
            "SELECT id FROM lead ORDER BY rowid",
            "SELECT id FROM registration ORDER BY rowid",
            "SELECT clock_identity FROM lead ORDER BY rowid",
        ] {
            let values = column(sql);
            assert_eq!(values.len(), 50);
            assert!(values.windows(2).all(|w| w[0] < w[1]), "{sql}: {values:?}");
        }
        let last = column("SELECT clock_identity FROM lead ORDER BY rowid DESC LIMIT 1");
        let next = crate::store::next_hlc(s.conn(), now()).unwrap().to_string();
        assert!(next > last[0]);
    }

    #[test]
    fn kinds_and_times_are_read_as_forms_write_them() {
        assert_eq!(
            parse_kind(Some("License Key")),
            RegistrationKind::LicenseKey
        );
        assert_eq!(
            parse_kind(Some("info-request")),
            RegistrationKind::InfoRequest
        );
        assert_eq!(parse_kind(Some("Free Trial")), RegistrationKind::Trial);
        assert_eq!(parse_kind(Some("whatever")), RegistrationKind::Other);
        assert_eq!(parse_kind(None), RegistrationKind::Other);
        let at = Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap();
        for t in [
            "2026-03-02T08:00:00Z",
            "2026-03-02T09:00:00+01:00",
            "2026-03-02 08:00:00",
            "2026-03-02 08:00",
            "2026-03-02 08:00:00 UTC",
            "2026-03-02T08:00:00.000Z",
        ] {
            assert_eq!(parse_submitted_at(t), Some(at), "{t}");
        }
        assert_eq!(
            parse_submitted_at("2026-03-02"),
            Some(Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap())
        );
        assert_eq!(parse_submitted_at("02/03/2026"), None);
    }
}
