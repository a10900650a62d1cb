//! Cadence definitions: a named, ordered list of steps, versioned. Saving a cadence again adds a
//! version; enrolments keep the version they started on, so editing never rewrites what a lead
//! already went through. The only writer of `cadence`, `cadence_version` and `cadence_rule`.

use crate::clock::{new_id, to_text};
use crate::error::{CoreError, Result};
use crate::people::leads::parse_time;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use switchboard_protocol::{Channel, Outcome, RegistrationKind};
use ts_rs::TS;

/// Most steps a cadence may have.
pub const MAX_STEPS: usize = 50;
/// Longest wait one step may hold, in business days.
pub const MAX_WAIT_DAYS: u32 = 260;

/// One step of a cadence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export, rename = "CadenceStep")]
pub enum Step {
    /// Send an email from a template (for now a task in the rep's queue: "send this template").
    Email { template: String },
    /// Call with a script; `outcomes` are the ones the rep is asked to record.
    Call {
        script: String,
        outcomes: Vec<Outcome>,
    },
    /// Put the lead in the letter batch for this template.
    Letter { template: String },
    /// Wait this many of the lead's business days before the next step.
    Wait { business_days: u32 },
}

impl Step {
    /// The channel the step contacts the lead on; `None` for a wait.
    pub fn channel(&self) -> Option<Channel> {
        match self {
            Step::Email { .. } => Some(Channel::Email),
            Step::Call { .. } => Some(Channel::Phone),
            Step::Letter { .. } => Some(Channel::Mail),
            Step::Wait { .. } => None,
        }
    }

    /// A short line for lists: "call: Intro script", "wait 2 business days".
    pub fn label(&self) -> String {
        match self {
            Step::Email { template } => format!("email: template '{template}'"),
            Step::Call { script, .. } => format!("call: {script}"),
            Step::Letter { template } => format!("letter: template '{template}'"),
            Step::Wait { business_days } => format!("wait {business_days} business day(s)"),
        }
    }

    /// Reads a step written as `email=TEMPLATE`, `letter=TEMPLATE`, `wait=N` or
    /// `call=SCRIPT[|outcome,outcome…]` (the command line's form).
    pub fn parse(spec: &str) -> Result<Step> {
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
    find(conn, &id)
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
/// `cadence_enrol_by_rule` trigger of migration 0011 applies it on every intake path).
pub fn add_rule(
    conn: &Connection,
    cadence: &str,
    rule: &Rule,
    actor: &str,
    at: DateTime<Utc>,
) -> Result<String> {
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
