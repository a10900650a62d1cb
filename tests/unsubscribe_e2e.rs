//! One-click unsubscribe end to end, through real parts: the real `switchboard-server` binary
//! serving `--public-url` over TLS, a rep's laptop driven through the real `switchboard` binary
//! sending a cadence mail through the private Postfix of `scripts/with-test-mail.sh`, the mail's
//! headers read back from the lead's mailbox over IMAP, its link fetched (GET changes nothing)
//! and POSTed (RFC 8058) with reqwest, and every replica of the office refusing email to the
//! lead after its next sync. Garbled, forged and replayed tokens get the same page and change
//! nothing. Without a public URL, cadence mail is refused with `unsubscribe_not_configured`.

use crate::cli_replica;
use crate::server_process;
use crate::test_mail;

use cli_replica::CliReplica;
use server_process::ServerProcess;
use std::time::{Duration, Instant};
use switchboard_mail::imap::Imap;
use switchboard_protocol::Secret;
use test_mail::{test_mail, TestMail};

/// A BER rep's laptop with the test lead imported, a mailbox, a template and a cadence (saved by
/// the office's manager) whose first step mails it, the lead enrolled; returns the laptop and the lead's id.
fn rep_with_cadence_lead(server: &ServerProcess, mail: &TestMail, marker: &str) -> CliReplica {
    let mut rita = CliReplica::login(&server.url(), &server.fingerprint, "rita", None);
    let csv = rita.sandbox.write(
        "leads.csv",
        format!(
            "name,company,email,product,country,submitted_at\n\
             Ada Lovelace,Analytical Engines Ltd,{},Difference Engine,DE,2026-03-01T10:00:00Z\n",
            mail.lead
        ),
    );
    rita.run(&["import", csv.to_str().unwrap()]).ok();
    let args = mail.setup_args();
    rita.run(&args.iter().map(String::as_str).collect::<Vec<_>>())
        .ok();
    rita.sandbox
        .set_env("SWITCHBOARD_MAIL_PASSWORD", &mail.rep_password);
    let body = rita
        .sandbox
        .write("hello.txt", "Dear {{first_name}},\n\nabout {{product}}.\n");
    rita.run(&[
        "template",
        "add",
        "Hello",
        "--subject",
        &format!("{marker} {{{{product}}}}"),
        "--file",
        body.to_str().unwrap(),
    ])
    .ok();
    // Cadences are a manager's to define (protocol 3); the rep's laptop pulls it.
    let mona = CliReplica::login(&server.url(), &server.fingerprint, "mona", None);
    mona.run(&["cadence", "add", "Trial", "--step", "email=hello"])
        .ok();
    mona.sync();
    rita.sync();
    rita.run(&["cadence", "enroll", "Trial", &mail.lead]).ok();
    rita.sync();
    rita
}

fn lead_id(replica: &CliReplica, email: &str) -> String {
    let ids = replica.strings(&format!("SELECT id FROM lead WHERE email = '{email}'"));
    assert_eq!(ids.len(), 1, "{ids:?}");
    ids[0].clone()
}

/// The raw message in the lead's mailbox whose subject holds `marker` (waits for delivery).
async fn delivered(mail: &TestMail, marker: &str) -> String {
    let started = Instant::now();
    let password = Secret::new(mail.lead_password.clone());
    loop {
        let mut imap = Imap::connect(&mail.lead_mailbox(), &password)
            .await
            .unwrap();
        imap.inbox().await.unwrap();
        for (uid, header) in imap.headers_from(1).await.unwrap() {
            if String::from_utf8_lossy(&header).contains(marker) {
                let raw = imap.message(uid).await.unwrap().unwrap();
                imap.logout().await;
                return String::from_utf8_lossy(&raw).into_owned();
            }
        }
        imap.logout().await;
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the mail '{marker}' never reached the lead's mailbox"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A header's value, unfolded (RFC 5322 continuation lines joined).
fn header(raw: &str, name: &str) -> Option<String> {
    let head = raw.split("\r\n\r\n").next().unwrap_or(raw);
    let unfolded = head.replace("\r\n ", " ").replace("\r\n\t", " ");
    unfolded.lines().find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
    })
}

fn may_email(replica: &CliReplica, lead: &str) -> bool {
    let run = replica.run(&["can-contact", lead, "--channel", "email"]);
    run.no_panic();
    match run.code {
        0 => true,
        3 => false,
        other => panic!("can-contact exited {other}: {}", run.stderr),
    }
}

