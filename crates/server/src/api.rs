//! The HTTP API: routes, extractors, and the OpenAPI document generated from them.

use crate::accounts::{self, Actor};
use crate::changelog;
use crate::devices;
use crate::error::{Result, ServerError};
use crate::intake;
use crate::leads;
use crate::push::{self, Effects};
use crate::state::ServerState;
use crate::store::{self, col_text};
use crate::wire;
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use switchboard_protocol::*;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Largest request body (a push): the shared limit replicas size their batches under.
pub const BODY_LIMIT: usize = limits::PUSH_BODY_LIMIT;

/// Largest intake body: one form submission.
pub const INTAKE_BODY_LIMIT: usize = limits::INTAKE_BODY_LIMIT;

/// The most of an oversized body read and thrown away before answering 413, and for how long.
/// Answering while the client still sends makes HTTP/2 reset the stream after the answer and
/// HTTP/1.1 close the connection under it, and clients (curl, and any that is still writing)
/// then report a dropped stream or a broken pipe instead of the 413; reading the rest first
/// ends the request cleanly. Beyond these bounds the 413 is sent at once, reset or not.
const DRAIN_LIMIT: u64 = 64 * 1024 * 1024;
const DRAIN_TIME: Duration = Duration::from_secs(30);

/// How often a long-poll looks for changes written by other instances.
const POLL_EVERY: Duration = Duration::from_millis(250);

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Switchboard central store",
        description = "Sync, accounts and registration intake. See docs/SYNC.md."
    ),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The application: every route, with limits and error mapping.
pub fn router(state: ServerState) -> Router {
    let (api, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health))
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(push_ops))
        .routes(routes!(changes))
        .routes(routes!(crate::live::changes_live))
        .routes(routes!(lead))
        .routes(routes!(follow_ups))
        .routes(routes!(list_devices))
        .routes(routes!(revoke_device))
        .routes(routes!(update_latest))
        .routes(routes!(update_artifact))
        .merge(
            // One form submission is small: a tighter limit for the public endpoint.
            OpenApiRouter::new()
                .routes(routes!(registrations))
                .layer(DefaultBodyLimit::max(INTAKE_BODY_LIMIT))
                .layer(axum::Extension(BodyLimit(INTAKE_BODY_LIMIT))),
        )
        .split_for_parts();
    let doc = std::sync::Arc::new(doc);
    api.route(
        "/v1/openapi.json",
        axum::routing::get(move || {
            let doc = doc.clone();
            async move { Json((*doc).clone()) }
        }),
    )
    // Public, HTML, outside the API document: the unsubscribe links in mail.
    .merge(
        crate::unsubscribe::router().layer(DefaultBodyLimit::max(crate::unsubscribe::BODY_LIMIT)),
    )
    .fallback(|| async { ServerError::NotFound("no such endpoint".into()) })
    .method_not_allowed_fallback(|| async {
        ServerError::BadRequest("this endpoint does not take that method".into())
    })
    .layer(middleware::from_fn_with_state(
        state.clone(),
        check_protocol,
    ))
    .layer(DefaultBodyLimit::max(BODY_LIMIT))
    .with_state(state)
}

/// Refuses clients that speak another protocol version — except on the update endpoints, which
/// every version can use, so an app too old for the server can still fetch its update.
async fn check_protocol(
    State(state): State<ServerState>,
    request: Request,
    next: Next,
) -> Response {
    let ours = state.protocol_version;
    let updates = request.uri().path().starts_with("/v1/updates/");
    if let Some(v) = request.headers().get(PROTOCOL_HEADER).filter(|_| !updates) {
        let spoken = v.to_str().ok().and_then(|s| s.trim().parse::<u32>().ok());
        if spoken != Some(ours) {
            // Older clients print this message as it is, so it must tell the user what to do.
            let theirs = spoken.map_or_else(|| "an unknown version".to_string(), |v| v.to_string());
            let mut response = ServerError::ProtocolVersion(format!(
                "this server speaks sync protocol {ours} and this Switchboard speaks \
                 {theirs}: update Switchboard (or, if this Switchboard is newer, the server)"
            ))
            .into_response();
            // Newer clients read the server's version here to say which side needs updating.
            response.headers_mut().insert(PROTOCOL_HEADER, ours.into());
            return response;
        }
    }
    next.run(request).await
}

