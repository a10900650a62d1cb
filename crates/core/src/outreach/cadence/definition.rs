//! Cadence definitions: a named, ordered list of steps, versioned. Saving a cadence again adds a
//! version; enrolments keep the version they started on, so editing never rewrites what a lead
//! already went through. The only writer of `cadence`, `cadence_version` and `cadence_rule`.

use crate::clock::{new_id, to_text};
use crate::error::{CoreError, Result};
use crate::people::leads::parse_time;
use crate::store::outbox::{self, Entity};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use switchboard_protocol::{CadenceRuleAdded, CadenceSaved, Channel, Outcome, RegistrationKind};
use ts_rs::TS;

/// Most steps a cadence may have.
pub const MAX_STEPS: usize = 50;
/// Longest wait one step may hold, in business days.
pub const MAX_WAIT_DAYS: u32 = 260;

/// One step of a cadence (the protocol's type: definitions sync, protocol 3).
pub use switchboard_protocol::CadenceStep as Step;

/// Reads a step written as `email=TEMPLATE`, `letter=TEMPLATE`, `wait=N` or
/// `call=SCRIPT[|outcome,outcome…]` (the command line's form).
pub fn parse_step(spec: &str) -> Result<Step> {
    let bad = |why: &str| {
        CoreError::BadInput(format!(
            "step '{spec}' {why} (write email=TEMPLATE, call=SCRIPT|connected,no_answer, \
             letter=TEMPLATE or wait=DAYS)"
        ))
    };
    let (kind, rest) = spec.split_once('=').ok_or_else(|| bad("has no '='"))?;
    let rest = rest.trim();
    match kind.trim().to_ascii_lowercase().as_str() {
        "email" => Ok(Step::Email {
            template: rest.to_string(),
        }),
        "letter" => Ok(Step::Letter {
            template: rest.to_string(),
        }),
        "wait" => Ok(Step::Wait {
            business_days: rest
                .parse()
                .map_err(|_| bad("needs a whole number of business days"))?,
        }),
        "call" => {
            let (script, outcomes) = match rest.split_once('|') {
                Some((s, o)) => (s, Some(o)),
                None => (rest, None),
            };
            let outcomes = match outcomes {
                Some(list) => list
                    .split(',')
                    .map(|o| o.trim().parse::<Outcome>())
                    .collect::<std::result::Result<Vec<_>, _>>()
                    .map_err(|_| bad("names an unknown outcome"))?,
                None => Outcome::allowed_on(Channel::Phone).to_vec(),
            };
            Ok(Step::Call {
                script: script.trim().to_string(),
                outcomes,
            })
        }
        _ => Err(bad("is of an unknown kind")),
    }
}

/// A cadence as lists show it: its current version's steps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Cadence {
    pub id: String,
    pub name: String,
    #[ts(type = "number")]
    pub version: i64,
    pub steps: Vec<Step>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

/// Enrolment at intake: a registration matching every given field enrols its lead.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export, rename = "CadenceRule")]
pub struct Rule {
    pub kind: Option<RegistrationKind>,
    pub product: Option<String>,
    /// ISO alpha-2.
    pub country: Option<String>,
    pub office: Option<String>,
}

