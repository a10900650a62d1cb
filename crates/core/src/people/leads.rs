//! Leads: reading them, creating them, and changing their fields with clock, audit, search index
//! and outbox kept in step. Every write to a lead's fields goes through `insert` or `set_fields`.

use crate::clock::to_text;
use crate::error::{CoreError, Result};
use crate::hlc::Hlc;
use crate::store::audit;
use crate::store::outbox::{self, Entity};
use crate::store::settings::next_hlc;
use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row};
pub use switchboard_protocol::FieldGroup;
use switchboard_protocol::{Lead, LeadFields, LeadStatus, Outcome};

/// The columns `lead_from_row` reads, in order.
pub const LEAD_COLUMNS: &str = "id, office, name, company, email, phone, address, country, \
    time_zone, status, owner, created_at, last_registered_at, attempts, last_attempt_at, \
    last_outcome, next_follow_up_at, first_contact_at, email_invalid";

/// A field of a lead that people and processes may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LeadField {
    Name,
    Company,
    Email,
    Phone,
    Address,
    Country,
    TimeZone,
    Status,
    Owner,
    NextFollowUpAt,
    Office,
}

impl LeadField {
    /// How many of `ALL`'s fields, from the first, are the person's own (what a correction may
    /// change); the rest belong to the process.
    pub const PERSONAL: usize = 7;

    /// Every field, the person's own first.
    pub const ALL: [LeadField; 11] = [
        LeadField::Name,
        LeadField::Company,
        LeadField::Email,
        LeadField::Phone,
        LeadField::Address,
        LeadField::Country,
        LeadField::TimeZone,
        LeadField::Status,
        LeadField::Owner,
        LeadField::NextFollowUpAt,
        LeadField::Office,
    ];

    /// The column (and the name users type, e.g. `correct LEAD name=…`).
    pub fn column(self) -> &'static str {
        match self {
            LeadField::Name => "name",
            LeadField::Company => "company",
            LeadField::Email => "email",
            LeadField::Phone => "phone",
            LeadField::Address => "address",
            LeadField::Country => "country",
            LeadField::TimeZone => "time_zone",
            LeadField::Status => "status",
            LeadField::Owner => "owner",
            LeadField::NextFollowUpAt => "next_follow_up_at",
            LeadField::Office => "office",
        }
    }

    /// Parses a field name as users type it.
    pub fn parse(text: &str) -> Result<LeadField> {
        let wanted = text.trim().to_ascii_lowercase().replace('-', "_");
        LeadField::ALL
            .into_iter()
            .find(|f| f.column() == wanted)
            .ok_or_else(|| {
                let names: Vec<_> = LeadField::ALL.iter().map(|f| f.column()).collect();
                CoreError::BadInput(format!(
                    "unknown field '{text}' (fields: {})",
                    names.join(", ")
                ))
            })
    }

    /// The replication group the field belongs to: concurrent edits merge per group, last
    /// writer wins.
    pub fn group(self) -> FieldGroup {
        match self {
            LeadField::Name | LeadField::Company => FieldGroup::Identity,
            LeadField::Email => FieldGroup::Email,
            LeadField::Phone => FieldGroup::Phone,
            LeadField::Address | LeadField::Country | LeadField::TimeZone => FieldGroup::Postal,
            LeadField::Status | LeadField::Owner | LeadField::NextFollowUpAt => {
                FieldGroup::Workflow
            }
            LeadField::Office => FieldGroup::Office,
        }
    }

    /// Whether the field holds personal information (purged on erasure, audited as such).
    pub fn is_personal(self) -> bool {
        matches!(
            self,
            LeadField::Name
                | LeadField::Company
                | LeadField::Email
                | LeadField::Phone
                | LeadField::Address
        )
    }
}

/// The fields of a lead about to be created.
#[derive(Debug, Clone, Default)]
pub struct NewLead {
    pub office: Option<String>,
    pub name: Option<String>,
    pub company: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub country: Option<String>,
    pub time_zone: Option<String>,
    pub owner: Option<String>,
    pub last_registered_at: Option<DateTime<Utc>>,
}