/// The body limit of a group of routes, for `Body` (`BODY_LIMIT` where none is set).
#[derive(Debug, Clone, Copy)]
struct BodyLimit(usize);

/// A JSON or compact body (`crate::wire`, protocol 4) whose rejections are answered as
/// `ErrorBody`. An oversized one is read to its end (within `DRAIN_LIMIT`) before the 413, so
/// every client receives the answer; a compressed one is refused as soon as it decompresses past
/// the same limit.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ServerError;

    async fn from_request(req: Request, state: &S) -> Result<Self> {
        let limit = req
            .extensions()
            .get::<BodyLimit>()
            .map_or(BODY_LIMIT, |l| l.0);
        let (parts, body) = req.into_parts();
        let bytes = read_within(body, limit, declared_length(&parts)).await?;
        let format = wire::request_format(&parts.headers)?;
        if format == Some(wire::Format::Packed) {
            return wire::from_packed(&parts.headers, &bytes, limit).map(Body);
        }
        let bytes = wire::decode_encoding(&parts.headers, bytes, limit)?;
        if format == Some(wire::Format::Compact) {
            return wire::from_compact(&bytes).map(Body);
        }
        let req = Request::from_parts(parts, axum::body::Body::from(bytes));
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Body(v)),
            Err(JsonRejection::JsonDataError(e)) => Err(ServerError::Invalid(e.body_text())),
            Err(JsonRejection::JsonSyntaxError(e)) => Err(ServerError::BadRequest(e.body_text())),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ServerError::BadRequest(
                "expected a body with Content-Type: application/json (or application/msgpack)"
                    .into(),
            )),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ServerError::PayloadTooLarge(format!(
                    "the request body is larger than the limit of {limit} bytes ({} KiB); \
                     send less at once",
                    limit / 1024
                )))
            }
            Err(e) => Err(ServerError::BadRequest(e.body_text())),
        }
    }
}

fn declared_length(parts: &Parts) -> Option<u64> {
    parts
        .headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// The whole body if it is at most `limit` bytes; else 413, after draining the rest.
pub(crate) async fn read_within(
    mut body: axum::body::Body,
    limit: usize,
    declared: Option<u64>,
) -> Result<bytes::Bytes> {
    use http_body_util::BodyExt;
    let too_large = || {
        ServerError::PayloadTooLarge(format!(
            "the request body is larger than the limit of {limit} bytes ({} KiB); send less at once",
            limit / 1024
        ))
    };
    if let Some(declared) = declared.filter(|&n| n > limit as u64) {
        if declared <= DRAIN_LIMIT {
            drain(body, 0).await;
        }
        return Err(too_large());
    }
    let mut read = bytes::BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| ServerError::BadRequest(format!("reading the body: {e}")))?;
        if let Some(data) = frame.data_ref() {
            if read.len() + data.len() > limit {
                let seen = (read.len() + data.len()) as u64;
                drain(body, seen).await;
                return Err(too_large());
            }
            read.extend_from_slice(data);
        }
    }
    Ok(read.freeze())
}

/// Reads and discards the rest of `body`, `seen` bytes of which were read already, up to
/// `DRAIN_LIMIT` bytes in all and for at most `DRAIN_TIME`.
async fn drain(mut body: axum::body::Body, mut seen: u64) {
    use http_body_util::BodyExt;
    let _ = tokio::time::timeout(DRAIN_TIME, async {
        while seen <= DRAIN_LIMIT {
            match body.frame().await {
                Some(Ok(frame)) => seen += frame.data_ref().map_or(0, |d| d.len() as u64),
                _ => break,
            }
        }
    })
    .await;
}

/// The bearer token of a request.
pub(crate) fn bearer(parts: &Parts) -> Result<String> {
    let value = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ServerError::Unauthorized("missing Authorization: Bearer token".into()))?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= 200)
        .ok_or_else(|| ServerError::Unauthorized("expected Authorization: Bearer token".into()))?;
    Ok(token.to_string())
}

/// The authenticated user of a request.
pub struct Authed(pub Actor);

impl FromRequestParts<ServerState> for Authed {
    type Rejection = ServerError;