fn check_steps(conn: &Connection, steps: &[Step]) -> Result<()> {
    if steps.is_empty() || steps.len() > MAX_STEPS {
        return Err(CoreError::BadInput(format!(
            "a cadence needs 1 to {MAX_STEPS} steps"
        )));
    }
    if steps.iter().all(|s| s.channel().is_none()) {
        return Err(CoreError::BadInput(
            "a cadence of waits only does nothing: add an email, call or letter step".into(),
        ));
    }
    for step in steps {
        match step {
            Step::Email { template } | Step::Letter { template }
                if template.trim().is_empty() || template.len() > 200 =>
            {
                return Err(CoreError::BadInput(format!(
                    "{} needs a template name (1 to 200 bytes)",
                    step.label()
                )));
            }
            Step::Letter { template } => {
                let known: bool = conn
                    .prepare_cached(
                        "SELECT EXISTS (SELECT 1 FROM letter_template WHERE name = ?1 OR id = ?1)",
                    )?
                    .query_row([template.trim()], |r| r.get(0))?;
                if !known {
                    return Err(CoreError::NotFound(format!(
                        "no letter template named '{template}' (save it first: letters template)"
                    )));
                }
            }
            Step::Call { script, outcomes } => {
                if script.trim().is_empty() || script.len() > 4000 {
                    return Err(CoreError::BadInput(
                        "a call step needs its script (1 to 4000 bytes)".into(),
                    ));
                }
                let allowed = Outcome::allowed_on(Channel::Phone);
                if let Some(bad) = outcomes.iter().find(|o| !allowed.contains(o)) {
                    return Err(CoreError::BadInput(format!(
                        "outcome '{bad}' cannot be recorded for a call"
                    )));
                }
            }
            Step::Wait { business_days }
                if *business_days == 0 || *business_days > MAX_WAIT_DAYS =>
            {
                return Err(CoreError::BadInput(format!(
                    "a wait is 1 to {MAX_WAIT_DAYS} business days"
                )));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Saves a cadence: creates it at version 1, or adds the next version when the name exists.
/// Enrolled leads keep their version; new enrolments start on the one saved here.
pub fn save(
    conn: &Connection,
    name: &str,
    steps: &[Step],
    actor: &str,
    at: DateTime<Utc>,
) -> Result<Cadence> {
    let name = name.trim();
    if name.is_empty() || name.len() > 100 || name.chars().any(char::is_control) {
        return Err(CoreError::BadInput(
            "a cadence's name is 1 to 100 printable bytes".into(),
        ));
    }
    may_define(conn)?;
    check_steps(conn, steps)?;
    let json = serde_json::to_string(steps).expect("steps always serialise");
    let existing: Option<(String, i64)> = conn
        .prepare_cached("SELECT id, current_version FROM cadence WHERE name = ?1")?
        .query_row([name], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (id, version) = match existing {
        Some((id, v)) => (id, v + 1),
        None => {
            let id = new_id(at);
            conn.prepare_cached(
                "INSERT INTO cadence(id, name, current_version, created_at, created_by)
                 VALUES (?1, ?2, 0, ?3, ?4)",
            )?
            .execute(params![id, name, to_text(at), actor])?;
            (id, 1)
        }
    };
    conn.prepare_cached(
        "INSERT INTO cadence_version(cadence_id, version, steps, created_at, created_by)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![id, version, json, to_text(at), actor])?;
    conn.prepare_cached("UPDATE cadence SET current_version = ?2 WHERE id = ?1")?
        .execute(params![id, version])?;
    outbox::enqueue(conn, Entity::Cadence, &id, Some(&version.to_string()))?;
    find(conn, &id)
}

/// Cadences are a manager's to define: a replica signed in as a rep refuses (the server would
/// refuse the pushed definition with `forbidden_role` anyway). A replica never signed in works
/// alone and may.
fn may_define(conn: &Connection) -> Result<()> {
    let role: Option<String> = conn
        .prepare_cached("SELECT role FROM sync_state WHERE id = 1")?
        .query_row([], |r| r.get(0))
        .optional()?
        .flatten();
    if role.as_deref() == Some("rep") {
        return Err(CoreError::Blocked(
            "only a manager defines cadences and their intake rules: ask your manager".into(),
        ));
    }
    Ok(())
}

/// One version of a cadence as it is pushed, if this replica holds it.
pub fn saved_op(conn: &Connection, cadence_id: &str, version: i64) -> Result<Option<CadenceSaved>> {
    let name: Option<String> = conn
        .prepare_cached("SELECT name FROM cadence WHERE id = ?1")?
        .query_row([cadence_id], |r| r.get(0))
        .optional()?;
    let Some(name) = name else { return Ok(None) };
    let (steps, created_at, created_by) = match version_row(conn, cadence_id, version) {
        Ok(row) => row,
        Err(CoreError::Storage(rusqlite::Error::QueryReturnedNoRows)) => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(Some(CadenceSaved {
        cadence_id: cadence_id.to_string(),
        name,
        version,
        steps,
        created_at,
        created_by,
    }))
}

/// Applies a pulled cadence version: union by (id, version); the highest version is current.
/// A cadence of the same name but another id (two managers created one offline) keeps its
/// name, and the pulled one is shown with its id's first characters after its name.
pub fn apply_saved(conn: &Connection, saved: &CadenceSaved) -> Result<bool> {
    let known: bool = conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM cadence WHERE id = ?1)")?
        .query_row([&saved.cadence_id], |r| r.get(0))?;
    if !known {
        let taken: bool = conn
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM cadence WHERE name = ?1)")?
            .query_row([&saved.name], |r| r.get(0))?;
        let name = if taken {
            let short: String = saved.cadence_id.chars().take(8).collect();
            format!("{} ({short})", saved.name)
        } else {
            saved.name.clone()
        };
        conn.prepare_cached(
            "INSERT INTO cadence(id, name, current_version, created_at, created_by)
             VALUES (?1, ?2, 0, ?3, ?4)",
        )?
        .execute(params![
            saved.cadence_id,
            name,
            to_text(saved.created_at),
            saved.created_by
        ])?;
    }
    let json = serde_json::to_string(&saved.steps).expect("steps always serialise");
    let added = conn
        .prepare_cached(
            "INSERT INTO cadence_version(cadence_id, version, steps, created_at, created_by)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
        )?
        .execute(params![
            saved.cadence_id,
            saved.version,
            json,
            to_text(saved.created_at),
            saved.created_by
        ])?;
    conn.prepare_cached(
        "UPDATE cadence SET current_version = max(current_version, ?2) WHERE id = ?1",
    )?
    .execute(params![saved.cadence_id, saved.version])?;
    Ok(added == 1)
}

/// An intake rule as it is pushed, if this replica holds it.
pub fn rule_op(conn: &Connection, id: &str) -> Result<Option<CadenceRuleAdded>> {
    Ok(conn
        .prepare_cached(
            "SELECT id, cadence_id, kind, product, country, office, created_at, created_by
             FROM cadence_rule WHERE id = ?1",
        )?
        .query_row([id], |r| {
            let kind: Option<String> = r.get(2)?;
            Ok(CadenceRuleAdded {
                id: r.get(0)?,
                cadence_id: r.get(1)?,
                kind: kind.and_then(|k| k.parse().ok()),
                product: r.get(3)?,
                country: r.get(4)?,
                office: r.get(5)?,
                created_at: parse_time(r.get(6)?).unwrap_or_default(),
                created_by: r.get(7)?,
            })
        })
        .optional()?)
}

/// Applies a pulled intake rule (union by id); a rule of a cadence this replica does not hold
/// is left out.
pub fn apply_rule(conn: &Connection, rule: &CadenceRuleAdded) -> Result<bool> {
    let added = conn
        .prepare_cached(
            "INSERT INTO cadence_rule(id, cadence_id, kind, product, country, office, created_at,
                                      created_by)
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8 WHERE EXISTS (SELECT 1 FROM cadence WHERE id = ?2)
             ON CONFLICT DO NOTHING",
        )?
        .execute(params![
            rule.id,
            rule.cadence_id,
            rule.kind.map(|k| k.as_str()),
            rule.product,
            rule.country,
            rule.office,
            to_text(rule.created_at),
            rule.created_by
        ])?;
    Ok(added == 1)
}

/// Every cadence at its current version, by name.
pub fn list(conn: &Connection) -> Result<Vec<Cadence>> {
    let ids: Vec<String> = conn
        .prepare_cached("SELECT id FROM cadence ORDER BY name")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    ids.iter().map(|id| find(conn, id)).collect()
}

/// The cadence with this id or name, at its current version.
pub fn find(conn: &Connection, id_or_name: &str) -> Result<Cadence> {
    let row: Option<(String, String, i64)> = conn
        .prepare_cached("SELECT id, name, current_version FROM cadence WHERE id = ?1 OR name = ?1")?
        .query_row([id_or_name.trim()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    let Some((id, name, version)) = row else {
        return Err(CoreError::NotFound(format!(
            "no cadence named '{id_or_name}' (cadence list shows them)"
        )));
    };
    let (steps, created_at, created_by) = version_row(conn, &id, version)?;
    Ok(Cadence {
        id,
        name,
        version,
        steps,
        created_at,
        created_by,
    })
}

/// The steps of one version of a cadence.
pub fn steps_of(conn: &Connection, cadence_id: &str, version: i64) -> Result<Vec<Step>> {
    Ok(version_row(conn, cadence_id, version)?.0)
}

fn version_row(
    conn: &Connection,
    cadence_id: &str,
    version: i64,
) -> Result<(Vec<Step>, DateTime<Utc>, String)> {
    let (json, at, by): (String, String, String) = conn
        .prepare_cached(
            "SELECT steps, created_at, created_by FROM cadence_version
             WHERE cadence_id = ?1 AND version = ?2",
        )?
        .query_row(params![cadence_id, version], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
    let steps = serde_json::from_str(&json).map_err(|e| {
        CoreError::BadInput(format!(
            "cadence {cadence_id} version {version} has unreadable steps: {e}"
        ))
    })?;
    Ok((steps, parse_time(Some(at)).unwrap_or_default(), by))
}

/// Adds an intake rule: registrations matching it enrol their lead in the cadence (the
/// `cadence_enrol_by_rule` trigger of migration 0011, as 0013 and 0023 left it, applies it on every
/// intake path).
pub fn add_rule(
    conn: &Connection,
    cadence: &str,
    rule: &Rule,
    actor: &str,
    at: DateTime<Utc>,
) -> Result<String> {
    may_define(conn)?;
    let cadence = find(conn, cadence)?;
    let country = rule
        .country
        .as_deref()
        .map(|c| c.trim().to_ascii_uppercase());
    if country
        .as_deref()
        .is_some_and(|c| c.len() != 2 || !c.chars().all(|ch| ch.is_ascii_uppercase()))
    {
        return Err(CoreError::BadInput(
            "a rule's country is an ISO 3166-1 alpha-2 code".into(),
        ));
    }
    if rule.kind.is_none() && rule.product.is_none() && country.is_none() && rule.office.is_none() {
        return Err(CoreError::BadInput(
            "a rule needs a kind, product, country or office: one matching everything would \
             enrol every registration"
                .into(),
        ));
    }
    let id = new_id(at);
    conn.prepare_cached(
        "INSERT INTO cadence_rule(id, cadence_id, kind, product, country, office, created_at,
                                  created_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        id,
        cadence.id,
        rule.kind.map(|k| k.as_str()),
        rule.product.as_deref().map(str::trim),
        country,
        rule.office.as_deref().map(str::trim),
        to_text(at),
        actor
    ])?;
    outbox::enqueue(conn, Entity::CadenceRule, &id, None)?;
    Ok(id)
}

/// A cadence's intake rules.
pub fn rules(conn: &Connection, cadence_id: &str) -> Result<Vec<Rule>> {
    let mut stmt = conn.prepare_cached(
        "SELECT kind, product, country, office FROM cadence_rule WHERE cadence_id = ?1
         ORDER BY created_at, id",
    )?;
    let rows = stmt.query_map([cadence_id], |r| {
        let kind: Option<String> = r.get(0)?;
        Ok(Rule {
            kind: kind.and_then(|k| k.parse().ok()),
            product: r.get(1)?,
            country: r.get(2)?,
            office: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
