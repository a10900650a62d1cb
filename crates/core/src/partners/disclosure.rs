//! The disclosure ledger: each time a person's information left for a partner — to whom, which
//! fields, which country, on what basis, when, by whom. Rows hold field names, never values, so
//! an erased person's ledger identifies the record for the partner and nothing more.

use crate::clock::{new_id, to_text};
use crate::error::Result;
use crate::partners::{fields_from_text, fields_text, Partner, ShareField, TransferBasis};
use crate::people::leads::parse_time;
use crate::store::outbox::{self, Entity};
use chrono::{DateTime, Utc};
use rusqlite::OptionalExtension;
use rusqlite::{params, Connection, Row};
use serde::Serialize;

pub use switchboard_protocol::Disclosure;

/// Records a disclosure (and queues it for sync) inside the caller's transaction.
pub fn record(
    conn: &Connection,
    lead_id: &str,
    partner: &Partner,
    partner_ref: &str,
    fields: &[ShareField],
    actor: &str,
    at: DateTime<Utc>,
) -> Result<Disclosure> {
    let d = Disclosure {
        id: new_id(at),
        lead_id: lead_id.to_string(),
        partner_id: partner.id.clone(),
        partner_name: partner.name.clone(),
        partner_ref: partner_ref.to_string(),
        fields: fields.to_vec(),
        country: partner.country.clone(),
        basis: partner.basis,
        // Stored with millisecond precision: the record must read back equal to what was made.
        disclosed_at: DateTime::from_timestamp_millis(at.timestamp_millis()).unwrap_or(at),
        disclosed_by: actor.to_string(),
    };
    store(conn, &d)?;
    outbox::enqueue(conn, Entity::Disclosure, &d.id, None)?;
    Ok(d)
}

/// Writes a disclosure as given (a local one, or one received by sync); idempotent by id.
/// Returns whether it was new.
pub fn store(conn: &Connection, d: &Disclosure) -> Result<bool> {
    let inserted = conn
        .prepare_cached(
            "INSERT INTO disclosure(id, lead_id, partner_id, partner_name, partner_ref, fields,
                                country, basis, disclosed_at, disclosed_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT(id) DO NOTHING",
        )?
        .execute(params![
            d.id,
            d.lead_id,
            d.partner_id,
            d.partner_name,
            d.partner_ref,
            fields_text(&d.fields),
            d.country,
            d.basis.as_str(),
            to_text(d.disclosed_at),
            d.disclosed_by
        ])?;
    Ok(inserted > 0)
}

/// Stores a disclosure pulled from the central store; skipped when this replica does not hold
/// the lead (it belongs to another office). Returns whether it was new.
pub fn apply_remote(conn: &Connection, d: &Disclosure) -> Result<bool> {
    let held = conn
        .prepare_cached("SELECT 1 FROM lead WHERE id = ?1")?
        .query_row([&d.lead_id], |_| Ok(()))
        .optional()?
        .is_some();
    if !held {
        return Ok(false);
    }
    store(conn, d)
}

const COLUMNS: &str = "id, lead_id, partner_id, partner_name, partner_ref, fields, country, \
    basis, disclosed_at, disclosed_by";

fn from_row(row: &Row<'_>) -> rusqlite::Result<Disclosure> {
    let fields: String = row.get(5)?;
    let basis: String = row.get(7)?;
    Ok(Disclosure {
        id: row.get(0)?,
        lead_id: row.get(1)?,
        partner_id: row.get(2)?,
        partner_name: row.get(3)?,
        partner_ref: row.get(4)?,
        fields: fields_from_text(&fields),
        country: row.get(6)?,
        basis: basis.parse().unwrap_or(TransferBasis::Scc),
        disclosed_at: parse_time(row.get(8)?).unwrap_or_default(),
        disclosed_by: row.get(9)?,
    })
}

/// The disclosure with this id, if recorded here.
pub fn get(conn: &Connection, id: &str) -> Result<Option<Disclosure>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM disclosure WHERE id = ?1"))?
        .query_row([id], from_row)
        .optional()?)
}

