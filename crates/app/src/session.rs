//! Who acts, and with which role, decided once from explicit inputs. The front ends gather the
//! inputs (`--as`, `SWITCHBOARD_USER`, the OS login name) — `Inputs::from_env` is the one place
//! the environment is read — and the replica's signed-in account; the core is only ever told.

use serde::Serialize;
use std::path::Path;
use std::sync::{PoisonError, RwLock};
use switchboard_core::protocol::Role;
use switchboard_core::replica;
use switchboard_core::store::get_setting;
use switchboard_core::DatabaseKey;
use switchboard_sync::engine::OFFICES_SETTING;
use ts_rs::TS;

/// The variable naming the user on purpose (the CLI's `--as` reads it too).
pub const USER_VAR: &str = "SWITCHBOARD_USER";

/// The variable naming the desktop's role when no account is signed in.
pub const ROLE_VAR: &str = "SWITCHBOARD_ROLE";

/// The OS variables that carry the login name, in the order they are asked.
const LOGIN_VARS: [&str; 3] = ["USER", "LOGNAME", "USERNAME"];

/// Who acts when no name at all is known.
const NOBODY: &str = "local";

/// Who is acting: every write is recorded under `actor`; `role` picks the window's first screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct Session {
    pub actor: String,
    pub role: Role,
}

/// What the window's header shows: who acts, with which role, and the offices whose leads the
/// replica holds (every office of a manager of several, a rep's one; none when nobody is signed
/// in there).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct SessionInfo {
    pub actor: String,
    pub role: Role,
    pub offices: Vec<String>,
}

/// What a front end knows about who acts before it opens any database.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inputs {
    /// The user named on purpose (`--as`, `SWITCHBOARD_USER`); a sign-in does not replace them.
    pub named: Option<String>,
    /// The role asked for (`SWITCHBOARD_ROLE`): `manager` or `admin`, else a rep.
    pub role: Option<String>,
    /// The OS login name.
    pub login_name: Option<String>,
}

impl Inputs {
    /// The inputs the environment gives: the one place the application layer reads it.
    pub fn from_env() -> Inputs {
        let var = |name: &str| std::env::var(name).ok();
        Inputs {
            named: var(USER_VAR),
            role: var(ROLE_VAR),
            login_name: LOGIN_VARS.iter().find_map(|name| given(var(name))),
        }
    }

    /// Whether a user was named on purpose (blank names do not count).
    pub fn is_named(&self) -> bool {
        given(self.named.clone()).is_some()
    }

    /// Who acts before any sign-in: the named user, else the login name, else "local".
    pub fn at_start(&self) -> Session {
        let actor = given(self.named.clone())
            .or_else(|| given(self.login_name.clone()))
            .unwrap_or_else(|| NOBODY.to_string());
        let role = match self.role.as_deref() {
            Some("manager") => Role::Manager,
            Some("admin") => Role::Admin,
            _ => Role::Rep,
        };
        Session { actor, role }
    }
}

/// The trimmed name, or `None` when it is missing or blank.
fn given(name: Option<String>) -> Option<String> {
    name.map(|n| n.trim().to_string()).filter(|n| !n.is_empty())
}

/// Who acts right now. A signed-in account is the identity the whole office sees (the review
/// counts follow-ups by it), so it replaces the login name once there is one — unless the user
/// was named on purpose. Signing out returns to the start.
pub struct Acting {
    at_start: Session,
    explicit: bool,
    current: RwLock<Session>,
}

impl Acting {
    /// `explicit`: the user was named on purpose, and a sign-in does not replace them.
    pub fn new(at_start: Session, explicit: bool) -> Acting {
        Acting {
            current: RwLock::new(at_start.clone()),
            at_start,
            explicit,
        }
    }

    /// Acting as the inputs say until an account signs in.
    pub fn from_inputs(inputs: &Inputs) -> Acting {
        Acting::new(inputs.at_start(), inputs.is_named())
    }

