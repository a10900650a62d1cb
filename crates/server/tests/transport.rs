//! The server's edges through real parts: the `switchboard-server` binary and its data folder on
//! disk, and oversized bodies over HTTP/1.1 and HTTP/2 (TLS, ALPN) from a real client.

use crate::support;

use reqwest::{StatusCode, Version};
use std::io::{BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use support::*;
use switchboard_protocol::*;
use switchboard_test_support::{ApiClient, TestOptions, TestServer};

/// Runs the server binary under `umask 000`, so whatever it does not restrict itself comes out
/// world-readable and writable, and the test sees it.
fn server_cmd(args: &[&str]) -> Command {
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg("umask 000 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_switchboard-server"))
        .args(args);
    command
}

fn run(args: &[&str], stdin: &str) -> String {
    let mut child = server_cmd(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the server binary runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "switchboard-server {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every path under `dir` (itself included) with its permission bits.
#[cfg(unix)]
fn modes(dir: &Path) -> Vec<(String, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = vec![(
        dir.display().to_string(),
        std::fs::metadata(dir).unwrap().permissions().mode() & 0o777,
    )];
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(modes(&path));
        } else if let Ok(meta) = std::fs::metadata(&path) {
            // (SQLite removes its WAL and shared-memory files when the last connection closes.)
            out.push((
                path.display().to_string(),
                meta.permissions().mode() & 0o777,
            ));
        }
    }
    out
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_folder_and_every_file_in_it_are_private_after_init_serve_and_a_push() {
    let temp = tempfile::tempdir().unwrap();
    let data_path = temp.path().join("central");
    let data = data_path.to_str().unwrap();
    let init = run(&["init", "--data", data], "");
    let fingerprint = init
        .lines()
        .find_map(|l| l.strip_prefix("certificate SHA-256 fingerprint: "))
        .expect("the fingerprint is printed")
        .to_string();
    run(
        &[
            "office",
            "add",
            "BER",
            "--name",
            "Berlin",
            "--country",
            "DE",
            "--data",
            data,
        ],
        "",
    );
    run(
        &[
            "user", "add", "rita", "--role", "rep", "--office", "BER", "--data", data,
        ],
        "a long password\n",
    );

    let mut server = server_cmd(&["serve", "--data", data, "--listen", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(server.stderr.take().unwrap());
    let url = switchboard_test_support::read_served_address(&mut stderr)
        .expect("the server prints its address");
    let http = switchboard_test_support::pinned_http(&fingerprint);
    let pushed = async {
        let rita = ApiClient::login(http, &url, "rita", "a long password").await?;
        rita.push(
            "replica-1",
            numbered(vec![identity(
                &id("lead"),
                "Ada",
                hlc(t0(), 0, "replica-1"),
            )]),
        )
        .await
    }
    .await;
    // The files as the running server has them: WAL and shared memory included.
    let while_serving = modes(&data_path);
    server.kill().unwrap();
    let _ = server.wait();
    let pushed = pushed.expect("login and push against the served data folder");
    assert_eq!(pushed.results[0].status, PushStatus::Applied, "{pushed:?}");

    let names: Vec<&str> = while_serving.iter().map(|(p, _)| p.as_str()).collect();
    for expected in ["central.db", "central.db-wal", "central.db-shm", "key.pem"] {
        assert!(
            names.iter().any(|n| n.ends_with(expected)),
            "{expected} is in the data folder: {names:?}"
        );
    }
    let open: Vec<String> = while_serving
        .iter()
        .filter(|(_, mode)| mode & 0o077 != 0)
        .map(|(path, mode)| format!("{path} {mode:o}"))
        .collect();
    assert!(open.is_empty(), "readable by others: {open:?}");
    assert_eq!(while_serving[0].1, 0o700, "the folder itself");
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_existing_data_folder_with_open_files_is_tightened_when_served() {
    use std::os::unix::fs::PermissionsExt;
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("server");
    let options = TestOptions {
        data_dir: Some(dir.clone()),
        ..TestOptions::default()
    };
    TestServer::start(options.clone())
        .await
        .unwrap()
        .stop()
        .await;
    // As an older version left it: everything readable by everyone.
    let before = modes(&dir);
    assert!(before.len() >= 5, "{before:?}");
    for (path, _) in before {
        let mode = if Path::new(&path).is_dir() {
            0o755
        } else {
            0o644
        };
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode));
    }
    let again = TestServer::start(options).await.unwrap();
    let open: Vec<String> = modes(&dir)
        .into_iter()
        .filter(|(_, mode)| mode & 0o077 != 0)
        .map(|(path, mode)| format!("{path} {mode:o}"))
        .collect();
    again.stop().await;
    assert!(open.is_empty(), "still readable by others: {open:?}");
}

/// A client that speaks only `version` (HTTP/2 by ALPN `h2` with prior knowledge, or 1.1).
fn client(server: &TestServer, version: Version) -> reqwest::Client {
    let mut config = switchboard_server::tls::pinned_client_config(&server.fingerprint).unwrap();
    let builder = reqwest::Client::builder().timeout(std::time::Duration::from_secs(60));
    let builder = if version == Version::HTTP_2 {
        config.alpn_protocols = vec![b"h2".to_vec()];
        builder.http2_prior_knowledge()
    } else {
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        builder.http1_only()
    };
    builder.use_preconfigured_tls(config).build().unwrap()
}

/// A push body of `size` bytes: valid JSON, far over the limit.
fn oversized(size: usize) -> Vec<u8> {
    let mut body = br#"{"replica_id": "x", "ops": [], "pad": ""#.to_vec();
    body.extend(std::iter::repeat_n(b'a', size));
    body.extend(b"\"}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_body_is_answered_413_with_a_json_error_over_http2_and_http11() {
    let w = World::start(TestOptions::default()).await;
    let push_url = format!("{}/v1/push", w.server.url);
    let limit = switchboard_server::api::BODY_LIMIT;
    for version in [Version::HTTP_2, Version::HTTP_11] {
        let http = client(&w.server, version);
        // Just over the limit, and several times it (past every flow-control window).
        for (what, size) in [("just over", limit + 1), ("five times", 5 * limit)] {
            let request = http
                .post(&push_url)
                .bearer_auth(w.rep_a.token.expose())
                .header("content-type", "application/json")
                .body(oversized(size));
            let response = request
                .send()
                .await
                .unwrap_or_else(|e| panic!("{version:?} {what}: no answer: {e:?}"));
            assert_eq!(response.version(), version, "{what}");
            assert_eq!(
                response.status(),
                StatusCode::PAYLOAD_TOO_LARGE,
                "{version:?} {what}"
            );
            let error: ErrorBody = response
                .json()
                .await
                .unwrap_or_else(|e| panic!("{version:?} {what}: not an ErrorBody: {e}"));
            assert_eq!(error.code, "payload_too_large", "{version:?} {what}");
        }
        // The connection (HTTP/2: the same one) still serves a normal request afterwards.
        let page = http
            .get(format!("{}/v1/changes?after=0", w.server.url))
            .bearer_auth(w.rep_a.token.expose())
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::OK, "{version:?} after the 413s");
    }
}

/// What an HTTP/2 exchange came to, frame by frame.
struct H2Exchange {
    status: u16,
    body: Vec<u8>,
    /// Whether the whole request body went out, or why not (the server reset the stream).
    sent: Result<(), String>,
}

/// Sends `body` as one HTTP/2 request over TLS with ALPN `h2` (flow control respected) and
/// reads the whole answer: an error when the server reset the stream before the answer was
/// complete.
async fn h2_push(server: &TestServer, token: &str, body: Vec<u8>) -> Result<H2Exchange, String> {
    use std::sync::Arc;
    let mut config = switchboard_server::tls::pinned_client_config(&server.fingerprint).unwrap();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let tcp = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .unwrap();
    let (mut client, connection) = h2::client::handshake(tls).await.unwrap();
    tokio::spawn(connection);
    let request = axum::http::Request::post(format!("{}/v1/push", server.url))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .header("content-length", body.len().to_string())
        .body(())
        .unwrap();
    let (answer, mut send) = client.send_request(request, false).unwrap();
    // The body goes out as fast as the server's windows allow, beside waiting for the answer;
    // a server that stops reading makes sending fail, which is its right once it has answered.
    let sender = tokio::spawn(async move {
        let mut rest = bytes::Bytes::from(body);
        while !rest.is_empty() {
            send.reserve_capacity(rest.len().min(1 << 20));
            match std::future::poll_fn(|cx| send.poll_capacity(cx)).await {
                Some(Ok(n)) if n > 0 => {
                    let chunk = rest.split_to(n.min(rest.len()));
                    let end = rest.is_empty();
                    send.send_data(chunk, end).map_err(|e| e.to_string())?;
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.to_string()),
                None => {
                    return Err(format!(
                        "the stream closed with {} bytes unsent",
                        rest.len()
                    ))
                }
            }
        }
        Ok(())
    });
    let answer = answer.await.map_err(|e| format!("no answer: {e}"))?;
    let status = answer.status().as_u16();
    let mut stream = answer.into_body();
    let mut received = Vec::new();
    while let Some(chunk) = stream.data().await {
        let chunk = chunk.map_err(|e| format!("{status} answer cut off: {e}"))?;
        let _ = stream.flow_control().release_capacity(chunk.len());
        received.extend_from_slice(&chunk);
    }
    let sent = sender.await.map_err(|e| e.to_string())?;
    Ok(H2Exchange {
        status,
        body: received,
        sent,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_http2_push_ends_cleanly_with_its_413_and_no_reset() {
    let w = World::start(TestOptions::default()).await;
    let limit = switchboard_server::api::BODY_LIMIT;
    for size in [limit + 1, 5 * limit] {
        let exchange = h2_push(&w.server, w.rep_a.token.expose(), oversized(size))
            .await
            .unwrap_or_else(|e| panic!("{size} bytes: {e}"));
        assert_eq!(exchange.status, 413, "{size} bytes");
        let error: ErrorBody = serde_json::from_slice(&exchange.body).unwrap_or_else(|e| {
            panic!("{size} bytes: not an ErrorBody ({e}): {:?}", exchange.body)
        });
        assert_eq!(error.code, "payload_too_large");
        // RFC 9113 lets a server reset a request it answered early, and curl 7.88 then reports
        // the stream as dropped and shows no answer: the server reads the body out instead.
        assert_eq!(exchange.sent, Ok(()), "{size} bytes: the stream was reset");
    }
}
