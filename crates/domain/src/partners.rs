//! Partner rules: how an admin's partner is read and checked (name, country, transfer basis,
//! share fields) before a replica or the server registers it.

use crate::clock::new_id;
use crate::error::{DomainError, Result};
use chrono::{DateTime, Utc};

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
        DomainError::BadInput(format!(
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
        return Err(DomainError::BadInput(
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
        TransferBasis::NoneNeeded if !in_eea(country) => Err(DomainError::BadInput(format!(
            "{country} is outside the EEA: a transfer needs a basis (adequacy, scc or bcr)"
        ))),
        TransferBasis::Adequacy if !ADEQUATE.contains(&country) => Err(DomainError::BadInput(
            format!("{country} has no adequacy decision: use scc or bcr"),
        )),
        _ => Ok(()),
    }
}

/// Checks what an admin gave and makes the partner record (for this database or the server).
pub fn validate(new: &NewPartner, actor: &str, at: DateTime<Utc>) -> Result<Partner> {
    let name = new.name.trim();
    if name.is_empty() {
        return Err(DomainError::BadInput("a partner needs a name".into()));
    }
    let country = new.country.trim().to_ascii_uppercase();
    if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(DomainError::BadInput(format!(
            "'{}' is not a two-letter country code (ISO 3166-1, e.g. DE)",
            new.country.trim()
        )));
    }
    check_basis(&country, new.basis)?;
    let mut fields = new.fields.clone();
    normalise_fields(&mut fields);
    if fields.is_empty() {
        return Err(DomainError::BadInput(
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
