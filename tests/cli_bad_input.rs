//! Bad input through the real binary: each gets a clear error and the documented exit code,
//! nothing is half-written, and nothing panics.

mod support;

use support::Sandbox;

#[test]
fn unknown_flags_commands_and_values_are_usage_errors() {
    let sandbox = Sandbox::init();
    for args in [
        vec!["--frobnicate"],
        vec!["leads", "lisst"],
        vec!["leads", "list", "--limit", "many"],
        vec!["can-contact", "x", "--channel", "pigeon"],
        vec!["log", "x", "--channel", "phone"],
        vec!["optout", "x", "--channel", "fax"],
        vec!["history", "--since", "next tuesday"],
        vec!["correct", "x"],
    ] {
        let run = sandbox.run(&args);
        run.expect(2);
        assert!(!run.stderr.trim().is_empty(), "{args:?} printed no error");
    }
    sandbox
        .run(&["can-contact", "x", "--channel", "pigeon"])
        .stderr_mentions(&["pigeon", "email", "phone", "mail"]);
    sandbox
        .run(&["history", "--since", "next tuesday"])
        .stderr_mentions(&["YYYY-MM-DD"]);
}

#[test]
fn global_flags_work_before_and_after_the_subcommand() {
    let sandbox = Sandbox::init();
    let db = sandbox.db.to_str().unwrap();
    let before = support::run_plain(&["--json", "--db", db, "leads", "list"]);
    before.ok();
    assert_eq!(before.json(), serde_json::json!([]));
    let after = support::run_plain(&["leads", "list", "--db", db, "--json"]);
    after.ok();
    assert_eq!(after.json(), serde_json::json!([]));
}

#[test]
fn the_database_can_come_from_the_environment() {
    let sandbox = Sandbox::new();
    let db = sandbox.db.to_str().unwrap();
    let mut command = std::process::Command::new(support::binary());
    let output = command
        .args(["init", "--json"])
        .env("SWITCHBOARD_DB", db)
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert!(sandbox.db.exists());
}

#[test]
fn a_missing_database_is_reported_not_silently_created() {
    let sandbox = Sandbox::new();
    sandbox
        .run(&["leads", "list"])
        .expect(4)
        .stderr_mentions(&["no database", "switchboard init"]);
    assert!(!sandbox.db.exists(), "a read must not create the database");
}

#[test]
fn an_unknown_lead_exits_4_for_every_command() {
    let sandbox = Sandbox::init();
    for args in [
        vec!["leads", "show", "nobody@example.com"],
        vec!["leads", "show", "0190a1b2-0000-7000-8000-000000000000"],
        vec!["can-contact", "nobody@example.com", "--channel", "email"],
        vec![
            "log",
            "nobody@example.com",
            "--channel",
            "email",
            "--outcome",
            "sent",
        ],
        vec!["optout", "nobody@example.com", "--channel", "all"],
        vec!["correct", "nobody@example.com", "name=Ann"],
        vec!["erase", "nobody@example.com", "--yes"],
        vec!["dsar", "nobody@example.com"],
        vec!["history", "--lead", "nobody@example.com"],
        vec!["requests", "handle", "no-such-request"],
    ] {
        sandbox.run(&args).expect(4).stderr_mentions(&["no "]);
    }
    let run = sandbox.run(&["leads", "show", "nobody@example.com", "--json"]);
    run.expect(4);
    let error: serde_json::Value = serde_json::from_str(run.stderr.trim()).unwrap();
    assert_eq!(error["error"]["code"], "not_found");
    assert!(error["error"]["message"]
        .as_str()
        .unwrap()
        .contains("nobody@example.com"));
}

#[test]
fn an_empty_queue_exits_4() {
    let sandbox = Sandbox::init();
    sandbox
        .run(&["queue", "next"])
        .expect(4)
        .stderr_mentions(&["new"]);
    sandbox
        .run(&["queue", "next", "--queue", "no-such-queue"])
        .expect(4)
        .stderr_mentions(&["no-such-queue"]);
}

#[test]
fn invalid_utf8_arguments_are_refused() {
    use std::os::unix::ffi::OsStrExt;
    let sandbox = Sandbox::init();
    let bad = std::ffi::OsStr::from_bytes(b"ann\xff@example.com");
    let output = sandbox
        .command(&["leads", "show"])
        .arg(bad)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.to_lowercase().contains("utf-8"), "{stderr}");
    assert!(!stderr.contains("panicked"));
}
