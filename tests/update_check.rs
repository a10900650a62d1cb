//! Updates served by the office, through the real binaries: `switchboard-server update publish`
//! refuses a package that is not a .deb, a signature that is not Tauri's, a version the
//! signature does not name, a republished version and a file over the limit; it stores a real
//! `.deb` signed by the real `tauri signer`; a replica signed in with the real `switchboard` CLI
//! runs the desktop binary's hidden `--check-update`, which finds the update through the pinned
//! client, downloads it and verifies the signature. The same package is refused under the
//! build's own key and under another key, and once one byte of it is flipped in the server's
//! store. Nothing is installed: the check prints the `pkexec dpkg -i` command instead (running
//! dpkg as root in CI would change the machine the tests run on).

use crate::cli_replica;
use crate::server_process;
use crate::support;
use crate::sync_support;

use cli_replica::CliReplica;
use server_process::{server_binary, ServerProcess};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The Tauri CLI the UI's build uses (`tauri signer generate|sign`).
fn tauri_cli() -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ui/node_modules/.bin/tauri");
    assert!(
        path.exists(),
        "{} is missing: run `npm ci` in ui/ (scripts/install-deps.sh does)",
        path.display()
    );
    path
}

fn desktop_binary() -> PathBuf {
    let path = support::binary().with_file_name("switchboard-desktop");
    assert!(
        path.is_file(),
        "{} was not found; build it first with `cargo build --bins`",
        path.display()
    );
    path
}

fn run(command: &mut Command) -> Output {
    let out = command.output().expect("starting a binary");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked at"),
        "a binary panicked:\n{stderr}"
    );
    out
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A key pair made by `tauri signer generate` (no password); returns the private key's path
/// and the public key (the text `plugins.updater.pubkey` holds).
fn key_pair(dir: &Path, name: &str) -> (PathBuf, String) {
    let key = dir.join(format!("{name}.key"));
    let out = run(Command::new(tauri_cli())
        .args(["signer", "generate", "--ci", "-p", "", "-w"])
        .arg(&key));
    assert!(out.status.success(), "{}", text(&out));
    let public = std::fs::read_to_string(key.with_extension("key.pub")).unwrap();
    (key, public.trim().to_string())
}

/// `tauri signer sign --app-version VERSION`; returns the `.sig` path.
fn sign(key: &Path, package: &Path, version: &str) -> PathBuf {
    let out = run(Command::new(tauri_cli())
        .args(["signer", "sign", "-p", "", "--app-version", version, "-f"])
        .arg(key)
        .arg(package));
    assert!(out.status.success(), "{}", text(&out));
    let sig = PathBuf::from(format!("{}.sig", package.display()));
    assert!(sig.is_file());
    sig
}

/// A real Debian package built by `dpkg-deb` (uncompressed, so it spans several KiB).
fn build_deb(dir: &Path, version: &str) -> PathBuf {
    let root = dir.join("pkg");
    std::fs::create_dir_all(root.join("DEBIAN")).unwrap();
    std::fs::create_dir_all(root.join("usr/share/doc/switchboard-update-test")).unwrap();
    std::fs::write(
        root.join("DEBIAN/control"),
        format!(
            "Package: switchboard-update-test\nVersion: {version}\nArchitecture: all\n\
             Maintainer: Tests <tests@switchboard.example>\nDescription: update test package\n"
        ),
    )
    .unwrap();
    let filler: String = (0..8000)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    std::fs::write(
        root.join("usr/share/doc/switchboard-update-test/README"),
        filler,
    )
    .unwrap();
    let deb = dir.join(format!("switchboard_{version}_all.deb"));
    let out = run(Command::new("dpkg-deb")
        .args(["--root-owner-group", "-Znone", "--build"])
        .arg(&root)
        .arg(&deb));
    assert!(out.status.success(), "{}", text(&out));
    deb
}

fn publish(data: &Path, file: &Path, sig: &Path, version: &str) -> Output {
    run(Command::new(server_binary())
        .args(["update", "publish"])
        .arg(file)
        .arg("--signature")
        .arg(sig)
        .args([
            "--version",
            version,
            "--notes",
            "Faster call queue",
            "--data",
        ])
        .arg(data))
}

/// `switchboard-desktop --check-update` against the replica, as the window's check runs.
fn check(replica: &CliReplica, pubkey: Option<&str>) -> Output {
    let mut command = Command::new(desktop_binary());
    command
        .arg("--check-update")
        .env("SWITCHBOARD_DB", &replica.sandbox.db)
        .env(
            "SWITCHBOARD_DB_KEY_FILE",
            replica.sandbox.dir.path().join("db.key"),
        )
        .env("SWITCHBOARD_TOKEN", &replica.token)
        .env_remove("SWITCHBOARD_DB_KEY")
        .env_remove("RUST_BACKTRACE");
    if let Some(key) = pubkey {
        command.args(["--pubkey", key]);
    }
    run(&mut command)
}

