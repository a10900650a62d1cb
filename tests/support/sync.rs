//! Fixtures for the sync tests: a real central store (HTTPS on 127.0.0.1:0, pinned certificate)
//! with two offices and their users, replicas in temporary folders that log in and sync through
//! the real engine, a TCP proxy that cuts connections, and snapshots to compare replicas.
#![allow(dead_code)] // Each test file uses a different part of the fixtures.

use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::{RngExt, SeedableRng};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use switchboard_core::clock::new_id;
use switchboard_core::leads::{self, LeadField, NewLead};
use switchboard_core::protocol::{Channel, ConsentScope, Direction, Outcome, Role};
use switchboard_core::{consent, erase, followup, replica, DatabaseKey, FixedClock, Store};
use switchboard_sync::{engine, Client, Secret, SyncReport, TrustAnchor};
use switchboard_test_support::{TestOptions, TestServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Every test user's password.
pub const PASSWORD: &str = "correct horse battery staple";

/// Replicas start on a Monday, 10:00 in Berlin and Paris (inside calling hours).
pub fn monday() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}

/// The central store with offices BER (DE) and PAR (FR), routes for both countries, and users:
/// `rita` (rep, BER), `mona` (manager, BER), `paul` (rep, PAR), `ada` (admin, all offices).
pub struct Hub {
    pub server: TestServer,
}

impl Hub {
    /// Starts a fresh server.
    pub async fn start() -> Hub {
        let server = TestServer::start(TestOptions::default()).await.unwrap();
        Hub::populate(&server).await;
        Hub { server }
    }

    /// A fresh server started with `options` (a PostgreSQL store, for one), populated as `start`.
    pub async fn start_with(options: TestOptions) -> Hub {
        let server = TestServer::start(options).await.unwrap();
        Hub::populate(&server).await;
        Hub { server }
    }

    /// A fresh server on `clock` (tests that move the server's time by hand).
    pub async fn start_with_clock(clock: Arc<dyn switchboard_core::Clock>) -> Hub {
        let server = TestServer::start(TestOptions {
            clock,
            ..TestOptions::default()
        })
        .await
        .unwrap();
        Hub::populate(&server).await;
        Hub { server }
    }

    async fn populate(server: &TestServer) {
        server.add_office("BER", "DE").await.unwrap();
        server.add_office("PAR", "FR").await.unwrap();
        server.add_route("DE", "BER").await.unwrap();
        server.add_route("FR", "PAR").await.unwrap();
        for (name, role, office) in [
            ("rita", Role::Rep, Some("BER")),
            ("mona", Role::Manager, Some("BER")),
            ("paul", Role::Rep, Some("PAR")),
            ("ada", Role::Admin, None),
        ] {
            server.add_user(name, role, office, PASSWORD).await.unwrap();
        }
    }

    /// A replica of `user` that logged in directly against the server.
    pub async fn replica(&self, user: &str) -> Replica {
        Replica::login(&self.server.url, &self.server.fingerprint, user).await
    }

    /// A replica file at `path`, encrypted with the test key, that `user` signed in to and that
    /// never synced (for a `switchboard` process to sync); returns the sign-in's token.
    pub async fn signed_in_file(&self, path: &Path, user: &str) -> Secret {
        let key = DatabaseKey::from_hex(switchboard_test_support::test_db_key_hex())
            .expect("64 hex digits");
        let mut store =
            Store::open_with_clock(path, Some(&key), Arc::new(FixedClock::at(monday()))).unwrap();
        let anchor = TrustAnchor::fingerprint(&self.server.fingerprint).unwrap();
        engine::login(
            &mut store,
            &self.server.url,
            &anchor,
            None,
            user,
            &Secret::new(PASSWORD),
        )
        .await
        .unwrap()
        .token
    }

    /// The server's data folder (its database files are scanned after erasures).
    pub fn data_dir(&self) -> &Path {
        &self.server.data_dir
    }

