use super::*;
use crate::compliance::suppression::is_suppressed;
use crate::fixtures::*;
use crate::privacy::correct::correct;
use switchboard_test_support::scan_files_for;

const NEW_EMAIL: &str = "z.quarksmith@newmail.example";

fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

#[test]
fn a_preview_counts_what_the_erasure_then_removes_and_changes_nothing() {
    let (mut store, _clock) = memory_store();
    let id = person(&mut store);
    let dump = |store: &Store| {
        let conn = store.conn();
        (
            count(conn, "SELECT count(*) FROM audit"),
            count(conn, "SELECT count(*) FROM outbox"),
            count(conn, "SELECT count(*) FROM subscriber_request"),
            count(conn, "SELECT count(*) FROM suppression"),
            count(conn, "SELECT count(*) FROM lead WHERE status = 'erased'"),
        )
    };
    let before = dump(&store);
    let preview = preview(&mut store, &id, "mgr").unwrap();
    assert_eq!(dump(&store), before, "a preview writes nothing");
    assert_eq!(preview.name.as_deref(), Some(NAME));
    assert_eq!(preview.email.as_deref(), Some(EMAIL));
    assert_eq!(preview.registrations, 2);
    assert_eq!(preview.follow_up_notes, 2);
    assert_eq!(preview.consent_evidence, 1);

    let report = erase(&mut store, &id, "mgr").unwrap();
    assert_eq!(preview.lead_fields, report.lead_fields);
    assert_eq!(preview.registrations, report.registrations);
    assert_eq!(preview.follow_up_notes, report.follow_up_notes);
    assert_eq!(preview.consent_evidence, report.consent_evidence);
    assert_eq!(preview.request_details, report.request_details);
    assert_eq!(preview.audit_entries, report.audit_entries);
    assert_eq!(preview.identifiers, report.hashes.len());
    let again = super::preview(&mut store, &id, "mgr").unwrap_err();
    assert_eq!(
        again.code(),
        "conflict",
        "an erased lead has nothing left to preview"
    );
}

/// Other people, ten per transaction.
fn crowd(store: &mut Store, range: std::ops::Range<usize>) {
    let ids: Vec<usize> = range.collect();
    for chunk in ids.chunks(10) {
        let at = store.now();
        store
            .with_tx(|tx| {
                for i in chunk {
                    let new = leads::NewLead {
                        name: Some(format!("Neighbour {i}")),
                        company: Some(format!("Neighbour Works {}", i % 7)),
                        email: Some(format!("neighbour{i}@example.com")),
                        phone: Some(format!("+4930{:08}", 10_000_000 + i)),
                        country: Some("DE".into()),
                        ..leads::NewLead::default()
                    };
                    leads::insert(tx, &crate::clock::new_id(at), &new, at)?;
                }
                Ok(())
            })
            .unwrap();
    }
}

/// Every identifying string of the person, including the address they corrected away.
fn needles() -> Vec<&'static str> {
    vec![
        NAME,
        "Zoltan",
        "Quarksmith",
        COMPANY,
        EMAIL,
        NEW_EMAIL,
        PHONE,
        "90182044",
        PHONE_NATIONAL,
        IP,
        IP_2,
        USER_AGENT,
        "Quarkbrowser",
        REFERRER,
        "quark-referrer",
        PAGE,
        "Quarkstrasse",
        "sub-quark-1",
    ]
}

