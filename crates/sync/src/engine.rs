//! One sync: push the outbox in batches, then pull pages until the server has nothing newer.
//! `watch` keeps doing that, holding the server's live stream so remote changes arrive at once
//! and watching the file so local ones leave within milliseconds.

use crate::client::{Client, Own};
use crate::error::{Result, SyncError};
use crate::tls::TrustAnchor;
use serde::Serialize;
use std::time::Duration;
use switchboard_core::replica::{self, identity, materialize, IdentityCheck, ServerLogin};
use switchboard_core::store::{get_setting, set_setting};
use switchboard_core::Store;
use switchboard_protocol::{
    LoginRequest, LoginResponse, PushRequest, PushStatus, Secret, MAX_PAGE,
};

/// What one push holds at most: `limits::PUSH_BATCH_BYTES` of operations (a quarter of the
/// server's body limit) and the server's 1,000 operations.
pub fn push_limits() -> materialize::BatchLimits {
    materialize::BatchLimits::default()
}

mod page_writer;
use page_writer::PageWriter;
pub use page_writer::{BULK_BATCH, BULK_PAGE_WAIT, REPORT_EVERY};

/// How long a `watch` long-poll waits for the server.
const WATCH_WAIT_SECS: u32 = 25;

/// `SWITCHBOARD_LIVE=off` makes `watch` poll as before protocol 4 (a long-poll, local commits
/// looked for every `POLL_TICK`): for networks whose proxies hold event streams back, and for
/// the polling baseline of `tests/bench/live_bench.rs`.
pub const LIVE_VAR: &str = "SWITCHBOARD_LIVE";

/// `SWITCHBOARD_FIRST_SYNC=replay` makes a fresh replica's first pull keep every index up to
/// date row by row, as before issue 14: the baseline of `tests/bench/sync_bench.rs`.
pub const FIRST_SYNC_VAR: &str = "SWITCHBOARD_FIRST_SYNC";

/// Whether a fresh replica's first pull loads in bulk (`FIRST_SYNC_VAR` is not `replay`).
fn bulk_first_sync() -> bool {
    std::env::var(FIRST_SYNC_VAR).map_or(true, |v| v.trim() != "replay")
}

/// How often a polling `watch` (`LIVE_VAR=off`) looks for local commits.
const POLL_TICK: Duration = Duration::from_millis(500);

/// How often `watch` looks for commits by other processes (the window, a CLI command) while it
/// waits: one read of SQLite's shared-memory header each time (see docs/BENCHMARKS.md).
const LOCAL_TICK: Duration = Duration::from_millis(15);

/// What one sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    pub replica_id: String,
    /// Why a new replica id was minted before pushing, if one was.
    pub new_replica_id: Option<String>,
    pub pushed: u64,
    pub applied: u64,
    pub duplicate: u64,
    pub rejected: u64,
    pub pages: u64,
    pub pulled: u64,
    pub erased: u64,
    pub revoked: u64,
    pub cursor: i64,
    /// This sync was the replica's first and loaded in bulk (`replica::bulk`).
    pub bulk_load: bool,
    /// Transactions the pulled pages were committed in (each writes the pages it dirtied
    /// into the WAL).
    pub commits: u64,
}

/// Progress of a sync, for the CLI's progress line and the desktop's status bar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Progress {
    /// A batch was pushed; `pending` entries remain.
    Pushed {
        ops: u64,
        rejected: u64,
        pending: i64,
    },
    /// Pulled changes were committed (one page, or several that arrived back to back); the
    /// cursor moved to `cursor`.
    Pulled {
        changes: u64,
        total: u64,
        cursor: i64,
        /// How many changes this sync brings in all, when known: estimated from how far the
        /// cursor has come towards the server's head (`ChangesPage::head_cursor`, protocol 4),
        /// exact once the last page is in; `None` from an older server.
        expected: Option<u64>,
    },
    /// `watch` finished a sync.
    Synced(SyncReport),
    /// `watch` hit an error and will retry.
    Retrying { error: String },
    /// `watch` opened (`true`) or lost (`false`) the server's live stream.
    Live { connected: bool },
}

/// The setting that keeps the device id the server gave this replica at its last sign-in.
const DEVICE_SETTING: &str = "device_id";

/// Setting holding every office the signed-in account works in, comma-separated (protocol 5:
/// a manager may manage several; empty when the server named none beyond `office`).
pub const OFFICES_SETTING: &str = "offices";

