//! The server's data folder: configuration, certificate and key, suppression key, the master
//! key that personal data is sealed under (`crate::sealing`), and (by default) the SQLite
//! store.

use crate::error::{Result, ServerError};
use crate::sealing::{self, Keyring, MASTER_KEY_FILE, NEXT_MASTER_KEY_FILE};
use crate::store::{self, Store};
use crate::tls;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use switchboard_protocol::Secret;

const CONFIG: &str = "server.json";
const SQLITE_FILE: &str = "central.db";
const SUPPRESSION_KEY: &str = "suppression.key";
/// `serve` holds a shared lock on this file for as long as it runs; `rotate-keys` takes it
/// exclusively, so it refuses while a server runs on the folder.
const SERVE_LOCK: &str = "serve.lock";

/// What `server.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Config {
    /// `sqlite` (the file in the data folder) or a `postgres://` URL.
    store: String,
    cert: PathBuf,
    key: PathBuf,
    /// The https:// address recipients of mail reach the server at (unsubscribe links).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    public_url: Option<String>,
    /// A file (mode 0600) holding the SQLite store's SQLCipher key as 64 hex digits; the store is
    /// unencrypted when there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    db_key_file: Option<PathBuf>,
}

/// What `init` takes.
#[derive(Debug, Clone, Default)]
pub struct InitOptions {
    /// A PostgreSQL URL; SQLite in the data folder when none.
    pub store: Option<String>,
    /// An existing certificate and key (PEM); a self-signed pair is made when none.
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// Names the self-signed certificate is valid for (besides localhost and 127.0.0.1).
    pub names: Vec<String>,
    /// The https:// address recipients of mail can reach (unsubscribe links start with it).
    pub public_url: Option<String>,
    /// Encrypts the SQLite store with the key in this file (`--db-key-file`).
    pub db_key_file: Option<PathBuf>,
}

/// A loaded deployment: everything `serve` needs from the data folder.
pub struct Deployment {
    pub store_url: String,
    pub cert_pem: String,
    pub key_pem: String,
    pub suppression_key: Secret,
    pub fingerprint: String,
    /// The master and index keys from `master.key`.
    pub keyring: Arc<Keyring>,
    /// `public_url` of `server.json` (checked); `serve --public-url` overrides it.
    pub public_url: Option<String>,
    /// The SQLite store's SQLCipher key (`--db-key-file`), if it is encrypted.
    pub db_key: Option<Secret>,
}

/// Writes a file only the server's user can read: created 0600 (never briefly wider), and an
/// existing file's mode tightened before it is overwritten.
fn write_private(path: &Path, text: &str) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        if path.exists() {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    std::io::Write::write_all(&mut options.open(path)?, text.as_bytes())
        .map_err(|e| ServerError::io(format!("writing {}", path.display()), e))
}

/// Creates the data folder if needed and makes it and the files in it the server user's alone
/// (0700, no group or other bits): they are the key, the suppression key and, by default, the
/// database with personal data. Run on every open, so what an older version left readable by
/// others is tightened too.
fn make_private_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| ServerError::io(format!("creating {}", dir.display()), e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let restrict = |path: &Path, mode: u32| {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
                .map_err(|e| ServerError::io(format!("restricting {}", path.display()), e))
        };
        // Only what is too open is changed: a folder already private needs no owner's rights.
        let mode = std::fs::metadata(dir)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            restrict(dir, 0o700)?;
        }
        let entries = std::fs::read_dir(dir)
            .map_err(|e| ServerError::io(format!("reading {}", dir.display()), e))?;
        for entry in entries {
            let path = entry?.path();
            // SQLite may remove its WAL or shared-memory file meanwhile: gone is private too.
            let Ok(meta) = std::fs::symlink_metadata(&path) else {
                continue;
            };
            let mode = meta.permissions().mode() & 0o777;
            if meta.file_type().is_file() && mode & 0o077 != 0 {
                restrict(&path, mode & 0o700)?;
            }
        }
    }
    Ok(())
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| ServerError::io(format!("reading {}", path.display()), e))
}

