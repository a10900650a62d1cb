//! Erasure: purging every byte of a person's personal information from the store — lead fields,
//! registrations with their web metadata, follow-up notes, consent evidence, request details,
//! audit values and search index entries — while a non-identifying skeleton keeps managers'
//! counts right and keyed-hash suppression recognises the person if they turn up again.

use crate::clock::to_text;
use crate::compliance::consent;
use crate::compliance::suppression::{self, Identifier};
use crate::error::{CoreError, Result};
use crate::normalize::{normalize_email, normalize_phone};
use crate::outreach::{followup, mail};
use crate::partners::notices;
use crate::people::leads::{self, parse_time};
use crate::people::registration;
use crate::privacy::requests;
use crate::store::audit;
use crate::store::outbox::{self, Entity};
use crate::store::scrub;
pub use crate::store::scrub::{scrub_if_pending, scrub_wal};
use crate::store::Store;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use switchboard_protocol::{LeadErased, LeadStatus, RequestKind, SuppressionHash, SuppressionKind};
use ts_rs::TS;

/// What an erasure removed, in counts, and the suppression hashes it added. Holds no PII.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ErasureReport {
    pub lead_id: String,
    pub erased_at: DateTime<Utc>,
    pub erased_by: String,
    /// Personal fields of the lead that held a value.
    pub lead_fields: usize,
    /// Registrations whose personal fields and web metadata were purged.
    pub registrations: usize,
    /// Follow-up notes removed (the follow-ups themselves stay, for counts).
    pub follow_up_notes: usize,
    /// Consent events whose evidence was removed (the events stay: they still block contact).
    pub consent_evidence: usize,
    /// Subscriber requests whose detail was removed.
    pub request_details: usize,
    /// Audit entries whose old and new values were removed.
    pub audit_entries: usize,
    /// Keyed hashes of every normalised email and phone the person had.
    pub hashes: Vec<SuppressionHash>,
    /// The `erase` subscriber request recorded as done.
    pub request_id: Option<String>,
    /// Whether the WAL was checkpointed and truncated, so no old page image remains in it.
    /// False when another connection was reading; the next checkpoint finishes the job.
    pub wal_truncated: bool,
}

/// The purge of one person inside a transaction, shared by a local erasure and one pulled from
/// the central store.
#[derive(Debug, Default)]
struct Purged {
    lead_fields: usize,
    registrations: usize,
    follow_up_notes: usize,
    consent_evidence: usize,
    request_details: usize,
    audit_entries: usize,
    identifiers: BTreeSet<(Kind, String)>,
}

impl Purged {
    /// The report of this purge (the WAL not yet scrubbed).
    fn report(
        self,
        lead_id: &str,
        at: DateTime<Utc>,
        by: &str,
        hashes: Vec<SuppressionHash>,
        request_id: Option<String>,
    ) -> ErasureReport {
        ErasureReport {
            lead_id: lead_id.to_string(),
            erased_at: at,
            erased_by: by.to_string(),
            lead_fields: self.lead_fields,
            registrations: self.registrations,
            follow_up_notes: self.follow_up_notes,
            consent_evidence: self.consent_evidence,
            request_details: self.request_details,
            audit_entries: self.audit_entries,
            hashes,
            request_id,
            wal_truncated: false,
        }
    }
}

/// Sort key for identifiers: email before phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Email,
    Phone,
}

impl Kind {
    fn identifier(self) -> Identifier {
        match self {
            Kind::Email => Identifier::Email,
            Kind::Phone => Identifier::Phone,
        }
    }

    fn suppression_kind(self) -> SuppressionKind {
        match self {
            Kind::Email => SuppressionKind::Email,
            Kind::Phone => SuppressionKind::Phone,
        }
    }
}

/// Erases a person: purges their personal information in one transaction, suppresses their
/// emails and phones, records the erasure for sync and an `erase` request as done, then
/// checkpoints and truncates the WAL so the old page images leave the disk.
pub fn erase(store: &mut Store, lead_id: &str, actor: &str) -> Result<ErasureReport> {
    let at = store.now();
    let mut report = store.with_tx(|tx| erase_in(tx, lead_id, actor, at))?;
    report.wal_truncated = scrub_wal(store.conn())?;
    Ok(report)
}

/// What erasing a lead would delete, for the confirmation a person gives before it happens: the
/// identity being purged and the counts the erasure would report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ErasurePreview {
    pub lead_id: String,
    pub name: Option<String>,
    pub company: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    /// Personal fields of the lead that hold a value.
    pub lead_fields: usize,
    /// Registrations whose personal fields, IP, browser, referrer and pages would be purged.
    pub registrations: usize,
    pub follow_up_notes: usize,
    pub consent_evidence: usize,
    pub request_details: usize,
    /// Audit entries whose old and new values would be removed.
    pub audit_entries: usize,
    /// Distinct emails and phones (current and earlier) that would be suppressed as hashes.
    pub identifiers: usize,
}

