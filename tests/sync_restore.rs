//! A replica's files restored or copied, through the real `switchboard` binary against a real
//! server: a backup of the whole folder (database and `.replica` sidecar) restored in place
//! after more work was synced, and a folder copied to another path with both copies in use.
//! Each ends with every replica and the server holding exactly the same follow-ups and consent
//! events, by id: nothing lost, nothing twice.

use crate::cli_replica;
use crate::support;
use crate::sync_support;

use cli_replica::{server_strings, CliReplica, FolderBackup};
use sync_support::{Hub, Replica};

const SERVER_FOLLOW_UPS: &str = "SELECT id FROM record WHERE kind = 'follow_up'";
const SERVER_CONSENT: &str = "SELECT id FROM record WHERE kind = 'consent_event'";

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

/// Three leads of office BER made by the manager's replica and synced.
async fn three_leads(mona: &mut Replica) -> Vec<String> {
    let leads = (0..3)
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
    leads
}

fn assert_nothing_pending(replica: &CliReplica) {
    let status = replica.status();
    assert_eq!(status["pending"], 0, "{status}");
    assert_eq!(status["rejected_total"], 0, "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_restored_in_place_loses_nothing_it_logs_afterwards() {
    let hub = Hub::start().await;
    let mut mona = hub.replica("mona").await;
    let leads = three_leads(&mut mona).await;
    let rita = CliReplica::login(
        &hub.server.url,
        &hub.server.fingerprint,
        "rita",
        Some(support::NOW),
    );
    rita.sync();
    // A reader that stays open (the desktop window, say) keeps the WAL beside the database, so
    // the backup holds a -wal file too.
    let reader = switchboard_test_support::open_sqlite(&rita.sandbox.db, Default::default());
    reader
        .query_row("SELECT count(*) FROM lead", [], |r| r.get::<_, i64>(0))
        .unwrap();
    let mut logged = vec![rita.call(&leads[0], "before the backup")];
    rita.sync();
    let first_id = rita.replica_id();
    // Still waiting to be pushed when the backup is taken: pushed after it, then queued again
    // by the restore.
    logged.push(rita.call(&leads[1], "pending at the backup"));

    // The whole folder is backed up; more work is synced after that.
    let pending_at_backup = rita.status()["pending"].clone();
    assert_ne!(pending_at_backup, 0);
    let backup = FolderBackup::take(&rita.sandbox.db);
    assert!(backup.has("-wal") && backup.has(".replica"));
    logged.push(rita.call(&leads[0], "after the backup"));
    logged.push(rita.call(&leads[1], "after the backup too"));
    let mut opted_out = vec![rita.opt_out(&leads[1], "phone")];
    rita.sync();

    // The backup comes back over the same files (database and sidecar), then new work: the
    // same outbox numbers as the lost work, with other content.
    drop(reader);
    backup.restore_in_place(&rita.sandbox.db);
    assert_eq!(rita.replica_id(), first_id, "the old identity came back");
    assert_eq!(
        rita.status()["pending"],
        pending_at_backup,
        "the restore queued the pushed call again"
    );
    logged.push(rita.call(&leads[2], "after the restore"));
    logged.push(rita.call(&leads[0], "after the restore too"));
    opted_out.push(rita.opt_out(&leads[2], "all"));
    let report = rita.sync();
    let why = report["new_replica_id"].as_str().unwrap_or_default();
    assert!(why.contains("sequence numbers"), "{report}");
    assert_ne!(rita.replica_id(), first_id);
    assert_nothing_pending(&rita);

    // Every follow-up and opt-out is on the server once, and reaches the other replica.
    mona.sync().await;
    let logged = sorted(logged);
    assert_eq!(
        server_strings(hub.data_dir(), SERVER_FOLLOW_UPS),
        logged,
        "the server holds each follow-up exactly once"
    );
    assert_eq!(mona.follow_up_ids(), logged);
    let consent = sorted(opted_out);
    assert_eq!(
        server_strings(hub.data_dir(), SERVER_CONSENT),
        consent,
        "the server holds both opt-outs exactly once"
    );
    let mona_consent: Vec<String> = mona
        .snapshot()
        .consent
        .iter()
        .map(|row| row.split('|').next().unwrap().to_string())
        .collect();
    assert_eq!(sorted(mona_consent), consent);
    assert!(
        !mona.may_call(&leads[2]),
        "the opt-out of all holds on the other replica"
    );
    assert!(
        !mona.may_call(&leads[1]),
        "the phone opt-out lost with the restore holds too"
    );

    // The restored laptop gets back what the restore took from it (pulled from the server).
    let report = rita.sync();
    assert_eq!(report["pushed"], 0, "{report}");
    assert_eq!(rita.follow_up_ids(), logged);
    assert_eq!(rita.consent_ids(), consent);
    assert!(!rita.may_call(&leads[1]));
    assert_nothing_pending(&rita);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_copied_with_its_sidecar_keeps_working_in_both_places() {
    let hub = Hub::start().await;
    let mut mona = hub.replica("mona").await;
    let leads = three_leads(&mut mona).await;
    let rita = CliReplica::login(
        &hub.server.url,
        &hub.server.fingerprint,
        "rita",
        Some(support::NOW),
    );
    rita.sync();
    let mut logged = vec![rita.call(&leads[0], "before the copy")];
    rita.sync();

    // The folder is copied elsewhere (database, sidecar and all) and both copies are used.
    let copy = rita.copy_to_new_folder();
    logged.push(rita.call(&leads[1], "on the original"));
    logged.push(copy.call(&leads[1], "on the copy"));
    let opted_out = copy.opt_out(&leads[2], "all");
    let report = copy.sync();
    assert!(report["new_replica_id"].is_string(), "{report}");
    rita.sync();
    assert_ne!(copy.replica_id(), rita.replica_id());
    for round in 0..2 {
        logged.push(rita.call(&leads[0], &format!("original, round {round}")));
        logged.push(copy.call(&leads[0], &format!("copy, round {round}")));
        copy.sync();
        rita.sync();
    }
    copy.sync();

    mona.sync().await;
    let logged = sorted(logged);
    assert_eq!(server_strings(hub.data_dir(), SERVER_FOLLOW_UPS), logged);
    for (name, ids) in [
        ("the original", rita.follow_up_ids()),
        ("the copy", copy.follow_up_ids()),
        ("the other replica", mona.follow_up_ids()),
    ] {
        assert_eq!(ids, logged, "{name} holds every follow-up once");
    }
    let consent = vec![opted_out];
    assert_eq!(server_strings(hub.data_dir(), SERVER_CONSENT), consent);
    assert_eq!(rita.consent_ids(), consent);
    assert_eq!(copy.consent_ids(), consent);
    assert!(!rita.may_call(&leads[2]));
    assert!(!mona.may_call(&leads[2]));
    assert_nothing_pending(&rita);
    assert_nothing_pending(&copy);
}
