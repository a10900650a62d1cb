//! Managers of several offices through the real binaries: a `switchboard-server` process
//! (SQLite, or PostgreSQL with `SWITCHBOARD_TEST_PG_URL`) administered with its own commands,
//! and laptops running `switchboard`. A manager's laptop synced before `user office add` gave
//! her a second office pulls that office's leads at its next sync, and never a third's; a rep
//! cannot be given a second office; taking an office away with `user office remove` revokes the
//! manager's laptop, whose next sync is refused with `device_revoked` and erases its replica. A manager's live stream announces
//! changes of each of her offices and no other, and closes when her offices change. No process
//! may panic.

use crate::cli_replica;
use crate::server_process;
use crate::sync_support;
use crate::watcher;

use cli_replica::CliReplica;
use server_process::{server_binary, ServerProcess};
use std::process::Command;
use switchboard_sync::live::LiveEvent;
use switchboard_sync::{Client, Secret, TrustAnchor};
use sync_support::PASSWORD;
use watcher::next_change;

/// Imports one lead from `country` on `replica`, syncs, and returns the lead's id.
fn import(replica: &CliReplica, name: &str, email: &str, phone: &str, country: &str) -> String {
    let before = replica.strings("SELECT id FROM lead");
    let file = replica.sandbox.write(
        "leads.csv",
        format!(
            "name,email,phone,country,kind,submitted_at\n\
             {name},{email},{phone},{country},demo,2026-03-01T10:00:00Z\n"
        ),
    );
    replica.run(&["import", file.to_str().unwrap()]).ok();
    replica.sync();
    replica
        .strings("SELECT id FROM lead")
        .into_iter()
        .find(|id| !before.contains(id))
        .expect("the imported lead")
}

/// One lead imported on paul's laptop (office PAR) and one on rosa's (office ROM).
fn paris_and_rome(paul: &CliReplica, rosa: &CliReplica) -> (String, String) {
    let paris = import(
        paul,
        "Paula Paris",
        "paula@example.com",
        "+33 1 55 50 01 02",
        "FR",
    );
    let rome = import(
        rosa,
        "Romy Rome",
        "romy@example.com",
        "+39 06 5550103",
        "IT",
    );
    (paris, rome)
}

/// `switchboard-server ARGS --data DIR`, which may fail: exit code, stdout, stderr.
fn try_admin(server: &ServerProcess, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(server_binary())
        .args(args)
        .arg("--data")
        .arg(server.data_dir())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!stderr.contains("panicked at"), "{stderr}");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr,
    )
}

fn managers_of_two_offices(store: Option<&str>) {
    let server = ServerProcess::start_on(store, |_| Vec::new());
    let password = format!("{PASSWORD}\n");
    server.admin(
        &["office", "add", "ROM", "--name", "Rome", "--country", "IT"],
        None,
    );
    server.admin(&["route", "add", "IT", "ROM"], None);
    for (name, office) in [("paul", "PAR"), ("rosa", "ROM")] {
        server.admin(
            &["user", "add", name, "--role", "rep", "--office", office],
            Some(&password),
        );
    }
    // A rep works in one office: refused with a message that says why and what to do.
    let (code, _, refused) = try_admin(&server, &["user", "office", "add", "rita", "PAR"]);
    assert_ne!(code, 0);
    assert!(
        refused.contains("exactly one office") && refused.contains("user role rita"),
        "{refused}"
    );
    let url = server.url();
    let rita = CliReplica::login(&url, &server.fingerprint, "rita", None);
    let paul = CliReplica::login(&url, &server.fingerprint, "paul", None);
    let rosa = CliReplica::login(&url, &server.fingerprint, "rosa", None);
    let berlin = import(
        &rita,
        "Bert Berlin",
        "bert@example.com",
        "+49 30 5550101",
        "DE",
    );
    let (paris, rome) = paris_and_rome(&paul, &rosa);

    // mona's laptop, synced as a manager of BER only, pulls PAR's leads at its next sync
    // after `user office add` (its cursor is past them), and never ROM's.
    let mona = CliReplica::login(&url, &server.fingerprint, "mona", None);
    mona.sync();
    assert_eq!(
        mona.strings("SELECT id FROM lead"),
        std::slice::from_ref(&berlin)
    );
    let added = server.admin(&["user", "office", "add", "mona", "PAR"], None);
    assert!(added.contains("mona manages office PAR too"), "{added}");
    let listed = server.admin(&["user", "list"], None);
    assert!(
        listed.contains("mona\tmanager\tBER,PAR\tactive"),
        "{listed}"
    );
    assert!(listed.contains("rita\trep\tBER\tactive"), "{listed}");
    mona.sync();
    let held = mona.strings("SELECT id FROM lead");
    assert!(held.contains(&berlin) && held.contains(&paris), "{held:?}");
    assert!(
        !held.contains(&rome),
        "ROM's lead reached a manager of BER and PAR"
    );
    // A laptop signed in after the add says which offices (`status`, from the sign-in).
    let desk = CliReplica::login(&url, &server.fingerprint, "mona", None);
    let status = desk.run(&["status"]);
    status.ok();
    assert!(
        status.stdout.contains("mona (offices BER, PAR)"),
        "{}",
        status.stdout
    );
    // She works on PAR's lead; paul's laptop hears of it.
    mona.call(&paris, "called from BER");
    mona.sync();
    paul.sync();
    assert_eq!(
        paul.strings("SELECT note FROM follow_up"),
        ["called from BER"]
    );

    // Taking PAR away revokes her laptop: the next sync is refused and erases the replica.
    let removed = server.admin(&["user", "office", "remove", "mona", "PAR"], None);
    assert!(
        removed.contains("mona no longer works in office PAR")
            && removed.contains("2 device(s) of mona revoked"),
        "{removed}"
    );
    let wiped = mona.run(&["--json", "sync"]);
    wiped.expect(1);
    assert_eq!(wiped.json_error().0, "device_revoked", "{}", wiped.stderr);
    wiped.stderr_mentions(&["removed from office PAR", "erased"]);
    assert!(
        !mona.sandbox.db.exists(),
        "the revoked laptop kept its replica"
    );
    // The last office cannot be taken; the others keep syncing.
    let (code, _, last) = try_admin(&server, &["user", "office", "remove", "mona", "BER"]);
    assert_ne!(code, 0);
    assert!(last.contains("last office"), "{last}");
    rita.sync();
    paul.sync();
    server.assert_no_panic();
}

