//! Leads as the central store holds them: the current value and clock of each field group.
//!
//! The personal columns (name, company, email, phone, address) hold text sealed under the
//! person's key (`crate::sealing`); the email is found by its keyed hash in `email_hash`.

use crate::error::{Result, ServerError};
use crate::sealing::{self, PersonKey};
use crate::store::{col_int, col_text, Row, Tx, Val};
use crate::time_text;
use chrono::{DateTime, Utc};
use switchboard_domain::time::parse_time;
use switchboard_protocol::{FieldGroup, LeadFields, LeadStatus};

/// The clock of a group that was never set; older than every real stamp.
pub const NO_CLOCK: &str = "";

/// The stamp sent for a group that was never set (it loses to every real stamp).
pub const ZERO_CLOCK: &str = "0000000000000-00000-server";

/// One lead row.
#[derive(Debug, Clone)]
pub struct LeadRow {
    pub id: String,
    pub office: Option<String>,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub erased: bool,
    /// Each group's values and clock, in `FieldGroup::ALL` order.
    pub groups: Vec<(LeadFields, String)>,
}

impl LeadRow {
    /// The values and clock of `group`.
    pub fn group(&self, group: FieldGroup) -> &(LeadFields, String) {
        let i = FieldGroup::ALL
            .iter()
            .position(|g| *g == group)
            .unwrap_or(0);
        &self.groups[i]
    }
}

const COLUMNS: &str = "id, office, name, company, email, email_invalid, phone, address, country, \
     time_zone, status, owner, next_follow_up_at, created_at, erased_at, clock_identity, \
     clock_email, clock_phone, clock_postal, clock_workflow, clock_office";

/// Column positions of the sealed personal fields in `COLUMNS`.
const SEALED_COLUMNS: [usize; 5] = [2, 3, 4, 6, 7];

/// Opens the personal columns of a row read with `COLUMNS` (an erased lead has no key and
/// NULLs there).
fn open_row(tx: &mut dyn Tx, mut r: Row) -> Result<LeadRow> {
    let id = col_text(&r, 0).ok_or_else(|| ServerError::Internal("lead without id".into()))?;
    if let Some(key) = sealing::person_key(tx, &id)? {
        for i in SEALED_COLUMNS {
            if let Some(Val::Text(sealed)) = r.get(i) {
                let plain = key.open(&id, sealed)?;
                r[i] = Val::Text(plain);
            }
        }
    }
    from_row(&r)
}

fn from_row(r: &Row) -> Result<LeadRow> {
    let t = |i| col_text(r, i);
    let status_text = t(10).unwrap_or_else(|| "new".into());
    let status = status_text.parse::<LeadStatus>().unwrap_or(LeadStatus::New);
    let groups = FieldGroup::ALL
        .iter()
        .map(|g| {
            let (fields, clock) = match g {
                FieldGroup::Identity => (
                    LeadFields::Identity {
                        name: t(2),
                        company: t(3),
                    },
                    t(15),
                ),
                FieldGroup::Email => (
                    LeadFields::Email {
                        email: t(4),
                        email_invalid: col_int(r, 5).unwrap_or(0) != 0,
                    },
                    t(16),
                ),
                FieldGroup::Phone => (LeadFields::Phone { phone: t(6) }, t(17)),
                FieldGroup::Postal => (
                    LeadFields::Postal {
                        address: t(7),
                        country: t(8),
                        time_zone: t(9),
                    },
                    t(18),
                ),
                FieldGroup::Workflow => (
                    LeadFields::Workflow {
                        status,
                        owner: t(11),
                        next_follow_up_at: parse_time(t(12)),
                    },
                    t(19),
                ),
                FieldGroup::Office => (LeadFields::Office { office: t(1) }, t(20)),
            };
            (fields, clock.unwrap_or_default())
        })
        .collect();
    Ok(LeadRow {
        id: t(0).ok_or_else(|| ServerError::Internal("lead without id".into()))?,
        office: t(1),
        erased: t(14).is_some(),
        status: status_text,
        created_at: parse_time(t(13)).unwrap_or_default(),
        groups,
    })
}

/// The lead with `id`, if the store has it.
pub fn load(tx: &mut dyn Tx, id: &str) -> Result<Option<LeadRow>> {
    let sql = format!("SELECT {COLUMNS} FROM lead WHERE id = ?1");
    tx.query_opt(&sql, &[id.into()])?
        .map(|r| open_row(tx, r))
        .transpose()
}

