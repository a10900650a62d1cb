//! Sign-in and background sync for the window: the same engine as `switchboard sync --watch`,
//! on its own connection to the database file (WAL lets the window's connection read and
//! write meanwhile), so the window's `Mutex<Store>` is never held across a network wait.
//! The token lives in the OS keychain (or `SWITCHBOARD_TOKEN`), never in the database or the UI.
//! Tauri-free: the shell passes in its tokio runtime and hears events through `subscribe`.

use serde::Serialize;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use switchboard_core::protocol::Device;
use switchboard_core::replica::{self, Rejected};
use switchboard_core::{Clock, DatabaseKey, Store};
use switchboard_sync::keychain::{self, Keychain, TOKEN_VAR};
use switchboard_sync::{engine, probe, Client, Progress, Secret, SyncError, TrustAnchor};
use tokio::runtime::Handle;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use crate::db_key::{self, KeyInputs};
use crate::signin::{self, Login, SignInError};
use ts_rs::TS;

/// How long signing out waits for the server to revoke the token before going on offline.
const LOGOUT_WAIT: Duration = Duration::from_secs(3);

/// How long a stopping worker may take to let go of the database.
const STOP_WAIT: Duration = Duration::from_secs(5);

/// What the app tells the user when there is no keychain for the token.
pub const NO_KEYCHAIN: &str = "No OS keychain is available to keep the sign-in token (no \
Secret Service on the session bus). Start one in your desktop session (GNOME Keyring or \
KWallet) and sign in again, or start Switchboard with SWITCHBOARD_TOKEN set to a token from \
`switchboard login --print-token`.";

/// Whether the window is talking to its server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum SyncConnection {
    /// No server or no token: the app works offline only.
    SignedOut,
    /// Signed in; the first sync is under way.
    Connecting,
    /// The last sync succeeded and the app is listening for changes.
    Online,
    /// The server cannot be reached (or refused); the app retries and works offline meanwhile.
    Offline,
}

/// What the background sync tells the window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export)]
pub enum SyncEvent {
    /// Pulled changes were applied: open views reload.
    Changed { changes: u32 },
    /// How far the sync that is pulling has come: `total` changes so far of `expected` in all
    /// (an estimate while pages arrive, when the server names its head; protocol 4), so the
    /// window shows a long first sync's progress. Sent before the `Changed` of the same pages.
    Pulled { total: u32, expected: Option<u32> },
    /// The sync status moved (pushed, online, offline): the status indicator reloads.
    Status,
}

/// One operation the server refused, for the status panel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct RejectedOp {
    pub seq: i32,
    pub op_kind: String,
    pub lead_id: Option<String>,
    pub code: Option<String>,
    pub reason: String,
    #[ts(type = "string")]
    pub at: chrono::DateTime<chrono::Utc>,
}

/// Everything the status indicator and its panel show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct SyncView {
    pub connection: SyncConnection,
    pub server_url: Option<String>,
    /// The pinned certificate fingerprint (`AB:CD:…`), if the server is trusted by one.
    pub fingerprint: Option<String>,
    pub user: Option<String>,
    pub role: Option<String>,
    pub office: Option<String>,
    /// Whether the token comes from `SWITCHBOARD_TOKEN` rather than the keychain.
    pub token_from_env: bool,
    /// Local changes waiting to be pushed.
    pub pending: u32,
    #[ts(type = "string | null")]
    pub last_sync_at: Option<chrono::DateTime<chrono::Utc>>,
    /// Why the last attempt failed, or why the app is signed out.
    pub last_error: Option<String>,
    /// How many pushed operations the server refused in all.
    pub rejected_total: u32,
    /// The most recent refusals, newest first.
    pub rejected: Vec<RejectedOp>,
}

/// The server's certificate as the app saw it, for the user to confirm before signing in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[ts(export)]
pub struct ServerProbe {
    pub server_url: String,
    pub fingerprint: String,
}

/// A sign-in or sync failure for the window: a stable code and a message saying what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncFailure {
    pub code: &'static str,
    pub message: String,
}