#[test]
fn a_manager_of_two_offices_syncs_both_and_is_wiped_when_one_is_taken_away_on_sqlite() {
    managers_of_two_offices(None);
}

#[test]
fn a_manager_of_two_offices_syncs_both_and_is_wiped_when_one_is_taken_away_on_postgres() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let Some(url) = rt.block_on(switchboard_test_support::fresh_pg_url(
        "managers_of_two_offices",
    )) else {
        return;
    };
    managers_of_two_offices(Some(&url));
}

/// A manager of BER and PAR holds the live stream: a PAR change is announced, a ROM change is
/// not, and adding an office ends the stream (`closed`) at its next wake.
#[test]
fn a_managers_live_stream_carries_both_offices_and_closes_when_they_change() {
    let server = ServerProcess::start();
    let password = format!("{PASSWORD}\n");
    server.admin(
        &["office", "add", "ROM", "--name", "Rome", "--country", "IT"],
        None,
    );
    server.admin(&["route", "add", "IT", "ROM"], None);
    for (name, office) in [("paul", "PAR"), ("rosa", "ROM")] {
        server.admin(
            &["user", "add", name, "--role", "rep", "--office", office],
            Some(&password),
        );
    }
    server.admin(&["user", "office", "add", "mona", "PAR"], None);
    let url = server.url();
    let paul = CliReplica::login(&url, &server.fingerprint, "paul", None);
    let rosa = CliReplica::login(&url, &server.fingerprint, "rosa", None);
    let (paris, rome) = paris_and_rome(&paul, &rosa);

    let rt = tokio::runtime::Runtime::new().unwrap();
    let anchor = TrustAnchor::fingerprint(&server.fingerprint).unwrap();
    let api = Client::new(&url, &anchor).unwrap();
    let mona = rt
        .block_on(api.login("mona", &Secret::new(PASSWORD.to_string())))
        .unwrap();
    let short = std::time::Duration::from_millis(1500);
    rt.block_on(async {
        let mut stream = api.live(&mona.token, 0).await.unwrap().expect("a stream");
        // What mona may already see is announced first; take it.
        while next_change(&mut stream, short).await.is_some() {}
        paul.call(&paris, "for PAR");
        paul.sync();
        assert!(matches!(
            next_change(&mut stream, std::time::Duration::from_secs(5)).await,
            Some(LiveEvent::Change { .. })
        ));
        rosa.call(&rome, "for ROM only");
        rosa.sync();
        assert_eq!(
            next_change(&mut stream, short).await,
            None,
            "a ROM change was announced to a manager of BER and PAR"
        );
        // A third office: her scope changed, so the stream closes at the next wake.
        server.admin(&["user", "office", "add", "mona", "ROM"], None);
        paul.call(&paris, "after ROM was added");
        paul.sync();
        assert!(matches!(
            next_change(&mut stream, std::time::Duration::from_secs(20)).await,
            Some(LiveEvent::Closed { .. })
        ));
    });
    server.assert_no_panic();
}