/// Logs in and records the server, the account, the deployment's suppression key and the
/// unsubscribe key of each office in the replica. Returns the server's answer (holding the token,
/// which the caller stores).
pub async fn login(
    store: &mut Store,
    server_url: &str,
    anchor: &TrustAnchor,
    ca_file: Option<&str>,
    user: &str,
    password: &Secret,
) -> Result<LoginResponse> {
    login_device(store, server_url, anchor, ca_file, user, password, None).await
}

/// `login` as a named device (`None`: the host name). The replica keeps the device id the
/// server answers and sends it at its next sign-in, so a laptop stays one device.
pub async fn login_device(
    store: &mut Store,
    server_url: &str,
    anchor: &TrustAnchor,
    ca_file: Option<&str>,
    user: &str,
    password: &Secret,
    device_name: Option<&str>,
) -> Result<LoginResponse> {
    let client = Client::new(server_url, anchor)?;
    let mut request = LoginRequest::new(user, password.clone());
    request.device_id = get_setting(store.conn(), DEVICE_SETTING)?;
    request.device_name = Some(device_name.map_or_else(host_name, str::to_string));
    request.app_version = Some(env!("CARGO_PKG_VERSION").to_string());
    let answer = client.login_as(&request).await?;
    let record = ServerLogin {
        server_url: client.base().to_string(),
        fingerprint: anchor.fingerprint_text(),
        ca_file: ca_file.map(str::to_string),
        user: answer.user.clone(),
        role: answer.role.as_str().to_string(),
        office: answer.office.clone(),
    };
    store.with_tx(|tx| {
        replica::record_login(tx, &record)?;
        // Every replica hashes erased addresses with the deployment's key, so a suppression
        // pulled from elsewhere recognises the person here too.
        set_setting(tx, "suppression_key", answer.suppression_key.expose())?;
        if let Some(device) = &answer.device_id {
            set_setting(tx, DEVICE_SETTING, device)?;
        }
        let offices = answer.offices.as_deref().unwrap_or_default().join(",");
        set_setting(tx, OFFICES_SETTING, &offices)?;
        // The office's key for unsubscribe links, so mail queued offline carries working ones;
        // a manager's key for each office (protocol 5), so every office's leads get one.
        switchboard_core::mail::unsubscribe::remember(tx, answer.unsubscribe.as_ref())?;
        switchboard_core::mail::unsubscribe::remember_offices(
            tx,
            answer.unsubscribe_keys.as_deref(),
        )
    })?;
    Ok(answer)
}

/// This computer's host name, the default name of its device ("this computer" if unknown).
pub fn host_name() -> String {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .chain(std::env::var("HOSTNAME").ok())
        .chain(std::env::var("COMPUTERNAME").ok())
        .map(|n| n.trim().to_string())
        .find(|n| !n.is_empty())
        .unwrap_or_else(|| "this computer".to_string())
}

/// The trust anchor recorded at login.
pub fn recorded_anchor(state: &replica::SyncState) -> Result<TrustAnchor> {
    if let Some(pin) = &state.fingerprint {
        return TrustAnchor::fingerprint(pin);
    }
    if let Some(ca) = &state.ca_file {
        return Ok(TrustAnchor::CaFile(ca.into()));
    }
    Ok(TrustAnchor::SystemRoots)
}

/// A client for the server recorded at login.
pub fn client_for(store: &Store) -> Result<Client> {
    let state = replica::state(store.conn())?;
    let url = state.server_url.clone().ok_or_else(|| {
        SyncError::NoToken(
            "this replica has no server yet: run `switchboard login --server URL --user NAME`"
                .into(),
        )
    })?;
    Client::new(&url, &recorded_anchor(&state)?)
}

/// Pushes the outbox and pulls every change, once. A failure leaves everything consistent: the
/// outbox keeps what was not acknowledged, and the cursor stands after the last whole page.
pub async fn sync_once(
    store: &mut Store,
    client: &Client,
    token: &Secret,
    progress: &mut dyn FnMut(Progress),
) -> Result<SyncReport> {
    let result = sync_inner(store, client, token, progress).await;
    let now = store.now();
    // With its code, so `status` tells a wrong certificate, a refused size and the network apart.
    let error = result.as_ref().err().map(|e| format!("[{}] {e}", e.code()));
    replica::record_sync(store.conn(), now, error.as_deref())?;
    result
}

