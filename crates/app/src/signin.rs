//! The sign-in sequence both front ends run: log in to the server (trusted by a pinned
//! fingerprint or by certificate authorities), record the server and the account in the
//! replica, and keep the token in the keychain.

use switchboard_core::protocol::LoginResponse;
use switchboard_core::{replica, CoreError, Store};
use switchboard_sync::keychain::Keychain;
use switchboard_sync::wipe::{self, WipeReport};
use switchboard_sync::{engine, Secret, SyncError, TrustAnchor};

/// Who signs in where, and how the server is trusted.
pub struct Login<'a> {
    pub server_url: &'a str,
    pub anchor: &'a TrustAnchor,
    /// The CA file the anchor came from, recorded so later syncs trust the same.
    pub ca_file: Option<&'a str>,
    pub user: &'a str,
    pub password: &'a Secret,
    /// The name this computer gets as a device (`None`: its host name).
    pub device_name: Option<&'a str>,
}

/// A finished sign-in: the server's answer (with the token) and the server as recorded.
pub struct SignedIn {
    pub answer: LoginResponse,
    /// The server's address as the replica recorded it: the key the token is kept under.
    pub server: String,
}

/// Which step of the sign-in failed; each front end words it for its user.
#[derive(Debug)]
pub enum SignInError {
    /// The server refused or could not be reached; nothing was recorded.
    Login(SyncError),
    /// The replica could not be read after the login was recorded.
    Store(CoreError),
    /// The token could not be kept in the keychain.
    Keychain(SyncError),
}

/// Logs in, records the server and the account in `store`, and saves the token in `keychain`
/// (none: the caller shows or hands on the token itself).
pub async fn sign_in(
    store: &mut Store,
    login: &Login<'_>,
    keychain: Option<&Keychain>,
) -> Result<SignedIn, SignInError> {
    let answer = engine::login_device(
        store,
        login.server_url,
        login.anchor,
        login.ca_file,
        login.user,
        login.password,
        login.device_name,
    )
    .await
    .map_err(SignInError::Login)?;
    let server = replica::state(store.conn())
        .map_err(SignInError::Store)?
        .server_url
        .unwrap_or_else(|| login.server_url.to_string());
    if let Some(keychain) = keychain {
        keychain
            .save(&answer.user, &server, &answer.token)
            .map_err(SignInError::Keychain)?;
    }
    Ok(SignedIn { answer, server })
}

/// What both front ends do when the server answers `device_revoked`: erase the replica `store`
/// opened and its keys (`wipe::erase_replica`), and word what happened for the user: the
/// server's message (who revoked it, when, what to do) and what was erased.
pub fn erase_revoked(store: Store, keychain: Option<&Keychain>, why: &str) -> (WipeReport, String) {
    let report = wipe::erase_replica(store, keychain);
    let mut message = format!(
        "{why} (erased {} files and {} keychain entries)",
        report.files.len(),
        report.keys.len()
    );
    if !report.problems.is_empty() {
        message.push_str(&format!(
            "; not erased, delete by hand: {}",
            report.problems.join("; ")
        ));
    }
    (report, message)
}
