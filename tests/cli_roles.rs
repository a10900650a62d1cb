//! Least privilege through the real binaries: a `switchboard-server` process whose accounts are
//! set up with its own `user add` and `user role` commands, and laptops driven through the
//! `switchboard` binary. A rep's erasure, correction, access export and closing of an erasure
//! request are refused on the laptop with `role_required` (exit 3) naming who can, and nothing
//! is queued; the rep records the request and it syncs; the office's privacy staff carry it out
//! and the erasure syncs back to the rep. A role the admin changes while the rep is signed in
//! holds on the server from her next request and on her laptop from its next sync, without a
//! new sign-in. Neither binary may panic.

use crate::cli_replica;
use crate::server_process;
use crate::support;
use crate::sync_support;

use cli_replica::{server_strings, CliReplica};
use server_process::ServerProcess;
use switchboard_core::protocol::Role;
use switchboard_server::roles;
use sync_support::{Hub, Replica, PASSWORD};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rep_records_an_erasure_and_the_privacy_role_carries_it_out() {
    let server = ServerProcess::start();
    // Priya starts as a rep; the admin makes her the office's privacy staff.
    let added = server.admin(
        &["user", "add", "priya", "--role", "rep", "--office", "BER"],
        Some(&format!("{PASSWORD}\n")),
    );
    assert!(added.contains("priya added (rep)"), "{added}");
    let changed = server.admin(
        &[
            "user", "role", "priya", "--role", "privacy", "--office", "BER",
        ],
        None,
    );
    assert!(changed.contains("priya is now a privacy"), "{changed}");

    let mut mona = Replica::login(&server.url(), &server.fingerprint, "mona").await;
    let lead = mona.add_lead("Erin Asker", "erin@example.com", "+493012345678", "DE");
    mona.sync().await;

    let rita = CliReplica::login(
        &server.url(),
        &server.fingerprint,
        "rita",
        Some(support::NOW),
    );
    rita.sync();
    assert_eq!(rita.strings("SELECT id FROM lead"), vec![lead.clone()]);
    let status = rita.run(&["status"]);
    status.ok();
    assert!(
        status.stdout.contains("Role:          rep ("),
        "{}",
        status.stdout
    );

    // Everything that carries out a request is refused on the rep's laptop, with the code.
    let out = rita.sandbox.path("erin.json");
    let out = out.to_str().unwrap();
    let refused_commands: [&[&str]; 3] = [
        &["--json", "erase", &lead, "--yes"],
        &["--json", "correct", &lead, "name=Erin Other"],
        &["--json", "dsar", &lead, "--out", out],
    ];
    for args in refused_commands {
        let run = rita.run(args);
        run.expect(3);
        let error: serde_json::Value = serde_json::from_str(run.stderr.trim()).unwrap();
        assert_eq!(
            error["error"]["code"], "role_required",
            "{args:?}: {}",
            run.stderr
        );
        let message = error["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("privacy officer") && message.contains("a rep"),
            "{message}"
        );
    }
    assert!(
        !std::path::Path::new(out).exists(),
        "no access report was written"
    );

    // The rep records the request; it syncs.
    let request = rita.sandbox.json(&["requests", "open", &lead, "erase"]);
    let request_id = request["id"].as_str().unwrap().to_string();
    let handled = rita.run(&["--json", "requests", "handle", &request_id]);
    handled.expect(3);
    assert!(
        handled.stderr.contains("role_required"),
        "{}",
        handled.stderr
    );
    rita.sync();
    let status = rita.status();
    assert_eq!(
        (
            status["pending"].as_i64(),
            status["rejected_total"].as_i64()
        ),
        (Some(0), Some(0)),
        "{status}"
    );
    assert_eq!(
        rita.strings("SELECT status FROM lead"),
        vec!["new".to_string()]
    );

    // The office's privacy staff carry it out; it syncs to the server and back to the rep.
    let priya = CliReplica::login(
        &server.url(),
        &server.fingerprint,
        "priya",
        Some(support::NOW),
    );
    priya.sync();
    let inbox = priya
        .sandbox
        .json(&["requests", "list", "--status", "open"]);
    assert_eq!(inbox[0]["id"], request_id.as_str(), "{inbox}");
    let report = priya.sandbox.json(&["erase", &lead, "--yes"]);
    assert_eq!(report["lead_id"], lead.as_str(), "{report}");
    priya.sync();
    let status = priya.status();
    assert_eq!(
        (
            status["pending"].as_i64(),
            status["rejected_total"].as_i64()
        ),
        (Some(0), Some(0)),
        "{status}"
    );
    assert_eq!(
        server_strings(&server.data_dir(), "SELECT status FROM lead"),
        vec!["erased".to_string()]
    );
    rita.sync();
    assert_eq!(
        rita.strings("SELECT status FROM lead"),
        vec!["erased".to_string()]
    );
    assert_eq!(
        priya.strings("SELECT status FROM subscriber_request"),
        vec!["done".to_string()]
    );

    server.assert_no_panic();
}

/// The admin changes a signed-in rep's role on the running server (`roles::set_role`, what
/// `switchboard-server user role` does): her same token's next push is judged by the new role,
/// and her laptop takes the role from the next page it pulls, so its own check lets her carry
/// out the correction it refused before, without signing in again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_changed_while_signed_in_holds_from_the_next_sync() {
    let hub = Hub::start().await;
    let mut mona = hub.replica("mona").await;
    let lead = mona.add_lead("Fay Fixer", "fay@example.com", "+493012345679", "DE");
    mona.sync().await;
    let rita = CliReplica::login(
        &hub.server.url,
        &hub.server.fingerprint,
        "rita",
        Some(support::NOW),
    );
    rita.sync();
    let refused = rita.run(&["--json", "correct", &lead, "name=Fay Fixed"]);
    refused.expect(3);
    assert!(
        refused.stderr.contains("role_required"),
        "{}",
        refused.stderr
    );

    hub.server
        .admin(|tx| roles::set_role(tx, "rita", Role::Privacy, Some("BER"), chrono::Utc::now()))
        .await
        .unwrap();
    rita.sync();
    let status = rita.run(&["status"]);
    status.ok();
    assert!(
        status.stdout.contains("Role:          privacy ("),
        "{}",
        status.stdout
    );
    let corrected = rita.sandbox.json(&["correct", &lead, "name=Fay Fixed"]);
    assert_eq!(corrected["lead_id"], lead.as_str(), "{corrected}");
    rita.sync();
    let status = rita.status();
    assert_eq!(
        (
            status["pending"].as_i64(),
            status["rejected_total"].as_i64()
        ),
        (Some(0), Some(0)),
        "{status}"
    );
    mona.sync().await;
    assert_eq!(
        mona.count("SELECT count(*) FROM lead WHERE name = 'Fay Fixed'"),
        1
    );
}
