//! Whether a pushed operation may be applied: what no push may carry (server-only operations,
//! forged authors, oversize fields, unregistered partners), which office's lead the actor may
//! write to, and what the actor's role may do there (`authz::role_refusal`).

use super::{Refused, Verdict};
use crate::accounts::Actor;
use crate::error::Result;
use crate::leads::LeadRow;
use crate::sealing::Opener;
use crate::store::{col_text, Tx};
use switchboard_protocol::*;

/// Refuses what no push may carry, whatever its lead: operations only the server sends,
/// another user's name as author, fields over the shared limits, a disclosure to a partner
/// that is not registered.
pub(super) fn refuse_outright(tx: &mut dyn Tx, actor: &Actor, op: &Op) -> Result<Option<Verdict>> {
    if let Some(refused) = server_only(op)
        .or_else(|| check_role(actor, op))
        .or_else(|| check_authorship(actor, op))
    {
        return Ok(Some(refused));
    }
    // The limits every intake applies (`switchboard_protocol::limits`).
    if let Err(e) = limits::check_op(op) {
        return Ok(Some(Verdict::rejected("too_large", e.to_string())));
    }
    unregistered_partner(tx, op)
}

/// Operations a rep may not push (cadences and their intake rules are a manager's).
fn check_role(actor: &Actor, op: &Op) -> Option<Verdict> {
    let needed = authz::required_role(op);
    let allowed = match needed {
        Role::Rep => true,
        Role::Manager => matches!(actor.role, Role::Manager | Role::Admin),
        // Only rep and manager are asked for today; any other needed role is its holder's or an admin's.
        Role::Admin | Role::Privacy | Role::PrivacyOfficer => {
            actor.role == needed || actor.is_admin()
        }
    };
    (!allowed).then(|| {
        Verdict::rejected(
            "forbidden_role",
            format!(
                "{} needs the {needed} role; you are a {}",
                op.kind(),
                actor.role
            ),
        )
    })
}

/// Operations only the server sends.
fn server_only(op: &Op) -> Option<Verdict> {
    let reason = match op {
        Op::LeadRevoked(_) => "lead_revoked is sent by the server only",
        Op::PartnerRegistered(_) => "partners are registered by an admin on the server",
        _ => return None,
    };
    Some(Verdict::rejected("server_only", reason))
}

/// A disclosure names a partner that is not registered (under that name).
fn unregistered_partner(tx: &mut dyn Tx, op: &Op) -> Result<Option<Verdict>> {
    let Op::DisclosureRecorded(d) = op else {
        return Ok(None);
    };
    if partner_matches(tx, &d.partner_id, &d.partner_name)? {
        return Ok(None);
    }
    Ok(Some(Verdict::rejected(
        "unknown_partner",
        format!(
            "no registered partner {} named '{}'",
            d.partner_id, d.partner_name
        ),
    )))
}

/// The office the operation's lead is in (or, for a new lead, will be in), when the actor may
/// write there: the lead's office, or for append-only records an office the lead left; a new
/// lead goes to the office it names, else to the actor's own.
pub(super) fn office(
    tx: &mut dyn Tx,
    actor: &Actor,
    op: &Op,
    lead: Option<&LeadRow>,
) -> Result<Refused<Option<String>>> {
    if actor.role == Role::PrivacyOfficer {
        // Every office's people, for their requests only (`role` below says which work).
        return Ok(match lead {
            Some(l) => Ok(l.office.clone()),
            None => Err(Verdict::rejected(
                "role_required",
                format!(
                    "the privacy officer works on the requests of people the server holds; \
                     lead {} is not one of them",
                    op.lead_id().unwrap_or_default()
                ),
            )),
        });
    }
    Ok(Ok(match lead {
        Some(l) => {
            let allowed = actor.may_touch(l.office.as_deref())
                || (is_append_only(op) && left_office(tx, &l.id, &actor.offices)?);
            if !allowed {
                return Ok(Err(Verdict::rejected(
                    "forbidden_office",
                    format!(
                        "lead {} is not in your office{}",
                        l.id,
                        if actor.offices.len() > 1 { "s" } else { "" }
                    ),
                )));
            }
            l.office.clone()
        }
        None => {
            let named = match op {
                Op::LeadFieldsSet(LeadFieldsSet {
                    fields: LeadFields::Office { office },
                    ..
                }) => office.clone(),
                _ => None,
            };
            match named {
                Some(code) if !actor.may_touch(Some(&code)) => {
                    return Ok(Err(Verdict::rejected(
                        "forbidden_office",
                        format!("you cannot create a lead in office {code}"),
                    )))
                }
                Some(code) => Some(code),
                None => actor.office.clone().filter(|_| !actor.is_admin()),
            }
        }
    }))
}