#[test]
fn erasure_leaves_no_byte_of_the_person_in_the_database_or_its_wal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchboard.db");
    let (mut store, clock) = file_store(&path);
    // Neighbours written in many small transactions before and after the person, so their
    // rows share pages with others' and the search index has many segments.
    crowd(&mut store, 0..150);
    let id = person(&mut store);
    crowd(&mut store, 150..300);
    // Someone else stays, so the scan is shown to see live data.
    let other = lead(&mut store, "Beatrix Other", "beatrix@other.example", None);
    clock.advance(chrono::Duration::days(1));
    let at = store.now();
    store
        .with_tx(|tx| correct(tx, &id, &[("email".into(), NEW_EMAIL.into())], "rep1", at))
        .unwrap();
    let old_in_audit = count(
        store.conn(),
        "SELECT count(*) FROM audit WHERE old_value = 'zoltan.quarksmith@example.com'",
    );
    assert_eq!(old_in_audit, 1, "the correction audited the old address");

    // A mail the server refused: its error quotes the address, and a reply was read about it.
    store
        .conn()
        .execute(
            "INSERT INTO mail_outbox (id, message_id, lead_id, subject, body, rep, state,
                                      queued_at, error_code, error)
             VALUES ('mail-1', '<mail-1@rep.example>', ?1, 'Hello', 'Hi {first_name}', 'rep1',
                     'failed', '2026-01-01T00:00:00.000Z', 'mail_recipient_refused', ?2)",
            rusqlite::params![
                id,
                format!("550 5.1.1 <{NEW_EMAIL}>: Recipient address rejected")
            ],
        )
        .unwrap();
    store
        .conn()
        .execute(
            "INSERT INTO mail_inbound (message_id, outbox_id, kind, recorded_at)
             VALUES ('<dsn-1@mx.example>', 'mail-1', 'hard_bounce', '2026-01-01T00:00:00.000Z')",
            [],
        )
        .unwrap();

    let before = scan_files_for(&path, &needles()).unwrap();
    for needle in [NAME, NEW_EMAIL, IP, USER_AGENT] {
        assert!(
            before.iter().any(|f| f.needle == needle),
            "the scan sees {needle} before erasure"
        );
    }

    clock.advance(chrono::Duration::days(1));
    let report = erase(&mut store, &id, "manager1").unwrap();
    assert_eq!(
        count(
            store.conn(),
            "SELECT (SELECT count(*) FROM mail_outbox) + (SELECT count(*) FROM mail_inbound)"
        ),
        0,
        "the person's mails and what was read about them are gone"
    );

    let found = scan_files_for(&path, &needles()).unwrap();
    if !found.is_empty() {
        let page: i64 = count(store.conn(), "PRAGMA page_size");
        for f in &found {
            let pgno = f.offset as i64 / page + 1;
            let owner: String = store
                .conn()
                .query_row("SELECT name FROM dbstat WHERE pageno = ?1", [pgno], |r| {
                    r.get(0)
                })
                .unwrap_or_else(|e| e.to_string());
            eprintln!("{} at page {pgno} of {owner}", f.spelling);
        }
    }
    assert!(found.is_empty(), "personal data left on disk: {found:#?}");
    assert!(
        !scan_files_for(&path, &["Beatrix Other"])
            .unwrap()
            .is_empty(),
        "the other person is untouched"
    );
    assert!(report.wal_truncated);
    let wal = std::fs::metadata(dir.path().join("switchboard.db-wal"))
        .map(|m| m.len())
        .unwrap_or(0);
    assert_eq!(wal, 0, "the WAL is truncated");

    // The skeleton keeps managers' counts right.
    let conn = store.conn();
    let lead = leads::get(conn, &id).unwrap();
    assert_eq!(lead.status, LeadStatus::Erased);
    assert_eq!(lead.country.as_deref(), Some("DE"));
    assert_eq!(lead.attempts, 2);
    assert!(lead.name.is_none() && lead.email.is_none() && lead.phone.is_none());
    assert_eq!(
        count(conn, "SELECT count(*) FROM follow_up WHERE note IS NULL"),
        2
    );
    assert_eq!(
        count(
            conn,
            "SELECT count(*) FROM registration
             WHERE product = 'Widget Pro' AND submitted_at IS NOT NULL AND ip IS NULL"
        ),
        2
    );
    assert_eq!(
        count(conn, "SELECT count(*) FROM lead"),
        302,
        "no row is deleted"
    );
    assert_eq!(
        count(
            conn,
            "SELECT count(*) FROM lead_search WHERE lead_search MATCH 'quarksmith'"
        ),
        0
    );
    assert_eq!(
        count(
            conn,
            "SELECT count(*) FROM note_search WHERE note_search MATCH 'quarksmith'"
        ),
        0
    );

    // What was purged, counted.
    assert_eq!(report.lead_fields, 5);
    assert_eq!(report.registrations, 2);
    assert_eq!(report.follow_up_notes, 2);
    assert_eq!(report.consent_evidence, 1);
    assert!(report.audit_entries >= 1);

    // Old address, new address and phone (both spellings normalise alike) are suppressed.
    let key = suppression::key(conn).unwrap();
    assert!(is_suppressed(conn, &key, Identifier::Email, EMAIL).unwrap());
    assert!(is_suppressed(conn, &key, Identifier::Email, NEW_EMAIL).unwrap());
    assert!(is_suppressed(conn, &key, Identifier::Phone, PHONE).unwrap());
    assert_eq!(report.hashes.len(), 3);
    assert_eq!(count(conn, "SELECT count(*) FROM suppression"), 3);

    // Recorded for sync without PII; the request is on file as done.
    let recorded = recorded(conn, &id).unwrap().unwrap();
    assert_eq!(recorded.suppression_hashes, report.hashes);
    assert_eq!(recorded.by, "manager1");
    assert_eq!(
        count(conn, "SELECT count(*) FROM outbox WHERE entity = 'erasure'"),
        1
    );
    let request = requests::get(conn, report.request_id.as_deref().unwrap()).unwrap();
    assert_eq!(request.kind, RequestKind::Erase);
    assert_eq!(request.status, switchboard_protocol::RequestStatus::Done);
    assert_eq!(request.handled_by.as_deref(), Some("manager1"));
    assert!(leads::get(conn, &other).unwrap().name.is_some());

    // The person registering again, under any address they had, is recognised and refused.
    let later = store.now();
    let again = store
        .with_tx(|tx| {
            Ok(register(
                tx,
                "sub-quark-3",
                "trial",
                PHONE_NATIONAL,
                IP,
                later,
            ))
        })
        .unwrap();
    assert_eq!(again, crate::intake::IntakeOutcome::Suppressed);
    assert_eq!(count(store.conn(), "SELECT count(*) FROM registration"), 2);
}

