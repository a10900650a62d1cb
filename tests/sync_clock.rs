//! Replicas whose clocks are years off, through the real `switchboard` binary (its clock pinned
//! with `SWITCHBOARD_NOW`) against a real server whose clock the test moves: an edit stamped
//! years ahead does not win over later edits of others (the server clamps it), a replica years
//! behind still orders its edits after what it has seen, and every follow-up and opt-out of
//! both arrives, exactly once, with consent holding everywhere.

use crate::cli_replica;
use crate::sync_support;

use chrono::Duration;
use cli_replica::{server_strings, CliReplica};
use std::sync::Arc;
use switchboard_core::protocol::Role;
use switchboard_core::FixedClock;
use switchboard_server::roles;
use sync_support::{monday, Hub};

/// Five years ahead of the server, a Monday morning in Berlin.
const AHEAD: &str = "2031-03-03T09:00:00Z";
/// Five years behind the server, a Monday morning in Berlin.
const BEHIND: &str = "2021-03-01T09:00:00Z";

fn name_of(replica: &CliReplica, lead: &str) -> String {
    replica
        .strings(&format!("SELECT name FROM lead WHERE id = '{lead}'"))
        .pop()
        .unwrap()
}

fn attempts_of(replica: &CliReplica, lead: &str) -> String {
    replica
        .strings(&format!(
            "SELECT CAST(attempts AS TEXT) FROM lead WHERE id = '{lead}'"
        ))
        .pop()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clocks_years_ahead_or_behind_neither_win_forever_nor_lose_work() {
    let server_clock = FixedClock::at(monday());
    let hub = Hub::start_with_clock(Arc::new(server_clock.clone())).await;
    let mut mona = hub.replica("mona").await;
    let leads: Vec<String> = (0..2)
        .map(|i| {
            mona.add_lead(
                &format!("Person {i}"),
                &format!("person{i}@example.com"),
                &format!("+4930123456{i}"),
                "DE",
            )
        })
        .collect();
    mona.sync().await;

    // Years ahead: rita renames, calls and records an opt-out. A rename is a correction, which
    // a rep may only request now (least privilege): rita is the office's manager here.
    hub.server
        .admin(|tx| roles::set_role(tx, "rita", Role::Manager, Some("BER"), monday()))
        .await
        .unwrap();
    server_clock.set(monday() + Duration::hours(1));
    let rita = CliReplica::login(
        &hub.server.url,
        &hub.server.fingerprint,
        "rita",
        Some(AHEAD),
    );
    rita.sync();
    rita.run(&["correct", &leads[0], "name=Ahead Name"]).ok();
    let mut calls = vec![rita.call(&leads[0], "called from the future")];
    let mut opted_out = vec![rita.opt_out(&leads[1], "phone")];
    rita.sync();

    // A minute later by the server, mona (who has not pulled yet) renames the same person:
    // the later edit wins, because the server clamped rita's stamp to its own time.
    server_clock.set(monday() + Duration::hours(1) + Duration::minutes(1));
    mona.clock
        .set(monday() + Duration::hours(1) + Duration::minutes(1));
    mona.rename(&leads[0], "Later Name");
    calls.push(mona.call(&leads[0], "called on time"));
    mona.sync().await;
    rita.sync();
    assert_eq!(
        name_of(&rita, &leads[0]),
        "Later Name",
        "the edit stamped years ahead does not win on its own replica either"
    );

    // Years behind: ada pulls everything, then renames, calls and opts the person out of all.
    let ada = CliReplica::login(
        &hub.server.url,
        &hub.server.fingerprint,
        "ada",
        Some(BEHIND),
    );
    ada.sync();
    assert_eq!(name_of(&ada, &leads[0]), "Later Name");
    ada.run(&["correct", &leads[0], "name=Behind Name"]).ok();
    calls.push(ada.call(&leads[0], "called from the past"));
    opted_out.push(ada.opt_out(&leads[0], "all"));
    ada.sync();
    mona.sync().await;
    rita.sync();

    // Everyone agrees; every call and opt-out arrived once.
    let calls = {
        let mut c = calls;
        c.sort();
        c
    };
    assert_eq!(
        server_strings(
            hub.data_dir(),
            "SELECT id FROM record WHERE kind = 'follow_up'"
        ),
        calls
    );
    opted_out.sort();
    let consent = server_strings(
        hub.data_dir(),
        "SELECT id FROM record WHERE kind = 'consent_event'",
    );
    assert_eq!(consent, opted_out, "both opt-outs, once each");
    assert_eq!(mona.follow_up_ids(), calls);
    for (who, replica) in [("rita", &rita), ("ada", &ada)] {
        assert_eq!(replica.follow_up_ids(), calls, "{who}");
        assert_eq!(replica.consent_ids(), consent, "{who}");
        assert_eq!(name_of(replica, &leads[0]), "Behind Name", "{who}");
        assert_eq!(attempts_of(replica, &leads[0]), "3", "{who}");
        assert!(
            !replica.may_call(&leads[0]),
            "{who}: the opt-out of all holds"
        );
        assert!(
            !replica.may_call(&leads[1]),
            "{who}: the phone opt-out holds"
        );
    }
    let mona_name: i64 = mona.count(&format!(
        "SELECT count(*) FROM lead WHERE id = '{}' AND name = 'Behind Name' AND attempts = 3",
        leads[0]
    ));
    assert_eq!(mona_name, 1);
    assert!(!mona.may_call(&leads[0]));
    assert!(!mona.may_call(&leads[1]));
}
