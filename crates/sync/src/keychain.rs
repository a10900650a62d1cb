//! The bearer token's home: the OS keychain (Secret Service on Linux, through the keyring
//! crate family), under service "switchboard" and account "<user>@<server>". Never the
//! database, never a plain file. `SWITCHBOARD_TOKEN` overrides it for scripts and jobs.

use crate::error::{Result, SyncError};
use keyring_core::{CredentialStore, Entry};
use std::sync::Arc;
use switchboard_protocol::Secret;

/// The keychain service name.
pub const SERVICE: &str = "switchboard";

/// The environment variable that overrides the keychain.
pub const TOKEN_VAR: &str = "SWITCHBOARD_TOKEN";

/// What to do when there is no token anywhere.
pub const NO_KEYCHAIN_HELP: &str = "no OS keychain is available (no Secret Service on the \
session bus) and SWITCHBOARD_TOKEN is not set. Either start a keychain (for example \
gnome-keyring inside a desktop session) and run `switchboard login` again, or run \
`switchboard login --print-token …` and export the printed token as SWITCHBOARD_TOKEN";

/// A credential store holding tokens.
#[derive(Clone)]
pub struct Keychain {
    store: Arc<CredentialStore>,
}

impl std::fmt::Debug for Keychain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keychain")
            .field("store", &self.store.vendor())
            .finish()
    }
}

impl Keychain {
    /// The OS keychain: the Secret Service (gnome-keyring, KWallet) on Linux.
    pub fn system() -> Result<Keychain> {
        #[cfg(any(target_os = "linux", target_os = "freebsd"))]
        {
            let store = dbus_secret_service_keyring_store::Store::new()
                .map_err(|e| SyncError::Keychain(format!("{e}; {NO_KEYCHAIN_HELP}")))?;
            Ok(Keychain { store })
        }
        #[cfg(not(any(target_os = "linux", target_os = "freebsd")))]
        {
            Err(SyncError::Keychain(format!(
                "this build has no keychain for this platform; {NO_KEYCHAIN_HELP}"
            )))
        }
    }

    /// A keychain over any keyring store (the mock store in tests).
    pub fn with_store(store: Arc<CredentialStore>) -> Keychain {
        Keychain { store }
    }

    /// The account name for a user on a server: `<user>@<host:port>`.
    pub fn account(user: &str, server_url: &str) -> String {
        let host = server_url
            .trim()
            .trim_start_matches("https://")
            .trim_end_matches('/');
        format!("{user}@{host}")
    }

    fn entry(&self, user: &str, server_url: &str) -> Result<Entry> {
        Entry::new_in_store(&self.store, SERVICE, &Keychain::account(user, server_url))
            .map_err(|e| SyncError::Keychain(e.to_string()))
    }

    /// Stores a token, replacing an earlier one.
    pub fn save(&self, user: &str, server_url: &str, token: &Secret) -> Result<()> {
        self.entry(user, server_url)?
            .set_password(token.expose())
            .map_err(|e| SyncError::Keychain(e.to_string()))
    }

    /// The stored token, if any.
    pub fn load(&self, user: &str, server_url: &str) -> Result<Option<Secret>> {
        match self.entry(user, server_url)?.get_password() {
            Ok(token) => Ok(Some(Secret::new(token))),
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(e) => Err(SyncError::Keychain(e.to_string())),
        }
    }

    /// The account a replica's database key is kept under: `database:<the file's full path>`.
    pub fn database_account(db: &std::path::Path) -> String {
        let full = std::path::absolute(db).unwrap_or_else(|_| db.to_path_buf());
        format!("database:{}", full.display())
    }

    /// Forgets any entry stored under `account` (the database key, a mailbox password).
    pub fn delete_account(&self, account: &str) -> Result<()> {
        let entry = Entry::new_in_store(&self.store, SERVICE, account)
            .map_err(|e| SyncError::Keychain(e.to_string()))?;
        match entry.delete_credential() {
            Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
            Err(e) => Err(SyncError::Keychain(e.to_string())),
        }
    }