/// Previews `erase` by running it and rolling it back, so the counts are exactly what the
/// erasure would report; nothing is changed.
pub fn preview(store: &mut Store, lead_id: &str, actor: &str) -> Result<ErasurePreview> {
    let at = store.now();
    let tx = store.conn_mut().transaction()?;
    let lead = leads::get(&tx, lead_id)?;
    let report = erase_in(&tx, lead_id, actor, at)?;
    tx.rollback()?;
    Ok(ErasurePreview {
        lead_id: report.lead_id,
        name: lead.name,
        company: lead.company,
        email: lead.email,
        phone: lead.phone,
        address: lead.address,
        lead_fields: report.lead_fields,
        registrations: report.registrations,
        follow_up_notes: report.follow_up_notes,
        consent_evidence: report.consent_evidence,
        request_details: report.request_details,
        audit_entries: report.audit_entries,
        identifiers: report.hashes.len(),
    })
}

/// The transactional part of `erase`, for callers that hold their own transaction. The caller
/// must run `scrub_wal` after committing.
pub fn erase_in(
    conn: &Connection,
    lead_id: &str,
    actor: &str,
    at: DateTime<Utc>,
) -> Result<ErasureReport> {
    let lead = leads::get(conn, lead_id)?;
    if lead.status == LeadStatus::Erased {
        let when = leads::erased_at(conn, lead_id)?;
        return Err(CoreError::Conflict(format!(
            "lead {lead_id} was already erased at {}",
            when.unwrap_or_default()
        )));
    }
    // The request is fulfilled before the purge so that its own audit values are purged too.
    let request = requests::fulfil(conn, lead_id, RequestKind::Erase, None, actor, at)?;
    let purged = purge(conn, lead_id, at)?;
    let key = suppression::key(conn)?;
    let mut hashes = Vec::new();
    for (kind, normalised) in &purged.identifiers {
        let hash = suppression::hash(&key, kind.identifier(), normalised);
        suppression::add_hash(conn, kind.identifier(), &hash, at)?;
        hashes.push(SuppressionHash {
            kind: kind.suppression_kind(),
            hash,
        });
    }
    record_erasure(conn, lead_id, actor, at, &hashes)?;
    // Partners that received the person's data are owed a deletion notice.
    notices::on_erasure(conn, lead_id, at)?;
    let change = audit::Change {
        lead_id: Some(lead_id),
        action: "erase",
        ..audit::Change::default()
    };
    audit::record(conn, actor, at, change)?;
    outbox::enqueue(conn, Entity::Erasure, lead_id, None)?;
    Ok(purged.report(lead_id, at, actor, hashes, Some(request.id)))
}

/// Applies an erasure pulled from the central store inside the caller's transaction: purges the
/// person if this replica holds them, closes their open erasure requests and adds the hashes,
/// without queueing anything to push. Idempotent. The caller must run `scrub_wal` after committing.
pub fn apply_remote(conn: &Connection, op: &LeadErased) -> Result<ErasureReport> {
    let held = leads::exists(conn, &op.lead_id)?;
    let purged = if held {
        purge(conn, &op.lead_id, op.erased_at)?
    } else {
        Purged::default()
    };
    for h in &op.suppression_hashes {
        let identifier = match h.kind {
            SuppressionKind::Email => Identifier::Email,
            SuppressionKind::Phone => Identifier::Phone,
        };
        suppression::add_hash(conn, identifier, &h.hash, op.erased_at)?;
    }
    // The rep's own copy of the request this erasure carried out stops showing as open.
    requests::close_erased_elsewhere(conn, &op.lead_id, &op.by, op.erased_at)?;
    if held {
        record_erasure(
            conn,
            &op.lead_id,
            &op.by,
            op.erased_at,
            &op.suppression_hashes,
        )?;
        notices::on_erasure(conn, &op.lead_id, op.erased_at)?;
    }
    Ok(purged.report(
        &op.lead_id,
        op.erased_at,
        &op.by,
        op.suppression_hashes.clone(),
        None,
    ))
}

