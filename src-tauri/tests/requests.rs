//! The lead page's subscriber-request actions (correct, erase, access export) and the requests
//! inbox through Tauri's mock runtime, with the app's real configuration and capabilities.

use crate::common;

use chrono::{DateTime, Duration, TimeZone, Utc};
use common::{build, invoke, store_at, window};
use serde_json::{json, Value};
use switchboard_core::intake::{self, IntakeContext, IntakeOutcome, RegistrationInput};
use switchboard_core::Store;
use tauri::test::{mock_builder, MockRuntime};
use tauri::App;

const NAME: &str = "Zoltan Quarksmith";
const EMAIL: &str = "zoltan@quarksmith.example";
const IP: &str = "203.0.113.77";
const USER_AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64) QuarkBrowser/9.1";
const REFERRER: &str = "https://search.example/?q=quarksmith";
const PAGE: &str = "/pricing/quarksmith-plan";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 20, 9, 0, 0).unwrap()
}

/// A store whose clock stands at `now()` with one person who registered on the website.
fn store_with_person(dir: &tempfile::TempDir) -> (Store, String) {
    let mut store = store_at(dir, "desktop.db", now());
    let at = now() - Duration::days(10);
    let id = store
        .with_tx(|tx| {
            let input = RegistrationInput {
                submission_id: Some("web-1".into()),
                kind: Some("license_key".into()),
                product: Some("Quark Pro".into()),
                details: switchboard_protocol::RegistrationDetails {
                    name: Some(NAME.into()),
                    company: Some("Quarksmith GmbH".into()),
                    email: Some(EMAIL.into()),
                    phone: Some("+49 30 90182044".into()),
                    country: Some("DE".into()),
                    ip: Some(IP.into()),
                    user_agent: Some(USER_AGENT.into()),
                    referrer: Some(REFERRER.into()),
                    pages_visited: vec![PAGE.into()],
                    ..Default::default()
                },
                ..RegistrationInput::default()
            };
            let ctx = IntakeContext::new(tx, None, at, "intake")?;
            match intake::record(tx, &input, &ctx)? {
                IntakeOutcome::Created(id) => Ok(id),
                other => panic!("the registration creates a lead, got {other:?}"),
            }
        })
        .unwrap();
    (store, id)
}

fn app(store: Store) -> App<MockRuntime> {
    let session = switchboard_desktop::commands::Session {
        actor: "maria".into(),
        role: switchboard_core::protocol::Role::Manager,
    };
    build(switchboard_desktop::with_session(
        mock_builder(),
        store,
        session,
    ))
}

#[test]
fn a_correction_changes_the_field_audits_it_and_is_on_file_as_a_request() {
    let dir = tempfile::tempdir().unwrap();
    let (store, id) = store_with_person(&dir);
    let main = window(&app(store), "main");

    let done = invoke(
        &main,
        "correct_lead",
        json!({"lead": id, "changes": {"company": "Quark Labs AG", "email": " Z@Quark-Labs.Example "}}),
    )
    .unwrap();
    assert_eq!(done["changed"].as_array().unwrap().len(), 2);

    let detail = invoke(&main, "lead_detail", json!({"id": id})).unwrap();
    assert_eq!(detail["lead"]["company"], "Quark Labs AG");
    assert_eq!(
        detail["lead"]["email"], "z@quark-labs.example",
        "normalised"
    );
    let audit = detail["audit"].as_array().unwrap();
    let company = audit
        .iter()
        .find(|a| a["action"] == "correct" && a["field"] == "company")
        .expect("the correction is audited");
    assert_eq!(company["old_value"], "Quarksmith GmbH");
    assert_eq!(company["new_value"], "Quark Labs AG");
    assert_eq!(company["actor"], "maria");
    let request = &detail["subscriber_requests"][0];
    assert_eq!(request["kind"], "correct");
    assert_eq!(request["status"], "done");

    let bad = invoke(
        &main,
        "correct_lead",
        json!({"lead": id, "changes": {"email": "not an address"}}),
    )
    .unwrap_err();
    assert_eq!(bad["code"], "bad_input");
    assert!(
        bad["message"].as_str().unwrap().starts_with("email:"),
        "{bad}"
    );
    let unchanged = invoke(&main, "lead_detail", json!({"id": id})).unwrap();
    assert_eq!(unchanged["lead"]["email"], "z@quark-labs.example");
}

