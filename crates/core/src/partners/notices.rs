//! Notices to partners: when a person whose data was shared is corrected or erased, every
//! partner that received it gets a notice (what changed, or that the record must be deleted),
//! tracked until the partner acknowledges it. Correction notices keep field names only; the new
//! values are read from the lead when the notice file is written, so no copy of personal
//! information waits here, and an erasure supersedes any correction not yet acknowledged.

use crate::clock::{new_id, to_text};
use crate::error::{CoreError, Result};
use crate::partners::disclosure;
use crate::partners::{fields_from_text, fields_text, ShareField};
use crate::people::leads::{self, parse_time, FieldChange, LeadField};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What a notice tells the partner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// Fields the partner holds were corrected.
    Correction,
    /// The person was erased: the partner must delete the record.
    Erasure,
}

impl NoticeKind {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::Correction => "correction",
            NoticeKind::Erasure => "erasure",
        }
    }
}

/// Where a notice stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeStatus {
    /// Not yet written to a file.
    Pending,
    /// Written; waiting for the partner's acknowledgement.
    Written,
    Acknowledged,
    /// A later erasure made this correction moot.
    Superseded,
}

impl NoticeStatus {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeStatus::Pending => "pending",
            NoticeStatus::Written => "written",
            NoticeStatus::Acknowledged => "acknowledged",
            NoticeStatus::Superseded => "superseded",
        }
    }

    fn parse(text: &str) -> NoticeStatus {
        match text {
            "written" => NoticeStatus::Written,
            "acknowledged" => NoticeStatus::Acknowledged,
            "superseded" => NoticeStatus::Superseded,
            _ => NoticeStatus::Pending,
        }
    }
}

/// A notice owed to one partner about one person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notice {
    pub id: String,
    pub partner_id: String,
    pub partner_name: String,
    pub lead_id: String,
    /// The reference the partner knows the record by.
    pub partner_ref: String,
    pub kind: NoticeKind,
    /// For a correction: the fields the partner holds that changed.
    pub fields: Vec<ShareField>,
    pub status: NoticeStatus,
    pub created_at: DateTime<Utc>,
    pub written_at: Option<DateTime<Utc>>,
    pub written_to: Option<String>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub acknowledged_by: Option<String>,
}

const COLUMNS: &str = "id, partner_id, partner_name, lead_id, partner_ref, kind, fields, status, \
    created_at, written_at, written_to, acknowledged_at, acknowledged_by";

fn from_row(row: &Row<'_>) -> rusqlite::Result<Notice> {
    let kind: String = row.get(5)?;
    let fields: String = row.get(6)?;
    let status: String = row.get(7)?;
    Ok(Notice {
        id: row.get(0)?,
        partner_id: row.get(1)?,
        partner_name: row.get(2)?,
        lead_id: row.get(3)?,
        partner_ref: row.get(4)?,
        kind: if kind == "erasure" {
            NoticeKind::Erasure
        } else {
            NoticeKind::Correction
        },
        fields: fields_from_text(&fields),
        status: NoticeStatus::parse(&status),
        created_at: parse_time(row.get(8)?).unwrap_or_default(),
        written_at: parse_time(row.get(9)?),
        written_to: row.get(10)?,
        acknowledged_at: parse_time(row.get(11)?),
        acknowledged_by: row.get(12)?,
    })
}

/// The share field a lead field is sent as, if it is ever shared.
fn share_field(field: LeadField) -> Option<ShareField> {
    match field {
        LeadField::Name => Some(ShareField::Name),
        LeadField::Company => Some(ShareField::Company),
        LeadField::Email => Some(ShareField::Email),
        LeadField::Phone => Some(ShareField::Phone),
        LeadField::Address => Some(ShareField::Address),
        LeadField::Country => Some(ShareField::Country),
        _ => None,
    }
}

fn insert(conn: &Connection, n: &Notice) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO partner_notice(id, partner_id, partner_name, lead_id, partner_ref, kind,
                                    fields, status, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        n.id,
        n.partner_id,
        n.partner_name,
        n.lead_id,
        n.partner_ref,
        n.kind.as_str(),
        fields_text(&n.fields),
        n.status.as_str(),
        to_text(n.created_at)
    ])?;
    Ok(())
}