/// The recorded erasure of a lead, as the sync push sends it (`None` if it was not erased here).
pub fn recorded(conn: &Connection, lead_id: &str) -> Result<Option<LeadErased>> {
    let row: Option<(String, String, String)> = conn
        .prepare_cached("SELECT erased_at, erased_by, hashes FROM erasure WHERE lead_id = ?1")?
        .query_row([lead_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let Some((erased_at, by, hashes)) = row else {
        return Ok(None);
    };
    let suppression_hashes = serde_json::from_str(&hashes).map_err(|e| {
        CoreError::BadInput(format!("erasure of {lead_id} holds unreadable hashes: {e}"))
    })?;
    Ok(Some(LeadErased {
        lead_id: lead_id.to_string(),
        erased_at: parse_time(Some(erased_at)).unwrap_or_default(),
        by,
        suppression_hashes,
    }))
}

fn record_erasure(
    conn: &Connection,
    lead_id: &str,
    by: &str,
    at: DateTime<Utc>,
    hashes: &[SuppressionHash],
) -> Result<()> {
    let json = serde_json::to_string(hashes)
        .map_err(|e| CoreError::BadInput(format!("cannot encode suppression hashes: {e}")))?;
    conn.prepare_cached(
        "INSERT INTO erasure(lead_id, erased_at, erased_by, hashes) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(lead_id) DO NOTHING",
    )?
    .execute(params![lead_id, to_text(at), by, json])?;
    Ok(())
}

/// Shortest address spelling searched for inside other audit entries.
const MIN_QUOTED: usize = 6;

/// Removes the person's personal information and collects every normalised email and phone
/// they had, for suppression.
fn purge(conn: &Connection, lead_id: &str, at: DateTime<Utc>) -> Result<Purged> {
    let mut purged = Purged::default();
    scrub::mark_pending(conn, at)?;
    // Raw spellings too: audit entries elsewhere may quote an address as it was typed.
    let mut spellings: BTreeSet<String> = BTreeSet::new();
    let lead = leads::get(conn, lead_id)?;
    let country = lead.country.clone();

    let mut note = |kind: Kind, raw: &str, region: Option<&str>, purged: &mut Purged| {
        let raw = raw.trim();
        if raw.is_empty() {
            return;
        }
        spellings.insert(raw.to_lowercase());
        let normalised = match kind {
            Kind::Email => normalize_email(raw).ok(),
            Kind::Phone => normalize_phone(raw, region).ok(),
        };
        if let Some(n) = normalised {
            spellings.insert(n.to_lowercase());
            purged.identifiers.insert((kind, n));
        }
    };

    if let Some(e) = &lead.email {
        note(Kind::Email, e, None, &mut purged);
    }
    if let Some(p) = &lead.phone {
        note(Kind::Phone, p, country.as_deref(), &mut purged);
    }
    {
        let mut stmt = conn
            .prepare_cached("SELECT email, phone, country FROM registration WHERE lead_id = ?1")?;
        let rows = stmt.query_map([lead_id], |r| {
            Ok((
                r.get::<_, Option<String>>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        })?;
        for row in rows {
            let (email, phone, reg_country) = row?;
            if let Some(e) = email {
                note(Kind::Email, &e, None, &mut purged);
            }
            if let Some(p) = phone {
                let region = reg_country.or_else(|| country.clone());
                note(Kind::Phone, &p, region.as_deref(), &mut purged);
            }
        }
    }
    {
        // Earlier addresses survive only in the audit log (corrections, merges).
        let mut stmt = conn.prepare_cached(
            "SELECT field, old_value, new_value FROM audit
             WHERE lead_id = ?1 AND field IN ('email', 'phone')",
        )?;
        let rows = stmt.query_map([lead_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        })?;
        for row in rows {
            let (field, old, new) = row?;
            let kind = if field == "email" {
                Kind::Email
            } else {
                Kind::Phone
            };
            for value in [old, new].into_iter().flatten() {
                note(kind, &value, country.as_deref(), &mut purged);
            }
        }
    }

    purged.lead_fields = leads::purge(conn, &lead, at)?;
    purged.registrations = registration::purge_for_lead(conn, lead_id)?;
    purged.follow_up_notes = followup::purge_notes(conn, lead_id)?;
    mail::inbound::purge_for_lead(conn, lead_id)?;
    mail::outbox::purge_for_lead(conn, lead_id)?;
    purged.consent_evidence = consent::purge_evidence(conn, lead_id)?;
    purged.request_details = requests::purge_details(conn, lead_id)?;
    purged.audit_entries = audit::purge_values(conn, lead_id)?;
    // Entries about other leads or none (imports, merges) that quote the person's address.
    // Very short spellings are skipped: they would match unrelated values.
    for spelling in spellings.iter().filter(|s| s.chars().count() >= MIN_QUOTED) {
        purged.audit_entries += audit::purge_quoting(conn, lead_id, spelling)?;
        consent::purge_source_quoting(conn, lead_id, spelling)?;
    }
    Ok(purged)
}

#[cfg(test)]
mod tests;
