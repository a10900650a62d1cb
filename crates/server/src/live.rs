//! Live changes: `GET /v1/changes/live`, a server-sent event stream per replica that says "pull
//! now" as soon as a change the caller may see commits, so an online laptop need not wait for a
//! poll. Every instance wakes its streams from `committed` (called after a write commits); on
//! PostgreSQL the hook also sends `NOTIFY switchboard_changes` from a connection of its own and
//! a listening connection wakes the streams of every other instance on the same database.
//!
//! A stream is authenticated like the pull and checked again on every wake and keep-alive: a
//! revoked device, an expired token or a changed role or office ends it with a `closed` event
//! (the client's next pull hears why). Each stream has a small bounded queue; a reader too slow
//! to take its events is dropped, and writers never wait for one (a wake is one counter).

use crate::accounts::{self, Actor};
use crate::changelog;
use crate::error::{Result, ServerError};
use crate::state::ServerState;
use crate::store;
use axum::extract::{Query, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use postgres::fallible_iterator::FallibleIterator;
use serde::Deserialize;
use std::collections::HashMap;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::task::{Context, Poll};
use std::time::Duration;
use switchboard_protocol::ErrorBody;
use tokio::sync::{mpsc, watch};

/// How often an idle stream sends a keep-alive comment and re-checks its sign-in.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The most live streams one device (or one user without a device) holds at once.
pub const MAX_STREAMS_PER_DEVICE: usize = 4;

/// Events queued for one stream; a client that lets this many pile up is dropped.
const QUEUE: usize = 8;

/// The PostgreSQL channel commits are announced on.
const CHANNEL: &str = "switchboard_changes";

/// How long a lost PostgreSQL connection of the hub waits before connecting again.
const RECONNECT: Duration = Duration::from_secs(1);

/// The live streams of one server instance and what wakes them.
pub struct Hub {
    /// Bumped on every commit (here or, through PostgreSQL, on another instance).
    generation: watch::Sender<u64>,
    /// Open streams per device (or `user:NAME`).
    streams: Mutex<HashMap<String, usize>>,
    /// Asks the notifier thread to send `NOTIFY` (PostgreSQL only).
    notifier: Mutex<Option<std::sync::mpsc::Sender<()>>>,
}

impl Default for Hub {
    fn default() -> Hub {
        Hub {
            generation: watch::Sender::new(0),
            streams: Mutex::new(HashMap::new()),
            notifier: Mutex::new(None),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Hub {
    /// A receiver that sees every later wake.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.generation.subscribe()
    }

    /// Wakes this instance's streams and long-polls.
    fn wake(&self) {
        self.generation.send_modify(|g| *g = g.wrapping_add(1));
    }

    /// How many streams are open on this instance.
    pub fn open_streams(&self) -> usize {
        lock(&self.streams).values().sum()
    }

    /// Takes one of `key`'s stream slots, if one is free.
    fn reserve(self: &Arc<Hub>, key: String) -> Option<Slot> {
        let mut streams = lock(&self.streams);
        let open = streams.entry(key.clone()).or_insert(0);
        if *open >= MAX_STREAMS_PER_DEVICE {
            return None;
        }
        *open += 1;
        Some(Slot {
            hub: self.clone(),
            key,
        })
    }
}

/// A held stream slot, given back when the stream ends.
struct Slot {
    hub: Arc<Hub>,
    key: String,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut streams = lock(&self.hub.streams);
        if let Some(open) = streams.get_mut(&self.key) {
            *open -= 1;
            if *open == 0 {
                streams.remove(&self.key);
            }
        }
    }
}

/// The hook every successful write calls after its commit: wakes long-polls and live streams
/// here, and (PostgreSQL) on every other instance. Never blocks.
pub fn committed(state: &ServerState) {
    state.changes.notify_waiters();
    state.live.wake();
    if let Some(notifier) = lock(&state.live.notifier).as_ref() {
        let _ = notifier.send(());
    }
}

/// Connects `hub` to the other instances on the PostgreSQL database at `url`: one thread sends
/// `NOTIFY` after commits, one `LISTEN`s and wakes the hub. Both end when the hub is dropped.
pub fn connect_postgres(hub: &Arc<Hub>, url: &str) {
    let (send, wanted) = std::sync::mpsc::channel::<()>();
    *lock(&hub.notifier) = Some(send);
    let notify_url = url.to_string();
    let _ = std::thread::Builder::new()
        .name("live-notify".into())
        .spawn(move || notify_loop(&notify_url, wanted));
    let weak = Arc::downgrade(hub);
    let listen_url = url.to_string();
    let _ = std::thread::Builder::new()
        .name("live-listen".into())
        .spawn(move || listen_loop(&listen_url, weak));
}

fn pg_connect(url: &str) -> Option<postgres::Client> {
    match postgres::Client::connect(url, postgres::NoTls) {
        Ok(client) => Some(client),
        Err(e) => {
            eprintln!("switchboard-server: live changes: cannot reach PostgreSQL: {e}");
            None
        }
    }
}

/// Sends one `NOTIFY` for every burst of commits, until the hub (the sender) is gone.
fn notify_loop(url: &str, wanted: std::sync::mpsc::Receiver<()>) {
    let mut client = None;
    while wanted.recv().is_ok() {
        while wanted.try_recv().is_ok() {}
        for _attempt in 0..2 {
            if client.is_none() {
                client = pg_connect(url);
            }
            let Some(c) = client.as_mut() else {
                std::thread::sleep(RECONNECT);
                continue;
            };
            if c.batch_execute(&format!("NOTIFY {CHANNEL}")).is_ok() {
                break;
            }
            client = None;
        }
    }
}

/// Listens for other instances' commits and wakes the hub, reconnecting when the connection is
/// lost (and then waking once, as a notification may have been missed).
fn listen_loop(url: &str, hub: Weak<Hub>) {
    while hub.strong_count() > 0 {
        let Some(mut client) = pg_connect(url) else {
            std::thread::sleep(RECONNECT);
            continue;
        };
        if client.batch_execute(&format!("LISTEN {CHANNEL}")).is_err() {
            std::thread::sleep(RECONNECT);
            continue;
        }
        match hub.upgrade() {
            Some(h) => h.wake(),
            None => return,
        }
        loop {
            let got = {
                let mut notifications = client.notifications();
                let got = notifications.timeout_iter(Duration::from_secs(1)).next();
                // One wake for a burst: the streams pull everything new anyway.
                while let Ok(Some(_)) = notifications.iter().next() {}
                got
            };
            match got {
                Ok(Some(_)) => match hub.upgrade() {
                    Some(h) => h.wake(),
                    None => return,
                },
                Err(_) => break,
                Ok(None) if client.is_closed() => break,
                Ok(None) if hub.strong_count() == 0 => return,
                Ok(None) => {}
            }
        }
    }
}

/// Query of `GET /v1/changes/live`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LiveParams {
    /// The caller's cursor: changes it may see after it are announced at once.
    pub after: Option<i64>,
}

/// A server-sent event stream: `ready` (data `{"cursor":N}`, the newest sequence), then `change`
/// (same data) whenever a change the caller may see commits after its cursor, `closed` (data an
/// `ErrorBody`) when its sign-in no longer holds, and a keep-alive comment every 15 s. Pull on
/// `change`; on `closed` or a dropped stream, sync and reconnect.
#[utoipa::path(get, path = "/v1/changes/live", security(("bearer" = [])), params(LiveParams),
    responses((status = 200, content_type = "text/event-stream", body = String),
        (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn changes_live(
    State(state): State<ServerState>,
    parts: Parts,
    query: std::result::Result<Query<LiveParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response> {
    let Query(q) = query.map_err(|e| ServerError::BadRequest(e.body_text()))?;
    let after = q.after.unwrap_or(0).max(0);
    let token = crate::api::bearer(&parts)?;
    let (session, head) = {
        let token = token.clone();
        state
            .blocking(move |s| {
                store::read(&*s.store, |tx| {
                    let session = accounts::authenticate(tx, &token, s.clock.now(), s.token_ttl)?;
                    Ok((session, log_head(tx)?))
                })
            })
            .await?
    };
    let key = match &session.device {
        Some(device) => device.clone(),
        None => format!("user:{}", session.actor.user),
    };
    let slot = state.live.reserve(key).ok_or_else(|| {
        ServerError::TooMany(format!(
            "this device already holds {MAX_STREAMS_PER_DEVICE} live streams: close another \
             Switchboard window or `sync --watch` on it"
        ))
    })?;
    let (queue, events) = mpsc::channel(QUEUE);
    let _ = queue.try_send(event("ready", &format!("{{\"cursor\":{head}}}")));
    tokio::spawn(feed(state, token, session.actor, after, queue, slot));
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/event-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        axum::body::Body::new(EventBody(events)),
    )
        .into_response())
}

/// The newest change sequence number this transaction's snapshot sees (0 for an empty log);
/// changes commit in sequence order, so none can still commit below it.
fn log_head(tx: &mut dyn crate::store::Tx) -> Result<i64> {
    Ok(tx
        .query_opt("SELECT MAX(server_seq) FROM change_log", &[])?
        .and_then(|row| crate::store::col_int(&row, 0))
        .unwrap_or(0))
}

/// One server-sent event.
fn event(name: &str, data: &str) -> Bytes {
    Bytes::from(format!("event: {name}\ndata: {data}\n\n"))
}

/// What a check of a stream found.
enum Check {
    /// Nothing new the caller may see; the log's head is now this.
    Quiet(i64),
    /// A change the caller may see; the log's head is now this.
    Changed(i64),
}

/// Checks the stream's sign-in and whether the caller may see anything after `after`.
async fn check(state: &ServerState, token: &str, actor: &Actor, after: i64) -> Result<Check> {
    let token = token.to_string();
    let actor = actor.clone();
    state
        .blocking(move |s| {
            store::read(&*s.store, |tx| {
                let session = accounts::authenticate(tx, &token, s.clock.now(), s.token_ttl)?;
                if session.actor != actor {
                    return Err(ServerError::Unauthorized(
                        "your role or office changed: sync again to see what you may now see"
                            .into(),
                    ));
                }
                let head = log_head(tx)?;
                if head <= after {
                    return Ok(Check::Quiet(head));
                }
                let (_, count) = changelog::page_json(tx, &actor, after, 1)?;
                Ok(if count > 0 {
                    Check::Changed(head)
                } else {
                    Check::Quiet(head)
                })
            })
        })
        .await
}

/// Feeds one stream until its client leaves, falls behind, or its sign-in ends.
async fn feed(
    state: ServerState,
    token: String,
    actor: Actor,
    mut after: i64,
    queue: mpsc::Sender<Bytes>,
    _slot: Slot,
) {
    let mut wakes = state.live.subscribe();
    let mut keep_alive =
        tokio::time::interval_at(tokio::time::Instant::now() + KEEP_ALIVE, KEEP_ALIVE);
    // Queue full: the client does not read; closed: it left. Either way the stream ends.
    let send = |bytes: Bytes| queue.try_send(bytes).is_ok();
    loop {
        match check(&state, &token, &actor, after).await {
            Ok(Check::Quiet(head)) => after = after.max(head),
            Ok(Check::Changed(head)) => {
                after = head;
                if !send(event("change", &format!("{{\"cursor\":{head}}}"))) {
                    return;
                }
            }
            Err(e) => {
                let body = serde_json::json!({ "code": e.code(), "message": e.to_string() });
                let _ = send(event("closed", &body.to_string()));
                return;
            }
        }
        tokio::select! {
            changed = wakes.changed() => if changed.is_err() { return },
            _ = keep_alive.tick() => if !send(Bytes::from_static(b": keep-alive\n\n")) { return },
            _ = queue.closed() => return,
        }
    }
}

/// The response body: the stream's queued events, ending when the feed ends.
struct EventBody(mpsc::Receiver<Bytes>);

impl http_body::Body for EventBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<std::result::Result<http_body::Frame<Bytes>, Infallible>>> {
        self.0
            .poll_recv(cx)
            .map(|next| next.map(|bytes| Ok(http_body::Frame::data(bytes))))
    }
}