/// Parses a stored timestamp; a malformed one reads as absent rather than failing a whole list
/// (the domain's time codec, shared with the server).
pub use switchboard_domain::time::parse_time;

/// Maps a row selected with `LEAD_COLUMNS`.
pub fn lead_from_row(row: &Row<'_>) -> rusqlite::Result<Lead> {
    let status: String = row.get(9)?;
    let outcome: Option<String> = row.get(15)?;
    Ok(Lead {
        id: row.get(0)?,
        office: row.get(1)?,
        name: row.get(2)?,
        company: row.get(3)?,
        email: row.get(4)?,
        phone: row.get(5)?,
        address: row.get(6)?,
        country: row.get(7)?,
        time_zone: row.get(8)?,
        status: status.parse().unwrap_or(LeadStatus::New),
        owner: row.get(10)?,
        created_at: parse_time(row.get(11)?).unwrap_or_default(),
        last_registered_at: parse_time(row.get(12)?),
        attempts: row.get(13)?,
        last_attempt_at: parse_time(row.get(14)?),
        last_outcome: outcome.and_then(|o| o.parse::<Outcome>().ok()),
        next_follow_up_at: parse_time(row.get(16)?),
        first_contact_at: parse_time(row.get(17)?),
        email_invalid: row.get::<_, i64>(18)? != 0,
    })
}

/// Creates a lead with id `id` inside the caller's transaction.
pub fn insert(conn: &Connection, id: &str, lead: &NewLead, at: DateTime<Utc>) -> Result<()> {
    let clock = next_hlc(conn, at)?;
    insert_stamped(conn, id, lead, at, &clock, true).map(|_| ())
}

/// `insert` with a clock stamp the caller took (a bulk writer reserves stamps per transaction),
/// and without the full-text entry unless `search` (a bulk load rebuilds them: `rebuild_search`).
/// Returns the new row's rowid.
pub fn insert_stamped(
    conn: &Connection,
    id: &str,
    lead: &NewLead,
    at: DateTime<Utc>,
    clock: &Hlc,
    search: bool,
) -> Result<i64> {
    let clock = clock.to_string();
    // Every group starts with the same stamp: kept once, the others say so (`SAME_CLOCK`).
    conn.prepare_cached(
        "INSERT INTO lead(id, office, name, company, email, phone, address, country, time_zone,
                          owner, created_at, last_registered_at, clock_identity, clock_email,
                          clock_phone, clock_postal, clock_workflow, clock_office)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, '=', '=', '=', '=', '=')",
    )?
    .execute(params![
        id,
        lead.office,
        lead.name,
        lead.company,
        lead.email,
        lead.phone,
        lead.address,
        lead.country,
        lead.time_zone,
        lead.owner,
        to_text(at),
        lead.last_registered_at.map(to_text),
        clock,
    ])?;
    let rowid = conn.last_insert_rowid();
    if search {
        conn.prepare_cached(
            "INSERT INTO lead_search(rowid, name, company, email, phone) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![rowid, lead.name, lead.company, lead.email, lead.phone])?;
    }
    // One outbox entry for a new lead: the push sends every field group.
    outbox::enqueue(conn, Entity::LeadFields, id, Some("*"))?;
    Ok(rowid)
}

/// The lead with this id.
pub fn get(conn: &Connection, id: &str) -> Result<Lead> {
    conn.prepare_cached(&format!("SELECT {LEAD_COLUMNS} FROM lead WHERE id = ?1"))?
        .query_row([id], lead_from_row)
        .optional()?
        .ok_or_else(|| CoreError::NotFound(format!("no lead with id {id}")))
}

/// Resolves what a user typed to name a lead: its id, or its email address.
pub fn find(conn: &Connection, reference: &str) -> Result<Lead> {
    let reference = reference.trim();
    if reference.contains('@') {
        let email = reference.to_lowercase();
        return conn
            .prepare_cached(&format!(
                "SELECT {LEAD_COLUMNS} FROM lead WHERE email = ?1 ORDER BY created_at LIMIT 1"
            ))?
            .query_row([email], lead_from_row)
            .optional()?
            .ok_or_else(|| CoreError::NotFound(format!("no lead with email {reference}")));
    }
    get(conn, reference)
        .map_err(|_| CoreError::NotFound(format!("no lead with id or email '{reference}'")))
}

