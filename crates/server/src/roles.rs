//! Roles as the admin assigns them (`switchboard-server user add|role|office|list`): which roles
//! need an office, changing an account's role, and the further offices a manager manages. What each role may push is
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
    let old_primary = col_text(&before, 0);
    let old_offices = offices_of(tx, name, old_primary.as_deref())?;
    tx.exec(
        "UPDATE account SET role = ?2, office = ?3 WHERE name = ?1 AND revoked = 0",
        &[name.into(), role.as_str().into(), office.into()],
    )?;
    // The account now works in exactly `office` (a manager adds more with `add_office`).
    tx.exec(
        "DELETE FROM account_office WHERE account = ?1",
        &[name.into()],
    )?;
    crate::changelog::drop_added_offices(tx, name)?;
    if let Some(office) = office {
        tx.exec(
            "INSERT INTO account_office (account, office) VALUES (?1, ?2)",
            &[name.into(), office.into()],
        )?;
    }
    let left: Vec<&String> = old_offices
        .iter()
        .filter(|o| Some(o.as_str()) != office)
        .collect();
    if !left.is_empty() {
        let left: Vec<&str> = left.iter().map(|o| o.as_str()).collect();
        let by = format!("an administrator (moved from office {})", left.join(", "));
        return crate::devices::revoke_all_of(tx, name, &by, now);
    }
    Ok(0)
}

/// The offices `name` works in (sorted), `primary` among them.
fn offices_of(tx: &mut dyn Tx, name: &str, primary: Option<&str>) -> Result<Vec<String>> {
    let mut offices: Vec<String> = tx
        .query(
            "SELECT office FROM account_office WHERE account = ?1 ORDER BY office",
            &[name.into()],
        )?
        .iter()
        .filter_map(|r| col_text(r, 0))
        .collect();
    if let Some(p) = primary.filter(|p| !offices.iter().any(|o| o == p)) {
        offices.push(p.to_string());
        offices.sort();
    }
    Ok(offices)
}

/// A live account's role and primary office, or `not_found`.
fn live_account(tx: &mut dyn Tx, name: &str) -> Result<(Role, Option<String>)> {
    let row = tx
        .query_opt(
            "SELECT role, office FROM account WHERE name = ?1 AND revoked = 0",
            &[name.into()],
        )?
        .ok_or_else(|| ServerError::NotFound(format!("no live user '{name}'")))?;
    let role = col_text(&row, 0)
        .and_then(|r| r.parse::<Role>().ok())
        .ok_or_else(|| ServerError::Internal(format!("user '{name}' has an unknown role")))?;
    Ok((role, col_text(&row, 1)))
}

/// `add_office`, then the office's changes that committed while it ran, copied in a second
/// transaction. On PostgreSQL writers run in parallel: a change to `office` can commit after
/// the first copy read the bucket and before the add committed, and a pull the manager made in
/// that instant, under the old offices, moved the laptop's cursor past it. Once the add has
/// committed every pull includes the office, so what the second copy finds is all that can
/// have been missed (a change both pulled and copied applies twice and changes nothing).
pub fn add_office_and_catch_up(
    store: &dyn crate::store::Store,
    name: &str,
    office: &str,
) -> Result<()> {
    let copied = crate::store::write(store, |tx| add_office(tx, name, office))?;
    crate::store::write(store, |tx| {
        crate::changelog::copy_added_office(tx, office, name, copied)
    })?;
    Ok(())
}

