//! Email from the rep's mailbox through the real binary, against the real Postfix + Dovecot of
//! `scripts/with-test-mail.sh`: templates (an unknown field lists the known ones, a preview with
//! the lead's data), `mail setup` and `mail test` (saying exactly what failed), `email send`
//! reaching the lead's real inbox, `mail sync` logging the lead's reply once, and the mailbox
//! password kept in a real Secret Service, never in the database.

use crate::support;
use crate::test_mail;

use std::process::Command;
use std::time::Duration;
use support::Sandbox;
use switchboard_core::mail::outbox::Outgoing;
use switchboard_mail::smtp::Smtp;
use switchboard_protocol::Secret;
use test_mail::{test_mail, TestMail};

fn with_lead(mail: &TestMail) -> Sandbox {
    let mut s = Sandbox::init();
    let csv = s.write(
        "leads.csv",
        format!(
            "name,company,email,product,country,submitted_at\n\
             Ada Lovelace,Analytical Engines Ltd,{},Difference Engine,GB,2026-03-01T10:00:00Z\n",
            mail.lead
        ),
    );
    s.run(&["import", csv.to_str().unwrap()]).ok();
    let args = mail.setup_args();
    s.run(&args.iter().map(String::as_str).collect::<Vec<_>>())
        .ok();
    s.set_env("SWITCHBOARD_MAIL_PASSWORD", &mail.rep_password);
    s
}

#[test]
fn a_template_mail_reaches_the_lead_and_the_reply_is_logged_once() {
    let Some(mail) = test_mail("a_template_mail_reaches_the_lead") else {
        return;
    };
    let s = with_lead(&mail);
    let bad = s.write("bad.txt", "Dear {{salutation}},\n");
    s.run(&[
        "template",
        "add",
        "Hello",
        "--subject",
        "Hi",
        "--file",
        bad.to_str().unwrap(),
    ])
    .expect(2)
    .stderr_mentions(&[
        "unknown merge field {{salutation}}",
        "first_name",
        "product",
        "signature",
    ]);
    let body = s.write(
        "hello.txt",
        "Dear {{first_name}},\n\nthank you for asking about {{product}}.\n\n{{signature}}\n",
    );
    s.run(&[
        "template",
        "add",
        "Hello",
        "--subject",
        "{{product}} for {{company}}",
        "--file",
        body.to_str().unwrap(),
    ])
    .ok();
    assert_eq!(s.json(&["template", "list"]).as_array().unwrap().len(), 1);
    assert_eq!(
        s.json(&["template", "show", "hello"])["subject"],
        "{{product}} for {{company}}"
    );
    let preview = s.json(&["template", "preview", "Hello", &mail.lead]);
    assert_eq!(
        preview["subject"],
        "Difference Engine for Analytical Engines Ltd"
    );
    assert_eq!(
        preview["body"],
        "Dear Ada,\n\nthank you for asking about Difference Engine.\n\nAnna\nSales\n"
    );

    let test = s.json(&["mail", "test"]);
    assert_eq!(test, serde_json::json!({ "smtp": null, "imap": null }));

    let sent = s.json(&["email", "send", &mail.lead, "--template", "Hello"]);
    assert_eq!(sent["mail"]["state"], "sent", "{sent}");
    let message_id = sent["mail"]["message_id"].as_str().unwrap().to_string();
    assert_eq!(
        s.count("SELECT count(*) FROM follow_up WHERE channel = 'email' AND outcome = 'sent'"),
        1
    );
    // Sending again sends nothing more.
    let again = s.json(&["mail", "sync"]);
    assert_eq!(again["send"]["sent"].as_array().unwrap().len(), 0);

    // The lead answers from their own mailbox through the same real server.
    let lead_box = mail.lead_mailbox();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let reply = Outgoing {
        outbox_id: String::new(),
        message_id: "<reply-1@example.test>".into(),
        lead_id: String::new(),
        to: mail.rep.clone(),
        subject: "Re: Difference Engine".into(),
        body: "Please call me on Tuesday.\n\n> Dear Ada,".into(),
        headers: Vec::new(),
    };
    let headers = vec![
        ("In-Reply-To".to_string(), message_id.clone()),
        ("References".to_string(), message_id.clone()),
    ];
    runtime
        .block_on(async {
            let smtp = Smtp::new(&lead_box, &Secret::new(mail.lead_password.clone()))?;
            smtp.send(smtp.message(&reply, headers)?).await
        })
        .unwrap();

    let mut replies = 0;
    for _ in 0..100 {
        let synced = s.json(&["mail", "sync"]);
        replies += synced["read"]["replies"].as_array().unwrap().len();
        if replies > 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(replies, 1);
    s.json(&["mail", "sync"]);
    let notes: Vec<String> = s
        .sql()
        .prepare("SELECT note FROM follow_up WHERE outcome = 'replied' AND direction = 'in'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(notes.len(), 1, "the reply is logged once");
    assert!(
        notes[0].ends_with("Please call me on Tuesday."),
        "{}",
        notes[0]
    );
    // The password never reaches the database.
    assert!(s.files_containing(&mail.rep_password).is_empty());
}

#[test]
fn mail_test_says_what_failed_and_a_send_that_cannot_log_in_stays_queued() {
    let Some(mail) = test_mail("mail_test_says_what_failed") else {
        return;
    };
    let mut s = with_lead(&mail);
    let body = s.write("hello.txt", "Dear {{first_name}}\n");
    s.run(&[
        "template",
        "add",
        "Hello",
        "--subject",
        "Hi",
        "--file",
        body.to_str().unwrap(),
    ])
    .ok();
    s.set_env("SWITCHBOARD_MAIL_PASSWORD", "wrong");
    let run = s.run(&["mail", "test", "--json"]);
    run.expect(1);
    let report = run.json();
    assert_eq!(report["smtp"]["code"], "mail_auth_failed", "{report}");
    assert_eq!(report["imap"]["code"], "mail_auth_failed", "{report}");
    s.run(&["email", "send", &mail.lead, "--template", "Hello"])
        .expect(1)
        .stderr_mentions(&["refused the login", "app password"]);
    let outbox = s.json(&["mail", "outbox"]);
    assert_eq!(outbox[0]["state"], "queued", "{outbox}");
    s.unset_env("SWITCHBOARD_MAIL_PASSWORD");
    s.set_env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent");
    s.run(&["mail", "sync"])
        .expect(1)
        .stderr_mentions(&["SWITCHBOARD_MAIL_PASSWORD"]);
}

#[test]
fn the_mailbox_password_lives_in_a_real_secret_service() {
    let Some(mail) = test_mail("the_mailbox_password_lives_in_a_real_secret_service") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("laptop.db");
    let bin = support::binary();
    let setup = mail
        .setup_args()
        .iter()
        .map(|a| format!("'{a}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let script = format!(
        "printf '%s\\n' '{password}' | '{bin}' --db '{db}' {setup} --password-stdin && \
         '{bin}' --db '{db}' mail test --json",
        password = mail.rep_password,
        bin = bin.display(),
        db = db.display(),
    );
    let out = Command::new("sh")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/support/with-secret-service.sh"
        ))
        .arg(&script)
        .env("HOME", dir.path())
        .env("XDG_DATA_HOME", dir.path().join("data"))
        .env("XDG_RUNTIME_DIR", dir.path())
        .env_remove("SWITCHBOARD_MAIL_PASSWORD")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "stdout:\n{stdout}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("\"smtp\": null") && stdout.contains("\"imap\": null"),
        "{stdout}"
    );
    let bytes = std::fs::read(&db).unwrap();
    assert!(!support::contains(&bytes, mail.rep_password.as_bytes()));
}