/// A page of leads, most recently registered first.
pub fn list(conn: &Connection, limit: u32, offset: u32) -> Result<Vec<Lead>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {LEAD_COLUMNS} FROM lead ORDER BY last_registered_at DESC, id LIMIT ?1 OFFSET ?2"
    ))?;
    let rows = stmt.query_map(params![limit, offset], lead_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A page of unworked leads, newest registration first (speed-to-lead).
pub fn list_new(conn: &Connection, limit: u32, offset: u32) -> Result<Vec<Lead>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {LEAD_COLUMNS} FROM lead WHERE status = 'new'
         ORDER BY last_registered_at DESC LIMIT ?1 OFFSET ?2"
    ))?;
    let rows = stmt.query_map(params![limit, offset], lead_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Reads one field's current value as text.
pub fn field_value(conn: &Connection, lead_id: &str, field: LeadField) -> Result<Option<String>> {
    conn.prepare_cached(&format!(
        "SELECT {} FROM lead WHERE id = ?1",
        field.column()
    ))?
    .query_row([lead_id], |r| r.get(0))
    .optional()?
    .ok_or_else(|| CoreError::NotFound(format!("no lead with id {lead_id}")))
}

/// One field change that `set_fields` made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    pub field: LeadField,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// Changes fields of a lead inside the caller's transaction: stamps the groups' clocks, writes an
/// audit entry per changed field, refreshes the search index and queues the groups for sync.
/// Values must already be normalised. Unchanged fields are skipped; returns what changed.
pub fn set_fields(
    conn: &Connection,
    lead_id: &str,
    changes: &[(LeadField, Option<String>)],
    actor: &str,
    action: &str,
    at: DateTime<Utc>,
) -> Result<Vec<FieldChange>> {
    let edit = Edit {
        lead_id,
        actor,
        action,
        at,
    };
    let mut changed = Vec::new();
    for (field, new) in changes {
        let old = field_value(conn, lead_id, *field)?;
        if old == *new {
            continue;
        }
        conn.execute(
            &format!("UPDATE lead SET {} = ?1 WHERE id = ?2", field.column()),
            params![new, lead_id],
        )?;
        edit.audit(conn, field.column(), old.as_deref(), new.as_deref())?;
        changed.push(FieldChange {
            field: *field,
            old,
            new: new.clone(),
        });
    }
    // In `LeadField::ALL` order, which lists a group's fields together: Identity first, Office
    // last, each group once.
    let mut groups: Vec<FieldGroup> = LeadField::ALL
        .into_iter()
        .filter(|f| changed.iter().any(|c| c.field == *f))
        .map(LeadField::group)
        .collect();
    groups.dedup();
    for group in &groups {
        stamp_group(conn, lead_id, *group, at)?;
    }
    if groups.iter().any(|g| {
        matches!(
            g,
            FieldGroup::Identity | FieldGroup::Email | FieldGroup::Phone
        )
    }) {
        refresh_search(conn, lead_id)?;
    }
    Ok(changed)
}

/// Marks a lead's email address invalid (a hard bounce) or valid again inside the caller's
/// transaction: audited, stamped and queued with the email field group, which carries the flag.
/// Returns whether anything changed.
pub fn set_email_invalid(
    conn: &Connection,
    lead_id: &str,
    invalid: bool,
    actor: &str,
    action: &str,
    at: DateTime<Utc>,
) -> Result<bool> {
    let old: i64 = conn
        .prepare_cached("SELECT email_invalid FROM lead WHERE id = ?1")?
        .query_row([lead_id], |r| r.get(0))
        .optional()?
        .ok_or_else(|| CoreError::NotFound(format!("no lead with id {lead_id}")))?;
    if (old != 0) == invalid {
        return Ok(false);
    }
    conn.prepare_cached("UPDATE lead SET email_invalid = ?1 WHERE id = ?2")?
        .execute(params![invalid as i64, lead_id])?;
    let flag = |on: bool| Some(if on { "1" } else { "0" });
    let edit = Edit {
        lead_id,
        actor,
        action,
        at,
    };
    edit.audit(conn, "email_invalid", flag(old != 0), flag(invalid))?;
    stamp_group(conn, lead_id, FieldGroup::Email, at)?;
    Ok(true)
}

/// Who changes a lead, how and when: what each field change's audit entry records.
struct Edit<'a> {
    lead_id: &'a str,
    actor: &'a str,
    action: &'a str,
    at: DateTime<Utc>,
}

