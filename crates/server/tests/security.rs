//! Authorization matrix, tokens, TLS and hostile input against a real HTTPS server.

use crate::support;

use reqwest::StatusCode;
use std::sync::Arc;
use support::*;
use switchboard_domain::{Clock, FixedClock};
use switchboard_protocol::*;
use switchboard_test_support::{pinned_http, ApiClient, TestOptions, TestServer};

async fn status_of(response: reqwest::Response) -> (StatusCode, Option<ErrorBody>) {
    let status = response.status();
    let body = response.json::<ErrorBody>().await.ok();
    (status, body)
}

/// Who may do what: role × office × endpoint.
async fn authorization_matrix(options: TestOptions) {
    let w = World::start(options).await;
    let lead_a = new_lead(&w.rep_a, "ra", 1, "Ada", "ada@example.com").await;
    let lead_b = new_lead(&w.rep_b, "rb", 1, "Bob", "bob@example.com").await;
    let http = w.server.http();
    let url = &w.server.url;
    let clients: [(&str, &ApiClient, Option<&str>); 5] = [
        ("rep_a", &w.rep_a, Some("A")),
        ("mgr_a", &w.mgr_a, Some("A")),
        ("rep_b", &w.rep_b, Some("B")),
        ("mgr_b", &w.mgr_b, Some("B")),
        ("admin", &w.admin, None),
    ];
    for (who, client, office) in clients {
        let admin = office.is_none();
        for (lead, lead_office) in [(&lead_a, "A"), (&lead_b, "B")] {
            let may = admin || office == Some(lead_office);
            // Read one lead.
            let r = http
                .get(format!("{url}/v1/leads/{lead}"))
                .bearer_auth(client.token.expose())
                .send()
                .await
                .unwrap();
            let expected = if may {
                StatusCode::OK
            } else {
                StatusCode::FORBIDDEN
            };
            assert_eq!(r.status(), expected, "{who} GET lead of {lead_office}");
            // Pull: the lead appears exactly when the caller may see it.
            assert_eq!(
                mentions(&everything(client).await, lead),
                may,
                "{who} pull {lead_office}"
            );
            // Push to it.
            let replica = format!("{who}-matrix-{lead_office}");
            let r = client
                .push(&replica, numbered(vec![follow_up(lead, None, who)]))
                .await
                .unwrap();
            let expected = if may {
                PushStatus::Applied
            } else {
                PushStatus::Rejected
            };
            assert_eq!(r.results[0].status, expected, "{who} push to {lead_office}");
        }
        // Office follow-up history: managers (own office) and admins, never reps.
        let r = http
            .get(format!("{url}/v1/follow-ups"))
            .bearer_auth(client.token.expose())
            .send()
            .await
            .unwrap();
        let is_rep = who.starts_with("rep");
        assert_eq!(
            r.status(),
            if is_rep {
                StatusCode::FORBIDDEN
            } else {
                StatusCode::OK
            },
            "{who}"
        );
        if !is_rep {
            let history: Vec<FollowUp> = r.json().await.unwrap();
            let leads: std::collections::BTreeSet<_> =
                history.iter().map(|f| f.lead_id.clone()).collect();
            let expected: std::collections::BTreeSet<_> = match office {
                Some("A") => [lead_a.clone()].into(),
                Some(_) => [lead_b.clone()].into(),
                None => [lead_a.clone(), lead_b.clone()].into(),
            };
            assert_eq!(leads, expected, "{who} reads their office's history");
        }
        // Creating a lead in another office is refused.
        let other = if office == Some("A") { "B" } else { "A" };
        let r = client
            .push(
                &format!("{who}-create"),
                numbered(vec![office_op(&id("lead"), other)]),
            )
            .await
            .unwrap();
        let expected = if admin {
            PushStatus::Applied
        } else {
            PushStatus::Rejected
        };
        assert_eq!(r.results[0].status, expected, "{who} creates in {other}");
    }
    // Every endpoint but health, login and the document needs a token.
    for (method, path) in [
        ("GET", "/v1/changes"),
        ("POST", "/v1/push"),
        ("GET", "/v1/follow-ups"),
        ("GET", &*format!("/v1/leads/{lead_a}")),
        ("POST", "/v1/registrations"),
        ("POST", "/v1/logout"),
    ] {
        let r = http
            .request(method.parse().unwrap(), format!("{url}{path}"))
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        let (status, body) = status_of(r).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {path}");
        assert_eq!(body.unwrap().code, "unauthorized");
    }
}
both_backends!(authorization_matrix_holds, authorization_matrix);

