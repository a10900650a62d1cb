//! One real server state per process (a fresh data folder on SQLite, an office, a rep and an
//! intake key), and requests sent through its real router in process: the same extractors,
//! limits, checks and store as over HTTPS, without a TLS handshake per input.

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use switchboard_protocol::{ErrorBody, Role, PROTOCOL_HEADER, PROTOCOL_VERSION};
use switchboard_test_support::{TestOptions, TestServer};
use tower::ServiceExt;

/// Who sends a request.
#[derive(Debug, Clone, Copy)]
pub enum Caller {
    /// A rep of office BER (routed from DE), signed in.
    Rep,
    /// The website, with an intake key.
    Intake,
}

/// The server's answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
    /// The body read as an `ErrorBody`, when it is one.
    pub error: Option<ErrorBody>,
}

struct Harness {
    runtime: tokio::runtime::Runtime,
    server: TestServer,
    rep_token: String,
    intake_key: String,
    /// The unsubscribe key rita received: (key id, key bytes).
    unsubscribe: (String, Vec<u8>),
}

static HARNESS: OnceLock<Harness> = OnceLock::new();

/// Answers with a 2xx status so far in this process: the smoke test checks that random
/// inputs get past the decoders into the store, not only bounce off them.
pub static ACCEPTED: AtomicU64 = AtomicU64::new(0);

fn harness() -> &'static Harness {
    HARNESS.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let (server, rep_token, intake_key, unsubscribe) = runtime.block_on(async {
            let server = TestServer::start(TestOptions::default())
                .await
                .expect("a test server starts");
            server.add_office("BER", "DE").await.expect("office BER");
            server.add_route("DE", "BER").await.expect("route DE");
            server
                .add_user("rita", Role::Rep, Some("BER"), "a long password")
                .await
                .expect("user rita");
            let api = server
                .login("rita", "a long password")
                .await
                .expect("rita signs in");
            let key = server.intake_key().await.expect("an intake key");
            let unsubscribe = api
                .login
                .unsubscribe
                .as_ref()
                .expect("rita gets an unsubscribe key");
            let unsubscribe = (
                unsubscribe.key_id.clone(),
                hex::decode(unsubscribe.key.expose()).expect("a hex key"),
            );
            (
                server,
                api.token.expose().to_string(),
                key.expose().to_string(),
                unsubscribe,
            )
        });
        Harness {
            runtime,
            server,
            rep_token,
            intake_key,
            unsubscribe,
        }
    })
}

/// The unsubscribe key id and key the server handed rita at sign-in.
pub fn unsubscribe_key() -> &'static (String, Vec<u8>) {
    &harness().unsubscribe
}

/// How many consent events the server holds.
pub fn consent_events() -> i64 {
    let h = harness();
    h.runtime
        .block_on(h.server.inspect(|tx| {
            Ok(tx
                .query_opt(
                    "SELECT count(*) FROM record WHERE kind = 'consent_event'",
                    &[],
                )?
                .and_then(|r| switchboard_server::store::col_int(&r, 0))
                .unwrap_or(0))
        }))
        .expect("counting consent events")
}

/// Posts the one-click unsubscribe form to `/v1/unsubscribe/` + `token` (percent-encoded)
/// through the server's router, without credentials, as a mail client does.
pub fn one_click(token: &[u8]) -> Answer {
    let mut path = String::from("/v1/unsubscribe/");
    for &b in token {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            path.push(b as char);
        } else {
            path.push_str(&format!("%{b:02X}"));
        }
    }
    let request = Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(switchboard_protocol::ONE_CLICK_BODY))
        .expect("a request");
    send(request)
}

/// Posts `body` (as JSON) to `path` through the server's router.
pub fn post(path: &str, caller: Caller, body: &[u8]) -> Answer {
    post_as(path, caller, "application/json", None, body)
}

/// `post` with another `Content-Type` and, if any, a `Content-Encoding`.
pub fn post_as(
    path: &str,
    caller: Caller,
    content_type: &str,
    encoding: Option<&str>,
    body: &[u8],
) -> Answer {
    let h = harness();
    let token = match caller {
        Caller::Rep => &h.rep_token,
        Caller::Intake => &h.intake_key,
    };
    let mut request = Request::builder()
        .method("POST")
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", content_type)
        .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string());
    if let Some(encoding) = encoding {
        request = request.header("content-encoding", encoding);
    }
    send(request.body(Body::from(body.to_vec())).expect("a request"))
}

fn send(request: Request<Body>) -> Answer {
    let h = harness();
    let router = switchboard_server::api::router(h.server.state.clone());
    h.runtime.block_on(async move {
        let response = router.oneshot(request).await.expect("the router answers");
        let status = response.status().as_u16();
        if (200..300).contains(&status) {
            ACCEPTED.fetch_add(1, Ordering::Relaxed);
        }
        let body = response
            .into_body()
            .collect()
            .await
            .expect("the body is read")
            .to_bytes()
            .to_vec();
        let error = serde_json::from_slice(&body).ok();
        Answer {
            status,
            body,
            error,
        }
    })
}