impl SyncFailure {
    fn new(code: &'static str, message: impl Into<String>) -> SyncFailure {
        SyncFailure {
            code,
            message: message.into(),
        }
    }

    /// The engine's error, worded for someone signing in to `server`.
    fn from_sync(e: SyncError, server: &str) -> SyncFailure {
        match e {
            SyncError::Network(why) => SyncFailure::new(
                "network",
                format!("Cannot reach the server at {server}: {why}"),
            ),
            SyncError::Unauthorized(_) => SyncFailure::new(
                "unauthorized",
                "The server refused the user name or password.",
            ),
            SyncError::Keychain(_) => SyncFailure::new("keychain", NO_KEYCHAIN),
            other => SyncFailure::new(other.code(), other.to_string()),
        }
    }
}

/// Runs one background worker at a time and keeps what the status indicator shows.
#[derive(Clone)]
pub struct SyncService {
    inner: Arc<Inner>,
}

struct Inner {
    db: Option<PathBuf>,
    /// The key the window's store was opened with, for the worker's own connection (a new one
    /// after a revoked device's erasure: the old one left the keychain with the replica).
    key: Mutex<Option<DatabaseKey>>,
    clock: Arc<dyn Clock>,
    /// The runtime whose timers and sockets the worker uses (the window's).
    runtime: Handle,
    /// Opens the keychain when a token is needed: the OS one unless a test says otherwise.
    keychain: Mutex<KeychainOpener>,
    env_token: Mutex<Option<String>>,
    live: Mutex<Live>,
    listeners: Mutex<Vec<Listener>>,
    worker: Mutex<Option<Worker>>,
    /// The window's own store (`Desk`), reopened empty when a revoked device erases its replica.
    window_store: Mutex<Option<Arc<Mutex<Store>>>>,
}

/// Opens the keychain the tokens live in.
type KeychainOpener = Arc<dyn Fn() -> switchboard_sync::Result<Keychain> + Send + Sync>;

/// Hears sync events; returns false once it is gone (a reloaded page's channel).
type Listener = Box<dyn Fn(&SyncEvent) -> bool + Send + Sync>;

struct Live {
    connection: SyncConnection,
    error: Option<String>,
}