    async fn from_request_parts(parts: &mut Parts, state: &ServerState) -> Result<Self> {
        let token = bearer(parts)?;
        let actor = state
            .blocking(move |s| {
                let now = s.clock.now();
                let session = store::read(&*s.store, |tx| {
                    accounts::authenticate(tx, &token, now, s.token_ttl)
                })?;
                // Sliding renewal: a device in use keeps its sign-in (at most a write a minute).
                if let Some(until) = session.renew_until {
                    store::write(&*s.store, |tx| {
                        accounts::renew(tx, &token, session.device.as_deref(), until, now)
                    })?;
                }
                Ok(session.actor)
            })
            .await?;
        Ok(Authed(actor))
    }
}

/// A request carrying a live intake key (the website).
pub struct IntakeCaller;

impl FromRequestParts<ServerState> for IntakeCaller {
    type Rejection = ServerError;

    async fn from_request_parts(parts: &mut Parts, state: &ServerState) -> Result<Self> {
        let key = bearer(parts)?;
        let valid = state
            .blocking(move |s| store::read(&*s.store, |tx| accounts::intake_key_valid(tx, &key)))
            .await?;
        if valid {
            Ok(IntakeCaller)
        } else {
            Err(ServerError::Unauthorized("invalid intake key".into()))
        }
    }
}

/// Liveness and protocol version.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Health {
    pub status: String,
    pub protocol_version: u32,
}

/// Liveness check (no authentication, no data).
#[utoipa::path(get, path = "/v1/health", responses((status = 200, body = Health)))]
async fn health(State(state): State<ServerState>) -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        protocol_version: state.protocol_version,
    })
}

/// Logs in with a password; returns a bearer token and the deployment's suppression key.
#[utoipa::path(post, path = "/v1/login", request_body = LoginRequest,
    responses((status = 200, body = LoginResponse), (status = 401, body = ErrorBody)))]
async fn login(
    State(state): State<ServerState>,
    Body(req): Body<LoginRequest>,
) -> Result<Json<LoginResponse>> {
    let response = state
        .blocking(move |s| {
            let denied = || ServerError::Unauthorized("unknown user or wrong password".into());
            if req.user.len() > 100 || req.password.expose().len() > 1000 {
                return Err(denied());
            }
            let found = store::read(&*s.store, |tx| accounts::account_for_login(tx, &req.user))?;
            let Some((actor, hash)) = found else {
                // Spend the same effort as a real check so timing does not reveal names.
                accounts::verify_password(req.password.expose(), DUMMY_HASH);
                return Err(denied());
            };
            if !accounts::verify_password(req.password.expose(), &hash) {
                return Err(denied());
            }
            let now = s.clock.now();
            let (token, expires_at, device, unsubscribe, unsubscribe_keys) =
                store::write(&*s.store, |tx| {
                    let device = devices::sign_in(tx, &actor.user, &req, now)?;
                    let idle = accounts::idle_limit(tx, &actor.user, s.token_ttl)?;
                    let (token, expires_at) =
                        accounts::issue_token(tx, &actor.user, Some(&device), now, idle)?;
                    let public_url = s.public_url.as_deref();
                    let unsubscribe = crate::unsubscribe::key_for(tx, &actor, public_url, now)?;
                    let keys = crate::unsubscribe::keys_for(tx, &actor, public_url, now)?;
                    Ok((token, expires_at, device, unsubscribe, keys))
                })?;
            Ok(LoginResponse {
                token,
                expires_at,
                user: actor.user,
                role: actor.role,
                office: actor.office,
                offices: Some(actor.offices).filter(|o| !o.is_empty()),
                suppression_key: s.suppression_key.clone(),
                server_time: now,
                protocol_version: PROTOCOL_VERSION,
                unsubscribe,
                unsubscribe_keys,
                device_id: Some(device),
            })
        })
        .await?;
    Ok(Json(response))
}

/// An argon2 hash of nothing anyone types, checked when the user does not exist.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0Ssc6Yv8Sgr0ArKXyM5Gn7OHgW16oRwZ1hYp4Mvg1dw";

