//! Sharing leads with a registered partner: each person passes the compliance gate, only the
//! partner's allowed fields leave, and every person shared gets a disclosure in the ledger.

use crate::compliance::consent;
use crate::compliance::gate::{self, Decision};
use crate::error::{CoreError, Result};
use crate::partners::disclosure::{self, Disclosure};
use crate::partners::{self, Partner, ShareField};
use crate::people::leads;
use crate::review::export::neutralise;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;
use switchboard_protocol::{Channel, Lead};

/// One person's minimised record as the partner receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SharedRecord {
    /// The reference the partner knows the record by; notices name it.
    pub reference: String,
    /// Column name → value, only for the partner's allowed fields.
    pub values: BTreeMap<String, String>,
}

/// A person who was not shared, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct NotShared {
    /// What the caller named the lead by.
    pub lead: String,
    /// A stable code: `not_found` or the gate's reason code.
    pub code: String,
    pub message: String,
}

/// What a share did.
#[derive(Debug, Clone, Serialize)]
pub struct ShareResult {
    pub partner: Partner,
    /// The column names of the records, in order.
    pub columns: Vec<String>,
    pub shared: Vec<SharedRecord>,
    pub disclosures: Vec<Disclosure>,
    pub blocked: Vec<NotShared>,
}

/// The columns a partner's allowed fields become, in order.
pub fn columns(fields: &[ShareField]) -> Vec<String> {
    let mut cols = vec!["reference".to_string()];
    for f in fields {
        match f {
            ShareField::Registration => {
                cols.push("registration_kind".into());
                cols.push("product".into());
            }
            other => cols.push(other.as_str().to_string()),
        }
    }
    cols
}

/// Shares leads (named by id or email) with a registered partner inside the caller's
/// transaction. An unknown partner is an error and nothing is written; people the gate blocks
/// are reported and skipped; the rest are shared and recorded.
pub fn share(
    conn: &Connection,
    lead_refs: &[String],
    partner_ref: &str,
    actor: &str,
    at: DateTime<Utc>,
) -> Result<ShareResult> {
    let partner = partners::find(conn, partner_ref)?;
    let mut result = ShareResult {
        columns: columns(&partner.fields),
        partner,
        shared: Vec::new(),
        disclosures: Vec::new(),
        blocked: Vec::new(),
    };
    let mut seen = std::collections::HashSet::new();
    let gate = gate::Gate::new(conn)?;
    for reference in lead_refs {
        let lead = match leads::find(conn, reference) {
            Ok(lead) => lead,
            Err(e) if e.code() == "not_found" => {
                result.blocked.push(NotShared {
                    lead: reference.clone(),
                    code: "not_found".into(),
                    message: e.to_string(),
                });
                continue;
            }
            Err(e) => return Err(e),
        };
        if !seen.insert(lead.id.clone()) {
            continue;
        }
        if let Decision::Blocked(reason) = gate.check_disclosure(&lead, at)? {
            result.blocked.push(NotShared {
                lead: reference.clone(),
                code: reason.code().to_string(),
                message: reason.message(),
            });
            continue;
        }
        let (record, sent) = minimise(conn, &lead, &result.partner.fields, at)?;
        let d = disclosure::record(
            conn,
            &lead.id,
            &result.partner,
            &record.reference,
            &sent,
            actor,
            at,
        )?;
        result.shared.push(record);
        result.disclosures.push(d);
    }
    Ok(result)
}

/// The partner's view of a lead and the fields that actually carried a value.
fn minimise(
    conn: &Connection,
    lead: &Lead,
    allowed: &[ShareField],
    at: DateTime<Utc>,
) -> Result<(SharedRecord, Vec<ShareField>)> {
    let mut values = BTreeMap::new();
    let mut sent = Vec::new();
    for field in allowed {
        let pairs: Vec<(&str, Option<String>)> = match field {
            ShareField::Name => vec![("name", lead.name.clone())],
            ShareField::Company => vec![("company", lead.company.clone())],
            ShareField::Email => vec![("email", lead.email.clone())],
            ShareField::Phone => vec![("phone", lead.phone.clone())],
            ShareField::Address => vec![("address", lead.address.clone())],
            ShareField::Country => vec![("country", lead.country.clone())],
            ShareField::Registration => {
                let (kind, product) = latest_registration(conn, &lead.id)?;
                vec![("registration_kind", kind), ("product", product)]
            }
            ShareField::Consent => vec![("consent", Some(consent_summary(conn, lead, at)?))],
        };
        let mut any = false;
        for (column, value) in pairs {
            let value = value.filter(|v| !v.trim().is_empty());
            any |= value.is_some();
            values.insert(column.to_string(), value.unwrap_or_default());
        }
        if any {
            sent.push(*field);
        }
    }
    Ok((
        SharedRecord {
            reference: lead.id.clone(),
            values,
        },
        sent,
    ))
}

