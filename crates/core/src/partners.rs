//! Partners: the resellers, distributors and regional offices personal information may go to.
//! Anything not registered here is not a recipient — no function takes a free-form recipient.

use crate::clock::{new_id, to_text};
use crate::error::{CoreError, Result};
use crate::leads::parse_time;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};

pub use switchboard_protocol::{Partner, PartnerKind, ShareField, TransferBasis};

/// A share field's place in the fixed order fields are listed and written in.
fn rank(field: ShareField) -> usize {
    ShareField::ALL
        .iter()
        .position(|f| *f == field)
        .unwrap_or(usize::MAX)
}

/// Sorts share fields into their fixed order and drops repeats.
pub fn normalise_fields(fields: &mut Vec<ShareField>) {
    fields.sort_by_key(|f| rank(*f));
    fields.dedup();
}

/// Parses a partner kind as users type it.
pub fn parse_kind(text: &str) -> Result<PartnerKind> {
    Ok(text.parse()?)
}

/// Parses a transfer basis as users type it, accepting the long names too.
pub fn parse_basis(text: &str) -> Result<TransferBasis> {
    let squashed = text.trim().to_ascii_lowercase().replace(['-', ' '], "_");
    let canonical = match squashed.as_str() {
        "none" | "eea" | "same_country" => "none_needed",
        "adequacy_decision" => "adequacy",
        "standard_contractual_clauses" => "scc",
        "binding_corporate_rules" | "intra_group" => "bcr",
        other => other,
    };
    canonical.parse().map_err(|_| {
        CoreError::BadInput(format!(
            "unknown transfer basis '{}' (none_needed, adequacy, scc, bcr)",
            text.trim()
        ))
    })
}

/// EEA members: personal information moves among them without a transfer mechanism.
const EEA: &[&str] = &[
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT", "LV",
    "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "IS", "LI", "NO",
];

/// Countries with a European Commission adequacy decision (the US one covers only organisations
/// certified under the Data Privacy Framework; the admin attests that when choosing it).
const ADEQUATE: &[&str] = &[
    "AD", "AR", "CA", "CH", "FO", "GB", "GG", "IL", "IM", "JE", "JP", "KR", "NZ", "US", "UY",
];

/// Whether `country` is in the European Economic Area.
pub fn in_eea(country: &str) -> bool {
    EEA.contains(&country)
}

/// What an admin gives to register a partner.
#[derive(Debug, Clone)]
pub struct NewPartner {
    pub name: String,
    pub kind: PartnerKind,
    pub country: String,
    pub basis: TransferBasis,
    pub fields: Vec<ShareField>,
}