struct Worker {
    stop: watch::Sender<bool>,
    kick: Arc<Notify>,
    task: JoinHandle<()>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl SyncService {
    /// A service syncing the database file `db` (none for an in-memory store: no sync), opened
    /// with `key`, stamping with `clock`, working on `runtime`; the token from
    /// `SWITCHBOARD_TOKEN` (read here, once), else the OS keychain.
    pub fn new(
        db: Option<PathBuf>,
        key: Option<DatabaseKey>,
        clock: Arc<dyn Clock>,
        runtime: Handle,
    ) -> SyncService {
        SyncService {
            inner: Arc::new(Inner {
                db,
                key: Mutex::new(key),
                clock,
                runtime,
                keychain: Mutex::new(Arc::new(Keychain::system)),
                env_token: Mutex::new(std::env::var(TOKEN_VAR).ok()),
                live: Mutex::new(Live {
                    connection: SyncConnection::SignedOut,
                    error: None,
                }),
                listeners: Mutex::new(Vec::new()),
                worker: Mutex::new(None),
                window_store: Mutex::new(None),
            }),
        }
    }

    /// The service for the window's store: same file, same key, same clock.
    pub fn for_store(store: &Store, runtime: Handle) -> SyncService {
        SyncService::new(
            store.path().map(PathBuf::from),
            store.key().cloned(),
            store.clock(),
            runtime,
        )
    }

    /// Opens the keychain with `open` instead of the OS one (tests use the keyring mock store,
    /// or a failing opener for a machine without a keychain).
    pub fn use_keychain(
        &self,
        open: impl Fn() -> switchboard_sync::Result<Keychain> + Send + Sync + 'static,
    ) {
        *lock(&self.inner.keychain) = Arc::new(open);
    }

    /// Replaces what `SWITCHBOARD_TOKEN` said at start.
    pub fn use_env_token(&self, token: Option<String>) {
        *lock(&self.inner.env_token) = token;
    }

    /// The window's store, which an erasure after a revocation replaces with an empty one, so
    /// no screen shows the erased replica through a connection still open on its file.
    pub fn share_window_store(&self, store: Arc<Mutex<Store>>) {
        *lock(&self.inner.window_store) = Some(store);
    }

    /// Adds a listener for sync events.
    pub fn subscribe(&self, listener: impl Fn(&SyncEvent) -> bool + Send + Sync + 'static) {
        lock(&self.inner.listeners).push(Box::new(listener));
    }

    /// What the status indicator shows, read through the window's store (held briefly).
    pub fn view(&self, store: &Store) -> switchboard_core::Result<SyncView> {
        let status = replica::status(store.conn())?;
        let live = lock(&self.inner.live);
        let s = status.state;
        Ok(SyncView {
            connection: live.connection,
            server_url: s.server_url,
            fingerprint: s.fingerprint,
            user: s.user,
            role: s.role,
            office: s.office,
            token_from_env: self.inner.env_token().is_some(),
            pending: clamp(status.pending),
            last_sync_at: s.last_sync_at,
            last_error: live.error.clone().or(s.last_error),
            rejected_total: clamp(status.rejected_total),
            rejected: status.rejected.into_iter().map(rejected_op).collect(),
        })
    }

    /// Whether a worker is running.
    pub fn running(&self) -> bool {
        lock(&self.inner.worker)
            .as_ref()
            .is_some_and(|w| !w.task.is_finished())
    }

    /// Starts syncing in the background when this replica has a server and a token; else
    /// records why not (signed out) and returns.
    pub fn start(&self) {
        if self.running() {
            return;
        }
        match self.prepare() {
            Ok(Some((store, client, token))) => self.spawn(store, client, token),
            Ok(None) => self.inner.set(SyncConnection::SignedOut, None),
            Err(f) => self.inner.set(SyncConnection::SignedOut, Some(f.message)),
        }
    }

    /// Syncs at once: wakes the worker, or starts one.
    pub fn sync_now(&self) {
        match lock(&self.inner.worker).as_ref() {
            Some(w) if !w.task.is_finished() => {
                w.kick.notify_one();
                return;
            }
            _ => {}
        }
        self.start();
    }

    /// Stops the worker and waits (briefly) until it has let go of the database.
    pub async fn stop(&self) {
        let worker = lock(&self.inner.worker).take();
        if let Some(w) = worker {
            let _ = w.stop.send(true);
            let _ = tokio::time::timeout(STOP_WAIT, w.task).await;
        }
    }

    /// The certificate fingerprint the server at `server_url` presents.
    pub async fn probe(&self, server_url: &str) -> Result<ServerProbe, SyncFailure> {
        let server_url = server_url.trim().trim_end_matches('/').to_string();
        let fingerprint = probe::server_fingerprint(&server_url)
            .await
            .map_err(|e| SyncFailure::from_sync(e, &server_url))?;
        Ok(ServerProbe {
            server_url,
            fingerprint,
        })
    }

    /// Signs in: checks that the server presents the `fingerprint` the user confirmed, logs in
    /// pinned to it, keeps the token in the keychain and starts syncing.
    pub async fn sign_in(
        &self,
        server_url: &str,
        fingerprint: &str,
        user: &str,
        password: Secret,
    ) -> Result<(), SyncFailure> {
        let server_url = server_url.trim().trim_end_matches('/');
        let user = user.trim();
        if user.is_empty() || password.expose().is_empty() {
            return Err(SyncFailure::new(
                "bad_input",
                "Enter your user name and password.",
            ));
        }
        let pin = TrustAnchor::fingerprint(fingerprint).map_err(|_| {
            SyncFailure::new(
                "bad_input",
                "Confirm the server's certificate fingerprint (64 hex digits) before signing in.",
            )
        })?;
        // Fail before the password leaves if the token would have nowhere to go.
        let keychain = self
            .inner
            .keychain()
            .map_err(|_| SyncFailure::new("keychain", NO_KEYCHAIN))?;
        let seen = probe::server_fingerprint(server_url)
            .await
            .map_err(|e| SyncFailure::from_sync(e, server_url))?;
        if TrustAnchor::fingerprint(&seen).ok().as_ref() != Some(&pin) {
            return Err(SyncFailure::new(
                "fingerprint_mismatch",
                format!(
                    "The server's certificate does not match the fingerprint you confirmed: it \
                     presents {seen}. Nothing was sent. Ask your administrator for the fingerprint \
                     `switchboard-server init` printed."
                ),
            ));
        }
        self.stop().await;
        let mut store = self.inner.open_store()?;
        let login = Login {
            server_url,
            anchor: &pin,
            ca_file: None,
            user,
            password: &password,
            device_name: None,
        };
        let signed_in = signin::sign_in(&mut store, &login, Some(&keychain)).await;
        if let Err(SignInError::Login(SyncError::DeviceRevoked(why))) = &signed_in {
            let (_, message) = signin::erase_revoked(store, Some(&keychain), why);
            self.inner.after_erasure(message.clone());
            return Err(SyncFailure::new("device_revoked", message));
        }
        signed_in.map_err(|e| match e {
            SignInError::Login(e) => SyncFailure::from_sync(e, server_url),
            SignInError::Store(e) => SyncFailure::new(e.code(), e.to_string()),
            SignInError::Keychain(_) => SyncFailure::new("keychain", NO_KEYCHAIN),
        })?;
        drop(store);
        self.inner.set(SyncConnection::Connecting, None);
        self.start();
        Ok(())
    }

    /// Signs out: stops syncing, asks the server to revoke the token (when it can be reached
    /// soon) and removes the token from the keychain. The local data stays.
    pub async fn sign_out(&self) -> Result<(), SyncFailure> {
        self.stop().await;
        let store = self.inner.open_store()?;
        let state =
            replica::state(store.conn()).map_err(|e| SyncFailure::new(e.code(), e.to_string()))?;
        drop(store);
        if let (Some(server), Some(user)) = (state.server_url.clone(), state.user.clone()) {
            let keychain = self
                .inner
                .keychain()
                .map_err(|_| SyncFailure::new("keychain", NO_KEYCHAIN))?;
            let token = keychain
                .load(&user, &server)
                .map_err(|_| SyncFailure::new("keychain", NO_KEYCHAIN))?;
            if let (Some(token), Ok(anchor)) = (token, engine::recorded_anchor(&state)) {
                if let Ok(client) = Client::new(&server, &anchor) {
                    let _ = tokio::time::timeout(LOGOUT_WAIT, client.logout(&token)).await;
                }
            }
            keychain
                .delete(&user, &server)
                .map_err(|_| SyncFailure::new("keychain", NO_KEYCHAIN))?;
        }
        let store = self.inner.open_store()?;
        replica::record_logout(store.conn())
            .map_err(|e| SyncFailure::new(e.code(), e.to_string()))?;
        self.inner.set(SyncConnection::SignedOut, None);
        Ok(())
    }

    /// The devices signed in to the manager's office (an admin's: every office), for the
    /// Devices panel; a rep is refused by the server (`forbidden`).
    pub async fn devices(&self) -> Result<Vec<Device>, SyncFailure> {
        let (client, token, server) = self.signed_in_client()?;
        client
            .devices(&token)
            .await
            .map_err(|e| SyncFailure::from_sync(e, &server))
    }

    /// Revokes a device: the server refuses it at once and it erases its data at its next
    /// contact.
    pub async fn revoke_device(&self, id: &str) -> Result<Device, SyncFailure> {
        let (client, token, server) = self.signed_in_client()?;
        client
            .revoke_device(&token, id)
            .await
            .map_err(|e| SyncFailure::from_sync(e, &server))
    }

    /// The office's newest update when newer than `current` (this app's version).
    pub async fn check_update(
        &self,
        current: &str,
    ) -> Result<Option<switchboard_core::protocol::updates::UpdateManifest>, SyncFailure> {
        let (client, token, server) = self.signed_in_client()?;
        switchboard_sync::updates::check(&client, &token, current)
            .await
            .map_err(|e| SyncFailure::from_sync(e, &server))
    }

    /// Downloads the update `manifest` names and checks its signature under `pubkey`; saves
    /// the package only when it passes and returns where.
    pub async fn fetch_update(
        &self,
        manifest: &switchboard_core::protocol::updates::UpdateManifest,
        pubkey: &str,
    ) -> Result<PathBuf, SyncFailure> {
        let (client, token, server) = self.signed_in_client()?;
        let package =
            switchboard_sync::updates::download_verified(&client, &token, manifest, pubkey)
                .await
                .map_err(|e| SyncFailure::from_sync(e, &server))?;
        switchboard_sync::updates::save_package(&package, &manifest.version)
            .map_err(|e| SyncFailure::from_sync(e, &server))
    }

    /// A client and token for a request of this account (not the worker's).
    fn signed_in_client(&self) -> Result<(Client, Secret, String), SyncFailure> {
        let signed_out = || SyncFailure::new("no_token", "Sign in first.");
        let (store, client, token) = self.prepare()?.ok_or_else(signed_out)?;
        let server = replica::state(store.conn())
            .ok()
            .and_then(|s| s.server_url)
            .unwrap_or_default();
        Ok((client, token, server))
    }

    /// The worker's own store, client and token, or `None` when this replica has no server.
    fn prepare(&self) -> Result<Option<(Store, Client, Secret)>, SyncFailure> {
        let store = self.inner.open_store()?;
        let state =
            replica::state(store.conn()).map_err(|e| SyncFailure::new(e.code(), e.to_string()))?;
        let (Some(server), Some(user)) = (state.server_url.clone(), state.user.clone()) else {
            return Ok(None);
        };
        let token = keychain::resolve_token(
            self.inner.env_token(),
            || self.inner.keychain(),
            &user,
            &server,
        );
        let token = match token {
            Ok(token) => token,
            // Signed out (no token saved) is not an error worth showing.
            Err(SyncError::NoToken(why)) if why.starts_with("no token for") => return Ok(None),
            Err(SyncError::NoToken(_)) => return Err(SyncFailure::new("keychain", NO_KEYCHAIN)),
            Err(e) => return Err(SyncFailure::from_sync(e, &server)),
        };
        let client = engine::client_for(&store).map_err(|e| SyncFailure::from_sync(e, &server))?;
        Ok(Some((store, client, token)))
    }

    fn spawn(&self, store: Store, client: Client, token: Secret) {
        let (stop, stopped) = watch::channel(false);
        let kick = Arc::new(Notify::new());
        let inner = self.inner.clone();
        let kick2 = kick.clone();
        inner.set(SyncConnection::Connecting, None);
        // The engine's progress callback is not `Send`, so the loop runs on a blocking thread
        // that drives it with the app's tokio runtime (its timers and sockets).
        let runtime = self.inner.runtime.clone();
        let task = self.inner.runtime.spawn_blocking(move || {
            runtime.block_on(work(inner, store, client, token, stopped, kick2));
        });
        *lock(&self.inner.worker) = Some(Worker { stop, kick, task });
    }
}

/// The worker: `watch` until stopped; "Sync now" ends a `watch` so the next starts at once.
async fn work(
    inner: Arc<Inner>,
    mut store: Store,
    client: Client,
    token: Secret,
    mut stopped: watch::Receiver<bool>,
    kick: Arc<Notify>,
) {
    loop {
        let events = inner.clone();
        let mut progress = move |p: Progress| events.on_progress(p);
        let result = tokio::select! {
            r = engine::watch(&mut store, &client, &token, &mut progress, kick.notified()) => r,
            _ = stopped.changed() => return,
        };
        if *stopped.borrow() {
            return;
        }
        if let Err(SyncError::DeviceRevoked(why)) = &result {
            // Revoked: the replica and its keys go, and the window's screens show an empty one.
            let keychain = inner.keychain().ok();
            let (_, message) = signin::erase_revoked(store, keychain.as_ref(), why);
            inner.after_erasure(message);
            return;
        }
        if let Err(e) = result {
            let (connection, message) = match &e {
                SyncError::TokenExpired(why) => (SyncConnection::SignedOut, why.clone()),
                SyncError::Unauthorized(_) | SyncError::NoToken(_) => (
                    SyncConnection::SignedOut,
                    "The server refused the saved sign-in (expired or revoked): sign in again."
                        .to_string(),
                ),
                other => (SyncConnection::Offline, other.to_string()),
            };
            inner.set(connection, Some(message));
            tokio::select! {
                _ = kick.notified() => {}
                _ = stopped.changed() => return,
            }
        }
    }
}

impl Inner {
    /// After a revoked device erased its replica: the window's store becomes a new, empty
    /// database at the same path (closing the connection to the erased file), the screens
    /// reload, and the status says why.
    fn after_erasure(&self, message: String) {
        let shared = lock(&self.window_store).clone();
        if let (Some(shared), Some(db)) = (shared, &self.db) {
            // The erasure took the database key out of the keychain too: the empty replica is
            // encrypted under the key resolved as at start (the key file or variable if given,
            // else a fresh one the keychain keeps), never left unencrypted.
            let reopened = db_key::resolve(&KeyInputs::from_env(), || self.keychain(), db)
                .map_err(|e| e.to_string())
                .and_then(|key| {
                    Store::open_with_clock(db, Some(&key), self.clock.clone())
                        .map(|empty| (empty, key))
                        .map_err(|e| e.to_string())
                });
            let mut window = lock(&shared);
            match reopened {
                Ok((empty, key)) => {
                    *window = empty;
                    *lock(&self.key) = Some(key);
                }
                Err(e) => eprintln!("switchboard: reopening {} empty: {e}", db.display()),
            }
        }
        self.set(SyncConnection::SignedOut, Some(message));
        self.emit(&SyncEvent::Changed { changes: 0 });
    }

