//! Partners: the resellers, distributors and regional offices personal information may go to.
//! Anything not registered here is not a recipient — no function takes a free-form recipient.
//! The rules that check a partner are the domain's (`switchboard_domain::partners`), shared with
//! the server; registering and reading partners in this replica's database is here.

use crate::clock::to_text;
use crate::error::{CoreError, Result};
use crate::time::parse_time;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};
use switchboard_domain::partners;

pub use switchboard_protocol::{Partner, PartnerKind, ShareField, TransferBasis};

pub use switchboard_domain::partners::{
    fields_from_text, fields_text, in_eea, normalise_fields, NewPartner,
};

/// Parses a partner kind as users type it.
pub fn parse_kind(text: &str) -> Result<PartnerKind> {
    Ok(partners::parse_kind(text)?)
}

/// Parses a transfer basis as users type it, accepting the long names too.
pub fn parse_basis(text: &str) -> Result<TransferBasis> {
    Ok(partners::parse_basis(text)?)
}

/// Parses a comma-separated list of share fields (`name,email,consent`).
pub fn parse_fields(text: &str) -> Result<Vec<ShareField>> {
    Ok(partners::parse_fields(text)?)
}

/// Checks what an admin gave and makes the partner record (for this database or the server).
pub fn validate(new: &NewPartner, actor: &str, at: DateTime<Utc>) -> Result<Partner> {
    Ok(partners::validate(new, actor, at)?)
}

/// Registers a partner inside the caller's transaction.
pub fn add(conn: &Connection, new: &NewPartner, actor: &str, at: DateTime<Utc>) -> Result<Partner> {
    let partner = validate(new, actor, at)?;
    // A replica's partners come from its server; one added here would exist nowhere else.
    if let Some(server) = crate::store::sync_state::state(conn)?.server_url {
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
    use crate::fixtures::{nine, store_at};

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
        let mut s = store_at(nine());
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
        let s = store_at(nine());
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