#[test]
fn a_purge_committed_without_its_scrub_is_scrubbed_when_the_database_is_next_opened() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("switchboard.db");
    let (mut store, _clock) = file_store(&path);
    let id = person(&mut store);
    lead(&mut store, "Beatrix Other", "beatrix@other.example", None);
    let at = store.now();
    // The process stops right after the purge commits.
    store
        .with_tx(|tx| erase_in(tx, &id, "manager1", at))
        .unwrap();
    drop(store);
    assert!(
        !scan_files_for(&path, &["quarksmith"]).unwrap().is_empty(),
        "search index segments still hold the deleted terms"
    );
    // Opening the database finishes the pending scrub before anything else reads it.
    let (store, _clock) = file_store(&path);
    assert!(
        !scrub_if_pending(store.conn()).unwrap(),
        "already scrubbed on open"
    );
    let found = scan_files_for(&path, &needles()).unwrap();
    assert!(found.is_empty(), "personal data left on disk: {found:#?}");
}

#[test]
fn erasing_twice_is_refused_and_an_unknown_lead_is_not_found() {
    let (mut store, _clock) = memory_store();
    let id = person(&mut store);
    erase(&mut store, &id, "manager1").unwrap();
    let err = erase(&mut store, &id, "manager1").unwrap_err();
    assert_eq!(err.code(), "conflict", "{err}");
    let err = erase(&mut store, "no-such-lead", "manager1").unwrap_err();
    assert_eq!(err.code(), "not_found");
}

