//! Postal letters: templates with merge fields, the batch of leads waiting for the next printed
//! letters, rendering each letter as plain text, and logging a printed batch as sent.
//!
//! A template is checked when it is saved — an unknown or unclosed merge field is refused then,
//! never discovered at print time. Leads enter the batch through the compliance gate (channel
//! mail: a postal address and no opt-out), and marking the batch sent logs one mail follow-up per
//! letter through `followup::log`, which asks the gate again: someone who opted out of mail after
//! being batched is skipped and reported. Templates and the batch stay on this laptop; the
//! follow-ups sync.

use crate::clock::{new_id, to_text};
use crate::compliance::gate::{self, Decision, DecisionView};
use crate::error::{CoreError, Result};
use crate::outreach::followup::{self, LogFollowUp};
use crate::people::leads::{self, parse_time};
use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use switchboard_protocol::{Channel, Direction, Lead, LeadStatus, Outcome};
use ts_rs::TS;

/// Longest template body accepted.
pub const MAX_TEMPLATE_BYTES: usize = 64 * 1024;

/// The merge fields a template may use, with what each one holds.
pub const MERGE_FIELDS: &[(&str, &str)] = &[
    ("first_name", "the first word of the person's name"),
    ("last_name", "the rest of the person's name"),
    ("name", "the person's full name"),
    ("company", "their company"),
    ("address", "their postal address, as given"),
    ("country", "their country code"),
    ("email", "their email address"),
    ("rep", "who sends the letter"),
    ("date", "the day the letters are printed"),
];

/// A merge field and what it holds, for the template editor's help.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct MergeField {
    pub name: String,
    pub description: String,
}

/// The merge fields in the shape the UI shows.
pub fn merge_fields() -> Vec<MergeField> {
    MERGE_FIELDS
        .iter()
        .map(|(name, description)| MergeField {
            name: (*name).into(),
            description: (*description).into(),
        })
        .collect()
}

/// A saved letter template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct LetterTemplate {
    pub id: String,
    pub name: String,
    pub body: String,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
}

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece<'t> {
    Text(&'t str),
    Field(&'static str),
}

/// Splits a template into text and known merge fields; refuses unknown or unclosed fields.
fn parse(body: &str) -> Result<Vec<Piece<'_>>> {
    let mut pieces = Vec::new();
    let mut rest = body;
    while let Some(open) = rest.find("{{") {
        if open > 0 {
            pieces.push(Piece::Text(&rest[..open]));
        }
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            return Err(CoreError::BadInput(format!(
                "a merge field is not closed: '{}' needs '}}}}'",
                snippet(&rest[open..])
            )));
        };
        let name = after[..close].trim();
        let Some((known, _)) = MERGE_FIELDS.iter().find(|(f, _)| *f == name) else {
            let names: Vec<&str> = MERGE_FIELDS.iter().map(|(f, _)| *f).collect();
            return Err(CoreError::BadInput(format!(
                "unknown merge field {{{{{}}}}} (use one of: {})",
                snippet(name),
                names.join(", ")
            )));
        };
        pieces.push(Piece::Field(known));
        rest = &after[close + 2..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest));
    }
    Ok(pieces)
}

/// At most 40 characters of `text`, for error messages.
fn snippet(text: &str) -> String {
    let short: String = text.chars().take(40).collect();
    if short.len() < text.len() {
        format!("{short}…")
    } else {
        short
    }
}

/// Checks a template body: size, no NUL, every merge field known and closed.
pub fn validate_body(body: &str) -> Result<()> {
    if body.trim().is_empty() {
        return Err(CoreError::BadInput("the letter is empty".into()));
    }
    if body.len() > MAX_TEMPLATE_BYTES {
        return Err(CoreError::BadInput(format!(
            "the letter is {} bytes, more than the {MAX_TEMPLATE_BYTES} allowed",
            body.len()
        )));
    }
    if body.contains('\0') {
        return Err(CoreError::BadInput("the letter contains a NUL byte".into()));
    }
    parse(body).map(|_| ())
}

/// What the merge fields of one letter stand for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MergeData {
    pub name: String,
    pub company: String,
    pub address: String,
    pub country: String,
    pub email: String,
    pub rep: String,
    pub date: String,
}

