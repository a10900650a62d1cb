//! Issue 10, defect 2: rows that one side accepted blocked sync for ever, pull included. Through
//! the real `switchboard` binary and a real server over TLS: rows at the shared field limits and
//! an opt-out drain; rows over the limits are refused at import, or rejected locally when they
//! come from before the limits; a push that keeps failing never stops the pull; compliance
//! operations leave first, and an opt-out that reaches the server before its lead converges.

use crate::support;
use crate::sync_support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use support::Sandbox;
use switchboard_core::intake::{self, IntakeContext, RegistrationInput};
use switchboard_core::protocol::limits;
use switchboard_core::protocol::{ConsentScope, Op, PushOp, PushRequest, PushStatus};
use switchboard_core::{replica, FixedClock, Store};
use switchboard_sync::{engine, Progress, Secret, TrustAnchor};
use sync_support::{monday, Hub, PASSWORD};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One registration as a JSON Lines row with every field at its limit.
fn row_at_the_limits(i: usize) -> serde_json::Value {
    let field = |f: limits::Field, fill: char| fill.to_string().repeat(f.max_bytes());
    serde_json::json!({
        "submission_id": format!("web-{i:03}"),
        "kind": "trial",
        "name": format!("Person {i:03}"),
        "email": format!("person{i:03}@example.com"),
        "country": "DE",
        "address": field(limits::Field::Address, 'a'),
        "user_agent": field(limits::Field::UserAgent, 'u'),
        "referrer": format!("https://ref.example/{}", field(limits::Field::Referrer, 'r'))
            [..limits::Field::Referrer.max_bytes()]
            .to_string(),
        "pages_visited": limits::largest_pages(&format!("https://example.com/{i}")),
    })
}

/// `row_at_the_limits` with its longest fields in pseudo-random letters instead of one repeated
/// letter, so that compression (the compact wire form, protocol 4) cannot shrink a push of many
/// of them below a few hundred KiB.
fn varied_row_at_the_limits(i: usize) -> serde_json::Value {
    let mut row = row_at_the_limits(i);
    let mut state = 0x9e37_79b9_7f4a_7c15u64 ^ i as u64;
    for key in ["address", "user_agent"] {
        let len = row[key].as_str().unwrap().len();
        let text: String = (0..len)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1);
                (b'a' + (state >> 33) as u8 % 26) as char
            })
            .collect();
        row[key] = text.into();
    }
    row
}

/// A JSON Lines file of `rows`.
fn jsonl(rows: &[serde_json::Value]) -> String {
    rows.iter().map(|r| format!("{r}\n")).collect()
}

/// A laptop driven through the CLI: a sandbox database logged in (in-process, as `switchboard
/// login` would) to `url`, with the token handed to the binary through `SWITCHBOARD_TOKEN`.
async fn cli_laptop(url: &str, fingerprint: &str, user: &str) -> Sandbox {
    let mut sandbox = Sandbox::init();
    let token = {
        let mut store = Store::open_with_clock(
            &sandbox.db,
            Some(&support::test_key()),
            Arc::new(FixedClock::at(monday())),
        )
        .unwrap();
        let anchor = TrustAnchor::fingerprint(fingerprint).unwrap();
        engine::login(&mut store, url, &anchor, None, user, &Secret::new(PASSWORD))
            .await
            .unwrap()
            .token
    };
    sandbox.set_env("SWITCHBOARD_TOKEN", token.expose());
    sandbox.set_env("SWITCHBOARD_USER", user);
    sandbox
}

fn lead_of(sandbox: &Sandbox, email: &str) -> String {
    sandbox
        .sql()
        .query_row("SELECT id FROM lead WHERE email = ?1", [email], |r| {
            r.get(0)
        })
        .unwrap()
}

fn cursor(sandbox: &Sandbox) -> i64 {
    replica::state(&sandbox.sql()).unwrap().cursor
}