fn office_op(lead: &str, code: &str) -> Op {
    office(lead, code, hlc(chrono::Utc::now(), 0, "matrix"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn expired_and_revoked_tokens_are_refused() {
    let clock = FixedClock::at(chrono::Utc::now());
    let server = TestServer::start(TestOptions {
        clock: Arc::new(clock.clone()),
        token_ttl: Some(chrono::Duration::hours(1)),
        ..TestOptions::default()
    })
    .await
    .unwrap();
    server.add_office("A", "DE").await.unwrap();
    server
        .add_user("rita", Role::Rep, Some("A"), PASSWORD)
        .await
        .unwrap();
    server
        .add_user("max", Role::Manager, Some("A"), PASSWORD)
        .await
        .unwrap();
    let rita = server.login("rita", PASSWORD).await.unwrap();
    assert!(rita.pull(0, 10, 0).await.is_ok());
    assert!(rita.login.expires_at <= clock.now() + chrono::Duration::hours(1));

    // Expired.
    clock.advance(chrono::Duration::hours(2));
    let err = rita.pull(0, 10, 0).await.unwrap_err().to_string();
    assert!(err.contains("401") && err.contains("expired"), "{err}");
    let rita = server.login("rita", PASSWORD).await.unwrap();
    assert!(rita.pull(0, 10, 0).await.is_ok(), "a new login works");

    // Logged out.
    let max = server.login("max", PASSWORD).await.unwrap();
    let r = max
        .http
        .post(format!("{}/v1/logout", server.url))
        .bearer_auth(max.token.expose())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert!(max
        .pull(0, 10, 0)
        .await
        .unwrap_err()
        .to_string()
        .contains("401"));

    // Revoked account: its live token dies and it cannot log in again.
    server.revoke_user("rita").await.unwrap();
    assert!(rita
        .pull(0, 10, 0)
        .await
        .unwrap_err()
        .to_string()
        .contains("401"));
    assert!(server.login("rita", PASSWORD).await.is_err());
    // Wrong password and unknown user look the same.
    let a = server
        .login("max", "wrong password")
        .await
        .unwrap_err()
        .to_string();
    let b = server
        .login("nobody", PASSWORD)
        .await
        .unwrap_err()
        .to_string();
    assert!(a.contains("401") && b.contains("401"));
    // The token is stored hashed only.
    let token = max.token.expose().to_string();
    let dump = server
        .inspect(|tx| Ok(format!("{:?}", tx.query("SELECT * FROM token", &[])?)))
        .await
        .unwrap();
    assert!(!dump.contains(&token));
    assert!(dump.contains(&switchboard_server::accounts::secret_hash(&token)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_wrong_certificate_is_refused_and_the_right_one_trusted() {
    let server = TestServer::start(TestOptions::default()).await.unwrap();
    let other = TestServer::start(TestOptions::default()).await.unwrap();
    assert_ne!(server.fingerprint, other.fingerprint);
    // Pinned to another server's certificate.
    let wrong = pinned_http(&other.fingerprint);
    let err = wrong
        .get(format!("{}/v1/health", server.url))
        .send()
        .await
        .unwrap_err();
    assert!(err.is_connect() || err.is_request(), "{err:?}");
    // Trusting only the system roots: a self-signed certificate is refused.
    let system = reqwest::Client::builder().use_rustls_tls().build().unwrap();
    assert!(system
        .get(format!("{}/v1/health", server.url))
        .send()
        .await
        .is_err());
    // Pinned to the right one, and trusting it as a CA file: both work.
    let r = server
        .http()
        .get(format!("{}/v1/health", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let ca = switchboard_server::tls::ca_client_config(&server.cert_pem).unwrap();
    let by_ca = reqwest::Client::builder()
        .use_preconfigured_tls(ca)
        .build()
        .unwrap();
    let r = by_ca
        .get(format!("{}/v1/health", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn plain_http_gets_no_data() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let w = World::start(TestOptions::default()).await;
    let mut tcp = tokio::net::TcpStream::connect(w.server.addr).await.unwrap();
    let request = format!(
        "GET /v1/changes?after=0 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\n\r\n",
        w.admin.token.expose()
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        tcp.read_to_end(&mut answer),
    )
    .await;
    let text = String::from_utf8_lossy(&answer);
    assert!(!text.contains("HTTP/1.1 200"), "{text}");
    assert!(
        !text.contains("server_seq") && !text.contains("Ada"),
        "{text}"
    );
    // The reqwest client refuses http:// to a TLS port as well.
    let plain = reqwest::Client::new();
    let url = w.server.url.replace("https://", "http://");
    assert!(plain.get(format!("{url}/v1/health")).send().await.is_err());
}

/// Oversized, broken and ill-typed bodies: a 4xx with `{code, message}` and nothing written.
async fn hostile_bodies(options: TestOptions) {
    let w = World::start(options).await;
    new_lead(&w.rep_a, "ra", 1, "Ada", "ada@example.com").await;
    let count = |w: &World| {
        let admin = w.admin.clone();
        async move { everything(&admin).await.len() }
    };
    let receipts = || async {
        w.server
            .inspect(|tx| Ok(tx.query("SELECT * FROM receipt", &[])?.len()))
            .await
            .unwrap()
    };
    let before = (count(&w).await, receipts().await);
    let http = w.server.http();
    let push_url = format!("{}/v1/push", w.server.url);
    let token = w.rep_a.token.expose().to_string();
    let cases: Vec<(&str, Vec<u8>, StatusCode, &str)> = vec![
        (
            "broken json",
            b"{\"replica_id\": \"x\", \"ops\": [".to_vec(),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "wrong shape",
            br#"{"replica_id": 5, "ops": "no"}"#.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        ),
        (
            "unknown op",
            br#"{"replica_id": "x", "ops": [{"seq": 1, "op": {"type": "drop_tables"}}]}"#.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        ),
        (
            "empty replica",
            br#"{"replica_id": "", "ops": []}"#.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        ),
        (
            "oversized",
            {
                let mut big = br#"{"replica_id": "x", "ops": [], "pad": ""#.to_vec();
                big.extend(std::iter::repeat_n(b'a', 5 * 1024 * 1024));
                big.extend(b"\"}");
                big
            },
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
    ];
    for (what, body, status, code) in cases {
        let r = http
            .post(&push_url)
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let (got, error) = status_of(r).await;
        assert_eq!(got, status, "{what}");
        assert_eq!(error.expect("an error body").code, code, "{what}");
    }
    // Not JSON at all.
    let r = http
        .post(&push_url)
        .bearer_auth(&token)
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // Bad query string.
    let r = http
        .get(format!("{}/v1/changes?after=banana", w.server.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(status_of(r).await.0, StatusCode::BAD_REQUEST);
    // An older client (the previous protocol version): told to update Switchboard.
    let r = http
        .get(format!("{}/v1/changes", w.server.url))
        .bearer_auth(&token)
        .header(PROTOCOL_HEADER, (PROTOCOL_VERSION - 1).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.headers().get(PROTOCOL_HEADER).unwrap(),
        &PROTOCOL_VERSION.to_string(),
        "the answer names the server's version"
    );
    let (status, body) = status_of(r).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let body = body.unwrap();
    assert_eq!(body.code, "protocol_version");
    assert!(
        body.message.contains("update Switchboard"),
        "{}",
        body.message
    );
    // At sign-in too: the older client is refused before its password is checked, told the same.
    let r = http
        .post(format!("{}/v1/login", w.server.url))
        .header(PROTOCOL_HEADER, (PROTOCOL_VERSION - 1).to_string())
        .json(&serde_json::json!({"user": "rita", "password": "wrong"}))
        .send()
        .await
        .unwrap();
    let (status, body) = status_of(r).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let body = body.unwrap();
    assert_eq!(body.code, "protocol_version");
    assert!(
        body.message.contains("update Switchboard"),
        "{}",
        body.message
    );
    // ... and at every push.
    let r = http
        .post(&push_url)
        .bearer_auth(&token)
        .header(PROTOCOL_HEADER, (PROTOCOL_VERSION - 1).to_string())
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(status_of(r).await.1.unwrap().code, "protocol_version");
    // The update endpoints answer every version, so the outdated app can fetch its update
    // (none is published here: 204), and still only with a token.
    for version in [PROTOCOL_VERSION - 1, PROTOCOL_VERSION, PROTOCOL_VERSION + 1] {
        let r = http
            .get(format!("{}/v1/updates/latest", w.server.url))
            .bearer_auth(&token)
            .header(PROTOCOL_HEADER, version.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT, "protocol {version}");
    }
    let r = http
        .get(format!("{}/v1/updates/latest", w.server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = http
        .get(format!("{}/v1/updates/9.9.9/artifact", w.server.url))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(status_of(r).await.1.unwrap().code, "not_found");
    // The intake's own, smaller limit.
    let key = w.server.intake_key().await.unwrap();
    let mut reg = serde_json::json!({"submission_id": "s1", "kind": "trial",
        "submitted_at": "2026-01-01T00:00:00Z", "name": "x"});
    reg["pages_visited"] = serde_json::Value::Array(vec!["p".repeat(1000).into(); 100]);
    let r = http
        .post(format!("{}/v1/registrations", w.server.url))
        .bearer_auth(key.expose())
        .json(&reg)
        .send()
        .await
        .unwrap();
    assert_eq!(status_of(r).await.0, StatusCode::PAYLOAD_TOO_LARGE);
    // Unknown endpoint.
    let r = http
        .get(format!("{}/v1/nothing", w.server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(status_of(r).await.1.unwrap().code, "not_found");
    let r = http
        .delete(format!("{}/v1/push", w.server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(status_of(r).await.1.unwrap().code, "bad_request");

    assert_eq!(
        (count(&w).await, receipts().await),
        before,
        "nothing written"
    );
}
both_backends!(hostile_bodies_get_4xx_and_write_nothing, hostile_bodies);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_openapi_document_lists_every_endpoint() {
    let server = TestServer::start(TestOptions::default()).await.unwrap();
    let doc: serde_json::Value = server
        .http()
        .get(format!("{}/v1/openapi.json", server.url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in [
        "/v1/login",
        "/v1/push",
        "/v1/changes",
        "/v1/registrations",
        "/v1/leads/{id}",
        "/v1/follow-ups",
        "/v1/logout",
        "/v1/health",
        "/v1/updates/latest",
        "/v1/updates/{version}/artifact",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
    for schema in [
        "PushRequest",
        "Op",
        "ChangesPage",
        "LeadFields",
        "IntakeRegistration",
        "ErrorBody",
    ] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "{schema} missing"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn login_hands_out_the_suppression_key() {
    let w = World::start(TestOptions::default()).await;
    let key = std::fs::read_to_string(w.server.data_dir.join("suppression.key")).unwrap();
    assert_eq!(w.rep_a.login.suppression_key.expose(), key.trim());
    assert_eq!(w.rep_a.login.office.as_deref(), Some("A"));
    assert_eq!(w.rep_a.login.role, Role::Rep);
    assert!(
        !format!("{:?}", w.rep_a.login).contains(key.trim()),
        "secrets never print"
    );
}

both_backends!(authors_are_bound_to_the_token, authors_bound);
/// Issue 10, defect 4: a LON rep pushed a follow-up as the manager and an audit entry of an
/// admin's role change, and both were applied.
async fn authors_bound(options: TestOptions) {
    let w = World::start(options).await;
    let lead = new_lead(&w.rep_a, "ra", 1, "Ada", "ada@example.com").await;
    let audit = |actor: &str, action: &str| {
        Op::AuditRecorded(AuditEntry {
            id: id("audit"),
            at: t0(),
            actor: actor.into(),
            lead_id: None,
            action: action.into(),
            field: Some("role".into()),
            old_value: Some("rep".into()),
            new_value: Some("admin".into()),
        })
    };
    let r = w
        .rep_a
        .push(
            "ra",
            numbered_from(
                3,
                vec![
                    follow_up(&lead, Some("as the manager"), "mgr_a"),
                    audit("admin", "role_change"),
                    audit("rep_a", "Role-Change"),
                    follow_up(&lead, Some("as myself"), "rep_a"),
                ],
            ),
        )
        .await
        .unwrap();
    let codes: Vec<_> = r.results.iter().map(|r| r.code.as_deref()).collect();
    assert_eq!(
        codes,
        [
            Some("forged_author"),
            Some("forged_author"),
            Some("server_only"),
            None
        ]
    );
    let history: Vec<FollowUp> = w
        .server
        .http()
        .get(format!("{}/v1/follow-ups", w.server.url))
        .bearer_auth(w.mgr_a.token.expose())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        history.iter().map(|f| f.rep.as_str()).collect::<Vec<_>>(),
        ["rep_a"]
    );
    let text = serde_json::to_string(&everything(&w.admin).await).unwrap();
    assert!(!text.contains("role_change") && !text.contains("Role-Change"));
}

/// The erasures (and their hashes) each replica pulls.
async fn erasures(client: &ApiClient) -> Vec<LeadErased> {
    everything(client)
        .await
        .into_iter()
        .filter_map(|o| match o {
            Op::LeadErased(e) => Some(e),
            _ => None,
        })
        .collect()
}

/// What the intake answers for an email routed by `country`.
async fn intake_status(
    w: &World,
    key: &Secret,
    email: &str,
    phone: Option<&str>,
    country: &str,
) -> IntakeStatus {
    let r = w
        .server
        .http()
        .post(format!("{}/v1/registrations", w.server.url))
        .bearer_auth(key.expose())
        .json(&IntakeRegistration {
            submission_id: id("sub"),
            kind: RegistrationKind::Trial,
            product: None,
            submitted_at: t0(),
            details: switchboard_protocol::RegistrationDetails {
                name: Some("Someone".into()),
                company: None,
                email: Some(email.into()),
                phone: phone.map(str::to_string),
                address: None,
                country: Some(country.into()),
                ip: None,
                user_agent: None,
                referrer: None,
                pages_visited: vec![],
                form_version: None,
            },
        })
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    r.json::<IntakeResponse>().await.unwrap().status
}

both_backends!(
    erasures_suppress_only_within_the_pushers_office,
    erasure_scope
);
/// Issue 10, defect 5: a LON rep erased a made-up lead carrying the hash of a BER person's
/// email and suppressed them everywhere. Erasures now need a lead the pusher's office holds,
/// and hashes the server did not compute itself stay within that office.
async fn erasure_scope(options: TestOptions) {
    let w = World::start(options).await;
    let intake = w.server.intake_key().await.unwrap();
    let key = hex::decode(w.rep_a.login.suppression_key.expose()).unwrap();
    let hash = |email: &str| {
        switchboard_server::normalize::suppression_hash(&key, SuppressionKind::Email, email)
    };
    let erasure = |lead: &str, by: &str, emails: &[&str]| {
        Op::LeadErased(LeadErased {
            lead_id: lead.into(),
            erased_at: t0(),
            by: by.into(),
            suppression_hashes: emails.iter().map(|e| hash(e)).collect(),
        })
    };
    let lead_b = new_lead(&w.rep_b, "rb", 1, "Bea", "bea@example.com").await;

    // A made-up lead, and another office's lead: refused.
    let r = w
        .rep_a
        .push(
            "ra",
            numbered(vec![
                erasure(&id("lead"), "rep_a", &["bea@example.com"]),
                erasure(&lead_b, "rep_a", &["bea@example.com"]),
            ]),
        )
        .await
        .unwrap();
    let codes: Vec<_> = r.results.iter().map(|r| r.code.as_deref()).collect();
    assert_eq!(codes, [Some("unknown_lead"), Some("forbidden_office")]);

    // Its own lead, with a foreign hash slipped in: the erasure is applied, the server's own
    // hash goes to everyone, the slipped-in one only to office A.
    let lead_a = new_lead(&w.rep_a, "ra", 3, "Ada", "ada@example.com").await;
    // (Carried out by the office's manager: a rep records erasure requests only.)
    let r = w
        .mgr_a
        .push(
            "ma",
            numbered_from(
                1,
                vec![erasure(
                    &lead_a,
                    "mgr_a",
                    &["ada@example.com", "bea@example.com"],
                )],
            ),
        )
        .await
        .unwrap();
    assert_eq!(r.results[0].status, PushStatus::Applied, "{r:?}");
    let heard = |list: &[LeadErased], email: &str| {
        list.iter()
            .any(|e| e.suppression_hashes.contains(&hash(email)))
    };
    let (at_a, at_b) = (erasures(&w.rep_a).await, erasures(&w.rep_b).await);
    assert!(heard(&at_a, "ada@example.com") && heard(&at_b, "ada@example.com"));
    assert!(heard(&at_a, "bea@example.com"), "office A vouched for it");
    assert!(!heard(&at_b, "bea@example.com"), "office B never hears it");
    assert_eq!(
        intake_status(&w, &intake, "bea@example.com", None, "FR").await,
        IntakeStatus::Accepted,
        "Bea, routed to office B, is not suppressed"
    );
    assert_eq!(
        intake_status(&w, &intake, "bea@example.com", None, "DE").await,
        IntakeStatus::Suppressed,
        "within office A the erasing office's word stands"
    );
    assert_eq!(
        intake_status(&w, &intake, "ada@example.com", None, "FR").await,
        IntakeStatus::Suppressed,
        "what the server held is suppressed everywhere"
    );

    // Created offline and erased before the first push: PII-free groups, then the erasure
    // with hashes the server cannot check; they hold within office A only.
    let offline = id("lead");
    let r = w
        .mgr_a
        .push(
            "ma",
            numbered_from(
                2,
                vec![
                    office(&offline, "A", hlc(t0(), 0, "ma")),
                    set(
                        &offline,
                        LeadFields::Workflow {
                            status: LeadStatus::New,
                            owner: None,
                            next_follow_up_at: None,
                        },
                        hlc(t0(), 1, "ma"),
                    ),
                    erasure(&offline, "mgr_a", &["olga@example.com"]),
                ],
            ),
        )
        .await
        .unwrap();
    assert!(
        r.results.iter().all(|r| r.status == PushStatus::Applied),
        "{r:?}"
    );
    assert!(heard(&erasures(&w.rep_a).await, "olga@example.com"));
    assert!(!heard(&erasures(&w.rep_b).await, "olga@example.com"));
    assert_eq!(
        intake_status(&w, &intake, "olga@example.com", None, "DE").await,
        IntakeStatus::Suppressed
    );
    assert_eq!(
        intake_status(&w, &intake, "olga@example.com", None, "FR").await,
        IntakeStatus::Accepted
    );
}

both_backends!(erased_phones_are_checked_on_the_server_only, phone_secrecy);
/// Phone numbers are few enough to enumerate from a hash made with the key every rep holds, so
/// erased phones are hashed with a server-only key and never sent; the server checks them at
/// intake and on push, where a match is refused and the lead erased.
async fn phone_secrecy(options: TestOptions) {
    let w = World::start(options).await;
    let intake = w.server.intake_key().await.unwrap();
    let key = hex::decode(w.rep_a.login.suppression_key.expose()).unwrap();
    let phone = |lead: &str, number: &str, stamp: String| {
        set(
            lead,
            LeadFields::Phone {
                phone: Some(number.into()),
            },
            stamp,
        )
    };
    let lead = new_lead(&w.rep_a, "ra", 1, "Pia", "pia@example.com").await;
    let r = w
        .rep_a
        .push(
            "ra",
            numbered_from(3, vec![phone(&lead, "+4930123456", hlc(t0(), 5, "ra"))]),
        )
        .await
        .unwrap();
    assert_eq!(r.results[0].status, PushStatus::Applied, "{r:?}");
    let r = w
        .mgr_a
        .push(
            "ma",
            numbered(vec![Op::LeadErased(LeadErased {
                lead_id: lead.clone(),
                erased_at: t0(),
                by: "mgr_a".into(),
                suppression_hashes: vec![],
            })]),
        )
        .await
        .unwrap();
    assert_eq!(r.results[0].status, PushStatus::Applied, "{r:?}");

    // No replica, of any office, receives a phone hash; the email's arrives everywhere.
    let shared = switchboard_server::normalize::suppression_hash(
        &key,
        SuppressionKind::Phone,
        "+4930123456",
    );
    for client in [&w.rep_a, &w.rep_b, &w.admin] {
        let seen = erasures(client).await;
        assert!(seen
            .iter()
            .flat_map(|e| &e.suppression_hashes)
            .all(|h| h.kind == SuppressionKind::Email));
        assert!(!seen.is_empty());
        let text = serde_json::to_string(&everything(client).await).unwrap();
        assert!(!text.contains(&shared.hash));
    }
    // The server's record is not the shared-key hash a rep could compute.
    let stored: Vec<String> = w
        .server
        .inspect(|tx| {
            Ok(tx
                .query("SELECT hash FROM suppression WHERE kind = 'phone'", &[])?
                .iter()
                .filter_map(|r| switchboard_server::store::col_text(r, 0))
                .collect())
        })
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0], shared.hash);

    // The intake and pushes from any office are checked against it.
    assert_eq!(
        intake_status(&w, &intake, "new.pia@example.com", Some("030 123456"), "DE").await,
        IntakeStatus::Suppressed
    );
    let again = id("lead");
    let r = w
        .rep_b
        .push(
            "rb",
            numbered(vec![
                identity(&again, "Pia Again", hlc(t0(), 0, "rb")),
                phone(&again, "+4930123456", hlc(t0(), 1, "rb")),
            ]),
        )
        .await
        .unwrap();
    assert_eq!(r.results[0].status, PushStatus::Applied);
    assert_eq!(r.results[1].code.as_deref(), Some("suppressed"), "{r:?}");
    // The pushing office learns to purge the lead it created.
    assert!(erasures(&w.rep_b).await.iter().any(|e| e.lead_id == again));
    let text = serde_json::to_string(&everything(&w.rep_b).await).unwrap();
    assert!(!text.contains("Pia Again"));
}