impl MergeData {
    /// The values for a letter to `lead` from `rep`, printed on `date`.
    pub fn for_lead(lead: &Lead, rep: &str, date: NaiveDate) -> MergeData {
        let text = |v: &Option<String>| v.as_deref().unwrap_or_default().trim().to_string();
        MergeData {
            name: text(&lead.name),
            company: text(&lead.company),
            address: text(&lead.address),
            country: text(&lead.country),
            email: text(&lead.email),
            rep: rep.trim().to_string(),
            date: date.format("%-d %B %Y").to_string(),
        }
    }

    fn value(&self, field: &str) -> String {
        match field {
            "first_name" => self.name.split_whitespace().next().unwrap_or("").into(),
            "last_name" => {
                let mut words = self.name.split_whitespace();
                words.next();
                words.collect::<Vec<_>>().join(" ")
            }
            "name" => self.name.clone(),
            "company" => self.company.clone(),
            "address" => self.address.clone(),
            "country" => self.country.clone(),
            "email" => self.email.clone(),
            "rep" => self.rep.clone(),
            "date" => self.date.clone(),
            // `parse` only yields names from MERGE_FIELDS, all matched above.
            _ => String::new(),
        }
    }
}

/// Fills a template's merge fields. The result is plain text: values are inserted verbatim and
/// must be shown as text (never as markup) — registration data is untrusted.
pub fn render(body: &str, data: &MergeData) -> Result<String> {
    let mut out = String::with_capacity(body.len() + 128);
    for piece in parse(body)? {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Field(f) => out.push_str(&data.value(f)),
        }
    }
    Ok(out)
}

fn validate_name(name: &str) -> Result<&str> {
    let name = name.trim();
    if name.is_empty() || name.len() > 200 || name.contains('\0') {
        return Err(CoreError::BadInput(
            "a template needs a name (1 to 200 bytes)".into(),
        ));
    }
    Ok(name)
}

fn template_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<LetterTemplate> {
    Ok(LetterTemplate {
        id: row.get(0)?,
        name: row.get(1)?,
        body: row.get(2)?,
        updated_at: parse_time(row.get(3)?).unwrap_or_default(),
        updated_by: row.get(4)?,
    })
}

/// Every template, by name.
pub fn list_templates(conn: &Connection) -> Result<Vec<LetterTemplate>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, name, body, updated_at, updated_by FROM letter_template ORDER BY name, id",
    )?;
    let rows = stmt.query_map([], template_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// One template by id.
pub fn get_template(conn: &Connection, id: &str) -> Result<LetterTemplate> {
    conn.prepare_cached(
        "SELECT id, name, body, updated_at, updated_by FROM letter_template WHERE id = ?1",
    )?
    .query_row([id], template_from_row)
    .optional()?
    .ok_or_else(|| CoreError::NotFound(format!("no letter template with id {id}")))
}

/// A template by id or by name (names are unique, case-insensitive).
pub fn find_template(conn: &Connection, id_or_name: &str) -> Result<LetterTemplate> {
    let id: Option<String> = conn
        .prepare_cached("SELECT id FROM letter_template WHERE id = ?1 OR name = ?1 LIMIT 1")?
        .query_row([id_or_name.trim()], |r| r.get(0))
        .optional()?;
    match id {
        Some(id) => get_template(conn, &id),
        None => Err(CoreError::NotFound(format!(
            "no letter template called '{}'",
            id_or_name.trim()
        ))),
    }
}

/// Creates a template (`id` none) or replaces one; refused when a merge field is unknown.
pub fn save_template(
    conn: &Connection,
    id: Option<&str>,
    name: &str,
    body: &str,
    actor: &str,
    at: DateTime<Utc>,
) -> Result<LetterTemplate> {
    let name = validate_name(name)?;
    validate_body(body)?;
    let id = match id {
        Some(id) => get_template(conn, id)?.id,
        None => new_id(at),
    };
    let clash: Option<String> = conn
        .prepare_cached("SELECT id FROM letter_template WHERE name = ?1 AND id <> ?2")?
        .query_row(params![name, id], |r| r.get(0))
        .optional()?;
    if clash.is_some() {
        return Err(CoreError::Conflict(format!(
            "another template is already called '{name}'"
        )));
    }
    conn.prepare_cached(
        "INSERT INTO letter_template(id, name, body, updated_at, updated_by)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(id) DO UPDATE SET name = excluded.name, body = excluded.body,
             updated_at = excluded.updated_at, updated_by = excluded.updated_by",
    )?
    .execute(params![id, name, body, to_text(at), actor])?;
    get_template(conn, &id)
}

/// Deletes a template.
pub fn delete_template(conn: &Connection, id: &str) -> Result<()> {
    let gone = conn
        .prepare_cached("DELETE FROM letter_template WHERE id = ?1")?
        .execute([id])?;
    if gone == 0 {
        return Err(CoreError::NotFound(format!(
            "no letter template with id {id}"
        )));
    }
    Ok(())
}

/// A lead waiting in the batch, with what the gate says about mail now.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct BatchEntry {
    pub lead: Lead,
    pub added_at: DateTime<Utc>,
    pub added_by: String,
    #[ts(as = "DecisionView")]
    pub mail: Decision,
}