    /// Stores a database key (as hex) under the database's account, beside the tokens.
    pub fn save_database_key(&self, db: &std::path::Path, key_hex: &str) -> Result<()> {
        self.database_entry(db)?
            .set_password(key_hex)
            .map_err(|e| SyncError::Keychain(e.to_string()))
    }

    /// The database's key (as hex), if the keychain holds one.
    pub fn load_database_key(&self, db: &std::path::Path) -> Result<Option<Secret>> {
        match self.database_entry(db)?.get_password() {
            Ok(key) => Ok(Some(Secret::new(key))),
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(e) => Err(SyncError::Keychain(e.to_string())),
        }
    }

    fn database_entry(&self, db: &std::path::Path) -> Result<Entry> {
        Entry::new_in_store(&self.store, SERVICE, &Keychain::database_account(db))
            .map_err(|e| SyncError::Keychain(e.to_string()))
    }

    /// Forgets the token (logout).
    pub fn delete(&self, user: &str, server_url: &str) -> Result<()> {
        match self.entry(user, server_url)?.delete_credential() {
            Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
            Err(e) => Err(SyncError::Keychain(e.to_string())),
        }
    }
}

/// The token to sync with: `SWITCHBOARD_TOKEN` (passed in as `env`) when set, else the
/// keychain's (opened only then). The error says exactly what to do when there is neither.
pub fn resolve_token(
    env: Option<String>,
    keychain: impl FnOnce() -> Result<Keychain>,
    user: &str,
    server_url: &str,
) -> Result<Secret> {
    if let Some(token) = env.map(|t| t.trim().to_string()).filter(|t| !t.is_empty()) {
        return Ok(Secret::new(token));
    }
    let keychain = keychain().map_err(|_| SyncError::NoToken(NO_KEYCHAIN_HELP.to_string()))?;
    match keychain.load(user, server_url) {
        Ok(Some(token)) => Ok(token),
        Ok(None) => Err(SyncError::NoToken(format!(
            "no token for {} in the keychain: run `switchboard login --server {server_url} --user {user}` \
             (or set {TOKEN_VAR})",
            Keychain::account(user, server_url)
        ))),
        Err(e) => Err(SyncError::NoToken(format!("{e}; {NO_KEYCHAIN_HELP}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mock() -> Keychain {
        Keychain::with_store(keyring_core::mock::Store::new().unwrap())
    }

    #[test]
    fn a_token_round_trips_per_user_and_server() {
        let k = mock();
        let server = "https://sb.example.com:8443";
        assert_eq!(k.load("rita", server).unwrap(), None);
        k.save("rita", server, &Secret::new("t-123")).unwrap();
        assert_eq!(k.load("rita", server).unwrap(), Some(Secret::new("t-123")));
        assert_eq!(k.load("rita", "https://other:1").unwrap(), None);
        k.delete("rita", server).unwrap();
        assert_eq!(k.load("rita", server).unwrap(), None);
        assert_eq!(
            Keychain::account("rita", server),
            "rita@sb.example.com:8443"
        );
    }

    #[test]
    fn the_environment_overrides_and_the_error_says_what_to_do() {
        let server = "https://sb.example.com";
        let k = mock();
        k.save("rita", server, &Secret::new("from-keychain"))
            .unwrap();
        let env = resolve_token(Some("from-env".into()), || Ok(k.clone()), "rita", server).unwrap();
        assert_eq!(env.expose(), "from-env");
        let kc = resolve_token(None, || Ok(k), "rita", server).unwrap();
        assert_eq!(kc.expose(), "from-keychain");
        let none = resolve_token(
            None,
            || Err(SyncError::Keychain("no bus".into())),
            "rita",
            server,
        )
        .unwrap_err();
        assert_eq!(none.code(), "no_token");
        assert!(none.to_string().contains("SWITCHBOARD_TOKEN"), "{none}");
        assert!(none.to_string().contains("--print-token"), "{none}");
        let missing = resolve_token(None, || Ok(mock()), "rita", server).unwrap_err();
        assert!(
            missing.to_string().contains("switchboard login"),
            "{missing}"
        );
    }

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("hunter2");
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!(!format!("{s}").contains("hunter2"));
    }
}
