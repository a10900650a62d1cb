//! One-click unsubscribe (RFC 8058): the offices' link keys, and the public endpoint a mail's
//! `List-Unsubscribe` link points to.
//!
//! Each office has a current HMAC key (made on first use, rotated by
//! `switchboard-server unsubscribe-key rotate`); its replicas receive it at sign-in with the
//! public URL (a manager's, one per office managed) and make links offline (`switchboard_domain::unsubscribe`). Every key ever made
//! stays in `meta` under its id, so a mail queued on a laptop days before a rotation still
//! unsubscribes. `GET` only shows a page with a button: mail scanners fetch links, and fetching
//! must not opt anyone out. `POST` with `List-Unsubscribe=One-Click` records an opt-out of email
//! as a consent event signed by the server, in the lead's office bucket, which every replica of
//! the office pulls. Every token — valid, unknown, garbled, of an erased person — gets the same
//! page, so the endpoint tells nobody whether a token or a person exists.

use crate::accounts::Actor;
use crate::api::read_within;
use crate::error::{Result, ServerError};
use crate::leads;
use crate::push::{self, Effects, SERVER_AUTHOR};
use crate::sealing::Opener;
use crate::state::ServerState;
use crate::store::{self, col_text, Tx};
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Router;
use chrono::{DateTime, Utc};
use rand::Rng;
use serde::{Deserialize, Serialize};
use switchboard_domain::unsubscribe as token;
use switchboard_protocol::*;

/// Largest body the endpoint reads: the one-click form is 26 bytes.
pub const BODY_LIMIT: usize = 1024;

/// `meta` key of an office's current key id.
fn current_key(office: &str) -> String {
    format!("unsubscribe.current.{office}")
}

/// `meta` key of a key by its id.
fn key_entry(key_id: &str) -> String {
    format!("unsubscribe.key.{key_id}")
}

/// A key as kept in `meta` (JSON).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredKey {
    office: String,
    key: String,
    created_at: DateTime<Utc>,
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rand_core::UnwrapErr(rand::rngs::SysRng).fill_bytes(&mut buf);
    hex::encode(buf)
}

fn stored(tx: &mut dyn Tx, key_id: &str) -> Result<Option<StoredKey>> {
    let Some(text) = tx
        .query_opt(
            "SELECT value FROM meta WHERE key = ?1",
            &[key_entry(key_id).into()],
        )?
        .and_then(|r| col_text(&r, 0))
    else {
        return Ok(None);
    };
    Ok(serde_json::from_str(&text).ok())
}

/// Makes a new key for `office` and makes it the current one; returns its id.
pub fn rotate(tx: &mut dyn Tx, office: &str, now: DateTime<Utc>) -> Result<String> {
    if !leads::office_exists(tx, office)? {
        return Err(ServerError::NotFound(format!(
            "no office {office} (add it with `switchboard-server office add`)"
        )));
    }
    let key_id = random_hex(8);
    let entry = StoredKey {
        office: office.to_string(),
        key: random_hex(32),
        created_at: now,
    };
    tx.exec(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)",
        &[
            key_entry(&key_id).into(),
            serde_json::to_string(&entry)?.into(),
        ],
    )?;
    tx.exec(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        &[current_key(office).into(), key_id.as_str().into()],
    )?;
    Ok(key_id)
}

