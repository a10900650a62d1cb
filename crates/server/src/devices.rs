//! Devices: every replica that signs in. A token belongs to the device it was issued to; a
//! revoked device is refused with `device_revoked` on its next request, and its client then
//! erases its replica and keys (docs/SYNC.md, "Devices").

use crate::accounts::{new_secret, Actor};
use crate::error::{Result, ServerError};
use crate::store::{col_text, Row, Tx, Val};
use crate::time_text;
use chrono::{DateTime, Utc};
use switchboard_domain::time::parse_time;
use switchboard_protocol::{Device, LoginRequest, Role};

/// Longest device name kept (longer names are cut, on a character boundary).
const MAX_NAME_CHARS: usize = 100;

/// The name a device gets when its client sends none (protocol-2 clients).
const UNNAMED: &str = "unnamed device";

/// The message a revoked device reads; the client shows it after erasing its data.
pub fn revoked_message(by: Option<&str>, at: Option<DateTime<Utc>>) -> String {
    let by = by.map(|b| format!(" by {b}")).unwrap_or_default();
    let at = at
        .map(|t| format!(" on {}", t.format("%Y-%m-%d %H:%M UTC")))
        .unwrap_or_default();
    format!(
        "this computer was removed from Switchboard{by}{at}; its local data and keys are erased \
         and it is signed out. If that was a mistake, ask your manager, then sign in again"
    )
}

fn clean_name(name: Option<&str>) -> String {
    let name = name
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or(UNNAMED);
    name.chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME_CHARS)
        .collect()
}

fn clean_version(version: Option<&str>) -> Option<String> {
    version
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(|v| v.chars().filter(|c| !c.is_control()).take(64).collect())
}

/// The device a login signs in as: the one it names if that is `user`'s (refused with
/// `device_revoked` if revoked), else a new one. Its name and app version are updated.
pub fn sign_in(
    tx: &mut dyn Tx,
    user: &str,
    request: &LoginRequest,
    now: DateTime<Utc>,
) -> Result<String> {
    let name = clean_name(request.device_name.as_deref());
    let version = clean_version(request.app_version.as_deref());
    if let Some(id) = request.device_id.as_deref() {
        let row = tx.query_opt(
            "SELECT revoked_at, revoked_by FROM device WHERE id = ?1 AND account = ?2",
            &[id.into(), user.into()],
        )?;
        if let Some(row) = row {
            if let Some(at) = col_text(&row, 0) {
                return Err(ServerError::DeviceRevoked(revoked_message(
                    col_text(&row, 1).as_deref(),
                    parse_time(Some(at)),
                )));
            }
            tx.exec(
                "UPDATE device SET name = ?2, app_version = ?3 WHERE id = ?1",
                &[id.into(), name.into(), version.into()],
            )?;
            return Ok(id.to_string());
        }
        // Another account's device or an unknown id: never trusted, a new device is made.
    }
    let id = new_secret("dev_").expose()[..36].to_string();
    tx.exec(
        "INSERT INTO device (id, account, name, app_version, signed_in_at) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
        &[
            id.as_str().into(),
            user.into(),
            name.into(),
            version.into(),
            time_text(now).into(),
        ],
    )?;
    Ok(id)
}

/// Records a sync of `device` at `now` (its first one too).
pub fn touch(tx: &mut dyn Tx, device: &str, now: DateTime<Utc>) -> Result<()> {
    tx.exec(
        "UPDATE device SET last_sync = ?2, first_sync = COALESCE(first_sync, ?2) WHERE id = ?1",
        &[device.into(), time_text(now).into()],
    )?;
    Ok(())
}

const SELECT: &str = "SELECT d.id, d.account, a.office, d.name, d.app_version, d.signed_in_at, \
     d.first_sync, d.last_sync, d.revoked_at, d.revoked_by \
     FROM device d JOIN account a ON a.name = d.account";

fn device(row: &Row) -> Device {
    let time = |i| parse_time(col_text(row, i));
    Device {
        id: col_text(row, 0).unwrap_or_default(),
        user: col_text(row, 1).unwrap_or_default(),
        office: col_text(row, 2),
        name: col_text(row, 3).unwrap_or_default(),
        app_version: col_text(row, 4),
        signed_in_at: time(5).unwrap_or_default(),
        first_sync: time(6),
        last_sync: time(7),
        revoked_at: time(8),
        revoked_by: col_text(row, 9),
    }
}

