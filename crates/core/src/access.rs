//! The access report: one document with everything held about a person — the lead, its
//! registrations with their web metadata, follow-ups, consent, subscriber requests, the audit
//! trail and every disclosure to a partner.

use crate::consent::{self, ConsentState};
use crate::correct::corrected_fields;
use crate::disclosure::{self, Disclosure};
use crate::error::Result;
use crate::leads::{self, parse_time};
use crate::requests;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use switchboard_protocol::{AuditEntry, FollowUp, Lead, Registration, SubscriberRequest};

/// Everything held about one person, as one serialisable document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessReport {
    pub lead: Lead,
    /// Fields the person corrected (registrations no longer overwrite them).
    pub corrected_fields: Vec<String>,
    /// When the person was erased, if they were; the rest is then a PII-free skeleton.
    pub erased_at: Option<DateTime<Utc>>,
    /// Every registration, oldest first, with IP, browser, referrer and pages visited.
    pub registrations: Vec<Registration>,
    /// Every follow-up, oldest first.
    pub follow_ups: Vec<FollowUp>,
    /// Consent events and the opt-outs that hold.
    pub consent: ConsentState,
    /// Every subscriber request, oldest first.
    pub subscriber_requests: Vec<SubscriberRequest>,
    /// Every audit entry about the person, oldest first.
    pub audit: Vec<AuditEntry>,
    /// Every disclosure to a reseller, distributor or office, oldest first.
    pub disclosures: Vec<Disclosure>,
}

/// Builds the access report for a lead.
pub fn report(conn: &Connection, lead_id: &str) -> Result<AccessReport> {
    let lead = leads::get(conn, lead_id)?;
    let erased_at: Option<String> = conn
        .prepare_cached("SELECT erased_at FROM lead WHERE id = ?1")?
        .query_row([lead_id], |r| r.get(0))
        .optional()?
        .flatten();
    Ok(AccessReport {
        corrected_fields: corrected_fields(conn, lead_id)?,
        erased_at: parse_time(erased_at),
        registrations: registrations(conn, lead_id)?,
        follow_ups: follow_ups(conn, lead_id)?,
        consent: consent::state(conn, lead_id)?,
        subscriber_requests: requests::for_lead(conn, lead_id)?,
        audit: audit_entries(conn, lead_id)?,
        disclosures: disclosure::for_lead(conn, lead_id)?,
        lead,
    })
}

fn text_err(index: usize, e: switchboard_protocol::UnknownValue) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, Box::new(e))
}

fn registrations(conn: &Connection, lead_id: &str) -> Result<Vec<Registration>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, lead_id, submission_id, kind, product, submitted_at, name, company, email,
                phone, address, country, ip, user_agent, referrer, pages_visited, form_version
         FROM registration WHERE lead_id = ?1 ORDER BY submitted_at, id",
    )?;
    let rows = stmt.query_map([lead_id], registration_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn registration_from_row(r: &Row<'_>) -> rusqlite::Result<Registration> {
    let kind: String = r.get(3)?;
    let pages: String = r.get(15)?;
    Ok(Registration {
        id: r.get(0)?,
        lead_id: r.get(1)?,
        submission_id: r.get(2)?,
        kind: kind.parse().map_err(|e| text_err(3, e))?,
        product: r.get(4)?,
        submitted_at: parse_time(r.get(5)?).unwrap_or_default(),
        name: r.get(6)?,
        company: r.get(7)?,
        email: r.get(8)?,
        phone: r.get(9)?,
        address: r.get(10)?,
        country: r.get(11)?,
        ip: r.get(12)?,
        user_agent: r.get(13)?,
        referrer: r.get(14)?,
        // A malformed list is shown as its raw text rather than hidden from the person.
        pages_visited: serde_json::from_str(&pages).unwrap_or_else(|_| vec![pages]),
        form_version: r.get(16)?,
    })
}

fn follow_ups(conn: &Connection, lead_id: &str) -> Result<Vec<FollowUp>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, lead_id, channel, direction, outcome, note, occurred_at, rep,
                next_follow_up_at
         FROM follow_up WHERE lead_id = ?1 ORDER BY occurred_at, id",
    )?;
    let rows = stmt.query_map([lead_id], |r| {
        let channel: String = r.get(2)?;
        let direction: String = r.get(3)?;
        let outcome: String = r.get(4)?;
        Ok(FollowUp {
            id: r.get(0)?,
            lead_id: r.get(1)?,
            channel: channel.parse().map_err(|e| text_err(2, e))?,
            direction: direction.parse().map_err(|e| text_err(3, e))?,
            outcome: outcome.parse().map_err(|e| text_err(4, e))?,
            note: r.get(5)?,
            occurred_at: parse_time(r.get(6)?).unwrap_or_default(),
            rep: r.get(7)?,
            next_follow_up_at: parse_time(r.get(8)?),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn audit_entries(conn: &Connection, lead_id: &str) -> Result<Vec<AuditEntry>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, at, actor, lead_id, action, field, old_value, new_value
         FROM audit WHERE lead_id = ?1 ORDER BY at, id",
    )?;
    let rows = stmt.query_map([lead_id], |r| {
        Ok(AuditEntry {
            id: r.get(0)?,
            at: parse_time(r.get(1)?).unwrap_or_default(),
            actor: r.get(2)?,
            lead_id: r.get(3)?,
            action: r.get(4)?,
            field: r.get(5)?,
            old_value: r.get(6)?,
            new_value: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
