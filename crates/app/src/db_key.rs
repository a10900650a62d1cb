//! Where the replica's database key comes from. A headless use names it on purpose — a key file
//! of mode 0600 (`SWITCHBOARD_DB_KEY_FILE`) or the hex key itself (`SWITCHBOARD_DB_KEY`) — and
//! otherwise it lives in the OS keychain beside the sync token, made (256 random bits) when the
//! database is first created. No keychain means a clear error, never a plaintext database. The
//! key never reaches a log, an error message or the process's arguments.

use std::path::{Path, PathBuf};
use switchboard_core::store::KeyText;
use switchboard_core::DatabaseKey;
use switchboard_sync::keychain::Keychain;

/// The variable naming a file (mode 0600) that holds the key as 64 hex digits.
pub const KEY_FILE_VAR: &str = "SWITCHBOARD_DB_KEY_FILE";

/// The variable holding the key itself as 64 hex digits (for CI jobs that inject secrets).
pub const KEY_VAR: &str = "SWITCHBOARD_DB_KEY";

/// What to do when neither a keychain nor an explicit key is at hand.
pub const NO_KEYCHAIN_HELP: &str = "the database is encrypted and its key lives in the OS \
keychain, but no keychain is available (no Secret Service on the session bus). Start one (for \
example gnome-keyring inside a desktop session), or pass the key explicitly: a file holding it as \
64 hex digits with mode 0600 named by SWITCHBOARD_DB_KEY_FILE, or the digits in SWITCHBOARD_DB_KEY";

/// Why no key could be had; each has a stable code and says what to do.
#[derive(Debug)]
pub enum KeyError {
    /// No keychain and no explicit key.
    NoKeychain(String),
    /// The keychain holds no key for an existing database.
    NotInKeychain(String),
    /// The key file is missing, unreadable or readable by others.
    KeyFile(String),
    /// The key given is not 64 hex digits.
    BadKey(String),
}

impl KeyError {
    /// The stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            KeyError::NoKeychain(_) => "no_keychain",
            KeyError::NotInKeychain(_) => "no_db_key",
            KeyError::KeyFile(_) => "key_file",
            KeyError::BadKey(_) => "bad_key",
        }
    }
}

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyError::NoKeychain(m)
            | KeyError::NotInKeychain(m)
            | KeyError::KeyFile(m)
            | KeyError::BadKey(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for KeyError {}

/// The explicit key inputs the environment gives; `Debug` never shows the key.
#[derive(Default)]
pub struct KeyInputs {
    /// `SWITCHBOARD_DB_KEY_FILE`.
    pub file: Option<PathBuf>,
    /// `SWITCHBOARD_DB_KEY`, already parsed so that its text does not linger.
    pub key: Option<Result<DatabaseKey, String>>,
}

impl std::fmt::Debug for KeyInputs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyInputs")
            .field("file", &self.file)
            .field("key", &self.key.as_ref().map(|_| "hidden"))
            .finish()
    }
}

impl KeyInputs {
    /// The key inputs from the environment (the application layer's one reading of them).
    pub fn from_env() -> KeyInputs {
        KeyInputs {
            file: std::env::var_os(KEY_FILE_VAR)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            key: std::env::var(KEY_VAR)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .map(|hex| parse(&hex, KEY_VAR)),
        }
    }
}

/// The key for the replica at `db` from this process's environment and the OS keychain: what
/// every front end (CLI, window, seeders) opens the replica with.
pub fn for_replica(db: &Path) -> Result<DatabaseKey, KeyError> {
    resolve(&KeyInputs::from_env(), Keychain::system, db)
}

/// The key for the database at `db`: the key file, else the variable, else the keychain's
/// (opened only then). A database not yet created — or still unencrypted, from a version before
/// encryption, which `Store::open` then converts — gets a new key, saved in the keychain first.
pub fn resolve(
    inputs: &KeyInputs,
    keychain: impl FnOnce() -> switchboard_sync::Result<Keychain>,
    db: &Path,
) -> Result<DatabaseKey, KeyError> {
    if let Some(file) = &inputs.file {
        return read_key_file(file);
    }
    if let Some(key) = &inputs.key {
        return match key {
            Ok(key) => Ok(key.clone()),
            Err(message) => Err(KeyError::BadKey(message.clone())),
        };
    }
    let keychain = keychain().map_err(|_| KeyError::NoKeychain(NO_KEYCHAIN_HELP.to_string()))?;
    let unavailable =
        |e: switchboard_sync::SyncError| KeyError::NoKeychain(format!("{e}; {NO_KEYCHAIN_HELP}"));
    if let Some(hex) = keychain.load_database_key(db).map_err(unavailable)? {
        return parse(hex.expose(), "the keychain's entry").map_err(KeyError::BadKey);
    }
    // An unreadable header is treated as encrypted: never mint a key for a file we cannot read.
    let plaintext = switchboard_core::store::is_plaintext(db).unwrap_or(false);
    if db.exists() && !plaintext {
        return Err(KeyError::NotInKeychain(format!(
            "this keychain holds no key for {} ({}): open it where it was made, or pass its key \
             with {KEY_FILE_VAR} or {KEY_VAR}",
            db.display(),
            Keychain::database_account(db)
        )));
    }
    let key = generate();
    keychain
        .save_database_key(db, key.to_hex().as_str())
        .map_err(unavailable)?;
    Ok(key)
}