async fn sync_inner(
    store: &mut Store,
    client: &Client,
    token: &Secret,
    progress: &mut dyn FnMut(Progress),
) -> Result<SyncReport> {
    let mut report = SyncReport::default();
    let check = identity::ensure_fresh(store)?;
    if let IdentityCheck::Minted { reason, .. } = &check {
        report.new_replica_id = Some(reason.to_string());
    }
    report.replica_id = check.replica_id().to_string();
    let mut pushed = push_all(store, client, token, &mut report, progress).await;
    if let Err(SyncError::ReplicaReused(_)) = pushed {
        // A restored copy whose sidecar came along: only the server can tell. A new id makes
        // every queued operation new to the server, which applies it idempotently (by record id
        // and clock), so nothing is lost or doubled. Once per sync: a fresh id cannot collide.
        let check = identity::force_new(store, identity::REUSED_ON_SERVER)?;
        report.new_replica_id = Some(identity::REUSED_ON_SERVER.to_string());
        report.replica_id = check.replica_id().to_string();
        pushed = push_all(store, client, token, &mut report, progress).await;
    }
    // A push that fails (the server or the network refuses it) must not keep other replicas'
    // opt-outs and erasures from arriving: pull anyway, then report the push's error. Only a
    // refused token stops both, since the pull would be refused too.
    if let Err(e) = &pushed {
        if e.is_refused_credential() {
            return Err(pushed.unwrap_err());
        }
    }
    let own = own(store)?;
    let mut pull = Pull {
        client,
        token,
        own: &own,
        report: &mut report,
        progress,
        role: None,
    };
    pull.all(store, 0).await?;
    pushed.map(|()| report)
}

async fn push_all(
    store: &mut Store,
    client: &Client,
    token: &Secret,
    report: &mut SyncReport,
    progress: &mut dyn FnMut(Progress),
) -> Result<()> {
    loop {
        let at = store.now();
        let batch = store.with_tx(|tx| materialize::pending_batch(tx, &push_limits(), at))?;
        report.rejected += batch.rejected;
        let ops = batch.ops;
        if ops.is_empty() {
            if batch.rejected > 0 {
                progress(Progress::Pushed {
                    ops: 0,
                    rejected: batch.rejected,
                    pending: materialize::pending_count(store.conn())?,
                });
            }
            return Ok(());
        }
        let through = ops
            .iter()
            .map(|(seq, _)| materialize::entry_of(*seq))
            .max()
            .unwrap_or(0);
        identity::note_pushing(store, through)?;
        let request = PushRequest::of_entries(report.replica_id.clone(), &ops);
        let response = client.push(token, &request).await?;
        if response.results.len() != ops.len() {
            return Err(SyncError::Server {
                status: 200,
                code: "bad_answer".into(),
                message: format!(
                    "pushed {} operations, got {} answers",
                    ops.len(),
                    response.results.len()
                ),
            });
        }
        let at = store.now();
        let summary = store.with_tx(|tx| materialize::ack(tx, &ops, &response.results, at))?;
        report.pushed += ops.len() as u64;
        report.applied += summary.applied;
        report.duplicate += summary.duplicate;
        report.rejected += summary.rejected;
        debug_assert!(response
            .results
            .iter()
            .all(|r| r.status != PushStatus::Rejected || r.reason.is_some() || r.code.is_some()));
        progress(Progress::Pushed {
            ops: ops.len() as u64,
            rejected: summary.rejected + batch.rejected,
            pending: materialize::pending_count(store.conn())?,
        });
    }
}

/// One pull: where its pages come from, and what it reports them to.
struct Pull<'a> {
    client: &'a Client,
    token: &'a Secret,
    /// This replica, whose own changes the server leaves out.
    own: &'a Own,
    report: &'a mut SyncReport,
    progress: &'a mut dyn FnMut(Progress),
    /// The account's role as the server last reported it.
    role: Option<switchboard_protocol::Role>,
}