/// Revokes the caller's token.
#[utoipa::path(post, path = "/v1/logout", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody)))]
async fn logout(
    State(state): State<ServerState>,
    Authed(_): Authed,
    parts: axum::http::HeaderMap,
) -> Result<StatusCode> {
    let token = parts
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default()
        .trim()
        .to_string();
    state
        .blocking(move |s| store::write(&*s.store, |tx| accounts::revoke_token(tx, &token)))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Pushes outbox entries; each is answered applied, duplicate or rejected. A push that reuses
/// a known (replica id, seq) for another operation is refused whole: 409 `replica_reused`.
#[utoipa::path(post, path = "/v1/push", security(("bearer" = [])), request_body = PushRequest,
    responses((status = 200, body = PushResponse), (status = 401, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn push_ops(
    State(state): State<ServerState>,
    Authed(actor): Authed,
    headers: HeaderMap,
    Body(req): Body<PushRequest>,
) -> Result<Response> {
    push::check_request(&req)?;
    let outcome = state
        .blocking(move |s| {
            push::push(
                &*s.store,
                &actor,
                &req,
                s.clock.now(),
                &s.suppression_key_bytes,
            )
        })
        .await?;
    if outcome.changed {
        crate::live::committed(&state);
    }
    wire::Wanted::from_headers(&headers).reply(&outcome.response)
}

/// Query of `GET /v1/changes`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChangesParams {
    /// Cursor from the previous page (0 for a first sync).
    pub after: Option<i64>,
    /// Page size (at most `MAX_PAGE`).
    pub limit: Option<u32>,
    /// Long-poll: seconds to wait for a change when none is pending (at most 30).
    pub wait: Option<u32>,
    /// Protocol 4: the caller's replica id; its own pushed changes are left out of the page
    /// (the cursor still moves past them).
    pub replica: Option<String>,
    /// Protocol 4: with `replica`, the highest push sequence its file can have sent; own
    /// changes above it (pushed after a backup the replica was restored from) still come.
    pub through: Option<i64>,
}

/// Pulls the changes after a cursor that the caller may see; long-polls with `wait`.
#[utoipa::path(get, path = "/v1/changes", security(("bearer" = [])), params(ChangesParams),
    responses((status = 200, body = ChangesPage), (status = 401, body = ErrorBody)))]
async fn changes(
    State(state): State<ServerState>,
    Authed(actor): Authed,
    headers: HeaderMap,
    query: std::result::Result<Query<ChangesParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response> {
    let Query(q) = query.map_err(|e| ServerError::BadRequest(e.body_text()))?;
    let after = q.after.unwrap_or(0).max(0);
    let limit = q.limit.unwrap_or(500).clamp(1, MAX_PAGE);
    let wait = Duration::from_secs(q.wait.unwrap_or(0).min(MAX_WAIT_SECS) as u64);
    let deadline = tokio::time::Instant::now() + wait;
    // Commits on other instances (PostgreSQL) arrive here too.
    let mut wakes = state.live.subscribe();
    loop {
        let notified = state.changes.notified();
        let who = actor.clone();
        let mine = q.replica.clone().zip(q.through);
        let wanted = wire::Wanted::from_headers(&headers);
        let last_chance = tokio::time::Instant::now() >= deadline;
        // The body is written straight from the opened operations (a `ChangesPage`), each
        // opened once per instance (`delivery_cache`), on the blocking thread that read them.
        let body = state
            .blocking(move |s| {
                let own = mine.as_ref().map(|(replica, through)| changelog::Own {
                    replica,
                    through: *through,
                });
                let page = store::read(&*s.store, |tx| {
                    changelog::page_parts_for(tx, &who, own, after, limit, Some(&s.delivery))
                })?;
                // A page of only the caller's own changes still moves its cursor: answer it
                // at once.
                if page.changes.is_empty() && page.next_cursor <= after && !last_chance {
                    return Ok(None);
                }
                wanted.page_body(&page).map(Some)
            })
            .await?;
        if let Some(body) = body {
            return wanted.reply_page(body);
        }
        tokio::select! {
            _ = notified => {}
            _ = wakes.changed() => {}
            _ = tokio::time::sleep(POLL_EVERY) => {}
            _ = tokio::time::sleep_until(deadline) => {}
        }
    }
}

/// A lead's current state as the central store holds it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct LeadView {
    pub id: String,
    pub office: Option<String>,
    pub status: String,
    pub erased: bool,
    /// Every field group with its clock stamp.
    pub groups: Vec<GroupView>,
}