#[test]
fn a_mail_interrupted_mid_send_waits_for_the_rep_and_goes_once_retried() {
    let Some(mail) = test_mail("a_mail_interrupted_mid_send_waits_for_the_rep") else {
        return;
    };
    let s = with_lead(&mail);
    let body = s.write("hello.txt", "Dear {{first_name}}\n");
    s.run(&[
        "template",
        "add",
        "Hello",
        "--subject",
        "Hi",
        "--file",
        body.to_str().unwrap(),
    ])
    .ok();
    let queued = s.json(&[
        "email",
        "send",
        &mail.lead,
        "--template",
        "Hello",
        "--queue-only",
    ]);
    assert_eq!(queued["mail"]["state"], "queued");
    let id = queued["mail"]["id"].as_str().unwrap().to_string();
    // A crash right after the mail was claimed for sending: the row says `sending`.
    let mut store = switchboard_core::Store::open(&s.db, Some(&support::test_key())).unwrap();
    let now = store.now();
    store
        .with_tx(|tx| switchboard_core::mail::outbox::claim(tx, &id, now))
        .unwrap();
    drop(store);

    let synced = s.json(&["mail", "sync"]);
    assert!(
        synced["send"]["sent"].as_array().unwrap().is_empty(),
        "{synced}"
    );
    assert_eq!(synced["interrupted"][0]["id"], id.as_str(), "{synced}");
    let text = s.run(&["mail", "sync"]);
    text.ok();
    assert!(text.stdout.contains("mail retry"), "{}", text.stdout);

    assert_eq!(s.json(&["mail", "retry", &id])["state"], "queued");
    let synced = s.json(&["mail", "sync"]);
    assert_eq!(synced["send"]["sent"], serde_json::json!([id]), "{synced}");
    assert!(synced["interrupted"].as_array().unwrap().is_empty());
    s.run(&["mail", "retry", &id]).expect(5);
}
