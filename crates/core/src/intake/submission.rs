//! Intake: one website registration becomes a recorded registration attached to a lead.
//!
//! `record` runs inside the caller's transaction and decides, in this order: is the input usable
//! (else `CoreError::BadInput` before anything is written), is the person suppressed (erased
//! earlier: nothing is stored), was this submission recorded before (`Duplicate`), does it belong
//! to a lead we know (`Merged`), or is it a new person (`Created`).

use crate::clock::{new_id, to_text};
use crate::compliance::suppression::{self, Identifier};
use crate::error::{CoreError, Result};
use crate::normalize::{normalize_country, single_zone};
use crate::people::leads::{self, LeadField, NewLead};
use crate::people::registration;
use crate::store::outbox::{self, Entity};
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use rusqlite::{params, Connection, OptionalExtension};
use sha2::Sha256;
use switchboard_protocol::{limits, RegistrationDetails, RegistrationKind};

pub use switchboard_domain::registration::{identifiers, parse_kind, parse_submitted_at};
use switchboard_domain::registration::{owned, text, tidy};

mod bulk;
mod held_keys;

pub use bulk::{Bulk, LOOKUP_INDEXES};

/// The kinds of keys a bulk writer finds registrations and leads by.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Key {
    Email,
    Phone,
    Submission,
}

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
    /// Who the person is and what the site logged, as typed; the country is a code or a name,
    /// and also the region phone numbers are read in.
    pub details: RegistrationDetails,
}

