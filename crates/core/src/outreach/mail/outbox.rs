//! The local mail outbox: mails queued from a template for a lead, sent when the mail server is
//! reachable. The `Message-ID` is fixed when a mail is queued. Sending asks the gate again at
//! that moment (an opt-out synced in between cancels the mail), and a mail moves
//! queued → sending → sent in separate transactions around the SMTP exchange: a mail marked
//! `sending` whose exchange was interrupted (a crash, a lost connection after DATA) is never
//! resent by itself — it is shown as interrupted until the rep retries or cancels it — so nothing
//! is sent twice and nothing is lost. A sent mail is logged as an email follow-up with its
//! subject and Message-ID. Every mail carries a one-click unsubscribe link when the replica has
//! a key for it, and cadence mail is refused without one (`unsubscribe`).

use super::mailbox;
use super::templates::{self, MergeData};
use super::unsubscribe;
use crate::clock::{new_id, to_text};
use crate::compliance::gate::{self, Decision};
use crate::compliance::suppression::{self, Identifier};
use crate::error::{CoreError, Result};
use crate::outreach::contact;
use crate::outreach::followup::{self, LogFollowUp};
use crate::people::leads::{self, parse_time};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use switchboard_protocol::{Channel, Direction, LeadStatus, Outcome};
use ts_rs::TS;

/// Where a mail is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum MailState {
    Queued,
    Sending,
    Sent,
    Cancelled,
    Failed,
}

impl MailState {
    fn parse(text: &str) -> MailState {
        match text {
            "queued" => MailState::Queued,
            "sending" => MailState::Sending,
            "sent" => MailState::Sent,
            "cancelled" => MailState::Cancelled,
            _ => MailState::Failed,
        }
    }
}

/// One mail of the outbox (no personal information: the lead by id, the template's text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct OutboxMail {
    pub id: String,
    pub message_id: String,
    pub lead_id: String,
    pub template_id: Option<String>,
    pub state: MailState,
    pub rep: String,
    pub queued_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub follow_up_id: Option<String>,
    /// Why it was cancelled or failed, or why the last attempt did not go through.
    pub error_code: Option<String>,
    pub error: Option<String>,
}

const COLUMNS: &str = "id, message_id, lead_id, template_id, state, rep, queued_at, sent_at, \
                       follow_up_id, error_code, error";

fn from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<OutboxMail> {
    Ok(OutboxMail {
        id: row.get(0)?,
        message_id: row.get(1)?,
        lead_id: row.get(2)?,
        template_id: row.get(3)?,
        state: MailState::parse(&row.get::<_, String>(4)?),
        rep: row.get(5)?,
        queued_at: parse_time(row.get(6)?).unwrap_or_default(),
        sent_at: parse_time(row.get(7)?),
        follow_up_id: row.get(8)?,
        error_code: row.get(9)?,
        error: row.get(10)?,
    })
}

/// One mail by its outbox id.
pub fn get(conn: &Connection, id: &str) -> Result<OutboxMail> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM mail_outbox WHERE id = ?1"))?
        .query_row([id], from_row)
        .optional()?
        .ok_or_else(|| CoreError::NotFound(format!("no mail {id} in the outbox")))
}

/// One mail by the Message-ID it was (or will be) sent with.
pub fn by_message_id(conn: &Connection, message_id: &str) -> Result<Option<OutboxMail>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM mail_outbox WHERE message_id = ?1"
        ))?
        .query_row([message_id.trim()], from_row)
        .optional()?)
}

/// Every mail, newest first.
pub fn list(conn: &Connection) -> Result<Vec<OutboxMail>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM mail_outbox ORDER BY queued_at DESC, id DESC"
    ))?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The mails waiting to be sent, oldest first.
pub fn queued(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id FROM mail_outbox WHERE state = 'queued' ORDER BY queued_at, id",
    )?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Queues a mail from a template for a lead (id or email) by `rep`. Refused now when the gate
/// already blocks email for the lead; asked again when it is sent.
pub fn queue(
    conn: &Connection,
    lead: &str,
    template: &str,
    rep: &str,
    at: DateTime<Utc>,
) -> Result<OutboxMail> {
    queue_edited(conn, lead, template, None, rep, at)
}