/// Runs a blocking CLI call off the async runtime (the server runs on it).
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eighty_rows_at_the_limits_and_an_opt_out_drain_and_reach_another_replica() {
    let hub = Hub::start().await;
    let rita = cli_laptop(&hub.server.url, &hub.server.fingerprint, "rita").await;
    let mut rows: Vec<serde_json::Value> = (0..80).map(row_at_the_limits).collect();
    // Two rows over the limits: refused at import, with their lines.
    let mut long_pages = row_at_the_limits(80);
    long_pages["pages_visited"][0] =
        format!("{}y", long_pages["pages_visited"][0].as_str().unwrap()).into();
    rows.push(long_pages);
    let mut long_email = row_at_the_limits(81);
    long_email["email"] = format!("{}@example.com", "e".repeat(250)).into();
    rows.push(long_email);
    let file = rita.write("web.jsonl", jsonl(&rows));
    let rita = Arc::new(rita);
    let r = rita.clone();
    let import = blocking(move || {
        r.run(&[
            "import",
            file.to_str().unwrap(),
            "--office",
            "BER",
            "--json",
        ])
    })
    .await;
    import.expect(2);
    let report = import.json();
    assert_eq!(report["created"], 80, "{report}");
    assert_eq!(report["rejected"], 2, "{report}");
    let errors = report["errors"].as_array().unwrap();
    assert_eq!(errors[0]["line"], 81);
    assert!(
        errors[0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("pages_visited is 16385 bytes long; the limit is 16384 bytes"),
        "{report}"
    );
    assert_eq!(errors[1]["line"], 82);
    assert!(
        errors[1]["reason"]
            .as_str()
            .unwrap()
            .starts_with("email is 262 bytes long; the limit is 254 bytes"),
        "{report}"
    );

    // Old data from before the limits, written straight into SQLite: one registration of 5 MB,
    // larger than the server's whole body limit.
    let old = rita
        .sql()
        .query_row(
            "SELECT id FROM registration WHERE submission_id = 'web-007'",
            [],
            |r| r.get::<_, String>(0),
        )
        .unwrap();
    let huge = serde_json::to_string(&vec!["h".repeat(5 * 1024 * 1024)]).unwrap();
    rita.sql()
        .execute(
            "UPDATE registration SET pages_visited = ?1 WHERE id = ?2",
            [&huge, &old],
        )
        .unwrap();

    // The opt-out is logged last, behind everything else.
    let r = rita.clone();
    blocking(move || {
        r.run(&["optout", "person000@example.com", "--channel", "all"])
            .ok();
    })
    .await;
    let lead = lead_of(&rita, "person000@example.com");

    let r = rita.clone();
    let sync = blocking(move || r.run(&["sync", "--json"])).await;
    sync.ok();
    let report = sync.json();
    assert_eq!(report["rejected"], 1, "{report}");
    let r = rita.clone();
    let status = blocking(move || r.json(&["status"])).await;
    assert_eq!(status["pending"], 0, "{status}");
    assert_eq!(status["rejected_total"], 1, "{status}");
    let rejected = &status["rejected"][0];
    assert_eq!(rejected["code"], "too_large", "{status}");
    assert_eq!(rejected["op_kind"], "registration_added");
    assert_eq!(rejected["entity_id"], old.as_str());
    assert!(cursor(&rita) > 0, "the pull ran");
    let r = rita.clone();
    let text = blocking(move || r.run(&["status"])).await;
    text.ok();
    assert!(
        text.stdout.contains("registration_added") && text.stdout.contains("too_large"),
        "{}",
        text.stdout
    );

    // The server holds the 79 other registrations and the opt-out.
    assert_eq!(
        hub.server_count("SELECT count(*) FROM record WHERE kind = 'registration'"),
        79
    );
    assert_eq!(
        hub.server_count("SELECT count(*) FROM record WHERE kind = 'consent_event'"),
        1
    );
    // Another laptop of the office has the opt-out: the gate refuses the call.
    let mut mona = hub.replica("mona").await;
    mona.sync().await;
    assert_eq!(
        mona.count(&format!(
            "SELECT count(*) FROM consent_event WHERE lead_id = '{lead}' AND action = 'opt_out'"
        )),
        1
    );
    assert!(!mona.may_call(&lead));
    assert_eq!(mona.count("SELECT count(*) FROM registration"), 79);
}

/// A TCP proxy that cuts every connection on which the client has sent more than `cap` bytes,
/// like a middlebox with a smaller body limit than the server's: a push of a large batch
/// breaks ("broken pipe"), while logins and pulls (small requests) pass. `cap` can be raised.
struct UploadCap {
    addr: SocketAddr,
    cap: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl UploadCap {
    async fn start(target: SocketAddr, cap: u64) -> UploadCap {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let cap = Arc::new(AtomicU64::new(cap));
        let limit = cap.clone();
        let task = tokio::spawn(async move {
            while let Ok((inbound, _)) = listener.accept().await {
                let limit = limit.clone();
                tokio::spawn(async move {
                    let Ok(outbound) = TcpStream::connect(target).await else {
                        return;
                    };
                    let (mut cr, mut cw) = inbound.into_split();
                    let (mut sr, mut sw) = outbound.into_split();
                    let upload = async {
                        let mut buf = vec![0u8; 16 * 1024];
                        let mut sent = 0u64;
                        loop {
                            let n = match cr.read(&mut buf).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => n,
                            };
                            sent += n as u64;
                            if sent > limit.load(Ordering::SeqCst)
                                || sw.write_all(&buf[..n]).await.is_err()
                            {
                                return;
                            }
                        }
                    };
                    let download = tokio::io::copy(&mut sr, &mut cw);
                    tokio::select! {
                        _ = upload => {}
                        _ = download => {}
                    }
                });
            }
        });
        UploadCap { addr, cap, task }
    }

    fn url(&self) -> String {
        format!("https://{}", self.addr)
    }
}

impl Drop for UploadCap {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_replicas_opt_outs_arrive_while_the_push_keeps_failing() {
    let hub = Hub::start().await;
    let mut mona = hub.replica("mona").await;
    let lena = mona.add_lead("Lena Berg", "lena@example.com", "+49301111111", "DE");
    mona.sync().await;

    let proxy = UploadCap::start(hub.server.addr, 64 * 1024).await;
    let rita = Arc::new(cli_laptop(&proxy.url(), &hub.server.fingerprint, "rita").await);
    let file = rita.write(
        "web.jsonl",
        jsonl(&(0..80).map(varied_row_at_the_limits).collect::<Vec<_>>()),
    );
    let r = rita.clone();
    blocking(move || {
        r.run(&["import", file.to_str().unwrap(), "--office", "BER"])
            .ok();
    })
    .await;
    let pending = replica::status(&rita.sql()).unwrap().pending;
    assert!(pending >= 80, "{pending}");

    // Another laptop records an opt-out and pushes it.
    mona.opt_out(&lena, ConsentScope::All);
    mona.sync().await;

    for attempt in 0..2 {
        let r = rita.clone();
        let run = blocking(move || r.run(&["sync"])).await;
        assert_ne!(
            run.code, 0,
            "attempt {attempt}: the push cannot pass the proxy"
        );
        run.stderr_mentions(&["cannot reach the server"]);
        // The pull ran all the same: the opt-out is here and the gate refuses the call.
        assert!(cursor(&rita) > 0, "attempt {attempt}");
        assert_eq!(
            rita.sql()
                .query_row(
                    "SELECT count(*) FROM consent_event WHERE lead_id = ?1",
                    [&lena],
                    |r| r.get::<_, i64>(0)
                )
                .unwrap(),
            1
        );
        let r = rita.clone();
        let lead = lena.clone();
        blocking(move || r.run(&["can-contact", &lead, "--channel", "phone"]))
            .await
            .expect(3);
        assert_eq!(replica::status(&rita.sql()).unwrap().pending, pending);
    }
    let status = replica::state(&rita.sql()).unwrap();
    assert!(
        status
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("cannot reach the server")),
        "{status:?}"
    );

    // Once the link lets pushes through, everything drains.
    proxy.cap.store(u64::MAX, Ordering::SeqCst);
    let r = rita.clone();
    blocking(move || {
        r.run(&["sync"]).ok();
    })
    .await;
    assert_eq!(replica::status(&rita.sql()).unwrap().pending, 0);
    assert_eq!(
        hub.server_count("SELECT count(*) FROM record WHERE kind = 'registration'"),
        80
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_opt_out_after_5000_queued_follow_ups_is_on_the_server_after_the_first_batch() {
    let hub = Hub::start().await;
    let mut rita = hub.replica("rita").await;
    let lead = rita.add_lead("Lena Berg", "lena@example.com", "+49301111111", "DE");
    rita.sync().await;
    for i in 0..5000 {
        rita.clock.set(monday());
        rita.call(&lead, &format!("call {i}: no answer"));
    }
    rita.opt_out(&lead, ConsentScope::All);
    let mut batches = 0;
    let mut on_server_after_first = None;
    let mut follow_ups_after_first = 0;
    engine::sync_once(&mut rita.store, &rita.client, &rita.token, &mut |p| {
        if let Progress::Pushed { .. } = p {
            batches += 1;
            if batches == 1 {
                on_server_after_first = Some(
                    hub.server_count("SELECT count(*) FROM record WHERE kind = 'consent_event'"),
                );
                follow_ups_after_first =
                    hub.server_count("SELECT count(*) FROM record WHERE kind = 'follow_up'");
            }
        }
    })
    .await
    .unwrap();
    assert!(batches >= 5, "{batches} batches");
    assert_eq!(on_server_after_first, Some(1));
    assert!(follow_ups_after_first < 5000, "{follow_ups_after_first}");
    assert_eq!(
        hub.server_count("SELECT count(*) FROM record WHERE kind = 'follow_up'"),
        5000
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_opt_out_pushed_before_its_lead_converges() {
    let hub = Hub::start().await;
    // A rep's new lead (the server creates it in her office) and an admin's (no office of
    // hers: the skeleton is in the admin bucket until the office group moves it).
    let mut rita = hub.replica("rita").await;
    let mut ada = hub.replica("ada").await;
    let a = rita.add_lead("Ann Rep", "ann@example.com", "+49302222222", "DE");
    rita.call(&a, "first call");
    rita.opt_out(&a, ConsentScope::All);
    let b = ada.add_lead("Bea Admin", "bea@example.com", "+49303333333", "DE");
    ada.opt_out(&b, ConsentScope::Phone);
    // A lead created and erased offline: its creation still reaches the server before its
    // erasure, which is accepted only for a lead the server holds.
    // (Ada, an admin, carries erasures out; a rep records the request.)
    let c = ada.add_lead("Cem Gone", "cem@example.com", "+49304444444", "DE");
    ada.erase(&c);
    // A replica sends a new lead's field groups just ahead of its consent events, ahead of
    // everything else.
    for r in [&rita, &ada] {
        let ops = replica::pending_ops(r.store.conn(), 1000).unwrap();
        let kinds: Vec<&str> = ops.iter().map(|(_, op)| op.kind()).collect();
        let consent = kinds.iter().position(|k| *k == "consent_recorded").unwrap();
        assert!(consent >= 6, "{kinds:?}");
        assert!(
            kinds[..consent].iter().all(|k| *k == "lead_fields_set"),
            "{kinds:?}"
        );
    }
    // The server may still hear of a consent event first (a push cut between batches, an
    // older replica): send each opt-out alone before anything else.
    for r in [&rita, &ada] {
        let ops: Vec<PushOp> = replica::pending_ops(r.store.conn(), 1000)
            .unwrap()
            .into_iter()
            .filter(|(_, op)| matches!(op, Op::ConsentRecorded(_)))
            .map(|(seq, op)| PushOp { seq, op })
            .collect();
        assert_eq!(ops.len(), 1);
        let request = PushRequest {
            replica_id: replica::status(r.store.conn()).unwrap().replica_id,
            ops,
        };
        let answer = r.client.push(&r.token, &request).await.unwrap();
        assert_eq!(answer.results[0].status, PushStatus::Applied, "{answer:?}");
    }
    rita.sync().await;
    ada.sync().await;
    rita.sync().await;
    let mut mona = hub.replica("mona").await;
    mona.sync().await;
    let mut ada2 = hub.replica("ada").await;
    ada2.sync().await;
    // Live leads alike everywhere (a replica that first syncs after an erasure learns only the
    // erasure: its skeleton has no office or country, by design).
    let live = |r: &sync_support::Replica| {
        let mut s = r.snapshot();
        s.leads.retain(|l| !l.contains("|erased|"));
        s
    };
    assert_eq!(live(&mona), live(&rita));
    assert_eq!(live(&ada2), live(&ada));
    assert!(!mona.may_call(&a));
    assert!(!mona.may_call(&b));
    assert_eq!(
        rita.count("SELECT count(*) FROM sync_rejected"),
        0,
        "{:?}",
        replica::status(rita.store.conn()).unwrap().rejected
    );
    assert_eq!(ada.count("SELECT count(*) FROM sync_rejected"), 0);
    assert_eq!(
        mona.count(&format!(
            "SELECT count(*) FROM lead WHERE id = '{c}' AND status = 'erased' AND name IS NULL"
        )),
        1
    );
    assert_eq!(
        mona.count(&format!(
            "SELECT count(*) FROM lead WHERE id IN ('{a}', '{b}') AND office = 'BER' \
             AND name IS NOT NULL AND email IS NOT NULL"
        )),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_over_long_registration_is_refused_alike_by_the_core_the_import_and_the_server() {
    let hub = Hub::start().await;
    let long_agent = "u".repeat(limits::Field::UserAgent.max_bytes() + 1);
    let expected = format!(
        "user_agent is {} bytes long; the limit is {} bytes (shorten it or leave it out)",
        long_agent.len(),
        limits::Field::UserAgent.max_bytes()
    );

    // The core's intake (the window and the CLI record through it).
    let mut store = Store::open_in_memory(Arc::new(FixedClock::at(monday()))).unwrap();
    let input = RegistrationInput {
        submission_id: Some("s-1".into()),
        details: switchboard_protocol::RegistrationDetails {
            name: Some("Ann Example".into()),
            email: Some("ann@example.com".into()),
            user_agent: Some(long_agent.clone()),
            ..Default::default()
        },
        ..RegistrationInput::default()
    };
    let at = monday();
    let err = store
        .with_tx(|tx| {
            let ctx = IntakeContext::new(tx, None, at, "test")?;
            intake::record(tx, &input, &ctx)
        })
        .unwrap_err();
    assert_eq!(err.code(), "bad_input");
    assert_eq!(err.to_string(), expected);

    // The import, through the binary: the same words, with the line.
    let sandbox = Arc::new(Sandbox::init());
    let file = sandbox.write(
        "one.jsonl",
        format!(
            "{}\n{}\n",
            serde_json::json!({"submission_id": "s-0", "name": "Bo", "email": "bo@example.com"}),
            serde_json::json!({"submission_id": "s-1", "name": "Ann Example",
                "email": "ann@example.com", "user_agent": long_agent}),
        ),
    );
    let s = sandbox.clone();
    let run = blocking(move || s.run(&["import", file.to_str().unwrap(), "--json"])).await;
    run.expect(2);
    let report = run.json();
    assert_eq!(report["errors"][0]["line"], 2, "{report}");
    assert_eq!(report["errors"][0]["reason"], expected.as_str());

    // The server's intake, over HTTPS.
    let key = hub.server.intake_key().await.unwrap();
    let response = hub
        .server
        .http()
        .post(format!("{}/v1/registrations", hub.server.url))
        .bearer_auth(key.expose())
        .json(&serde_json::json!({
            "submission_id": "s-1", "kind": "trial", "submitted_at": "2026-03-01T10:00:00Z",
            "name": "Ann Example", "email": "ann@example.com", "user_agent": long_agent,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 422);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "invalid");
    assert_eq!(body["message"], expected.as_str());

    // An invalid email next to a valid phone: refused on both sides too.
    let bad = RegistrationInput {
        details: switchboard_protocol::RegistrationDetails {
            email: Some("ann-at-example.com".into()),
            phone: Some("+49 30 1234567".into()),
            user_agent: None,
            ..input.details
        },
        ..input
    };
    let core_err = store
        .with_tx(|tx| {
            let ctx = IntakeContext::new(tx, None, at, "test")?;
            intake::record(tx, &bad, &ctx)
        })
        .unwrap_err()
        .to_string();
    let response = hub
        .server
        .http()
        .post(format!("{}/v1/registrations", hub.server.url))
        .bearer_auth(key.expose())
        .json(&serde_json::json!({
            "submission_id": "s-2", "kind": "trial", "submitted_at": "2026-03-01T10:00:00Z",
            "name": "Ann Example", "email": "ann-at-example.com", "phone": "+49 30 1234567",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 422);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["message"], core_err.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_body_over_the_limit_is_answered_413_naming_the_limit() {
    let hub = Hub::start().await;
    let api = hub.server.login("rita", PASSWORD).await.unwrap();
    let body = format!(
        "{{\"replica_id\":\"r\",\"ops\":[],\"pad\":\"{}\"}}",
        "x".repeat(limits::PUSH_BODY_LIMIT)
    );
    let response = hub
        .server
        .http()
        .post(format!("{}/v1/push", hub.server.url))
        .bearer_auth(api.token.expose())
        .header("content-type", "application/json")
        .header(
            "x-switchboard-protocol",
            switchboard_core::protocol::PROTOCOL_VERSION.to_string(),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 413);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["code"], "payload_too_large");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("4194304 bytes"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_data_over_a_field_limit_is_refused_by_the_server_and_blocks_nothing() {
    let hub = Hub::start().await;
    let mut rita = hub.replica("rita").await;
    let lead = rita.add_lead("Lena Berg", "lena@example.com", "+49301111111", "DE");
    let old = rita.call(&lead, "short");
    rita.call(&lead, "another short one");
    // A note from before the limits (8 KiB now), written straight into SQLite: small enough to
    // push, over the limit the server applies like every intake.
    let long = "n".repeat(limits::MAX_NOTE_BYTES + 1);
    rita.store
        .conn()
        .execute(
            "UPDATE follow_up SET note = ?1 WHERE id = ?2",
            [long.as_str(), old.as_str()],
        )
        .unwrap();
    let report = rita.sync().await;
    assert_eq!(report.rejected, 1, "{report:?}");
    let status = replica::status(rita.store.conn()).unwrap();
    assert_eq!(status.pending, 0);
    let r = &status.rejected[0];
    assert_eq!(r.code.as_deref(), Some("too_large"));
    assert_eq!(r.entity_id.as_deref(), Some(old.as_str()));
    assert_eq!(
        r.reason,
        format!(
            "note is {} bytes long; the limit is {} bytes (shorten it or leave it out)",
            long.len(),
            limits::MAX_NOTE_BYTES
        )
    );
    assert_eq!(
        hub.server_count("SELECT count(*) FROM record WHERE kind = 'follow_up'"),
        1
    );
}
