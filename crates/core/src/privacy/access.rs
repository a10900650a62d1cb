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
mod tests {
    use super::*;
    use crate::fixtures::*;

    use chrono::Duration;
    use switchboard_protocol::{Channel, RequestKind};

    const PII: &[&str] = &[
        NAME,
        "Quarksmith",
        EMAIL,
        PHONE,
        "90182044",
        IP,
        IP_2,
        USER_AGENT,
        REFERRER,
        PAGE,
        ADDRESS,
        "z.quarksmith@newmail.example",
    ];

    #[test]
    fn the_report_holds_everything_before_erasure_and_no_personal_data_after() {
        let (mut store, clock) = memory_store();
        let id = person(&mut store);
        clock.advance(Duration::days(1));
        let at = store.now();
        store
            .with_tx(|tx| {
                crate::privacy::correct::correct(
                    tx,
                    &id,
                    &[("email".into(), "z.quarksmith@newmail.example".into())],
                    "rep1",
                    at,
                )?;
                crate::privacy::requests::open(tx, &id, RequestKind::Access, None, at, "mgr")
            })
            .unwrap();

        let full = report(store.conn(), &id).unwrap();
        assert_eq!(full.lead.id, id);
        assert_eq!(full.registrations.len(), 2);
        let first = &full.registrations[0];
        assert_eq!(first.name.as_deref(), Some(NAME));
        assert_eq!(first.user_agent.as_deref(), Some(USER_AGENT));
        assert_eq!(first.referrer.as_deref(), Some(REFERRER));
        assert_eq!(first.pages_visited[0], PAGE);
        let ips: Vec<_> = full
            .registrations
            .iter()
            .filter_map(|r| r.ip.as_deref())
            .collect();
        assert!(ips.contains(&IP) && ips.contains(&IP_2));
        assert_eq!(full.follow_ups.len(), 2);
        assert!(full.follow_ups.iter().all(|f| f.note.is_some()));
        assert_eq!(full.consent.events.len(), 1);
        assert!(full.consent.is_opted_out(Channel::Mail));
        assert_eq!(
            full.subscriber_requests.len(),
            2,
            "the correction and the access request"
        );
        assert!(full
            .audit
            .iter()
            .any(|a| a.old_value.as_deref() == Some(EMAIL)));
        assert_eq!(full.corrected_fields, ["email"]);
        assert_eq!(full.erased_at, None);
        assert!(full.disclosures.is_empty());
        let json = serde_json::to_string(&full).unwrap();
        for needle in [NAME, IP, IP_2, USER_AGENT, REFERRER, PAGE, EMAIL] {
            assert!(json.contains(needle), "the report shows {needle}");
        }

        clock.advance(Duration::days(1));
        crate::privacy::erase::erase(&mut store, &id, "mgr").unwrap();
        let after = report(store.conn(), &id).unwrap();
        let json = serde_json::to_string_pretty(&after).unwrap().to_lowercase();
        for needle in PII {
            assert!(
                !json.contains(&needle.to_lowercase()),
                "{needle} is still reported after erasure:\n{json}"
            );
        }
        assert!(after.erased_at.is_some());
        assert_eq!(after.registrations.len(), 2, "the skeleton still counts");
        assert_eq!(after.follow_ups.len(), 2);
        assert!(
            after.consent.is_opted_out(Channel::Mail),
            "consent still holds"
        );
        assert!(after
            .subscriber_requests
            .iter()
            .any(|r| r.kind == RequestKind::Erase));
    }

    #[test]
    fn disclosures_to_partners_are_in_the_report() {
        let (mut store, _clock) = memory_store();
        let id = person(&mut store);
        let at = store.now();
        store
            .with_tx(|tx| {
                tx.execute(
                    "INSERT INTO disclosure(id, lead_id, partner_id, partner_name, partner_ref,
                                            fields, country, basis, disclosed_at, disclosed_by)
                     VALUES ('d1', ?1, 'p1', 'Nordic Resale AB', 'NR-1', 'name,email', 'SE',
                             'none_needed', ?2, 'mgr')",
                    rusqlite::params![id, crate::clock::to_text(at)],
                )?;
                Ok(())
            })
            .unwrap();
        let report = report(store.conn(), &id).unwrap();
        assert_eq!(report.disclosures.len(), 1);
        assert_eq!(report.disclosures[0].partner_name, "Nordic Resale AB");
        assert_eq!(report.disclosures[0].country, "SE");
    }

    #[test]
    fn an_export_writes_the_report_and_records_the_request_only_when_the_file_is_written() {
        let (mut store, _clock) = memory_store();
        let id = person(&mut store);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("access.json");
        let at = store.now();
        let done = store
            .with_tx(|tx| export_to_file(tx, EMAIL, &path, "mgr", at))
            .unwrap();
        assert_eq!(done.lead_id, id);
        assert_eq!(done.registrations, 2);
        let written: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        // Both registrations share one instant in the fixture, so their order is the ids' order.
        let mut ips: Vec<&str> = written["registrations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|registration| registration["ip"].as_str().unwrap())
            .collect();
        ips.sort_unstable();
        let mut expected = vec![IP, IP_2];
        expected.sort_unstable();
        assert_eq!(ips, expected);
        let request = requests::get(store.conn(), &done.request_id).unwrap();
        assert_eq!(request.kind, RequestKind::Access);

        let nowhere = dir.path().join("missing-folder").join("access.json");
        let err = store
            .with_tx(|tx| export_to_file(tx, &id, &nowhere, "mgr", at))
            .unwrap_err();
        assert_eq!(err.code(), "io");
        let access_requests = requests::for_lead(store.conn(), &id)
            .unwrap()
            .into_iter()
            .filter(|r| r.kind == RequestKind::Access)
            .count();
        assert_eq!(
            access_requests, 1,
            "the failed export left no request behind"
        );
    }

    #[test]
    fn an_unknown_lead_is_not_found() {
        let (store, _clock) = memory_store();
        assert_eq!(
            report(store.conn(), "missing").unwrap_err().code(),
            "not_found"
        );
    }
}