#[test]
fn an_erasure_previews_its_counts_then_leaves_no_personal_data_only_the_skeleton() {
    let dir = tempfile::tempdir().unwrap();
    let (store, id) = store_with_person(&dir);
    let main = window(&app(store), "main");
    invoke(
        &main,
        "log_follow_up",
        json!({"lead": id, "channel": "email", "outcome": "sent",
               "note": format!("wrote to {NAME}"), "nextFollowUpAt": null}),
    )
    .unwrap();

    let preview = invoke(&main, "erase_preview", json!({"lead": id})).unwrap();
    assert_eq!(preview["name"], NAME);
    assert_eq!(preview["email"], EMAIL);
    assert_eq!(preview["registrations"], 1);
    assert_eq!(preview["follow_up_notes"], 1);
    let still = invoke(&main, "lead_detail", json!({"id": id})).unwrap();
    assert_eq!(still["lead"]["name"], NAME, "a preview erases nothing");

    let report = invoke(&main, "erase_lead", json!({"lead": id})).unwrap();
    assert_eq!(report["registrations"], preview["registrations"]);
    assert_eq!(report["follow_up_notes"], preview["follow_up_notes"]);
    assert_eq!(report["erased_by"], "maria");

    let detail = invoke(&main, "lead_detail", json!({"id": id})).unwrap();
    assert_eq!(detail["lead"]["status"], "erased");
    assert_eq!(detail["lead"]["name"], Value::Null);
    assert_eq!(
        detail["registrations"].as_array().unwrap().len(),
        1,
        "the skeleton keeps counts"
    );
    assert_eq!(detail["follow_ups"].as_array().unwrap().len(), 1);
    let text = detail.to_string().to_lowercase();
    for pii in [
        NAME,
        "quarksmith",
        EMAIL,
        IP,
        USER_AGENT,
        REFERRER,
        PAGE,
        "90182044",
    ] {
        assert!(
            !text.contains(&pii.to_lowercase()),
            "{pii} is still shown: {text}"
        );
    }
    let again = invoke(&main, "erase_lead", json!({"lead": id})).unwrap_err();
    assert_eq!(again["code"], "conflict");
}

#[test]
fn the_access_report_save_dialog_says_it_is_unavailable_without_the_dialog_plugin() {
    // Without the dialog plugin (the mock runtime) the command answers with a code the lead page
    // shows. What the report holds is tested in switchboard-core's access module.
    let dir = tempfile::tempdir().unwrap();
    let (store, id) = store_with_person(&dir);
    let main = window(&app(store), "main");
    let no_dialog = invoke(&main, "save_access_report", json!({"lead": id})).unwrap_err();
    assert_eq!(no_dialog["code"], "unavailable");
}

#[test]
fn the_inbox_lists_an_open_request_with_its_due_date_and_handling_records_who_and_when() {
    let dir = tempfile::tempdir().unwrap();
    let (store, id) = store_with_person(&dir);
    let main = window(&app(store), "main");
    let received = Utc.with_ymd_and_hms(2026, 1, 31, 8, 0, 0).unwrap();

    let opened = invoke(
        &main,
        "record_request",
        json!({"lead": id, "kind": "erase", "detail": "letter of 30 January",
               "receivedAt": received}),
    )
    .unwrap();
    assert_eq!(opened["status"], "open");

    let inbox = invoke(&main, "request_inbox", json!({"status": "open"})).unwrap();
    let rows = inbox.as_array().unwrap();
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row["kind"], "erase");
    assert_eq!(row["person"], NAME);
    // One calendar month after 31 January is the last day of February.
    assert_eq!(row["due_at"], "2026-02-28T08:00:00Z");
    assert_eq!(row["overdue"], true);
    assert_eq!(row["days_overdue"], 20);

    let handled = invoke(
        &main,
        "handle_request",
        json!({"id": opened["id"], "status": "rejected"}),
    )
    .unwrap();
    assert_eq!(handled["handled_by"], "maria");
    assert_eq!(handled["handled_at"], "2026-03-20T09:00:00Z");

    let open = invoke(&main, "request_inbox", json!({"status": "open"})).unwrap();
    assert!(
        open.as_array().unwrap().is_empty(),
        "handled: out of the open list"
    );
    let closed = invoke(&main, "request_inbox", json!({"status": "rejected"})).unwrap();
    assert_eq!(closed[0]["handled_by"], "maria");
    assert_eq!(closed[0]["overdue"], false);

    let twice = invoke(
        &main,
        "handle_request",
        json!({"id": opened["id"], "status": "done"}),
    )
    .unwrap_err();
    assert_eq!(twice["code"], "conflict");
}

#[test]
fn only_the_main_window_may_erase_or_read_the_inbox() {
    let dir = tempfile::tempdir().unwrap();
    let (store, id) = store_with_person(&dir);
    let app = app(store);
    let other = window(&app, "preview");
    for (cmd, args) in [
        ("erase_lead", json!({"lead": id})),
        ("request_inbox", json!({"status": null})),
        ("save_access_report", json!({"lead": id})),
    ] {
        let error = invoke(&other, cmd, args).expect_err("not granted outside the main window");
        assert!(error.to_string().contains("not allowed"), "{cmd}: {error}");
    }
    let main = window(&app, "main");
    let detail = invoke(&main, "lead_detail", json!({"id": id})).unwrap();
    assert_eq!(detail["lead"]["name"], NAME, "nothing was erased");
}