#[test]
fn the_office_serves_a_signed_update_and_a_wrong_one_is_refused() {
    let work = tempfile::tempdir().unwrap();
    let (office_key, office_pub) = key_pair(work.path(), "office");
    let (other_key, other_pub) = key_pair(work.path(), "other");
    let deb = build_deb(work.path(), "9.0.0");
    let sig = sign(&office_key, &deb, "9.0.0");

    let server = ServerProcess::start();
    let data = server.data_dir();
    let rita = CliReplica::login(&server.url(), &server.fingerprint, "rita", None);

    // Nothing published yet: up to date.
    let out = check(&rita, Some(&office_pub));
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("up to date"), "{}", text(&out));

    // Publishing what is certainly wrong is refused, with what to do.
    let not_deb = work.path().join("notes.txt");
    std::fs::write(&not_deb, "hello").unwrap();
    let garbage_sig = work.path().join("garbage.sig");
    std::fs::write(&garbage_sig, "this is no signature").unwrap();
    let huge = work.path().join("huge.deb");
    std::fs::File::create(&huge)
        .unwrap()
        .set_len(256 * 1024 * 1024 + 1)
        .unwrap();
    for (what, file, signature, version, says) in [
        (
            "a text file",
            &not_deb,
            &sig,
            "9.0.0",
            "not a Debian package",
        ),
        (
            "a garbled signature",
            &deb,
            &garbage_sig,
            "9.0.0",
            "not a Tauri signature",
        ),
        (
            "another version than signed",
            &deb,
            &sig,
            "9.0.1",
            "--app-version 9.0.1",
        ),
        ("a version that is not X.Y.Z", &deb, &sig, "v9", "X.Y.Z"),
        ("an oversized file", &huge, &sig, "9.0.0", "at most 256 MiB"),
    ] {
        let out = publish(&data, file, signature, version);
        assert!(!out.status.success(), "{what} was published");
        assert!(text(&out).contains(says), "{what}: {}", text(&out));
    }
    std::fs::remove_file(&huge).unwrap();

    // The real package, while the server runs; once only.
    let out = publish(&data, &deb, &sig, "9.0.0");
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("update 9.0.0 published"),
        "{}",
        text(&out)
    );
    let again = publish(&data, &deb, &sig, "9.0.0");
    assert!(!again.status.success());
    assert!(
        text(&again).contains("already published"),
        "{}",
        text(&again)
    );

    // The app finds it, downloads it through the pinned client and verifies it.
    let out = check(&rita, Some(&office_pub));
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("update available: Switchboard 9.0.0"),
        "{said}"
    );
    assert!(said.contains("what changed: Faster call queue"), "{said}");
    assert!(said.contains("signature verified"), "{said}");
    let saved = said
        .lines()
        .find_map(|l| l.strip_prefix("install with: pkexec dpkg -i "))
        .unwrap_or_else(|| panic!("no install command line:\n{said}"));
    assert_eq!(
        std::fs::read(saved).unwrap(),
        std::fs::read(&deb).unwrap(),
        "the saved package is the published one, byte for byte"
    );
    let _ = std::fs::remove_dir_all(Path::new(saved).parent().unwrap());

    // The build's own key (not the office's test key) and another key refuse it: the package
    // was not signed with the key they trust.
    for pubkey in [None, Some(other_pub.as_str())] {
        let out = check(&rita, pubkey);
        let said = text(&out);
        assert_eq!(out.status.code(), Some(1), "{said}");
        assert!(said.contains("update refused [update_refused]"), "{said}");
        assert!(said.contains("signed with another key"), "{said}");
        assert!(!said.contains("install with"), "{said}");
    }
    // One byte of the stored package flipped: refused under the right key.
    let db = sync_support::find_sqlite(&data).expect("the server's SQLite store");
    let conn =
        switchboard_test_support::open_sqlite(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE);
    let flipped = conn
        .execute(
            "UPDATE update_chunk SET data = substr(data, 1, 2999) ||
                 CASE substr(data, 3000, 1) WHEN 'A' THEN 'B' ELSE 'A' END || substr(data, 3001)
             WHERE version = '9.0.0' AND idx = 0",
            [],
        )
        .unwrap();
    assert_eq!(flipped, 1);
    drop(conn);
    let out = check(&rita, Some(&office_pub));
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("does not match the package"), "{said}");

    // A newer version signed by another key than the office's: refused under the office's key.
    let newer = work.path().join("switchboard_9.0.1_all.deb");
    std::fs::copy(&deb, &newer).unwrap();
    let newer_sig = sign(&other_key, &newer, "9.0.1");
    let out = publish(&data, &newer, &newer_sig, "9.0.1");
    assert!(out.status.success(), "{}", text(&out));
    let out = check(&rita, Some(&office_pub));
    let said = text(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("signed with another key"), "{said}");
    // ... and verified under the key it was signed with.
    let out = check(&rita, Some(&other_pub));
    let said = text(&out);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("update available: Switchboard 9.0.1"),
        "{said}"
    );
    for saved in said
        .lines()
        .filter_map(|l| l.strip_prefix("install with: pkexec dpkg -i "))
    {
        let _ = std::fs::remove_dir_all(Path::new(saved).parent().unwrap());
    }

    server.assert_no_panic();
}

