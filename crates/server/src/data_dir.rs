//! The server's data folder: configuration, certificate and key, suppression key, and (by
//! default) the SQLite store.

use crate::error::{Result, ServerError};
use crate::store::{self, Store};
use crate::tls;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use switchboard_protocol::Secret;

const CONFIG: &str = "server.json";
const SQLITE_FILE: &str = "central.db";
const SUPPRESSION_KEY: &str = "suppression.key";

/// What `server.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Config {
    /// `sqlite` (the file in the data folder) or a `postgres://` URL.
    store: String,
    cert: PathBuf,
    key: PathBuf,
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
}

/// A loaded deployment: everything `serve` needs from the data folder.
pub struct Deployment {
    pub store_url: String,
    pub cert_pem: String,
    pub key_pem: String,
    pub suppression_key: Secret,
    pub fingerprint: String,
}

fn write_private(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text)
        .map_err(|e| ServerError::io(format!("writing {}", path.display()), e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
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
    std::fs::create_dir_all(dir)
        .map_err(|e| ServerError::io(format!("creating {}", dir.display()), e))?;
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
    let config = Config {
        store: options.store.clone().unwrap_or_else(|| "sqlite".into()),
        cert,
        key,
    };
    // Check that the certificate and key work before promising anything.
    let cert_pem = read(&dir.join(&config.cert))?;
    tls::server_config(&cert_pem, &read(&dir.join(&config.key))?)?;
    let mut key = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut key);
    write_private(&dir.join(SUPPRESSION_KEY), &hex::encode(key))?;
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

/// The store URL of a data folder.
pub fn store_url(dir: &Path) -> Result<String> {
    let config = config(dir)?;
    Ok(if config.store == "sqlite" {
        format!("sqlite:{}", dir.join(SQLITE_FILE).display())
    } else {
        config.store
    })
}

/// Opens the store of a data folder.
pub fn open_store(dir: &Path) -> Result<Arc<dyn Store>> {
    store::open(&store_url(dir)?)
}

/// Loads what serving needs.
pub fn load(dir: &Path) -> Result<Deployment> {
    let config = config(dir)?;
    let cert_pem = read(&dir.join(&config.cert))?;
    let key_pem = read(&dir.join(&config.key))?;
    let suppression_key = Secret::new(read(&dir.join(SUPPRESSION_KEY))?.trim());
    Ok(Deployment {
        store_url: store_url(dir)?,
        fingerprint: tls::fingerprint_pem(&cert_pem)?,
        cert_pem,
        key_pem,
        suppression_key,
    })
}
