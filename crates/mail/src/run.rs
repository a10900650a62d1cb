//! `mail sync`: send what is queued, then read what came back. Sending first checks the login
//! once (a wrong password or an unreachable server leaves every mail queued, untouched); then
//! each mail is claimed through the gate, sent, and marked sent in its own transaction. A
//! server's refusal is certain (the mail goes back to the queue, or fails for a refused
//! recipient); a connection lost in the middle of a send is not, so that mail stays
//! interrupted for the rep rather than risk sending it twice.

use crate::error::{MailError, Result};
use crate::imap::Imap;
use crate::inbound::{self, Inbound};
use crate::smtp::Smtp;
use serde::Serialize;
use switchboard_core::mail::inbound::{self as recorded, InboundKind, InboundRecord};
use switchboard_core::mail::mailbox::Mailbox;
use switchboard_core::mail::outbox::{self, Claim, MailState, Outgoing};
use switchboard_core::settings::{get_setting, set_setting};
use switchboard_core::Store;
use switchboard_protocol::Secret;

/// A mail that did not go, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotSent {
    pub outbox_id: String,
    pub code: String,
    pub reason: String,
}

/// What sending the queue did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SendReport {
    /// Outbox ids of the mails the server accepted.
    pub sent: Vec<String>,
    /// The gate refused at the moment of sending.
    pub cancelled: Vec<NotSent>,
    /// The server refused the recipient for good, or the mail cannot go as it is (cadence mail
    /// without an unsubscribe key: `unsubscribe_not_configured`).
    pub failed: Vec<NotSent>,
    /// The exchange broke off mid-send: the rep decides (`switchboard mail retry|cancel`).
    pub interrupted: Vec<NotSent>,
    /// Still queued (sending stopped, or nothing was tried).
    pub queued: usize,
}

/// Extra headers for one mail (`List-Unsubscribe`, …), decided by the caller.
pub type ExtraHeaders<'a> = &'a dyn Fn(&Outgoing) -> Vec<(String, String)>;

/// Sends every queued mail. A login or connection failure before the first mail is returned as
/// the error, with everything still queued.
pub async fn send_queued(
    store: &mut Store,
    mailbox: &Mailbox,
    password: &Secret,
    extra: ExtraHeaders<'_>,
) -> Result<SendReport> {
    let mut report = SendReport::default();
    let ids = outbox::queued(store.conn())?;
    if ids.is_empty() {
        return Ok(report);
    }
    let smtp = Smtp::new(mailbox, password)?;
    smtp.test().await?;
    for (index, id) in ids.iter().enumerate() {
        let now = store.now();
        let outgoing = match store.with_tx(|tx| outbox::claim(tx, id, now))? {
            Claim::Send(o) => o,
            Claim::Cancelled { outbox_id, reason } => {
                report.cancelled.push(NotSent {
                    outbox_id,
                    code: "blocked".into(),
                    reason,
                });
                continue;
            }
            Claim::Refused {
                outbox_id,
                code,
                reason,
            } => {
                report.failed.push(NotSent {
                    outbox_id,
                    code,
                    reason,
                });
                continue;
            }
            Claim::Gone => continue,
        };
        let sent = match smtp.message(&outgoing, extra(&outgoing)) {
            Ok(message) => smtp.send(message).await,
            Err(e) => Err(e),
        };
        let note = |e: &MailError| NotSent {
            outbox_id: outgoing.outbox_id.clone(),
            code: e.code().into(),
            reason: e.to_string(),
        };
        match sent {
            Ok(()) => {
                let at = store.now();
                store.with_tx(|tx| outbox::mark_sent(tx, &outgoing, at))?;
                report.sent.push(outgoing.outbox_id.clone());
            }
            Err(e @ MailError::RecipientRefused { .. }) => {
                store.with_tx(|tx| outbox::mark_failed(tx, id, e.code(), &e.to_string()))?;
                report.failed.push(note(&e));
            }
            Err(e @ (MailError::Unreachable { .. } | MailError::Tls { .. })) => {
                store.with_tx(|tx| outbox::mark_interrupted(tx, id, e.code(), &e.to_string()))?;
                report.interrupted.push(note(&e));
                report.queued = ids.len() - index - 1;
                return Ok(report);
            }
            Err(e) => {
                // The server answered no (try later, login expired): certainly not sent.
                store.with_tx(|tx| outbox::mark_retry(tx, id, e.code(), &e.to_string()))?;
                report.queued = ids.len() - index;
                return Err(e);
            }
        }
    }
    Ok(report)
}

