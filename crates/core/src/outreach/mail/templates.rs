//! Email templates: a subject and a body with merge fields (`{{first_name}}`, `{{product}}`,
//! `{{signature}}`, …), checked when saved — an unknown or unclosed field is refused with the
//! list of known ones — and rendered for one lead as plain text (the preview and the sent mail
//! come from the same function).

use crate::clock::{new_id, to_text};
use crate::error::{CoreError, Result};
use crate::people::leads::{self, parse_time};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use switchboard_protocol::Lead;
use ts_rs::TS;

/// Longest subject accepted (RFC 5322 recommends 78 characters a line; folded subjects work).
pub const MAX_SUBJECT_BYTES: usize = 998;
/// Longest body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The merge fields an email template may use, with what each one holds.
pub const MERGE_FIELDS: &[(&str, &str)] = &[
    ("first_name", "the first word of the person's name"),
    ("last_name", "the rest of the person's name"),
    ("name", "the person's full name"),
    ("company", "their company"),
    (
        "product",
        "the product they asked about (their latest registration)",
    ),
    ("country", "their country code"),
    ("email", "their email address"),
    ("rep", "who sends the mail"),
    ("signature", "the rep's signature from the mailbox settings"),
];

/// A saved email template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct EmailTemplate {
    pub id: String,
    pub name: String,
    pub subject: String,
    pub body: String,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
}

/// One piece of a parsed template.
enum Piece<'t> {
    Text(&'t str),
    Field(&'static str),
}

/// The known field names, for error messages.
fn known_fields() -> String {
    MERGE_FIELDS
        .iter()
        .map(|(f, _)| *f)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Splits a template into text and known merge fields; refuses unknown or unclosed fields.
fn parse<'t>(what: &str, text: &'t str) -> Result<Vec<Piece<'t>>> {
    let mut pieces = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("{{") {
        pieces.push(Piece::Text(&rest[..open]));
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            return Err(CoreError::BadInput(format!(
                "a merge field in the {what} is not closed: add '}}}}' (known fields: {})",
                known_fields()
            )));
        };
        let name = after[..close].trim();
        let Some((known, _)) = MERGE_FIELDS.iter().find(|(f, _)| *f == name) else {
            let shown: String = name.chars().take(40).collect();
            return Err(CoreError::BadInput(format!(
                "unknown merge field {{{{{shown}}}}} in the {what} (known fields: {})",
                known_fields()
            )));
        };
        pieces.push(Piece::Field(known));
        rest = &after[close + 2..];
    }
    pieces.push(Piece::Text(rest));
    Ok(pieces)
}

/// Checks a subject and body: sizes, no NUL, a one-line subject, every merge field known.
pub fn validate(subject: &str, body: &str) -> Result<()> {
    if subject.trim().is_empty() || body.trim().is_empty() {
        return Err(CoreError::BadInput(
            "an email template needs a subject and a body".into(),
        ));
    }
    if subject.len() > MAX_SUBJECT_BYTES || body.len() > MAX_BODY_BYTES {
        return Err(CoreError::BadInput(format!(
            "the subject may hold {MAX_SUBJECT_BYTES} bytes and the body {MAX_BODY_BYTES}"
        )));
    }
    if subject.contains(['\r', '\n']) {
        return Err(CoreError::BadInput("the subject must be one line".into()));
    }
    if subject.contains('\0') || body.contains('\0') {
        return Err(CoreError::BadInput(
            "the template contains a NUL byte".into(),
        ));
    }
    parse("subject", subject)?;
    parse("body", body)?;
    Ok(())
}

/// What the merge fields of one mail stand for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MergeData {
    pub name: String,
    pub company: String,
    pub product: String,
    pub country: String,
    pub email: String,
    pub rep: String,
    pub signature: String,
}

impl MergeData {
    /// The values for a mail to `lead` from `rep` signed with `signature`; the product is the
    /// one named by the lead's latest registration that names one.
    pub fn for_lead(
        conn: &Connection,
        lead: &Lead,
        rep: &str,
        signature: &str,
    ) -> Result<MergeData> {
        let text = |v: &Option<String>| v.as_deref().unwrap_or_default().trim().to_string();
        let product: Option<String> = conn
            .prepare_cached(
                "SELECT product FROM registration WHERE lead_id = ?1 AND product IS NOT NULL
                 AND product <> '' ORDER BY submitted_at DESC, id DESC LIMIT 1",
            )?
            .query_row([&lead.id], |r| r.get(0))
            .optional()?;
        Ok(MergeData {
            name: text(&lead.name),
            company: text(&lead.company),
            product: product.unwrap_or_default().trim().to_string(),
            country: text(&lead.country),
            email: text(&lead.email),
            rep: rep.trim().to_string(),
            signature: signature.trim_end().to_string(),
        })
    }

