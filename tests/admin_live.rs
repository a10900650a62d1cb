//! Admin commands run while `serve` runs on the same data folder, through the real binaries:
//! `user add` and `user role` on a live server take effect at once (the new account signs in,
//! the new role holds for pushes, without a restart), and what replicas push afterwards survives
//! a SIGKILL and restart of the server. On SQLite the admin process and the server share one
//! WAL database; on PostgreSQL (with `SWITCHBOARD_TEST_PG_URL`) one database. `rotate-keys`,
//! unsafe beside a running server, refuses with `server_running` while `serve` runs and works
//! once it stopped. Neither binary may panic.

use crate::server_process;
use crate::sync_support;

use server_process::ServerProcess;
use sync_support::{Replica, PASSWORD};

/// Admin writes while serving, pushes after them, kill -9, restart, pull.
async fn admin_commands_while_serving(store: Option<&str>) {
    let mut server = ServerProcess::start_on(store, |_| Vec::new());
    let mut mona = Replica::login(&server.url(), &server.fingerprint, "mona").await;
    let before = mona.add_lead("Ada Before", "ada@example.com", "+493012345670", "DE");
    mona.sync().await;

    // Two admin processes open the store the server has open, write and exit.
    let added = server.admin(
        &["user", "add", "nina", "--role", "rep", "--office", "BER"],
        Some(&format!("{PASSWORD}\n")),
    );
    assert!(added.contains("nina added (rep)"), "{added}");
    let changed = server.admin(
        &[
            "user", "role", "nina", "--role", "manager", "--office", "PAR",
        ],
        None,
    );
    assert!(changed.contains("nina is now a manager"), "{changed}");

    // The running server sees both at once: nina signs in as a manager of PAR and may push a
    // lead of PAR (the push authorises on the writing side).
    let mut nina = Replica::login(&server.url(), &server.fingerprint, "nina").await;
    assert_eq!(nina.office().as_deref(), Some("PAR"));
    let hers = nina.add_lead("Fleur Apres", "fleur@example.com", "+33123456789", "FR");
    let report = nina.sync().await;
    assert!(report.pushed > 0 && report.rejected == 0, "{report:?}");

    // Pushed after the admin writes: must survive the server's death.
    let after = mona.add_lead("Bea After", "bea@example.com", "+493012345671", "DE");
    let report = mona.sync().await;
    assert!(report.pushed > 0 && report.rejected == 0, "{report:?}");

    // rotate-keys would destroy the master key the running server holds: it refuses with its
    // code, and changes nothing.
    let key_file = server.data_dir().join("master.key");
    let key_before = std::fs::read(&key_file).unwrap();
    let rotate = std::process::Command::new(server_process::server_binary())
        .args(["rotate-keys", "--data"])
        .arg(server.data_dir())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&rotate.stderr);
    assert!(!rotate.status.success(), "rotate-keys ran beside serve");
    assert!(
        stderr.contains("server_running") && stderr.contains("stop it"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked at"), "{stderr}");
    assert_eq!(std::fs::read(&key_file).unwrap(), key_before);

    server.kill();
    server.restart();

    let mut fresh_mona = Replica::login(&server.url(), &server.fingerprint, "mona").await;
    fresh_mona.sync().await;
    for lead in [&before, &after] {
        assert_eq!(
            fresh_mona.count(&format!("SELECT COUNT(*) FROM lead WHERE id = '{lead}'")),
            1,
            "lead {lead} pushed to the live server is there after a restart"
        );
    }
    let mut fresh_nina = Replica::login(&server.url(), &server.fingerprint, "nina").await;
    assert_eq!(fresh_nina.office().as_deref(), Some("PAR"));
    fresh_nina.sync().await;
    assert_eq!(
        fresh_nina.count(&format!("SELECT COUNT(*) FROM lead WHERE id = '{hers}'")),
        1,
        "nina's lead is there after a restart"
    );
    server.assert_no_panic();

    // With the server stopped (its lock goes with the process) the rotation runs.
    server.kill();
    let rotated = std::process::Command::new(server_process::server_binary())
        .args(["rotate-keys", "--data"])
        .arg(server.data_dir())
        .output()
        .unwrap();
    assert!(
        rotated.status.success(),
        "{}",
        String::from_utf8_lossy(&rotated.stderr)
    );
    assert_ne!(std::fs::read(&key_file).unwrap(), key_before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_commands_on_a_live_sqlite_server_lose_nothing() {
    admin_commands_while_serving(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_commands_on_a_live_postgres_server_lose_nothing() {
    let Some(url) =
        switchboard_test_support::fresh_pg_url("admin_commands_on_a_live_postgres_server").await
    else {
        return;
    };
    admin_commands_while_serving(Some(&url)).await;
}
