//! The review and import-picker commands through Tauri's mock runtime, with the app's real
//! configuration and capabilities, against a real SQLite file.

use crate::common;

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::{build, invoke, store_at, window};
use serde_json::{json, Value};
use switchboard_core::clock::new_id;
use switchboard_core::followup::{self, LogFollowUp};
use switchboard_core::leads::{self, NewLead};
use switchboard_core::protocol::{Channel, Direction, Outcome, RequestKind, RequestStatus};
use switchboard_core::{requests, Store};
use tauri::test::{mock_builder, MockRuntime};
use tauri::App;

fn morning() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}

/// The store's clock stands 40 days after `morning`.
fn now() -> DateTime<Utc> {
    morning() + Duration::days(40)
}

/// Three Berlin leads registered at 09:00 (emailed after 3 min, after 2 h, never) and one Paris
/// lead emailed after 2 days; a correction handled in 3 days, an access request still open.
fn store(dir: &tempfile::TempDir) -> Store {
    let mut store = store_at(dir, "review.db", now());
    let people = [
        ("ann@a.example", "BER", Some(Duration::minutes(3))),
        ("bob@b.example", "BER", Some(Duration::hours(2))),
        ("cy@c.example", "BER", None),
        ("dee@d.example", "PAR", Some(Duration::days(2))),
    ];
    for (i, (email, office, wait)) in people.into_iter().enumerate() {
        let registered = morning() + Duration::seconds(i as i64);
        let id = new_id(registered);
        let lead = NewLead {
            name: Some(email.into()),
            email: Some(email.into()),
            office: Some(office.into()),
            last_registered_at: Some(registered),
            ..NewLead::default()
        };
        store
            .with_tx(|tx| leads::insert(tx, &id, &lead, registered))
            .unwrap();
        if let Some(wait) = wait {
            let at = registered + wait;
            let input = LogFollowUp {
                lead: id.clone(),
                channel: Channel::Email,
                direction: Direction::Out,
                outcome: Outcome::Sent,
                note: None,
                occurred_at: at,
                rep: "rita".into(),
                next_follow_up_at: None,
            };
            store.with_tx(|tx| followup::log(tx, &input, at)).unwrap();
        }
    }
    let ann = leads::find(store.conn(), "ann@a.example").unwrap().id;
    let cy = leads::find(store.conn(), "cy@c.example").unwrap().id;
    store
        .with_tx(|tx| {
            let c = requests::open(tx, &ann, RequestKind::Correct, None, morning(), "mia")?;
            requests::handle(
                tx,
                &c.id,
                RequestStatus::Done,
                "mia",
                morning() + Duration::days(3),
            )?;
            requests::open(tx, &cy, RequestKind::Access, None, morning(), "mia")
        })
        .unwrap();
    store
}

fn app(store: Store) -> App<MockRuntime> {
    build(switchboard_desktop::with_app_state(mock_builder(), store))
}

fn no_filter() -> Value {
    json!({"lead_id": null, "rep": null, "office": null, "since": null, "until": null,
           "channel": null, "outcome": null, "direction": null, "offset": 0, "limit": 0})
}

fn bucket(stats: &Value, key: &str) -> u64 {
    stats["speed_to_lead"]["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["key"] == key)
        .unwrap()["leads"]
        .as_u64()
        .unwrap()
}

fn kind<'a>(stats: &'a Value, kind: &str) -> &'a Value {
    stats["requests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kind"] == kind)
        .unwrap()
}

#[test]
fn review_stats_chart_speed_to_lead_and_requests_for_the_filters() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(store(&dir));
    let main = window(&app, "main");

    let all = invoke(&main, "review_stats", json!({"query": no_filter()})).unwrap();
    assert_eq!(bucket(&all, "under_5_min"), 1);
    assert_eq!(bucket(&all, "1_to_4_h"), 1);
    assert_eq!(bucket(&all, "1_to_3_days"), 1);
    assert_eq!(bucket(&all, "not_contacted"), 1);
    assert_eq!(all["speed_to_lead"]["median_seconds"], json!(2.0 * 3600.0));
    let correct = kind(&all, "correct");
    assert_eq!(correct["handled"], 1);
    assert_eq!(correct["median_days_to_handle"], json!(3.0));
    // The clock stands 40 days on: the open access request is past its month.
    let access = kind(&all, "access");
    assert_eq!(
        (access["open"].as_u64(), access["overdue"].as_u64()),
        (Some(1), Some(1))
    );
    let days = all["per_day"].as_array().unwrap();
    let total: u64 = days.iter().map(|d| d["count"].as_u64().unwrap()).sum();
    assert_eq!(total, 3);

    let mut paris = no_filter();
    paris["office"] = json!("PAR");
    let paris = invoke(&main, "review_stats", json!({"query": paris})).unwrap();
    assert_eq!(paris["speed_to_lead"]["contacted"], 1);
    assert_eq!(paris["speed_to_lead"]["not_contacted"], 0);
    assert_eq!(kind(&paris, "access")["received"], 0);
}

