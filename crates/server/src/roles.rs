//! Roles as the admin assigns them (`switchboard-server user add|role`): which roles need an
//! office, and changing an account's role. What each role may push is
//! `switchboard_protocol::authz::role_refusal`; what it may pull is `changelog::page`.

use crate::accounts::Actor;
use crate::error::{Result, ServerError};
use crate::store::{col_text, Tx};
use chrono::{DateTime, Utc};
use switchboard_protocol::Role;

/// Whether `office` suits `role`: office roles need one that exists, the privacy officer
/// takes none (an office would add that office's lead lists to a requests-only view).
pub fn check_office(tx: &mut dyn Tx, role: Role, office: Option<&str>) -> Result<()> {
    match (role, office) {
        (Role::PrivacyOfficer, Some(code)) => {
            return Err(ServerError::Invalid(format!(
                "the privacy officer works for every office; drop --office {code}"
            )))
        }
        (Role::Rep | Role::Manager | Role::Privacy, None) => {
            return Err(ServerError::Invalid(format!(
                "a {role} needs an office (--office CODE)"
            )))
        }
        _ => {}
    }
    if let Some(code) = office {
        if !crate::leads::office_exists(tx, code)? {
            return Err(ServerError::NotFound(format!(
                "no office '{code}' (add it with `office add`)"
            )));
        }
    }
    Ok(())
}

/// Gives a live account `role` in `office`. Tokens are not touched: every request reads the
/// account's role afresh (`accounts::authenticate`), so the change holds from the next request.
/// Moving the account to another office (or out of every office) revokes every device it
/// signed in on, as removing it from its office does: those laptops hold the old office's
/// people and erase them at their next contact. Returns how many devices were revoked.
pub fn set_role(
    tx: &mut dyn Tx,
    name: &str,
    role: Role,
    office: Option<&str>,
    now: DateTime<Utc>,
) -> Result<u64> {
    check_office(tx, role, office)?;
    let before = tx
        .query_opt(
            "SELECT office FROM account WHERE name = ?1 AND revoked = 0",
            &[name.into()],
        )?
        .ok_or_else(|| ServerError::NotFound(format!("no live user '{name}'")))?;
    let old_office = col_text(&before, 0);
    tx.exec(
        "UPDATE account SET role = ?2, office = ?3 WHERE name = ?1 AND revoked = 0",
        &[name.into(), role.as_str().into(), office.into()],
    )?;
    if old_office.is_some() && old_office.as_deref() != office {
        let by = format!(
            "an administrator (moved from office {})",
            old_office.as_deref().unwrap_or_default()
        );
        return crate::devices::revoke_all_of(tx, name, &by, now);
    }
    Ok(0)
}

/// The actor as the account stands in this (write) transaction: the role and office an admin
/// gave it since the request was authenticated, which a push is judged by. A revoked or
/// removed account is refused.
pub fn current(tx: &mut dyn Tx, actor: &Actor) -> Result<Actor> {
    let row = tx.query_opt(
        "SELECT role, office FROM account WHERE name = ?1 AND revoked = 0",
        &[actor.user.as_str().into()],
    )?;
    let gone = || ServerError::Unauthorized("the account was revoked; sign in again".into());
    let row = row.ok_or_else(gone)?;
    let role = col_text(&row, 0)
        .and_then(|r| r.parse::<Role>().ok())
        .ok_or_else(gone)?;
    Ok(Actor {
        user: actor.user.clone(),
        role,
        office: col_text(&row, 1),
    })
}
