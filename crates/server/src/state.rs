//! What every request handler shares: the store, the clock, keys, TLS and the change signal.

use crate::data_dir::Deployment;
use crate::error::{Result, ServerError};
use crate::store::{self, Store};
use crate::tls;
use chrono::Duration;
use std::sync::Arc;
use switchboard_domain::Clock;
use switchboard_protocol::Secret;
use tokio::sync::Notify;

/// How long a login token lives unless configured otherwise.
pub const DEFAULT_TOKEN_TTL_DAYS: i64 = 30;

/// Shared server state; cheap to clone.
#[derive(Clone)]
pub struct ServerState(Arc<Inner>);

/// The parts of the state.
pub struct Inner {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub tls: Arc<rustls::ServerConfig>,
    /// Hex text as handed to replicas at login.
    pub suppression_key: Secret,
    /// The decoded key bytes the server hashes with.
    pub suppression_key_bytes: Vec<u8>,
    pub token_ttl: Duration,
    /// The address recipients of mail reach the server at (`--public-url`); unsubscribe
    /// links start with it. `None`: replicas get no unsubscribe key.
    pub public_url: Option<String>,
    /// Woken whenever the change log grows on this instance.
    pub changes: Notify,
    /// The sync protocol version this server speaks: `PROTOCOL_VERSION`, another only in tests
    /// of what a client meets at a newer or older server (`speaking`).
    pub protocol_version: u32,
    /// Live change streams (`crate::live`); woken by commits here and on other instances.
    pub live: Arc<crate::live::Hub>,
    /// Changes opened and encoded once for every replica that pulls them (bounded,
    /// `SWITCHBOARD_DELIVERY_CACHE_MB`; dropped whole when an erasure commits anywhere).
    pub delivery: crate::delivery_cache::DeliveryCache,
}

impl ServerState {
    /// State over `store`, serving with `tls`, hashing with the hex `suppression_key`.
    pub fn new(
        store: Arc<dyn Store>,
        tls: Arc<rustls::ServerConfig>,
        suppression_key: Secret,
        clock: Arc<dyn Clock>,
    ) -> Result<ServerState> {
        let suppression_key_bytes = hex::decode(suppression_key.expose().trim())
            .map_err(|_| ServerError::Invalid("the suppression key is not hex".into()))?;
        Ok(ServerState(Arc::new(Inner {
            store,
            clock,
            tls,
            suppression_key,
            suppression_key_bytes,
            token_ttl: Duration::days(DEFAULT_TOKEN_TTL_DAYS),
            public_url: None,
            changes: Notify::new(),
            protocol_version: switchboard_protocol::PROTOCOL_VERSION,
            live: Arc::default(),
            delivery: crate::delivery_cache::DeliveryCache::from_env()?,
        })))
    }

    /// State for a loaded data folder, opening its store.
    pub fn from_deployment(deployment: &Deployment, clock: Arc<dyn Clock>) -> Result<ServerState> {
        let state = ServerState::new(
            store::open_with_db_key(
                &deployment.store_url,
                deployment.keyring.clone(),
                deployment.db_key.as_ref(),
            )?,
            tls::server_config(&deployment.cert_pem, &deployment.key_pem)?,
            deployment.suppression_key.clone(),
            clock,
        )?
        .with_public_url(deployment.public_url.clone());
        if state.store.kind() == "postgres" {
            crate::live::connect_postgres(&state.live, &deployment.store_url);
        }
        Ok(state)
    }

    /// The same state with another token lifetime (before the state is shared).
    pub fn with_token_ttl(mut self, ttl: Duration) -> ServerState {
        if let Some(inner) = Arc::get_mut(&mut self.0) {
            inner.token_ttl = ttl;
        }
        self
    }

    /// The same state with a public URL (before the state is shared).
    pub fn with_public_url(mut self, url: Option<String>) -> ServerState {
        if let Some(inner) = Arc::get_mut(&mut self.0) {
            inner.public_url = url;
        }
        self
    }

    /// The same state speaking another protocol version (before the state is shared): a server
    /// of a newer or older release, for tests of the clients that meet one.
    pub fn speaking(mut self, version: u32) -> ServerState {
        if let Some(inner) = Arc::get_mut(&mut self.0) {
            inner.protocol_version = version;
        }
        self
    }

    /// Runs blocking store work off the async threads.
    pub async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&ServerState) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let state = self.clone();
        tokio::task::spawn_blocking(move || f(&state))
            .await
            .map_err(|e| ServerError::Internal(format!("worker failed: {e}")))?
    }
}

impl std::ops::Deref for ServerState {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        &self.0
    }
}