    /// Submits a registration through the website intake; returns the JSON answer.
    pub async fn intake(&self, body: serde_json::Value) -> serde_json::Value {
        let key = self.server.intake_key().await.unwrap();
        let response = self
            .server
            .http()
            .post(format!("{}/v1/registrations", self.server.url))
            .bearer_auth(key.expose())
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert!(status.is_success(), "intake answered {status}: {text}");
        serde_json::from_str(&text).unwrap()
    }

    /// How many rows a table of the server's store holds (SQLite store only).
    pub fn server_count(&self, sql: &str) -> i64 {
        let db = find_sqlite(self.data_dir()).expect("the server keeps a SQLite database");
        let conn =
            rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .unwrap();
        conn.query_row(sql, [], |r| r.get(0)).unwrap()
    }
}

/// The first `*.db` file in a folder.
pub fn find_sqlite(dir: &Path) -> Option<PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|e| e == "db"))
}

/// One laptop: a database file in its own folder, logged in as one user.
pub struct Replica {
    pub store: Store,
    pub client: Client,
    pub token: Secret,
    pub user: String,
    pub path: PathBuf,
    pub clock: FixedClock,
    _dir: Option<tempfile::TempDir>,
}

impl Replica {
    /// Creates a replica database and logs in to `url`, trusting the pinned `fingerprint`.
    pub async fn login(url: &str, fingerprint: &str, user: &str) -> Replica {
        Replica::login_keyed(url, fingerprint, user, Some(&test_key())).await
    }

    /// As `login`, with the database encrypted under `key` (none: a plain SQLite file, for
    /// benchmarks that compare the two).
    pub async fn login_keyed(
        url: &str,
        fingerprint: &str,
        user: &str,
        key: Option<&DatabaseKey>,
    ) -> Replica {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("switchboard.db");
        let clock = FixedClock::at(monday());
        let mut store = Store::open_with_clock(&path, key, Arc::new(clock.clone())).unwrap();
        let anchor = TrustAnchor::fingerprint(fingerprint).unwrap();
        let answer = engine::login(&mut store, url, &anchor, None, user, &Secret::new(PASSWORD))
            .await
            .unwrap();
        let client = Client::new(url, &anchor).unwrap();
        Replica {
            store,
            client,
            token: answer.token,
            user: user.to_string(),
            path,
            clock,
            _dir: Some(dir),
        }
    }

    /// A replica over an existing database file that logged in elsewhere (another process).
    pub fn from_file(
        path: &Path,
        url: &str,
        fingerprint: &str,
        user: &str,
        token: Secret,
    ) -> Replica {
        Replica::from_file_keyed(path, url, fingerprint, user, token, &test_key())
    }

    /// As `from_file`, for a file encrypted under `key` (another test process's key).
    pub fn from_file_keyed(
        path: &Path,
        url: &str,
        fingerprint: &str,
        user: &str,
        token: Secret,
        key: &DatabaseKey,
    ) -> Replica {
        let clock = FixedClock::at(monday());
        let anchor = TrustAnchor::fingerprint(fingerprint).unwrap();
        Replica {
            store: Store::open_with_clock(path, Some(key), Arc::new(clock.clone())).unwrap(),
            client: Client::new(url, &anchor).unwrap(),
            token,
            user: user.to_string(),
            path: path.to_path_buf(),
            clock,
            _dir: None,
        }
    }

    /// Points the replica at another address of the server (a proxy, a restarted instance).
    pub fn reconnect(&mut self, url: &str, fingerprint: &str) {
        let anchor = TrustAnchor::fingerprint(fingerprint).unwrap();
        self.client = Client::new(url, &anchor).unwrap();
    }

    /// One sync; panics on failure.
    pub async fn sync(&mut self) -> SyncReport {
        let user = self.user.clone();
        self.try_sync()
            .await
            .unwrap_or_else(|e| panic!("{user}'s sync failed: {e}"))
    }

