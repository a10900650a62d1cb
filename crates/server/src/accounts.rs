//! Accounts, passwords, bearer tokens and the website's intake keys.

use crate::error::{Result, ServerError};
use crate::store::{col_int, col_text, Tx};
use crate::time_text;
use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};
use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use sha2::{Digest, Sha256};
use switchboard_domain::time::parse_time;
use switchboard_protocol::{Role, Secret};

/// Who is making a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub user: String,
    pub role: Role,
    /// The primary office (`account.office`): where a lead created without one goes, and the
    /// office of the account's cadences and unsubscribe key.
    pub office: Option<String>,
    /// Every office the account works in, sorted, the primary among them: one for reps and
    /// the privacy role, one or more for managers, none for admins and the privacy officer.
    pub offices: Vec<String>,
}

impl Actor {
    /// Admins see and change every office's leads.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Whether the actor may see and change leads of `office`.
    pub fn may_touch(&self, office: Option<&str>) -> bool {
        self.is_admin() || office.is_some_and(|o| self.offices.iter().any(|mine| mine == o))
    }
}

/// The offices `user` works in with each one's idle limit in days (`None`: the server's
/// default), sorted by code, `primary` among them even where no row says so.
fn memberships(
    tx: &mut dyn Tx,
    user: &str,
    primary: Option<&str>,
) -> Result<Vec<(String, Option<i64>)>> {
    let rows = tx.query(
        "SELECT m.office, o.idle_days FROM account_office m \
         LEFT JOIN office o ON o.code = m.office WHERE m.account = ?1 ORDER BY m.office",
        &[user.into()],
    )?;
    let mut offices: Vec<(String, Option<i64>)> = rows
        .iter()
        .filter_map(|r| Some((col_text(r, 0)?, col_int(r, 1))))
        .collect();
    if let Some(primary) = primary.filter(|p| !offices.iter().any(|(o, _)| o == p)) {
        let idle = tx
            .query_opt(
                "SELECT idle_days FROM office WHERE code = ?1",
                &[primary.into()],
            )?
            .and_then(|r| col_int(&r, 0));
        offices.push((primary.to_string(), idle));
        offices.sort();
    }
    Ok(offices)
}

/// The strictest (shortest) idle limit of `offices`, an office without one counting as
/// `default`; `default` when there are none.
fn strictest_idle(offices: &[(String, Option<i64>)], default: Duration) -> Duration {
    offices
        .iter()
        .map(|(_, days)| days.map_or(default, Duration::days))
        .min()
        .unwrap_or(default)
}

/// The actor `user` is, with role `role` and primary office `office`, as the store holds it.
pub fn actor_of(
    tx: &mut dyn Tx,
    user: String,
    role: Role,
    office: Option<String>,
) -> Result<Actor> {
    let offices = memberships(tx, &user, office.as_deref())?
        .into_iter()
        .map(|(o, _)| o)
        .collect();
    Ok(Actor {
        user,
        role,
        office,
        offices,
    })
}

/// How expensive password hashes are: the argon2 defaults, or a cheap setting for tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PasswordCost {
    #[default]
    Standard,
    /// For tests only: fast, weak hashes.
    Fast,
}

/// Hashes a password with argon2id (PHC string with a random salt).
pub fn hash_password(password: &str, cost: PasswordCost) -> Result<String> {
    let params = match cost {
        PasswordCost::Standard => Params::default(),
        PasswordCost::Fast => Params::new(1024, 1, 1, None)
            .map_err(|e| ServerError::Internal(format!("argon2 params: {e}")))?,
    };
    // The salt comes from the OS generator (argon2's `getrandom` feature).
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| ServerError::Internal(format!("argon2: {e}")))
}

/// Whether `password` matches the stored PHC hash.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// SHA-256 hex of a token or key: what the store keeps instead of the secret.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A new random secret: `prefix` and 32 random bytes in hex.
pub fn new_secret(prefix: &str) -> Secret {
    let mut bytes = [0u8; 32];
    rand::rand_core::UnwrapErr(rand::rngs::SysRng).fill_bytes(&mut bytes);
    Secret::new(format!("{prefix}{}", hex::encode(bytes)))
}