/// What reading the inbox did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ReadReport {
    /// New messages whose headers were looked at.
    pub looked_at: usize,
    /// Messages fetched whole (they named a sent mail or were reports).
    pub fetched: usize,
    pub replies: Vec<InboundRecord>,
    pub bounces: Vec<InboundRecord>,
}

const CURSOR: &str = "mail.imap_cursor";

/// Where reading stopped last time: (UIDVALIDITY, next UID).
fn cursor(store: &Store) -> Result<Option<(u32, u32)>> {
    Ok(get_setting(store.conn(), CURSOR)?.and_then(|text| {
        let (validity, next) = text.split_once(':')?;
        Some((validity.parse().ok()?, next.parse().ok()?))
    }))
}

/// Reads the inbox's new messages and records replies to and reports about sent mail. Nothing
/// else from the mailbox is stored; messages are left unread.
pub async fn read_inbox(
    store: &mut Store,
    mailbox: &Mailbox,
    password: &Secret,
) -> Result<ReadReport> {
    let mut imap = Imap::connect(mailbox, password).await?;
    let state = imap.inbox().await?;
    let from = match cursor(store)? {
        Some((validity, next)) if validity == state.uid_validity => next,
        _ => 1,
    };
    let mut report = ReadReport::default();
    let mut next = from;
    if from < state.uid_next {
        for (uid, header) in imap.headers_from(from).await? {
            report.looked_at += 1;
            next = next.max(uid + 1);
            let Some(facts) = inbound::header_facts(&header) else {
                continue;
            };
            let ours = |id: &str| {
                outbox::by_message_id(store.conn(), id)
                    .ok()
                    .flatten()
                    .is_some_and(|m| m.state == MailState::Sent)
            };
            if !facts.worth_reading(ours) {
                continue;
            }
            if let Some(id) = &facts.message_id {
                if recorded::already_recorded(store.conn(), id)? {
                    continue;
                }
            }
            let Some(raw) = imap.message(uid).await? else {
                continue;
            };
            report.fetched += 1;
            let now = store.now();
            let outcome = match inbound::classify(&raw) {
                Some(Inbound::Reply {
                    message_id,
                    named,
                    text,
                }) => store
                    .with_tx(|tx| {
                        recorded::record_for(
                            tx,
                            &named,
                            &message_id,
                            InboundKind::Reply,
                            &text,
                            now,
                        )
                    })?
                    .map(|r| (false, r)),
                Some(Inbound::Report {
                    message_id,
                    named,
                    hard,
                    detail,
                }) => {
                    let kind = if hard {
                        InboundKind::HardBounce
                    } else {
                        InboundKind::SoftBounce
                    };
                    store
                        .with_tx(|tx| {
                            recorded::record_for(tx, &named, &message_id, kind, &detail, now)
                        })?
                        .map(|r| (true, r))
                }
                None => None,
            };
            match outcome {
                Some((true, r)) => report.bounces.push(r),
                Some((false, r)) => report.replies.push(r),
                None => {}
            }
        }
    }
    set_setting(
        store.conn(),
        CURSOR,
        &format!("{}:{next}", state.uid_validity),
    )?;
    imap.logout().await;
    Ok(report)
}

/// What `mail test` found, per server: `None` when it worked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TestReport {
    pub smtp: Option<TestFailure>,
    pub imap: Option<TestFailure>,
}

/// One failed check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TestFailure {
    pub code: String,
    pub message: String,
}

impl From<MailError> for TestFailure {
    fn from(e: MailError) -> Self {
        TestFailure {
            code: e.code().into(),
            message: e.to_string(),
        }
    }
}

/// Connects and logs in to both servers, saying exactly what failed.
pub async fn test(mailbox: &Mailbox, password: &Secret) -> TestReport {
    let smtp = match Smtp::new(mailbox, password) {
        Ok(smtp) => smtp.test().await.err(),
        Err(e) => Some(e),
    };
    let imap = match Imap::connect(mailbox, password).await {
        Ok(mut imap) => {
            let inbox = imap.inbox().await.err();
            imap.logout().await;
            inbox
        }
        Err(e) => Some(e),
    };
    TestReport {
        smtp: smtp.map(TestFailure::from),
        imap: imap.map(TestFailure::from),
    }
}