/// 256 fresh bits from the OS random generator.
pub fn generate() -> DatabaseKey {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the OS random generator is unavailable");
    let key = DatabaseKey::from_bytes(bytes);
    bytes.fill(0);
    key
}

fn parse(hex: &str, source: &str) -> Result<DatabaseKey, String> {
    DatabaseKey::from_hex(hex).map_err(|e| format!("{source}: {e}"))
}

/// Reads a key file, refusing one that others can read: a key anyone can copy protects nothing.
fn read_key_file(file: &Path) -> Result<DatabaseKey, KeyError> {
    let unreadable =
        |e: std::io::Error| KeyError::KeyFile(format!("{KEY_FILE_VAR} {}: {e}", file.display()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(file)
            .map_err(unreadable)?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(KeyError::KeyFile(format!(
                "{KEY_FILE_VAR} {} can be read by others (mode {:o}): run `chmod 600 {}`",
                file.display(),
                mode & 0o777,
                file.display()
            )));
        }
    }
    let text = std::fs::read_to_string(file).map_err(unreadable)?;
    let key = parse(&text, &format!("{KEY_FILE_VAR} {}", file.display())).map_err(KeyError::BadKey);
    drop(KeyText::from(text));
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mock() -> Keychain {
        Keychain::with_store(keyring_core::mock::Store::new().unwrap())
    }

    fn no_keychain() -> switchboard_sync::Result<Keychain> {
        Err(switchboard_sync::SyncError::Keychain(
            "no Secret Service".into(),
        ))
    }

    #[test]
    fn a_new_database_gets_a_fresh_key_kept_in_the_keychain_and_found_again() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("replica.db");
        let keychain = mock();
        let made = resolve(&KeyInputs::default(), || Ok(keychain.clone()), &db).unwrap();
        let other = generate();
        assert_ne!(made.to_hex().as_str(), other.to_hex().as_str());
        std::fs::write(&db, b"created").unwrap();
        let found = resolve(&KeyInputs::default(), || Ok(keychain.clone()), &db).unwrap();
        assert_eq!(found.to_hex().as_str(), made.to_hex().as_str());
        // An existing database whose key this keychain lacks is refused, not re-keyed.
        let err = resolve(&KeyInputs::default(), || Ok(mock()), &db).unwrap_err();
        assert_eq!(err.code(), "no_db_key");
    }

    #[test]
    fn an_unencrypted_database_from_before_gets_a_key_and_is_converted_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("replica.db");
        let id = switchboard_core::Store::open(&db, None)
            .unwrap()
            .replica_id()
            .unwrap();
        let keychain = mock();
        let key = resolve(&KeyInputs::default(), || Ok(keychain.clone()), &db).unwrap();
        let store = switchboard_core::Store::open(&db, Some(&key)).unwrap();
        assert_eq!(store.replica_id().unwrap(), id);
        assert!(!switchboard_core::store::is_plaintext(&db).unwrap());
        drop(store);
        // From now on the keychain's key is the one, and the file is no longer refused as
        // "unencrypted without a key".
        let again = resolve(&KeyInputs::default(), || Ok(keychain.clone()), &db).unwrap();
        assert_eq!(again.to_hex().as_str(), key.to_hex().as_str());
        assert_eq!(
            resolve(&KeyInputs::default(), || Ok(mock()), &db)
                .unwrap_err()
                .code(),
            "no_db_key"
        );
    }

    #[test]
    fn no_keychain_is_a_clear_error_never_a_plaintext_open() {
        let dir = tempfile::tempdir().unwrap();
        let err =
            resolve(&KeyInputs::default(), no_keychain, &dir.path().join("r.db")).unwrap_err();
        assert_eq!(err.code(), "no_keychain");
        assert!(err.to_string().contains(KEY_FILE_VAR), "{err}");
    }

    #[test]
    fn a_key_file_must_be_private_and_its_key_never_shows_in_errors() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("db.key");
        let key = generate();
        std::fs::write(&file, format!("{}\n", key.to_hex().as_str())).unwrap();
        let inputs = KeyInputs {
            file: Some(file.clone()),
            key: None,
        };
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = resolve(&inputs, no_keychain, &dir.path().join("r.db")).unwrap_err();
        assert_eq!(err.code(), "key_file");
        assert!(err.to_string().contains("chmod 600"), "{err}");
        assert!(!err.to_string().contains(key.to_hex().as_str()));

        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let read = resolve(&inputs, no_keychain, &dir.path().join("r.db")).unwrap();
        assert_eq!(read.to_hex().as_str(), key.to_hex().as_str());

        std::fs::write(&file, "not a key").unwrap();
        let err = resolve(&inputs, no_keychain, &dir.path().join("r.db")).unwrap_err();
        assert_eq!(err.code(), "bad_key");
        assert!(!err.to_string().contains("not a key"));
    }

    #[test]
    fn the_variable_is_used_before_the_keychain_and_never_printed() {
        let key = generate();
        let inputs = KeyInputs {
            file: None,
            key: Some(Ok(key.clone())),
        };
        assert!(!format!("{inputs:?}").contains(key.to_hex().as_str()));
        let dir = tempfile::tempdir().unwrap();
        let got = resolve(&inputs, no_keychain, &dir.path().join("r.db")).unwrap();
        assert_eq!(got.to_hex().as_str(), key.to_hex().as_str());
    }
}