fn latest_registration(
    conn: &Connection,
    lead_id: &str,
) -> Result<(Option<String>, Option<String>)> {
    Ok(conn
        .prepare_cached(
            "SELECT kind, product FROM registration WHERE lead_id = ?1
             ORDER BY submitted_at DESC LIMIT 1",
        )?
        .query_row([lead_id], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?
        .unwrap_or((None, None)))
}

/// The person's consent per channel, e.g. `email=opted_out;phone=ok;mail=ok`, so the partner
/// honours an opt-out it receives along with the record.
fn consent_summary(conn: &Connection, lead: &Lead, _at: DateTime<Utc>) -> Result<String> {
    let state = consent::state(conn, &lead.id)?;
    Ok(Channel::ALL
        .iter()
        .map(|c| {
            let word = if state.blocking(*c).is_some() {
                "opted_out"
            } else {
                "ok"
            };
            format!("{c}={word}")
        })
        .collect::<Vec<_>>()
        .join(";"))
}

/// The file formats a share can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
}

impl Format {
    /// The format a file name asks for: `.json` is JSON, anything else CSV.
    pub fn for_path(path: &std::path::Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("json") => Format::Json,
            _ => Format::Csv,
        }
    }
}

/// Writes the shared records to a file, in the format its name asks for (`.json`, else CSV).
pub fn write_file(result: &ShareResult, path: &std::path::Path) -> Result<()> {
    let context = || format!("writing {}", path.display());
    let mut file = std::fs::File::create(path).map_err(|e| CoreError::io(context(), e))?;
    write(result, Format::for_path(path), &mut file)?;
    file.flush().map_err(|e| CoreError::io(context(), e))
}

