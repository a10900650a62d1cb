//! The `registration` table's writes: one web-form submission attached to a lead, whether intake
//! recorded it here or sync brought it from another replica.

use crate::clock::to_text;
use crate::error::Result;
use crate::people::leads;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::HashMap;
use switchboard_protocol::{Registration, RegistrationDetails, RegistrationKind};

/// A registration row as it is written, borrowed so that a bulk import and a first sync write
/// without copying their strings.
pub struct Row<'a> {
    pub id: &'a str,
    pub lead_id: &'a str,
    pub submission_id: Option<&'a str>,
    pub kind: RegistrationKind,
    pub product: Option<&'a str>,
    pub submitted_at: DateTime<Utc>,
    pub details: &'a RegistrationDetails,
    pub received_at: DateTime<Utc>,
}

/// The unique index on submission ids (migration 0024): what makes a submission recorded twice,
/// here or on another replica, a duplicate instead of a second row.
pub const SUBMISSION_INDEX: &str = "registration_by_submission";

/// The trigger that enrols a new registration's lead by the cadences' intake rules (migrations
/// 0011 and 0023).
pub const RULE_TRIGGER: &str = "cadence_enrol_by_rule";

/// Builds the submission index and the intake-rule trigger now if a large import has them set
/// aside, inside the caller's write transaction. That import finds its submissions in memory
/// (`intake::Bulk`) and sets the trigger aside only while there is no rule; every other writer of
/// registrations relies on both, so it calls this before its first `insert` of each transaction.
/// They are built once, whoever comes first, and stay: the import's next batch sees the other
/// connection's commit and goes back to them. The cost when nothing is set aside is one settings
/// read.
pub fn ensure_write_rules(conn: &Connection) -> Result<()> {
    crate::store::deferred_indexes::build_now(conn, &[SUBMISSION_INDEX, RULE_TRIGGER])
}

/// The ids in `registration_text` of the browser and referrer texts a writer has looked up or
/// added in its current transaction. An import's registrations share a handful of such texts,
/// and each lookup in the table compares a long text through its unique index twice a row. The
/// ids hold only inside that transaction (another connection's erasure may delete a text between
/// two of them, and a rollback undoes the texts added): `clear` at the start of each.
#[derive(Default)]
pub struct TextIds(HashMap<String, i64>);

/// Texts a `TextIds` keeps at most; lookups of others go to the table.
const TEXT_IDS_HELD: usize = 4096;

impl TextIds {
    /// Forgets every id: call when a transaction begins.
    pub fn clear(&mut self) {
        self.0.clear();
    }
}

/// Inserts the row unless its id or submission id is already recorded; returns whether it was
/// new. The submission index and the rule trigger must be there (`ensure_write_rules`) unless
/// the caller is the import that set them aside, which has already found the submission new.
pub fn insert(conn: &Connection, r: &Row<'_>, texts: &mut TextIds) -> Result<bool> {
    let d = r.details;
    let pages = serde_json::to_string(&d.pages_visited).unwrap_or_else(|_| "[]".into());
    let mut created = Vec::new();
    let user_agent = shared_text(conn, d.user_agent.as_deref(), &mut created, texts)?;
    let referrer = shared_text(conn, d.referrer.as_deref(), &mut created, texts)?;
    let inserted =
        conn.prepare_cached(
            "INSERT INTO registration(id, lead_id, submission_id, kind, product, submitted_at,
                    name, company, email, phone, address, country, ip, user_agent_ref,
                    referrer_ref, pages_visited, form_version, received_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                     ?18)
             ON CONFLICT DO NOTHING",
        )?
        .execute(params![
            r.id,
            r.lead_id,
            r.submission_id,
            r.kind.as_str(),
            r.product,
            to_text(r.submitted_at),
            d.name,
            d.company,
            d.email,
            d.phone,
            d.address,
            d.country,
            d.ip,
            user_agent,
            referrer,
            pages,
            d.form_version,
            to_text(r.received_at),
        ])? > 0;
    if !inserted {
        // A text first seen with a registration that was already recorded refers to nothing.
        for (id, value) in created {
            conn.prepare_cached("DELETE FROM registration_text WHERE id = ?1")?
                .execute([id])?;
            texts.0.remove(value);
        }
    }
    Ok(inserted)
}

/// The id of `value` in `registration_text` (migration 0016), added when new; ids added are
/// pushed to `created`.
fn shared_text<'v>(
    conn: &Connection,
    value: Option<&'v str>,
    created: &mut Vec<(i64, &'v str)>,
    texts: &mut TextIds,
) -> Result<Option<i64>> {
    let Some(value) = value else {
        return Ok(None);
    };
    if let Some(&id) = texts.0.get(value) {
        return Ok(Some(id));
    }
    let found: Option<i64> = conn
        .prepare_cached("SELECT id FROM registration_text WHERE value = ?1")?
        .query_row([value], |r| r.get(0))
        .optional()?;
    let id = match found {
        Some(id) => id,
        None => {
            conn.prepare_cached("INSERT INTO registration_text(value) VALUES (?1)")?
                .execute([value])?;
            let id = conn.last_insert_rowid();
            created.push((id, value));
            id
        }
    };
    if texts.0.len() < TEXT_IDS_HELD {
        texts.0.insert(value.to_string(), id);
    }
    Ok(Some(id))
}

