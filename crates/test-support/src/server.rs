//! Starting a real server (HTTPS on 127.0.0.1:0, a fresh data folder) from tests of this and
//! other crates, plus a small API client that trusts it by pinned fingerprint.
//!
//! ```no_run
//! # async fn demo() -> switchboard_server::Result<()> {
//! use switchboard_test_support::server::{TestOptions, TestServer};
//! let server = TestServer::start(TestOptions::default()).await?;
//! server.add_office("BER", "DE").await?;
//! server.add_user("rita", switchboard_protocol::Role::Rep, Some("BER"), "pw").await?;
//! let api = server.login("rita", "pw").await?;
//! let page = api.pull(0, 100, 0).await?;
//! server.stop().await;
//! # Ok(()) }
//! ```

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use switchboard_domain::{Clock, SystemClock};
use switchboard_protocol::*;
use switchboard_server::accounts::{self, PasswordCost};
use switchboard_server::admin;
use switchboard_server::data_dir::{self, InitOptions};
use switchboard_server::error::{Result, ServerError};
use switchboard_server::state::ServerState;
use switchboard_server::store::{self, Store, Tx};
use switchboard_server::tls;
use tokio::task::JoinHandle;

/// Environment variable naming a PostgreSQL server for the PostgreSQL half of the tests.
pub const PG_URL_VAR: &str = "SWITCHBOARD_TEST_PG_URL";

/// How to start a test server.
#[derive(Clone)]
pub struct TestOptions {
    /// A `postgres://` URL; SQLite in the data folder when none.
    pub store: Option<String>,
    pub clock: Arc<dyn Clock>,
    pub token_ttl: Option<chrono::Duration>,
    /// Reuse this data folder (e.g. a second instance, or a restart); a fresh one when none.
    pub data_dir: Option<PathBuf>,
    /// Serve the server's own `https://127.0.0.1:PORT` as its public URL (unsubscribe links
    /// start with it; replicas get an unsubscribe key at sign-in). On by default.
    pub public_url: bool,
}

impl Default for TestOptions {
    fn default() -> Self {
        TestOptions {
            store: None,
            clock: Arc::new(SystemClock),
            token_ttl: None,
            data_dir: None,
            public_url: true,
        }
    }
}

/// A running server on 127.0.0.1 with a self-signed certificate.
pub struct TestServer {
    pub addr: SocketAddr,
    /// `https://127.0.0.1:PORT`.
    pub url: String,
    /// SHA-256 fingerprint of the server's certificate (`AB:CD:…`).
    pub fingerprint: String,
    /// The certificate, for clients that trust a CA file instead of a pin.
    pub cert_pem: String,
    pub data_dir: PathBuf,
    pub state: ServerState,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<()>>>,
    _temp: Option<Arc<tempfile::TempDir>>,
}

impl TestServer {
    /// Starts a server: a new data folder (`switchboard-server init`) unless one is given.
    pub async fn start(options: TestOptions) -> Result<TestServer> {
        let (temp, dir) = match &options.data_dir {
            Some(d) => (None, d.clone()),
            None => {
                let t = tempfile::tempdir()?;
                let d = t.path().join("server");
                (Some(Arc::new(t)), d)
            }
        };
        let init = InitOptions {
            store: options.store.clone(),
            ..InitOptions::default()
        };
        let dir2 = dir.clone();
        let clock = options.clock.clone();
        let state = tokio::task::spawn_blocking(move || -> Result<ServerState> {
            if !dir2.join("server.json").exists() {
                data_dir::init(&dir2, &init)?;
            }
            let deployment = data_dir::load(&dir2)?;
            ServerState::from_deployment(&deployment, clock)
        })
        .await
        .map_err(|e| ServerError::Internal(e.to_string()))??;
        let state = match options.token_ttl {
            Some(ttl) => state.with_token_ttl(ttl),
            None => state,
        };
        let deployment = data_dir::load(&dir)?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let state = if options.public_url {
            state.with_public_url(Some(format!("https://{addr}")))
        } else {
            state
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(switchboard_server::serve(listener, state.clone(), async {
            let _ = stopped.await;
        }));
        Ok(TestServer {
            addr,
            url: format!("https://{addr}"),
            fingerprint: deployment.fingerprint,
            cert_pem: deployment.cert_pem,
            data_dir: dir,
            state,
            stop: Some(stop),
            task: Some(task),
            _temp: temp,
        })
    }

    /// Starts another server over the same data folder (and store): a second instance, or
    /// a restart after `stop`.
    pub async fn start_sibling(&self, clock: Arc<dyn Clock>) -> Result<TestServer> {
        let mut sibling = TestServer::start(TestOptions {
            store: None,
            clock,
            token_ttl: None,
            data_dir: Some(self.data_dir.clone()),
            public_url: true,
        })
        .await?;
        sibling._temp = self._temp.clone();
        Ok(sibling)
    }

    /// Stops serving and waits for the accept loop to end.
    pub async fn stop(mut self) {
        self.shutdown().await;
    }

    async fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    /// The store under the server.
    pub fn store(&self) -> Arc<dyn Store> {
        self.state.store.clone()
    }

    /// Runs `f` in a write transaction of the server's store (off the async threads).
    pub async fn admin<T: Send + 'static>(
        &self,
        f: impl FnMut(&mut dyn Tx) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let store = self.store();
        tokio::task::spawn_blocking(move || store::write(&*store, f))
            .await
            .map_err(|e| ServerError::Internal(e.to_string()))?
    }