impl Edit<'_> {
    /// Audits one changed field.
    fn audit(
        &self,
        conn: &Connection,
        field: &str,
        old: Option<&str>,
        new: Option<&str>,
    ) -> Result<()> {
        let change = audit::Change {
            lead_id: Some(self.lead_id),
            action: self.action,
            field: Some(field),
            old_value: old,
            new_value: new,
        };
        audit::record(conn, self.actor, self.at, change)?;
        Ok(())
    }
}

/// Stamps a field group's clock for a local change and queues the group for push.
fn stamp_group(
    conn: &Connection,
    lead_id: &str,
    group: FieldGroup,
    at: DateTime<Utc>,
) -> Result<()> {
    let clock = next_hlc(conn, at)?.to_string();
    set_group_clock(conn, lead_id, group, &clock)?;
    outbox::enqueue(conn, Entity::LeadFields, lead_id, Some(group.as_str()))
}

/// Rebuilds the leads' full-text index, as `refresh_search` leaves each entry (a bulk load runs
/// it at its end: `store::deferred_indexes`).
pub fn rebuild_search() -> String {
    let fill = "INSERT INTO lead_search(rowid, name, company, email, phone)
        SELECT rowid, name, company, email, phone FROM lead WHERE status <> 'erased' ORDER BY rowid";
    crate::store::deferred_indexes::search_rebuild("lead_search", fill)
}

/// Rewrites a lead's entry in the full-text index from its current fields (none once erased).
pub fn refresh_search(conn: &Connection, lead_id: &str) -> Result<()> {
    let rowid: i64 = conn
        .prepare_cached("SELECT rowid FROM lead WHERE id = ?1")?
        .query_row([lead_id], |r| r.get(0))
        .optional()?
        .ok_or_else(|| CoreError::NotFound(format!("no lead with id {lead_id}")))?;
    conn.prepare_cached("DELETE FROM lead_search WHERE rowid = ?1")?
        .execute([rowid])?;
    conn.prepare_cached(
        "INSERT INTO lead_search(rowid, name, company, email, phone)
         SELECT rowid, name, company, email, phone FROM lead WHERE rowid = ?1 AND status <> ?2",
    )?
    .execute(params![rowid, LeadStatus::Erased.as_str()])?;
    Ok(())
}

/// Whether the lead was erased here (false for a lead this database does not hold). Records
/// that arrive for an erased person are stored without their personal information.
pub fn is_erased(conn: &Connection, lead_id: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT status FROM lead WHERE id = ?1")?
        .query_row([lead_id], |r| r.get::<_, String>(0))
        .optional()?
        .is_some_and(|s| s == LeadStatus::Erased.as_str()))
}

/// Whether this database holds a lead with this id.
pub fn exists(conn: &Connection, lead_id: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM lead WHERE id = ?1")?
        .exists([lead_id])?)
}

/// When the lead was erased, if it was.
pub fn erased_at(conn: &Connection, lead_id: &str) -> Result<Option<String>> {
    Ok(conn
        .prepare_cached("SELECT erased_at FROM lead WHERE id = ?1")?
        .query_row([lead_id], |r| r.get(0))
        .optional()?
        .flatten())
}

/// Stores the fields a person's correction locks against later registrations (comma-separated
/// column names).
pub fn set_corrected(conn: &Connection, lead_id: &str, fields: &[String]) -> Result<()> {
    conn.prepare_cached("UPDATE lead SET corrected = ?1 WHERE id = ?2")?
        .execute(params![fields.join(","), lead_id])?;
    Ok(())
}

/// Moves `last_registered_at` forward to `at` (never back). It is derived from registrations,
/// which replicate themselves, so it needs no field clock, audit entry or outbox entry.
pub fn advance_last_registered(conn: &Connection, lead_id: &str, at: DateTime<Utc>) -> Result<()> {
    conn.prepare_cached(
        "UPDATE lead SET last_registered_at = ?2
         WHERE id = ?1 AND (last_registered_at IS NULL OR last_registered_at < ?2)",
    )?
    .execute(params![lead_id, to_text(at)])?;
    Ok(())
}

