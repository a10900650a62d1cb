//! The window's commands through Tauri's mock runtime, with the app's real configuration and
//! capabilities, against a real SQLite file.

use crate::common;

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::{build, invoke, store_at, window};
use serde_json::{json, Value};
use switchboard_core::clock::new_id;
use switchboard_core::leads::{self, NewLead};
use switchboard_core::Store;
use tauri::test::{mock_builder, MockRuntime};
use tauri::App;

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}

/// A store in a temp folder holding `count` new leads registered a minute apart (lead 0 first).
fn seeded_store(dir: &tempfile::TempDir, count: usize) -> Store {
    let store = store_at(dir, "desktop.db", start());
    for i in 0..count {
        let at = start() + Duration::minutes(i as i64);
        let lead = NewLead {
            name: Some(format!("Person {i}")),
            company: Some(format!("Company {i}")),
            country: Some("DE".into()),
            last_registered_at: Some(at),
            ..NewLead::default()
        };
        leads::insert(store.conn(), &new_id(at), &lead, at).unwrap();
    }
    store
}

fn app(store: Store) -> App<MockRuntime> {
    build(switchboard_desktop::with_app_state(mock_builder(), store))
}

fn names(page: &Value) -> Vec<&str> {
    page.as_array()
        .unwrap()
        .iter()
        .map(|lead| lead["name"].as_str().unwrap())
        .collect()
}

#[test]
fn new_queue_page_lists_new_leads_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(seeded_store(&dir, 3));
    let main = window(&app, "main");

    let page = invoke(&main, "new_queue_page", json!({"offset": 0, "limit": 10})).unwrap();

    assert_eq!(names(&page), ["Person 2", "Person 1", "Person 0"]);
    let newest = &page[0];
    assert_eq!(newest["company"], "Company 2");
    assert_eq!(newest["country"], "DE");
    assert_eq!(newest["status"], "new");
    assert_eq!(newest["last_registered_at"], "2026-03-02T09:02:00Z");
}

#[test]
fn new_queue_page_pages_with_offset_and_limit() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(seeded_store(&dir, 5));
    let main = window(&app, "main");

    let second = invoke(&main, "new_queue_page", json!({"offset": 2, "limit": 2})).unwrap();
    let past_end = invoke(&main, "new_queue_page", json!({"offset": 5, "limit": 2})).unwrap();

    assert_eq!(names(&second), ["Person 2", "Person 1"]);
    assert_eq!(past_end, json!([]));
}

#[test]
fn a_storage_failure_reaches_the_ui_as_code_and_message() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded_store(&dir, 1);
    // A database the queue cannot be read from: the lead table is gone.
    store
        .conn()
        .execute_batch("PRAGMA foreign_keys = OFF; DROP TABLE lead;")
        .unwrap();
    let app = app(store);
    let main = window(&app, "main");

    let error = invoke(&main, "new_queue_page", json!({"offset": 0, "limit": 10})).unwrap_err();

    assert_eq!(error["code"], "storage");
    assert!(
        error["message"].as_str().unwrap().contains("lead"),
        "message names the problem: {error}"
    );
}

#[test]
fn windows_without_the_main_capability_cannot_read_leads() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(seeded_store(&dir, 1));
    let other = window(&app, "preview");

    let refused = invoke(&other, "new_queue_page", json!({"offset": 0, "limit": 10}));

    let error = refused.expect_err("only the main window is granted the command");
    assert!(error.to_string().contains("not allowed"), "{error}");
}

/// A store with leads that gave an email address, registered an hour apart before the clock's now.
fn reachable_store(dir: &tempfile::TempDir, names: &[&str]) -> Store {
    let store = seeded_store(dir, 0);
    for (i, name) in names.iter().enumerate() {
        let at = start() - Duration::hours(names.len() as i64 - i as i64);
        let lead = NewLead {
            name: Some((*name).into()),
            email: Some(format!("person{i}@example.com")),
            country: Some("DE".into()),
            last_registered_at: Some(at),
            ..NewLead::default()
        };
        leads::insert(store.conn(), &new_id(at), &lead, at).unwrap();
    }
    store
}