impl Pull<'_> {
    /// Pulls pages until the server has nothing newer; the first request may long-poll. While
    /// one page is applied, the next ones are already being fetched and decoded (`Prefetch`:
    /// on a multi-threaded runtime, on another core), so a long first sync keeps both the
    /// network side and SQLite busy. The cursor still moves only with an applied page: a
    /// failure drops the prefetched pages.
    async fn all(&mut self, store: &mut Store, first_wait: u32) -> Result<()> {
        // Each page commits on its own, and SQLite checkpoints the WAL into the database (with
        // an fsync) whenever it passes `wal_autocheckpoint` pages: with the default 1,000 a long
        // pull checkpoints after nearly every page and rewrites the same index pages again and
        // again. A long pull lets the WAL grow further, then checkpoints and truncates it once
        // at the end.
        let before = replica::apply::widen_checkpoints(store.conn())?;
        // A fresh replica's first pull loads everything it will hold: it builds the indexes no
        // apply reads once at the end (`replica::bulk`). Any pull finishes a bulk load that an
        // earlier one (or a killed process) left, so a failed first sync ends with every index.
        // Its batches are as large as its page cache allows (`replica::bulk::CACHE_KIB`, given
        // back at its end).
        let (mut cache, mut load) = (None, None);
        if bulk_first_sync() {
            load = replica::bulk::begin(store.conn())?;
        }
        if load.is_some() {
            self.report.bulk_load = true;
            cache = Some(replica::bulk::widen_cache(store.conn())?);
        }
        let pages_before = self.report.pages;
        let result = self.pages(store, first_wait).await;
        let long = self.report.pages > pages_before + 1;
        let finished = match load {
            Some(load) => load.finish(store.conn()),
            None => replica::bulk::finish_if_pending(store.conn()),
        };
        let restored = cache.map_or(Ok(()), |c| replica::bulk::restore_cache(store.conn(), c));
        replica::apply::restore_checkpoints(store.conn(), before, long)?;
        finished?;
        restored?;
        if let Some(role) = self.role.take() {
            replica::record_role(store.conn(), role.as_str())?;
        }
        result
    }

    async fn pages(&mut self, store: &mut Store, first_wait: u32) -> Result<()> {
        let (client, token) = (self.client, self.token);
        let mut cursor = replica::state(store.conn())?.cursor;
        let mut next = Prefetch::start(client, token, self.own, cursor, first_wait);
        let bulk = self.report.bulk_load;
        let mut writer = PageWriter::new(store, cursor, self.report.pulled, bulk);
        loop {
            // Pages that arrive back to back share a transaction; it commits before the loop
            // waits for the network, so the replica's write lock is never held for a download.
            // A bulk first sync applies faster than pages arrive, so that rule committed after
            // nearly every page, and each commit writes every page the batch dirtied into the
            // WAL again (5–7× the final file was written): it waits up to `BULK_PAGE_WAIT` for
            // the next page with the batch open, and `BULK_BATCH` bounds the batch.
            let arrived = next.is_ready() || (bulk && next.arrives_within(BULK_PAGE_WAIT).await);
            if !arrived {
                writer.commit(self.report, self.progress)?;
            }
            let page = match next.page().await {
                Ok(page) => page,
                Err(e) => {
                    writer.commit(self.report, self.progress)?;
                    return Err(e);
                }
            };
            self.report.cursor = cursor;
            self.role = page.role.or(self.role);
            if page.changes.is_empty() && page.next_cursor <= cursor {
                return writer.commit(self.report, self.progress);
            }
            writer.apply(&page, self.report)?;
            cursor = page.next_cursor;
            if !page.has_more {
                writer.finished = true;
                return writer.commit(self.report, self.progress);
            }
            if bulk {
                writer.report_progress(self.report, self.progress);
            }
            if writer.due() {
                writer.commit(self.report, self.progress)?;
            }
        }
    }
}

/// This replica as its pulls name it (protocol 4): the server leaves out the changes it pushed.
fn own(store: &Store) -> Result<Own> {
    Ok(Own {
        replica: store.replica_id()?,
        through: identity::push_horizon(store.conn())?,
    })
}

/// Pages a pull's feed may hold fetched and decoded ahead of the one being applied. The server
/// answers the next request while the replica applies, instead of after each page reaches the
/// apply: a first sync's two halves (the server's page and its decode, the apply) each take
/// about as long per page, and with one page in flight each waited on the other.
const PAGES_AHEAD: usize = 2;

/// The pages of one pull, fetched one after the other by their own task, each request sent as
/// soon as the previous page arrived (its `next_cursor` is the next request's cursor), up to
/// `PAGES_AHEAD` waiting for the apply. It stops after the last page (`has_more` false, or a
/// page that moves nowhere) or a failed request, which it hands on in its place. Dropping it
/// cancels the request in flight and drops the pages not applied: the cursor moves only with
/// an applied page.
struct Prefetch {
    task: tokio::task::JoinHandle<()>,
    pages: tokio::sync::mpsc::Receiver<Result<switchboard_protocol::ChangesPage>>,
    /// The next page once `arrives_within` has awaited it.
    arrived: Option<Result<switchboard_protocol::ChangesPage>>,
}