/// Adds a lead (id or email) to the batch if the gate allows mail now; adding twice is a no-op.
pub fn add_to_batch(
    conn: &Connection,
    lead: &str,
    actor: &str,
    at: DateTime<Utc>,
) -> Result<BatchEntry> {
    let lead = leads::find(conn, lead)?;
    crate::outreach::contact::refuse_if_blocked(conn, &lead, Channel::Mail, at)?;
    conn.prepare_cached(
        "INSERT INTO letter_batch(lead_id, added_at, added_by) VALUES (?1, ?2, ?3)
         ON CONFLICT(lead_id) DO NOTHING",
    )?
    .execute(params![lead.id, to_text(at), actor])?;
    let (added_at, added_by): (String, String) = conn
        .prepare_cached("SELECT added_at, added_by FROM letter_batch WHERE lead_id = ?1")?
        .query_row([&lead.id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(BatchEntry {
        lead,
        added_at: parse_time(Some(added_at)).unwrap_or(at),
        added_by,
        mail: Decision::Allowed,
    })
}

/// Takes a lead out of the batch; returns whether it was there.
pub fn remove_from_batch(conn: &Connection, lead_id: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("DELETE FROM letter_batch WHERE lead_id = ?1")?
        .execute([lead_id])?
        > 0)
}

/// The batch in the order leads were added, each with the gate's mail decision at `at`.
pub fn batch(conn: &Connection, at: DateTime<Utc>) -> Result<Vec<BatchEntry>> {
    let rows: Vec<(String, String, String)> = conn
        .prepare_cached(
            "SELECT lead_id, added_at, added_by FROM letter_batch ORDER BY added_at, rowid",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let gate = gate::Gate::new(conn)?;
    rows.into_iter()
        .map(|(lead_id, added_at, added_by)| {
            let lead = leads::get(conn, &lead_id)?;
            let mail = gate.check(&lead, Channel::Mail, at)?;
            Ok(BatchEntry {
                lead,
                added_at: parse_time(Some(added_at)).unwrap_or(at),
                added_by,
                mail,
            })
        })
        .collect()
}

/// A lead that was left out, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct Skipped {
    pub lead_id: String,
    pub name: Option<String>,
    pub reason: String,
}

/// What adding the due mail follow-ups did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct AddedDue {
    pub added: u32,
    pub skipped: Vec<Skipped>,
}

/// Adds every lead whose follow-up date has come (by `at`) and whose last contact was a letter,
/// or whose cadence's letter step is due: the mail follow-ups due. Leads the gate blocks for mail are reported, not added.
pub fn add_due(conn: &Connection, actor: &str, at: DateTime<Utc>) -> Result<AddedDue> {
    let due: Vec<String> = conn
        .prepare_cached(
            "SELECT l.id FROM lead l
             WHERE (l.status = 'working' AND l.next_follow_up_at IS NOT NULL
               AND l.next_follow_up_at <= ?1
               AND (SELECT f.channel FROM follow_up f WHERE f.lead_id = l.id
                    ORDER BY f.occurred_at DESC, f.id DESC LIMIT 1) = 'mail'
               -- or a cadence's letter step has fallen due (issue 12)
               OR l.status IN ('new', 'working') AND EXISTS (SELECT 1 FROM cadence_enrollment e
                    WHERE e.lead_id = l.id AND e.state = 'active' AND e.channel = 'mail'
                      AND e.due_at <= ?1))
               AND NOT EXISTS (SELECT 1 FROM letter_batch b WHERE b.lead_id = l.id)
             ORDER BY l.next_follow_up_at, l.id",
        )?
        .query_map([to_text(at)], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut result = AddedDue {
        added: 0,
        skipped: Vec::new(),
    };
    for id in due {
        match add_to_batch(conn, &id, actor, at) {
            Ok(_) => result.added += 1,
            Err(CoreError::Blocked(reason)) => result.skipped.push(Skipped {
                name: leads::get(conn, &id)?.name,
                lead_id: id,
                reason,
            }),
            Err(other) => return Err(other),
        }
    }
    Ok(result)
}

/// One rendered letter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct Letter {
    pub lead_id: String,
    pub name: Option<String>,
    /// The letter as plain text (show it as text, never as markup).
    pub text: String,
    /// Why this letter may not be sent now (the gate's reason), if it may not.
    pub blocked: Option<String>,
}