    /// One sync.
    pub async fn try_sync(&mut self) -> switchboard_sync::Result<SyncReport> {
        engine::sync_once(&mut self.store, &self.client, &self.token, &mut |_| {}).await
    }

    /// The office this replica's user belongs to.
    pub fn office(&self) -> Option<String> {
        replica::state(self.store.conn()).unwrap().office
    }

    fn tick(&self) -> DateTime<Utc> {
        self.clock.advance(Duration::seconds(7));
        self.clock.now_utc()
    }

    /// Creates a lead in this replica's office (or `office` for an admin).
    pub fn add_lead(&mut self, name: &str, email: &str, phone: &str, country: &str) -> String {
        let at = self.tick();
        let id = new_id(at);
        let office = self
            .office()
            .or_else(|| Some(if country == "FR" { "PAR" } else { "BER" }.to_string()));
        let zone = if country == "FR" {
            "Europe/Paris"
        } else {
            "Europe/Berlin"
        };
        let lead = NewLead {
            office,
            name: Some(name.into()),
            company: Some("Acme".into()),
            email: Some(email.into()),
            phone: Some(phone.into()),
            country: Some(country.into()),
            time_zone: Some(zone.into()),
            owner: None,
            address: None,
            last_registered_at: Some(at),
        };
        self.store
            .with_tx(|tx| leads::insert(tx, &id, &lead, at))
            .unwrap();
        id
    }

    /// `count` German leads ("{who} Person N", emails "{who}N@example.com", phones from
    /// +4930 `first_phone`), each called once: eight changes a lead (six field groups, its
    /// audit entry and the call). The clock is set back to Monday 10:00 before each, so the
    /// calls stay inside calling hours however many there are.
    pub fn add_called_leads(&mut self, count: usize, who: &str, first_phone: usize) {
        for i in 0..count {
            self.clock.set(monday());
            let lead = self.add_lead(
                &format!("{who} Person {i}"),
                &format!("{}{i}@example.com", who.to_lowercase()),
                &format!("+4930{:07}", first_phone + i),
                "DE",
            );
            self.call(&lead, "first call");
        }
    }

    /// Logs an outbound phone call; returns the follow-up's id.
    pub fn call(&mut self, lead_id: &str, note: &str) -> String {
        let at = self.tick();
        let input = followup::LogFollowUp {
            lead: lead_id.to_string(),
            channel: Channel::Phone,
            direction: Direction::Out,
            outcome: Outcome::NoAnswer,
            note: Some(note.to_string()),
            occurred_at: at,
            rep: self.user.clone(),
            next_follow_up_at: None,
        };
        self.store
            .with_tx(|tx| followup::log(tx, &input, at))
            .unwrap_or_else(|e| panic!("{} could not log a call: {e}", self.user))
            .id
    }

    /// Records an opt-out.
    pub fn opt_out(&mut self, lead_id: &str, scope: ConsentScope) {
        let at = self.tick();
        let user = self.user.clone();
        self.store
            .with_tx(|tx| consent::opt_out(tx, lead_id, scope, "phone call", None, &user, at))
            .unwrap();
    }

    /// Records an opt-in that lifts the opt-outs this replica has seen.
    pub fn opt_in(&mut self, lead_id: &str, scope: ConsentScope) {
        let at = self.tick();
        let user = self.user.clone();
        self.store
            .with_tx(|tx| consent::opt_in(tx, lead_id, scope, "web form", None, &user, at))
            .unwrap();
    }

    /// Changes a lead's name (a correction).
    pub fn rename(&mut self, lead_id: &str, name: &str) {
        let at = self.tick();
        let user = self.user.clone();
        self.store
            .with_tx(|tx| {
                leads::set_fields(
                    tx,
                    lead_id,
                    &[(LeadField::Name, Some(name.to_string()))],
                    &user,
                    "correct",
                    at,
                )
            })
            .unwrap();
    }