/// A new pending notice of `kind` to `recipient` about `lead_id`, stored and returned.
fn add_pending(
    conn: &Connection,
    recipient: disclosure::Recipient,
    lead_id: &str,
    kind: NoticeKind,
    fields: Vec<ShareField>,
    at: DateTime<Utc>,
) -> Result<Notice> {
    let notice = Notice {
        id: new_id(at),
        partner_id: recipient.partner_id,
        partner_name: recipient.partner_name,
        lead_id: lead_id.to_string(),
        partner_ref: recipient.partner_ref,
        kind,
        fields,
        status: NoticeStatus::Pending,
        created_at: at,
        written_at: None,
        written_to: None,
        acknowledged_at: None,
        acknowledged_by: None,
    };
    insert(conn, &notice)?;
    Ok(notice)
}

/// After a correction (inside its transaction): a notice to each partner that holds a changed
/// field. A correction notice not yet written for the same partner and person absorbs the new
/// fields instead of adding a second notice. Returns the notices created or extended.
pub fn on_correction(
    conn: &Connection,
    lead_id: &str,
    changes: &[FieldChange],
    at: DateTime<Utc>,
) -> Result<Vec<Notice>> {
    let changed: Vec<ShareField> = changes
        .iter()
        .filter_map(|c| share_field(c.field))
        .collect();
    let mut out = Vec::new();
    if changed.is_empty() {
        return Ok(out);
    }
    for recipient in disclosure::recipients(conn, lead_id)? {
        let mut held: Vec<ShareField> = recipient
            .fields
            .iter()
            .copied()
            .filter(|f| changed.contains(f))
            .collect();
        if held.is_empty() {
            continue;
        }
        let open = conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM partner_notice
                 WHERE lead_id = ?1 AND partner_id = ?2 AND kind = 'correction'
                   AND status = 'pending'"
            ))?
            .query_row(params![lead_id, recipient.partner_id], from_row)
            .optional()?;
        match open {
            Some(mut notice) => {
                held.extend(notice.fields.iter().copied());
                crate::partners::normalise_fields(&mut held);
                conn.prepare_cached("UPDATE partner_notice SET fields = ?1 WHERE id = ?2")?
                    .execute(params![fields_text(&held), notice.id])?;
                notice.fields = held;
                out.push(notice);
            }
            None => out.push(add_pending(
                conn,
                recipient,
                lead_id,
                NoticeKind::Correction,
                held,
                at,
            )?),
        }
    }
    Ok(out)
}

/// After an erasure (inside its transaction): an erasure notice to each partner that received
/// the person's data; unacknowledged correction notices are superseded. Idempotent, so an
/// erasure that arrives again by sync adds nothing. Returns the erasure notices.
pub fn on_erasure(conn: &Connection, lead_id: &str, at: DateTime<Utc>) -> Result<Vec<Notice>> {
    conn.prepare_cached(
        "UPDATE partner_notice SET status = 'superseded'
         WHERE lead_id = ?1 AND kind = 'correction' AND status IN ('pending', 'written')",
    )?
    .execute([lead_id])?;
    let mut out = Vec::new();
    for recipient in disclosure::recipients(conn, lead_id)? {
        let exists = conn
            .prepare_cached(
                "SELECT 1 FROM partner_notice
                 WHERE lead_id = ?1 AND partner_id = ?2 AND kind = 'erasure'",
            )?
            .query_row(params![lead_id, recipient.partner_id], |_| Ok(()))
            .optional()?
            .is_some();
        if exists {
            continue;
        }
        out.push(add_pending(
            conn,
            recipient,
            lead_id,
            NoticeKind::Erasure,
            Vec::new(),
            at,
        )?);
    }
    Ok(out)
}

/// Notices, oldest first; acknowledged and superseded ones only when `all`.
pub fn list(conn: &Connection, all: bool) -> Result<Vec<Notice>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM partner_notice
         WHERE ?1 OR status IN ('pending', 'written')
         ORDER BY created_at, rowid"
    ))?;
    let rows = stmt.query_map([all], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The notice with this id.
pub fn get(conn: &Connection, id: &str) -> Result<Notice> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM partner_notice WHERE id = ?1"
    ))?
    .query_row([id.trim()], from_row)
    .optional()?
    .ok_or_else(|| CoreError::NotFound(format!("no partner notice with id {}", id.trim())))
}

