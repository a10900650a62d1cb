//! Promotional-email audiences: the people of a segment who may receive promotional email now.
//! Every candidate passes the compliance gate on the email channel (no opt-out of email or all,
//! not erased or suppressed, a valid address); the export is recorded with who was targeted.

use crate::clock::{new_id, to_text};
use crate::compliance::gate::{self, Decision};
use crate::error::{CoreError, Result};
use crate::people::leads::{lead_from_row, LEAD_COLUMNS};
use crate::review::export::neutralise;
use crate::store::audit;
use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{params, Connection};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;
use switchboard_domain::time::parse_loose;
use switchboard_protocol::{Channel, Lead, LeadStatus, RegistrationKind};

/// Which people an audience is drawn from. Each part narrows; alternatives within a part are
/// separated by `|`. Text form: `country=DE|AT,kind=trial,product=Widget,status=new,since=2026-01-01`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Segment {
    pub countries: Vec<String>,
    pub kinds: Vec<RegistrationKind>,
    pub products: Vec<String>,
    pub statuses: Vec<LeadStatus>,
    /// Registered (any registration matching kind/product) at or after this instant.
    pub registered_since: Option<DateTime<Utc>>,
}

impl Segment {
    /// Parses the text form; an empty text is everyone.
    pub fn parse(text: &str) -> Result<Segment> {
        let mut seg = Segment::default();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) = part.split_once('=').ok_or_else(|| {
                CoreError::BadInput(format!(
                    "segment part '{part}' is not key=value (e.g. country=DE,kind=trial)"
                ))
            })?;
            let values: Vec<&str> = value
                .split('|')
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .collect();
            if values.is_empty() {
                return Err(CoreError::BadInput(format!(
                    "segment part '{part}' has no value"
                )));
            }
            match key.trim().to_ascii_lowercase().replace('-', "_").as_str() {
                "country" => {
                    for v in values {
                        let cc = v.to_ascii_uppercase();
                        if cc.len() != 2 || !cc.bytes().all(|b| b.is_ascii_uppercase()) {
                            return Err(CoreError::BadInput(format!(
                                "'{v}' is not a two-letter country code"
                            )));
                        }
                        seg.countries.push(cc);
                    }
                }
                "kind" => {
                    for v in values {
                        seg.kinds.push(v.parse()?);
                    }
                }
                "product" => seg.products.extend(values.iter().map(|v| v.to_string())),
                "status" => {
                    for v in values {
                        seg.statuses.push(v.parse()?);
                    }
                }
                "since" | "registered_since" => {
                    let [v] = values.as_slice() else {
                        return Err(CoreError::BadInput("give one date for since".into()));
                    };
                    seg.registered_since = Some(parse_instant(v)?);
                }
                other => {
                    return Err(CoreError::BadInput(format!(
                    "unknown segment key '{other}' (keys: country, kind, product, status, since)"
                )))
                }
            }
        }
        Ok(seg)
    }

    /// The canonical text form, as recorded with an export.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.countries.is_empty() {
            parts.push(format!("country={}", self.countries.join("|")));
        }
        if !self.kinds.is_empty() {
            let k: Vec<_> = self.kinds.iter().map(|k| k.as_str()).collect();
            parts.push(format!("kind={}", k.join("|")));
        }
        if !self.products.is_empty() {
            parts.push(format!("product={}", self.products.join("|")));
        }
        if !self.statuses.is_empty() {
            let s: Vec<_> = self.statuses.iter().map(|s| s.as_str()).collect();
            parts.push(format!("status={}", s.join("|")));
        }
        if let Some(since) = self.registered_since {
            parts.push(format!("since={}", to_text(since)));
        }
        if parts.is_empty() {
            "everyone".into()
        } else {
            parts.join(",")
        }
    }
}

fn parse_instant(text: &str) -> Result<DateTime<Utc>> {
    parse_loose(text).ok_or_else(|| {
        CoreError::BadInput(format!("'{text}' is not a date (YYYY-MM-DD or RFC 3339)"))
    })
}