/// Re-derives a lead's counters from its follow-ups: outbound attempts and the last of them, the
/// outcome of the latest follow-up, and the first contact in either direction; none for an
/// erased lead (replicas hold different follow-ups of it, and the same skeleton).
pub fn recompute_counters(conn: &Connection, lead_id: &str) -> Result<()> {
    conn.prepare_cached(
        "UPDATE lead SET
            attempts = (SELECT count(*) FROM follow_up
                        WHERE lead_id = ?1 AND direction = 'out'),
            last_attempt_at = (SELECT max(occurred_at) FROM follow_up
                               WHERE lead_id = ?1 AND direction = 'out'),
            last_outcome = (SELECT outcome FROM follow_up WHERE lead_id = ?1
                            ORDER BY occurred_at DESC, id DESC LIMIT 1),
            first_contact_at = (SELECT min(occurred_at) FROM follow_up WHERE lead_id = ?1)
         WHERE id = ?1 AND status <> 'erased'",
    )?
    .execute([lead_id])?;
    Ok(())
}

/// Purges an erased person's fields: personal fields, corrections, due date and lease go, the
/// status becomes `erased` and the search entry is removed. Returns how many personal fields
/// held a value.
pub fn purge(conn: &Connection, lead: &Lead, at: DateTime<Utc>) -> Result<usize> {
    let held = [
        &lead.name,
        &lead.company,
        &lead.email,
        &lead.phone,
        &lead.address,
    ]
    .iter()
    .filter(|v| v.is_some())
    .count();
    conn.execute(
        "UPDATE lead SET name = NULL, company = NULL, email = NULL, phone = NULL, address = NULL,
                status = 'erased', erased_at = ?2, corrected = '', next_follow_up_at = NULL,
                lease_owner = NULL, lease_until = NULL
         WHERE id = ?1",
        params![lead.id, to_text(at)],
    )?;
    // The status is now 'erased', so this removes the lead's terms without adding any back.
    refresh_search(conn, &lead.id)?;
    Ok(held)
}

/// Reduces an erased lead to the skeleton a replica that first syncs after the erasure holds:
/// id, status, erasure time as `created_at` and `erased_at`, every other column at its default
/// and every clock empty (migration 0020 does the same to leads erased before it).
pub fn to_erased_skeleton(conn: &Connection, lead_id: &str) -> Result<()> {
    conn.prepare_cached(
        "UPDATE lead SET office = NULL, country = NULL, time_zone = NULL, owner = NULL,
                created_at = erased_at, last_registered_at = NULL, attempts = 0,
                last_attempt_at = NULL, last_outcome = NULL, next_follow_up_at = NULL,
                first_contact_at = NULL, email_invalid = 0, corrected = '', lease_owner = NULL,
                lease_until = NULL, clock_identity = '', clock_email = '', clock_phone = '',
                clock_postal = '', clock_workflow = '', clock_office = ''
         WHERE id = ?1 AND status = 'erased' AND erased_at IS NOT NULL",
    )?
    .execute([lead_id])?;
    Ok(())
}

/// Makes sure a lead row exists (a pulled change may arrive for a lead whose fields come later
/// in the page); a new one is an empty skeleton whose clocks lose to every stamp.
pub fn ensure_skeleton(conn: &Connection, lead_id: &str, created_at: &str) -> Result<()> {
    let inserted = conn
        .prepare_cached(
            "INSERT INTO lead(id, created_at) VALUES (?1, ?2) ON CONFLICT(id) DO NOTHING",
        )?
        .execute(params![lead_id, created_at])?;
    if inserted > 0 {
        conn.prepare_cached(
            "INSERT INTO lead_search(rowid, name) VALUES (last_insert_rowid(), NULL)",
        )?
        .execute([])?;
    }
    Ok(())
}

