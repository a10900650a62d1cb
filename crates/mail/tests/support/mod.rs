//! The private mail system `scripts/with-test-mail.sh` starts: its addresses, ports and
//! passwords, a store with leads, and mailbox settings for its users.

#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;
use switchboard_core::intake::{self, IntakeContext, IntakeOutcome, RegistrationInput};
use switchboard_core::mail::mailbox::{self, Mailbox, SmtpSecurity};
use switchboard_core::mail::templates;
use switchboard_core::{DatabaseKey, Store};
use switchboard_protocol::Secret;

/// The test mail system, read from the environment.
pub struct TestMail {
    pub host: String,
    pub submission: u16,
    pub submissions: u16,
    pub imaps: u16,
    pub ca: PathBuf,
    pub domain: String,
    pub soft_domain: String,
    pub refused: String,
    pub rep: String,
    pub rep_password: Secret,
    pub lead: String,
    pub lead_password: Secret,
}

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"))
}

/// The mail system, or `None` after a loud notice when the tests run outside
/// `scripts/with-test-mail.sh` (fails when `CI` is set: CI must run them).
pub fn test_mail(test: &str) -> Option<TestMail> {
    if std::env::var("SWITCHBOARD_TEST_MAIL_HOST").is_err() {
        if std::env::var_os("CI").is_some() {
            panic!("SWITCHBOARD_TEST_MAIL_HOST is not set but CI is: run the tests inside scripts/with-test-mail.sh");
        }
        eprintln!("\n*** SKIPPED ({test}): run inside scripts/with-test-mail.sh ***\n");
        return None;
    }
    Some(TestMail {
        host: var("SWITCHBOARD_TEST_MAIL_HOST"),
        submission: var("SWITCHBOARD_TEST_MAIL_SUBMISSION_PORT")
            .parse()
            .unwrap(),
        submissions: var("SWITCHBOARD_TEST_MAIL_SUBMISSIONS_PORT")
            .parse()
            .unwrap(),
        imaps: var("SWITCHBOARD_TEST_MAIL_IMAPS_PORT").parse().unwrap(),
        ca: var("SWITCHBOARD_TEST_MAIL_CA").into(),
        domain: var("SWITCHBOARD_TEST_MAIL_DOMAIN"),
        soft_domain: var("SWITCHBOARD_TEST_MAIL_SOFT_DOMAIN"),
        refused: var("SWITCHBOARD_TEST_MAIL_REFUSED"),
        rep: var("SWITCHBOARD_TEST_MAIL_REP"),
        rep_password: Secret::new(var("SWITCHBOARD_TEST_MAIL_REP_PASSWORD")),
        lead: var("SWITCHBOARD_TEST_MAIL_LEAD"),
        lead_password: Secret::new(var("SWITCHBOARD_TEST_MAIL_LEAD_PASSWORD")),
    })
}

impl TestMail {
    /// Settings for one of the mailboxes, STARTTLS submission, trusting the test CA.
    pub fn mailbox(&self, address: &str) -> Mailbox {
        Mailbox {
            address: address.into(),
            display_name: Some("Rita Rep".into()),
            username: address.into(),
            smtp_host: self.host.clone(),
            smtp_port: self.submission,
            smtp_security: SmtpSecurity::StartTls,
            imap_host: self.host.clone(),
            imap_port: self.imaps,
            ca_file: Some(self.ca.clone()),
            signature: "Rita Rep\nSwitchboard Sales".into(),
        }
    }
}

/// An encrypted database file in `dir` with the rep's mailbox set up, a template "Hello", and one
/// lead per address (their ids, in order). Encrypted as a real replica is, so the window's mail code
/// that reopens the file on its own connection must use the key the store holds.
pub fn store_with_leads(
    dir: &std::path::Path,
    mail: &TestMail,
    emails: &[&str],
) -> (Store, Vec<String>) {
    let key = DatabaseKey::from_bytes([0x5b; 32]);
    let mut store = Store::open(&dir.join("switchboard.db"), Some(&key)).unwrap();
    let now = store.now();
    mailbox::save(store.conn(), &mail.mailbox(&mail.rep)).unwrap();
    templates::save(
        store.conn(),
        "Hello",
        "About {{product}}, {{first_name}}",
        "Dear {{first_name}},\n\nthank you for asking about {{product}}.\n\n{{signature}}",
        "rita",
        now,
    )
    .unwrap();
    let mut ids = Vec::new();
    for (i, email) in emails.iter().enumerate() {
        let id = store
            .with_tx(|tx| {
                let ctx = IntakeContext::new(tx, None, now, "intake")?;
                let input = RegistrationInput {
                    product: Some("Difference Engine".into()),
                    details: switchboard_protocol::RegistrationDetails {
                        name: Some(format!("Ada{i} Lovelace")),
                        email: Some((*email).into()),
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
        ids.push(id);
    }
    (store, ids)
}

/// Retries `check` for up to 20 s (delivery through Postfix is asynchronous).
pub async fn eventually<T>(mut check: impl AsyncFnMut() -> Option<T>) -> T {
    for _ in 0..200 {
        if let Some(value) = check().await {
            return value;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the expected mail did not arrive within 20 s");
}