/// The batch's letters from a template, rendered for `rep` on `date`, checked by the gate at `at`.
pub fn preview(
    conn: &Connection,
    template_id: &str,
    rep: &str,
    date: NaiveDate,
    at: DateTime<Utc>,
) -> Result<Vec<Letter>> {
    let template = get_template(conn, template_id)?;
    batch(conn, at)?
        .into_iter()
        .map(|entry| {
            let data = MergeData::for_lead(&entry.lead, rep, date);
            Ok(Letter {
                text: render(&template.body, &data)?,
                blocked: entry.mail.reason().map(|r| r.message()),
                lead_id: entry.lead.id,
                name: entry.lead.name,
            })
        })
        .collect()
}

/// A letter logged as sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct SentLetter {
    pub lead_id: String,
    pub name: Option<String>,
    pub follow_up_id: String,
}

/// What marking the batch sent did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct MarkedSent {
    pub sent: Vec<SentLetter>,
    pub skipped: Vec<Skipped>,
}

/// Logs a mail follow-up (outcome `sent`) by `rep` at `at` for every lead in the batch, through
/// the gate again, then empties the batch. Leads the gate now blocks (an opt-out of mail since
/// they were batched, an erasure) are skipped and reported. Run inside one transaction.
pub fn mark_sent(
    conn: &Connection,
    template_id: Option<&str>,
    rep: &str,
    at: DateTime<Utc>,
) -> Result<MarkedSent> {
    let note = match template_id {
        Some(id) => Some(format!("Letter: {}", get_template(conn, id)?.name)),
        None => Some("Letter".to_string()),
    };
    let ids: Vec<String> = conn
        .prepare_cached("SELECT lead_id FROM letter_batch ORDER BY added_at, rowid")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut result = MarkedSent {
        sent: Vec::new(),
        skipped: Vec::new(),
    };
    for lead_id in ids {
        let lead = leads::get(conn, &lead_id)?;
        let input = LogFollowUp {
            lead: lead_id.clone(),
            channel: Channel::Mail,
            direction: Direction::Out,
            outcome: Outcome::Sent,
            note: note.clone(),
            occurred_at: at,
            rep: rep.to_string(),
            next_follow_up_at: None,
        };
        match followup::log(conn, &input, at) {
            Ok(follow_up) => result.sent.push(SentLetter {
                lead_id,
                name: lead.name,
                follow_up_id: follow_up.id,
            }),
            Err(CoreError::Blocked(reason) | CoreError::Suppressed(reason)) => {
                result.skipped.push(Skipped {
                    lead_id,
                    // An erased person's name is gone; nothing to show but the id.
                    name: lead.name.filter(|_| lead.status != LeadStatus::Erased),
                    reason,
                })
            }
            Err(other) => return Err(other),
        }
    }
    conn.prepare_cached("DELETE FROM letter_batch")?
        .execute([])?;
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::noon;
    use crate::people::leads::NewLead;
    use crate::{compliance::consent, Store};
    use chrono::Duration;

    use switchboard_protocol::ConsentScope;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, 2).unwrap()
    }

    fn store() -> Store {
        crate::fixtures::store_at(noon())
    }

    fn add_lead(s: &mut Store, name: &str, address: Option<&str>) -> String {
        let id = new_id(noon());
        let lead = NewLead {
            name: Some(name.into()),
            company: Some("Analytical Engines Ltd".into()),
            email: Some(format!("{}@example.com", id)),
            address: address.map(str::to_string),
            country: Some("GB".into()),
            last_registered_at: Some(noon() - Duration::hours(1)),
            ..NewLead::default()
        };
        s.with_tx(|tx| leads::insert(tx, &id, &lead, noon() - Duration::hours(1)))
            .unwrap();
        id
    }

    const BODY: &str = "{{date}}\n\n{{name}}\n{{company}}\n{{ address }}\n\nDear {{first_name}} {{last_name}},\n\nthank you.\n{{rep}}";

    #[test]
    fn rendering_fills_every_field_and_keeps_markup_as_text() {
        let mut s = store();
        let id = add_lead(
            &mut s,
            "<img src=x onerror=alert(1)> Byron",
            Some("12 St James's Square\nLondon"),
        );
        let lead = leads::get(s.conn(), &id).unwrap();
        let text = render(BODY, &MergeData::for_lead(&lead, "rita", today())).unwrap();
        assert_eq!(
            text,
            "2 March 2026\n\n<img src=x onerror=alert(1)> Byron\nAnalytical Engines Ltd\n\
             12 St James's Square\nLondon\n\nDear <img src=x onerror=alert(1)> Byron,\n\nthank you.\nrita"
        );
        let plain = MergeData {
            name: "Ada".into(),
            ..MergeData::default()
        };
        assert_eq!(
            render("{{first_name}}|{{last_name}}|{", &plain).unwrap(),
            "Ada||{"
        );
    }

    #[test]
    fn unknown_or_unclosed_merge_fields_are_refused_when_saving() {
        let s = store();
        let err = save_template(
            s.conn(),
            None,
            "Hello",
            "Dear {{salutation}},",
            "rita",
            noon(),
        )
        .unwrap_err();
        assert_eq!(err.code(), "bad_input");
        assert!(
            err.to_string()
                .contains("unknown merge field {{salutation}}")
                && err.to_string().contains("first_name"),
            "{err}"
        );
        let err =
            save_template(s.conn(), None, "Hello", "Dear {{name", "rita", noon()).unwrap_err();
        assert!(err.to_string().contains("not closed"), "{err}");
        assert!(list_templates(s.conn()).unwrap().is_empty());
    }

    #[test]
    fn templates_are_saved_renamed_and_deleted() {
        let s = store();
        let t = save_template(s.conn(), None, "Welcome", BODY, "rita", noon()).unwrap();
        let again = save_template(
            s.conn(),
            Some(&t.id),
            "Welcome pack",
            "Hi {{name}}",
            "max",
            noon(),
        )
        .unwrap();
        assert_eq!(again.id, t.id);
        assert_eq!(again.updated_by, "max");
        assert_eq!(find_template(s.conn(), "welcome PACK").unwrap().id, t.id);
        assert_eq!(find_template(s.conn(), &t.id).unwrap().name, "Welcome pack");
        assert_eq!(
            find_template(s.conn(), "nope").unwrap_err().code(),
            "not_found"
        );
        let other = save_template(s.conn(), None, "Other", "Hi", "rita", noon()).unwrap();
        let clash = save_template(
            s.conn(),
            Some(&other.id),
            "WELCOME PACK",
            "Hi",
            "rita",
            noon(),
        );
        assert_eq!(clash.unwrap_err().code(), "conflict");
        assert_eq!(list_templates(s.conn()).unwrap().len(), 2);
        delete_template(s.conn(), &other.id).unwrap();
        assert_eq!(
            delete_template(s.conn(), &other.id).unwrap_err().code(),
            "not_found"
        );
    }

    #[test]
    fn only_leads_the_gate_allows_mail_join_the_batch() {
        let mut s = store();
        let with_address = add_lead(&mut s, "Ada Lovelace", Some("1 Main St"));
        let without = add_lead(&mut s, "Grace Hopper", None);
        let opted_out = add_lead(&mut s, "Alan Turing", Some("2 Main St"));
        s.with_tx(|tx| {
            consent::opt_out(
                tx,
                &opted_out,
                ConsentScope::Mail,
                "letter",
                None,
                "rita",
                noon(),
            )
        })
        .unwrap();

        s.with_tx(|tx| add_to_batch(tx, &with_address, "rita", noon()))
            .unwrap();
        s.with_tx(|tx| add_to_batch(tx, &with_address, "rita", noon()))
            .unwrap();
        let err = s
            .with_tx(|tx| add_to_batch(tx, &without, "rita", noon()))
            .unwrap_err();
        assert!(err.to_string().contains("no postal address"), "{err}");
        let err = s
            .with_tx(|tx| add_to_batch(tx, &opted_out, "rita", noon()))
            .unwrap_err();
        assert_eq!(err.code(), "blocked");
        assert!(err.to_string().contains("opted out of mail"), "{err}");

        let entries = batch(s.conn(), noon()).unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].lead.id, with_address);
        assert!(entries[0].mail.is_allowed());
        assert!(remove_from_batch(s.conn(), &with_address).unwrap());
        assert!(batch(s.conn(), noon()).unwrap().is_empty());
    }

    #[test]
    fn marking_sent_logs_mail_follow_ups_skips_opted_out_and_empties_the_batch() {
        let mut s = store();
        let ada = add_lead(&mut s, "Ada Lovelace", Some("1 Main St"));
        let alan = add_lead(&mut s, "Alan Turing", Some("2 Main St"));
        let t = save_template(s.conn(), None, "Welcome", BODY, "rita", noon()).unwrap();
        for id in [&ada, &alan] {
            s.with_tx(|tx| add_to_batch(tx, id, "rita", noon()))
                .unwrap();
        }
        // Alan opts out of mail after being batched: his letter must not be logged as sent.
        s.with_tx(|tx| {
            consent::opt_out(tx, &alan, ConsentScope::Mail, "phone", None, "rita", noon())
        })
        .unwrap();
        let letters = preview(s.conn(), &t.id, "rita", today(), noon()).unwrap();
        assert_eq!(letters.len(), 2);
        assert!(letters[0].text.contains("Dear Ada Lovelace"));
        assert!(letters[0].blocked.is_none());
        assert!(letters[1]
            .blocked
            .as_deref()
            .unwrap()
            .contains("opted out of mail"));

        let later = noon() + Duration::minutes(5);
        let done = s
            .with_tx(|tx| mark_sent(tx, Some(&t.id), "rita", later))
            .unwrap();
        assert_eq!(done.sent.len(), 1);
        assert_eq!(done.sent[0].lead_id, ada);
        assert_eq!(done.skipped.len(), 1);
        assert_eq!(done.skipped[0].lead_id, alan);
        assert!(
            done.skipped[0].reason.contains("opted out of mail"),
            "{:?}",
            done.skipped
        );

        let (channel, outcome, note, rep): (String, String, String, String) = s
            .conn()
            .query_row(
                "SELECT channel, outcome, note, rep FROM follow_up WHERE lead_id = ?1",
                [&ada],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        assert_eq!(
            (
                channel.as_str(),
                outcome.as_str(),
                note.as_str(),
                rep.as_str()
            ),
            ("mail", "sent", "Letter: Welcome", "rita")
        );
        let alan_rows: i64 = s
            .conn()
            .query_row(
                "SELECT count(*) FROM follow_up WHERE lead_id = ?1",
                [&alan],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(alan_rows, 0);
        assert!(batch(s.conn(), later).unwrap().is_empty());
        assert_eq!(leads::get(s.conn(), &ada).unwrap().attempts, 1);
    }

    #[test]
    fn due_mail_follow_ups_join_the_batch() {
        let mut s = store();
        let ada = add_lead(&mut s, "Ada Lovelace", Some("1 Main St"));
        let grace = add_lead(&mut s, "Grace Hopper", Some("3 Main St"));
        let earlier = noon() - Duration::days(7);
        for (id, channel, outcome) in [
            (&ada, Channel::Mail, Outcome::Sent),
            (&grace, Channel::Email, Outcome::Sent),
        ] {
            let input = LogFollowUp {
                lead: id.clone(),
                channel,
                direction: Direction::Out,
                outcome,
                note: None,
                occurred_at: earlier,
                rep: "rita".into(),
                next_follow_up_at: Some(noon() - Duration::hours(1)),
            };
            s.with_tx(|tx| followup::log(tx, &input, earlier)).unwrap();
        }
        let added = s.with_tx(|tx| add_due(tx, "rita", noon())).unwrap();
        assert_eq!(added.added, 1, "only the lead last written to by mail");
        let entries = batch(s.conn(), noon()).unwrap();
        assert_eq!(entries[0].lead.id, ada);
        let again = s.with_tx(|tx| add_due(tx, "rita", noon())).unwrap();
        assert_eq!(again.added, 0);
    }
}