/// A lead first heard of in a pulled page, written whole: every field group with the stamp of
/// its winning change (the empty clock when the page has none) and the counters its follow-ups
/// in the page give it.
pub struct PulledLead<'a> {
    pub id: &'a str,
    pub created_at: &'a str,
    pub name: Option<&'a str>,
    pub company: Option<&'a str>,
    pub clock_identity: &'a str,
    pub email: Option<&'a str>,
    pub email_invalid: bool,
    pub clock_email: &'a str,
    pub phone: Option<&'a str>,
    pub clock_phone: &'a str,
    pub address: Option<&'a str>,
    pub country: Option<&'a str>,
    pub time_zone: Option<&'a str>,
    pub clock_postal: &'a str,
    pub status: LeadStatus,
    pub owner: Option<&'a str>,
    pub next_follow_up_at: Option<String>,
    pub clock_workflow: &'a str,
    pub office: Option<&'a str>,
    pub clock_office: &'a str,
    pub attempts: i64,
    pub last_attempt_at: Option<String>,
    pub last_outcome: Option<&'a str>,
    pub first_contact_at: Option<String>,
}

/// Inserts a pulled lead and, if `index`, its search entry (no outbox entry: it came from the
/// server; a bulk load builds the entries at its end).
pub fn insert_pulled(conn: &Connection, l: &PulledLead<'_>, index: bool) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO lead(id, created_at, name, company, clock_identity, email, email_invalid,
                clock_email, phone, clock_phone, address, country, time_zone, clock_postal,
                status, owner, next_follow_up_at, clock_workflow, office, clock_office,
                attempts, last_attempt_at, last_outcome, first_contact_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                 ?18, ?19, ?20, ?21, ?22, ?23, ?24)",
    )?
    .execute(params![
        l.id,
        l.created_at,
        l.name,
        l.company,
        l.clock_identity,
        l.email,
        l.email_invalid as i64,
        l.clock_email,
        l.phone,
        l.clock_phone,
        l.address,
        l.country,
        l.time_zone,
        l.clock_postal,
        l.status.as_str(),
        l.owner,
        l.next_follow_up_at,
        l.clock_workflow,
        l.office,
        l.clock_office,
        l.attempts,
        l.last_attempt_at,
        l.last_outcome,
        l.first_contact_at,
    ])?;
    if !index {
        return Ok(());
    }
    conn.prepare_cached(
        "INSERT INTO lead_search(rowid, name, company, email, phone)
         VALUES (last_insert_rowid(), ?1, ?2, ?3, ?4)",
    )?
    .execute(params![l.name, l.company, l.email, l.phone])?;
    Ok(())
}

/// What a group's clock column holds when its stamp is `clock_identity`'s (migration 0016): a
/// new lead's six groups share one stamp, and six copies of a 56-character text were a third
/// of a lead row. Read clocks through `group_clock` only; write them through `clock_sets`.
pub const SAME_CLOCK: &str = "=";

/// The stamp a lead's field group holds.
pub fn group_clock(conn: &Connection, lead_id: &str, group: FieldGroup) -> Result<String> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT CASE clock_{group} WHEN '{SAME_CLOCK}' THEN clock_identity
                    ELSE clock_{group} END
             FROM lead WHERE id = ?1"
        ))?
        .query_row([lead_id], |r| r.get(0))?)
}

/// The SET list that gives `group` the stamp in parameter `?param`: a new identity stamp first
/// writes its old value into the groups that referred to it (SQLite evaluates every SET
/// expression on the row as it was).
fn clock_sets(group: FieldGroup, param: usize) -> String {
    let mut sets = vec![format!("clock_{group} = ?{param}")];
    if group == FieldGroup::Identity {
        sets.extend(
            FieldGroup::ALL
                .iter()
                .filter(|g| **g != FieldGroup::Identity)
                .map(|g| {
                    format!(
                        "clock_{g} = CASE clock_{g} WHEN '{SAME_CLOCK}' THEN clock_identity \
                         ELSE clock_{g} END"
                    )
                }),
        );
    }
    sets.join(", ")
}

/// Sets a field group's stamp without touching its values.
pub fn set_group_clock(
    conn: &Connection,
    lead_id: &str,
    group: FieldGroup,
    hlc: &str,
) -> Result<()> {
    conn.prepare_cached(&format!(
        "UPDATE lead SET {} WHERE id = ?1",
        clock_sets(group, 2)
    ))?
    .execute(params![lead_id, hlc])?;
    Ok(())
}

