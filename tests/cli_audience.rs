//! Promotional-email audiences and email-service feedback through the real binary. The 100,000
//! person check against an independent computation is crates/core/tests/audience_population.rs;
//! this one checks the commands end to end on a small population with every exclusion.

use crate::support;

use support::{csv, Sandbox};

fn add_lead(s: &Sandbox, id: &str, name: &str, email: Option<&str>, country: &str) {
    let db = s.sql();
    db.execute(
        "INSERT INTO lead(id, name, company, email, country, created_at, last_registered_at)
         VALUES (?1, ?2, 'Acme', ?3, ?4, '2026-03-01T10:00:00.000Z', '2026-03-01T10:00:00.000Z')",
        rusqlite::params![id, name, email, country],
    )
    .unwrap();
    let kind = if country == "FR" {
        "license_key"
    } else {
        "trial"
    };
    db.execute(
        "INSERT INTO registration(id, lead_id, kind, product, submitted_at, received_at)
         VALUES (?1, ?2, ?3, 'Widget', '2026-03-01T10:00:00.000Z', '2026-03-01T10:00:00.000Z')",
        rusqlite::params![format!("reg-{id}"), id, kind],
    )
    .unwrap();
}

/// Ann and Ida may be mailed; everyone else is excluded for a different reason.
fn population() -> Sandbox {
    let s = Sandbox::init();
    add_lead(&s, "ann", "Ann Example", Some("ann@example.com"), "DE");
    add_lead(&s, "bo", "Bo Optout", Some("bo@example.com"), "DE");
    add_lead(&s, "cy", "Cy Alloptout", Some("cy@example.com"), "DE");
    add_lead(&s, "di", "Di Erased", Some("di@example.com"), "DE");
    // A duplicate of Di under the same address: suppressed once Di is erased.
    add_lead(&s, "ed", "Ed Duplicate", Some("di@example.com"), "DE");
    add_lead(&s, "fy", "Fy Bounced", Some("fy@example.com"), "DE");
    add_lead(&s, "gus", "Gus Unsubscribed", Some("gus@example.com"), "DE");
    add_lead(&s, "hal", "Hal Noemail", None, "DE");
    add_lead(
        &s,
        "ida",
        "Ida Maria Lefevre",
        Some("=ida@example.fr"),
        "FR",
    );
    s.run(&["optout", "bo", "--channel", "email"]).ok();
    s.run(&["optout", "cy", "--channel", "all"]).ok();
    s.run(&["erase", "di", "--yes"]).ok();
    s
}

const FEEDBACK: &[&str] = &[
    "Email Address,Event,Bounce Type,Timestamp,Reason",
    "gus@example.com,unsubscribe,,2026-03-01 12:00:00,too many emails",
    "fy@example.com,bounce,Permanent,2026-03-01 12:05:00,550 5.1.1 user unknown",
    "ann@example.com,bounce,Transient,2026-03-01 12:06:00,mailbox full",
    "stranger@example.com,complaint,,2026-03-01 12:07:00,",
];

fn state(s: &Sandbox) -> (i64, i64, i64, i64) {
    (
        s.count("SELECT count(*) FROM consent_event"),
        s.count("SELECT count(*) FROM audit"),
        s.count("SELECT count(*) FROM outbox"),
        s.count("SELECT count(*) FROM lead WHERE email_invalid = 1"),
    )
}

#[test]
fn feedback_import_is_idempotent_reports_unknowns_and_rejects_malformed_files() {
    let s = population();
    let file = s.write("mailchimp-events.csv", csv(FEEDBACK));
    let path = file.to_str().unwrap();
    let report = s.json(&["feedback", "import", path, "--source", "mailchimp"]);
    assert_eq!(report["opted_out"], 1);
    assert_eq!(report["invalidated"], 1);
    assert_eq!(report["soft_bounces"], 1);
    assert_eq!(
        report["unknown"],
        serde_json::json!([{ "line": 5, "email": "stranger@example.com" }])
    );
    let gus = s.json(&["dsar", "gus"]);
    assert_eq!(
        gus["consent"]["active_opt_outs"][0]["source"],
        "mailchimp unsubscribe"
    );
    s.run(&["can-contact", "gus", "--channel", "email"])
        .expect(3);
    s.run(&["can-contact", "fy", "--channel", "email"])
        .expect(3)
        .stderr_mentions(&["no valid email"]);
    s.run(&["can-contact", "ann", "--channel", "email"]).ok();

    let before = state(&s);
    let again = s.json(&["feedback", "import", path, "--source", "mailchimp"]);
    assert_eq!(again["already_imported"], true);
    assert_eq!(state(&s), before, "a second import changes nothing");

    let bad = s.write(
        "broken.csv",
        csv(&[
            "Recipient,Type",
            "ann@example.com,unsubscribe",
            "not an address,unsubscribe",
            "bo@example.com,unsubscribe,surplus",
            "cy@example.com,sneezed",
        ]),
    );
    s.run(&["feedback", "import", bad.to_str().unwrap()])
        .expect(2)
        .stderr_mentions(&["line 3", "line 4", "line 5", "sneezed"]);
    assert_eq!(state(&s), before, "a rejected file changes nothing");
    let plain = s.write("unsubscribed.csv", csv(&["email", "ann@example.com"]));
    s.run(&["feedback", "import", plain.to_str().unwrap()])
        .expect(2)
        .stderr_mentions(&["--event"]);
}

#[test]
fn an_audience_export_holds_only_people_who_may_be_mailed_and_is_recorded() {
    let s = population();
    let file = s.write("feedback.csv", csv(FEEDBACK));
    s.run(&["feedback", "import", file.to_str().unwrap()]).ok();

    let preview = s.json(&["audience", "preview"]);
    assert_eq!(preview["allowed"], 2, "{preview}");
    assert_eq!(preview["blocked"]["opted_out"], 3); // bo, cy, gus
    assert_eq!(preview["blocked"]["suppressed"], 1); // ed
    assert_eq!(preview["blocked"]["no_address"], 1); // fy

    let out = s.path("audience.csv");
    s.run(&["audience", "export", "--out", out.to_str().unwrap()])
        .ok();
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines,
        vec![
            "Email Address,First Name,Last Name,Company,Country",
            "ann@example.com,Ann,Example,Acme,DE",
            "'=ida@example.fr,Ida Maria,Lefevre,Acme,FR",
        ]
    );
    for excluded in ["bo@", "cy@", "di@", "fy@", "gus@"] {
        assert!(!text.contains(excluded), "{excluded} in {text}");
    }

    let fr = s.path("fr.csv");
    let export = s.json(&[
        "audience",
        "export",
        "--segment",
        "country=FR,kind=license_key",
        "--out",
        fr.to_str().unwrap(),
    ]);
    assert_eq!(export["count"], 1);
    assert_eq!(export["segment"], "country=FR,kind=license_key");
    let none = s.json(&["audience", "preview", "--segment", "country=FR,kind=trial"]);
    assert_eq!(none["allowed"], 0);

    let history = s.json(&["audience", "history"]);
    assert_eq!(history.as_array().unwrap().len(), 2);
    assert_eq!(history[1]["exported_by"], "rep.anna");
    assert_eq!(history[1]["count"], 2);
    assert_eq!(
        s.count("SELECT count(*) FROM audience_member WHERE lead_id = 'ann'"),
        1
    );
    s.run(&["audience", "preview", "--segment", "colour=red"])
        .expect(2)
        .stderr_mentions(&["unknown segment key"]);
}