/// Parses a comma-separated list of share fields (`name,email,consent`).
pub fn parse_fields(text: &str) -> Result<Vec<ShareField>> {
    let mut fields = text
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .map(|f| {
            let f = match f.to_ascii_lowercase().as_str() {
                "product" | "kind" => "registration".to_string(),
                other => other.to_string(),
            };
            f.parse::<ShareField>()
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    normalise_fields(&mut fields);
    if fields.is_empty() {
        return Err(CoreError::BadInput(
            "a partner needs at least one field it may receive (e.g. --fields name,company,email)"
                .into(),
        ));
    }
    Ok(fields)
}

/// Joins share fields the way they are stored.
pub fn fields_text(fields: &[ShareField]) -> String {
    fields
        .iter()
        .map(|f| f.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// Reads stored share fields; unknown names (from a newer build) are skipped.
pub fn fields_from_text(text: &str) -> Vec<ShareField> {
    let mut fields: Vec<ShareField> = text.split(',').filter_map(|f| f.parse().ok()).collect();
    normalise_fields(&mut fields);
    fields
}

/// Checks a partner's country against its transfer basis.
fn check_basis(country: &str, basis: TransferBasis) -> Result<()> {
    match basis {
        TransferBasis::NoneNeeded if !in_eea(country) => Err(CoreError::BadInput(format!(
            "{country} is outside the EEA: a transfer needs a basis (adequacy, scc or bcr)"
        ))),
        TransferBasis::Adequacy if !ADEQUATE.contains(&country) => Err(CoreError::BadInput(
            format!("{country} has no adequacy decision: use scc or bcr"),
        )),
        _ => Ok(()),
    }
}

/// Checks what an admin gave and makes the partner record (for this database or the server).
pub fn validate(new: &NewPartner, actor: &str, at: DateTime<Utc>) -> Result<Partner> {
    let name = new.name.trim();
    if name.is_empty() {
        return Err(CoreError::BadInput("a partner needs a name".into()));
    }
    let country = new.country.trim().to_ascii_uppercase();
    if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(CoreError::BadInput(format!(
            "'{}' is not a two-letter country code (ISO 3166-1, e.g. DE)",
            new.country.trim()
        )));
    }
    check_basis(&country, new.basis)?;
    let mut fields = new.fields.clone();
    normalise_fields(&mut fields);
    if fields.is_empty() {
        return Err(CoreError::BadInput(
            "a partner needs at least one field it may receive".into(),
        ));
    }
    Ok(Partner {
        id: new_id(at),
        name: name.to_string(),
        kind: new.kind,
        country,
        basis: new.basis,
        fields,
        // Stored with millisecond precision: the record must read back equal to what was made.
        created_at: DateTime::from_timestamp_millis(at.timestamp_millis()).unwrap_or(at),
        created_by: actor.to_string(),
    })
}

/// Registers a partner inside the caller's transaction.
pub fn add(conn: &Connection, new: &NewPartner, actor: &str, at: DateTime<Utc>) -> Result<Partner> {
    let partner = validate(new, actor, at)?;
    // A replica's partners come from its server; one added here would exist nowhere else.
    if let Some(server) = crate::replica::state(conn)?.server_url {
        return Err(CoreError::Conflict(format!(
            "this database syncs with {server}: partners are registered there by an admin \
             (switchboard-server partner add) and reach this laptop by sync"
        )));
    }
    if find_by_name(conn, &partner.name)?.is_some() {
        return Err(CoreError::Conflict(format!(
            "a partner named '{}' is already registered",
            partner.name
        )));
    }
    store(conn, &partner)?;
    Ok(partner)
}

/// Applies a partner registered on the central store (sync pull). The server's registry is
/// authoritative: a local partner of the same name but another id gives way. Returns whether
/// anything changed.
pub fn apply_remote(conn: &Connection, p: &Partner) -> Result<bool> {
    let current = conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM partner WHERE id = ?1"))?
        .query_row([&p.id], from_row)
        .optional()?;
    if current.as_ref() == Some(p) {
        return Ok(false);
    }
    conn.prepare_cached("DELETE FROM partner WHERE name = ?1 AND id != ?2")?
        .execute(params![p.name, p.id])?;
    store(conn, p)?;
    Ok(true)
}

/// Writes a partner as given (a local registration, or one received by sync); idempotent by id.
pub fn store(conn: &Connection, p: &Partner) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO partner(id, name, kind, country, basis, fields, created_at, created_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, kind = excluded.kind,
             country = excluded.country, basis = excluded.basis, fields = excluded.fields",
    )?
    .execute(params![
        p.id,
        p.name,
        p.kind.as_str(),
        p.country,
        p.basis.as_str(),
        fields_text(&p.fields),
        to_text(p.created_at),
        p.created_by
    ])?;
    Ok(())
}

const COLUMNS: &str = "id, name, kind, country, basis, fields, created_at, created_by";

fn from_row(row: &Row<'_>) -> rusqlite::Result<Partner> {
    let kind: String = row.get(2)?;
    let basis: String = row.get(4)?;
    let fields: String = row.get(5)?;
    Ok(Partner {
        id: row.get(0)?,
        name: row.get(1)?,
        // The table's CHECK constraints keep these parseable.
        kind: kind.parse().unwrap_or(PartnerKind::Reseller),
        country: row.get(3)?,
        basis: basis.parse().unwrap_or(TransferBasis::Scc),
        fields: fields_from_text(&fields),
        created_at: parse_time(row.get(6)?).unwrap_or_default(),
        created_by: row.get(7)?,
    })
}

fn find_by_name(conn: &Connection, name: &str) -> Result<Option<Partner>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM partner WHERE name = ?1"))?
        .query_row([name.trim()], from_row)
        .optional()?)
}