    fn value(&self, field: &str) -> String {
        let mut words = self.name.split_whitespace();
        match field {
            "first_name" => words.next().unwrap_or_default().into(),
            "last_name" => words.skip(1).collect::<Vec<_>>().join(" "),
            "name" => self.name.clone(),
            "company" => self.company.clone(),
            "product" => self.product.clone(),
            "country" => self.country.clone(),
            "email" => self.email.clone(),
            "rep" => self.rep.clone(),
            "signature" => self.signature.clone(),
            // `parse` only yields names from MERGE_FIELDS, all matched above.
            _ => String::new(),
        }
    }
}

/// Fills the merge fields of `text` (plain text: values go in verbatim, never as markup).
fn fill(what: &str, text: &str, data: &MergeData) -> Result<String> {
    let mut out = String::with_capacity(text.len() + 64);
    for piece in parse(what, text)? {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Field(f) => out.push_str(&data.value(f)),
        }
    }
    Ok(out)
}

/// A mail rendered for one lead: what the preview shows and what is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct RenderedMail {
    pub lead_id: String,
    pub to: Option<String>,
    pub subject: String,
    /// Plain text; show it as text, never as markup.
    pub body: String,
}

/// Renders a subject and body for `lead`. A value with a line break cannot break the subject
/// line: line breaks in the rendered subject become spaces.
pub fn render(subject: &str, body: &str, lead: &Lead, data: &MergeData) -> Result<RenderedMail> {
    let subject = fill("subject", subject, data)?
        .split(['\r', '\n'])
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    Ok(RenderedMail {
        lead_id: lead.id.clone(),
        to: lead.email.clone().filter(|e| !e.trim().is_empty()),
        subject,
        body: fill("body", body, data)?,
    })
}

/// A template rendered with a lead's real data (lead by id or email).
pub fn preview(
    conn: &Connection,
    template: &str,
    lead: &str,
    rep: &str,
    signature: &str,
) -> Result<RenderedMail> {
    let template = find(conn, template)?;
    let lead = leads::find(conn, lead)?;
    let data = MergeData::for_lead(conn, &lead, rep, signature)?;
    render(&template.subject, &template.body, &lead, &data)
}

/// A subject and body the rep is editing, rendered with a lead's real data (lead by id or email);
/// an unknown merge field is refused with the known ones listed.
pub fn preview_text(
    conn: &Connection,
    subject: &str,
    body: &str,
    lead: &str,
    rep: &str,
    signature: &str,
) -> Result<RenderedMail> {
    validate(subject, body)?;
    let lead = leads::find(conn, lead)?;
    let data = MergeData::for_lead(conn, &lead, rep, signature)?;
    render(subject, body, &lead, &data)
}

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<EmailTemplate> {
    Ok(EmailTemplate {
        id: row.get(0)?,
        name: row.get(1)?,
        subject: row.get(2)?,
        body: row.get(3)?,
        updated_at: parse_time(row.get(4)?).unwrap_or_default(),
        updated_by: row.get(5)?,
    })
}

const COLUMNS: &str = "id, name, subject, body, updated_at, updated_by";

/// Every template, by name.
pub fn list(conn: &Connection) -> Result<Vec<EmailTemplate>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM email_template ORDER BY name, id"
    ))?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// A template by id or by name (names are unique, case-insensitive).
pub fn find(conn: &Connection, id_or_name: &str) -> Result<EmailTemplate> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM email_template WHERE id = ?1 OR name = ?1 LIMIT 1"
    ))?
    .query_row([id_or_name.trim()], from_row)
    .optional()?
    .ok_or_else(|| {
        CoreError::NotFound(format!(
            "no email template called '{}' (see `switchboard template list`)",
            id_or_name.trim()
        ))
    })
}

/// Creates a template, or replaces the one with the same name; refused when a field is unknown.
pub fn save(
    conn: &Connection,
    name: &str,
    subject: &str,
    body: &str,
    actor: &str,
    at: DateTime<Utc>,
) -> Result<EmailTemplate> {
    let name = name.trim();
    if name.is_empty() || name.len() > 200 || name.contains('\0') {
        return Err(CoreError::BadInput(
            "a template needs a name (1 to 200 bytes)".into(),
        ));
    }
    validate(subject, body)?;
    let id = match find(conn, name) {
        Ok(existing) if existing.name.eq_ignore_ascii_case(name) => existing.id,
        _ => new_id(at),
    };
    conn.prepare_cached(
        "INSERT INTO email_template(id, name, subject, body, updated_at, updated_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, subject = excluded.subject,
             body = excluded.body, updated_at = excluded.updated_at,
             updated_by = excluded.updated_by",
    )?
    .execute(params![id, name, subject, body, to_text(at), actor])?;
    find(conn, &id)
}

#[cfg(test)]
mod tests;
