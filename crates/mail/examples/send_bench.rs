//! Sending 1,000 queued mails to the local test mail server: throughput, and the share of the
//! time spent claiming (the gate asked again, the mail rendered). Run inside the test mail
//! system: `scripts/with-test-mail.sh cargo run --release -p switchboard-mail --example send_bench`

use std::time::Instant;
use switchboard_core::intake::{self, IntakeContext, IntakeOutcome, RegistrationInput};
use switchboard_core::mail::mailbox::{self, Mailbox, SmtpSecurity};
use switchboard_core::mail::{outbox, templates};
use switchboard_core::Store;
use switchboard_protocol::Secret;

const MAILS: usize = 1000;

fn var(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: run inside scripts/with-test-mail.sh"))
}

fn queue_all(store: &mut Store, lead: &str) {
    let now = store.now();
    store
        .with_tx(|tx| {
            for _ in 0..MAILS {
                outbox::queue(tx, lead, "Hello", "rita", now)?;
            }
            Ok(())
        })
        .unwrap();
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::open(&dir.path().join("bench.db"), None).unwrap();
    let host = var("SWITCHBOARD_TEST_MAIL_HOST");
    let rep = var("SWITCHBOARD_TEST_MAIL_REP");
    let mailbox = Mailbox {
        address: rep.clone(),
        display_name: None,
        username: rep,
        smtp_host: host.clone(),
        smtp_port: var("SWITCHBOARD_TEST_MAIL_SUBMISSION_PORT")
            .parse()
            .unwrap(),
        smtp_security: SmtpSecurity::StartTls,
        imap_host: host,
        imap_port: var("SWITCHBOARD_TEST_MAIL_IMAPS_PORT").parse().unwrap(),
        ca_file: Some(var("SWITCHBOARD_TEST_MAIL_CA").into()),
        signature: "Rita".into(),
    };
    let password = Secret::new(var("SWITCHBOARD_TEST_MAIL_REP_PASSWORD"));
    let now = store.now();
    mailbox::save(store.conn(), &mailbox).unwrap();
    templates::save(
        store.conn(),
        "Hello",
        "Hi {{first_name}}",
        "Dear {{name}},\n{{signature}}",
        "rita",
        now,
    )
    .unwrap();
    let lead = store
        .with_tx(|tx| {
            let ctx = IntakeContext::new(tx, None, now, "intake")?;
            let input = RegistrationInput {
                details: switchboard_protocol::RegistrationDetails {
                    name: Some("Ada Lovelace".into()),
                    email: Some(var("SWITCHBOARD_TEST_MAIL_LEAD")),
                    country: Some("GB".into()),
                    ..Default::default()
                },
                ..RegistrationInput::default()
            };
            match intake::record(tx, &input, &ctx)? {
                IntakeOutcome::Created(id) => Ok(id),
                other => panic!("{other:?}"),
            }
        })
        .unwrap();

    queue_all(&mut store, &lead);
    let started = Instant::now();
    let report =
        switchboard_mail::run::send_queued(&mut store, &mailbox, &password, &|_| Vec::new())
            .await
            .unwrap();
    let sending = started.elapsed();
    assert_eq!(report.sent.len(), MAILS, "{report:?}");

    // The same claims again without the network: what the gate and rendering cost per mail.
    queue_all(&mut store, &lead);
    let ids = outbox::queued(store.conn()).unwrap();
    let started = Instant::now();
    for id in &ids {
        let at = store.now();
        store.with_tx(|tx| outbox::claim(tx, id, at)).unwrap();
    }
    let claiming = started.elapsed();
    println!(
        "sent {MAILS} mails in {:.2} s ({:.0} mails/s); claiming (gate + render + state) {:.1} ms in all, {:.1}% of the sending time",
        sending.as_secs_f64(),
        MAILS as f64 / sending.as_secs_f64(),
        claiming.as_secs_f64() * 1000.0,
        100.0 * claiming.as_secs_f64() / sending.as_secs_f64()
    );
}
