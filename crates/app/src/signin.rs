//! The sign-in sequence both front ends run: log in to the server (trusted by a pinned
//! fingerprint or by certificate authorities), record the server and the account in the
//! replica, and keep the token in the keychain.

use switchboard_core::protocol::LoginResponse;
use switchboard_core::{replica, CoreError, Store};
use switchboard_sync::keychain::Keychain;
use switchboard_sync::{engine, Secret, SyncError, TrustAnchor};

/// Who signs in where, and how the server is trusted.
pub struct Login<'a> {
    pub server_url: &'a str,
    pub anchor: &'a TrustAnchor,
    /// The CA file the anchor came from, recorded so later syncs trust the same.
    pub ca_file: Option<&'a str>,
    pub user: &'a str,
    pub password: &'a Secret,
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
    let answer = engine::login(
        store,
        login.server_url,
        login.anchor,
        login.ca_file,
        login.user,
        login.password,
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
