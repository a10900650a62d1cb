//! The real `switchboard-server` binary, served over real HTTPS, fed a few hundred random
//! bodies on its public endpoints (push, registrations, login): every answer is below 500 and
//! an `ErrorBody` when it is an error, and its stderr never shows a panic (a panic in a
//! handler kills only that connection, so the answers alone could hide one).
//!
//! `FUZZ_HTTPS_BODIES` sets how many bodies (default 300); `FUZZ_SEED` replays a run.

use rand::{rngs::StdRng, RngExt, SeedableRng};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use switchboard_fuzz::Target;
use switchboard_protocol::{ErrorBody, PROTOCOL_HEADER, PROTOCOL_VERSION};
use switchboard_test_support::{pinned_http, ApiClient};

/// The built server binary: next to this test's `deps/` folder, or in `target/debug`.
fn server_binary() -> PathBuf {
    let name = format!("switchboard-server{}", std::env::consts::EXE_SUFFIX);
    let mut candidates = Vec::new();
    if let Some(profile) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent()?.parent().map(Path::to_path_buf))
    {
        candidates.push(profile.join(&name));
    }
    candidates.push(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../target/debug")
            .join(&name),
    );
    candidates
        .iter()
        .find(|p| p.is_file())
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "switchboard-server was not found (looked at {candidates:?}); build it with \
                 `cargo build -p switchboard-server --bins` (make test does)"
            )
        })
}

fn admin(data: &str, args: &[&str], stdin: Option<&str>) -> String {
    let mut child = Command::new(server_binary())
        .args(args)
        .args(["--data", data])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("switchboard-server runs");
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).unwrap();
    }
    drop(input);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "switchboard-server {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The serving process; its stderr is collected by a thread so the pipe never fills.
struct Served {
    child: Child,
    stderr: Arc<Mutex<Vec<String>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Served {
    fn start(data: &str) -> (Served, String) {
        let mut child = Command::new(server_binary())
            .args(["serve", "--data", data, "--listen", "127.0.0.1:0"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("switchboard-server serves");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let mut url = None;
        for line in lines.by_ref() {
            let line = line.unwrap();
            stderr.lock().unwrap().push(line.clone());
            if let Some(address) = switchboard_test_support::served_address(&line) {
                url = Some(address);
                break;
            }
        }
        let url = url.unwrap_or_else(|| panic!("no address printed: {:?}", stderr.lock()));
        let sink = stderr.clone();
        let reader = std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });
        (
            Served {
                child,
                stderr,
                reader: Some(reader),
            },
            url,
        )
    }

    /// Stops the server and returns everything it printed on stderr.
    fn stop(mut self) -> Vec<String> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        std::mem::take(&mut *self.stderr.lock().unwrap())
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_bodies_over_https_never_panic_the_real_server() {
    let temp = tempfile::tempdir().unwrap();
    let data = temp.path().join("central");
    let data = data.to_str().unwrap();
    let out = admin(data, &["init"], None);
    let fingerprint = out
        .lines()
        .find_map(|l| l.strip_prefix("certificate SHA-256 fingerprint: "))
        .expect("init prints the fingerprint")
        .to_string();
    admin(
        data,
        &[
            "office",
            "add",
            "BER",
            "--name",
            "Berlin",
            "--country",
            "DE",
        ],
        None,
    );
    admin(data, &["route", "add", "DE", "BER"], None);
    admin(
        data,
        &["user", "add", "rita", "--role", "rep", "--office", "BER"],
        Some("a long password\n"),
    );
    let intake_key = admin(data, &["intake-key", "create"], None)
        .trim()
        .to_string();

    let (served, url) = Served::start(data);
    let http = pinned_http(&fingerprint);
    let rita = ApiClient::login(http.clone(), &url, "rita", "a long password")
        .await
        .expect("rita signs in over HTTPS");
    let token = rita.token.expose().to_string();

    let seed = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random::<u64>);
    let bodies: usize = std::env::var("FUZZ_HTTPS_BODIES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for n in 0..bodies {
        let (path, bearer, body) = match rng.random_range(0..10) {
            0..=4 => ("/v1/push", token.as_str(), Target::Push.generate(&mut rng)),
            5..=8 => (
                "/v1/registrations",
                intake_key.as_str(),
                Target::Registration.generate(&mut rng),
            ),
            _ => {
                let body = switchboard_fuzz::gen::damage(
                    &mut rng,
                    br#"{"user":"rita","password":"a long password"}"#.to_vec(),
                );
                ("/v1/login", "", body)
            }
        };
        let mut request = http
            .post(format!("{url}{path}"))
            .header("content-type", "application/json")
            .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
            .body(body.clone());
        if !bearer.is_empty() {
            request = request.bearer_auth(bearer);
        }
        let response = request.send().await.unwrap_or_else(|e| {
            panic!("body {n} of FUZZ_SEED={seed} to {path} got no answer: {e}: {body:?}")
        });
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        *statuses.entry(status).or_default() += 1;
        assert!(
            status < 500,
            "body {n} of FUZZ_SEED={seed} to {path}: {status} {text} for {}",
            String::from_utf8_lossy(&body)
        );
        if status >= 400 {
            let error: Result<ErrorBody, _> = serde_json::from_str(&text);
            assert!(
                error.is_ok(),
                "{path}: a {status} is not an ErrorBody: {text}"
            );
        }
    }
    let stderr = served.stop();
    let panics: Vec<&String> = stderr
        .iter()
        .filter(|l| l.contains("panicked at"))
        .collect();
    assert!(
        panics.is_empty(),
        "the server panicked (FUZZ_SEED={seed}): {panics:?}\n{}",
        stderr.join("\n")
    );
    println!("{bodies} bodies over HTTPS (FUZZ_SEED={seed}): statuses {statuses:?}");
    assert!(
        statuses.contains_key(&200),
        "nothing got through: {statuses:?}"
    );
}