/// Columns `from_row` reads, in order. Browser and referrer are in `registration_text` for rows
/// written since migration 0016 and in place for older ones.
const COLUMNS: &str = "id, lead_id, submission_id, kind, product, submitted_at, name, company, \
    email, phone, address, country, ip, \
    coalesce(user_agent, (SELECT value FROM registration_text WHERE id = user_agent_ref)), \
    coalesce(referrer, (SELECT value FROM registration_text WHERE id = referrer_ref)), \
    pages_visited, form_version";

/// Maps a row of `COLUMNS`.
fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Registration> {
    let pages: String = r.get(15)?;
    Ok(Registration {
        id: r.get(0)?,
        lead_id: r.get(1)?,
        submission_id: r.get(2)?,
        kind: leads::parsed_column(r, 3)?,
        product: r.get(4)?,
        submitted_at: leads::parse_time(r.get(5)?).unwrap_or_default(),
        details: RegistrationDetails {
            name: r.get(6)?,
            company: r.get(7)?,
            email: r.get(8)?,
            phone: r.get(9)?,
            address: r.get(10)?,
            country: r.get(11)?,
            ip: r.get(12)?,
            user_agent: r.get(13)?,
            referrer: r.get(14)?,
            // A malformed list is kept as its raw text rather than hidden or lost.
            pages_visited: serde_json::from_str(&pages).unwrap_or_else(|_| vec![pages]),
            form_version: r.get(16)?,
        },
    })
}

/// The registration with this id, as it is stored now.
pub fn find(conn: &Connection, id: &str) -> Result<Option<Registration>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM registration WHERE id = ?1"))?
        .query_row([id], from_row)
        .optional()?)
}

/// A lead's registrations, oldest first.
pub fn for_lead(conn: &Connection, lead_id: &str) -> Result<Vec<Registration>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM registration WHERE lead_id = ?1 ORDER BY submitted_at, id"
    ))?;
    let rows = stmt.query_map([lead_id], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Purges an erased person's registrations: personal fields, web metadata and submission id go,
/// an ISO country code stays. Returns how many registrations were purged.
pub fn purge_for_lead(conn: &Connection, lead_id: &str) -> Result<usize> {
    let shared: Vec<i64> = conn
        .prepare_cached(
            "SELECT user_agent_ref FROM registration WHERE lead_id = ?1 AND user_agent_ref NOT NULL
             UNION SELECT referrer_ref FROM registration WHERE lead_id = ?1
                AND referrer_ref NOT NULL",
        )?
        .query_map([lead_id], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let purged = conn.execute(
        "UPDATE registration SET name = NULL, company = NULL, email = NULL, phone = NULL,
                address = NULL, ip = NULL, user_agent = NULL, referrer = NULL,
                user_agent_ref = NULL, referrer_ref = NULL,
                pages_visited = '[]', submission_id = NULL,
                -- A recognised country is an ISO code; anything else is what the person typed.
                country = CASE WHEN length(country) = 2 THEN country END
         WHERE lead_id = ?1",
        [lead_id],
    )?;
    // A browser or referrer text that only this person's registrations named goes too.
    for id in shared {
        conn.prepare_cached(
            "DELETE FROM registration_text WHERE id = ?1
               AND NOT EXISTS (SELECT 1 FROM registration WHERE user_agent_ref = ?1)
               AND NOT EXISTS (SELECT 1 FROM registration WHERE referrer_ref = ?1)",
        )?
        .execute([id])?;
    }
    Ok(purged)
}

/// Stores a registration recorded on another replica (sync pull); not queued for push. One that
/// reaches an erased person keeps only its non-personal skeleton. A new one moves the lead's
/// `last_registered_at` forward. The lead row must exist. Returns whether it was new.
pub fn apply_remote(conn: &Connection, r: &Registration) -> Result<bool> {
    let erased = leads::is_erased(conn, &r.lead_id)?;
    let skeleton;
    let details = if erased {
        skeleton = RegistrationDetails {
            country: r.details.country.clone(),
            form_version: r.details.form_version.clone(),
            ..RegistrationDetails::default()
        };
        &skeleton
    } else {
        &r.details
    };
    let inserted = insert(
        conn,
        &Row {
            id: &r.id,
            lead_id: &r.lead_id,
            submission_id: r.submission_id.as_deref().filter(|_| !erased),
            kind: r.kind,
            product: r.product.as_deref(),
            submitted_at: r.submitted_at,
            details,
            // The server does not carry when the other replica received it.
            received_at: r.submitted_at,
        },
        &mut TextIds::default(),
    )?;
    if inserted {
        leads::advance_last_registered(conn, &r.lead_id, r.submitted_at)?;
    }
    Ok(inserted)
}
