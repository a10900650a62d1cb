//! Corrections: a person rectifies their information. Values are normalised like a registration's,
//! applied with audit, clocks and sync, and locked against later registrations. Because dedup
//! matches on the lead's normalised email and phone columns, the dedup keys follow the correction.

use crate::error::{CoreError, Result};
use crate::normalize::{normalize_country, normalize_email, normalize_phone, single_zone};
use crate::partners::notices;
use crate::people::leads::{self, LeadField};
use crate::privacy::requests;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use switchboard_protocol::{limits, LeadStatus, RequestKind};
use ts_rs::TS;

/// The fields a person may correct: the person's own, which `LeadField::ALL` lists first; the
/// rest (status, owner, office, …) belong to the process.
pub const CORRECTABLE: &[LeadField] = LeadField::ALL.split_at(LeadField::PERSONAL).0;

/// The shared limit of a corrected field (`switchboard_protocol::limits`): what the intake and
/// the import accept, so a corrected lead can always be pushed.
fn limit_of(field: LeadField) -> limits::Field {
    match field {
        LeadField::Name => limits::Field::Name,
        LeadField::Company => limits::Field::Company,
        LeadField::Email => limits::Field::Email,
        LeadField::Phone => limits::Field::Phone,
        LeadField::Address => limits::Field::Address,
        // Country and zone are checked against their lists; the country limit bounds the rest.
        _ => limits::Field::Country,
    }
}

/// One field a correction changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct CorrectedField {
    pub field: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// What a correction did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Correction {
    pub lead_id: String,
    /// Fields whose value changed (a field corrected to its current value is locked, not listed).
    pub changed: Vec<CorrectedField>,
    /// Every field the person named; registrations never overwrite them.
    pub locked: Vec<String>,
    /// The `correct` subscriber request recorded as done.
    pub request_id: String,
}

/// Corrects a lead (named by id or email) with `field=value` pairs as a person asked. An empty
/// value clears the field. Every value is checked before anything is written: on any error
/// nothing changes. Call inside a transaction (`Store::with_tx`).
pub fn correct(
    conn: &Connection,
    lead_ref: &str,
    changes: &[(String, String)],
    actor: &str,
    at: DateTime<Utc>,
) -> Result<Correction> {
    let lead = leads::find(conn, lead_ref)?;
    if lead.status == LeadStatus::Erased {
        return Err(CoreError::Suppressed(format!(
            "lead {} was erased; there is nothing to correct",
            lead.id
        )));
    }
    if changes.is_empty() {
        return Err(CoreError::BadInput(
            "name at least one FIELD=VALUE to correct".into(),
        ));
    }
    let mut named: Vec<(LeadField, String)> = Vec::new();
    for (name, value) in changes {
        let field = LeadField::parse(name)?;
        if !CORRECTABLE.contains(&field) {
            return Err(CoreError::BadInput(format!(
                "'{}' is not something a person corrects (correctable: {})",
                field.column(),
                correctable_names().join(", ")
            )));
        }
        if named.iter().any(|(f, _)| *f == field) {
            return Err(CoreError::BadInput(format!(
                "'{}' is named twice",
                field.column()
            )));
        }
        named.push((field, value.clone()));
    }

    // Country first: a corrected country is the region a corrected national phone number is
    // read in, and it brings its time zone along.
    let country = match named.iter().find(|(f, _)| *f == LeadField::Country) {
        Some((_, raw)) => clean(raw)
            .map(|raw| {
                normalize_country(&raw).map(str::to_string).ok_or_else(|| {
                    CoreError::BadInput(format!(
                        "country: '{raw}' is not a country name or ISO code"
                    ))
                })
            })
            .transpose()?,
        None => lead.country.clone(),
    };

    let mut values: Vec<(LeadField, Option<String>)> = Vec::new();
    for (field, raw) in &named {
        check_text(*field, raw)?;
        let value = clean(raw);
        let value = match (field, value) {
            (_, None) => None,
            (LeadField::Email, Some(v)) => {
                let email =
                    normalize_email(&v).map_err(|e| CoreError::BadInput(format!("email: {e}")))?;
                refuse_if_taken(conn, &lead.id, LeadField::Email, &email)?;
                Some(email)
            }
            (LeadField::Phone, Some(v)) => {
                let phone = normalize_phone(&v, country.as_deref())
                    .map_err(|e| CoreError::BadInput(format!("phone: {e}")))?;
                refuse_if_taken(conn, &lead.id, LeadField::Phone, &phone)?;
                Some(phone)
            }
            (LeadField::Country, Some(_)) => country.clone(),
            (LeadField::TimeZone, Some(v)) => {
                let zone: chrono_tz::Tz = v.parse().map_err(|_| {
                    CoreError::BadInput(format!(
                        "time_zone: '{v}' is not an IANA time zone (e.g. Europe/Berlin)"
                    ))
                })?;
                Some(zone.name().to_string())
            }
            (_, Some(v)) => Some(v),
        };
        values.push((*field, value));
    }
    let names_zone = named.iter().any(|(f, _)| *f == LeadField::TimeZone);
    if named.iter().any(|(f, _)| *f == LeadField::Country) && !names_zone {
        // The zone follows the country unless the person named one; a country with several
        // zones leaves it unknown, which the gate treats strictly.
        let zone = country
            .as_deref()
            .and_then(single_zone)
            .map(|z| z.name().to_string());
        values.push((LeadField::TimeZone, zone));
    }

    let changed = leads::set_fields(conn, &lead.id, &values, actor, "correct", at)?;
    // A hard bounce condemned the old address, not the one the person gives now.
    if changed.iter().any(|c| c.field == LeadField::Email) {
        leads::set_email_invalid(conn, &lead.id, false, actor, "correct", at)?;
    }
    // Partners that received a changed field are owed a notice.
    notices::on_correction(conn, &lead.id, &changed, at)?;

    let mut locked = corrected_fields(conn, &lead.id)?;
    for (field, _) in &named {
        let name = field.column().to_string();
        if !locked.contains(&name) {
            locked.push(name);
        }
    }
    leads::set_corrected(conn, &lead.id, &locked)?;

    // The request records which fields, never their values: the audit log holds those, and
    // erasure purges it.
    let named_list: Vec<&str> = named.iter().map(|(f, _)| f.column()).collect();
    let request = requests::fulfil(
        conn,
        &lead.id,
        RequestKind::Correct,
        Some(&named_list.join(", ")),
        actor,
        at,
    )?;
    Ok(Correction {
        lead_id: lead.id,
        changed: changed
            .into_iter()
            .map(|c| CorrectedField {
                field: c.field.column().to_string(),
                old: c.old,
                new: c.new,
            })
            .collect(),
        locked,
        request_id: request.id,
    })
}