#[test]
fn review_stats_refuse_a_period_that_ends_before_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(store(&dir));
    let main = window(&app, "main");
    let mut backwards = no_filter();
    backwards["since"] = json!("2026-03-10T00:00:00Z");
    backwards["until"] = json!("2026-03-01T00:00:00Z");
    let err = invoke(&main, "review_stats", json!({"query": backwards})).unwrap_err();
    assert_eq!(err["code"], "bad_input");
}

/// A lead named like a spreadsheet formula with `n` emails sent a minute apart.
fn store_with_history(dir: &tempfile::TempDir, n: i64) -> Store {
    let mut store = store_at(dir, "history.db", now());
    let id = new_id(morning());
    let lead = NewLead {
        name: Some("=HYPERLINK(\"http://evil.example\")".into()),
        email: Some("eve@e.example".into()),
        last_registered_at: Some(morning()),
        ..NewLead::default()
    };
    store
        .with_tx(|tx| {
            leads::insert(tx, &id, &lead, morning())?;
            for i in 0..n {
                let at = morning() + Duration::minutes(i);
                let input = LogFollowUp {
                    lead: id.clone(),
                    channel: Channel::Email,
                    direction: Direction::Out,
                    outcome: Outcome::Sent,
                    note: Some(format!("email {i}")),
                    occurred_at: at,
                    rep: "rita".into(),
                    next_follow_up_at: None,
                };
                followup::log(tx, &input, at)?;
            }
            Ok(())
        })
        .unwrap();
    store
}

#[test]
fn the_history_list_pages_on_past_the_first_thousand_rows() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(store_with_history(&dir, 1_205));
    let main = window(&app, "main");
    let mut query = no_filter();
    query["limit"] = json!(1000);
    let first = invoke(&main, "history_page", json!({"query": query})).unwrap();
    assert_eq!(first["summary"]["total"], 1_205);
    assert_eq!(first["rows"].as_array().unwrap().len(), 1000);
    query["offset"] = json!(1000);
    let next = invoke(&main, "history_rows", json!({"query": query})).unwrap();
    let next = next.as_array().unwrap();
    assert_eq!(next.len(), 205);
    // Newest first: the page after the first thousand starts at email 204 and ends at the first.
    assert_eq!(next[0]["follow_up"]["note"], "email 204");
    assert_eq!(next[204]["follow_up"]["note"], "email 0");
}

#[test]
fn the_history_save_dialog_says_it_is_unavailable_without_the_dialog_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(store(&dir));
    let main = window(&app, "main");
    let err = invoke(&main, "save_history_export", json!({"query": no_filter()})).unwrap_err();
    assert_eq!(err["code"], "unavailable");
}

#[test]
fn the_file_pickers_say_they_are_unavailable_without_the_dialog_plugin() {
    // The mock app registers no dialog plugin (the real `run()` does): the command must answer
    // with a code the import screen shows, not panic the window.
    let dir = tempfile::tempdir().unwrap();
    let app = app(store(&dir));
    let main = window(&app, "main");
    let err = invoke(&main, "pick_import_file", json!({})).unwrap_err();
    assert_eq!(err["code"], "unavailable");
    let args = json!({"title": "Share with a partner", "fileName": "share.csv"});
    let err = invoke(&main, "pick_csv_destination", args).unwrap_err();
    assert_eq!(err["code"], "unavailable");
}

#[test]
fn other_windows_cannot_chart_page_or_export_the_review_or_open_the_picker() {
    let dir = tempfile::tempdir().unwrap();
    let app = app(store(&dir));
    let other = window(&app, "preview");
    for (cmd, args) in [
        ("review_stats", json!({"query": no_filter()})),
        ("history_rows", json!({"query": no_filter()})),
        ("save_history_export", json!({"query": no_filter()})),
        ("pick_import_file", json!({})),
        (
            "pick_csv_destination",
            json!({"title": "Share", "fileName": "share.csv"}),
        ),
    ] {
        let err = invoke(&other, cmd, args).unwrap_err();
        assert!(err.to_string().contains("not allowed"), "{cmd}: {err}");
    }
}