/// Marks a notice acknowledged by the partner (idempotent).
pub fn ack(conn: &Connection, id: &str, actor: &str, at: DateTime<Utc>) -> Result<Notice> {
    let notice = get(conn, id)?;
    match notice.status {
        NoticeStatus::Acknowledged => return Ok(notice),
        NoticeStatus::Superseded => {
            return Err(CoreError::Conflict(format!(
                "notice {} was superseded by the person's erasure; acknowledge the erasure notice",
                notice.id
            )))
        }
        NoticeStatus::Pending | NoticeStatus::Written => {}
    }
    conn.prepare_cached(
        "UPDATE partner_notice SET status = 'acknowledged', acknowledged_at = ?1,
                acknowledged_by = ?2 WHERE id = ?3",
    )?
    .execute(params![to_text(at), actor, notice.id])?;
    get(conn, &notice.id)
}

/// One notice as the partner reads it.
#[derive(Debug, Clone, Serialize)]
pub struct NoticeEntry {
    pub notice: String,
    /// The record's reference as given to the partner when it was shared.
    pub reference: String,
    /// `update` or `delete`.
    pub action: &'static str,
    /// For an update: the corrected values of the fields the partner holds.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub changes: BTreeMap<String, String>,
    pub instruction: String,
}

/// The file written for one partner.
#[derive(Debug, Clone, Serialize)]
pub struct NoticeFile {
    pub partner: String,
    pub generated_at: DateTime<Utc>,
    pub notices: Vec<NoticeEntry>,
    #[serde(skip)]
    pub path: PathBuf,
}

fn slug(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let s = s.trim_matches('-').to_string();
    if s.is_empty() {
        "partner".into()
    } else {
        s
    }
}

fn entry(conn: &Connection, n: &Notice) -> Result<NoticeEntry> {
    Ok(match n.kind {
        NoticeKind::Erasure => NoticeEntry {
            notice: n.id.clone(),
            reference: n.partner_ref.clone(),
            action: "delete",
            changes: BTreeMap::new(),
            instruction: "The person asked to be erased. Delete every copy of this record, \
                          stop all contact and confirm the deletion."
                .into(),
        },
        NoticeKind::Correction => {
            let lead = leads::get(conn, &n.lead_id)?;
            let mut changes = BTreeMap::new();
            for f in &n.fields {
                let value = match f {
                    ShareField::Name => lead.name.clone(),
                    ShareField::Company => lead.company.clone(),
                    ShareField::Email => lead.email.clone(),
                    ShareField::Phone => lead.phone.clone(),
                    ShareField::Address => lead.address.clone(),
                    ShareField::Country => lead.country.clone(),
                    ShareField::Registration | ShareField::Consent => continue,
                };
                changes.insert(f.as_str().to_string(), value.unwrap_or_default());
            }
            NoticeEntry {
                notice: n.id.clone(),
                reference: n.partner_ref.clone(),
                action: "update",
                changes,
                instruction: "The person corrected their information. Replace these fields \
                              in your copy of the record (an empty value means remove it)."
                    .into(),
            }
        }
    })
}

