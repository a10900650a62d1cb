//! Erasure beats an offline edit: one replica erases a person while another edits and calls
//! them offline. Afterwards no replica's and no server's database file (WAL included) holds the
//! person's name, email, phone or IP, and a new intake registration of the email is suppressed.

use crate::sync_support;

use sync_support::{files_containing, Hub};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_erasure_purges_every_replica_and_the_server_and_suppresses_the_person() {
    let hub = Hub::start().await;
    let answer = hub
        .intake(serde_json::json!({
            "submission_id": "web-1",
            "kind": "license_key",
            "product": "Widget Pro",
            "submitted_at": "2026-03-01T08:00:00Z",
            "name": "Zelda Quinterro",
            "company": "Quinterro Instruments",
            "email": "zelda.quinterro@example.com",
            "phone": "+49 30 98765432",
            "country": "DE",
            "ip": "203.0.113.77",
            "user_agent": "Mozilla/5.0 (Quinterro)",
            "pages_visited": ["https://example.com/pricing"]
        }))
        .await;
    let lead = answer["lead_id"].as_str().unwrap().to_string();
    let mut mona = hub.replica("mona").await;
    let mut rita = hub.replica("rita").await;
    mona.sync().await;
    rita.sync().await;
    assert_eq!(
        rita.count("SELECT count(*) FROM registration WHERE ip = '203.0.113.77'"),
        1
    );

    // The scan below sees the person while they are held (so its silence later means something).
    drop(
        rita.store
            .conn()
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE)"),
    );
    // (The replica file is encrypted: the scan reads what its key shows.)
    let decrypted = switchboard_test_support::decrypted_bytes(&rita.path);
    assert!(decrypted.windows(9).any(|w| w == b"Quinterro"));

    // Offline: mona erases, rita corrects the name and calls with a note naming the person.
    mona.erase(&lead);
    rita.rename(&lead, "Zelda Quinterro-Haas");
    rita.call(&lead, "Zelda Quinterro asked for a quote");
    mona.sync().await;
    let report = rita.sync().await;
    assert!(
        report.rejected >= 1,
        "rita's edit of an erased person is refused: {report:?}"
    );
    mona.sync().await;
    rita.sync().await;

    // Everyone holds the skeleton and rita's call (without its note).
    for r in [&mona, &rita] {
        assert_eq!(
            r.count("SELECT count(*) FROM lead WHERE status = 'erased' AND name IS NULL"),
            1
        );
        assert_eq!(
            r.count("SELECT count(*) FROM follow_up WHERE note IS NOT NULL"),
            0
        );
        assert_eq!(
            r.count("SELECT count(*) FROM follow_up"),
            1,
            "the call is kept"
        );
        assert_eq!(r.integrity(), "ok");
    }
    let status = switchboard_core::replica::status(rita.store.conn()).unwrap();
    assert!(status
        .rejected
        .iter()
        .any(|x| x.code.as_deref() == Some("subject_erased")));
    assert!(!serde_json::to_string(&status)
        .unwrap()
        .contains("Quinterro"));

    // No file of any replica or of the server holds the person's data.
    let needles = [
        "Zelda",
        "Quinterro",
        "zelda.quinterro@example.com",
        "+493098765432",
        "98765432",
        "203.0.113.77",
    ];
    let dirs = [
        mona.path.parent().unwrap().to_path_buf(),
        rita.path.parent().unwrap().to_path_buf(),
        hub.data_dir().to_path_buf(),
    ];
    let decrypted =
        [&mona.path, &rita.path].map(|db| switchboard_test_support::decrypted_bytes(db));
    for needle in needles {
        for dir in &dirs {
            let hits = files_containing(dir, needle);
            assert!(hits.is_empty(), "'{needle}' still in {hits:?}");
        }
        let lower = needle.to_lowercase();
        for bytes in &decrypted {
            assert!(
                !bytes
                    .windows(needle.len())
                    .any(|w| w == needle.as_bytes() || w == lower.as_bytes()),
                "'{needle}' is still in a replica"
            );
        }
    }

    // The same person registering again is recognised without their data being kept.
    let again = hub
        .intake(serde_json::json!({
            "submission_id": "web-2",
            "kind": "info_request",
            "submitted_at": "2026-03-05T08:00:00Z",
            "name": "Z. Quinterro",
            "email": "Zelda.Quinterro@Example.com",
            "country": "DE"
        }))
        .await;
    assert_eq!(again["status"], "suppressed", "{again}");
    mona.sync().await;
    assert_eq!(
        mona.count("SELECT count(*) FROM lead WHERE name IS NOT NULL AND name LIKE '%Quinterro%'"),
        0
    );
}