    /// Erases a person.
    pub fn erase(&mut self, lead_id: &str) {
        self.try_erase(lead_id).unwrap();
    }

    /// Erases a lead as this replica's user, as the laptop answers (a rep is refused).
    pub fn try_erase(&mut self, lead_id: &str) -> switchboard_core::Result<()> {
        self.tick();
        let user = self.user.clone();
        erase::erase(&mut self.store, lead_id, &user).map(|_| ())
    }

    /// Whether the gate lets this replica call the lead now.
    pub fn may_call(&self, lead_id: &str) -> bool {
        let lead = leads::get(self.store.conn(), lead_id).unwrap();
        switchboard_core::gate::check(
            self.store.conn(),
            &lead,
            Channel::Phone,
            self.clock.now_utc(),
        )
        .unwrap()
        .is_allowed()
    }

    /// Ids of every follow-up, sorted.
    pub fn follow_up_ids(&self) -> Vec<String> {
        strings(&self.store, "SELECT id FROM follow_up ORDER BY id")
    }

    /// Everything the replica holds that must agree across replicas, as sorted text rows.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            leads: strings(
                &self.store,
                "SELECT id || '|' || coalesce(office,'') || '|' || coalesce(name,'') || '|' ||
                        coalesce(company,'') || '|' || coalesce(email,'') || '|' ||
                        coalesce(phone,'') || '|' || coalesce(country,'') || '|' || status ||
                        '|' || attempts
                 FROM lead ORDER BY id",
            ),
            follow_ups: strings(
                &self.store,
                "SELECT id || '|' || lead_id || '|' || outcome || '|' || coalesce(note,'')
                 FROM follow_up ORDER BY id",
            ),
            consent: strings(
                &self.store,
                "SELECT id || '|' || lead_id || '|' || scope || '|' || action FROM consent_event
                 ORDER BY id",
            ),
            erased: self.erased_leads(),
        }
    }

    /// Every column of every erased lead, as `column=value` text (SQL `quote`), sorted by id:
    /// an erased skeleton must be the same on every replica, whenever it heard of the erasure.
    pub fn erased_leads(&self) -> Vec<String> {
        let columns = strings(
            &self.store,
            "SELECT name FROM pragma_table_info('lead') ORDER BY cid",
        );
        let row = columns
            .iter()
            .map(|c| format!("'{c}=' || quote(\"{c}\")"))
            .collect::<Vec<_>>()
            .join(" || '|' || ");
        strings(
            &self.store,
            &format!("SELECT {row} FROM lead WHERE status = 'erased' ORDER BY id"),
        )
    }

    /// `PRAGMA integrity_check` of the replica's file.
    pub fn integrity(&self) -> String {
        self.store
            .conn()
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap()
    }

    /// A count query on the replica.
    pub fn count(&self, sql: &str) -> i64 {
        self.store.conn().query_row(sql, [], |r| r.get(0)).unwrap()
    }
}

/// The replicated state of one replica, comparable with another's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub leads: Vec<String>,
    pub follow_ups: Vec<String>,
    pub consent: Vec<String>,
    /// Erased leads, whole rows (`Replica::erased_leads`).
    pub erased: Vec<String>,
}

fn strings(store: &Store, sql: &str) -> Vec<String> {
    store
        .conn()
        .prepare(sql)
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

/// Reads "now" from a fixed clock without the `Clock` trait in scope at every call site.
pub trait NowUtc {
    fn now_utc(&self) -> DateTime<Utc>;
}

impl NowUtc for FixedClock {
    fn now_utc(&self) -> DateTime<Utc> {
        switchboard_core::Clock::now(self)
    }
}

/// Files (database, WAL, shared memory, anything else) under `dir` that contain `needle`.
pub fn files_containing(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                let lower = needle.to_lowercase();
                if bytes
                    .windows(needle.len())
                    .any(|w| w == needle.as_bytes() || w == lower.as_bytes())
                {
                    hits.push(path);
                }
            }
        }
    }
    hits
}