async fn post_one_click(http: &reqwest::Client, url: &str) -> (u16, String) {
    let answer = http
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    (answer.status().as_u16(), answer.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_one_click_unsubscribe_from_a_real_mail_stops_email_on_every_replica() {
    let Some(mail) = test_mail("a_one_click_unsubscribe_from_a_real_mail") else {
        return;
    };
    let server = ServerProcess::start_with(|port| {
        vec!["--public-url".into(), format!("https://127.0.0.1:{port}/")]
    });
    let marker = format!("unsub-{}", uuid_like());
    let rita = rep_with_cadence_lead(&server, &mail, &marker);
    let lead = lead_id(&rita, &mail.lead);
    let sent = rita
        .sandbox
        .json(&["email", "send", &mail.lead, "--template", "Hello"]);
    assert_eq!(sent["mail"]["state"], "sent", "{sent}");

    // What reached the lead: the RFC 8058 headers and the same link in the text.
    let raw = delivered(&mail, &marker).await;
    let list = header(&raw, "List-Unsubscribe").expect("a List-Unsubscribe header");
    let link = list
        .strip_prefix('<')
        .and_then(|l| l.strip_suffix('>'))
        .unwrap_or_else(|| panic!("List-Unsubscribe is not <URL>: {list}"))
        .to_string();
    let base = format!("{}/v1/unsubscribe/u1.", server.url());
    assert!(link.starts_with(&base), "{link}");
    assert_eq!(
        header(&raw, "List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    // The text may come quoted-printable (long lines): undo its soft line breaks.
    let text = raw.replace("=\r\n", "").replace("=3D", "=");
    assert!(
        text.contains(&format!("To receive no more email from us: {link}")),
        "{raw}"
    );
    // No personal information in the link: the lead's random id and a MAC only.
    let local = mail.lead.split('@').next().unwrap();
    assert!(!link.contains(local) && !link.contains("Ada"), "{link}");
    assert!(link.contains(&lead), "{link}");

    // A mail scanner's GET shows the button and opts nobody out.
    let http = switchboard_test_support::server::pinned_http(&server.fingerprint);
    let page = http.get(&link).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let page = page.text().await.unwrap();
    assert!(
        page.contains("<form method=\"post\"") && page.contains("One-Click"),
        "{page}"
    );
    rita.sync();
    assert!(rita.consent_ids().is_empty(), "a GET recorded consent");
    assert!(may_email(&rita, &lead));

    // Garbled, forged and cut tokens: the same page as a good one, and nothing recorded.
    let (status, done) = post_one_click(&http, &link).await;
    assert_eq!(status, 200);
    let token = link.rsplit('/').next().unwrap();
    let flipped = format!(
        "{}{}",
        &token[..token.len() - 1],
        if token.ends_with('0') { '1' } else { '0' }
    );
    let forged = switchboard_domain::unsubscribe::make(
        token.split('.').nth(1).unwrap(),
        b"a key nobody was given",
        &lead,
    )
    .unwrap();
    for bad in [
        flipped.as_str(),
        forged.as_str(),
        "u1.0000.nobody.00000000000000000000000000000000",
        "garbage",
        "%00%ff",
        &"x".repeat(300),
    ] {
        let url = format!("{}/v1/unsubscribe/{bad}", server.url());
        assert_eq!(
            post_one_click(&http, &url).await,
            (200, done.clone()),
            "{bad}"
        );
        let get = http.get(&url).send().await.unwrap();
        assert_eq!(get.status().as_u16(), 200, "{bad}");
        assert_eq!(get.text().await.unwrap(), page, "{bad}");
    }
    // A replay records nothing twice.
    assert_eq!(post_one_click(&http, &link).await, (200, done.clone()));

    // Every replica of the office now refuses email to the lead.
    rita.sync();
    let consent =
        rita.strings("SELECT scope || ' ' || action || ' ' || recorded_by FROM consent_event");
    assert_eq!(
        consent,
        vec!["email opt_out switchboard-server".to_string()],
        "one opt-out of email, signed by the server"
    );
    assert!(!may_email(&rita, &lead));
    rita.run(&["email", "send", &mail.lead, "--template", "Hello"])
        .expect(3)
        .stderr_mentions(&["opted out"]);
    let mona = CliReplica::login(&server.url(), &server.fingerprint, "mona", None);
    mona.sync();
    assert_eq!(mona.consent_ids(), rita.consent_ids());
    assert!(!may_email(&mona, &lead));

    assert!(
        !server.stderr().contains("panicked at"),
        "the server panicked:\n{}",
        server.stderr()
    );
}

#[test]
fn without_a_public_url_cadence_mail_is_refused_with_what_to_do() {
    let Some(mail) = test_mail("without_a_public_url_cadence_mail_is_refused") else {
        return;
    };
    let server = ServerProcess::start();
    let rita = rep_with_cadence_lead(&server, &mail, &format!("none-{}", uuid_like()));
    rita.run(&["email", "send", &mail.lead, "--template", "Hello"])
        .expect(3)
        .stderr_mentions(&["unsubscribe link", "--public-url"]);
    let run = rita.run(&["email", "send", &mail.lead, "--template", "Hello", "--json"]);
    run.expect(3);
    let error: serde_json::Value = serde_json::from_str(&run.stderr).unwrap();
    assert_eq!(
        error["error"]["code"], "unsubscribe_not_configured",
        "{error}"
    );
    // Nothing was queued, so nothing can leave later without a link.
    assert_eq!(
        rita.strings("SELECT id FROM mail_outbox"),
        Vec::<String>::new()
    );
    assert!(
        !server.stderr().contains("panicked at"),
        "the server panicked:\n{}",
        server.stderr()
    );
}

/// A value unique to this run, for finding this test's mail in the shared mailbox.
fn uuid_like() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}