/// One field group's values and clock.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct GroupView {
    pub fields: LeadFields,
    pub hlc: String,
}

/// One lead, if the caller may see it.
#[utoipa::path(get, path = "/v1/leads/{id}", security(("bearer" = [])),
    params(("id" = String, Path, description = "Lead id")),
    responses((status = 200, body = LeadView), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn lead(
    State(state): State<ServerState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
) -> Result<Json<LeadView>> {
    let row = state
        .blocking(move |s| store::read(&*s.store, |tx| leads::load(tx, &id)))
        .await?
        .ok_or_else(|| ServerError::NotFound("no such lead".into()))?;
    if !actor.may_touch(row.office.as_deref()) {
        return Err(ServerError::Forbidden(
            "the lead is not in your office".into(),
        ));
    }
    Ok(Json(LeadView {
        id: row.id,
        office: row.office,
        status: row.status,
        erased: row.erased,
        groups: row
            .groups
            .into_iter()
            .map(|(fields, hlc)| GroupView { fields, hlc })
            .collect(),
    }))
}

/// Query of `GET /v1/follow-ups`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FollowUpParams {
    /// Office to report on (admins; a manager gets the one named if they manage it, else their
    /// primary office).
    pub office: Option<String>,
}

/// The whole follow-up history of an office: managers (their offices) and admins.
#[utoipa::path(get, path = "/v1/follow-ups", security(("bearer" = [])), params(FollowUpParams),
    responses((status = 200, body = Vec<FollowUp>), (status = 403, body = ErrorBody)))]
async fn follow_ups(
    State(state): State<ServerState>,
    Authed(actor): Authed,
    query: std::result::Result<Query<FollowUpParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<FollowUp>>> {
    let Query(q) = query.map_err(|e| ServerError::BadRequest(e.body_text()))?;
    let office = match actor.role {
        Role::Rep | Role::Privacy | Role::PrivacyOfficer => {
            return Err(ServerError::Forbidden(
                "only managers and admins read office history".into(),
            ))
        }
        Role::Manager => match q.office {
            Some(code) if actor.offices.contains(&code) => Some(code),
            _ => actor.office.clone(),
        },
        Role::Admin => q.office.clone(),
    };
    let bodies = state
        .blocking(move |s| {
            store::read(&*s.store, |tx| {
                let rows = match &office {
                    Some(code) => tx.query(
                        "SELECT r.body, r.lead_id FROM record r JOIN lead l ON l.id = r.lead_id \
                         WHERE r.kind = 'follow_up' AND l.office = ?1 ORDER BY r.id",
                        &[code.as_str().into()],
                    )?,
                    None => tx.query(
                        "SELECT body, lead_id FROM record WHERE kind = 'follow_up' ORDER BY id",
                        &[],
                    )?,
                };
                // Follow-ups are sealed under their person's key (`sealing`).
                let mut opener = crate::sealing::Opener::default();
                let mut bodies = Vec::with_capacity(rows.len());
                for row in rows {
                    let stored = col_text(&row, 0).unwrap_or_default();
                    let lead_id = col_text(&row, 1);
                    bodies.extend(opener.open(tx, lead_id.as_deref(), &stored)?);
                }
                Ok(bodies)
            })
        })
        .await?;
    let mut out = Vec::with_capacity(bodies.len());
    for body in bodies {
        out.push(serde_json::from_str(&body)?);
    }
    Ok(Json(out))
}

/// Records a website registration (authenticated with the intake key); idempotent by
/// submission id.
#[utoipa::path(post, path = "/v1/registrations", security(("bearer" = [])),
    request_body = IntakeRegistration,
    responses((status = 200, body = IntakeResponse), (status = 401, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn registrations(
    State(state): State<ServerState>,
    _caller: IntakeCaller,
    Body(sub): Body<IntakeRegistration>,
) -> Result<Json<IntakeResponse>> {
    let clean = intake::clean(&sub)?;
    let (response, changed) = state
        .blocking(move |s| {
            let now = s.clock.now();
            store::write(&*s.store, |tx| {
                let mut effects = Effects::default();
                let r = intake::record(tx, &clean, &s.suppression_key_bytes, now, &mut effects)?;
                Ok((r, effects.changed))
            })
        })
        .await?;
    if changed {
        crate::live::committed(&state);
    }
    Ok(Json(response))
}

/// Query of `GET /v1/devices`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeviceParams {
    /// Office to list (admins; a manager gets the one named if they manage it, else all theirs).
    pub office: Option<String>,
}

/// The signed-in devices of the caller's offices (managers) or of every office (admins).
#[utoipa::path(get, path = "/v1/devices", security(("bearer" = [])), params(DeviceParams),
    responses((status = 200, body = Vec<Device>), (status = 403, body = ErrorBody)))]
