use super::*;
use crate::fixtures::*;

use chrono::Duration;
use switchboard_protocol::{Channel, RequestKind};

const PII: &[&str] = &[
    NAME,
    "Quarksmith",
    EMAIL,
    PHONE,
    "90182044",
    IP,
    IP_2,
    USER_AGENT,
    REFERRER,
    PAGE,
    ADDRESS,
    "z.quarksmith@newmail.example",
];

#[test]
fn the_report_holds_everything_before_erasure_and_no_personal_data_after() {
    let (mut store, clock) = memory_store();
    let id = person(&mut store);
    clock.advance(Duration::days(1));
    let at = store.now();
    store
        .with_tx(|tx| {
            crate::privacy::correct::correct(
                tx,
                &id,
                &[("email".into(), "z.quarksmith@newmail.example".into())],
                "rep1",
                at,
            )?;
            crate::privacy::requests::open(tx, &id, RequestKind::Access, None, at, "mgr")
        })
        .unwrap();

    let full = report(store.conn(), &id).unwrap();
    assert_eq!(full.lead.id, id);
    assert_eq!(full.registrations.len(), 2);
    let first = &full.registrations[0];
    assert_eq!(first.details.name.as_deref(), Some(NAME));
    assert_eq!(first.details.user_agent.as_deref(), Some(USER_AGENT));
    assert_eq!(first.details.referrer.as_deref(), Some(REFERRER));
    assert_eq!(first.details.pages_visited[0], PAGE);
    let ips: Vec<_> = full
        .registrations
        .iter()
        .filter_map(|r| r.details.ip.as_deref())
        .collect();
    assert!(ips.contains(&IP) && ips.contains(&IP_2));
    assert_eq!(full.follow_ups.len(), 2);
    assert!(full.follow_ups.iter().all(|f| f.note.is_some()));
    assert_eq!(full.consent.events.len(), 1);
    assert!(full.consent.is_opted_out(Channel::Mail));
    assert_eq!(
        full.subscriber_requests.len(),
        2,
        "the correction and the access request"
    );
    assert!(full
        .audit
        .iter()
        .any(|a| a.old_value.as_deref() == Some(EMAIL)));
    assert_eq!(full.corrected_fields, ["email"]);
    assert_eq!(full.erased_at, None);
    assert!(full.disclosures.is_empty());
    let json = serde_json::to_string(&full).unwrap();
    for needle in [NAME, IP, IP_2, USER_AGENT, REFERRER, PAGE, EMAIL] {
        assert!(json.contains(needle), "the report shows {needle}");
    }

    clock.advance(Duration::days(1));
    crate::privacy::erase::erase(&mut store, &id, "mgr").unwrap();
    let after = report(store.conn(), &id).unwrap();
    let json = serde_json::to_string_pretty(&after).unwrap().to_lowercase();
    for needle in PII {
        assert!(
            !json.contains(&needle.to_lowercase()),
            "{needle} is still reported after erasure:\n{json}"
        );
    }
    assert!(after.erased_at.is_some());
    assert_eq!(after.registrations.len(), 2, "the skeleton still counts");
    assert_eq!(after.follow_ups.len(), 2);
    assert!(
        after.consent.is_opted_out(Channel::Mail),
        "consent still holds"
    );
    assert!(after
        .subscriber_requests
        .iter()
        .any(|r| r.kind == RequestKind::Erase));
}

#[test]
fn disclosures_to_partners_are_in_the_report() {
    let (mut store, _clock) = memory_store();
    let id = person(&mut store);
    let at = store.now();
    store
        .with_tx(|tx| {
            tx.execute(
                "INSERT INTO disclosure(id, lead_id, partner_id, partner_name, partner_ref,
                                            fields, country, basis, disclosed_at, disclosed_by)
                     VALUES ('d1', ?1, 'p1', 'Nordic Resale AB', 'NR-1', 'name,email', 'SE',
                             'none_needed', ?2, 'mgr')",
                rusqlite::params![id, crate::clock::to_text(at)],
            )?;
            Ok(())
        })
        .unwrap();
    let report = report(store.conn(), &id).unwrap();
    assert_eq!(report.disclosures.len(), 1);
    assert_eq!(report.disclosures[0].partner_name, "Nordic Resale AB");
    assert_eq!(report.disclosures[0].country, "SE");
}

#[test]
fn an_export_writes_the_report_and_records_the_request_only_when_the_file_is_written() {
    let (mut store, _clock) = memory_store();
    let id = person(&mut store);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("access.json");
    let at = store.now();
    let done = store
        .with_tx(|tx| export_to_file(tx, EMAIL, &path, "mgr", at))
        .unwrap();
    assert_eq!(done.lead_id, id);
    assert_eq!(done.registrations, 2);
    let written: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    // Both registrations share one instant in the fixture, so their order is the ids' order.
    let mut ips: Vec<&str> = written["registrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|registration| registration["ip"].as_str().unwrap())
        .collect();
    ips.sort_unstable();
    let mut expected = vec![IP, IP_2];
    expected.sort_unstable();
    assert_eq!(ips, expected);
    let request = requests::get(store.conn(), &done.request_id).unwrap();
    assert_eq!(request.kind, RequestKind::Access);

    let nowhere = dir.path().join("missing-folder").join("access.json");
    let err = store
        .with_tx(|tx| export_to_file(tx, &id, &nowhere, "mgr", at))
        .unwrap_err();
    assert_eq!(err.code(), "io");
    let access_requests = requests::for_lead(store.conn(), &id)
        .unwrap()
        .into_iter()
        .filter(|r| r.kind == RequestKind::Access)
        .count();
    assert_eq!(
        access_requests, 1,
        "the failed export left no request behind"
    );
}

#[test]
fn an_unknown_lead_is_not_found() {
    let (store, _clock) = memory_store();
    assert_eq!(
        report(store.conn(), "missing").unwrap_err().code(),
        "not_found"
    );
}
