//! The window's email and cadences through the application layer, against the real Postfix and
//! Dovecot of `scripts/with-test-mail.sh`: mailbox settings with the password in a keychain
//! (never the database), the connection test naming the step that failed, a preview of edited
//! text, a mail sent from compose reaching the lead's real inbox, the lead's reply fetched by the
//! window's mail sync, and the cadence the lead was enrolled in shown stopped by that reply.

#[path = "../../mail/tests/support/mod.rs"]
mod support;

use support::{eventually, store_with_leads, test_mail};
use switchboard_app::desk::Desk;
use switchboard_app::mail::{self, MailService};
use switchboard_app::session::{Acting, Session};
use switchboard_app::views::cadences;
use switchboard_core::cadence::{definition, Step};
use switchboard_core::mail::mailbox;
use switchboard_core::mail::outbox::{MailState, Outgoing};
use switchboard_mail::imap::Imap;
use switchboard_mail::smtp::Smtp;
use switchboard_protocol::{Role, Secret, UnsubscribeKey};
use switchboard_sync::keychain::Keychain;

fn desk(store: switchboard_core::Store) -> Desk {
    let session = Session {
        actor: "rita".into(),
        role: Role::Rep,
    };
    Desk::new(store, Acting::new(session, true))
}

fn keychain() -> (Keychain, MailService) {
    let keychain = Keychain::with_store(keyring_core::mock::Store::new().unwrap());
    let opened = keychain.clone();
    (
        keychain,
        MailService::with_keychain(move || Ok(opened.clone())),
    )
}

#[test]
fn settings_keep_the_password_in_the_keychain_and_the_test_names_the_failed_step() {
    let Some(mail) = test_mail("settings_keep_the_password_in_the_keychain") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = store_with_leads(dir.path(), &mail, &[]);
    let desk = desk(store);
    let (_, service) = keychain();
    let mailbox = mail.mailbox(&mail.rep);

    let saved = service.save(&desk, &mailbox, None).unwrap();
    assert!(!saved.password_stored, "no password given yet");
    assert_eq!(
        service.test(&desk).unwrap_err().code(),
        "mail_no_password",
        "the test says the password is missing"
    );

    let wrong = service
        .save(&desk, &mailbox, Some(Secret::new("not-the-password")))
        .unwrap();
    assert!(wrong.password_stored);
    let test = service.test(&desk).unwrap();
    for check in [&test.smtp, &test.imap] {
        assert!(!check.ok, "{check:?}");
        assert_eq!(
            check.failed_step.as_deref(),
            Some("logging in"),
            "{check:?}"
        );
        assert_eq!(check.code.as_deref(), Some("mail_auth_failed"));
    }

    let right = mail.rep_password.expose().to_string();
    service
        .save(&desk, &mailbox, Some(Secret::new(right.clone())))
        .unwrap();
    let test = service.test(&desk).unwrap();
    assert!(test.smtp.ok && test.imap.ok, "{test:?}");

    // A name that cannot resolve: the DNS step, told apart from connecting.
    let mut nameless = mailbox.clone();
    nameless.smtp_host = "no such host".into();
    // The keychain keeps a password per user and SMTP host: this host needs its own.
    service
        .save(&desk, &nameless, Some(Secret::new(right.clone())))
        .unwrap();
    let test = service.test(&desk).unwrap();
    assert_eq!(
        test.smtp.failed_step.as_deref(),
        Some("finding the server (DNS)"),
        "{test:?}"
    );
    assert!(test.imap.ok, "the IMAP server still answers: {test:?}");

    // A closed port: the connecting step, for both servers.
    let mut closed = mailbox.clone();
    let unused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = unused.local_addr().unwrap().port();
    drop(unused);
    closed.smtp_port = port;
    closed.imap_port = port;
    service.save(&desk, &closed, None).unwrap();
    let test = service.test(&desk).unwrap();
    for check in [&test.smtp, &test.imap] {
        assert!(
            check
                .failed_step
                .as_deref()
                .is_some_and(|s| s.starts_with("connecting to the server")),
            "{check:?}"
        );
    }
    let held = desk.read(|s| mailbox::load(s.conn())).unwrap().unwrap();
    assert_eq!(held.smtp_port, port, "the settings are saved as given");
    drop(desk);
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        assert!(
            !bytes.windows(right.len()).any(|w| w == right.as_bytes()),
            "the password reached {}",
            path.display()
        );
    }
}

