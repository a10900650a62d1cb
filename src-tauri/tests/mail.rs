//! Email and cadence commands of the window through Tauri's mock runtime with the app's real
//! configuration and capabilities, against a real SQLite file: the `mail` group is granted to the
//! main window, enrolling many leads reports the ones it skipped, a lead's enrolment shows its
//! step and stops by hand, the preview refuses an unknown merge field listing the known ones, and
//! a mail that cannot be sent yet stays queued with the reason.

use crate::common;

use chrono::{DateTime, TimeZone, Utc};
use common::{build, invoke, store_at, window};
use serde_json::json;
use switchboard_core::cadence::{definition, Step};
use switchboard_core::clock::new_id;
use switchboard_core::leads::{self, NewLead};
use switchboard_core::mail::templates;
use switchboard_core::protocol::Role;
use switchboard_desktop::commands::Session;
use tauri::test::mock_builder;

/// 11:00 UTC on a Monday: noon in Berlin, inside calling hours.
fn noon() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 11, 0, 0).unwrap()
}

/// The window over a store with a template "Hello", a cadence "Trial" (email, wait, call) and
/// leads in Berlin with these emails; the lead ids in order.
fn window_with(
    emails: &[&str],
) -> (
    tempfile::TempDir,
    tauri::App<tauri::test::MockRuntime>,
    Vec<String>,
) {
    let dir = tempfile::tempdir().unwrap();
    let store = store_at(&dir, "mail.db", noon());
    let conn = store.conn();
    templates::save(
        conn,
        "Hello",
        "Hi {{first_name}}",
        "Dear {{first_name}},",
        "max",
        noon(),
    )
    .unwrap();
    let steps = [
        Step::Email {
            template: "Hello".into(),
        },
        Step::Wait { business_days: 2 },
        Step::Call {
            script: "Ask how the trial goes".into(),
            outcomes: vec![],
        },
    ];
    definition::save(conn, "Trial", &steps, "max", noon()).unwrap();
    let ids = emails
        .iter()
        .map(|email| {
            let id = new_id(noon());
            let lead = NewLead {
                name: Some("Ada Lovelace".into()),
                email: Some((*email).into()),
                country: Some("DE".into()),
                time_zone: Some("Europe/Berlin".into()),
                last_registered_at: Some(noon()),
                ..NewLead::default()
            };
            leads::insert(conn, &id, &lead, noon()).unwrap();
            id
        })
        .collect();
    let session = Session {
        actor: "rita".into(),
        role: Role::Rep,
    };
    let app = build(switchboard_desktop::with_session(
        mock_builder(),
        store,
        session,
    ));
    (dir, app, ids)
}

#[test]
fn leads_are_enrolled_together_shown_on_their_step_and_stopped_by_hand() {
    let (_dir, app, ids) = window_with(&["ada@example.com", "grace@example.com"]);
    let main = window(&app, "main");
    let cadences = invoke(&main, "cadence_list", json!({})).unwrap();
    assert_eq!(cadences[0]["name"], "Trial");
    let trial = cadences[0]["id"].as_str().unwrap().to_string();

    let leads = json!([ids[0], ids[1], "nobody@example.com"]);
    let done = invoke(
        &main,
        "cadence_enroll",
        json!({"cadence": trial, "leads": leads}),
    )
    .unwrap();
    assert_eq!(done["enrolled"], 2, "{done}");
    assert_eq!(done["skipped"][0]["lead"], "nobody@example.com", "{done}");
    let again = invoke(
        &main,
        "cadence_enroll",
        json!({"cadence": "Trial", "leads": [ids[0]]}),
    )
    .unwrap();
    assert_eq!(again["already"], 1, "{again}");

    let shown = invoke(&main, "lead_cadences", json!({"lead": ids[0]})).unwrap();
    assert_eq!(shown[0]["enrollment"]["state"], "active");
    assert_eq!(shown[0]["steps"], 3);
    assert_eq!(
        shown[0]["current"],
        json!({"kind": "email", "template": "Hello"})
    );
    assert_eq!(
        shown[0]["next"],
        json!({"kind": "wait", "business_days": 2})
    );

    let stopped = invoke(
        &main,
        "cadence_stop",
        json!({"lead": ids[0], "cadence": trial}),
    )
    .unwrap();
    assert_eq!(stopped, 1);
    let shown = invoke(&main, "lead_cadences", json!({"lead": ids[0]})).unwrap();
    assert_eq!(shown[0]["enrollment"]["state"], "stopped");
    assert_eq!(shown[0]["enrollment"]["stop_reason"], "manual: rita");
    assert_eq!(shown[0]["current"], json!(null));
    let other = invoke(&main, "lead_cadences", json!({"lead": ids[1]})).unwrap();
    assert_eq!(
        other[0]["enrollment"]["state"], "active",
        "only that lead stopped"
    );
}

