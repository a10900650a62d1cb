//! The access report: one document with everything held about a person — the lead, its
//! registrations with their web metadata, follow-ups, consent, subscriber requests, the audit
//! trail and every disclosure to a partner.

use crate::compliance::consent::{self, ConsentState};
use crate::error::CoreError;
use crate::error::Result;
use crate::partners::disclosure::{self, Disclosure};
use crate::people::leads::{self, parse_time};
use crate::people::registration;
use crate::privacy::correct::corrected_fields;
use crate::privacy::requests;
use crate::store::audit;
use chrono::{DateTime, Utc};
use rusqlite::Connection;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;
use switchboard_protocol::{
    AuditEntry, FollowUp, Lead, Registration, RequestKind, SubscriberRequest,
};
use ts_rs::TS;

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
    let erased_at = leads::erased_at(conn, lead_id)?;
    Ok(AccessReport {
        corrected_fields: corrected_fields(conn, lead_id)?,
        erased_at: parse_time(erased_at),
        registrations: registration::for_lead(conn, lead_id)?,
        follow_ups: crate::outreach::followup::for_lead(conn, lead_id)?,
        consent: consent::state(conn, lead_id)?,
        subscriber_requests: requests::for_lead(conn, lead_id)?,
        audit: audit::for_lead(conn, lead_id)?,
        disclosures: disclosure::for_lead(conn, lead_id)?,
        lead,
    })
}

/// Where an access report was written and what it holds, in counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct AccessExport {
    pub lead_id: String,
    /// The file the JSON report was written to.
    pub path: String,
    pub registrations: u32,
    pub follow_ups: u32,
    /// The `access` subscriber request recorded as done.
    pub request_id: String,
}

/// Carries out an access request for a lead (id or email): records it as done and writes the
/// report as JSON to `path`. Call inside a transaction (`Store::with_tx`): when the file cannot
/// be written the error rolls the request back, so it is never on file as done without a report.
pub fn export_to_file(
    conn: &Connection,
    lead_ref: &str,
    path: &Path,
    actor: &str,
    at: DateTime<Utc>,
) -> Result<AccessExport> {
    let lead = leads::find(conn, lead_ref)?;
    let request = requests::fulfil(conn, &lead.id, RequestKind::Access, None, actor, at)?;
    let held = report(conn, &lead.id)?;
    let mut text = serde_json::to_vec_pretty(&held)
        .map_err(|e| CoreError::BadInput(format!("cannot encode the access report: {e}")))?;
    text.push(b'\n');
    let context = || format!("writing the access report to {}", path.display());
    let mut file = std::fs::File::create(path).map_err(|e| CoreError::io(context(), e))?;
    file.write_all(&text)
        .and_then(|_| file.sync_all())
        .map_err(|e| CoreError::io(context(), e))?;
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    Ok(AccessExport {
        lead_id: lead.id,
        path: path.display().to_string(),
        registrations: count(held.registrations.len()),
        follow_ups: count(held.follow_ups.len()),
        request_id: request.id,
    })
}

#[cfg(test)]
mod tests;
