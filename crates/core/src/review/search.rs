//! Full-text search over leads (name, company, email, phone) and follow-up notes.
//!
//! User text never reaches FTS5 as syntax: each word becomes a quoted phrase (`"acme"`), so
//! quotes, `OR`, `NEAR`, `-`, `:` and parentheses are plain text. All words must match.
//! Whole words are tried first, then every word as a prefix (`"acm"*`) when whole words did not
//! fill the page: FTS5 walks a whole word's doclist lazily and stops at the limit, while a prefix
//! longer than the index's 2- and 3-character prefix tables makes it merge every matching term.
//! Hits come newest lead first (rowid order), whole-word hits before prefix hits; ranking every
//! match by bm25 would cost time in proportion to the number of matches.
//! A query that looks like a phone number (digits with spaces, dashes, dots, slashes,
//! parentheses, an optional `+` or `00`) matches the E.164 digits of the phone field as one
//! prefix, so "+49 30 1234" finds +4930123456. The index holds E.164 only, so a national
//! spelling is also read in the countries of the database's offices: with an office in Germany,
//! "030 1234" (trunk `0` replaced by the calling code) and a whole national number (parsed as
//! intake parses it) find +4930123456 too. A whole email address is looked up in the email index
//! first.

use crate::error::{CoreError, Result};
use crate::normalize::normalize_phone;
use crate::normalize::phone::international_digits;
use crate::people::leads::{lead_from_row, LEAD_COLUMNS};
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use switchboard_protocol::{Lead, LeadStatus};
use ts_rs::TS;

/// Most words taken from one query; the rest are ignored.
pub const MAX_TERMS: usize = 12;
/// Most hits one search returns.
pub const MAX_LIMIT: usize = 500;
const NOTE_EXCERPT_CHARS: usize = 160;

/// Where a search matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum SearchMatch {
    /// Name, company, email or phone.
    Lead,
    /// A follow-up note.
    Note,
}

/// One search result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct SearchHit {
    pub lead: Lead,
    pub matched: SearchMatch,
    /// The follow-up whose note matched.
    pub follow_up_id: Option<String>,
    /// The start of that note.
    pub note_excerpt: Option<String>,
}

/// The FTS5 queries to run for a user's text, in order, until enough hits are found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Plan {
    /// Over `lead_search`.
    pub lead: Vec<String>,
    /// Over `note_search`.
    pub note: Vec<String>,
}

fn quote(term: &str, prefix: bool) -> String {
    format!(
        "\"{}\"{}",
        term.replace('"', "\"\""),
        if prefix { "*" } else { "" }
    )
}

/// Digits of a phone-like query, without an international `00`; `None` if it is not phone-like.
fn phone_digits(text: &str) -> Option<String> {
    let t = text.trim();
    if !t
        .chars()
        .all(|c| c.is_ascii_digit() || " +-./()".contains(c))
    {
        return None;
    }
    let digits: String = t.chars().filter(char::is_ascii_digit).collect();
    let digits = match digits.strip_prefix("00") {
        Some(rest) if !t.starts_with('+') => rest.to_string(),
        _ => digits,
    };
    (digits.len() >= 3).then_some(digits)
}

/// Whole words first (FTS5 walks those lazily, newest first, and stops at the limit), then every
/// word as a prefix (FTS5 merges all terms under a long prefix, so it only runs when the whole
/// words did not fill the page). A phone-like query searches the phone digits alone: its digit
/// groups as words would match half the index.
pub(crate) fn plan(text: &str) -> Plan {
    plan_in(text, &[])
}