/// Creates the data folder; returns the certificate's SHA-256 fingerprint.
pub fn init(dir: &Path, options: &InitOptions) -> Result<String> {
    if dir.join(CONFIG).exists() {
        return Err(ServerError::Conflict(format!(
            "{} is already initialised",
            dir.display()
        )));
    }
    make_private_dir(dir)?;
    let (cert, key) = match (&options.cert, &options.key) {
        (Some(c), Some(k)) => (std::path::absolute(c)?, std::path::absolute(k)?),
        (None, None) => {
            let mut names = vec!["localhost".to_string(), "127.0.0.1".to_string()];
            names.extend(options.names.iter().cloned());
            let (cert_pem, key_pem) = tls::self_signed(&names)?;
            write_private(&dir.join("cert.pem"), &cert_pem)?;
            write_private(&dir.join("key.pem"), &key_pem)?;
            (PathBuf::from("cert.pem"), PathBuf::from("key.pem"))
        }
        _ => {
            return Err(ServerError::Invalid(
                "give both --cert and --key, or neither".into(),
            ));
        }
    };
    let db_key_file = match &options.db_key_file {
        Some(file) => {
            let file = std::path::absolute(file)?;
            read_db_key(&file)?;
            Some(file)
        }
        None => None,
    };
    let config = Config {
        store: options.store.clone().unwrap_or_else(|| "sqlite".into()),
        cert,
        key,
        public_url: options
            .public_url
            .as_deref()
            .map(crate::unsubscribe::check_public_url)
            .transpose()?,
        db_key_file,
    };
    // Check that the certificate and key work before promising anything.
    let cert_pem = read(&dir.join(&config.cert))?;
    tls::server_config(&cert_pem, &read(&dir.join(&config.key))?)?;
    let mut key = [0u8; 32];
    rand::Rng::fill_bytes(
        &mut rand::rand_core::UnwrapErr(rand::rngs::SysRng),
        &mut key,
    );
    write_private(&dir.join(SUPPRESSION_KEY), &hex::encode(key))?;
    keyring(dir)?;
    write_private(&dir.join(CONFIG), &serde_json::to_string_pretty(&config)?)?;
    open_store(dir)?;
    tls::fingerprint_pem(&cert_pem)
}

fn config(dir: &Path) -> Result<Config> {
    let path = dir.join(CONFIG);
    if !path.exists() {
        return Err(ServerError::NotFound(format!(
            "{} is not a server data folder (run `switchboard-server init --data {}`)",
            dir.display(),
            dir.display()
        )));
    }
    serde_json::from_str(&read(&path)?)
        .map_err(|e| ServerError::Invalid(format!("{}: {e}", path.display())))
}

/// Reads a SQLCipher key file: 64 hex digits, readable by the server's user only (a key others
/// can copy protects nothing).
fn read_db_key(file: &Path) -> Result<Secret> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(file)
            .map_err(|e| ServerError::io(format!("reading {}", file.display()), e))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(ServerError::Invalid(format!(
                "the database key file {} can be read by others (mode {:o}): run `chmod 600 {}`",
                file.display(),
                mode & 0o777,
                file.display()
            )));
        }
    }
    let key = Secret::new(read(file)?.trim());
    let hex = key.expose();
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ServerError::Invalid(format!(
            "the database key file {} must hold 64 hex digits (256 bits)",
            file.display()
        )));
    }
    Ok(key)
}

/// The SQLCipher key of a data folder's SQLite store, if it is encrypted.
fn db_key(config: &Config) -> Result<Option<Secret>> {
    config.db_key_file.as_deref().map(read_db_key).transpose()
}

/// The store URL of a data folder.
pub fn store_url(dir: &Path) -> Result<String> {
    let config = config(dir)?;
    Ok(if config.store == "sqlite" {
        format!("sqlite:{}", dir.join(SQLITE_FILE).display())
    } else {
        config.store
    })
}

/// The data folder's master key, created on first use (a folder from before sealing, or a
/// fresh `init`). Every instance serving one database needs the same file: an instance that
/// made its own is refused when it opens the store (`sealing::bind_master`).
fn keyring(dir: &Path) -> Result<Keyring> {
    let path = dir.join(MASTER_KEY_FILE);
    if !path.exists() {
        Keyring::generate().save(&path)?;
    }
    Keyring::load(&path)
}

