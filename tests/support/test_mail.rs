//! The private Postfix + Dovecot of `scripts/with-test-mail.sh`, as its environment names it:
//! a loud skip outside it (a failure when `CI` is set).
#![allow(dead_code)] // Each test file uses a different part of the fixtures.

/// Where the test mail system listens and its two accounts (the rep's and the lead's).
pub struct TestMail {
    pub host: String,
    pub submission: String,
    pub imaps: String,
    pub ca: String,
    pub rep: String,
    pub rep_password: String,
    pub lead: String,
    pub lead_password: String,
}

/// The test mail system, or `None` (a loud skip) outside `scripts/with-test-mail.sh`.
pub fn test_mail(test: &str) -> Option<TestMail> {
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"));
    if std::env::var("SWITCHBOARD_TEST_MAIL_HOST").is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "SWITCHBOARD_TEST_MAIL_HOST is not set but CI is: run inside scripts/with-test-mail.sh"
        );
        eprintln!("\n*** SKIPPED ({test}): run inside scripts/with-test-mail.sh ***\n");
        return None;
    }
    Some(TestMail {
        host: var("SWITCHBOARD_TEST_MAIL_HOST"),
        submission: var("SWITCHBOARD_TEST_MAIL_SUBMISSION_PORT"),
        imaps: var("SWITCHBOARD_TEST_MAIL_IMAPS_PORT"),
        ca: var("SWITCHBOARD_TEST_MAIL_CA"),
        rep: var("SWITCHBOARD_TEST_MAIL_REP"),
        rep_password: var("SWITCHBOARD_TEST_MAIL_REP_PASSWORD"),
        lead: var("SWITCHBOARD_TEST_MAIL_LEAD"),
        lead_password: var("SWITCHBOARD_TEST_MAIL_LEAD_PASSWORD"),
    })
}

impl TestMail {
    /// The arguments of `switchboard mail setup` for the rep's mailbox.
    /// The lead's own mailbox, to read what reached them and to answer.
    pub fn lead_mailbox(&self) -> switchboard_core::mail::mailbox::Mailbox {
        use switchboard_core::mail::mailbox::{Mailbox, SmtpSecurity};
        Mailbox {
            address: self.lead.clone(),
            display_name: None,
            username: self.lead.clone(),
            smtp_host: self.host.clone(),
            smtp_port: self.submission.parse().unwrap(),
            smtp_security: SmtpSecurity::StartTls,
            imap_host: self.host.clone(),
            imap_port: self.imaps.parse().unwrap(),
            ca_file: Some(self.ca.clone().into()),
            signature: String::new(),
        }
    }

    pub fn setup_args(&self) -> Vec<String> {
        [
            "mail",
            "setup",
            "--address",
            &self.rep,
            "--name",
            "Anna Rep",
            "--smtp-host",
            &self.host,
            "--smtp-port",
            &self.submission,
            "--smtp-security",
            "starttls",
            "--imap-host",
            &self.host,
            "--imap-port",
            &self.imaps,
            "--ca-file",
            &self.ca,
            "--signature",
            "Anna\\nSales",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }
}
