//! Recording what came back for a sent mail: a reply is logged as an inbound email follow-up
//! "replied" with its first lines; a delivery-status report as "bounced", and a hard bounce marks
//! the address invalid through the same rule the email service feedback import uses
//! (`leads::set_email_invalid`), which the gate reads as "no valid email address". Each inbound
//! message is recorded once, by its own Message-ID.

use super::outbox::{self, OutboxMail};
use crate::clock::to_text;
use crate::error::{CoreError, Result};
use crate::outreach::followup::{self, LogFollowUp};
use crate::people::leads;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection};
use serde::Serialize;
use switchboard_protocol::{Channel, Direction, LeadStatus, Outcome};
use ts_rs::TS;

/// How many lines of a reply are kept in the follow-up's note.
pub const REPLY_LINES: usize = 5;

/// What an inbound message was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum InboundKind {
    Reply,
    /// A permanent failure (5.x.x): the address does not work.
    HardBounce,
    /// A temporary failure (4.x.x): recorded, the address stays valid.
    SoftBounce,
}

impl InboundKind {
    fn as_str(self) -> &'static str {
        match self {
            InboundKind::Reply => "reply",
            InboundKind::HardBounce => "hard_bounce",
            InboundKind::SoftBounce => "soft_bounce",
        }
    }
}

/// One recorded inbound message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct InboundRecord {
    pub kind: InboundKind,
    pub outbox_id: String,
    pub lead_id: String,
    pub follow_up_id: Option<String>,
    /// The address was marked invalid by this message (hard bounces).
    pub address_invalidated: bool,
}

/// Whether an inbound message (by its own Message-ID) was already recorded.
pub fn already_recorded(conn: &Connection, inbound_message_id: &str) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM mail_inbound WHERE message_id = ?1")?
        .exists([inbound_message_id.trim()])?)
}

/// Forgets what was read about an erased person's mail (called by the erasure before their
/// outbox rows go).
pub fn purge_for_lead(conn: &Connection, lead_id: &str) -> Result<usize> {
    Ok(conn.execute(
        "DELETE FROM mail_inbound
         WHERE outbox_id IN (SELECT id FROM mail_outbox WHERE lead_id = ?1)",
        [lead_id],
    )?)
}

/// The first `REPLY_LINES` non-empty lines of a reply, without the quoted original.
pub fn excerpt(text: &str) -> String {
    text.lines()
        .map(str::trim_end)
        .take_while(|l| !(l.starts_with("On ") && l.ends_with("wrote:")))
        .filter(|l| !l.trim().is_empty() && !l.starts_with('>'))
        .take(REPLY_LINES)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Records an inbound message about `sent` inside the caller's transaction; `None` when it was
/// already recorded (the same message read again) or the lead was erased since.
pub fn record(
    conn: &Connection,
    sent: &OutboxMail,
    inbound_message_id: &str,
    kind: InboundKind,
    text: &str,
    at: DateTime<Utc>,
) -> Result<Option<InboundRecord>> {
    if already_recorded(conn, inbound_message_id)? {
        return Ok(None);
    }
    conn.prepare_cached(
        "INSERT INTO mail_inbound(message_id, outbox_id, kind, recorded_at) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        inbound_message_id.trim(),
        sent.id,
        kind.as_str(),
        to_text(at)
    ])?;
    if leads::get(conn, &sent.lead_id)?.status == LeadStatus::Erased {
        return Ok(None);
    }
    let (outcome, note) = match kind {
        InboundKind::Reply => (
            Outcome::Replied,
            format!("Reply to {}:\n{}", sent.message_id, excerpt(text)),
        ),
        InboundKind::HardBounce | InboundKind::SoftBounce => (
            Outcome::Bounced,
            format!(
                "{} bounce of {}: {}",
                if kind == InboundKind::HardBounce {
                    "Hard"
                } else {
                    "Soft"
                },
                sent.message_id,
                text.chars().take(300).collect::<String>()
            ),
        ),
    };
    let note: String = note.chars().take(followup::MAX_NOTE_BYTES / 4).collect();
    let input = LogFollowUp {
        lead: sent.lead_id.clone(),
        channel: Channel::Email,
        direction: Direction::In,
        outcome,
        note: Some(note),
        occurred_at: at,
        rep: sent.rep.clone(),
        next_follow_up_at: None,
    };
    let follow_up = match followup::log(conn, &input, at) {
        Ok(f) => Some(f.id),
        Err(CoreError::Suppressed(_)) => None,
        Err(e) => return Err(e),
    };
    // Only the address the mail went to is invalid: not one the lead has given since.
    let current = leads::get(conn, &sent.lead_id)?.email.unwrap_or_default();
    let address_invalidated = kind == InboundKind::HardBounce
        && outbox::was_sent_to(conn, &sent.id, &current)?
        && leads::set_email_invalid(conn, &sent.lead_id, true, &sent.rep, "email_bounced", at)?;
    Ok(Some(InboundRecord {
        kind,
        outbox_id: sent.id.clone(),
        lead_id: sent.lead_id.clone(),
        follow_up_id: follow_up,
        address_invalidated,
    }))
}

/// Records an inbound message that names sent mails by Message-ID (a reply's In-Reply-To and
/// References, a report's original Message-ID): the first sent mail named wins.
pub fn record_for(
    conn: &Connection,
    named: &[String],
    inbound_message_id: &str,
    kind: InboundKind,
    text: &str,
    at: DateTime<Utc>,
) -> Result<Option<InboundRecord>> {
    match outbox::sent_among(conn, named)?.first() {
        Some(sent) => record(conn, sent, inbound_message_id, kind, text, at),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests;