/// The partner a user named, by id or by name (case-insensitive).
pub fn find(conn: &Connection, reference: &str) -> Result<Partner> {
    let by_id = conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM partner WHERE id = ?1"))?
        .query_row([reference.trim()], from_row)
        .optional()?;
    match by_id {
        Some(p) => Ok(p),
        None => find_by_name(conn, reference)?.ok_or_else(|| {
            CoreError::NotFound(format!(
                "'{}' is not a registered partner: personal information can only go to \
                 registered partners (see `partner list`)",
                reference.trim()
            ))
        }),
    }
}

/// Every registered partner, by name.
pub fn list(conn: &Connection) -> Result<Vec<Partner>> {
    let mut stmt = conn.prepare_cached(&format!("SELECT {COLUMNS} FROM partner ORDER BY name"))?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FixedClock, Store};
    use chrono::TimeZone;
    use std::sync::Arc;

    fn store() -> Store {
        let at = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
        Store::open_in_memory(Arc::new(FixedClock::at(at))).unwrap()
    }

    fn acme(country: &str, basis: TransferBasis) -> NewPartner {
        NewPartner {
            name: "Acme Resale".into(),
            kind: PartnerKind::Reseller,
            country: country.into(),
            basis,
            fields: parse_fields("email, name,company,name").unwrap(),
        }
    }

    #[test]
    fn a_partner_is_registered_and_found_by_name_or_id() {
        let mut s = store();
        let now = s.now();
        let p = s
            .with_tx(|tx| add(tx, &acme("de", TransferBasis::NoneNeeded), "admin", now))
            .unwrap();
        assert_eq!(p.country, "DE");
        assert_eq!(
            p.fields,
            vec![ShareField::Name, ShareField::Company, ShareField::Email]
        );
        assert_eq!(find(s.conn(), "acme resale").unwrap(), p);
        assert_eq!(find(s.conn(), &p.id).unwrap(), p);
        assert_eq!(list(s.conn()).unwrap(), vec![p]);
        assert_eq!(find(s.conn(), "Globex").unwrap_err().code(), "not_found");
        let again = s.with_tx(|tx| add(tx, &acme("DE", TransferBasis::NoneNeeded), "admin", now));
        assert_eq!(again.unwrap_err().code(), "conflict");
        s.conn()
            .execute(
                "UPDATE sync_state SET server_url = 'https://hq.example' WHERE id = 1",
                [],
            )
            .unwrap();
        let mut other = acme("DE", TransferBasis::NoneNeeded);
        other.name = "Other".into();
        let err = add(s.conn(), &other, "admin", now).unwrap_err();
        assert!(err.to_string().contains("hq.example"), "{err}");
    }

    #[test]
    fn a_transfer_outside_the_eea_needs_a_fitting_basis() {
        let s = store();
        let now = s.now();
        let err = add(s.conn(), &acme("IN", TransferBasis::NoneNeeded), "a", now).unwrap_err();
        assert!(err.to_string().contains("outside the EEA"), "{err}");
        let err = add(s.conn(), &acme("IN", TransferBasis::Adequacy), "a", now).unwrap_err();
        assert!(err.to_string().contains("no adequacy"), "{err}");
        assert!(add(s.conn(), &acme("JP", TransferBasis::Adequacy), "a", now).is_ok());
        assert_eq!(
            add(s.conn(), &acme("Deutschland", TransferBasis::Scc), "a", now)
                .unwrap_err()
                .code(),
            "bad_input"
        );
    }

    #[test]
    fn field_lists_reject_unknown_names() {
        assert!(parse_fields("name,shoe_size").is_err());
        assert!(parse_fields(" , ").is_err());
        assert_eq!(
            parse_basis("Standard contractual clauses").unwrap(),
            TransferBasis::Scc
        );
        assert!(parse_basis("a handshake").is_err());
        assert_eq!(
            parse_fields("product,consent").unwrap(),
            vec![ShareField::Registration, ShareField::Consent]
        );
    }
}