/// Writes the shared records in `format`.
pub fn write(result: &ShareResult, format: Format, out: &mut dyn Write) -> Result<()> {
    let io = |e: std::io::Error| CoreError::io("writing the shared records", e);
    match format {
        Format::Json => {
            let rows: Vec<BTreeMap<&str, &str>> = result
                .shared
                .iter()
                .map(|r| {
                    let mut row: BTreeMap<&str, &str> = r
                        .values
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str()))
                        .collect();
                    row.insert("reference", &r.reference);
                    row
                })
                .collect();
            serde_json::to_writer_pretty(&mut *out, &rows)
                .map_err(|e| CoreError::io("writing the shared records", e.into()))?;
            writeln!(out).map_err(io)?;
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(out);
            w.write_record(&result.columns)
                .map_err(|e| CoreError::io("writing the shared records", e.into()))?;
            for r in &result.shared {
                let row: Vec<String> = result
                    .columns
                    .iter()
                    .map(|c| match c.as_str() {
                        "reference" => r.reference.clone(),
                        other => neutralise(r.values.get(other).map_or("", |v| v)).into_owned(),
                    })
                    .collect();
                w.write_record(&row)
                    .map_err(|e| CoreError::io("writing the shared records", e.into()))?;
            }
            w.flush().map_err(io)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::new_id;
    use crate::fixtures::{nine, store_at};
    use crate::partners::{NewPartner, PartnerKind, TransferBasis};
    use crate::people::leads::NewLead;
    use crate::{store::outbox, Store};

    use switchboard_protocol::ConsentScope;

    fn lead(s: &mut Store, name: &str, email: &str) -> String {
        let now = s.now();
        let id = new_id(now);
        let new = NewLead {
            name: Some(name.into()),
            company: Some("Acme".into()),
            email: Some(email.into()),
            phone: Some("+4930123456".into()),
            address: Some("Hauptstr. 1".into()),
            country: Some("DE".into()),
            ..NewLead::default()
        };
        s.with_tx(|tx| crate::people::leads::insert(tx, &id, &new, now))
            .unwrap();
        id
    }

    fn partner(s: &mut Store, fields: &str) -> Partner {
        let now = s.now();
        let new = NewPartner {
            name: "Nordic Resale".into(),
            kind: PartnerKind::Reseller,
            country: "NO".into(),
            basis: TransferBasis::NoneNeeded,
            fields: partners::parse_fields(fields).unwrap(),
        };
        s.with_tx(|tx| partners::add(tx, &new, "admin", now))
            .unwrap()
    }

    #[test]
    fn an_unregistered_recipient_gets_nothing_and_nothing_is_recorded() {
        let mut s = store_at(nine());
        let ann = lead(&mut s, "Ann Example", "ann@example.com");
        let before = outbox::pending(s.conn()).unwrap();
        let now = s.now();
        let err = s
            .with_tx(|tx| {
                share(
                    tx,
                    std::slice::from_ref(&ann),
                    "evil-broker.example",
                    "rep1",
                    now,
                )
            })
            .unwrap_err();
        assert_eq!(err.code(), "not_found");
        assert_eq!(outbox::pending(s.conn()).unwrap(), before);
        assert!(disclosure::for_lead(s.conn(), &ann).unwrap().is_empty());
    }

    #[test]
    fn a_share_carries_only_allowed_fields_and_records_a_disclosure() {
        let mut s = store_at(nine());
        let ann = lead(&mut s, "Ann Example", "ann@example.com");
        let p = partner(&mut s, "name,email,consent");
        let now = s.now();
        s.with_tx(|tx| consent::opt_out(tx, &ann, ConsentScope::Phone, "call", None, "rep1", now))
            .unwrap();
        let before = outbox::pending(s.conn()).unwrap();
        let result = s
            .with_tx(|tx| {
                share(
                    tx,
                    &["ANN@example.com".into()],
                    "nordic resale",
                    "rep1",
                    now,
                )
            })
            .unwrap();
        assert_eq!(
            result.columns,
            vec!["reference", "name", "email", "consent"]
        );
        assert_eq!(result.shared.len(), 1);
        let rec = &result.shared[0];
        assert_eq!(rec.reference, ann);
        let keys: Vec<_> = rec.values.keys().cloned().collect();
        assert_eq!(keys, vec!["consent", "email", "name"]);
        assert_eq!(rec.values["consent"], "email=ok;phone=opted_out;mail=ok");
        let mut csv = Vec::new();
        write(&result, Format::Csv, &mut csv).unwrap();
        let csv = String::from_utf8(csv).unwrap();
        assert!(!csv.contains("Acme") && !csv.contains("+4930") && !csv.contains("Haupt"));
        assert!(csv.starts_with("reference,name,email,consent\n"), "{csv}");
        let ledger = disclosure::for_lead(s.conn(), &ann).unwrap();
        assert_eq!(ledger.len(), 1);
        assert_eq!(ledger[0].partner_id, p.id);
        assert_eq!(ledger[0].country, "NO");
        assert_eq!(ledger[0].basis, TransferBasis::NoneNeeded);
        assert_eq!(
            ledger[0].fields,
            vec![ShareField::Name, ShareField::Email, ShareField::Consent]
        );
        assert_eq!(outbox::pending(s.conn()).unwrap(), before + 1);
    }

    #[test]
    fn opted_out_of_all_erased_and_unknown_people_are_reported_not_shared() {
        let mut s = store_at(nine());
        let ann = lead(&mut s, "Ann Example", "ann@example.com");
        let bo = lead(&mut s, "Bo Sample", "bo@example.com");
        let cy = lead(&mut s, "Cy Third", "cy@example.com");
        partner(&mut s, "name,email");
        let now = s.now();
        s.with_tx(|tx| consent::opt_out(tx, &ann, ConsentScope::All, "call", None, "rep1", now))
            .unwrap();
        s.with_tx(|tx| {
            crate::compliance::suppression::suppress(
                tx,
                crate::compliance::suppression::Identifier::Email,
                "bo@example.com",
                now,
            )
        })
        .unwrap();
        let refs = vec![
            ann.clone(),
            bo.clone(),
            cy.clone(),
            "nobody@example.com".into(),
        ];
        let result = s
            .with_tx(|tx| share(tx, &refs, "Nordic Resale", "rep1", now))
            .unwrap();
        let codes: Vec<_> = result.blocked.iter().map(|b| b.code.as_str()).collect();
        assert_eq!(codes, vec!["opted_out", "suppressed", "not_found"]);
        assert_eq!(result.shared.len(), 1);
        assert_eq!(result.shared[0].reference, cy);
        assert!(disclosure::for_lead(s.conn(), &ann).unwrap().is_empty());
        assert!(disclosure::for_lead(s.conn(), &bo).unwrap().is_empty());
    }
}