    /// The identity every write is recorded under now.
    pub fn get(&self) -> Session {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Acts as the signed-in account from now on (unless the user was named explicitly).
    pub fn signed_in(&self, user: &str, role: &str) {
        let (user, Ok(role)) = (user.trim(), role.parse::<Role>()) else {
            return;
        };
        if self.explicit || user.is_empty() {
            return;
        }
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Session {
            actor: user.to_string(),
            role,
        };
    }

    /// Acts as the account signed in on the replica behind `conn`; with none signed in there
    /// (signed out, or the replica erased by a remote wipe), as who the session started as.
    pub fn follow_replica(&self, conn: &rusqlite::Connection) {
        if let Ok(state) = replica::state(conn) {
            match replica::signed_in_account(&state) {
                Some((user, role)) => self.signed_in(user, role),
                None => self.signed_out(),
            }
        }
    }

    /// Back to who the session started as.
    pub fn signed_out(&self) {
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = self.at_start.clone();
    }

    /// Who acts now as `follow_replica` decides, with the offices the replica behind `conn` holds.
    pub fn info(&self, conn: &rusqlite::Connection) -> SessionInfo {
        self.follow_replica(conn);
        let Session { actor, role } = self.get();
        SessionInfo {
            actor,
            role,
            offices: held_offices(conn),
        }
    }
}

/// The offices whose leads the replica syncs: the account's list from its sign-in (protocol 5),
/// else its one office; none when no account is signed in there (signed out or wiped). A
/// replica that cannot be read holds nothing to show.
pub fn held_offices(conn: &rusqlite::Connection) -> Vec<String> {
    let Ok(state) = replica::state(conn) else {
        return Vec::new();
    };
    if replica::signed_in_account(&state).is_none() {
        return Vec::new();
    }
    let listed = get_setting(conn, OFFICES_SETTING).ok().flatten();
    let listed: Vec<String> = listed
        .iter()
        .flat_map(|all| all.split(','))
        .map(str::trim)
        .filter(|o| !o.is_empty())
        .map(str::to_string)
        .collect();
    if !listed.is_empty() {
        return listed;
    }
    state
        .office
        .map(|o| o.trim().to_string())
        .filter(|o| !o.is_empty())
        .into_iter()
        .collect()
}

/// Who acts for one run of a command on the replica at `db`: the named user; else the account
/// signed in there; else the login name. Opens the file (with `key`, which `key` is asked for
/// only then) only when no user was named, so a missing or older database is simply "nobody
/// signed in".
pub fn actor_for_replica<E>(
    inputs: &Inputs,
    db: &Path,
    key: impl FnOnce() -> Result<Option<DatabaseKey>, E>,
) -> Result<String, E> {
    let acting = Acting::from_inputs(inputs);
    if !inputs.is_named() && db.is_file() {
        let key = key()?;
        if let Ok(conn) = switchboard_core::store::open_connection(db, key.as_ref()) {
            acting.follow_replica(&conn);
        }
    }
    Ok(acting.get().actor)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(named: Option<&str>, login: Option<&str>) -> Inputs {
        Inputs {
            named: named.map(String::from),
            role: None,
            login_name: login.map(String::from),
        }
    }

    #[test]
    fn a_named_user_comes_first_then_the_login_name_then_local() {
        assert_eq!(inputs(Some(" ann "), Some("os")).at_start().actor, "ann");
        assert_eq!(inputs(Some("  "), Some("os")).at_start().actor, "os");
        assert_eq!(inputs(None, None).at_start().actor, "local");
        assert!(!inputs(Some(" "), None).is_named());
    }

    #[test]
    fn the_role_is_a_rep_unless_manager_or_admin() {
        let mut given = inputs(None, Some("os"));
        assert_eq!(given.at_start().role, Role::Rep);
        given.role = Some("manager".into());
        assert_eq!(given.at_start().role, Role::Manager);
        given.role = Some("admin".into());
        assert_eq!(given.at_start().role, Role::Admin);
        given.role = Some("boss".into());
        assert_eq!(given.at_start().role, Role::Rep);
    }

    #[test]
    fn a_sign_in_replaces_the_login_name_but_not_a_named_user() {
        let acting = Acting::from_inputs(&inputs(None, Some("os")));
        acting.signed_in("rita", "manager");
        assert_eq!(acting.get().actor, "rita");
        assert_eq!(acting.get().role, Role::Manager);
        acting.signed_out();
        assert_eq!(acting.get().actor, "os");

        let named = Acting::from_inputs(&inputs(Some("ann"), Some("os")));
        named.signed_in("rita", "manager");
        assert_eq!(named.get().actor, "ann");
    }

    #[test]
    fn a_missing_replica_leaves_the_login_name() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("none.db");
        let no_key = || -> Result<_, std::convert::Infallible> { Ok(None) };
        assert_eq!(
            actor_for_replica(&inputs(None, Some("os")), &db, no_key),
            Ok("os".to_string())
        );
        let never = || -> Result<Option<DatabaseKey>, &str> { Err("a named user needs no key") };
        assert_eq!(
            actor_for_replica(&inputs(Some("ann"), Some("os")), &db, never),
            Ok("ann".to_string())
        );
    }