#[test]
fn a_mail_composed_for_an_enrolled_lead_is_sent_and_its_reply_stops_the_cadence() {
    let Some(mail) = test_mail("a_mail_composed_for_an_enrolled_lead") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (store, leads) = store_with_leads(dir.path(), &mail, &[&mail.lead]);
    let lead = leads[0].clone();
    let desk = desk(store);
    let (keychain, service) = keychain();
    switchboard_mail::secret::save(&keychain, &mail.mailbox(&mail.rep), &mail.rep_password)
        .unwrap();
    // What signing in to the office's server leaves on the replica: cadence mail carries a
    // one-click unsubscribe link made with the office's key (refused without one).
    desk.act(|tx, _, _| {
        switchboard_core::mail::unsubscribe::remember(
            tx,
            Some(&UnsubscribeKey {
                link_base: "https://switchboard.example.test/v1/unsubscribe/".into(),
                key_id: "k1".into(),
                key: Secret::new("00112233445566778899aabbccddeeff"),
                office: "LON".into(),
            }),
        )
    })
    .unwrap();
    desk.act(|tx, actor, at| {
        definition::save(
            tx,
            "Trial",
            &[
                Step::Email {
                    template: "Hello".into(),
                },
                Step::Wait { business_days: 2 },
                Step::Call {
                    script: "Ask how the trial goes".into(),
                    outcomes: vec![],
                },
            ],
            actor,
            at,
        )
    })
    .unwrap();
    let enrolled = cadences::enroll(&desk, "Trial", std::slice::from_ref(&lead)).unwrap();
    assert_eq!(enrolled.enrolled, 1);
    let shown = desk.read(|s| cadences::for_lead(s, &lead)).unwrap();
    assert_eq!(shown.len(), 1);
    assert_eq!(shown[0].enrollment.state, "active");
    assert_eq!(shown[0].steps, 3);
    assert!(matches!(shown[0].current, Some(Step::Email { .. })));
    assert!(matches!(
        shown[0].next,
        Some(Step::Wait { business_days: 2 })
    ));

    // The rep edits the template's text; an unknown field is refused with the known ones.
    let err = desk
        .read(|s| mail::preview(s, &lead, "Hi", "Dear {{salutation}}", "rita"))
        .unwrap_err();
    assert!(err.to_string().contains("first_name"), "{err}");
    let subject = "Your {{product}} trial";
    let body = "Dear {{first_name}},\n\nhow is the trial going?\n\n{{signature}}";
    let preview = desk
        .read(|s| mail::preview(s, &lead, subject, body, "rita"))
        .unwrap();
    assert_eq!(preview.subject, "Your Difference Engine trial");
    assert!(preview.body.starts_with("Dear Ada0,"), "{}", preview.body);

    let compose = desk.read(|s| mail::compose(s, &lead)).unwrap();
    assert_eq!(compose.from.as_deref(), Some(mail.rep.as_str()));
    assert_eq!(compose.templates.len(), 1);
    let sent = service
        .send(&desk, &lead, &compose.templates[0].id, subject, body)
        .unwrap();
    assert_eq!(sent.problem, None);
    assert_eq!(sent.mail.state, MailState::Sent);
    let compose = desk.read(|s| mail::compose(s, &lead)).unwrap();
    assert_eq!(compose.outbox.len(), 1, "the lead's outbox shows the mail");

    // The edited text reached the lead's real inbox; the lead replies to it.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let lead_box = mail.mailbox(&mail.lead);
    let arrived = runtime.block_on(eventually(async || {
        let mut imap = Imap::connect(&lead_box, &mail.lead_password).await.ok()?;
        imap.inbox().await.ok()?;
        let headers = imap.headers_from(1).await.ok()?;
        imap.logout().await;
        headers
            .into_iter()
            .map(|(_, h)| String::from_utf8_lossy(&h).to_string())
            .find(|h| h.contains("Your Difference Engine trial"))
    }));
    assert!(arrived.contains(&sent.mail.message_id), "{arrived}");
    assert!(
        arrived.contains("List-Unsubscribe: <https://switchboard.example.test/v1/unsubscribe/"),
        "cadence mail carries the one-click link: {arrived}"
    );
    let reply = Outgoing {
        outbox_id: String::new(),
        message_id: "<reply-window@example.test>".into(),
        lead_id: String::new(),
        to: mail.rep.clone(),
        subject: "Re: Your Difference Engine trial".into(),
        body: "Going well, call me next week.".into(),
        headers: Vec::new(),
    };
    let headers = vec![
        ("In-Reply-To".to_string(), sent.mail.message_id.clone()),
        ("References".to_string(), sent.mail.message_id.clone()),
    ];
    runtime
        .block_on(async {
            let smtp = Smtp::new(&lead_box, &mail.lead_password)?;
            smtp.send(smtp.message(&reply, headers)?).await
        })
        .unwrap();

    let mut replies = 0;
    for _ in 0..100 {
        replies += service.sync(&desk).unwrap().replies;
        if replies > 0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert_eq!(replies, 1);
    let shown = desk.read(|s| cadences::for_lead(s, &lead)).unwrap();
    assert_eq!(shown[0].enrollment.state, "stopped");
    assert_eq!(shown[0].enrollment.stop_reason.as_deref(), Some("replied"));
    assert_eq!(
        shown[0].current, None,
        "a stopped cadence has no current step"
    );
}

#[test]
fn an_unreachable_server_leaves_the_composed_mail_queued_with_the_reason() {
    let Some(mail) = test_mail("an_unreachable_server_leaves_the_mail_queued") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (store, leads) = store_with_leads(dir.path(), &mail, &[&mail.lead]);
    let mut closed = mail.mailbox(&mail.rep);
    let unused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    closed.smtp_port = unused.local_addr().unwrap().port();
    drop(unused);
    mailbox::save(store.conn(), &closed).unwrap();
    let desk = desk(store);
    let (keychain, service) = keychain();
    switchboard_mail::secret::save(&keychain, &closed, &mail.rep_password).unwrap();
    let sent = service
        .send(&desk, &leads[0], "Hello", "Hi {{first_name}}", "Body")
        .unwrap();
    assert_eq!(sent.mail.state, MailState::Queued);
    let problem = sent.problem.expect("a reason");
    assert_eq!(problem.code, "mail_unreachable");
    assert!(
        problem.message.contains("queued mail stays queued"),
        "{}",
        problem.message
    );
    // Cancelled by hand, it never goes.
    let cancelled = mail::resolve(&desk, &sent.mail.id, false).unwrap();
    assert_eq!(cancelled.state, MailState::Cancelled);
}
