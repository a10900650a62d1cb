//! What every command needs: where the database is, who is acting, how to print.

use crate::args::Global;
use crate::dates;
use crate::failure::{CliResult, Exit, Failure};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use switchboard_app::db_key;
use switchboard_app::session::{self, Inputs};
use switchboard_core::clock::{Clock, FixedClock, SystemClock};
use switchboard_core::store::default_db_path;
use switchboard_core::{DatabaseKey, Store};

/// Scripts and tests may pin "now" (RFC 3339) so calling hours and due dates are reproducible.
const NOW_VARIABLE: &str = "SWITCHBOARD_NOW";

/// The resolved global options.
pub struct Context {
    pub db: PathBuf,
    pub json: bool,
    /// `--as` (or `SWITCHBOARD_USER`, which clap reads into it).
    named: Option<String>,
    /// Who acts, resolved the first time a command asks (see `actor`).
    actor: OnceLock<String>,
    /// The replica's key, resolved at most once a run (see `key`).
    key: OnceLock<Result<DatabaseKey, (&'static str, String)>>,
    clock: Arc<dyn Clock>,
}

impl Context {
    /// Resolves the global options against the environment and the OS.
    pub fn new(global: Global) -> CliResult<Context> {
        let db = match global.db {
            Some(path) => path,
            None => default_db_path()?,
        };
        let named = match global.actor {
            Some(name) if !name.trim().is_empty() => Some(name.trim().to_string()),
            Some(_) => return Err(Failure::bad_input("--as needs a user name")),
            None => None,
        };
        let clock: Arc<dyn Clock> = match std::env::var(NOW_VARIABLE) {
            Ok(text) if !text.trim().is_empty() => {
                let at = dates::parse_instant(&text)
                    .map_err(|e| Failure::bad_input(format!("{NOW_VARIABLE}: {e}")))?;
                Arc::new(FixedClock::at(at))
            }
            _ => Arc::new(SystemClock),
        };
        Ok(Context {
            db,
            json: global.json,
            named,
            actor: OnceLock::new(),
            key: OnceLock::new(),
            clock,
        })
    }

    /// Who acts: `--as` or `SWITCHBOARD_USER`; else the account signed in on this replica, who the
    /// office knows (as in the desktop app); else the login name (`session` decides, for both
    /// front ends). Read only by commands that record something, so the others open no database
    /// for it.
    pub fn actor(&self) -> &str {
        self.actor.get_or_init(|| {
            let inputs = Inputs {
                named: self.named.clone(),
                ..Inputs::from_env()
            };
            // A key that cannot be had leaves the login name here; opening the store then
            // reports why.
            let key = || Ok::<_, std::convert::Infallible>(self.key().ok());
            match session::actor_for_replica(&inputs, &self.db, key) {
                Ok(actor) => actor,
                Err(never) => match never {},
            }
        })
    }

    /// The replica's database key (key file, variable or OS keychain; made at `init`), asked
    /// for once a run and only by commands that open the database.
    fn key(&self) -> CliResult<DatabaseKey> {
        let resolved = self
            .key
            .get_or_init(|| db_key::for_replica(&self.db).map_err(|e| (e.code(), e.to_string())));
        match resolved {
            Ok(key) => Ok(key.clone()),
            Err((code, message)) => Err(Failure {
                exit: Exit::Failed,
                code,
                message: message.clone(),
            }),
        }
    }

    /// The current instant by this run's clock (`SWITCHBOARD_NOW` when set).
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// Opens the database encrypted with its key, creating it (and the key) if needed (for
    /// `init` and `import`); an unencrypted file from before encryption is converted here.
    pub fn create_store(&self) -> CliResult<Store> {
        let key = self.key()?;
        Ok(Store::open_with_clock(
            &self.db,
            Some(&key),
            self.clock.clone(),
        )?)
    }

    /// Opens an existing database; a missing file is an error rather than a new empty database,
    /// so a mistyped `--db` does not silently show nothing.
    pub fn open_store(&self) -> CliResult<Store> {
        if !self.db.exists() {
            return Err(Failure::not_found(format!(
                "no database at {} (run `switchboard init` first, or pass --db)",
                self.db.display()
            )));
        }
        self.create_store()
    }
}
