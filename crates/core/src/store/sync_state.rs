//! The `sync_state` row: which server and account this replica syncs with and how far it got.
//! Below `replica` so that record modules (partners) can ask whether a server is configured
//! without importing the sync machinery that applies their records.

use crate::clock::to_text;
use crate::error::Result;
use crate::time::parse_time;
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection};
use serde::Serialize;

/// Where this replica syncs and how far it got.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncState {
    pub server_url: Option<String>,
    /// Pinned SHA-256 fingerprint of the server certificate (hex), if pinned.
    pub fingerprint: Option<String>,
    /// CA file that signs the server certificate, if not the system roots.
    pub ca_file: Option<String>,
    pub user: Option<String>,
    pub role: Option<String>,
    pub office: Option<String>,
    /// The server change sequence applied through.
    pub cursor: i64,
    pub last_sync_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
}

/// Reads the sync state.
pub fn state(conn: &Connection) -> Result<SyncState> {
    Ok(conn.query_row(
        "SELECT server_url, fingerprint, ca_file, user, role, office, cursor, last_sync_at,
                last_error
         FROM sync_state WHERE id = 1",
        [],
        |r| {
            Ok(SyncState {
                server_url: r.get(0)?,
                fingerprint: r.get(1)?,
                ca_file: r.get(2)?,
                user: r.get(3)?,
                role: r.get(4)?,
                office: r.get(5)?,
                cursor: r.get(6)?,
                last_sync_at: parse_time(r.get(7)?),
                last_error: r.get(8)?,
            })
        },
    )?)
}

/// The server and account this replica syncs with, as `login` learned them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServerLogin {
    pub server_url: String,
    pub fingerprint: Option<String>,
    pub ca_file: Option<String>,
    pub user: String,
    pub role: String,
    pub office: Option<String>,
}

/// Records a login. A different server or user starts the pull over from the beginning.
/// Work recorded on this laptop while no account was signed in is adopted by the account
/// (`adopt_unsent_work`).
pub fn record_login(conn: &Connection, login: &ServerLogin) -> Result<()> {
    let before = state(conn)?;
    adopt_unsent_work(conn, &login.user, before.user.as_deref())?;
    let same_account = before.server_url.as_deref() == Some(login.server_url.as_str())
        && before.user.as_deref() == Some(login.user.as_str());
    conn.execute(
        "UPDATE sync_state SET server_url = ?1, fingerprint = ?2, ca_file = ?3, user = ?4,
                role = ?5, office = ?6, cursor = CASE WHEN ?7 THEN cursor ELSE 0 END,
                last_error = NULL
         WHERE id = 1",
        params![
            login.server_url,
            login.fingerprint,
            login.ca_file,
            login.user,
            login.role,
            login.office,
            same_account,
        ],
    )?;
    Ok(())
}

/// Where each kind of local record names who did it: (outbox entity, table, key column, author
/// column). The server accepts a pushed record only when that author is the signed-in account.
const AUTHORED: &[(&str, &str, &str, &str)] = &[
    ("follow_up", "follow_up", "id", "rep"),
    ("consent_event", "consent_event", "id", "recorded_by"),
    (
        "subscriber_request",
        "subscriber_request",
        "id",
        "handled_by",
    ),
    ("audit", "audit", "id", "actor"),
    ("erasure", "erasure", "lead_id", "erased_by"),
    ("disclosure", "disclosure", "id", "disclosed_by"),
    ("cadence", "cadence_version", "cadence_id", "created_by"),
    ("cadence_rule", "cadence_rule", "id", "created_by"),
];

/// Re-attributes records still waiting to be pushed to the account signing in, unless they name
/// the account that was signed in before (its own work stays its own, and the server refuses it
/// under another token with `forged_author`). Why: before anyone signs in, the laptop records
/// work under the OS login name; the server binds every author to the token, so that work would
/// otherwise be refused and never reach the office. The person signing in on this laptop vouches
/// for what was recorded on it anonymously. Returns how many records changed hands.
pub fn adopt_unsent_work(
    conn: &Connection,
    account: &str,
    previous: Option<&str>,
) -> Result<usize> {
    let mut adopted = 0;
    for (entity, table, key, author) in AUTHORED {
        let sql = format!(
            "UPDATE {table} SET {author} = ?1
             WHERE {author} IS NOT NULL AND {author} <> ?1 AND {author} IS NOT ?2
               AND {key} IN (SELECT entity_id FROM outbox WHERE entity = '{entity}' AND {})",
            crate::store::outbox::INDEXED
        );
        adopted += conn.execute(&sql, params![account, previous])?;
    }
    Ok(adopted)
}

/// Records a sign-out: the account no longer acts here, so its role goes; the server and the user
/// name stay to fill in the next sign-in, and the cursor stays so signing in again resumes.
pub fn record_logout(conn: &Connection) -> Result<()> {
    conn.execute("UPDATE sync_state SET role = NULL WHERE id = 1", [])?;
    Ok(())
}

/// Follows the role the server reports for the signed-in account (an admin changed it), so the
/// laptop's own checks (`privacy::roles`) match the server's without a new sign-in. Nothing
/// changes when no account is signed in.
pub fn record_role(conn: &Connection, role: &str) -> Result<()> {
    conn.execute(
        "UPDATE sync_state SET role = ?1 WHERE id = 1 AND role IS NOT NULL AND role <> ?1",
        [role],
    )?;
    Ok(())
}

/// The account signed in on this replica, if one is: its user name and role.
pub fn signed_in_account(state: &SyncState) -> Option<(&str, &str)> {
    let user = state
        .user
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())?;
    Some((user, state.role.as_deref()?))
}

/// Records the end of a sync attempt: its time, and its error if it failed.
pub fn record_sync(conn: &Connection, at: DateTime<Utc>, error: Option<&str>) -> Result<()> {
    if let Some(error) = error {
        conn.execute(
            "UPDATE sync_state SET last_error = ?1 WHERE id = 1",
            [error],
        )?;
    } else {
        conn.execute(
            "UPDATE sync_state SET last_sync_at = ?1, last_error = NULL WHERE id = 1",
            [to_text(at)],
        )?;
    }
    Ok(())
}

/// Records that pulled changes were applied through server sequence `cursor`.
pub fn set_cursor(conn: &Connection, cursor: i64) -> Result<()> {
    conn.prepare_cached("UPDATE sync_state SET cursor = ?1 WHERE id = 1")?
        .execute([cursor])?;
    Ok(())
}