/// The leads of a segment that have an email address and are not erased, before the gate.
fn candidates(conn: &Connection, seg: &Segment) -> Result<Vec<Lead>> {
    let mut sql =
        format!("SELECT {LEAD_COLUMNS} FROM lead WHERE status != 'erased' AND email IS NOT NULL");
    let mut args: Vec<Value> = Vec::new();
    let placeholders = |n: usize| vec!["?"; n].join(", ");
    if !seg.countries.is_empty() {
        sql += &format!(" AND country IN ({})", placeholders(seg.countries.len()));
        args.extend(seg.countries.iter().cloned().map(Value::Text));
    }
    if !seg.statuses.is_empty() {
        sql += &format!(" AND status IN ({})", placeholders(seg.statuses.len()));
        args.extend(seg.statuses.iter().map(|s| Value::Text(s.as_str().into())));
    }
    if !seg.kinds.is_empty() || !seg.products.is_empty() || seg.registered_since.is_some() {
        // One registration must match every registration criterion together.
        sql += " AND EXISTS (SELECT 1 FROM registration r WHERE r.lead_id = lead.id";
        if !seg.kinds.is_empty() {
            sql += &format!(" AND r.kind IN ({})", placeholders(seg.kinds.len()));
            args.extend(seg.kinds.iter().map(|k| Value::Text(k.as_str().into())));
        }
        if !seg.products.is_empty() {
            sql += &format!(
                " AND lower(r.product) IN ({})",
                placeholders(seg.products.len())
            );
            args.extend(seg.products.iter().map(|p| Value::Text(p.to_lowercase())));
        }
        if let Some(since) = seg.registered_since {
            sql += " AND r.submitted_at >= ?";
            args.push(Value::Text(to_text(since)));
        }
        sql += ")";
    }
    sql += " ORDER BY created_at, id";
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args), lead_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// How a segment splits at the gate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct Preview {
    pub segment: String,
    /// Leads of the segment with an email address that are not erased.
    #[ts(type = "number")]
    pub candidates: u64,
    /// Who may receive promotional email now.
    #[ts(type = "number")]
    pub allowed: u64,
    /// Blocked candidates by the gate's reason code.
    #[ts(type = "Record<string, number>")]
    pub blocked: BTreeMap<String, u64>,
}

fn sift(conn: &Connection, seg: &Segment, at: DateTime<Utc>) -> Result<(Vec<Lead>, Preview)> {
    let all = candidates(conn, seg)?;
    let mut preview = Preview {
        segment: seg.describe(),
        candidates: all.len() as u64,
        allowed: 0,
        blocked: BTreeMap::new(),
    };
    let mut allowed = Vec::new();
    // One gate for the walk: what every check shares is read once.
    let gate = gate::Gate::new(conn)?;
    for lead in all {
        match gate.check(&lead, Channel::Email, at)? {
            Decision::Allowed => allowed.push(lead),
            Decision::Blocked(reason) => {
                *preview
                    .blocked
                    .entry(reason.code().to_string())
                    .or_default() += 1;
            }
        }
    }
    preview.allowed = allowed.len() as u64;
    Ok((allowed, preview))
}

/// Counts who a segment would reach now, and why the others are left out.
pub fn preview(conn: &Connection, seg: &Segment, at: DateTime<Utc>) -> Result<Preview> {
    Ok(sift(conn, seg, at)?.1)
}

/// A recorded export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct Export {
    pub id: String,
    pub exported_at: DateTime<Utc>,
    pub exported_by: String,
    pub segment: String,
    #[ts(type = "number")]
    pub count: u64,
    #[ts(type = "Record<string, number>")]
    pub blocked: BTreeMap<String, u64>,
}

/// The column headers common email services map on import.
pub const CSV_HEADER: [&str; 5] = [
    "Email Address",
    "First Name",
    "Last Name",
    "Company",
    "Country",
];

/// Splits a full name into first and last name: the last word is the last name.
fn split_name(name: Option<&str>) -> (String, String) {
    let name = name.unwrap_or("").trim();
    match name.rsplit_once(char::is_whitespace) {
        Some((first, last)) => (first.trim().to_string(), last.to_string()),
        None => (name.to_string(), String::new()),
    }
}

/// Exports the audience of `seg` to a CSV file inside the caller's transaction. The CSV is built
/// in memory first, so the export is recorded only together with a complete file: a failed write
/// fails the transaction.
pub fn export_to_file(
    conn: &Connection,
    seg: &Segment,
    path: &std::path::Path,
    actor: &str,
    at: DateTime<Utc>,
) -> Result<Export> {
    let mut csv = Vec::new();
    let recorded = export(conn, seg, &mut csv, actor, at)?;
    let context = || format!("writing {}", path.display());
    let mut file = std::fs::File::create(path).map_err(|e| CoreError::io(context(), e))?;
    file.write_all(&csv)
        .and_then(|_| file.sync_all())
        .map_err(|e| CoreError::io(context(), e))?;
    Ok(recorded)
}