/// A server of the next release (same data folder, accounts and certificate, one protocol
/// version ahead) on a free port of 127.0.0.1; returns its URL.
async fn newer_instance(hub: &switchboard_test_support::TestServer) -> String {
    use switchboard_server::{data_dir, ServerState};
    let dir = hub.data_dir.clone();
    let state = tokio::task::spawn_blocking(move || {
        let deployment = data_dir::load(&dir).unwrap();
        ServerState::from_deployment(
            &deployment,
            std::sync::Arc::new(switchboard_core::SystemClock),
        )
        .unwrap()
        .speaking(switchboard_protocol::PROTOCOL_VERSION + 1)
    })
    .await
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    tokio::spawn(switchboard_server::serve(
        listener,
        state,
        std::future::pending::<()>(),
    ));
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_server_says_update_switchboard_at_sign_in_and_every_sync_and_still_serves_the_update(
) {
    use switchboard_sync::{engine, updates as client_updates, SyncError, TrustAnchor};
    let hub = sync_support::Hub::start().await;
    let server = &hub.server;
    let mut rita = sync_support::Replica::login(&server.url, &server.fingerprint, "rita").await;
    rita.sync().await;

    // The office publishes the version that speaks the new protocol, then upgrades its server.
    let work = tempfile::tempdir().unwrap();
    let (key, public) = key_pair(work.path(), "office");
    let deb = build_deb(work.path(), "9.0.0");
    let sig = std::fs::read_to_string(sign(&key, &deb, "9.0.0")).unwrap();
    let package = std::fs::read(&deb).unwrap();
    server
        .admin(move |tx| {
            switchboard_server::updates::publish(
                tx,
                &switchboard_server::updates::Publish {
                    package: &package,
                    signature: &sig,
                    version: "9.0.0",
                    notes: "Speaks the new protocol",
                },
                chrono::Utc::now(),
            )
        })
        .await
        .unwrap();
    let newer = newer_instance(server).await;
    rita.reconnect(&newer, &server.fingerprint);

    // Every sync: "update Switchboard", how, and that nothing was lost; recorded for the
    // window's status (which the update banner reads).
    rita.add_lead("Ada Waiting", "ada@example.com", "+493012345670", "DE");
    for _ in 0..2 {
        let e = rita.try_sync().await.unwrap_err();
        assert!(matches!(e, SyncError::UpdateRequired(_)), "{e:?}");
        let said = e.to_string();
        assert!(said.starts_with("update Switchboard"), "{said}");
        assert!(said.contains("nothing was lost"), "{said}");
        assert!(said.contains("\"Install update\""), "{said}");
        assert!(said.contains("sudo apt install"), "{said}");
    }
    let status = switchboard_core::replica::status(rita.store.conn()).unwrap();
    let recorded = status.state.last_error.unwrap_or_default();
    assert!(
        recorded.starts_with("[update_required] update Switchboard"),
        "{recorded}"
    );
    assert!(status.pending > 0, "the new lead waits in the outbox");

    // Sign-in: the same answer, before any password is checked.
    let dir = tempfile::tempdir().unwrap();
    let mut fresh =
        switchboard_core::Store::open(&dir.path().join("new.db"), Some(&support::test_key()))
            .unwrap();
    let anchor = TrustAnchor::fingerprint(&server.fingerprint).unwrap();
    let e = engine::login(
        &mut fresh,
        &newer,
        &anchor,
        None,
        "rita",
        &switchboard_sync::Secret::new(sync_support::PASSWORD),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), "update_required", "{e}");
    assert!(e.to_string().contains("\"Install update\""), "{e}");

    // ... and the CLI prints it.
    let cli = support::Sandbox::new();
    cli.run(&["init"]).ok();
    let run = cli.run_with_input(
        &[
            "login",
            "--server",
            &newer,
            "--user",
            "rita",
            "--fingerprint",
            &server.fingerprint,
            "--print-token",
            "--password-stdin",
        ],
        format!("{}\n", sync_support::PASSWORD).as_bytes(),
    );
    assert_ne!(run.code, 0);
    run.no_panic()
        .stderr_mentions(&["update Switchboard", "Install update"]);

    // The outdated app can still fetch and verify the update from the newer server.
    let offer = client_updates::check(&rita.client, &rita.token, "0.1.0")
        .await
        .unwrap()
        .expect("the newer server offers 9.0.0");
    assert_eq!(offer.version, "9.0.0");
    let verified = client_updates::download_verified(&rita.client, &rita.token, &offer, &public)
        .await
        .unwrap();
    assert_eq!(verified, std::fs::read(&deb).unwrap());
}