#[test]
fn compose_previews_the_leads_data_and_a_mail_that_cannot_go_yet_stays_queued_with_the_reason() {
    let (_dir, app, ids) = window_with(&["ada@example.com"]);
    let main = window(&app, "main");
    let compose = invoke(&main, "mail_compose", json!({"lead": ids[0]})).unwrap();
    assert_eq!(compose["from"], json!(null), "no mailbox yet");
    assert_eq!(compose["templates"][0]["name"], "Hello");

    let preview = invoke(
        &main,
        "mail_preview",
        json!({"lead": ids[0], "subject": "For {{name}}", "body": "Dear {{first_name}}, from {{rep}}"}),
    )
    .unwrap();
    assert_eq!(preview["subject"], "For Ada Lovelace");
    assert_eq!(preview["body"], "Dear Ada, from rita");
    assert_eq!(preview["to"], "ada@example.com");
    let refused = invoke(
        &main,
        "mail_preview",
        json!({"lead": ids[0], "subject": "Hi", "body": "Dear {{salutation}}"}),
    )
    .unwrap_err();
    assert_eq!(refused["code"], "bad_input");
    let message = refused["message"].as_str().unwrap();
    assert!(
        message.contains("first_name") && message.contains("signature"),
        "{message}"
    );

    let no_mailbox = invoke(
        &main,
        "mail_send",
        json!({"lead": ids[0], "template": "Hello", "subject": "Hi", "body": "Hello"}),
    )
    .unwrap_err();
    assert_eq!(no_mailbox["code"], "not_found", "{no_mailbox}");

    // A closed port: nothing listens, so nothing can be sent; the mail waits in the outbox.
    let unused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = unused.local_addr().unwrap().port();
    drop(unused);
    let mailbox = json!({
        "address": "rita@example.test", "display_name": null, "username": "rita@example.test",
        "smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "start_tls",
        "imap_host": "127.0.0.1", "imap_port": port, "ca_file": null, "signature": "Rita",
    });
    let saved = invoke(
        &main,
        "mailbox_save",
        json!({"mailbox": mailbox, "password": null}),
    )
    .unwrap();
    assert_eq!(saved["mailbox"]["smtp_port"], port);
    let sent = invoke(
        &main,
        "mail_send",
        json!({"lead": ids[0], "template": "Hello", "subject": "Hi {{first_name}}", "body": "Hello"}),
    )
    .unwrap();
    assert_eq!(sent["mail"]["state"], "queued", "{sent}");
    let code = sent["problem"]["code"].as_str().unwrap();
    assert!(
        ["mail_no_password", "mail_unreachable"].contains(&code),
        "without a password or a server the mail stays queued: {sent}"
    );
    let compose = invoke(&main, "mail_compose", json!({"lead": ids[0]})).unwrap();
    assert_eq!(compose["outbox"].as_array().unwrap().len(), 1);
    let cancelled = invoke(
        &main,
        "mail_resolve",
        json!({"id": sent["mail"]["id"], "sendAgain": false}),
    )
    .unwrap();
    assert_eq!(cancelled["state"], "cancelled");
}