/// The lead with `id` without its personal values (they read as `None`): its office, status
/// and clocks, which is all that merging and authorising an operation need. Never emit its
/// groups: use `load` for that.
pub fn load_state(tx: &mut dyn Tx, id: &str) -> Result<Option<LeadRow>> {
    let sql = format!("SELECT {COLUMNS} FROM lead WHERE id = ?1");
    tx.query_opt(&sql, &[id.into()])?
        .map(|mut r| {
            for i in SEALED_COLUMNS {
                r[i] = Val::Null;
            }
            from_row(&r)
        })
        .transpose()
}

/// Creates an empty lead in `office`, with the key its personal data will be sealed under.
pub fn create(
    tx: &mut dyn Tx,
    id: &str,
    office: Option<&str>,
    created_at: DateTime<Utc>,
) -> Result<()> {
    tx.exec(
        "INSERT INTO lead (id, office, status, created_at) VALUES (?1, ?2, 'new', ?3)",
        &[id.into(), office.into(), time_text(created_at).into()],
    )?;
    sealing::key_for_write(tx, id)?;
    Ok(())
}

fn key_of(tx: &mut dyn Tx, id: &str) -> Result<PersonKey> {
    sealing::key_for_write(tx, id)?.ok_or_else(|| {
        ServerError::Internal(format!("lead {id} is erased: its fields cannot be set"))
    })
}

/// Stores one group's values with its clock, personal values sealed.
pub fn set_group(tx: &mut dyn Tx, id: &str, fields: &LeadFields, clock: &str) -> Result<()> {
    let (sql, mut params): (&str, Vec<Val>) = match fields {
        LeadFields::Identity { name, company } => {
            let key = key_of(tx, id)?;
            (
                "UPDATE lead SET name = ?2, company = ?3, clock_identity = ?4 WHERE id = ?1",
                vec![key.seal_opt(id, name)?, key.seal_opt(id, company)?],
            )
        }
        LeadFields::Email {
            email,
            email_invalid,
        } => {
            let key = key_of(tx, id)?;
            let hash = email.as_deref().map(|e| tx.keyring().email_index(e));
            (
                "UPDATE lead SET email = ?2, email_invalid = ?3, email_hash = ?4, \
                 clock_email = ?5 WHERE id = ?1",
                vec![
                    key.seal_opt(id, email)?,
                    (*email_invalid).into(),
                    hash.into(),
                ],
            )
        }
        LeadFields::Phone { phone } => {
            let key = key_of(tx, id)?;
            (
                "UPDATE lead SET phone = ?2, clock_phone = ?3 WHERE id = ?1",
                vec![key.seal_opt(id, phone)?],
            )
        }
        LeadFields::Postal {
            address,
            country,
            time_zone,
        } => {
            let key = key_of(tx, id)?;
            (
                "UPDATE lead SET address = ?2, country = ?3, time_zone = ?4, clock_postal = ?5 \
                 WHERE id = ?1",
                vec![key.seal_opt(id, address)?, country.into(), time_zone.into()],
            )
        }
        LeadFields::Workflow {
            status,
            owner,
            next_follow_up_at,
        } => (
            "UPDATE lead SET status = ?2, owner = ?3, next_follow_up_at = ?4, \
             clock_workflow = ?5 WHERE id = ?1",
            vec![
                status.as_str().into(),
                owner.into(),
                next_follow_up_at.map(time_text).into(),
            ],
        ),
        LeadFields::Office { office } => (
            "UPDATE lead SET office = ?2, clock_office = ?3 WHERE id = ?1",
            vec![office.into()],
        ),
    };
    params.insert(0, id.into());
    params.push(clock.into());
    tx.exec(sql, &params)?;
    Ok(())
}

/// The id and office of a live (not erased) lead with this normalised email, found through
/// its keyed hash.
pub fn find_by_email(tx: &mut dyn Tx, email: &str) -> Result<Option<(String, Option<String>)>> {
    let hash = tx.keyring().email_index(email);
    Ok(tx
        .query_opt(
            "SELECT id, office FROM lead WHERE email_hash = ?1 AND erased_at IS NULL",
            &[hash.into()],
        )?
        .and_then(|r| Some((col_text(&r, 0)?, col_text(&r, 1)))))
}

/// Whether an office with `code` exists.
pub fn office_exists(tx: &mut dyn Tx, code: &str) -> Result<bool> {
    Ok(tx
        .query_opt("SELECT 1 FROM office WHERE code = ?1", &[code.into()])?
        .is_some())
}