/// The fields a person corrected on this lead, which registrations must not overwrite.
pub fn corrected_fields(conn: &Connection, lead_id: &str) -> Result<Vec<String>> {
    let text: String = conn
        .prepare_cached("SELECT corrected FROM lead WHERE id = ?1")?
        .query_row([lead_id], |r| r.get(0))
        .optional()?
        .ok_or_else(|| CoreError::NotFound(format!("no lead with id {lead_id}")))?;
    Ok(text
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(str::to_string)
        .collect())
}

fn correctable_names() -> Vec<&'static str> {
    CORRECTABLE.iter().map(|f| f.column()).collect()
}

/// Trimmed; an empty value means "remove it".
fn clean(raw: &str) -> Option<String> {
    let t = raw.trim();
    (!t.is_empty()).then(|| t.to_string())
}

fn check_text(field: LeadField, raw: &str) -> Result<()> {
    if raw.len() > limit_of(field).max_bytes() {
        return Err(CoreError::BadInput(format!(
            "{}: the value is {} bytes long; the limit is {} bytes",
            field.column(),
            raw.len(),
            limit_of(field).max_bytes()
        )));
    }
    // Only a postal address may span lines.
    let allowed = |c: char| field == LeadField::Address && (c == '\n' || c == '\r');
    if raw.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err(CoreError::BadInput(format!(
            "{}: the value contains control characters",
            field.column()
        )));
    }
    Ok(())
}

/// Two leads with one email or phone would make dedup ambiguous; the person is asked which
/// record is theirs instead.
fn refuse_if_taken(conn: &Connection, lead_id: &str, field: LeadField, value: &str) -> Result<()> {
    let other: Option<String> = conn
        .prepare_cached(&format!(
            "SELECT id FROM lead WHERE {} = ?1 AND id <> ?2 LIMIT 1",
            field.column()
        ))?
        .query_row(params![value, lead_id], |r| r.get(0))
        .optional()?;
    match other {
        Some(id) => Err(CoreError::Conflict(format!(
            "{}: {value} already belongs to lead {id}",
            field.column()
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests;
