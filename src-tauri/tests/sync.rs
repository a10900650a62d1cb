//! Sign-in and background sync through Tauri's mock runtime, against a real central store
//! (HTTPS on 127.0.0.1:0 with a self-signed certificate) and the keyring mock store.

use crate::common;

use common::{build, invoke, window};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use switchboard_core::protocol::{Op, Role};
use switchboard_core::Store;
use switchboard_desktop::background_sync::{SyncEvent, SyncService};
use switchboard_sync::keychain::Keychain;
use switchboard_sync::SyncError;
use switchboard_test_support::{TestOptions, TestServer};
use tauri::test::{mock_builder, MockRuntime};
use tauri::{App, Manager, WebviewWindow};

const PASSWORD: &str = "correct horse battery staple";

/// A central store with office BER (DE), a route for DE, rep `rita` and manager `mona`; the
/// tokio runtime serving it lives as long as the returned value.
struct Central {
    rt: tokio::runtime::Runtime,
    server: TestServer,
}

impl Central {
    fn start() -> Central {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let server = rt.block_on(async {
            let server = TestServer::start(TestOptions::default()).await.unwrap();
            server.add_office("BER", "DE").await.unwrap();
            server.add_route("DE", "BER").await.unwrap();
            server
                .add_user("rita", Role::Rep, Some("BER"), PASSWORD)
                .await
                .unwrap();
            server
                .add_user("mona", Role::Manager, Some("BER"), PASSWORD)
                .await
                .unwrap();
            // mona manages PAR too (protocol 5): the window names both offices.
            server.add_office("PAR", "FR").await.unwrap();
            switchboard_server::roles::add_office_and_catch_up(&*server.store(), "mona", "PAR")
                .unwrap();
            server
        });
        Central { rt, server }
    }

    /// Registers a person through the website intake.
    fn intake(&self, submission: &str, name: &str, email: &str) -> Value {
        self.rt.block_on(async {
            let key = self.server.intake_key().await.unwrap();
            let answer = self
                .server
                .http()
                .post(format!("{}/v1/registrations", self.server.url))
                .bearer_auth(key.expose())
                .json(&json!({
                    "submission_id": submission,
                    "kind": "info_request",
                    "submitted_at": "2026-03-01T08:00:00Z",
                    "name": name,
                    "email": email,
                    "country": "DE"
                }))
                .send()
                .await
                .unwrap();
            assert!(answer.status().is_success(), "{}", answer.status());
            answer.json().await.unwrap()
        })
    }

    /// Every follow-up note the manager's account sees on the server.
    fn notes_on_server(&self) -> Vec<String> {
        self.rt.block_on(async {
            let api = self.server.login("mona", PASSWORD).await.unwrap();
            let (changes, _) = api.pull_all(0).await.unwrap();
            changes
                .into_iter()
                .filter_map(|c| match c.op {
                    Op::FollowUpLogged(f) => f.note,
                    _ => None,
                })
                .collect()
        })
    }
}

/// The window over a database file in `dir`, tokens kept in `keychain`.
fn app(dir: &tempfile::TempDir, keychain: &Keychain) -> App<MockRuntime> {
    let store = Store::open(&dir.path().join("desktop.db"), None).unwrap();
    let app = build(switchboard_desktop::with_app_state(mock_builder(), store));
    let sync = app.state::<SyncService>();
    let keychain = keychain.clone();
    sync.use_keychain(move || Ok(keychain.clone()));
    sync.use_env_token(None);
    app
}

fn mock_keychain() -> Keychain {
    Keychain::with_store(keyring_core::mock::Store::new().unwrap())
}

fn sign_in(
    window: &WebviewWindow<MockRuntime>,
    server: &TestServer,
    user: &str,
    password: &str,
    pin: &str,
) -> Result<Value, Value> {
    invoke(
        window,
        "sync_sign_in",
        json!({"serverUrl": server.url, "fingerprint": pin, "user": user, "password": password}),
    )
}