/// Queues a mail from a template whose subject and body the rep edited before sending (the
/// window's compose): `edited` replaces the template's text for this mail only, checked like a
/// template (an unknown merge field is refused with the known ones listed).
pub fn queue_edited(
    conn: &Connection,
    lead: &str,
    template: &str,
    edited: Option<(&str, &str)>,
    rep: &str,
    at: DateTime<Utc>,
) -> Result<OutboxMail> {
    let mailbox = mailbox::require(conn)?;
    let lead = leads::find(conn, lead)?;
    contact::refuse_if_blocked(conn, &lead, Channel::Email, at)?;
    // Refused now rather than at sending, so the rep learns at once what to set up.
    unsubscribe::link_for_mail(conn, &lead)?;
    let mut template = templates::find(conn, template)?;
    if let Some((subject, body)) = edited {
        templates::validate(subject, body)?;
        template.subject = subject.to_string();
        template.body = body.to_string();
    }
    let rep = rep.trim();
    if rep.is_empty() {
        return Err(CoreError::BadInput(
            "a mail needs the rep who sends it".into(),
        ));
    }
    let id = new_id(at);
    let message_id = format!("<{id}.switchboard@{}>", mailbox.domain());
    conn.prepare_cached(
        "INSERT INTO mail_outbox(id, message_id, lead_id, template_id, subject, body, rep, state,
                                 queued_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'queued', ?8)",
    )?
    .execute(params![
        id,
        message_id,
        lead.id,
        template.id,
        template.subject,
        template.body,
        rep,
        to_text(at)
    ])?;
    get(conn, &id)
}

/// A mail ready for the SMTP exchange: addressed and rendered after the gate allowed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub outbox_id: String,
    pub message_id: String,
    pub lead_id: String,
    pub to: String,
    pub subject: String,
    /// The rendered text, with the unsubscribe line when the mail has a link.
    pub body: String,
    /// Headers the mail carries besides the usual ones (`List-Unsubscribe`, …).
    pub headers: Vec<(String, String)>,
}

/// What claiming a queued mail decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Send it now; it is marked `sending`.
    Send(Outgoing),
    /// The gate refused at the moment of sending; the mail is cancelled with the reason.
    Cancelled { outbox_id: String, reason: String },
    /// It cannot go as it is (cadence mail without an unsubscribe key): marked failed with the
    /// code and what to do; `mail retry` queues it again once that is done.
    Refused {
        outbox_id: String,
        code: String,
        reason: String,
    },
    /// It is no longer queued (sent, cancelled or claimed elsewhere).
    Gone,
}