/// Adds `office` to the offices manager `name` manages. Only managers hold several offices: a
/// rep or the privacy role works in one (move them with `user role`), the privacy officer in
/// none, an admin sees every office already. Holds from the account's next request. Returns
/// the sequence of the last of the office's changes copied for the manager's laptops.
pub fn add_office(tx: &mut dyn Tx, name: &str, office: &str) -> Result<i64> {
    let (role, primary) = live_account(tx, name)?;
    match role {
        Role::Manager => {}
        Role::Rep | Role::Privacy => {
            return Err(ServerError::Invalid(format!(
                "{name} is a {role}, who works in exactly one office; only managers manage \
                 several (move {name} with `user role {name} --role {role} --office {office}`)"
            )))
        }
        Role::PrivacyOfficer => {
            return Err(ServerError::Invalid(format!(
                "{name} is the privacy officer, who works for every office and holds none"
            )))
        }
        Role::Admin => {
            return Err(ServerError::Invalid(format!(
                "{name} is an admin, who sees every office already"
            )))
        }
    }
    if !crate::leads::office_exists(tx, office)? {
        return Err(ServerError::NotFound(format!(
            "no office '{office}' (add it with `office add`)"
        )));
    }
    if offices_of(tx, name, primary.as_deref())?
        .iter()
        .any(|o| o == office)
    {
        return Err(ServerError::Conflict(format!(
            "{name} manages office {office} already"
        )));
    }
    tx.exec(
        "INSERT INTO account_office (account, office) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        &[name.into(), office.into()],
    )?;
    // The manager's replicas may have pulled past the office's changes already.
    crate::changelog::copy_added_office(tx, office, name, 0)
}

/// Takes `office` from the offices `name` works in, refusing the last one (use `user role` to
/// move an account), and revokes every device the account signed in on: those laptops hold
/// that office's people and erase them at their next contact. When `office` was the primary,
/// the first remaining office becomes it. Returns how many devices were revoked.
pub fn remove_office(tx: &mut dyn Tx, name: &str, office: &str, now: DateTime<Utc>) -> Result<u64> {
    let (_, primary) = live_account(tx, name)?;
    let offices = offices_of(tx, name, primary.as_deref())?;
    if !offices.iter().any(|o| o == office) {
        return Err(ServerError::NotFound(format!(
            "{name} does not work in office {office} (offices: {})",
            if offices.is_empty() {
                "none".to_string()
            } else {
                offices.join(", ")
            }
        )));
    }
    let Some(next) = offices.iter().find(|o| *o != office) else {
        return Err(ServerError::Invalid(format!(
            "office {office} is {name}'s last office; an account of an office keeps one (move              {name} to another office with `user role`, or revoke the account)"
        )));
    };
    tx.exec(
        "DELETE FROM account_office WHERE account = ?1 AND office = ?2",
        &[name.into(), office.into()],
    )?;
    if primary.as_deref() == Some(office) {
        tx.exec(
            "UPDATE account SET office = ?2 WHERE name = ?1",
            &[name.into(), next.as_str().into()],
        )?;
        // Kept as a row too (an old store's primary may have had none).
        tx.exec(
            "INSERT INTO account_office (account, office) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            &[name.into(), next.as_str().into()],
        )?;
    }
    crate::changelog::drop_added_offices(tx, name)?;
    let by = format!("an administrator (removed from office {office})");
    crate::devices::revoke_all_of(tx, name, &by, now)
}

/// One account as `user list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSummary {
    pub name: String,
    pub role: String,
    /// Every office it works in, sorted (empty for admins and the privacy officer).
    pub offices: Vec<String>,
    pub revoked: bool,
}

/// Every account, by name, with all its offices.
pub fn list(tx: &mut dyn Tx) -> Result<Vec<AccountSummary>> {
    let rows = tx.query(
        "SELECT name, role, office, revoked FROM account ORDER BY name",
        &[],
    )?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let name = col_text(&row, 0).unwrap_or_default();
        let offices = offices_of(tx, &name, col_text(&row, 2).as_deref())?;
        out.push(AccountSummary {
            role: col_text(&row, 1).unwrap_or_default(),
            offices,
            revoked: crate::store::col_int(&row, 3) != Some(0),
            name,
        });
    }
    Ok(out)
}

/// The actor as the account stands in this (write) transaction: the role and offices an admin
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
    crate::accounts::actor_of(tx, actor.user.clone(), role, col_text(&row, 1))
}