impl Prefetch {
    /// The pages after `after`; the first request may long-poll for `wait` seconds.
    fn start(client: &Client, token: &Secret, own: &Own, after: i64, wait: u32) -> Prefetch {
        let (client, token, own) = (client.clone(), token.clone(), own.clone());
        let (sender, pages) = tokio::sync::mpsc::channel(PAGES_AHEAD);
        let task = tokio::spawn(async move {
            let (mut after, mut wait) = (after, wait);
            loop {
                let fetched = client
                    .pull_from(&token, Some(&own), after, MAX_PAGE, wait)
                    .await;
                let next = fetched.as_ref().ok().and_then(|page| {
                    let moves = !page.changes.is_empty() || page.next_cursor > after;
                    (page.has_more && moves).then_some(page.next_cursor)
                });
                if sender.send(fetched).await.is_err() {
                    return;
                }
                match next {
                    Some(cursor) => (after, wait) = (cursor, 0),
                    None => return,
                }
            }
        });
        Prefetch {
            task,
            pages,
            arrived: None,
        }
    }

    /// Whether the next page has arrived (or its request failed), so awaiting it will not wait.
    fn is_ready(&self) -> bool {
        self.arrived.is_some() || !self.pages.is_empty()
    }

    /// Waits up to `wait` for the next page; whether it arrived (or its request failed).
    async fn arrives_within(&mut self, wait: Duration) -> bool {
        if self.arrived.is_none() {
            if let Ok(received) = tokio::time::timeout(wait, self.pages.recv()).await {
                self.arrived = Some(Self::outcome(received));
            }
        }
        self.arrived.is_some()
    }

    async fn page(&mut self) -> Result<switchboard_protocol::ChangesPage> {
        match self.arrived.take() {
            Some(outcome) => outcome,
            None => Self::outcome(self.pages.recv().await),
        }
    }