fn rep_app(store: Store) -> App<MockRuntime> {
    let session = switchboard_desktop::commands::Session {
        actor: "rita".into(),
        role: switchboard_core::protocol::Role::Rep,
    };
    build(switchboard_desktop::with_session(
        mock_builder(),
        store,
        session,
    ))
}

#[test]
fn a_rep_takes_the_next_lead_logs_an_email_and_gets_the_next() {
    let dir = tempfile::tempdir().unwrap();
    let app = rep_app(reachable_store(&dir, &["Older", "Newer"]));
    let main = window(&app, "main");

    let first = invoke(&main, "queue_next", json!({"queue": "new"})).unwrap();
    assert_eq!(first["lead"]["name"], "Newer");
    let email = first["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["channel"] == "email")
        .unwrap();
    assert_eq!(email["decision"]["allowed"], true);

    let logged = invoke(
        &main,
        "log_follow_up",
        json!({"lead": first["lead"]["id"], "channel": "email", "outcome": "sent",
               "note": "sent the brochure", "nextFollowUpAt": null}),
    )
    .unwrap();
    assert_eq!(logged["rep"], "rita");
    assert_eq!(logged["direction"], "out");

    // The call session passes on the lead it is done with.
    let second = invoke(
        &main,
        "queue_next",
        json!({"queue": "new", "previous": first["lead"]["id"]}),
    )
    .unwrap();
    assert_eq!(second["lead"]["name"], "Older");
    // Without `previous` the rep is handed the lead they hold again.
    let again = invoke(&main, "queue_next", json!({"queue": "new"})).unwrap();
    assert_eq!(again["lead"]["id"], second["lead"]["id"]);

    let history = invoke(
        &main,
        "history_page",
        json!({"query": {"lead_id": null, "rep": "rita", "office": null, "since": null,
                         "until": null, "channel": null, "outcome": null, "direction": null,
                         "offset": 0, "limit": 50}}),
    )
    .unwrap();
    assert_eq!(history["rows"].as_array().unwrap().len(), 1);
    assert_eq!(history["rows"][0]["lead_name"], "Newer");
    assert_eq!(history["summary"]["total"], 1);
}

#[test]
fn an_opted_out_lead_shows_every_channel_blocked_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let app = rep_app(reachable_store(&dir, &["Quiet Person"]));
    let main = window(&app, "main");
    let hit = invoke(&main, "search_leads", json!({"text": "Quiet", "limit": 5})).unwrap();
    let id = hit[0]["lead"]["id"].as_str().unwrap().to_string();

    invoke(&main, "opt_out", json!({"lead": id, "scope": "all"})).unwrap();
    let detail = invoke(&main, "lead_detail", json!({"id": id})).unwrap();

    for decision in detail["channels"].as_array().unwrap() {
        assert_eq!(decision["decision"]["allowed"], false, "{decision}");
    }
    let email = detail["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["channel"] == "email")
        .unwrap();
    assert_eq!(email["decision"]["reason"]["code"], "opted_out");
    assert_eq!(detail["consent"]["active_opt_outs"][0]["scope"], "all");
    let refused = invoke(
        &main,
        "log_follow_up",
        json!({"lead": id, "channel": "email", "outcome": "sent", "note": null,
               "nextFollowUpAt": null}),
    )
    .unwrap_err();
    assert!(refused["code"].is_string(), "{refused}");

    // The person calling in is no outbound contact: it is recorded, as inbound.
    let call_in = invoke(
        &main,
        "log_follow_up",
        json!({"lead": id, "channel": "phone", "outcome": "connected", "note": "called to ask",
               "nextFollowUpAt": null, "inbound": true}),
    )
    .unwrap();
    assert_eq!(call_in["direction"], "in");
    assert_eq!(call_in["rep"], "rita");
}

#[test]
fn the_session_names_the_user_and_role() {
    let dir = tempfile::tempdir().unwrap();
    let app = rep_app(seeded_store(&dir, 0));
    let main = window(&app, "main");

    let session = invoke(&main, "session_info", json!({})).unwrap();

    assert_eq!(
        session,
        json!({"actor": "rita", "role": "rep", "offices": []})
    );
}

#[test]
fn a_share_goes_only_to_a_registered_partner_with_its_fields_and_an_opted_out_person_stays_home() {
    use switchboard_core::partners::{self, NewPartner};
    use switchboard_core::protocol::{PartnerKind, ShareField, TransferBasis};
    let dir = tempfile::tempdir().unwrap();
    let store = reachable_store(&dir, &["Willing Person", "Quiet Person"]);
    partners::add(
        store.conn(),
        &NewPartner {
            name: "Nordic Reseller".into(),
            kind: PartnerKind::Reseller,
            country: "DK".into(),
            basis: TransferBasis::NoneNeeded,
            fields: vec![ShareField::Name, ShareField::Country],
        },
        "admin",
        start(),
    )
    .unwrap();
    let app = rep_app(store);
    let main = window(&app, "main");

    let listed = invoke(&main, "partner_list", json!({})).unwrap();
    assert_eq!(listed[0]["name"], "Nordic Reseller");
    invoke(
        &main,
        "opt_out",
        json!({"lead": "person1@example.com", "scope": "all"}),
    )
    .unwrap();

    let out = dir.path().join("share.csv");
    let shared = invoke(
        &main,
        "share_leads",
        json!({"leads": ["person0@example.com", "person1@example.com"],
               "partner": "Nordic Reseller", "out": out.to_str().unwrap()}),
    )
    .unwrap();
    assert_eq!(shared["shared"], 1);
    assert_eq!(shared["blocked"][0]["code"], "opted_out");
    let written = std::fs::read_to_string(&out).unwrap();
    assert!(written.contains("Willing Person"), "{written}");
    assert!(!written.contains("Quiet Person"), "{written}");
    assert!(
        !written.contains("@example.com"),
        "email is not an allowed field: {written}"
    );
    let detail = invoke(&main, "lead_detail", json!({"id": "person0@example.com"})).unwrap();
    assert_eq!(detail["disclosures"][0]["partner_name"], "Nordic Reseller");
    assert_eq!(detail["disclosures"][0]["disclosed_by"], "rita");

    let unknown = invoke(
        &main,
        "share_leads",
        json!({"leads": ["person0@example.com"], "partner": "Some Broker",
               "out": dir.path().join("x.csv").to_str().unwrap()}),
    )
    .unwrap_err();
    assert_eq!(unknown["code"], "not_found");
    assert!(!dir.path().join("x.csv").exists());
}

#[test]
fn an_audience_preview_and_export_leave_out_who_opted_out_of_email() {
    let dir = tempfile::tempdir().unwrap();
    let app = rep_app(reachable_store(&dir, &["Reader One", "Reader Two"]));
    let main = window(&app, "main");
    invoke(
        &main,
        "opt_out",
        json!({"lead": "person0@example.com", "scope": "email"}),
    )
    .unwrap();

    let preview = invoke(&main, "audience_preview", json!({"segment": "country=DE"})).unwrap();
    assert_eq!(preview["candidates"], 2);
    assert_eq!(preview["allowed"], 1);
    assert_eq!(preview["blocked"]["opted_out"], 1);

    let out = dir.path().join("audience.csv");
    let export = invoke(
        &main,
        "audience_export",
        json!({"segment": "country=DE", "out": out.to_str().unwrap()}),
    )
    .unwrap();
    assert_eq!(export["count"], 1);
    assert_eq!(export["exported_by"], "rita");
    let csv = std::fs::read_to_string(&out).unwrap();
    assert!(
        csv.contains("person1@example.com") && !csv.contains("person0@example.com"),
        "{csv}"
    );

    let bad = invoke(&main, "audience_preview", json!({"segment": "shoe=42"})).unwrap_err();
    assert_eq!(bad["code"], "bad_input");
}

#[test]
fn the_app_exits_with_the_reason_when_its_database_cannot_be_opened() {
    let dir = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_switchboard-desktop"))
        // A folder where the database file should be.
        .env("SWITCHBOARD_DB", dir.path())
        .env(switchboard_desktop::startup_error::NO_DIALOG, "1")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("opening"), "{stderr}");
    assert!(stderr.contains(dir.path().to_str().unwrap()), "{stderr}");
}
