//! Offices and routing (country → office), as the admin edits them.

use crate::changelog;
use crate::error::{Result, ServerError};
use crate::store::{col_text, Tx};
use switchboard_protocol::{Op, Partner};

fn country_code(input: &str) -> Result<String> {
    crate::normalize::country(input)
        .ok_or_else(|| ServerError::Invalid(format!("'{input}' is not an ISO 3166-1 country")))
}

/// Adds an office.
pub fn add_office(tx: &mut dyn Tx, code: &str, name: &str, country: &str) -> Result<()> {
    let code = code.trim();
    if code.is_empty() || code.len() > 32 || code == "*" {
        return Err(ServerError::Invalid(
            "an office code has 1 to 32 characters".into(),
        ));
    }
    let country = country_code(country)?;
    let changed = tx.exec(
        "INSERT INTO office (code, name, country) VALUES (?1, ?2, ?3) \
         ON CONFLICT (code) DO NOTHING",
        &[code.into(), name.trim().into(), country.into()],
    )?;
    if changed == 0 {
        return Err(ServerError::Conflict(format!(
            "office '{code}' exists already"
        )));
    }
    Ok(())
}

/// Sets how long a device of `office` may stay idle before its token expires (`None`: the
/// server's default).
pub fn set_idle_limit(tx: &mut dyn Tx, office: &str, days: Option<i64>) -> Result<()> {
    if days.is_some_and(|d| !(1..=3650).contains(&d)) {
        return Err(ServerError::Invalid(
            "an idle limit is 1 to 3650 days".into(),
        ));
    }
    let changed = tx.exec(
        "UPDATE office SET idle_days = ?2 WHERE code = ?1",
        &[office.into(), days.into()],
    )?;
    if changed == 0 {
        return Err(ServerError::NotFound(format!("no office '{office}'")));
    }
    Ok(())
}

/// Routes registrations from `country` to `office` (replacing an earlier route).
pub fn add_route(tx: &mut dyn Tx, country: &str, office: &str) -> Result<()> {
    let country = country_code(country)?;
    if !crate::leads::office_exists(tx, office)? {
        return Err(ServerError::NotFound(format!("no office '{office}'")));
    }
    tx.exec(
        "INSERT INTO route (country, office) VALUES (?1, ?2) \
         ON CONFLICT (country) DO UPDATE SET office = excluded.office",
        &[country.into(), office.into()],
    )?;
    Ok(())
}

/// The office registrations from `country` go to, if routed.
pub fn route_for(tx: &mut dyn Tx, country: &str) -> Result<Option<String>> {
    Ok(tx
        .query_opt(
            "SELECT office FROM route WHERE country = ?1",
            &[country.into()],
        )?
        .and_then(|r| col_text(&r, 0)))
}

/// Registers a partner (already validated by `switchboard_domain::partners::validate`) and sends it
/// to every replica through the global bucket. Names are unique, ignoring case.
pub fn add_partner(tx: &mut dyn Tx, partner: &Partner) -> Result<()> {
    if partners(tx)?
        .iter()
        .any(|p| p.name.eq_ignore_ascii_case(&partner.name))
    {
        return Err(ServerError::Conflict(format!(
            "a partner named '{}' is already registered",
            partner.name
        )));
    }
    tx.exec(
        "INSERT INTO record (kind, id, lead_id, submission_id, body) \
         VALUES ('partner', ?1, NULL, NULL, ?2)",
        &[
            partner.id.as_str().into(),
            serde_json::to_string(partner)?.into(),
        ],
    )?;
    changelog::emit(
        tx,
        changelog::GLOBAL,
        &Op::PartnerRegistered(partner.clone()),
    )?;
    Ok(())
}

/// The registered partners, by name.
pub fn partners(tx: &mut dyn Tx) -> Result<Vec<Partner>> {
    let rows = tx.query("SELECT body FROM record WHERE kind = 'partner'", &[])?;
    let mut all = rows
        .iter()
        .map(|r| Ok(serde_json::from_str(&col_text(r, 0).unwrap_or_default())?))
        .collect::<Result<Vec<Partner>>>()?;
    all.sort_by_key(|p| p.name.to_lowercase());
    Ok(all)
}