    /// Runs `f` in a read transaction of the server's store.
    pub async fn inspect<T: Send + 'static>(
        &self,
        f: impl FnMut(&mut dyn Tx) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let store = self.store();
        tokio::task::spawn_blocking(move || store::read(&*store, f))
            .await
            .map_err(|e| ServerError::Internal(e.to_string()))?
    }

    /// `office add CODE --country CC` (named after its code).
    pub async fn add_office(&self, code: &str, country: &str) -> Result<()> {
        let (code, country) = (code.to_string(), country.to_string());
        self.admin(move |tx| admin::add_office(tx, &code, &code, &country))
            .await
    }

    /// `route add COUNTRY OFFICE`.
    pub async fn add_route(&self, country: &str, office: &str) -> Result<()> {
        let (country, office) = (country.to_string(), office.to_string());
        self.admin(move |tx| admin::add_route(tx, &country, &office))
            .await
    }

    /// `user add` with a cheap password hash.
    pub async fn add_user(
        &self,
        name: &str,
        role: Role,
        office: Option<&str>,
        password: &str,
    ) -> Result<()> {
        let hash = accounts::hash_password(password, PasswordCost::Fast)?;
        let (name, office) = (name.to_string(), office.map(str::to_string));
        let now = self.state.clock.now();
        self.admin(move |tx| accounts::add_user(tx, &name, role, office.as_deref(), &hash, now))
            .await
    }

    /// `user revoke`.
    pub async fn revoke_user(&self, name: &str) -> Result<()> {
        let name = name.to_string();
        let now = self.state.clock.now();
        self.admin(move |tx| accounts::revoke_user(tx, &name, now))
            .await
    }

    /// `intake-key create`.
    pub async fn intake_key(&self) -> Result<Secret> {
        let now = self.state.clock.now();
        self.admin(move |tx| accounts::create_intake_key(tx, now))
            .await
    }

    /// An HTTP client that trusts this server by its pinned fingerprint.
    pub fn http(&self) -> reqwest::Client {
        pinned_http(&self.fingerprint)
    }

    /// Logs in over HTTPS.
    pub async fn login(&self, user: &str, password: &str) -> Result<ApiClient> {
        ApiClient::login(self.http(), &self.url, user, password).await
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// An HTTP client that trusts exactly the certificate with `fingerprint`.
pub fn pinned_http(fingerprint: &str) -> reqwest::Client {
    let config = tls::pinned_client_config(fingerprint).expect("a valid fingerprint");
    reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .expect("an HTTP client")
}

/// A logged-in API client (one replica's view of the server).
#[derive(Clone, Debug)]
pub struct ApiClient {
    pub http: reqwest::Client,
    pub base: String,
    pub token: Secret,
    pub login: LoginResponse,
}

fn http_err(e: reqwest::Error) -> ServerError {
    ServerError::Internal(format!("http: {e}"))
}

async fn decode<T: serde::de::DeserializeOwned>(response: reqwest::Response) -> Result<T> {
    let status = response.status();
    let text = response.text().await.map_err(http_err)?;
    if !status.is_success() {
        return Err(ServerError::Internal(format!("HTTP {status}: {text}")));
    }
    Ok(serde_json::from_str(&text)?)
}

impl ApiClient {
    /// Logs in at `base`.
    pub async fn login(
        http: reqwest::Client,
        base: &str,
        user: &str,
        password: &str,
    ) -> Result<ApiClient> {
        let response = http
            .post(format!("{base}/v1/login"))
            .json(&LoginRequest::new(user, Secret::new(password)))
            .send()
            .await
            .map_err(http_err)?;
        let login: LoginResponse = decode(response).await?;
        Ok(ApiClient {
            http,
            base: base.to_string(),
            token: login.token.clone(),
            login,
        })
    }

    /// The same account against another instance (same token, another base URL).
    pub fn against(&self, http: reqwest::Client, base: &str) -> ApiClient {
        ApiClient {
            http,
            base: base.to_string(),
            ..self.clone()
        }
    }

    /// `POST /v1/push`.
    pub async fn push(&self, replica_id: &str, ops: Vec<PushOp>) -> Result<PushResponse> {
        let response = self
            .http
            .post(format!("{}/v1/push", self.base))
            .bearer_auth(self.token.expose())
            .json(&PushRequest {
                replica_id: replica_id.into(),
                ops,
            })
            .send()
            .await
            .map_err(http_err)?;
        decode(response).await
    }

    /// `GET /v1/changes`.
    pub async fn pull(&self, after: i64, limit: u32, wait: u32) -> Result<ChangesPage> {
        let response = self
            .http
            .get(format!(
                "{}/v1/changes?after={after}&limit={limit}&wait={wait}",
                self.base
            ))
            .bearer_auth(self.token.expose())
            .send()
            .await
            .map_err(http_err)?;
        decode(response).await
    }

    /// Pulls every page after `after`; returns the changes and the final cursor.
    pub async fn pull_all(&self, mut after: i64) -> Result<(Vec<Change>, i64)> {
        let mut all = Vec::new();
        loop {
            let page = self.pull(after, MAX_PAGE, 0).await?;
            after = page.next_cursor;
            all.extend(page.changes);
            if !page.has_more {
                return Ok((all, after));
            }
        }
    }
}

/// A fresh PostgreSQL schema on the test server named by `SWITCHBOARD_TEST_PG_URL`, as a URL
/// whose connections use it; `None` (after a loud notice) when the variable is unset. Fails
/// when `CI` is set and the variable is not: CI must run both backends.
pub async fn fresh_pg_url(test: &str) -> Option<String> {
    let Ok(base) = std::env::var(PG_URL_VAR) else {
        if std::env::var_os("CI").is_some() {
            panic!("{PG_URL_VAR} is not set but CI is: the PostgreSQL tests must run in CI");
        }
        eprintln!("\n*** SKIPPED (PostgreSQL half of {test}): set {PG_URL_VAR} to run it ***\n");
        return None;
    };
    let schema = format!("sb_{}", uuid::Uuid::new_v4().simple());
    let url = base.clone();
    let name = schema.clone();
    tokio::task::spawn_blocking(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls)
            .unwrap_or_else(|e| panic!("{PG_URL_VAR}={url}: {e}"));
        client
            .batch_execute(&format!("CREATE SCHEMA {name}"))
            .expect("creating a test schema");
    })
    .await
    .expect("creating a test schema");
    let separator = if base.contains('?') { '&' } else { '?' };
    Some(format!("{base}{separator}options=-csearch_path%3D{schema}"))
}

/// The address in the line `switchboard-server serve` prints once it listens
/// (`switchboard-server: serving URL …`), so tests that start the real binary on port 0 find it.
pub fn served_address(line: &str) -> Option<String> {
    let rest = line.trim().strip_prefix("switchboard-server: serving ")?;
    rest.split_whitespace().next().map(str::to_string)
}

/// Reads the real server's stderr until it announces its address (within its first 10 lines).
pub fn read_served_address(stderr: &mut impl std::io::BufRead) -> Option<String> {
    for _ in 0..10 {
        let mut line = String::new();
        if stderr.read_line(&mut line).ok()? == 0 {
            return None;
        }
        if let Some(address) = served_address(&line) {
            return Some(address);
        }
    }
    None
}