/// Takes one queued mail for sending at `at`, inside the caller's transaction: the gate is asked
/// now; if it allows, the mail is rendered from the lead's current data and marked `sending`.
pub fn claim(conn: &Connection, outbox_id: &str, at: DateTime<Utc>) -> Result<Claim> {
    let mail = get(conn, outbox_id)?;
    if mail.state != MailState::Queued {
        return Ok(Claim::Gone);
    }
    let lead = leads::get(conn, &mail.lead_id)?;
    let decision = if lead.status == LeadStatus::Erased {
        Decision::Blocked(gate::BlockReason::Erased)
    } else {
        gate::check(conn, &lead, Channel::Email, at)?
    };
    if let Decision::Blocked(reason) = decision {
        let message = format!("not sent: {}", reason.message());
        finish(
            conn,
            outbox_id,
            "cancelled",
            Some(reason.code()),
            Some(&message),
        )?;
        return Ok(Claim::Cancelled {
            outbox_id: outbox_id.to_string(),
            reason: message,
        });
    }
    let link = match unsubscribe::link_for_mail(conn, &lead) {
        Ok(link) => link,
        Err(e @ CoreError::UnsubscribeNotConfigured(_)) => {
            let reason = e.to_string();
            finish(conn, outbox_id, "failed", Some(e.code()), Some(&reason))?;
            return Ok(Claim::Refused {
                outbox_id: outbox_id.to_string(),
                code: e.code().into(),
                reason,
            });
        }
        Err(e) => return Err(e),
    };
    let (subject, body): (String, String) = conn
        .prepare_cached("SELECT subject, body FROM mail_outbox WHERE id = ?1")?
        .query_row([outbox_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let signature = mailbox::require(conn)?.signature;
    let data = MergeData::for_lead(conn, &lead, &mail.rep, &signature)?;
    let rendered = templates::render(&subject, &body, &lead, &data)?;
    let to = rendered
        .to
        .ok_or_else(|| CoreError::Blocked("the lead has no email address".into()))?;
    conn.prepare_cached(
        "UPDATE mail_outbox SET state = 'sending', attempted_at = ?2, to_hash = ?3 WHERE id = ?1",
    )?
    .execute(params![outbox_id, to_text(at), address_hash(conn, &to)?])?;
    Ok(Claim::Send(Outgoing {
        outbox_id: outbox_id.to_string(),
        message_id: mail.message_id,
        lead_id: lead.id,
        to,
        subject: rendered.subject,
        body: match &link {
            Some(link) => format!("{}{}", rendered.body, unsubscribe::footer(link)),
            None => rendered.body,
        },
        headers: link
            .as_deref()
            .map(unsubscribe::headers)
            .unwrap_or_default(),
    }))
}

/// The keyed hash of an address, as the suppression list makes it.
pub fn address_hash(conn: &Connection, address: &str) -> Result<String> {
    Ok(suppression::hash(
        &suppression::key(conn)?,
        Identifier::Email,
        &address.trim().to_lowercase(),
    ))
}

/// Whether `address` is the one a sent mail went to.
pub fn was_sent_to(conn: &Connection, outbox_id: &str, address: &str) -> Result<bool> {
    let sent: Option<String> = conn
        .prepare_cached("SELECT to_hash FROM mail_outbox WHERE id = ?1")?
        .query_row([outbox_id], |r| r.get(0))
        .optional()?
        .flatten();
    Ok(sent.is_some_and(|h| address_hash(conn, address).is_ok_and(|a| a == h)))
}

fn finish(
    conn: &Connection,
    id: &str,
    state: &str,
    code: Option<&str>,
    error: Option<&str>,
) -> Result<()> {
    conn.prepare_cached(
        "UPDATE mail_outbox SET state = ?2, error_code = ?3, error = ?4 WHERE id = ?1",
    )?
    .execute(params![id, state, code, error])?;
    Ok(())
}

/// Records that the server accepted a claimed mail: `sent`, logged as an email follow-up with
/// its subject and Message-ID (inside the caller's transaction).
pub fn mark_sent(conn: &Connection, outgoing: &Outgoing, at: DateTime<Utc>) -> Result<OutboxMail> {
    let mail = get(conn, &outgoing.outbox_id)?;
    let input = LogFollowUp {
        lead: mail.lead_id.clone(),
        channel: Channel::Email,
        direction: Direction::Out,
        outcome: Outcome::Sent,
        note: Some(format!(
            "Email \"{}\" (Message-ID {})",
            outgoing.subject, outgoing.message_id
        )),
        occurred_at: at,
        rep: mail.rep.clone(),
        next_follow_up_at: None,
    };
    // The mail has left: an opt-out that arrived during the exchange cannot unsend it, so a
    // refusal to log is kept on the row rather than losing the fact that it was sent.
    let (follow_up, code, error) = match followup::log(conn, &input, at) {
        Ok(f) => (Some(f.id), None, None),
        Err(e @ (CoreError::Blocked(_) | CoreError::Suppressed(_))) => (
            None,
            Some(e.code()),
            Some(format!("sent, but not logged: {e}")),
        ),
        Err(e) => return Err(e),
    };
    conn.prepare_cached(
        "UPDATE mail_outbox SET state = 'sent', sent_at = ?2, follow_up_id = ?3,
             error_code = ?4, error = ?5 WHERE id = ?1",
    )?
    .execute(params![mail.id, to_text(at), follow_up, code, error])?;
    get(conn, &mail.id)
}

/// Puts a claimed mail back in the queue after an attempt that certainly did not send it (the
/// server was unreachable, refused the login, or answered "try later").
pub fn mark_retry(conn: &Connection, id: &str, code: &str, error: &str) -> Result<()> {
    finish(conn, id, "queued", Some(code), Some(error))
}

/// Notes why a claimed mail's exchange broke off where it may or may not have been delivered:
/// it stays `sending` (interrupted) for the rep to retry or cancel.
pub fn mark_interrupted(conn: &Connection, id: &str, code: &str, error: &str) -> Result<()> {
    finish(conn, id, "sending", Some(code), Some(error))
}

/// Marks a claimed mail failed for good (the server refused the recipient).
pub fn mark_failed(conn: &Connection, id: &str, code: &str, error: &str) -> Result<()> {
    finish(conn, id, "failed", Some(code), Some(error))
}

/// Forgets an erased person's mails, queued or sent: a server's refusal quotes the address, and
/// the keyed hash names it. Their follow-ups stay (for counts) with their notes purged.
pub fn purge_for_lead(conn: &Connection, lead_id: &str) -> Result<usize> {
    Ok(conn.execute("DELETE FROM mail_outbox WHERE lead_id = ?1", [lead_id])?)
}

/// Mails whose SMTP exchange was interrupted: they may or may not have left.
pub fn interrupted(conn: &Connection) -> Result<Vec<OutboxMail>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM mail_outbox WHERE state = 'sending' ORDER BY queued_at, id"
    ))?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The rep's decision on an interrupted or failed mail: queue it again (with the same
/// Message-ID) or cancel it.
pub fn resolve(conn: &Connection, id: &str, send_again: bool) -> Result<OutboxMail> {
    let mail = get(conn, id)?;
    if !matches!(
        mail.state,
        MailState::Sending | MailState::Failed | MailState::Queued
    ) {
        return Err(CoreError::Conflict(format!(
            "mail {id} is {:?}, nothing to retry or cancel",
            mail.state
        )));
    }
    if send_again {
        finish(conn, id, "queued", None, None)?;
    } else {
        finish(
            conn,
            id,
            "cancelled",
            Some("cancelled"),
            Some("cancelled by the rep"),
        )?;
    }
    get(conn, id)
}

/// The sent mails among these Message-IDs (replies and reports name them).
pub fn sent_among(conn: &Connection, message_ids: &[String]) -> Result<Vec<OutboxMail>> {
    let mut found = Vec::new();
    for id in message_ids {
        if let Some(mail) = by_message_id(conn, id)? {
            if mail.state == MailState::Sent && !found.iter().any(|m: &OutboxMail| m.id == mail.id)
            {
                found.push(mail);
            }
        }
    }
    Ok(found)
}