/// `plan`, reading a national phone spelling in each of `regions` as well.
pub(crate) fn plan_in(text: &str, regions: &[String]) -> Plan {
    let terms: Vec<&str> = text
        .split_whitespace()
        .filter(|t| t.chars().any(char::is_alphanumeric))
        .take(MAX_TERMS)
        .collect();
    let joined = |prefix: bool| {
        terms
            .iter()
            .map(|t| quote(t, prefix))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let words = match (terms.is_empty(), full_email(text).is_some()) {
        (true, _) => Vec::new(),
        // A whole address is made of whole words; its last one ("com") as a prefix would merge
        // the doclists of every lead.
        (false, true) => vec![joined(false)],
        (false, false) => vec![joined(false), joined(true)],
    };
    let lead = match phone_digits(text) {
        Some(d) => {
            let mut prefixes = vec![d.clone()];
            let international = text.trim().starts_with('+') || d.len() < digit_count(text);
            if !international {
                for region in regions {
                    let whole = normalize_phone(text, Some(region))
                        .ok()
                        .map(|e164| e164.trim_start_matches('+').to_string());
                    for p in whole.into_iter().chain(international_digits(&d, region)) {
                        if !prefixes.contains(&p) {
                            prefixes.push(p);
                        }
                    }
                }
            }
            prefixes
                .iter()
                .map(|p| format!("phone : {}", quote(p, true)))
                .collect()
        }
        None => words.clone(),
    };
    Plan { lead, note: words }
}

fn digit_count(text: &str) -> usize {
    text.chars().filter(char::is_ascii_digit).count()
}

/// The countries of the database's offices: where national phone spellings are read.
fn office_regions(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached("SELECT DISTINCT country FROM office ORDER BY country")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn lead_by_rowid(conn: &Connection, rowid: i64) -> Result<Option<Lead>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {LEAD_COLUMNS} FROM lead WHERE rowid = ?1 AND status <> 'erased'"
        ))?
        .query_row([rowid], lead_from_row)
        .optional()?)
}

/// A whole email address (one word with an `@` and a dot after it), lowercased.
fn full_email(text: &str) -> Option<String> {
    let t = text.trim();
    let (local, domain) = t.split_once('@')?;
    (!local.is_empty() && domain.contains('.') && !t.contains(char::is_whitespace))
        .then(|| t.to_lowercase())
}

