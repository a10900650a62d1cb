//! Sending and reading against the real Postfix + Dovecot of `scripts/with-test-mail.sh`.

mod support;

use lettre::message::header::ContentType;
use lettre::AsyncTransport;
use support::{eventually, store_with_leads, test_mail};
use switchboard_core::mail::outbox::{self, MailState};
use switchboard_core::{consent, leads};
use switchboard_mail::imap::Imap;
use switchboard_mail::run::{self, ExtraHeaders};
use switchboard_protocol::{ConsentScope, Secret};

fn no_headers() -> ExtraHeaders<'static> {
    &|_| Vec::new()
}

/// The Message-IDs in `address`'s inbox.
async fn inbox_ids(mail: &support::TestMail, address: &str, password: &Secret) -> Vec<String> {
    let mut imap = Imap::connect(&mail.mailbox(address), password)
        .await
        .unwrap();
    imap.inbox().await.unwrap();
    let ids = imap
        .headers_from(1)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|(_, h)| switchboard_mail::inbound::header_facts(&h)?.message_id)
        .collect();
    imap.logout().await;
    ids
}

#[tokio::test]
async fn a_queued_mail_is_sent_once_and_its_reply_is_logged_once() {
    let Some(mail) = test_mail("a_queued_mail_is_sent_once_and_its_reply_is_logged_once") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (mut store, leads_) = store_with_leads(dir.path(), &mail, &[&mail.lead]);
    let now = store.now();
    let queued = store
        .with_tx(|tx| outbox::queue(tx, &leads_[0], "Hello", "rita", now))
        .unwrap();
    let mailbox = mail.mailbox(&mail.rep);

    let report = run::send_queued(&mut store, &mailbox, &mail.rep_password, no_headers())
        .await
        .unwrap();
    assert_eq!(report.sent, vec![queued.id.clone()]);
    // A second run sends nothing again.
    let again = run::send_queued(&mut store, &mailbox, &mail.rep_password, no_headers())
        .await
        .unwrap();
    assert!(again.sent.is_empty());
    let sent = outbox::get(store.conn(), &queued.id).unwrap();
    assert_eq!(sent.state, MailState::Sent);
    let note: String = store
        .conn()
        .query_row(
            "SELECT note FROM follow_up WHERE id = ?1 AND channel = 'email' AND outcome = 'sent'",
            [sent.follow_up_id.as_ref().unwrap()],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        note,
        format!(
            "Email \"About Difference Engine, Ada0\" (Message-ID {})",
            queued.message_id
        )
    );

    // The lead's mailbox received it exactly once, under the Message-ID fixed at queue time.
    // (The mailbox is shared with every test of this mail-system session, so others' mail may
    // be there too: count this one.)
    let received = eventually(async || {
        let ids = inbox_ids(&mail, &mail.lead, &mail.lead_password).await;
        ids.contains(&queued.message_id).then_some(ids)
    })
    .await;
    let copies = received
        .iter()
        .filter(|id| **id == queued.message_id)
        .count();
    assert_eq!(copies, 1, "{received:?}");

    // The lead answers from their own mail client, through the same real server.
    let lead_smtp =
        lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::builder_dangerous(&mail.host)
            .port(mail.submission)
            .tls(lettre::transport::smtp::client::Tls::Required(
                lettre::transport::smtp::client::TlsParameters::builder(mail.host.clone())
                    .add_root_certificate(
                        lettre::transport::smtp::client::Certificate::from_pem(
                            &std::fs::read(&mail.ca).unwrap(),
                        )
                        .unwrap(),
                    )
                    .build_rustls()
                    .unwrap(),
            ))
            .credentials((mail.lead.clone(), mail.lead_password.expose().to_string()).into())
            .build();
    let unrelated = lettre::Message::builder()
        .from(mail.lead.parse().unwrap())
        .to(mail.rep.parse().unwrap())
        .subject("Something else")
        .header(ContentType::TEXT_PLAIN)
        .body("Not about your mail.".to_string())
        .unwrap();
    lead_smtp.send(unrelated).await.unwrap();
    let reply = lettre::Message::builder()
        .from(mail.lead.parse().unwrap())
        .to(mail.rep.parse().unwrap())
        .subject("Re: About Difference Engine, Ada0")
        .in_reply_to(queued.message_id.clone())
        .references(queued.message_id.clone())
        .header(ContentType::TEXT_PLAIN)
        .body("Yes, please call me on Tuesday.\nAfter 10 is best.\n\nOn Mon, Rita wrote:\n> Dear Ada0".to_string())
        .unwrap();
    lead_smtp.send(reply).await.unwrap();

    let read = eventually(async || {
        let r = run::read_inbox(&mut store, &mailbox, &mail.rep_password)
            .await
            .unwrap();
        (!r.replies.is_empty()).then_some(r)
    })
    .await;
    assert_eq!(read.replies.len(), 1);
    assert_eq!(read.replies[0].lead_id, leads_[0]);
    let replied: Vec<String> = store
        .conn()
        .prepare("SELECT note FROM follow_up WHERE lead_id = ?1 AND outcome = 'replied' AND direction = 'in'")
        .unwrap()
        .query_map([&leads_[0]], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(replied.len(), 1);
    assert!(
        replied[0].ends_with("Yes, please call me on Tuesday.\nAfter 10 is best."),
        "{}",
        replied[0]
    );
    // Reading again records nothing new.
    let again = run::read_inbox(&mut store, &mailbox, &mail.rep_password)
        .await
        .unwrap();
    assert!(
        again.replies.is_empty() && again.bounces.is_empty(),
        "{again:?}"
    );
}

#[tokio::test]
async fn unknown_recipients_bounce_hard_and_block_email_and_a_full_mailbox_bounces_soft() {
    let Some(mail) = test_mail("unknown_recipients_bounce_hard") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let unknown = format!("nobody-{}@{}", std::process::id(), mail.domain);
    let full = format!("full@{}", mail.soft_domain);
    let (mut store, ids) = store_with_leads(dir.path(), &mail, &[&unknown, &full]);
    let now = store.now();
    for id in &ids {
        store
            .with_tx(|tx| outbox::queue(tx, id, "Hello", "rita", now))
            .unwrap();
    }
    let mailbox = mail.mailbox(&mail.rep);
    let report = run::send_queued(&mut store, &mailbox, &mail.rep_password, no_headers())
        .await
        .unwrap();
    assert_eq!(report.sent.len(), 2, "{report:?}");

    let mut bounces = Vec::new();
    eventually(async || {
        let r = run::read_inbox(&mut store, &mailbox, &mail.rep_password)
            .await
            .unwrap();
        bounces.extend(r.bounces);
        (bounces.len() >= 2).then_some(())
    })
    .await;
    let hard = bounces
        .iter()
        .find(|b| b.lead_id == ids[0])
        .expect("the unknown user bounced");
    let soft = bounces
        .iter()
        .find(|b| b.lead_id == ids[1])
        .expect("the full mailbox bounced");
    assert_eq!(
        hard.kind,
        switchboard_core::mail::inbound::InboundKind::HardBounce
    );
    assert!(hard.address_invalidated);
    assert_eq!(
        soft.kind,
        switchboard_core::mail::inbound::InboundKind::SoftBounce
    );
    assert!(!soft.address_invalidated);
    assert!(leads::get(store.conn(), &ids[0]).unwrap().email_invalid);
    assert!(!leads::get(store.conn(), &ids[1]).unwrap().email_invalid);
    // The hard bounce blocks email for that address: a new mail is refused by the gate.
    let err = store
        .with_tx(|tx| outbox::queue(tx, &ids[0], "Hello", "rita", now))
        .unwrap_err();
    assert_eq!(err.code(), "blocked");
    assert!(err.to_string().contains("no valid email address"), "{err}");
}

#[tokio::test]
async fn an_opt_out_after_queueing_cancels_and_a_refused_recipient_fails() {
    let Some(mail) = test_mail("an_opt_out_after_queueing_cancels") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (mut store, ids) = store_with_leads(dir.path(), &mail, &[&mail.lead, &mail.refused]);
    let now = store.now();
    let q: Vec<_> = ids
        .iter()
        .map(|id| {
            store
                .with_tx(|tx| outbox::queue(tx, id, "Hello", "rita", now))
                .unwrap()
        })
        .collect();
    // The opt-out arrives (as if synced from another laptop) after the mail was queued.
    store
        .with_tx(|tx| consent::opt_out(tx, &ids[0], ConsentScope::Email, "phone", None, "max", now))
        .unwrap();
    let report = run::send_queued(
        &mut store,
        &mail.mailbox(&mail.rep),
        &mail.rep_password,
        no_headers(),
    )
    .await
    .unwrap();
    assert!(report.sent.is_empty(), "{report:?}");
    assert_eq!(report.cancelled.len(), 1);
    assert!(
        report.cancelled[0].reason.contains("opted out of email"),
        "{report:?}"
    );
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].code, "mail_recipient_refused");
    assert!(report.failed[0]
        .reason
        .contains("correct the lead's email address"));
    assert_eq!(
        outbox::get(store.conn(), &q[0].id).unwrap().state,
        MailState::Cancelled
    );
    assert_eq!(
        outbox::get(store.conn(), &q[1].id).unwrap().state,
        MailState::Failed
    );
    assert!(inbox_ids(&mail, &mail.lead, &mail.lead_password)
        .await
        .iter()
        .all(|id| id != &q[0].message_id));
}