/// The columns a field group holds and the values `fields` gives them.
fn group_columns(fields: &LeadFields) -> Vec<(&'static str, Value)> {
    let text = |v: &Option<String>| v.clone().map_or(Value::Null, Value::Text);
    match fields {
        LeadFields::Identity { name, company } => {
            vec![("name", text(name)), ("company", text(company))]
        }
        LeadFields::Email {
            email,
            email_invalid,
        } => vec![
            ("email", text(email)),
            ("email_invalid", Value::Integer(*email_invalid as i64)),
        ],
        LeadFields::Phone { phone } => vec![("phone", text(phone))],
        LeadFields::Postal {
            address,
            country,
            time_zone,
        } => vec![
            ("address", text(address)),
            ("country", text(country)),
            ("time_zone", text(time_zone)),
        ],
        LeadFields::Workflow {
            status,
            owner,
            next_follow_up_at,
        } => vec![
            ("status", Value::Text(status.as_str().to_string())),
            ("owner", text(owner)),
            ("next_follow_up_at", text(&next_follow_up_at.map(to_text))),
        ],
        LeadFields::Office { office } => vec![("office", text(office))],
    }
}

/// Writes a pulled field group's values with their stamp (the caller decided it wins) and
/// refreshes the search entry when a searched field changed.
pub fn write_group(conn: &Connection, id: &str, fields: &LeadFields, hlc: &str) -> Result<()> {
    let columns = group_columns(fields);
    let sets: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, (column, _))| format!("{column} = ?{}", i + 2))
        .collect();
    let sql = format!(
        "UPDATE lead SET {}, {} WHERE id = ?1",
        sets.join(", "),
        clock_sets(fields.group(), columns.len() + 2)
    );
    let mut values = vec![Value::Text(id.to_string())];
    values.extend(columns.into_iter().map(|(_, v)| v));
    values.push(Value::Text(hlc.to_string()));
    conn.prepare_cached(&sql)?
        .execute(params_from_iter(values))?;
    if matches!(
        fields.group(),
        FieldGroup::Identity | FieldGroup::Email | FieldGroup::Phone
    ) {
        refresh_search(conn, id)?;
    }
    Ok(())
}

/// Whether the lead holds exactly these values in the group.
pub fn holds_group(conn: &Connection, id: &str, fields: &LeadFields) -> Result<bool> {
    let columns = group_columns(fields);
    let tests: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, (column, _))| format!(" AND {column} IS ?{}", i + 2))
        .collect();
    let sql = format!("SELECT count(*) FROM lead WHERE id = ?1{}", tests.concat());
    let mut values = vec![Value::Text(id.to_string())];
    values.extend(columns.into_iter().map(|(_, v)| v));
    let same: i64 = conn
        .prepare_cached(&sql)?
        .query_row(params_from_iter(values), |r| r.get(0))?;
    Ok(same == 1)
}

/// Removes a lead row and its search entry (a lead that left this replica's office; the caller
/// has removed its records). Returns whether it was here.
pub fn delete(conn: &Connection, lead_id: &str) -> Result<bool> {
    let rowid: Option<i64> = conn
        .prepare_cached("SELECT rowid FROM lead WHERE id = ?1")?
        .query_row([lead_id], |r| r.get(0))
        .optional()?;
    let Some(rowid) = rowid else {
        return Ok(false);
    };
    conn.prepare_cached("DELETE FROM lead_search WHERE rowid = ?1")?
        .execute([rowid])?;
    conn.prepare_cached("DELETE FROM lead WHERE id = ?1")?
        .execute([lead_id])?;
    Ok(true)
}

/// Reads a text column holding one of an enum's names (channel, scope, kind…); a name this
/// build does not know is a conversion error naming the column.
pub fn parsed_column<T>(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<T>
where
    T: std::str::FromStr,
    T::Err: std::error::Error + Send + Sync + 'static,
{
    let text: String = row.get(index)?;
    text.parse().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, Box::new(e))
    })
}

#[cfg(test)]
mod tests;