/// The devices of the users of `offices` (every device when `None`), by user and sign-in. A
/// user of several offices (a manager) belongs to each.
pub fn list(tx: &mut dyn Tx, offices: Option<&[String]>) -> Result<Vec<Device>> {
    let rows = match offices {
        Some(codes) => {
            let marks: Vec<String> = (1..=codes.len()).map(|i| format!("?{i}")).collect();
            let params: Vec<Val> = codes.iter().map(Val::from).collect();
            tx.query(
                &format!(
                    "{SELECT} WHERE d.account IN (SELECT account FROM account_office \
                     WHERE office IN ({})) OR a.office IN ({0}) \
                     ORDER BY d.account, d.signed_in_at, d.id",
                    if marks.is_empty() {
                        "NULL".to_string()
                    } else {
                        marks.join(", ")
                    }
                ),
                &params,
            )?
        }
        None => tx.query(
            &format!("{SELECT} ORDER BY d.account, d.signed_in_at, d.id"),
            &[],
        )?,
    };
    Ok(rows.iter().map(device).collect())
}

/// Which devices `actor` may list and revoke: a manager those of the users of every office
/// they manage, an admin all.
pub fn scope(actor: &Actor) -> Result<Option<Vec<String>>> {
    match actor.role {
        Role::Admin => Ok(None),
        Role::Manager => Ok(Some(actor.offices.clone())),
        // Reps, and any role that does not manage an office's people, manage no devices.
        _ => Err(ServerError::Forbidden(
            "only managers and admins see and revoke devices".into(),
        )),
    }
}

/// `scope` narrowed to `office` when one is asked for: an admin gets it, a manager only one
/// of their own (another office is ignored: a manager always gets their own).
pub fn scope_to(actor: &Actor, office: Option<String>) -> Result<Option<Vec<String>>> {
    Ok(match (scope(actor)?, office) {
        (None, office) => office.map(|o| vec![o]),
        (Some(mine), Some(office)) if mine.contains(&office) => Some(vec![office]),
        (Some(mine), _) => Some(mine),
    })
}

/// Revokes a device (of a user of one of `offices` when given) and its tokens; returns it.
/// Revoking a revoked device keeps the first revocation.
pub fn revoke(
    tx: &mut dyn Tx,
    id: &str,
    offices: Option<&[String]>,
    by: &str,
    now: DateTime<Utc>,
) -> Result<Device> {
    let found = tx.query_opt(&format!("{SELECT} WHERE d.id = ?1"), &[id.into()])?;
    let found = found
        .map(|r| device(&r))
        .ok_or_else(|| ServerError::NotFound(format!("no device '{id}'")))?;
    let in_scope = match offices {
        None => true,
        Some(codes) => {
            let user_offices = tx.query(
                "SELECT office FROM account_office WHERE account = ?1",
                &[found.user.as_str().into()],
            )?;
            user_offices
                .iter()
                .filter_map(|r| col_text(r, 0))
                .chain(found.office.clone())
                .any(|o| codes.contains(&o))
        }
    };
    if !in_scope {
        return Err(ServerError::Forbidden(
            "the device belongs to a user of another office".into(),
        ));
    }
    tx.exec(
        "UPDATE device SET revoked_at = ?2, revoked_by = ?3 WHERE id = ?1 AND revoked_at IS NULL",
        &[id.into(), time_text(now).into(), by.into()],
    )?;
    tx.exec(
        "UPDATE token SET revoked = 1 WHERE device_id = ?1",
        &[id.into()],
    )?;
    let row = tx.query_opt(&format!("{SELECT} WHERE d.id = ?1"), &[id.into()])?;
    Ok(row.map(|r| device(&r)).unwrap_or(found))
}

/// Revokes every device of `user` (the account was revoked or left its office).
pub fn revoke_all_of(tx: &mut dyn Tx, user: &str, by: &str, now: DateTime<Utc>) -> Result<u64> {
    let changed = tx.exec(
        "UPDATE device SET revoked_at = ?2, revoked_by = ?3 \
         WHERE account = ?1 AND revoked_at IS NULL",
        &[user.into(), time_text(now).into(), by.into()],
    )?;
    tx.exec(
        "UPDATE token SET revoked = 1 WHERE account = ?1",
        &[user.into()],
    )?;
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_cut_and_never_empty() {
        assert_eq!(clean_name(None), UNNAMED);
        assert_eq!(clean_name(Some("  ")), UNNAMED);
        assert_eq!(clean_name(Some(" rita-laptop\n")), "rita-laptop");
        assert_eq!(clean_name(Some(&"é".repeat(300))).chars().count(), 100);
    }

    #[test]
    fn the_revocation_message_says_who_when_and_what_to_do() {
        let at = DateTime::parse_from_rfc3339("2026-03-02T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let m = revoked_message(Some("mona"), Some(at));
        assert!(m.contains("by mona on 2026-03-02 09:00 UTC"), "{m}");
        assert!(m.contains("erased") && m.contains("sign in again"), "{m}");
    }
}