/// Adds an account (the password already hashed).
pub fn add_user(
    tx: &mut dyn Tx,
    name: &str,
    role: Role,
    office: Option<&str>,
    password_hash: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let name = name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err(ServerError::Invalid(
            "a user name has 1 to 100 characters".into(),
        ));
    }
    crate::roles::check_office(tx, role, office)?;
    let changed = tx.exec(
        "INSERT INTO account (name, role, office, password_hash, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (name) DO NOTHING",
        &[
            name.into(),
            role.as_str().into(),
            office.into(),
            password_hash.into(),
            time_text(now).into(),
        ],
    )?;
    if changed == 0 {
        return Err(ServerError::Conflict(format!(
            "user '{name}' exists already"
        )));
    }
    if let Some(office) = office {
        tx.exec(
            "INSERT INTO account_office (account, office) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            &[name.into(), office.into()],
        )?;
    }
    Ok(())
}

/// Revokes an account, every token it holds and every device it signed in on (which erase
/// their replicas at their next contact).
pub fn revoke_user(tx: &mut dyn Tx, name: &str, now: DateTime<Utc>) -> Result<()> {
    let changed = tx.exec(
        "UPDATE account SET revoked = 1 WHERE name = ?1",
        &[name.into()],
    )?;
    if changed == 0 {
        return Err(ServerError::NotFound(format!("no user '{name}'")));
    }
    crate::devices::revoke_all_of(tx, name, "an administrator (account revoked)", now)?;
    Ok(())
}

/// A live account's role, office and password hash.
pub fn account_for_login(tx: &mut dyn Tx, name: &str) -> Result<Option<(Actor, String)>> {
    let row = tx.query_opt(
        "SELECT name, role, office, password_hash FROM account WHERE name = ?1 AND revoked = 0",
        &[name.into()],
    )?;
    let Some(r) = row else { return Ok(None) };
    let (Some(user), Some(role), Some(hash)) = (
        col_text(&r, 0),
        col_text(&r, 1).and_then(|r| r.parse::<Role>().ok()),
        col_text(&r, 3),
    ) else {
        return Ok(None);
    };
    Ok(Some((actor_of(tx, user, role, col_text(&r, 2))?, hash)))
}

/// Stores a new token for `user` on `device`, valid for `ttl`; returns the token and its expiry.
pub fn issue_token(
    tx: &mut dyn Tx,
    user: &str,
    device: Option<&str>,
    now: DateTime<Utc>,
    ttl: Duration,
) -> Result<(Secret, DateTime<Utc>)> {
    let token = new_secret("sbt_");
    let expires = now + ttl;
    tx.exec(
        "INSERT INTO token (hash, account, created_at, expires_at, device_id, renewed_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?3)",
        &[
            secret_hash(token.expose()).into(),
            user.into(),
            time_text(now).into(),
            time_text(expires).into(),
            device.into(),
        ],
    )?;
    Ok((token, expires))
}

/// A live token: who it stands for, its device, and whether its idle expiry is due to slide.
#[derive(Debug, Clone)]
pub struct Session {
    pub actor: Actor,
    pub device: Option<String>,
    /// The token's new expiry when it should be renewed now (sliding renewal), else `None`.
    pub renew_until: Option<DateTime<Utc>>,
}

/// How often a token in use is renewed: at most once a minute, so a syncing device writes
/// little.
const RENEW_EVERY: i64 = 60;

/// The idle limit of `user`: the strictest (shortest) of its offices' `office.idle_days`, an
/// office without one counting as `default` (the server's); `default` without an office.
pub fn idle_limit(tx: &mut dyn Tx, user: &str, default: Duration) -> Result<Duration> {
    let primary = tx
        .query_opt("SELECT office FROM account WHERE name = ?1", &[user.into()])?
        .and_then(|r| col_text(&r, 0));
    let offices = memberships(tx, user, primary.as_deref())?;
    Ok(strictest_idle(&offices, default))
}