#[tokio::test]
async fn the_connection_test_says_exactly_what_failed_and_nothing_queued_is_lost() {
    let Some(mail) = test_mail("the_connection_test_says_exactly_what_failed") else {
        return;
    };
    let good = mail.mailbox(&mail.rep);
    assert_eq!(
        run::test(&good, &mail.rep_password).await,
        run::TestReport::default()
    );
    let mut implicit = good.clone();
    implicit.smtp_port = mail.submissions;
    implicit.smtp_security = switchboard_core::mail::mailbox::SmtpSecurity::Tls;
    assert_eq!(
        run::test(&implicit, &mail.rep_password).await,
        run::TestReport::default()
    );

    let wrong = Secret::new("not-the-password");
    let report = run::test(&good, &wrong).await;
    assert_eq!(
        report.smtp.as_ref().unwrap().code,
        "mail_auth_failed",
        "{report:?}"
    );
    assert_eq!(
        report.imap.as_ref().unwrap().code,
        "mail_auth_failed",
        "{report:?}"
    );
    assert!(report.smtp.unwrap().message.contains("app password"));

    let mut untrusted = good.clone();
    untrusted.ca_file = None;
    let report = run::test(&untrusted, &mail.rep_password).await;
    assert_eq!(
        report.smtp.as_ref().unwrap().code,
        "mail_tls_failed",
        "{report:?}"
    );
    assert_eq!(
        report.imap.as_ref().unwrap().code,
        "mail_tls_failed",
        "{report:?}"
    );

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut nowhere = good.clone();
    nowhere.smtp_port = port;
    nowhere.imap_port = port;
    let report = run::test(&nowhere, &mail.rep_password).await;
    assert_eq!(
        report.smtp.as_ref().unwrap().code,
        "mail_unreachable",
        "{report:?}"
    );
    assert_eq!(
        report.imap.as_ref().unwrap().code,
        "mail_unreachable",
        "{report:?}"
    );
    assert!(report
        .imap
        .unwrap()
        .message
        .contains(&format!("127.0.0.1:{port}")));

    // Sending with the wrong password leaves the mail queued, untouched.
    let dir = tempfile::tempdir().unwrap();
    let (mut store, ids) = store_with_leads(dir.path(), &mail, &[&mail.lead]);
    let now = store.now();
    let q = store
        .with_tx(|tx| outbox::queue(tx, &ids[0], "Hello", "rita", now))
        .unwrap();
    let err = run::send_queued(&mut store, &good, &wrong, no_headers())
        .await
        .unwrap_err();
    assert_eq!(err.code(), "mail_auth_failed");
    let still = outbox::get(store.conn(), &q.id).unwrap();
    assert_eq!(
        (still.state, still.message_id),
        (MailState::Queued, q.message_id)
    );
}
