//! `SWITCHBOARD_BENCH_SAVED=DIR` for sync_bench: a populated server (and its admin replica `ada`)
//! kept in `DIR/<LEADS>-leads/` and started again on a copy, because populating 100,000 leads
//! takes about ten minutes and the measured part a few.
//!
//! Both paths that save or reuse end on a server opened anew over files at rest (the saving run
//! restarts its server after copying), so a saving run and a reusing one measure the same state:
//! an empty delivery cache, and whatever the store does when it opens a populated file.

use std::path::{Path, PathBuf};
use switchboard_core::DatabaseKey;
use switchboard_protocol::LoginRequest;
use switchboard_sync::{Client, Secret, TrustAnchor};
use switchboard_test_support::{TestOptions, TestServer};

use crate::sync_support::{Hub, Replica, PASSWORD};

/// The key `ada`'s saved file is encrypted under (the saving process's test key).
const ADA_KEY: &str = "ada.key";

/// Writes a file only its owner can read.
fn write_private(path: &Path, text: &str) {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

/// The variable naming the folder of saved populations.
pub const VAR: &str = "SWITCHBOARD_BENCH_SAVED";

/// The saved population of `leads` leads under `$SWITCHBOARD_BENCH_SAVED`, if the variable is set.
pub fn folder(leads: usize) -> Option<PathBuf> {
    std::env::var_os(VAR).map(|dir| PathBuf::from(dir).join(format!("{leads}-leads")))
}

/// Copies a folder recursively, its permissions with it (the server keeps its data folder
/// private), leaving out SQLite's shared-memory indexes: the copy's first connection rebuilds
/// them from the WAL, where a copied one could describe another connection's view.
fn copy_dir(from: &Path, to: &Path) -> u64 {
    std::fs::create_dir_all(to).unwrap();
    std::fs::set_permissions(to, std::fs::metadata(from).unwrap().permissions()).unwrap();
    let mut bytes = 0;
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        if entry.file_type().unwrap().is_dir() {
            bytes += copy_dir(&source, &target);
        } else if !entry.file_name().to_string_lossy().ends_with("-shm") {
            bytes += std::fs::copy(&source, &target).unwrap();
        }
    }
    bytes
}

/// Copies a replica's database file (and its WAL, if one is left) to `to`.
fn copy_replica(from: &Path, to: &Path) -> u64 {
    let mut bytes = std::fs::copy(from, to).unwrap();
    let (mut wal_from, mut wal_to) = (from.as_os_str().to_owned(), to.as_os_str().to_owned());
    wal_from.push("-wal");
    wal_to.push("-wal");
    if Path::new(&wal_from).exists() {
        bytes += std::fs::copy(&wal_from, &wal_to).unwrap();
    }
    bytes
}

async fn start_server(data_dir: &Path) -> TestServer {
    TestServer::start(TestOptions {
        data_dir: Some(data_dir.to_path_buf()),
        ..TestOptions::default()
    })
    .await
    .unwrap()
}

/// A fresh server whose data folder is `work/server` (kept there so that it can be copied).
pub async fn fresh_hub(work: &Path) -> Hub {
    Hub::start_with(TestOptions {
        data_dir: Some(work.join("server")),
        ..TestOptions::default()
    })
    .await
}

/// Saves a populated server and `ada` into `saved`: stops the server so that its files are at
/// rest, copies them, then starts it again over the same folder and points `ada` at it.
/// The copy goes to a `.partial` folder first and is renamed when whole, so an interrupted
/// save is never reused.
pub async fn save(saved: &Path, hub: Hub, mut ada: Replica) -> (Hub, Replica) {
    let server_dir = hub.server.data_dir.clone();
    hub.server.stop().await;
    ada.store
        .conn()
        .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
        .unwrap();
    let mut partial = saved.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    if partial.exists() {
        std::fs::remove_dir_all(&partial).unwrap();
    }
    let mut bytes = copy_dir(&server_dir, &partial.join("server"));
    bytes += copy_replica(&ada.path, &partial.join("ada.db"));
    // Each process encrypts its replicas under a key of its own (`test_key`).
    write_private(
        &partial.join(ADA_KEY),
        switchboard_test_support::test_db_key_hex(),
    );
    std::fs::rename(&partial, saved).unwrap();
    eprintln!(
        "saved the population ({:.0} MB) in {}",
        bytes as f64 / 1e6,
        saved.display()
    );
    let server = start_server(&server_dir).await;
    ada.reconnect(&server.url, &server.fingerprint);
    (Hub { server }, ada)
}

/// Starts a server on a copy of the population saved in `saved` (copied under `work`), and
/// `ada` on a copy of her replica, signed in again as the same device. The sign-in goes
/// around the replica's store: recording it there would reset her cursor (the server's
/// address changed), and her next sync would pull the whole office.
pub async fn reuse(saved: &Path, work: &Path) -> (Hub, Replica) {
    let server_dir = work.join("server");
    copy_dir(&saved.join("server"), &server_dir);
    let ada_path = work.join("ada.db");
    copy_replica(&saved.join("ada.db"), &ada_path);
    let server = start_server(&server_dir).await;
    let key = std::fs::read_to_string(saved.join(ADA_KEY)).unwrap();
    let mut ada = Replica::from_file_keyed(
        &ada_path,
        &server.url,
        &server.fingerprint,
        "ada",
        Secret::new("signed in below"),
        &DatabaseKey::from_hex(key.trim()).unwrap(),
    );
    let mut login = LoginRequest::new("ada", Secret::new(PASSWORD));
    login.device_id =
        switchboard_core::settings::get_setting(ada.store.conn(), "device_id").unwrap();
    let anchor = TrustAnchor::fingerprint(&server.fingerprint).unwrap();
    ada.token = Client::new(&server.url, &anchor)
        .unwrap()
        .login_as(&login)
        .await
        .unwrap()
        .token;
    (Hub { server }, ada)
}