/// Opens the store of a data folder with its keyring. A rotation cut short between the
/// database and the key file leaves `master.key.new`; whichever key the database records wins.
fn open_with_keys(dir: &Path) -> Result<(Arc<dyn Store>, Arc<Keyring>)> {
    let url = store_url(dir)?;
    let db_key = db_key(&config(dir)?)?;
    make_private_dir(dir)?;
    let keys = Arc::new(keyring(dir)?);
    let next_path = dir.join(NEXT_MASTER_KEY_FILE);
    match store::open_with_db_key(&url, keys.clone(), db_key.as_ref()) {
        Err(ServerError::Conflict(_)) if next_path.exists() => {
            let next = Arc::new(Keyring::load(&next_path)?);
            let store = store::open_with_db_key(&url, next.clone(), db_key.as_ref())?;
            sealing::destroy_key_file(&dir.join(MASTER_KEY_FILE))?;
            std::fs::rename(&next_path, dir.join(MASTER_KEY_FILE))?;
            Ok((store, next))
        }
        Ok(store) => {
            if next_path.exists() {
                // The rotation never reached the database: its new key was never used.
                sealing::destroy_key_file(&next_path)?;
            }
            Ok((store, keys))
        }
        Err(e) => Err(e),
    }
}

/// Opens the store of a data folder.
pub fn open_store(dir: &Path) -> Result<Arc<dyn Store>> {
    Ok(open_with_keys(dir)?.0)
}

/// Re-wraps every person key under a new master key and destroys the old one
/// (`switchboard-server rotate-keys`); returns how many keys were re-wrapped. Run it with the
/// other instances stopped and copy the new `master.key` to their data folders.
pub fn rotate_keys(dir: &Path) -> Result<usize> {
    // A running server keeps the old master it loaded, which the rotation destroys: it could
    // seal nobody new until restarted.
    let _alone = lock(dir, LockKind::Exclusive).map_err(|e| match e {
        ServerError::ServerRunning(_) => ServerError::ServerRunning(format!(
            "a server is running on {}: stop it (and every other instance serving this \
             database) before rotate-keys, then start them again with the new {MASTER_KEY_FILE}",
            dir.display()
        )),
        other => other,
    })?;
    let (store, old) = open_with_keys(dir)?;
    let next = old.rotated();
    // The new key is on disk before the database depends on it.
    let next_path = dir.join(NEXT_MASTER_KEY_FILE);
    next.save(&next_path)?;
    let count = store::write(&*store, |tx| sealing::rotate(tx, &next))?;
    drop(store);
    sealing::destroy_key_file(&dir.join(MASTER_KEY_FILE))?;
    std::fs::rename(&next_path, dir.join(MASTER_KEY_FILE))?;
    Ok(count)
}

/// Encrypts the SQLite store of a data folder made without a key under the key in `key_file`
/// (`switchboard-server encrypt-store`), with every server on the folder stopped. The folder's
/// configuration names the key file first (replaced atomically), then the store is converted
/// (`store::sqlite::encrypt_in_place`); a crash at any point leaves a folder that opens, and
/// the next open finishes a conversion cut short. Running it again with the same file is a
/// no-op; another key is refused.
pub fn encrypt_store(dir: &Path, key_file: &Path) -> Result<()> {
    let mut config = config(dir)?;
    if config.store != "sqlite" {
        return Err(ServerError::Invalid(
            "this data folder keeps its data in PostgreSQL: encrypt the database server's disk \
             instead (docs/SYNC.md)"
                .into(),
        ));
    }
    let key_file = std::path::absolute(key_file)?;
    read_db_key(&key_file)?;
    let _alone = lock(dir, LockKind::Exclusive).map_err(|e| match e {
        ServerError::ServerRunning(_) => ServerError::ServerRunning(format!(
            "a server is running on {}: stop it before encrypt-store, then start it again",
            dir.display()
        )),
        other => other,
    })?;
    match &config.db_key_file {
        Some(named) if *named != key_file => {
            return Err(ServerError::Invalid(format!(
                "the store is encrypted under the key in {} already",
                named.display()
            )));
        }
        Some(_) => {}
        None => {
            config.db_key_file = Some(key_file);
            replace_private(&dir.join(CONFIG), &serde_json::to_string_pretty(&config)?)?;
        }
    }
    open_store(dir).map(drop)
}