/// Every disclosure of one person, oldest first (for the lead timeline and the access report).
pub fn for_lead(conn: &Connection, lead_id: &str) -> Result<Vec<Disclosure>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM disclosure WHERE lead_id = ?1 ORDER BY disclosed_at, rowid"
    ))?;
    let rows = stmt.query_map([lead_id], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// One partner that received a person's data, with every field it received from any share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Recipient {
    pub partner_id: String,
    pub partner_name: String,
    pub partner_ref: String,
    pub fields: Vec<ShareField>,
}

/// The partners that received a person's data, by name.
pub fn recipients(conn: &Connection, lead_id: &str) -> Result<Vec<Recipient>> {
    let mut out: Vec<Recipient> = Vec::new();
    for d in for_lead(conn, lead_id)? {
        match out.iter_mut().find(|r| r.partner_id == d.partner_id) {
            Some(r) => {
                r.fields.extend(d.fields);
                crate::partners::normalise_fields(&mut r.fields);
            }
            None => out.push(Recipient {
                partner_id: d.partner_id,
                partner_name: d.partner_name,
                partner_ref: d.partner_ref,
                fields: d.fields,
            }),
        }
    }
    out.sort_by(|a, b| a.partner_name.cmp(&b.partner_name));
    Ok(out)
}

/// Which disclosures a report covers; every part is optional.
#[derive(Debug, Clone, Default)]
pub struct ReportFilter {
    /// A partner id.
    pub partner_id: Option<String>,
    /// ISO country code of the recipient.
    pub country: Option<String>,
    /// From this instant, inclusive.
    pub since: Option<DateTime<Utc>>,
    /// Until this instant, exclusive.
    pub until: Option<DateTime<Utc>>,
}

/// Totals for one partner in a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartnerTotal {
    pub partner_id: String,
    pub partner_name: String,
    pub country: String,
    pub basis: TransferBasis,
    /// Disclosures (one per person per share).
    pub disclosures: u64,
    /// Distinct people.
    pub people: u64,
}

/// A disclosure report: totals by partner and the rows themselves, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub totals: Vec<PartnerTotal>,
    pub disclosures: Vec<Disclosure>,
}

/// The disclosures matching `filter`, with totals by partner.
pub fn report(conn: &Connection, filter: &ReportFilter) -> Result<Report> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM disclosure
         WHERE (?1 IS NULL OR partner_id = ?1)
           AND (?2 IS NULL OR country = ?2)
           AND (?3 IS NULL OR disclosed_at >= ?3)
           AND (?4 IS NULL OR disclosed_at < ?4)
         ORDER BY disclosed_at, rowid"
    ))?;
    let rows = stmt.query_map(
        params![
            filter.partner_id,
            filter
                .country
                .as_ref()
                .map(|c| c.trim().to_ascii_uppercase()),
            filter.since.map(to_text),
            filter.until.map(to_text)
        ],
        from_row,
    )?;
    let disclosures: Vec<Disclosure> = rows.collect::<rusqlite::Result<_>>()?;
    let mut totals: Vec<(PartnerTotal, std::collections::BTreeSet<String>)> = Vec::new();
    for d in &disclosures {
        let at = match totals
            .iter()
            .position(|(t, _)| t.partner_id == d.partner_id)
        {
            Some(i) => i,
            None => {
                totals.push((
                    PartnerTotal {
                        partner_id: d.partner_id.clone(),
                        partner_name: d.partner_name.clone(),
                        country: d.country.clone(),
                        basis: d.basis,
                        disclosures: 0,
                        people: 0,
                    },
                    Default::default(),
                ));
                totals.len() - 1
            }
        };
        let (total, people) = &mut totals[at];
        total.disclosures += 1;
        people.insert(d.lead_id.clone());
        total.people = people.len() as u64;
    }
    let mut totals: Vec<PartnerTotal> = totals.into_iter().map(|(t, _)| t).collect();
    totals.sort_by(|a, b| a.partner_name.cmp(&b.partner_name));
    Ok(Report {
        totals,
        disclosures,
    })
}