    fn env_token(&self) -> Option<String> {
        lock(&self.env_token)
            .clone()
            .filter(|t| !t.trim().is_empty())
    }

    fn keychain(&self) -> switchboard_sync::Result<Keychain> {
        let open = lock(&self.keychain).clone();
        open()
    }

    fn open_store(&self) -> Result<Store, SyncFailure> {
        let db = self.db.as_ref().ok_or_else(|| {
            SyncFailure::new(
                "bad_input",
                "This database lives in memory and cannot sync.",
            )
        })?;
        let key = lock(&self.key).clone();
        Store::open_with_clock(db, key.as_ref(), self.clock.clone())
            .map_err(|e| SyncFailure::new(e.code(), e.to_string()))
    }

    fn set(&self, connection: SyncConnection, error: Option<String>) {
        {
            let mut live = lock(&self.live);
            live.connection = connection;
            live.error = error;
        }
        self.emit(&SyncEvent::Status);
    }

    fn emit(&self, event: &SyncEvent) {
        lock(&self.listeners).retain(|listener| listener(event));
    }

    fn on_progress(&self, p: Progress) {
        match p {
            Progress::Pulled {
                changes,
                total,
                expected,
                ..
            } if changes > 0 => {
                let count = |n: u64| u32::try_from(n).unwrap_or(u32::MAX);
                self.emit(&SyncEvent::Pulled {
                    total: count(total),
                    expected: expected.map(count),
                });
                self.emit(&SyncEvent::Changed {
                    changes: u32::try_from(changes).unwrap_or(u32::MAX),
                });
                self.emit(&SyncEvent::Status);
            }
            Progress::Pulled { .. } => {}
            Progress::Pushed { .. } => self.emit(&SyncEvent::Status),
            Progress::Synced(_) => self.set(SyncConnection::Online, None),
            Progress::Retrying { error } => self.set(SyncConnection::Offline, Some(error)),
            // Held or lost, the worker keeps syncing (by long-poll meanwhile): no state change.
            Progress::Live { .. } => {}
        }
    }
}

fn clamp(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

fn rejected_op(r: Rejected) -> RejectedOp {
    RejectedOp {
        seq: i32::try_from(r.seq).unwrap_or(i32::MAX),
        op_kind: r.op_kind,
        lead_id: r.lead_id,
        code: r.code,
        reason: r.reason,
        at: r.at,
    }
}