async fn list_devices(
    State(state): State<ServerState>,
    Authed(actor): Authed,
    query: std::result::Result<Query<DeviceParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<Device>>> {
    let Query(q) = query.map_err(|e| ServerError::BadRequest(e.body_text()))?;
    let offices = devices::scope_to(&actor, q.office)?;
    let list = state
        .blocking(move |s| store::read(&*s.store, |tx| devices::list(tx, offices.as_deref())))
        .await?;
    Ok(Json(list))
}

/// Revokes a device (managers: of their offices' users): its next request is refused with
/// `device_revoked` and its client erases its replica and keys.
#[utoipa::path(post, path = "/v1/devices/{id}/revoke", security(("bearer" = [])),
    params(("id" = String, Path, description = "Device id")),
    responses((status = 200, body = Device), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn revoke_device(
    State(state): State<ServerState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
) -> Result<Json<Device>> {
    let offices = devices::scope(&actor)?;
    let device = state
        .blocking(move |s| {
            let now = s.clock.now();
            store::write(&*s.store, |tx| {
                devices::revoke(tx, &id, offices.as_deref(), &actor.user, now)
            })
        })
        .await?;
    // Its live streams (here and on other instances) re-check their sign-in and close.
    crate::live::committed(&state);
    Ok(Json(device))
}

/// The newest update the office published (protocol 4; answered whatever protocol version the
/// caller speaks). 204 when none is published.
#[utoipa::path(get, path = "/v1/updates/latest", security(("bearer" = [])),
    responses((status = 200, body = switchboard_protocol::updates::UpdateManifest),
        (status = 204, description = "No update is published"),
        (status = 401, body = ErrorBody)))]
async fn update_latest(State(state): State<ServerState>, Authed(_): Authed) -> Result<Response> {
    let latest = state
        .blocking(|s| store::read(&*s.store, crate::updates::latest))
        .await?;
    Ok(match latest {
        Some(manifest) => Json(manifest).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

/// A published update's package (`application/vnd.debian.binary-package`), read from the store
/// one piece at a time.
#[utoipa::path(get, path = "/v1/updates/{version}/artifact", security(("bearer" = [])),
    params(("version" = String, Path, description = "X.Y.Z")),
    responses((status = 200, description = "The package", content_type = "application/vnd.debian.binary-package"),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn update_artifact(
    State(state): State<ServerState>,
    Authed(_): Authed,
    Path(version): Path<String>,
) -> Result<Response> {
    if switchboard_protocol::updates::parse_version(&version).is_none() {
        return Err(ServerError::NotFound(format!(
            "'{version}' is not a version (X.Y.Z)"
        )));
    }
    let v = version.clone();
    let (size, pieces) = state
        .blocking(move |s| store::read(&*s.store, |tx| crate::updates::package_shape(tx, &v)))
        .await?;
    let stream = futures_util::stream::unfold(0i64, move |idx| {
        let (state, version) = (state.clone(), version.clone());
        async move {
            if idx >= pieces {
                return None;
            }
            let piece = state
                .blocking(move |s| {
                    store::read(&*s.store, |tx| crate::updates::chunk(tx, &version, idx))
                })
                .await
                .map(bytes::Bytes::from)
                .map_err(|e| std::io::Error::other(e.to_string()));
            Some((piece, idx + 1))
        }
    });
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.debian.binary-package".to_string(),
            ),
            (header::CONTENT_LENGTH, size.to_string()),
        ],
        axum::body::Body::from_stream(stream),
    )
        .into_response())
}