/// The session a bearer token stands for, if it is live. Refusals, checked in this order:
/// `device_revoked` (its device was revoked, whatever else), `unauthorized` (unknown, logged
/// out or account revoked), `token_expired` (idle past its offices' strictest limit, by the
/// server's clock only). `idle_default` is the server's limit for offices that set none.
pub fn authenticate(
    tx: &mut dyn Tx,
    token: &str,
    now: DateTime<Utc>,
    idle_default: Duration,
) -> Result<Session> {
    // One row per office of the account (one with NULLs when it has none), so the offices and
    // their idle limits come in the same round trip as the token.
    let rows = tx.query(
        "SELECT a.name, a.role, a.office, t.expires_at, t.revoked, a.revoked, t.device_id, \
                d.revoked_at, d.revoked_by, d.last_sync, t.renewed_at, m.office, o.idle_days \
         FROM token t JOIN account a ON a.name = t.account \
         LEFT JOIN device d ON d.id = t.device_id \
         LEFT JOIN account_office m ON m.account = a.name \
         LEFT JOIN office o ON o.code = m.office \
         WHERE t.hash = ?1 ORDER BY m.office",
        &[secret_hash(token).into()],
    )?;
    let unauthorized = || ServerError::Unauthorized("invalid, expired or revoked token".into());
    let row = rows.first().cloned().ok_or_else(unauthorized)?;
    if let Some(at) = col_text(&row, 7) {
        return Err(ServerError::DeviceRevoked(crate::devices::revoked_message(
            col_text(&row, 8).as_deref(),
            parse_time(Some(at)),
        )));
    }
    if col_int(&row, 4) != Some(0) || col_int(&row, 5) != Some(0) {
        return Err(unauthorized());
    }
    let expires = parse_time(col_text(&row, 3)).ok_or_else(unauthorized)?;
    let user = col_text(&row, 0).ok_or_else(unauthorized)?;
    let primary = col_text(&row, 2);
    // Read on every request, so a change of the account's offices holds from the next one.
    let mut memberships: Vec<(String, Option<i64>)> = rows
        .iter()
        .filter_map(|r| Some((col_text(r, 11)?, col_int(r, 12))))
        .collect();
    if primary
        .as_deref()
        .is_some_and(|p| !memberships.iter().any(|(o, _)| o == p))
    {
        memberships = self::memberships(tx, &user, primary.as_deref())?;
    }
    let idle = strictest_idle(&memberships, idle_default);
    // Idle by the office's limit as it is now (it may have been shortened since the renewal);
    // tokens from before devices have no renewal time and keep their expiry.
    let idle_since = parse_time(col_text(&row, 10));
    if expires <= now || idle_since.is_some_and(|at| at + idle <= now) {
        return Err(ServerError::TokenExpired(format!(
            "your sign-in expired: this computer has not synced for more than {} days; sign in \
             again (switchboard login, or Sign in in the window). Nothing was lost: your changes \
             wait on this computer",
            idle.num_days()
        )));
    }
    let role = col_text(&row, 1)
        .and_then(|r| r.parse::<Role>().ok())
        .ok_or_else(unauthorized)?;
    let renew = now + idle;
    let every = Duration::seconds(RENEW_EVERY);
    let due = match idle_since {
        Some(at) => now - at > every,
        None => renew - expires > every,
    } || (col_text(&row, 6).is_some() && col_text(&row, 9).is_none()); // a device's first sync
    Ok(Session {
        actor: Actor {
            user,
            role,
            office: primary,
            offices: memberships.into_iter().map(|(o, _)| o).collect(),
        },
        device: col_text(&row, 6),
        renew_until: due.then_some(renew),
    })
}