/// Signs rita in, trusting the server's own fingerprint, and waits until the window is online.
fn sign_in_online(window: &WebviewWindow<MockRuntime>, central: &Central) {
    sign_in(
        window,
        &central.server,
        "rita",
        PASSWORD,
        &central.server.fingerprint,
    )
    .unwrap();
    wait_status(window, 15, "online", |s| s["connection"] == "online");
}

/// Polls the status command until `done` holds, or fails after `secs` seconds.
fn wait_status(
    window: &WebviewWindow<MockRuntime>,
    secs: u64,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let status = invoke(window, "sync_status", json!({})).unwrap();
        if done(&status) {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {status}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Bytes of the database file and its WAL, to prove the token is not in them.
fn database_bytes(dir: &tempfile::TempDir) -> Vec<u8> {
    let mut bytes = Vec::new();
    for name in ["desktop.db", "desktop.db-wal"] {
        if let Ok(b) = std::fs::read(dir.path().join(name)) {
            bytes.extend(b);
        }
    }
    bytes
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn before_sign_in_the_status_is_signed_out_and_the_app_works_offline() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(&dir, &mock_keychain());
    let main = window(&app, "main");
    app.state::<SyncService>().start();
    let status = invoke(&main, "sync_status", json!({})).unwrap();
    assert_eq!(status["connection"], "signed_out", "{status}");
    assert_eq!(status["server_url"], Value::Null);
    assert_eq!(status["pending"], 0);
    assert_eq!(status["rejected"], json!([]));
    assert!(!app.state::<SyncService>().running());
}

/// A window over `file` in `dir` acting as the OS user `jsmith` (a rep), or as that user named on
/// purpose when `named`.
fn app_as_jsmith(
    dir: &tempfile::TempDir,
    file: &str,
    keychain: &Keychain,
    named: bool,
) -> App<MockRuntime> {
    use switchboard_desktop::commands::{Acting, Session};
    let store = Store::open(&dir.path().join(file), None).unwrap();
    let jsmith = Session {
        actor: "jsmith".into(),
        role: Role::Rep,
    };
    let builder =
        switchboard_desktop::with_acting(mock_builder(), store, Acting::new(jsmith, named));
    let app = build(builder);
    let sync = app.state::<SyncService>();
    let keychain = keychain.clone();
    sync.use_keychain(move || Ok(keychain.clone()));
    sync.use_env_token(None);
    app
}

/// A running office and a fresh window (`desktop.db`) acting as the OS user jsmith.
fn jsmith_window_of_an_office() -> (Central, tempfile::TempDir, Keychain, App<MockRuntime>) {
    let central = Central::start();
    let dir = tempfile::tempdir().unwrap();
    let keychain = mock_keychain();
    let app = app_as_jsmith(&dir, "desktop.db", &keychain, false);
    (central, dir, keychain, app)
}

/// Who the window says it acts as (`session_info`).
fn who(window: &WebviewWindow<MockRuntime>) -> Value {
    invoke(window, "session_info", json!({})).unwrap()
}

#[test]
fn the_signed_in_account_is_who_the_window_acts_as_until_sign_out() {
    let (central, dir, keychain, app) = jsmith_window_of_an_office();
    let main = window(&app, "main");
    assert_eq!(
        who(&main),
        json!({"actor": "jsmith", "role": "rep", "offices": []})
    );

    let fingerprint = central.server.fingerprint.clone();
    sign_in(&main, &central.server, "mona", PASSWORD, &fingerprint).unwrap();
    // The office knows her as mona, a manager: her writes carry that name, and the window is hers.
    assert_eq!(
        who(&main),
        json!({"actor": "mona", "role": "manager", "offices": ["BER", "PAR"]})
    );

    // Started again on the same replica, the window is still hers.
    let again = app_as_jsmith(&dir, "desktop.db", &keychain, false);
    assert_eq!(
        who(&window(&again, "main")),
        json!({"actor": "mona", "role": "manager", "offices": ["BER", "PAR"]})
    );
    // A user named on purpose (SWITCHBOARD_USER) stays who they are, over the offices the
    // replica holds.
    let named = app_as_jsmith(&dir, "desktop.db", &keychain, true);
    assert_eq!(
        who(&window(&named, "main")),
        json!({"actor": "jsmith", "role": "rep", "offices": ["BER", "PAR"]})
    );

    invoke(&main, "sync_sign_out", json!({})).unwrap();
    assert_eq!(
        who(&main),
        json!({"actor": "jsmith", "role": "rep", "offices": []})
    );
    // Signed out, a restart is jsmith's too; the form still offers mona's name to sign in again.
    let after = app_as_jsmith(&dir, "desktop.db", &keychain, false);
    let after = window(&after, "main");
    assert_eq!(
        who(&after),
        json!({"actor": "jsmith", "role": "rep", "offices": []})
    );
    let status = invoke(&after, "sync_status", json!({})).unwrap();
    assert_eq!(status["user"], "mona");
}

#[test]
fn after_a_remote_wipe_the_window_no_longer_names_the_account() {
    let (central, _dir, _keychain, app) = jsmith_window_of_an_office();
    let main = window(&app, "main");
    let fingerprint = central.server.fingerprint.clone();
    sign_in(&main, &central.server, "mona", PASSWORD, &fingerprint).unwrap();
    wait_status(&main, 15, "online", |s| s["connection"] == "online");
    assert_eq!(
        who(&main),
        json!({"actor": "mona", "role": "manager", "offices": ["BER", "PAR"]})
    );

    // Her devices are revoked: the next sync erases the replica and signs the window out; the
    // header (session_info, asked again after every change) no longer names her.
    central
        .rt
        .block_on(central.server.revoke_user("mona"))
        .unwrap();
    invoke(&main, "sync_now", json!({})).unwrap();
    let status = wait_status(&main, 15, "the refusal", |s| {
        s["connection"] == "signed_out"
    });
    assert!(
        status["last_error"].as_str().unwrap().contains("erased"),
        "{status}"
    );
    assert_eq!(
        who(&main),
        json!({"actor": "jsmith", "role": "rep", "offices": []})
    );
}

#[test]
fn the_probe_shows_the_fingerprint_init_printed() {
    let central = Central::start();
    let dir = tempfile::tempdir().unwrap();
    let app = app(&dir, &mock_keychain());
    let main = window(&app, "main");
    let probe = invoke(
        &main,
        "sync_probe",
        json!({"serverUrl": central.server.url}),
    )
    .unwrap();
    assert_eq!(probe["fingerprint"], central.server.fingerprint.as_str());
    let plain = invoke(
        &main,
        "sync_probe",
        json!({"serverUrl": central.server.url.replace("https", "http")}),
    )
    .unwrap_err();
    assert_eq!(plain["code"], "bad_input", "{plain}");
}

#[test]
fn sign_in_errors_say_what_went_wrong_and_store_nothing() {
    let central = Central::start();
    let dir = tempfile::tempdir().unwrap();
    let keychain = mock_keychain();
    let app = app(&dir, &keychain);
    let main = window(&app, "main");
    let pin = central.server.fingerprint.clone();

    let wrong = sign_in(&main, &central.server, "rita", "not the password", &pin).unwrap_err();
    assert_eq!(wrong["code"], "unauthorized", "{wrong}");
    assert!(
        wrong["message"].as_str().unwrap().contains("password"),
        "{wrong}"
    );

    let other_pin = vec!["AB"; 32].join(":");
    let mismatch = sign_in(&main, &central.server, "rita", PASSWORD, &other_pin).unwrap_err();
    assert_eq!(mismatch["code"], "fingerprint_mismatch", "{mismatch}");
    assert!(
        mismatch["message"].as_str().unwrap().contains(&pin),
        "{mismatch}"
    );

    let missing = sign_in(&main, &central.server, "rita", PASSWORD, "").unwrap_err();
    assert_eq!(missing["code"], "bad_input", "{missing}");

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let unreachable = invoke(
        &main,
        "sync_sign_in",
        json!({"serverUrl": format!("https://127.0.0.1:{port}"), "fingerprint": pin,
               "user": "rita", "password": PASSWORD}),
    )
    .unwrap_err();
    assert_eq!(unreachable["code"], "network", "{unreachable}");
    assert!(
        unreachable["message"]
            .as_str()
            .unwrap()
            .contains("Cannot reach"),
        "{unreachable}"
    );

    app.state::<SyncService>()
        .use_keychain(|| Err(SyncError::Keychain("no Secret Service on the bus".into())));
    let no_keychain = sign_in(&main, &central.server, "rita", PASSWORD, &pin).unwrap_err();
    assert_eq!(no_keychain["code"], "keychain", "{no_keychain}");
    assert!(
        no_keychain["message"]
            .as_str()
            .unwrap()
            .contains("SWITCHBOARD_TOKEN"),
        "{no_keychain}"
    );

    let status = invoke(&main, "sync_status", json!({})).unwrap();
    assert_eq!(status["server_url"], Value::Null, "{status}");
    assert_eq!(keychain.load("rita", &central.server.url).unwrap(), None);
}

#[test]
fn signed_in_the_window_syncs_both_ways_and_the_token_stays_in_the_keychain() {
    let central = Central::start();
    let dir = tempfile::tempdir().unwrap();
    let keychain = mock_keychain();
    let app = app(&dir, &keychain);
    let main = window(&app, "main");
    let heard = Arc::new(Mutex::new(Vec::<SyncEvent>::new()));
    let sink = heard.clone();
    app.state::<SyncService>().subscribe(move |event| {
        sink.lock().unwrap().push(event.clone());
        true
    });
    central.intake("web-1", "Ada Early", "ada.early@example.com");

    let status = sign_in(
        &main,
        &central.server,
        "rita",
        PASSWORD,
        &central.server.fingerprint,
    )
    .unwrap();
    assert_eq!(status["user"], "rita");
    assert_eq!(status["office"], "BER");
    let token = keychain
        .load("rita", &central.server.url)
        .unwrap()
        .expect("the token is in the keychain");
    assert!(
        !contains(&database_bytes(&dir), token.expose().as_bytes()),
        "the token must not be in the database"
    );
    assert!(!status.to_string().contains(token.expose()));
    wait_status(&main, 15, "online", |s| s["connection"] == "online");
    let first = invoke(&main, "queue_next", json!({"queue": "new"})).unwrap();
    assert_eq!(first["lead"]["name"], "Ada Early", "{first}");

    // A registration on the server reaches the open window, and the window hears of it.
    heard.lock().unwrap().clear();
    let started = Instant::now();
    central.intake("web-2", "Bo Later", "bo.later@example.com");
    let deadline = started + Duration::from_secs(10);
    while !heard
        .lock()
        .unwrap()
        .iter()
        .any(|e| matches!(e, SyncEvent::Changed { .. }))
    {
        assert!(Instant::now() < deadline, "no change event within 10 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    let waited = started.elapsed();
    assert!(
        waited < Duration::from_secs(5),
        "the change took {waited:?}"
    );
    let page = invoke(&main, "new_queue_page", json!({"offset": 0, "limit": 10})).unwrap();
    assert!(page.to_string().contains("Bo Later"), "{page}");

    // A follow-up logged in the window leaves for the server by itself.
    invoke(
        &main,
        "log_follow_up",
        json!({"lead": first["lead"]["id"], "channel": "email", "outcome": "sent",
               "note": "sent the brochure from the window", "nextFollowUpAt": null}),
    )
    .unwrap();
    wait_status(&main, 10, "the push", |s| {
        s["pending"] == 0 && s["connection"] == "online"
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    while !central
        .notes_on_server()
        .contains(&"sent the brochure from the window".to_string())
    {
        assert!(
            Instant::now() < deadline,
            "the follow-up never reached the server"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // Sign out: the token leaves the keychain, syncing stops, the data stays.
    invoke(&main, "sync_sign_out", json!({})).unwrap();
    assert_eq!(keychain.load("rita", &central.server.url).unwrap(), None);
    let status = invoke(&main, "sync_status", json!({})).unwrap();
    assert_eq!(status["connection"], "signed_out", "{status}");
    assert!(!app.state::<SyncService>().running());
    let page = invoke(&main, "new_queue_page", json!({"offset": 0, "limit": 10})).unwrap();
    assert!(page.to_string().contains("Bo Later"), "{page}");
}

#[test]
fn switchboard_token_overrides_the_keychain_at_start() {
    let central = Central::start();
    central.intake("web-1", "Vera Verloren", "vera@example.com");
    let dir = tempfile::tempdir().unwrap();
    let keychain = mock_keychain();
    {
        let app = app(&dir, &keychain);
        let main = window(&app, "main");
        sign_in_online(&main, &central);
        tauri::async_runtime::block_on(app.state::<SyncService>().stop());
    }
    let token = keychain.load("rita", &central.server.url).unwrap().unwrap();
    // A later start with an empty keychain: the variable alone signs the window in.
    let app = app(&dir, &mock_keychain());
    let main = window(&app, "main");
    let sync = app.state::<SyncService>();
    sync.start();
    assert_eq!(
        invoke(&main, "sync_status", json!({})).unwrap()["connection"],
        "signed_out"
    );
    sync.use_env_token(Some(token.expose().to_string()));
    sync.start();
    let status = wait_status(&main, 15, "online", |s| s["connection"] == "online");
    assert_eq!(status["token_from_env"], true);
    let page = invoke(&main, "new_queue_page", json!({"offset": 0, "limit": 10})).unwrap();
    assert!(page.to_string().contains("Vera Verloren"), "{page}");
    // A revoked user has every device revoked: "Sync now" erases this computer's replica and
    // says who removed it and to sign in again.
    central
        .rt
        .block_on(central.server.revoke_user("rita"))
        .unwrap();
    invoke(&main, "sync_now", json!({})).unwrap();
    let status = wait_status(&main, 15, "the refusal", |s| {
        s["connection"] == "signed_out"
    });
    let said = status["last_error"].as_str().unwrap();
    for words in ["removed from Switchboard", "erased", "sign in again"] {
        assert!(said.contains(words), "{words:?}: {status}");
    }
    // The replica was erased and the window reopened an empty one at the same path: no file
    // the window left holds her, and its screens no longer show her.
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            !bytes.windows(5).any(|w| w == b"Vera "),
            "{} still holds the erased replica's data",
            path.display()
        );
    }
    assert!(!dir.path().join("desktop.db.replica").exists());
    let page = invoke(&main, "new_queue_page", json!({"offset": 0, "limit": 10})).unwrap();
    assert!(!page.to_string().contains("Vera Verloren"), "{page}");
}

#[test]
fn offline_the_window_keeps_working_and_says_so() {
    let central = Central::start();
    central.intake("web-1", "Ada Early", "ada.early@example.com");
    let dir = tempfile::tempdir().unwrap();
    let app = app(&dir, &mock_keychain());
    let main = window(&app, "main");
    sign_in_online(&main, &central);
    let lead = invoke(&main, "queue_next", json!({"queue": "new"})).unwrap();

    // The server goes away (its open long-poll may linger; new connections are refused).
    let Central { rt, server } = central;
    rt.block_on(async {
        let _ = tokio::time::timeout(Duration::from_secs(3), server.stop()).await;
    });
    invoke(
        &main,
        "log_follow_up",
        json!({"lead": lead["lead"]["id"], "channel": "email", "outcome": "sent",
               "note": "logged while offline", "nextFollowUpAt": null}),
    )
    .unwrap();
    let status = wait_status(&main, 15, "offline", |s| s["connection"] == "offline");
    assert!(status["pending"].as_u64().unwrap() > 0, "{status}");
    assert!(
        status["last_error"]
            .as_str()
            .unwrap()
            .contains("cannot reach"),
        "{status}"
    );
    // Everything else keeps working, "Sync now" included.
    invoke(&main, "sync_now", json!({})).unwrap();
    let history = invoke(&main, "lead_detail", json!({"id": lead["lead"]["id"]})).unwrap();
    assert!(history.to_string().contains("logged while offline"));
    drop(rt);
}

/// A TCP forwarder on 127.0.0.1 whose target can change: `switch` cuts every forwarded
/// connection, so the client's next connection meets the new target.
struct Forwarder {
    url: String,
    target: Arc<Mutex<std::net::SocketAddr>>,
    open: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Forwarder {
    fn start(rt: &tokio::runtime::Runtime, target: std::net::SocketAddr) -> Forwarder {
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let url = format!("https://{}", listener.local_addr().unwrap());
        let target = Arc::new(Mutex::new(target));
        let open = Arc::new(Mutex::new(Vec::new()));
        let (to, conns) = (target.clone(), open.clone());
        rt.spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let addr = *to.lock().unwrap();
                let task = tokio::spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(addr).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                conns.lock().unwrap().push(task);
            }
        });
        Forwarder { url, target, open }
    }

    fn switch(&self, target: std::net::SocketAddr) {
        *self.target.lock().unwrap() = target;
        for task in self.open.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}

#[test]
fn a_server_with_another_certificate_is_named_in_the_sync_status() {
    let central = Central::start();
    // Another server (another certificate) that will answer at the same address.
    let impostor = central
        .rt
        .block_on(TestServer::start(TestOptions::default()))
        .unwrap();
    let forwarder = Forwarder::start(&central.rt, central.server.addr);
    let dir = tempfile::tempdir().unwrap();
    let app = app(&dir, &mock_keychain());
    let main = window(&app, "main");
    invoke(
        &main,
        "sync_sign_in",
        json!({"serverUrl": forwarder.url, "fingerprint": central.server.fingerprint,
               "user": "rita", "password": PASSWORD}),
    )
    .unwrap();
    wait_status(&main, 15, "online", |s| s["connection"] == "online");

    forwarder.switch(impostor.addr);
    let status = wait_status(&main, 30, "the certificate error", |s| {
        s["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("presented certificate"))
    });
    let error = status["last_error"].as_str().unwrap();
    assert!(error.contains(&impostor.fingerprint), "{status}");
    assert!(error.contains(&central.server.fingerprint), "{status}");
    assert!(error.contains("sign in again"), "{status}");
    assert!(!error.contains("cannot reach"), "{status}");
    assert_eq!(status["connection"], "offline", "{status}");
}

/// A Tauri signature naming version 0.2.0 (`tauri signer sign --app-version 0.2.0`) by a key
/// this build does not trust.
const SIG_FOR_0_2_0: &str = "dW50cnVzdGVkIGNvbW1lbnQ6IHNpZ25hdHVyZSBmcm9tIHRhdXJpIHNlY3JldCBrZXkKUlVUcEVTeUlDcUt5SDhpSTRtZWtCaFJ4eFJNa1o0WGRsNVdDNEJYcVBLdEVGc3dGb0RNUmlWcWk3eVV3M1JaVW9mbHhqVFhnWkI5c2dLdHo3bjNEMTlDcVFhamxpbVVGWEFNPQp0cnVzdGVkIGNvbW1lbnQ6IHRpbWVzdGFtcDoxNzk2NDg0NTY2CWZpbGU6Zi5kZWIJdmVyc2lvbjowLjIuMAp0SkJSSjFyYzBDd1hqOHRBd0tuYlpFZ3d0RGE3YjNuenZyQTZ0eXdDMzhtMmV4QkRpcmRSM0hPN3NGZXIwY3duTSs3djdVUlI2QXpFMlkySjl2ZnJEUT09Cg==";

#[test]
fn the_update_banner_gets_the_offices_offer_and_an_install_checks_before_anything_runs() {
    let central = Central::start();
    let dir = tempfile::tempdir().unwrap();
    let app = app(&dir, &mock_keychain());
    let main = window(&app, "main");
    // Signed out: nothing to offer, and no error to show.
    assert_eq!(
        invoke(&main, "update_check", json!({})).unwrap(),
        Value::Null
    );
    sign_in_online(&main, &central);
    assert_eq!(
        invoke(&main, "update_check", json!({})).unwrap(),
        Value::Null
    );

    let mut package = b"!<arch>\ndebian-binary   ".to_vec();
    package.extend((0..5000).map(|i| (i % 251) as u8));
    central
        .rt
        .block_on(central.server.admin(move |tx| {
            switchboard_server::updates::publish(
                tx,
                &switchboard_server::updates::Publish {
                    package: &package,
                    signature: SIG_FOR_0_2_0,
                    version: "0.2.0",
                    notes: "Faster call queue",
                },
                chrono::Utc::now(),
            )
        }))
        .unwrap();
    let offer = invoke(&main, "update_check", json!({})).unwrap();
    assert_eq!(offer["version"], "0.2.0", "{offer}");
    assert_eq!(offer["notes"], "Faster call queue");

    // The window names the version the user agreed to; another one is not installed.
    let gone = invoke(&main, "update_install", json!({"version": "0.3.0"})).unwrap_err();
    assert_eq!(gone["code"], "update_gone", "{gone}");
    // The offered package is not signed with this build's key: refused before any installer
    // runs (the test machine has no pkexec prompt to answer; it is never reached).
    let refused = invoke(&main, "update_install", json!({"version": "0.2.0"})).unwrap_err();
    assert_eq!(refused["code"], "update_refused", "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("signed with another key"),
        "{refused}"
    );
}

#[test]
fn the_demo_refuses_a_sign_in_and_once_thrown_away_the_real_replica_joins() {
    let central = Central::start();
    let dir = tempfile::tempdir().unwrap();
    let keychain = mock_keychain();
    // A demo the last window left behind is gone when the next one opens.
    std::fs::write(dir.path().join("desktop.demo.db"), b"left behind").unwrap();
    let app = app(&dir, &keychain);
    assert!(!dir.path().join("desktop.demo.db").exists());
    let main = window(&app, "main");
    let stage = |answer: Value| answer["stage"].as_str().unwrap().to_string();
    assert_eq!(
        stage(invoke(&main, "first_run_state", json!({})).unwrap()),
        "welcome"
    );

    assert_eq!(
        stage(invoke(&main, "demo_start", json!({})).unwrap()),
        "demo"
    );
    assert!(dir.path().join("desktop.demo.db").is_file());
    let refused = sign_in(
        &main,
        &central.server,
        "rita",
        PASSWORD,
        &central.server.fingerprint,
    )
    .unwrap_err();
    assert_eq!(refused["code"], "demo", "{refused}");
    assert_eq!(keychain.load("rita", &central.server.url).unwrap(), None);

    assert_eq!(
        stage(invoke(&main, "demo_end", json!({})).unwrap()),
        "welcome"
    );
    assert!(!dir.path().join("desktop.demo.db").exists());
    sign_in_online(&main, &central);
    let after = invoke(&main, "first_run_state", json!({})).unwrap();
    assert_eq!(stage(after.clone()), "ready");
    assert_eq!(after["leads"], 0, "{after}");
}