/// Writes one JSON file per partner into `dir` with every unacknowledged notice, and marks the
/// notices written. Returns the files written.
pub fn write(conn: &Connection, dir: &Path, at: DateTime<Utc>) -> Result<Vec<NoticeFile>> {
    std::fs::create_dir_all(dir)
        .map_err(|e| CoreError::io(format!("creating {}", dir.display()), e))?;
    let mut by_partner: BTreeMap<(String, String), Vec<Notice>> = BTreeMap::new();
    for n in list(conn, false)? {
        by_partner
            .entry((n.partner_name.clone(), n.partner_id.clone()))
            .or_default()
            .push(n);
    }
    let mut files = Vec::new();
    for ((name, _), notices) in by_partner {
        let path = dir.join(format!("{}-{}.json", slug(&name), at.format("%Y%m%d")));
        let file = NoticeFile {
            partner: name,
            generated_at: at,
            notices: notices
                .iter()
                .map(|n| entry(conn, n))
                .collect::<Result<_>>()?,
            path: path.clone(),
        };
        let text = serde_json::to_string_pretty(&file)
            .map_err(|e| CoreError::io("encoding a notice", e.into()))?;
        std::fs::write(&path, text + "\n")
            .map_err(|e| CoreError::io(format!("writing {}", path.display()), e))?;
        for n in &notices {
            conn.prepare_cached(
                "UPDATE partner_notice SET status = 'written',
                        written_at = coalesce(written_at, ?1), written_to = ?2
                 WHERE id = ?3 AND status IN ('pending', 'written')",
            )?
            .execute(params![to_text(at), path.display().to_string(), n.id])?;
        }
        files.push(file);
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::new_id;
    use crate::fixtures::{nine, store_at};
    use crate::partners::{self, NewPartner, PartnerKind, TransferBasis};
    use crate::people::leads::NewLead;
    use crate::Store;

    fn setup() -> (Store, String) {
        let mut s = store_at(nine());
        let now = s.now();
        let id = new_id(now);
        let new = NewLead {
            name: Some("Ann Example".into()),
            email: Some("ann@example.com".into()),
            phone: Some("+4930123456".into()),
            country: Some("DE".into()),
            ..NewLead::default()
        };
        s.with_tx(|tx| leads::insert(tx, &id, &new, now)).unwrap();
        for (name, fields) in [("Emails Only", "email"), ("Phones Only", "phone,name")] {
            let p = NewPartner {
                name: name.into(),
                kind: PartnerKind::Distributor,
                country: "CH".into(),
                basis: TransferBasis::Adequacy,
                fields: partners::parse_fields(fields).unwrap(),
            };
            let p = s.with_tx(|tx| partners::add(tx, &p, "admin", now)).unwrap();
            s.with_tx(|tx| disclosure::record(tx, &id, &p, &id, &p.fields, "rep1", now))
                .unwrap();
        }
        (s, id)
    }

    /// Sets one field of lead `id` as a correction by rep1 and raises its notices.
    fn correct(s: &mut Store, id: &str, field: LeadField, value: &str) -> Vec<Notice> {
        let now = s.now();
        s.with_tx(|tx| {
            let changes = leads::set_fields(
                tx,
                id,
                &[(field, Some(value.into()))],
                "rep1",
                "correct",
                now,
            )?;
            on_correction(tx, id, &changes, now)
        })
        .unwrap()
    }

    #[test]
    fn a_correction_notifies_only_partners_holding_a_changed_field() {
        let (mut s, id) = setup();
        let now = s.now();
        let notices = correct(&mut s, &id, LeadField::Email, "ann@new.example");
        assert_eq!(notices.len(), 1);
        assert_eq!(notices[0].partner_name, "Emails Only");
        assert_eq!(notices[0].fields, vec![ShareField::Email]);
        // A second correction before the notice is written extends it.
        correct(&mut s, &id, LeadField::Name, "Ann Sample");
        let open = list(s.conn(), false).unwrap();
        assert_eq!(open.len(), 2, "{open:?}");
        let dir = tempfile::tempdir().unwrap();
        let files = s.with_tx(|tx| write(tx, dir.path(), now)).unwrap();
        assert_eq!(files.len(), 2);
        let text = std::fs::read_to_string(&files[0].path).unwrap();
        assert!(text.contains("\"email\": \"ann@new.example\""), "{text}");
        assert!(
            !text.contains("Ann Sample"),
            "the email partner never had the name: {text}"
        );
        let acked = s
            .with_tx(|tx| ack(tx, &open[0].id, "manager", now))
            .unwrap();
        assert_eq!(acked.status, NoticeStatus::Acknowledged);
        assert_eq!(list(s.conn(), false).unwrap().len(), 1);
        assert_eq!(
            ack(s.conn(), "no-such-notice", "m", now)
                .unwrap_err()
                .code(),
            "not_found"
        );
    }

    #[test]
    fn an_erasure_notifies_every_recipient_once_and_supersedes_corrections() {
        let (mut s, id) = setup();
        let now = s.now();
        correct(&mut s, &id, LeadField::Phone, "+4930999999");
        let erasures = s.with_tx(|tx| on_erasure(tx, &id, now)).unwrap();
        assert_eq!(erasures.len(), 2);
        assert!(s.with_tx(|tx| on_erasure(tx, &id, now)).unwrap().is_empty());
        let open = list(s.conn(), false).unwrap();
        assert!(open.iter().all(|n| n.kind == NoticeKind::Erasure));
        let all = list(s.conn(), true).unwrap();
        let superseded = all
            .iter()
            .find(|n| n.status == NoticeStatus::Superseded)
            .unwrap();
        assert_eq!(
            ack(s.conn(), &superseded.id, "m", now).unwrap_err().code(),
            "conflict"
        );
        let dir = tempfile::tempdir().unwrap();
        let files = s.with_tx(|tx| write(tx, dir.path(), now)).unwrap();
        let text = std::fs::read_to_string(&files[1].path).unwrap();
        assert!(text.contains("\"action\": \"delete\""), "{text}");
        assert!(text.contains(&id), "the notice names the record: {text}");
    }
}