/// Slides a token's expiry to `until` and records the sync on its device.
pub fn renew(
    tx: &mut dyn Tx,
    token: &str,
    device: Option<&str>,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<()> {
    tx.exec(
        "UPDATE token SET expires_at = ?2, renewed_at = ?3 WHERE hash = ?1 AND revoked = 0",
        &[
            secret_hash(token).into(),
            time_text(until).into(),
            time_text(now).into(),
        ],
    )?;
    if let Some(device) = device {
        crate::devices::touch(tx, device, now)?;
    }
    Ok(())
}

/// Revokes one token.
pub fn revoke_token(tx: &mut dyn Tx, token: &str) -> Result<()> {
    tx.exec(
        "UPDATE token SET revoked = 1 WHERE hash = ?1",
        &[secret_hash(token).into()],
    )?;
    Ok(())
}

/// Creates an intake key for the website; only its hash is stored.
pub fn create_intake_key(tx: &mut dyn Tx, now: DateTime<Utc>) -> Result<Secret> {
    let key = new_secret("sbk_");
    tx.exec(
        "INSERT INTO intake_key (hash, created_at) VALUES (?1, ?2)",
        &[secret_hash(key.expose()).into(), time_text(now).into()],
    )?;
    Ok(key)
}

/// Whether `key` is a live intake key.
pub fn intake_key_valid(tx: &mut dyn Tx, key: &str) -> Result<bool> {
    Ok(tx
        .query_opt(
            "SELECT revoked FROM intake_key WHERE hash = ?1",
            &[secret_hash(key).into()],
        )?
        .and_then(|r| col_int(&r, 0))
        == Some(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_only_themselves() {
        let h = hash_password("correct horse", PasswordCost::Fast).unwrap();
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong horse", &h));
        assert!(!verify_password("correct horse", "not a hash"));
    }

    /// Stores keep the hashes argon2 0.5 wrote (both costs); they must still sign people in.
    #[test]
    fn hashes_written_by_argon2_0_5_still_verify() {
        let fast = "$argon2id$v=19$m=1024,t=1,p=1$tkHcDJhvHzL5kR21XMQ5Yg$kRSAnfx64qB1doC41Cn1NrQzMW6drv6Aw4re1YFSDlo";
        let standard = "$argon2id$v=19$m=19456,t=2,p=1$tkHcDJhvHzL5kR21XMQ5Yg$aSNMF+jiilCsmIYgDfJST6z/2+eRA+T0+CvkaeJTKwk";
        for hash in [fast, standard] {
            assert!(verify_password("correct horse battery staple", hash));
            assert!(!verify_password("correct horse battery stapler", hash));
        }
    }

    #[test]
    fn offices_bound_non_admins() {
        let rep = Actor {
            user: "r".into(),
            role: Role::Rep,
            office: Some("A".into()),
            offices: vec!["A".into()],
        };
        assert!(rep.may_touch(Some("A")));
        assert!(!rep.may_touch(Some("B")));
        assert!(!rep.may_touch(None));
        let manager = Actor {
            user: "m".into(),
            role: Role::Manager,
            office: Some("A".into()),
            offices: vec!["A".into(), "B".into()],
        };
        assert!(manager.may_touch(Some("A")) && manager.may_touch(Some("B")));
        assert!(!manager.may_touch(Some("C")));
        assert!(!manager.may_touch(None));
    }

    #[test]
    fn the_strictest_idle_limit_holds() {
        let default = Duration::days(30);
        let offices = |limits: &[Option<i64>]| -> Vec<(String, Option<i64>)> {
            limits.iter().map(|d| ("X".to_string(), *d)).collect()
        };
        assert_eq!(strictest_idle(&[], default), default);
        assert_eq!(
            strictest_idle(&offices(&[Some(7), None]), default),
            Duration::days(7)
        );
        assert_eq!(
            strictest_idle(&offices(&[Some(60), None]), default),
            default
        );
        assert_eq!(
            strictest_idle(&offices(&[Some(60), Some(14)]), default),
            Duration::days(14)
        );
    }
}