impl RegistrationInput {
    /// The text that `field` fills, for filling it by name (an import's column); none for the
    /// pages visited, a list.
    pub fn text_mut(&mut self, field: limits::Field) -> Option<&mut Option<String>> {
        match field {
            limits::Field::SubmissionId => Some(&mut self.submission_id),
            limits::Field::Kind => Some(&mut self.kind),
            limits::Field::Product => Some(&mut self.product),
            limits::Field::SubmittedAt => Some(&mut self.submitted_at),
            _ => self.details.text_mut(field),
        }
    }
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
    /// Tidied and normalised (`registration::tidy`, `identifiers`), as the registration stores
    /// them: the country an ISO alpha-2 code when recognised, else as typed.
    pub details: RegistrationDetails,
    /// The recognised country (ISO alpha-2), which the lead takes; none when not recognised.
    pub country: Option<String>,
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
    let mut details = tidy(&input.details);
    let country = details
        .country
        .as_deref()
        .and_then(normalize_country)
        .map(str::to_string);
    let mut warnings = Vec::new();
    match (&details.country, &country) {
        (Some(raw), None) => warnings.push(format!(
            "country '{}' is not recognised; phone numbers need a + prefix",
            shorten(raw)
        )),
        // Stored as recognised; one not recognised is kept on the registration as typed.
        (_, Some(_)) => details.country = country.clone(),
        (None, None) => {}
    }
    (details.email, details.phone) = identifiers(
        details.email.as_deref(),
        details.phone.as_deref(),
        country.as_deref(),
    )
    .map_err(CoreError::BadInput)?;
    if details.email.is_none() && details.phone.is_none() {
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
        details,
        country,
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
    let seen = match &bulk {
        Some(b) => b.submission_seen(conn, &reg.submission_key)?,
        None => {
            registration::ensure_write_rules(conn)?;
            submission_seen(conn, &reg.submission_key)?
        }
    };
    if seen {
        return Ok(IntakeOutcome::Duplicate);
    }
    let find = |kind: Key, value: &str| match &bulk {
        Some(b) => b.lead_by(conn, kind, value),
        None => lead_by(conn, kind, value),
    };
    let existing = match (&reg.details.email, &reg.details.phone) {
        (Some(email), _) => find(Key::Email, email)?,
        (None, Some(phone)) => find(Key::Phone, phone)?,
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
            let filled = merge_into(conn, &lead_id, reg, ctx)?;
            if let Some(b) = bulk.as_deref_mut() {
                for (field, value) in &filled {
                    let kind = match field {
                        LeadField::Email => Key::Email,
                        LeadField::Phone => Key::Phone,
                        _ => continue,
                    };
                    if let Some(value) = value {
                        b.filled(conn, &lead_id, kind, value)?;
                    }
                }
            }
            IntakeOutcome::Merged(lead_id)
        }
        None => {
            let lead_id = match bulk.as_deref_mut() {
                Some(b) => b.new_id(ctx.now),
                None => new_id(ctx.now),
            };
            let lead = NewLead {
                office: ctx.office.clone(),
                name: reg.details.name.clone(),
                company: reg.details.company.clone(),
                email: reg.details.email.clone(),
                phone: reg.details.phone.clone(),
                address: reg.details.address.clone(),
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
                    let rowid =
                        leads::insert_stamped(conn, &lead_id, &lead, ctx.now, &clock, b.search())?;
                    b.created(conn, rowid, reg)?;
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
    let id = match bulk.as_deref() {
        Some(b) => b.new_id(ctx.now),
        None => new_id(ctx.now),
    };
    match bulk {
        Some(b) => {
            let rowid = insert_registration(conn, &id, lead_id, reg, ctx, b.texts())?;
            b.registered(conn, &reg.submission_key, rowid)?;
        }
        None => {
            insert_registration(conn, &id, lead_id, reg, ctx, &mut Default::default())?;
        }
    }
    Ok(outcome)
}

fn is_suppressed(conn: &Connection, reg: &CleanRegistration, key: &[u8]) -> Result<bool> {
    if let Some(email) = &reg.details.email {
        if suppression::is_suppressed(conn, key, Identifier::Email, email)? {
            return Ok(true);
        }
    }
    if let Some(phone) = &reg.details.phone {
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
fn lead_by(conn: &Connection, kind: Key, value: &str) -> Result<Option<String>> {
    let sql = match kind {
        Key::Email => "SELECT id FROM lead WHERE email = ?1 ORDER BY created_at, id LIMIT 1",
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
    let (column_sql, value) = match (&reg.details.email, &reg.details.phone) {
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

/// Fills the lead's empty fields from the registration, except fields the person corrected;
/// returns the fields it filled.
fn merge_into(
    conn: &Connection,
    lead_id: &str,
    reg: &CleanRegistration,
    ctx: &IntakeContext,
) -> Result<Vec<(LeadField, Option<String>)>> {
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
        (LeadField::Name, &name, &reg.details.name),
        (LeadField::Company, &company, &reg.details.company),
        (LeadField::Email, &email, &reg.details.email),
        (LeadField::Phone, &phone, &reg.details.phone),
        (LeadField::Address, &address, &reg.details.address),
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
        leads::advance_last_registered(conn, lead_id, reg.submitted_at)?;
    }
    Ok(changes)
}

/// Records the registration and queues it for push; returns its rowid.
fn insert_registration(
    conn: &Connection,
    id: &str,
    lead_id: &str,
    reg: &CleanRegistration,
    ctx: &IntakeContext,
    texts: &mut registration::TextIds,
) -> Result<i64> {
    let row = registration::Row {
        id,
        lead_id,
        submission_id: Some(&reg.submission_key),
        kind: reg.kind,
        product: reg.product.as_deref(),
        submitted_at: reg.submitted_at,
        details: &reg.details,
        received_at: ctx.now,
    };
    if !registration::insert(conn, &row, texts)? {
        return Err(CoreError::Conflict(format!(
            "registration {id} (submission {}) is already recorded",
            reg.submission_key
        )));
    }
    let rowid = conn.last_insert_rowid();
    outbox::enqueue(conn, Entity::Registration, id, None)?;
    Ok(rowid)
}

/// The shared limits (`switchboard_protocol::limits`), so the server's intake refuses exactly
/// what this one refuses, with the same words.
fn check_sizes(input: &RegistrationInput) -> Result<()> {
    limits::check_registration(&head(input), &input.details)
        .map_err(|e| CoreError::BadInput(e.to_string()))
}

/// The fields before the details, as text with their limits, in the wire's order.
fn head(input: &RegistrationInput) -> [(limits::Field, Option<&str>); 4] {
    [
        (limits::Field::SubmissionId, input.submission_id.as_deref()),
        (limits::Field::Kind, input.kind.as_deref()),
        (limits::Field::Product, input.product.as_deref()),
        (limits::Field::SubmittedAt, input.submitted_at.as_deref()),
    ]
}

/// A keyed hash of everything submitted, standing in for a submission id so that re-running a
/// file without ids imports nothing twice. Keyed so that the stored key reveals nothing.
fn content_key(key: &[u8], input: &RegistrationInput) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts keys of any length");
    // Every text field but the submission id, in the wire's order (the keys of files imported
    // earlier depend on it), then the pages.
    let fields = head(input).into_iter().skip(1).chain(input.details.texts());
    for (_, field) in fields {
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
    for page in &input.details.pages_visited {
        mac.update(&(page.len() as u64).to_le_bytes());
        mac.update(page.as_bytes());
    }
    format!(
        "{CONTENT_KEY_PREFIX}{}",
        hex::encode(&mac.finalize().into_bytes()[..16])
    )
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
mod tests;