/// A TCP proxy in front of the server that, while cutting is on, closes each connection after a
/// random number of bytes in a random direction: pushes and pulls break at arbitrary points,
/// mid-request and mid-answer.
pub struct CuttingProxy {
    pub addr: SocketAddr,
    pub cuts: Arc<AtomicU64>,
    pub cutting: Arc<AtomicBool>,
    target: Arc<Mutex<SocketAddr>>,
    task: tokio::task::JoinHandle<()>,
}

impl CuttingProxy {
    /// Starts a proxy to `target`; `seed` makes the cut points reproducible.
    pub async fn start(target: SocketAddr, seed: u64) -> CuttingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let cuts = Arc::new(AtomicU64::new(0));
        let cutting = Arc::new(AtomicBool::new(true));
        let target = Arc::new(Mutex::new(target));
        let rng = Arc::new(Mutex::new(rand::rngs::StdRng::seed_from_u64(seed)));
        let (c, on, t) = (cuts.clone(), cutting.clone(), target.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((inbound, _)) = listener.accept().await else {
                    return;
                };
                let to = *t.lock().unwrap();
                // Cut after 0..20 KB: inside the TLS handshake, a push body or a pull page; a
                // connection rarely outlives a few syncs, so both directions break often.
                let limit = if on.load(Ordering::SeqCst) {
                    Some(rng.lock().unwrap().random_range(0..20_000u64))
                } else {
                    None
                };
                let cuts = c.clone();
                tokio::spawn(async move {
                    let Ok(outbound) = TcpStream::connect(to).await else {
                        return;
                    };
                    if relay(inbound, outbound, limit).await {
                        cuts.fetch_add(1, Ordering::SeqCst);
                    }
                });
            }
        });
        CuttingProxy {
            addr,
            cuts,
            cutting,
            target,
            task,
        }
    }

    /// `https://127.0.0.1:PORT` of the proxy.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// Sends new connections to another server address (after a restart).
    pub fn retarget(&self, target: SocketAddr) {
        *self.target.lock().unwrap() = target;
    }

    /// How many connections were cut so far.
    pub fn cut_count(&self) -> u64 {
        self.cuts.load(Ordering::SeqCst)
    }
}

impl Drop for CuttingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Copies bytes both ways; with a limit, drops both sides once that many bytes have passed in
/// total. Returns whether the connection was cut.
async fn relay(mut a: TcpStream, mut b: TcpStream, limit: Option<u64>) -> bool {
    let (mut ar, mut aw) = a.split();
    let (mut br, mut bw) = b.split();
    let passed = AtomicU64::new(0);
    let budget = limit.unwrap_or(u64::MAX);
    let cut = tokio::select! {
        c = pump(&mut ar, &mut bw, &passed, budget) => c,
        c = pump(&mut br, &mut aw, &passed, budget) => c,
    };
    cut && limit.is_some()
}

async fn pump(
    r: &mut tokio::net::tcp::ReadHalf<'_>,
    w: &mut tokio::net::tcp::WriteHalf<'_>,
    passed: &AtomicU64,
    budget: u64,
) -> bool {
    let mut buf = vec![0u8; 8192];
    loop {
        let n = match r.read(&mut buf).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => n,
        };
        let before = passed.fetch_add(n as u64, Ordering::SeqCst);
        if before + n as u64 > budget {
            let keep = budget.saturating_sub(before) as usize;
            let _ = w.write_all(&buf[..keep]).await;
            return true;
        }
        if w.write_all(&buf[..n]).await.is_err() {
            return false;
        }
    }
}

/// The key the in-process replicas are encrypted with: the test process's one key, which the
/// binaries get through their key file too.
pub fn test_key() -> DatabaseKey {
    DatabaseKey::from_hex(switchboard_test_support::test_db_key_hex()).expect("64 hex digits")
}