    /// A replica at `dir` signed in as `user` (`role`, primary `office`), with the office list
    /// the sign-in wrote (`listed`, comma-separated as the sync engine keeps it).
    fn signed_in_replica(
        dir: &tempfile::TempDir,
        user: &str,
        role: &str,
        office: Option<&str>,
        listed: &str,
    ) -> switchboard_core::Store {
        let store = switchboard_core::Store::open(&dir.path().join("r.db"), None).unwrap();
        let login = replica::ServerLogin {
            server_url: "https://127.0.0.1:1".into(),
            user: user.into(),
            role: role.into(),
            office: office.map(String::from),
            ..Default::default()
        };
        replica::record_login(store.conn(), &login).unwrap();
        switchboard_core::store::set_setting(store.conn(), OFFICES_SETTING, listed).unwrap();
        store
    }

    #[test]
    fn the_window_names_every_office_of_a_manager_of_several_and_a_reps_one() {
        let dir = tempfile::tempdir().unwrap();
        let store = signed_in_replica(&dir, "mona", "manager", Some("BER"), "BER,PAR");
        let acting = Acting::from_inputs(&inputs(None, Some("os")));
        let info = acting.info(store.conn());
        assert_eq!(
            info,
            SessionInfo {
                actor: "mona".into(),
                role: Role::Manager,
                offices: vec!["BER".into(), "PAR".into()],
            }
        );

        // A garbled list (blanks, stray commas) names only the offices in it.
        switchboard_core::store::set_setting(store.conn(), OFFICES_SETTING, " BER,, ,PAR,")
            .unwrap();
        assert_eq!(acting.info(store.conn()).offices, ["BER", "PAR"]);

        // A replica signed in before protocol 5 kept no list: the account's one office.
        let dir = tempfile::tempdir().unwrap();
        let store = signed_in_replica(&dir, "rita", "rep", Some("BER"), "");
        assert_eq!(acting.info(store.conn()).offices, vec!["BER".to_string()]);

        // A user named on purpose acts as themselves, over the offices the replica holds.
        let named = Acting::from_inputs(&inputs(Some("ann"), Some("os")));
        let info = named.info(store.conn());
        assert_eq!((info.actor.as_str(), info.offices.len()), ("ann", 1));
    }

    #[test]
    fn signed_out_or_never_signed_in_the_window_holds_no_office() {
        let dir = tempfile::tempdir().unwrap();
        let store = signed_in_replica(&dir, "mona", "manager", Some("BER"), "BER,PAR");
        replica::record_logout(store.conn()).unwrap();
        let acting = Acting::from_inputs(&inputs(None, Some("os")));
        let info = acting.info(store.conn());
        assert_eq!(
            (info.actor.as_str(), info.offices),
            ("os", Vec::<String>::new())
        );

        let dir = tempfile::tempdir().unwrap();
        let fresh = switchboard_core::Store::open(&dir.path().join("new.db"), None).unwrap();
        assert!(acting.info(fresh.conn()).offices.is_empty());
    }
}
