//! Leads: reading them, creating them, and changing their fields with clock, audit, search index
//! and outbox kept in step. Every write to a lead's fields goes through `insert` or `set_fields`.

use crate::clock::to_text;
use crate::error::{CoreError, Result};
use crate::hlc::Hlc;
use crate::store::audit;
use crate::store::outbox::{self, Entity};
use crate::store::settings::next_hlc;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};
pub use switchboard_protocol::FieldGroup;
use switchboard_protocol::{Lead, LeadStatus, Outcome};

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
    /// Every field.
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
    insert_stamped(conn, id, lead, at, &clock)
}

/// `insert` with a clock stamp the caller took (a bulk writer reserves stamps per transaction).
pub fn insert_stamped(
    conn: &Connection,
    id: &str,
    lead: &NewLead,
    at: DateTime<Utc>,
    clock: &Hlc,
) -> Result<()> {
    let clock = clock.to_string();
    conn.prepare_cached(
        "INSERT INTO lead(id, office, name, company, email, phone, address, country, time_zone,
                          owner, created_at, last_registered_at, clock_identity, clock_email,
                          clock_phone, clock_postal, clock_workflow, clock_office)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?13, ?13, ?13, ?13, ?13)",
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
    conn.prepare_cached(
        "INSERT INTO lead_search(rowid, name, company, email, phone) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        rowid,
        lead.name,
        lead.company,
        lead.email,
        lead.phone
    ])?;
    // One outbox entry for a new lead: the push sends every field group.
    outbox::enqueue(conn, Entity::LeadFields, id, Some("*"))?;
    Ok(())
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
        audit::record(
            conn,
            actor,
            at,
            audit::Change {
                lead_id: Some(lead_id),
                action,
                field: Some(field.column()),
                old_value: old.as_deref(),
                new_value: new.as_deref(),
            },
        )?;
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
        let clock = next_hlc(conn, at)?.to_string();
        conn.execute(
            &format!("UPDATE lead SET clock_{group} = ?1 WHERE id = ?2"),
            params![clock, lead_id],
        )?;
        outbox::enqueue(conn, Entity::LeadFields, lead_id, Some(group.as_str()))?;
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
    let clock = next_hlc(conn, at)?.to_string();
    conn.prepare_cached("UPDATE lead SET email_invalid = ?1, clock_email = ?2 WHERE id = ?3")?
        .execute(params![invalid as i64, clock, lead_id])?;
    audit::record(
        conn,
        actor,
        at,
        audit::Change {
            lead_id: Some(lead_id),
            action,
            field: Some("email_invalid"),
            old_value: Some(if old != 0 { "1" } else { "0" }),
            new_value: Some(if invalid { "1" } else { "0" }),
        },
    )?;
    outbox::enqueue(
        conn,
        Entity::LeadFields,
        lead_id,
        Some(FieldGroup::Email.as_str()),
    )?;
    Ok(true)
}

/// Rewrites a lead's entry in the full-text index from its current fields (none once erased).
pub fn refresh_search(conn: &Connection, lead_id: &str) -> Result<()> {
    let (rowid, name, company, email, phone, status): (
        i64,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        String,
    ) = conn
        .prepare_cached(
            "SELECT rowid, name, company, email, phone, status FROM lead WHERE id = ?1",
        )?
        .query_row([lead_id], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .optional()?
        .ok_or_else(|| CoreError::NotFound(format!("no lead with id {lead_id}")))?;
    conn.prepare_cached("DELETE FROM lead_search WHERE rowid = ?1")?
        .execute([rowid])?;
    if status != LeadStatus::Erased.as_str() {
        conn.prepare_cached(
            "INSERT INTO lead_search(rowid, name, company, email, phone) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![rowid, name, company, email, phone])?;
    }
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
mod tests {
    use super::*;
    use crate::clock::new_id;
    use crate::{FixedClock, Store};
    use chrono::TimeZone;
    use std::sync::Arc;

    fn store() -> Store {
        let at = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
        Store::open_in_memory(Arc::new(FixedClock::at(at))).unwrap()
    }

    fn ann() -> NewLead {
        NewLead {
            name: Some("Ann Example".into()),
            company: Some("Acme".into()),
            email: Some("ann@example.com".into()),
            phone: Some("+4930123456".into()),
            country: Some("DE".into()),
            ..NewLead::default()
        }
    }

    #[test]
    fn a_lead_is_found_by_id_and_by_email() {
        let mut s = store();
        let now = s.now();
        let id = new_id(now);
        s.with_tx(|tx| insert(tx, &id, &ann(), now)).unwrap();
        assert_eq!(
            get(s.conn(), &id).unwrap().name.as_deref(),
            Some("Ann Example")
        );
        assert_eq!(find(s.conn(), " ANN@example.com ").unwrap().id, id);
        assert_eq!(
            find(s.conn(), "nobody@example.com").unwrap_err().code(),
            "not_found"
        );
        assert_eq!(list_new(s.conn(), 10, 0).unwrap().len(), 1);
    }

    #[test]
    fn changing_fields_audits_stamps_and_queues_each_group_once() {
        let mut s = store();
        let now = s.now();
        let id = new_id(now);
        s.with_tx(|tx| insert(tx, &id, &ann(), now)).unwrap();
        let before: String = s
            .conn()
            .query_row("SELECT clock_identity FROM lead", [], |r| r.get(0))
            .unwrap();
        let changed = s
            .with_tx(|tx| {
                set_fields(
                    tx,
                    &id,
                    &[
                        (LeadField::Name, Some("Ann Sample".into())),
                        (LeadField::Company, Some("Acme".into())),
                        (LeadField::Email, Some("ann@sample.org".into())),
                    ],
                    "rep1",
                    "correct",
                    now,
                )
            })
            .unwrap();
        assert_eq!(changed.len(), 2, "the unchanged company is skipped");
        let after: String = s
            .conn()
            .query_row("SELECT clock_identity FROM lead", [], |r| r.get(0))
            .unwrap();
        assert!(after > before);
        let audits: i64 = s
            .conn()
            .query_row("SELECT count(*) FROM audit", [], |r| r.get(0))
            .unwrap();
        assert_eq!(audits, 2);
        let groups: Vec<String> = s
            .conn()
            .prepare("SELECT detail FROM outbox WHERE entity = 'lead_fields' ORDER BY seq")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(groups, vec!["*", "identity", "email"]);
        let hits: i64 = s
            .conn()
            .query_row(
                "SELECT count(*) FROM lead_search WHERE lead_search MATCH 'sample'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(hits, 1);
    }

    #[test]
    fn unknown_field_names_list_the_known_ones() {
        let err = LeadField::parse("shoe_size").unwrap_err().to_string();
        assert!(err.contains("shoe_size") && err.contains("email"), "{err}");
    }
}