    /// A feed that ended without a page (its task panicked, or was asked past its last page).
    fn outcome(
        received: Option<Result<switchboard_protocol::ChangesPage>>,
    ) -> Result<switchboard_protocol::ChangesPage> {
        received.unwrap_or_else(|| Err(SyncError::Network("the pull stopped".into())))
    }
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Syncs, then keeps syncing until `stop` resolves: remote changes are announced by the
/// server's live stream (`crate::live`; a long-poll where the server has none), local ones are
/// noticed within `LOCAL_TICK` of their commit by any process (SQLite's `data_version`).
/// Returns on an error that retrying cannot fix (a refused token); transient errors are
/// reported and retried after a pause.
pub async fn watch(
    store: &mut Store,
    client: &Client,
    token: &Secret,
    progress: &mut dyn FnMut(Progress),
    stop: impl std::future::Future<Output = ()>,
) -> Result<()> {
    tokio::pin!(stop);
    let live = std::env::var(LIVE_VAR).map_or(true, |v| v.trim() != "off");
    let mut remote = if live { Remote::Connect } else { Remote::Poll };
    let tick = if live { LOCAL_TICK } else { POLL_TICK };
    loop {
        // Read before the sync: what other processes commit from here on changes it, so a
        // write made while the sync ran (after its push) is not missed.
        let version = data_version(store)?;
        match sync_once(store, client, token, progress).await {
            Ok(report) => progress(Progress::Synced(report)),
            Err(e) if e.is_transient() => {
                progress(Progress::Retrying {
                    error: e.to_string(),
                });
                if matches!(remote, Remote::Live(_)) {
                    remote = Remote::Connect;
                }
                tokio::select! {
                    _ = &mut stop => return Ok(()),
                    _ = tokio::time::sleep(Duration::from_secs(2)) => continue,
                }
            }
            Err(e) => return Err(e),
        }
        let cursor = replica::state(store.conn())?.cursor;
        if matches!(remote, Remote::Connect) {
            remote = tokio::select! {
                _ = &mut stop => return Ok(()),
                opened = client.live(token, cursor) => match opened {
                    Ok(Some(stream)) => {
                        progress(Progress::Live { connected: true });
                        Remote::Live(stream)
                    }
                    Ok(None) => Remote::Poll,
                    Err(e) if e.is_transient() => {
                        Remote::Retry(tokio::time::Instant::now() + LIVE_RETRY)
                    }
                    Err(e) => return Err(e),
                },
            };
        }
        let waited = Waiting {
            cursor,
            version,
            tick,
        };
        if wait_for_work(
            store,
            client,
            token,
            progress,
            &mut stop,
            &mut remote,
            waited,
        )
        .await?
        {
            return Ok(());
        }
    }
}

/// How `watch` hears of remote changes.
enum Remote {
    /// Open the live stream after the next sync.
    Connect,
    /// The live stream is open.
    Live(crate::live::LiveStream),
    /// The server has no live stream (or refused another): long-poll.
    Poll,
    /// The live stream failed; long-poll until this instant, then connect again.
    Retry(tokio::time::Instant),
}

/// Where `wait_for_work` starts: the replica's cursor and SQLite's `data_version` as read
/// before the last sync.
struct Waiting {
    cursor: i64,
    version: i64,
    tick: Duration,
}

/// How long `watch` long-polls after the live stream failed before it connects again.
const LIVE_RETRY: Duration = Duration::from_secs(5);

/// Waits until there is something to sync: a live event, a long-polled page (applied here),
/// or a local commit that left work in the outbox. `true`: `stop` resolved.
async fn wait_for_work(
    store: &mut Store,
    client: &Client,
    token: &Secret,
    progress: &mut dyn FnMut(Progress),
    stop: &mut std::pin::Pin<&mut impl std::future::Future<Output = ()>>,
    remote: &mut Remote,
    Waiting {
        cursor,
        mut version,
        tick,
    }: Waiting,
) -> Result<bool> {
    let polling = !matches!(remote, Remote::Live(_));
    // Named like every other pull, so the long-poll too leaves this replica's own changes out.
    let own = own(store)?;
    let poll = async {
        if polling {
            client
                .pull_from(token, Some(&own), cursor, MAX_PAGE, WATCH_WAIT_SECS)
                .await
        } else {
            std::future::pending().await
        }
    };
    tokio::pin!(poll);
    let mut tick = tokio::time::interval(tick);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.as_mut() => return Ok(true),
            heard = next_event(remote) => match heard {
                Ok(crate::live::LiveEvent::Ready { .. }) => {}
                Ok(crate::live::LiveEvent::Change { .. }) => return Ok(false),
                Ok(crate::live::LiveEvent::Closed { .. }) => {
                    // The next pull hears why (a revoked device, a changed role); long-polling
                    // a while before reconnecting keeps a server that closes at once from
                    // being asked again and again.
                    *remote = Remote::Retry(tokio::time::Instant::now() + LIVE_RETRY);
                    return Ok(false);
                }
                Err(e) => {
                    progress(Progress::Live { connected: false });
                    progress(Progress::Retrying { error: e.to_string() });
                    *remote = Remote::Retry(tokio::time::Instant::now() + LIVE_RETRY);
                    return Ok(false);
                }
            },
            page = &mut poll => {
                match page {
                    Ok(page) if !page.changes.is_empty() => {
                        let mut report = SyncReport::default();
                        let mut writer = PageWriter::new(store, cursor, 0, false);
                        writer.finished = !page.has_more;
                        writer.apply(&page, &mut report)?;
                        writer.commit(&mut report, progress)?;
                    }
                    Ok(_) => {}
                    Err(e) if e.is_transient() => {
                        progress(Progress::Retrying { error: e.to_string() });
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                    Err(e) => return Err(e),
                }
                return Ok(false);
            }
            _ = tick.tick() => {
                if let Remote::Retry(at) = remote {
                    if tokio::time::Instant::now() >= *at {
                        *remote = Remote::Connect;
                        return Ok(false);
                    }
                }
                let now = data_version(store)?;
                if now != version {
                    version = now;
                    if materialize::pending_count(store.conn())? > 0 {
                        return Ok(false);
                    }
                }
            }
        }
    }
}

/// The next live event, or never when no stream is open.
async fn next_event(remote: &mut Remote) -> Result<crate::live::LiveEvent> {
    match remote {
        Remote::Live(stream) => stream.next().await,
        _ => std::future::pending().await,
    }
}

/// SQLite's count of commits by other connections to this file: reading it touches only shared
/// memory, so `watch` can look often and read the outbox only after a commit.
fn data_version(store: &Store) -> Result<i64> {
    let read = || {
        store
            .conn()
            .prepare_cached("PRAGMA data_version")?
            .query_row((), |row| row.get::<_, i64>(0))
    };
    Ok(read().map_err(switchboard_core::CoreError::from)?)
}

#[cfg(test)]
mod tests;