/// The key a replica of `actor`'s primary office makes links with (made on first use), or
/// `None` when there is no public URL or the account has no office.
pub fn key_for(
    tx: &mut dyn Tx,
    actor: &Actor,
    public_url: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<UnsubscribeKey>> {
    let (Some(base), Some(office)) = (public_url, actor.office.as_deref()) else {
        return Ok(None);
    };
    office_key(tx, office, base, now)
}

/// One key per office `actor` works in (each made on first use), sorted by office, or `None`
/// when there is no public URL or the account has no office: a manager of several offices
/// makes links for the leads of each.
pub fn keys_for(
    tx: &mut dyn Tx,
    actor: &Actor,
    public_url: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<Vec<UnsubscribeKey>>> {
    let Some(base) = public_url else {
        return Ok(None);
    };
    let mut keys = Vec::with_capacity(actor.offices.len());
    for office in &actor.offices {
        keys.extend(office_key(tx, office, base, now)?);
    }
    Ok(Some(keys).filter(|k| !k.is_empty()))
}

/// `office`'s current key (made on first use), or `None` when the office does not exist.
fn office_key(
    tx: &mut dyn Tx,
    office: &str,
    base: &str,
    now: DateTime<Utc>,
) -> Result<Option<UnsubscribeKey>> {
    if !leads::office_exists(tx, office)? {
        return Ok(None);
    }
    let current = tx
        .query_opt(
            "SELECT value FROM meta WHERE key = ?1",
            &[current_key(office).into()],
        )?
        .and_then(|r| col_text(&r, 0));
    let key_id = match current {
        Some(id) => id,
        None => rotate(tx, office, now)?,
    };
    let Some(entry) = stored(tx, &key_id)? else {
        return Err(ServerError::Internal(format!(
            "the unsubscribe key {key_id} of office {office} is missing"
        )));
    };
    Ok(Some(UnsubscribeKey {
        link_base: link_base(base),
        key_id,
        key: Secret::new(entry.key),
        office: office.to_string(),
    }))
}

/// `https://host[/prefix]/v1/unsubscribe/` for a public URL.
pub fn link_base(public_url: &str) -> String {
    format!(
        "{}{UNSUBSCRIBE_PATH}",
        public_url.trim().trim_end_matches('/')
    )
}

/// Checks a configured public URL: absolute `https://`, no query or fragment.
pub fn check_public_url(url: &str) -> Result<String> {
    let url = url.trim();
    let host = url.strip_prefix("https://").unwrap_or_default();
    if host.is_empty()
        || host.starts_with('/')
        || url.contains(['?', '#'])
        || url.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(ServerError::Invalid(format!(
            "the public URL '{url}' must be an https:// address recipients of mail can reach, \
             without ? or # (e.g. https://crm.example.com)"
        )));
    }
    Ok(url.trim_end_matches('/').to_string())
}

/// What a one-click POST did (the page says the same either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// An opt-out of email was recorded.
    OptedOut,
    /// The person was opted out of email already: nothing new (a replay, a second click).
    AlreadyOptedOut,
    /// Not a good token of a live lead of the key's office: nothing happened.
    Ignored,
}

/// Records the opt-out a token asks for, inside a write transaction.
pub fn opt_out(
    tx: &mut dyn Tx,
    text: &str,
    now: DateTime<Utc>,
    effects: &mut Effects,
) -> Result<Outcome> {
    let Some(parsed) = token::parse(text) else {
        return Ok(Outcome::Ignored);
    };
    let Some(entry) = stored(tx, &parsed.key_id)? else {
        return Ok(Outcome::Ignored);
    };
    let Ok(key) = hex::decode(&entry.key) else {
        return Ok(Outcome::Ignored);
    };
    if !parsed.verify(&key) {
        return Ok(Outcome::Ignored);
    }
    // A lead made on a laptop that has not pushed it yet (the mail left while the laptop was
    // offline from the Switchboard server) is created empty in the key's office, as a pushed
    // record for an unknown lead is; its fields follow when the laptop pushes. Only holders of
    // the office's key can make such a token, and they may create the office's leads anyway.
    if leads::load_state(tx, &parsed.lead_id)?.is_none() {
        leads::create(tx, &parsed.lead_id, Some(&entry.office), now)?;
    }
    let Some(lead) = leads::load_state(tx, &parsed.lead_id)? else {
        return Ok(Outcome::Ignored);
    };
    if lead.erased {
        return Ok(Outcome::Ignored);
    }
    // A key makes links for its own office's leads only; a lead since moved away keeps the
    // links its old office's mail carried.
    let in_office = lead.office.as_deref() == Some(entry.office.as_str())
        || tx
            .query_opt(
                "SELECT 1 FROM lead_past_office WHERE lead_id = ?1 AND office = ?2",
                &[lead.id.as_str().into(), entry.office.as_str().into()],
            )?
            .is_some();
    if !in_office {
        return Ok(Outcome::Ignored);
    }
    if opted_out_of_email(tx, &lead.id)? {
        return Ok(Outcome::AlreadyOptedOut);
    }
    let event = ConsentEvent {
        id: uuid::Uuid::now_v7().to_string(),
        lead_id: lead.id.clone(),
        scope: ConsentScope::Email,
        action: ConsentAction::OptOut,
        source: "email unsubscribe".into(),
        evidence: Some(format!(
            "one-click unsubscribe link in a mail (key {})",
            parsed.key_id
        )),
        occurred_at: now,
        supersedes: None,
        recorded_by: SERVER_AUTHOR.into(),
    };
    push::add_record(
        tx,
        &Op::ConsentRecorded(event),
        lead.office.as_deref(),
        effects,
        Some(&lead.id),
    )?;
    Ok(Outcome::OptedOut)
}