/// Refuses what the actor's role may not do (checked after the office): carrying out an
/// erasure, access export or correction without a role that carries out requests, and, for the
/// privacy officer, anything but work on a request.
pub(super) fn role(tx: &mut dyn Tx, actor: &Actor, op: &Op) -> Result<Option<Verdict>> {
    let closed_kind = match op {
        Op::RequestHandled(h) if !actor.role.carries_out_requests() => {
            request_kind(tx, &h.id, &h.lead_id)?
        }
        _ => None,
    };
    Ok(authz::role_refusal(actor.role, op, closed_kind)
        .map(|reason| Verdict::rejected("role_required", reason)))
}

/// The kind of a stored subscriber request (`None` when there is none, so the handling is
/// refused as `unknown_request` later, or its person's key is gone).
fn request_kind(tx: &mut dyn Tx, id: &str, lead_id: &str) -> Result<Option<RequestKind>> {
    let Some(row) = tx.query_opt(
        "SELECT body FROM record WHERE kind = 'subscriber_request' AND id = ?1 AND lead_id = ?2",
        &[id.into(), lead_id.into()],
    )?
    else {
        return Ok(None);
    };
    let stored = col_text(&row, 0).unwrap_or_default();
    let Some(body) = Opener::default().open(tx, Some(lead_id), &stored)? else {
        return Ok(None);
    };
    let request: SubscriberRequest = serde_json::from_str(&body)?;
    Ok(Some(request.kind))
}

/// Every field naming who did something must name the token's user, and audit entries of
/// server-side actions come from the server only.
fn check_authorship(actor: &Actor, op: &Op) -> Option<Verdict> {
    for (field, who) in authz::authors(op) {
        if let Some(who) = who.filter(|who| *who != actor.user) {
            return Some(Verdict::rejected(
                "forged_author",
                format!(
                    "{} names '{who}' in {field}, but you are signed in as '{}'",
                    op.kind(),
                    actor.user
                ),
            ));
        }
    }
    match op {
        Op::AuditRecorded(a) if authz::is_server_action(&a.action) => Some(Verdict::rejected(
            "server_only",
            format!("'{}' is recorded by the server only", a.action),
        )),
        _ => None,
    }
}

/// Whether `id` is a registered partner called `name`: the disclosure ledger names only real
/// recipients, as they are registered.
fn partner_matches(tx: &mut dyn Tx, id: &str, name: &str) -> Result<bool> {
    let Some(row) = tx.query_opt(
        "SELECT body FROM record WHERE kind = 'partner' AND id = ?1",
        &[id.into()],
    )?
    else {
        return Ok(false);
    };
    let partner: Partner = serde_json::from_str(&col_text(&row, 0).unwrap_or_default())?;
    Ok(partner.name == name)
}

fn is_append_only(op: &Op) -> bool {
    matches!(
        op,
        Op::RegistrationAdded(_)
            | Op::FollowUpLogged(_)
            | Op::ConsentRecorded(_)
            | Op::RequestOpened(_)
            | Op::RequestHandled(_)
            | Op::AuditRecorded(_)
            | Op::DisclosureRecorded(_)
    )
}

/// Whether the lead was once in one of `offices` (an append-only record may still be written
/// there: a follow-up logged offline before the move).
fn left_office(tx: &mut dyn Tx, lead_id: &str, offices: &[String]) -> Result<bool> {
    for office in offices {
        let was_there = tx
            .query_opt(
                "SELECT 1 FROM lead_past_office WHERE lead_id = ?1 AND office = ?2",
                &[lead_id.into(), office.into()],
            )?
            .is_some();
        if was_there {
            return Ok(true);
        }
    }
    Ok(false)
}