#[test]
fn audit_entries_of_other_leads_and_consent_sources_that_quote_the_address_are_purged() {
    let (mut store, _clock) = memory_store();
    let id = person(&mut store);
    let other = lead(&mut store, "Beatrix Other", "beatrix@other.example", None);
    let at = store.now();
    store
        .with_tx(|tx| {
            audit::record(
                tx,
                "importer",
                at,
                audit::Change {
                    lead_id: Some(&other),
                    action: "note",
                    field: Some("email"),
                    old_value: Some("Zoltan.Quarksmith@Example.com"),
                    new_value: Some("beatrix@other.example"),
                },
            )?;
            crate::compliance::consent::opt_out(
                tx,
                &id,
                switchboard_protocol::ConsentScope::All,
                &format!("reply from {EMAIL}"),
                None,
                "rep1",
                at,
            )?;
            Ok(())
        })
        .unwrap();
    erase(&mut store, &id, "manager1").unwrap();
    let quoting = count(
        store.conn(),
        "SELECT count(*) FROM audit WHERE lower(old_value) LIKE '%quarksmith%'
                                      OR lower(new_value) LIKE '%quarksmith%'",
    );
    assert_eq!(quoting, 0);
    let sources = count(
        store.conn(),
        "SELECT count(*) FROM consent_event WHERE source LIKE '%quarksmith%'",
    );
    assert_eq!(sources, 0);
    assert_eq!(
        count(store.conn(), "SELECT count(*) FROM consent_event"),
        2,
        "the events themselves stay: they still block contact"
    );
}

#[test]
fn an_erasure_pulled_from_the_central_store_purges_and_suppresses_without_pushing_back() {
    let (mut origin, _c) = memory_store();
    let id = person(&mut origin);
    let report = erase(&mut origin, &id, "manager1").unwrap();
    let op = recorded(origin.conn(), &id).unwrap().unwrap();

    // A replica holding the same person (same deployment key, same lead id).
    let (mut replica, _c2) = memory_store();
    let key = suppression::key(origin.conn()).unwrap();
    crate::store::settings::set_setting(replica.conn(), "suppression_key", &hex::encode(&key))
        .unwrap();
    let lead_at = replica.now();
    replica
        .with_tx(|tx| {
            let new = leads::NewLead {
                name: Some(NAME.into()),
                email: Some(EMAIL.into()),
                ..leads::NewLead::default()
            };
            leads::insert(tx, &id, &new, lead_at)
        })
        .unwrap();
    // The rep recorded the person's erasure request (and an access request) on this replica.
    let (asked, access) = replica
        .with_tx(|tx| {
            let erase = requests::open(tx, &id, RequestKind::Erase, None, lead_at, "rep1")?;
            let access = requests::open(tx, &id, RequestKind::Access, None, lead_at, "rep1")?;
            Ok((erase, access))
        })
        .unwrap();
    let pending = crate::store::outbox::pending(replica.conn()).unwrap();
    let applied = replica.with_tx(|tx| apply_remote(tx, &op)).unwrap();
    assert_eq!(applied.hashes, report.hashes);
    assert_eq!(applied.lead_fields, 2);
    let conn = replica.conn();
    assert_eq!(leads::get(conn, &id).unwrap().status, LeadStatus::Erased);
    assert!(is_suppressed(conn, &key, Identifier::Email, EMAIL).unwrap());
    assert_eq!(crate::store::outbox::pending(conn).unwrap(), pending);
    // The erasure carried out the rep's request: it is done, by the manager, when they erased.
    let closed = requests::get(conn, &asked.id).unwrap();
    assert_eq!(closed.status, switchboard_protocol::RequestStatus::Done);
    assert_eq!(closed.handled_by.as_deref(), Some("manager1"));
    assert_eq!(closed.handled_at, Some(op.erased_at));
    assert_eq!(
        requests::get(conn, &access.id).unwrap().status,
        switchboard_protocol::RequestStatus::Open,
        "only erasure requests are carried out by an erasure"
    );
    // Applying it again changes nothing.
    replica.with_tx(|tx| apply_remote(tx, &op)).unwrap();
    assert_eq!(count(replica.conn(), "SELECT count(*) FROM erasure"), 1);
}