/// Searches leads and notes for `text`; up to `limit` hits, one per lead, lead fields first.
pub fn search(conn: &Connection, text: &str, limit: usize) -> Result<Vec<SearchHit>> {
    if text.contains('\0') {
        return Err(CoreError::BadInput(
            "search text contains a NUL byte".into(),
        ));
    }
    let limit = limit.clamp(1, MAX_LIMIT);
    let plan = match phone_digits(text) {
        Some(_) => plan_in(text, &office_regions(conn)?),
        None => plan(text),
    };
    let mut hits = Vec::new();
    let mut seen = HashSet::new();
    let mut push = |lead: Lead, hits: &mut Vec<SearchHit>| {
        if seen.insert(lead.id.clone()) {
            hits.push(SearchHit {
                lead,
                matched: SearchMatch::Lead,
                follow_up_id: None,
                note_excerpt: None,
            });
        }
    };
    // A whole email address is answered by the email index; the FTS phrase would have to walk
    // tokens such as "com" that every lead has.
    if let Some(email) = full_email(text) {
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {LEAD_COLUMNS} FROM lead WHERE email = ?1 AND status <> 'erased' LIMIT ?2"
        ))?;
        let found = stmt
            .query_map(params![email, limit as i64], lead_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        for lead in found {
            push(lead, &mut hits);
        }
    }
    // An address that names a lead identifies it: the words of the address add nothing.
    let lead_queries: &[String] = if hits.is_empty() { &plan.lead } else { &[] };
    for q in lead_queries {
        if hits.len() >= limit {
            break;
        }
        let rowids: Vec<i64> = conn
            .prepare_cached(
                "SELECT rowid FROM lead_search WHERE lead_search MATCH ?1
                 ORDER BY rowid DESC LIMIT ?2",
            )?
            .query_map(params![q, limit as i64], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        for rowid in rowids {
            if hits.len() >= limit {
                break;
            }
            if let Some(lead) = lead_by_rowid(conn, rowid)? {
                push(lead, &mut hits);
            }
        }
    }
    let mut seen: HashSet<String> = hits.iter().map(|h| h.lead.id.clone()).collect();
    for q in &plan.note {
        if hits.len() >= limit {
            break;
        }
        let notes: Vec<(String, String, Option<String>)> = conn
            .prepare_cached(
                "SELECT f.id, f.lead_id, f.note
                 FROM note_search JOIN follow_up f ON f.rowid = note_search.rowid
                 WHERE note_search MATCH ?1 ORDER BY note_search.rowid DESC LIMIT ?2",
            )?
            .query_map(params![q, limit as i64], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        for (follow_up_id, lead_id, note) in notes {
            if hits.len() >= limit || seen.contains(&lead_id) {
                continue;
            }
            let lead = conn
                .prepare_cached(&format!("SELECT {LEAD_COLUMNS} FROM lead WHERE id = ?1"))?
                .query_row([&lead_id], lead_from_row)
                .optional()?;
            let Some(lead) = lead.filter(|l| l.status != LeadStatus::Erased) else {
                continue;
            };
            seen.insert(lead_id);
            hits.push(SearchHit {
                lead,
                matched: SearchMatch::Note,
                follow_up_id: Some(follow_up_id),
                note_excerpt: note.map(|n| n.chars().take(NOTE_EXCERPT_CHARS).collect()),
            });
        }
    }
    Ok(hits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::new_id;
    use crate::fixtures::noon;
    use crate::outreach::followup::{self, LogFollowUp};
    use crate::people::leads::{self, NewLead};
    use crate::Store;
    use chrono::Duration;

    use switchboard_protocol::{Channel, Direction, Outcome};

    fn setup() -> Store {
        let mut s = crate::fixtures::store_at(noon());
        let people = [
            (
                "Ann Müller",
                "Acme Robotics",
                "ann@acme.example",
                "+4930123456",
            ),
            ("Bob O'Neil", "Globex", "bob@globex.example", "+14155550123"),
            (
                "Chloé Dubois",
                "Acme France",
                "chloe@acme.fr",
                "+33612345678",
            ),
        ];
        for (i, (name, company, email, phone)) in people.into_iter().enumerate() {
            let at = noon() - Duration::hours(3 - i as i64);
            let id = new_id(at);
            s.with_tx(|tx| {
                leads::insert(
                    tx,
                    &id,
                    &NewLead {
                        name: Some(name.into()),
                        company: Some(company.into()),
                        email: Some(email.into()),
                        phone: Some(phone.into()),
                        last_registered_at: Some(at),
                        ..NewLead::default()
                    },
                    at,
                )
            })
            .unwrap();
        }
        s
    }

    fn names(s: &Store, text: &str) -> Vec<String> {
        search(s.conn(), text, 10)
            .unwrap()
            .into_iter()
            .map(|h| h.lead.name.unwrap())
            .collect()
    }

    #[test]
    fn names_companies_and_emails_match_by_prefix() {
        let s = setup();
        assert_eq!(names(&s, "acme"), vec!["Chloé Dubois", "Ann Müller"]);
        assert_eq!(names(&s, "Acm rob"), vec!["Ann Müller"]);
        assert_eq!(names(&s, "mull"), vec!["Ann Müller"], "diacritics fold");
        assert_eq!(names(&s, "chloe"), vec!["Chloé Dubois"]);
        assert_eq!(names(&s, "bob@globex.example"), vec!["Bob O'Neil"]);
        assert_eq!(names(&s, "o'neil"), vec!["Bob O'Neil"]);
        assert!(names(&s, "zebra").is_empty());
    }

    #[test]
    fn phone_digits_are_searchable_in_common_spellings() {
        let s = setup();
        assert_eq!(names(&s, "+49 30 1234"), vec!["Ann Müller"]);
        assert_eq!(names(&s, "0049-30-123456"), vec!["Ann Müller"]);
        assert_eq!(
            names(&s, "(415) 555"),
            Vec::<String>::new(),
            "national digits need the code"
        );
        assert_eq!(names(&s, "1 415 555 0123"), vec!["Bob O'Neil"]);
        assert_eq!(names(&s, "4155550123"), Vec::<String>::new());
    }

    #[test]
    fn national_spellings_are_read_in_the_offices_countries() {
        let s = setup();
        // Without an office nothing tells which country "030" belongs to.
        assert!(names(&s, "030 1234").is_empty());
        s.conn()
            .execute(
                "INSERT INTO office(code, name, country) VALUES ('ber', 'Berlin', 'DE')",
                [],
            )
            .unwrap();
        assert_eq!(names(&s, "030 1234"), vec!["Ann Müller"]);
        assert_eq!(names(&s, "030 123456"), vec!["Ann Müller"]);
        assert_eq!(names(&s, "030/12-34-56"), vec!["Ann Müller"]);
        assert_eq!(names(&s, "+49 30 1234"), vec!["Ann Müller"]);
        // A trunk 0 is not read in an office country the number is not from.
        assert!(names(&s, "0415 555").is_empty());
        assert_eq!(
            plan_in("030 12", &["DE".to_string()]).lead,
            vec!["phone : \"03012\"*", "phone : \"493012\"*"]
        );
        assert_eq!(
            plan_in("0049 30 12", &["DE".to_string()]).lead,
            vec!["phone : \"493012\"*"],
            "an international 00 is not a trunk prefix"
        );
    }

    #[test]
    fn fts_syntax_in_user_text_is_plain_text() {
        let s = setup();
        for hostile in [
            "\"",
            "acme OR",
            "NEAR(acme",
            "-acme",
            "name:acme",
            "acme*",
            "(",
            "*",
            "AND",
            "^acme",
            "acme \"robotics",
            "'; DROP TABLE lead; --",
        ] {
            search(s.conn(), hostile, 10).unwrap_or_else(|e| panic!("{hostile}: {e}"));
        }
        assert_eq!(
            names(&s, "acme OR globex"),
            Vec::<String>::new(),
            "OR is a word here"
        );
        assert_eq!(
            plan("a\"b x").lead,
            vec!["\"a\"\"b\" \"x\"", "\"a\"\"b\"* \"x\"*"]
        );
        assert_eq!(
            plan("  - ! "),
            Plan {
                lead: vec![],
                note: vec![]
            }
        );
        assert_eq!(plan("+49 30 12").lead, vec!["phone : \"493012\"*"]);
        assert_eq!(plan("Ann@Example.com").lead, vec!["\"Ann@Example.com\""]);
        assert!(search(s.conn(), "", 10).unwrap().is_empty());
    }

    #[test]
    fn notes_are_searched_and_point_at_their_lead() {
        let mut s = setup();
        let input = LogFollowUp {
            lead: "bob@globex.example".into(),
            channel: Channel::Email,
            direction: Direction::Out,
            outcome: Outcome::Sent,
            note: Some("Sent the quotation for the warehouse scanners".into()),
            occurred_at: noon(),
            rep: "rep1".into(),
            next_follow_up_at: None,
        };
        let f = s.with_tx(|tx| followup::log(tx, &input, noon())).unwrap();
        let hits = search(s.conn(), "quotat warehouse", 10).unwrap();
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].matched, SearchMatch::Note);
        assert_eq!(hits[0].follow_up_id.as_deref(), Some(f.id.as_str()));
        assert_eq!(hits[0].lead.name.as_deref(), Some("Bob O'Neil"));
        // A lead matched by its own fields is listed once.
        assert_eq!(search(s.conn(), "globex", 10).unwrap().len(), 1);
    }

    #[test]
    fn the_limit_caps_hits() {
        let s = setup();
        assert_eq!(search(s.conn(), "example", 1).unwrap().len(), 1);
        assert_eq!(search(s.conn(), "a\0", 1).unwrap_err().code(), "bad_input");
    }
}
