//! Contact through the OS opener and the postal letters screen, through Tauri's mock runtime
//! with the app's real configuration and capabilities, against a real SQLite file.

use crate::common;

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::{build, invoke, store_at, window};
use serde_json::json;
use switchboard_core::clock::new_id;
use switchboard_core::leads::{self, NewLead};
use switchboard_core::protocol::Role;
use switchboard_core::Store;
use switchboard_desktop::commands::Session;
use tauri::test::{mock_builder, MockRuntime};
use tauri::App;

/// 11:00 UTC: noon in Berlin, inside calling hours.
fn noon() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 11, 0, 0).unwrap()
}

/// A store holding reachable leads (email, phone, postal address, Berlin) with these names.
fn store(dir: &tempfile::TempDir, names: &[&str]) -> (Store, Vec<String>) {
    let store = store_at(dir, "letters.db", noon());
    let mut ids = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let at = noon() - Duration::hours(1 + i as i64);
        let id = new_id(at);
        let lead = NewLead {
            name: Some((*name).into()),
            company: Some("Analytical Engines Ltd".into()),
            email: Some(format!("person{i}@example.com")),
            phone: Some(format!("+49301234567{i}")),
            address: Some(format!("{i} Unter den Linden\n10117 Berlin")),
            country: Some("DE".into()),
            time_zone: Some("Europe/Berlin".into()),
            last_registered_at: Some(at),
            ..NewLead::default()
        };
        leads::insert(store.conn(), &id, &lead, at).unwrap();
        ids.push(id);
    }
    (store, ids)
}

fn app(store: Store) -> App<MockRuntime> {
    let session = Session {
        actor: "rita".into(),
        role: Role::Rep,
    };
    build(switchboard_desktop::with_session(
        mock_builder(),
        store,
        session,
    ))
}

#[test]
fn contact_is_refused_with_the_gates_reason_for_an_opted_out_lead_and_nothing_is_opened() {
    let dir = tempfile::tempdir().unwrap();
    let (store, ids) = store(&dir, &["Quiet Person"]);
    let app = app(store);
    let main = window(&app, "main");
    invoke(&main, "opt_out", json!({"lead": ids[0], "scope": "all"})).unwrap();

    for channel in ["phone", "email"] {
        let refused = invoke(
            &main,
            "contact_open",
            json!({"lead": ids[0], "channel": channel}),
        )
        .unwrap_err();
        assert_eq!(refused["code"], "blocked", "{refused}");
        let message = refused["message"].as_str().unwrap();
        assert!(message.contains("opted out of all contact"), "{message}");
    }
    let refused = invoke(&main, "letter_batch_add", json!({"lead": ids[0]})).unwrap_err();
    assert_eq!(refused["code"], "blocked", "{refused}");
}

#[test]
fn an_allowed_contact_passes_the_gate_and_reaches_the_opener() {
    let dir = tempfile::tempdir().unwrap();
    let (store, ids) = store(&dir, &["Ada Lovelace"]);
    let app = app(store);
    let main = window(&app, "main");

    // The mock runtime registers no opener plugin: getting this far means the gate allowed it.
    let refused = invoke(
        &main,
        "contact_open",
        json!({"lead": ids[0], "channel": "phone"}),
    )
    .unwrap_err();
    assert_eq!(refused["code"], "opener_unavailable", "{refused}");
    let refused = invoke(
        &main,
        "contact_open",
        json!({"lead": ids[0], "channel": "mail"}),
    )
    .unwrap_err();
    assert_eq!(refused["code"], "bad_input", "{refused}");
}

#[test]
fn a_batch_is_previewed_as_text_and_marked_sent_skipping_who_opted_out_since() {
    let dir = tempfile::tempdir().unwrap();
    let hostile = "<img src=x onerror=alert(1)>";
    let (store, ids) = store(&dir, &[hostile, "Alan Turing"]);
    let app = app(store);
    let main = window(&app, "main");

    let refused = invoke(
        &main,
        "letter_template_save",
        json!({"id": null, "name": "Welcome", "body": "Dear {{salutation}}"}),
    )
    .unwrap_err();
    assert_eq!(refused["code"], "bad_input");
    assert!(refused["message"]
        .as_str()
        .unwrap()
        .contains("unknown merge field"));
    let template = invoke(
        &main,
        "letter_template_save",
        json!({"id": null, "name": "Welcome", "body": "{{address}}\n\nDear {{name}},\nRegards, {{rep}}"}),
    )
    .unwrap();
    let listed = invoke(&main, "letter_templates", json!({})).unwrap();
    assert_eq!(listed["templates"][0]["name"], "Welcome");
    assert!(listed["merge_fields"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["name"] == "first_name"));

    for id in &ids {
        invoke(&main, "letter_batch_add", json!({"lead": id})).unwrap();
    }
    invoke(&main, "opt_out", json!({"lead": ids[1], "scope": "mail"})).unwrap();
    let batch = invoke(&main, "letter_batch", json!({})).unwrap();
    assert_eq!(batch.as_array().unwrap().len(), 2);
    assert_eq!(batch[1]["mail"]["allowed"], false);

    let letters = invoke(&main, "letter_preview", json!({"template": template["id"]})).unwrap();
    assert_eq!(
        letters[0]["text"],
        format!("0 Unter den Linden\n10117 Berlin\n\nDear {hostile},\nRegards, rita")
    );
    assert!(letters[1]["blocked"]
        .as_str()
        .unwrap()
        .contains("opted out of mail"));

    let done = invoke(
        &main,
        "letter_mark_sent",
        json!({"template": template["id"]}),
    )
    .unwrap();
    assert_eq!(done["sent"].as_array().unwrap().len(), 1);
    assert_eq!(done["sent"][0]["lead_id"], ids[0].as_str());
    assert_eq!(done["skipped"][0]["lead_id"], ids[1].as_str());
    assert_eq!(invoke(&main, "letter_batch", json!({})).unwrap(), json!([]));

    let detail = invoke(&main, "lead_detail", json!({"id": ids[0]})).unwrap();
    let follow_up = &detail["follow_ups"][0];
    assert_eq!(follow_up["channel"], "mail");
    assert_eq!(follow_up["outcome"], "sent");
    assert_eq!(follow_up["rep"], "rita");
    assert_eq!(follow_up["note"], "Letter: Welcome");
    let skipped = invoke(&main, "lead_detail", json!({"id": ids[1]})).unwrap();
    assert_eq!(skipped["follow_ups"], json!([]));
}