/// Whether the lead's consent events leave email opted out, by the rule replicas apply (the
/// latest opt-out covering email stands unless an opt-in names it in `supersedes`). Used only
/// so a replayed link records nothing twice.
fn opted_out_of_email(tx: &mut dyn Tx, lead_id: &str) -> Result<bool> {
    let rows = tx.query(
        "SELECT body FROM record WHERE kind = 'consent_event' AND lead_id = ?1",
        &[lead_id.into()],
    )?;
    let mut opener = Opener::default();
    let mut events = Vec::with_capacity(rows.len());
    for row in rows {
        let stored = col_text(&row, 0).unwrap_or_default();
        if let Some(body) = opener.open(tx, Some(lead_id), &stored)? {
            events.push(serde_json::from_str::<ConsentEvent>(&body)?);
        }
    }
    let latest = events
        .iter()
        .filter(|e| e.action == ConsentAction::OptOut && e.scope.covers(Channel::Email))
        .max_by(|a, b| (a.occurred_at, &a.id).cmp(&(b.occurred_at, &b.id)));
    Ok(latest.is_some_and(|out| {
        !events.iter().any(|e| {
            e.action == ConsentAction::OptIn
                && e.scope.covers(Channel::Email)
                && e.supersedes.as_deref() == Some(out.id.as_str())
        })
    }))
}

/// The endpoint's routes: `GET` and `POST /v1/unsubscribe/{token}` (an empty token, too, gets
/// the same pages rather than a 404 of its own).
pub fn router() -> Router<ServerState> {
    let methods = || axum::routing::get(confirm_page).post(one_click);
    Router::new()
        .route("/v1/unsubscribe/{token}", methods())
        .route("/v1/unsubscribe/", methods())
        .route("/v1/unsubscribe", methods())
}

/// The page a person sees on opening the link: one button, which POSTs the one-click body.
async fn confirm_page() -> Response {
    page(
        "Unsubscribe",
        "<p>Press the button to receive no more email from us at this address.</p>\
         <form method=\"post\"><input type=\"hidden\" name=\"List-Unsubscribe\" \
         value=\"One-Click\"><button type=\"submit\">Unsubscribe</button></form>",
    )
}

const DONE: &str = "<p>If this link came from a mail we sent you, you will receive no more \
    email from us. Nothing else about you has changed.</p>";

/// The one-click POST: records the opt-out if the token is good; the same page whatever.
async fn one_click(
    State(state): State<ServerState>,
    path: std::result::Result<Path<String>, PathRejection>,
    request: Request,
) -> Result<Response> {
    // A path that is not even UTF-8 is one more garbled token: the same page, not a 400.
    let text = path.map(|Path(t)| t).unwrap_or_default();
    let (parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let body = read_within(body, BODY_LIMIT, declared).await?;
    if !is_one_click(&body) {
        return Ok(page(
            "Unsubscribe",
            "<p>This address takes the one-click unsubscribe form only. Open the link in a \
             browser and press the button.</p>",
        ));
    }
    let changed = state
        .blocking(move |s| {
            let now = s.clock.now();
            store::write(&*s.store, |tx| {
                let mut effects = Effects::default();
                opt_out(tx, &text, now, &mut effects)?;
                Ok(effects.changed)
            })
        })
        .await?;
    if changed {
        state.changes.notify_waiters();
    }
    Ok(page("Unsubscribed", DONE))
}

/// Whether a body is the one-click form, URL-encoded or multipart (RFC 8058 allows both).
fn is_one_click(body: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(body) else {
        return false;
    };
    if text.split('&').any(|pair| pair.trim() == ONE_CLICK_BODY) {
        return true;
    }
    // multipart/form-data: a part named List-Unsubscribe whose value is One-Click.
    text.split("name=\"List-Unsubscribe\"").skip(1).any(|rest| {
        rest.split("\r\n\r\n")
            .nth(1)
            .or_else(|| rest.split("\n\n").nth(1))
            .is_some_and(|value| value.trim_start().starts_with("One-Click"))
    })
}

fn page(title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\"><title>{title}</title></head>\
         <body><h1>{title}</h1>{body}</body></html>"
    );
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::REFERRER_POLICY, "no-referrer"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; form-action 'self'",
            ),
        ],
        html,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_one_click_body_is_read_url_encoded_and_multipart() {
        assert!(is_one_click(b"List-Unsubscribe=One-Click"));
        assert!(is_one_click(b"a=b&List-Unsubscribe=One-Click"));
        assert!(is_one_click(
            b"--x\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--x--\r\n"
        ));
        assert!(!is_one_click(b""));
        assert!(!is_one_click(b"List-Unsubscribe=No"));
        assert!(!is_one_click(&[0xff, 0xfe]));
    }

    #[test]
    fn a_public_url_must_be_https_without_query() {
        assert_eq!(
            check_public_url("https://crm.example.com/").unwrap(),
            "https://crm.example.com"
        );
        assert!(check_public_url("http://crm.example.com").is_err());
        assert!(check_public_url("https://").is_err());
        assert!(check_public_url("https://x?y").is_err());
        assert_eq!(
            link_base("https://crm.example.com/sb/"),
            "https://crm.example.com/sb/v1/unsubscribe/"
        );
    }
}
