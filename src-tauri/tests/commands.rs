//! The window's commands through Tauri's mock runtime, with the app's real configuration and
//! capabilities, against a real SQLite file.

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{json, Value};
use std::sync::Arc;
use switchboard_core::clock::new_id;
use switchboard_core::leads::{self, NewLead};
use switchboard_core::{FixedClock, Store};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, MockRuntime, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::{App, WebviewWindow, WebviewWindowBuilder};

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}

/// A store in a temp folder holding `count` new leads registered a minute apart (lead 0 first).
fn seeded_store(dir: &tempfile::TempDir, count: usize) -> Store {
    let store = Store::open_with_clock(
        &dir.path().join("desktop.db"),
        Arc::new(FixedClock::at(start())),
    )
    .unwrap();
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
    switchboard_desktop::with_app_state(mock_builder(), store)
        .build(tauri::generate_context!())
        .expect("the app builds with its real configuration")
}

fn window(app: &App<MockRuntime>, label: &str) -> WebviewWindow<MockRuntime> {
    WebviewWindowBuilder::new(app, label, Default::default())
        .build()
        .unwrap()
}

fn invoke(window: &WebviewWindow<MockRuntime>, cmd: &str, args: Value) -> Result<Value, Value> {
    get_ipc_response(
        window,
        InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            // What the window's own pages are served from on Linux.
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|body| body.deserialize::<Value>().unwrap())
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