/// Writes the audience of `seg` as CSV to `out` and records the export (when, by whom, which
/// filter, how many, and which leads) inside the caller's transaction.
pub fn export(
    conn: &Connection,
    seg: &Segment,
    out: &mut dyn Write,
    actor: &str,
    at: DateTime<Utc>,
) -> Result<Export> {
    let (people, preview) = sift(conn, seg, at)?;
    let csv_err = |e: csv::Error| CoreError::io("writing the audience", e.into());
    let mut w = csv::Writer::from_writer(out);
    w.write_record(CSV_HEADER).map_err(csv_err)?;
    for lead in &people {
        let (first, last) = split_name(lead.name.as_deref());
        let row = [
            lead.email.clone().unwrap_or_default(),
            first,
            last,
            lead.company.clone().unwrap_or_default(),
            lead.country.clone().unwrap_or_default(),
        ];
        w.write_record(row.iter().map(|v| neutralise(v).into_owned()))
            .map_err(csv_err)?;
    }
    w.flush()
        .map_err(|e| CoreError::io("writing the audience", e))?;
    let export = Export {
        id: new_id(at),
        exported_at: at,
        exported_by: actor.to_string(),
        segment: preview.segment,
        count: people.len() as u64,
        blocked: preview.blocked,
    };
    conn.prepare_cached(
        "INSERT INTO audience_export(id, exported_at, exported_by, segment, count)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        export.id,
        to_text(at),
        actor,
        export.segment,
        export.count as i64
    ])?;
    let mut member =
        conn.prepare_cached("INSERT INTO audience_member(export_id, lead_id) VALUES (?1, ?2)")?;
    for lead in &people {
        member.execute(params![export.id, lead.id])?;
    }
    let count = export.count.to_string();
    audit::record(
        conn,
        actor,
        at,
        audit::Change {
            lead_id: None,
            action: "audience_export",
            field: Some("segment"),
            old_value: None,
            new_value: Some(&format!("{} ({count} people)", export.segment)),
        },
    )?;
    Ok(export)
}

/// Past exports, newest first.
pub fn history(conn: &Connection) -> Result<Vec<Export>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, exported_at, exported_by, segment, count FROM audience_export
         ORDER BY exported_at DESC, rowid DESC",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(Export {
            id: r.get(0)?,
            exported_at: crate::people::leads::parse_time(r.get(1)?).unwrap_or_default(),
            exported_by: r.get(2)?,
            segment: r.get(3)?,
            count: r.get::<_, i64>(4)? as u64,
            blocked: BTreeMap::new(),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The exports that targeted a person (ids), oldest first — for the timeline and access report.
pub fn exports_for_lead(conn: &Connection, lead_id: &str) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT m.export_id FROM audience_member m JOIN audience_export e ON e.id = m.export_id
         WHERE m.lead_id = ?1 ORDER BY e.exported_at",
    )?;
    let rows = stmt.query_map([lead_id], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_parse_and_describe_canonically() {
        let seg =
            Segment::parse(" country=de|at , kind=Trial,product=Widget,since=2026-01-01").unwrap();
        assert_eq!(seg.countries, vec!["DE", "AT"]);
        assert_eq!(seg.kinds, vec![RegistrationKind::Trial]);
        assert_eq!(
            seg.describe(),
            "country=DE|AT,kind=trial,product=Widget,since=2026-01-01T00:00:00.000Z"
        );
        assert_eq!(Segment::parse("").unwrap().describe(), "everyone");
        assert!(Segment::parse("colour=red").is_err());
        assert!(Segment::parse("country").is_err());
        assert!(Segment::parse("kind=shoe").is_err());
        assert!(Segment::parse("country=Germany").is_err());
        assert!(Segment::parse("since=yesterday").is_err());
    }

    #[test]
    fn names_split_into_first_and_last() {
        assert_eq!(
            split_name(Some("Ann Maria Example")),
            ("Ann Maria".into(), "Example".into())
        );
        assert_eq!(split_name(Some("Cher")), ("Cher".into(), String::new()));
        assert_eq!(split_name(None), (String::new(), String::new()));
    }
}