/// Replaces `path` with `text` atomically: written beside it, synced, renamed over it.
fn replace_private(path: &Path, text: &str) -> Result<()> {
    let mut name = path.as_os_str().to_os_string();
    name.push(".new");
    let fresh = PathBuf::from(name);
    write_private(&fresh, text)?;
    let synced = std::fs::File::open(&fresh).and_then(|f| f.sync_all());
    synced.map_err(|e| ServerError::io(format!("syncing {}", fresh.display()), e))?;
    std::fs::rename(&fresh, path)
        .map_err(|e| ServerError::io(format!("replacing {}", path.display()), e))?;
    if let Some(dir) = path.parent() {
        let synced = std::fs::File::open(dir).and_then(|d| d.sync_all());
        synced.map_err(|e| ServerError::io(format!("syncing {}", dir.display()), e))?;
    }
    Ok(())
}

/// How `lock` holds `serve.lock`.
enum LockKind {
    /// Any number of servers at once.
    Shared,
    /// Alone: refused while any server holds it.
    Exclusive,
}

/// An advisory lock on the data folder's `serve.lock`, held until dropped (or the process
/// ends, however it ends).
pub struct FolderLock {
    _file: std::fs::File,
}

/// Takes `serve.lock` without waiting; `ServerRunning` when another process holds it in a way
/// that excludes `kind`. `flock` locks belong to the open file, not to the process's other
/// descriptors, so they are independent of SQLite's own locks.
fn lock(dir: &Path, kind: LockKind) -> Result<FolderLock> {
    make_private_dir(dir)?;
    let path = dir.join(SERVE_LOCK);
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let file = options
        .open(&path)
        .map_err(|e| ServerError::io(format!("opening {}", path.display()), e))?;
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        let operation = match kind {
            LockKind::Shared => libc::LOCK_SH,
            LockKind::Exclusive => libc::LOCK_EX,
        } | libc::LOCK_NB;
        // SAFETY: flock only reads the descriptor, which `file` keeps open for the call.
        if unsafe { libc::flock(file.as_raw_fd(), operation) } != 0 {
            let error = std::io::Error::last_os_error();
            if error.kind() == std::io::ErrorKind::WouldBlock {
                return Err(ServerError::ServerRunning(match kind {
                    LockKind::Shared => format!(
                        "{} is being changed by a command that needs the server stopped \
                         (rotate-keys): start the server when it has finished",
                        dir.display()
                    ),
                    LockKind::Exclusive => {
                        format!("a server is running on {}", dir.display())
                    }
                }));
            }
            return Err(ServerError::io(
                format!("locking {}", path.display()),
                error,
            ));
        }
    }
    #[cfg(not(unix))]
    let _ = kind;
    Ok(FolderLock { _file: file })
}

/// Marks the data folder as served for as long as the returned lock lives (`serve`), so
/// commands that are unsafe beside a running server (`rotate-keys`) refuse.
pub fn hold_while_serving(dir: &Path) -> Result<FolderLock> {
    lock(dir, LockKind::Shared)
}

/// Loads what serving needs.
pub fn load(dir: &Path) -> Result<Deployment> {
    let config = config(dir)?;
    make_private_dir(dir)?;
    let cert_pem = read(&dir.join(&config.cert))?;
    let key_pem = read(&dir.join(&config.key))?;
    let suppression_key = Secret::new(read(&dir.join(SUPPRESSION_KEY))?.trim());
    if dir.join(NEXT_MASTER_KEY_FILE).exists() {
        // Settle a rotation cut short before reading the key the store now needs.
        open_with_keys(dir)?;
    }
    let keyring = Arc::new(keyring(dir)?);
    Ok(Deployment {
        keyring,
        db_key: db_key(&config)?,
        store_url: store_url(dir)?,
        fingerprint: tls::fingerprint_pem(&cert_pem)?,
        cert_pem,
        key_pem,
        suppression_key,
        public_url: config
            .public_url
            .as_deref()
            .map(crate::unsubscribe::check_public_url)
            .transpose()?,
    })
}
