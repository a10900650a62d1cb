//! Partner shares through the real binary: only registered partners receive anything, only their
//! allowed fields leave, every share is in the disclosure ledger, and a correction or erasure of
//! a shared person produces the partner's notice — with no personal information left behind.

use crate::support;

use support::Sandbox;

/// Adds a lead row directly (the import command is not what these tests are about).
fn add_lead(s: &Sandbox, id: &str, name: &str, email: &str, phone: &str, address: &str) {
    let db = s.sql();
    db.execute(
        "INSERT INTO lead(id, name, company, email, phone, address, country, time_zone,
                          created_at, last_registered_at)
         VALUES (?1, ?2, 'Acme GmbH', ?3, ?4, ?5, 'DE',
                 'Europe/Berlin', '2026-03-01T10:00:00.000Z', '2026-03-01T10:00:00.000Z')",
        rusqlite::params![id, name, email, phone, address],
    )
    .unwrap();
    let rowid = db.last_insert_rowid();
    db.execute(
        "INSERT INTO lead_search(rowid, name, company, email, phone)
         VALUES (?1, ?2, 'Acme GmbH', ?3, ?4)",
        rusqlite::params![rowid, name, email, phone],
    )
    .unwrap();
    db.execute(
        "INSERT INTO registration(id, lead_id, kind, product, submitted_at, name, email,
                                  received_at)
         VALUES (?1, ?2, 'trial', 'Widget Pro', '2026-03-01T10:00:00.000Z', ?3, ?4,
                 '2026-03-01T10:00:00.000Z')",
        rusqlite::params![format!("reg-{id}"), id, name, email],
    )
    .unwrap();
}

fn with_partner(fields: &str) -> Sandbox {
    let s = Sandbox::init();
    add_lead(
        &s,
        "lead-ann",
        "Ann Example",
        "ann@example.com",
        "+4930123456",
        "Ackerstr. 7, 10115 Berlin",
    );
    add_lead(
        &s,
        "lead-bo",
        "Bo Sample",
        "bo@example.com",
        "+4930654321",
        "Bergstr. 9, 10115 Berlin",
    );
    s.run(&[
        "partner",
        "add",
        "Nordic Resale",
        "--kind",
        "reseller",
        "--country",
        "NO",
        "--basis",
        "none_needed",
        "--fields",
        fields,
    ])
    .ok();
    s
}

#[test]
fn an_unregistered_recipient_cannot_receive_anything() {
    let s = with_partner("name,email");
    let outbox = s.count("SELECT count(*) FROM outbox");
    let out = s.path("leak.csv");
    s.run(&[
        "share",
        "lead-ann",
        "--with",
        "broker@outside.example",
        "--out",
        out.to_str().unwrap(),
    ])
    .expect(4)
    .stderr_mentions(&["not a registered partner"]);
    assert!(!out.exists(), "no file was written");
    assert_eq!(s.count("SELECT count(*) FROM disclosure"), 0);
    assert_eq!(s.count("SELECT count(*) FROM outbox"), outbox);
    // Registering needs a lawful basis for the country.
    s.run(&[
        "partner",
        "add",
        "Far Away Ltd",
        "--kind",
        "distributor",
        "--country",
        "IN",
        "--basis",
        "none_needed",
        "--fields",
        "name",
    ])
    .expect(2)
    .stderr_mentions(&["outside the EEA"]);
    let partners = s.json(&["partner", "list"]);
    assert_eq!(partners.as_array().unwrap().len(), 1);
}

#[test]
fn a_share_holds_only_allowed_fields_and_is_recorded() {
    let s = with_partner("name,email,registration,consent");
    s.run(&["optout", "lead-bo", "--channel", "phone"]).ok();
    let out = s.path("nordic.csv");
    s.run(&[
        "share",
        "lead-ann",
        "bo@example.com",
        "--with",
        "nordic resale",
        "--out",
        out.to_str().unwrap(),
    ])
    .ok();
    let csv = std::fs::read_to_string(&out).unwrap();
    let mut lines = csv.lines();
    assert_eq!(
        lines.next().unwrap(),
        "reference,name,email,registration_kind,product,consent"
    );
    assert_eq!(
        lines.next().unwrap(),
        "lead-ann,Ann Example,ann@example.com,trial,Widget Pro,email=ok;phone=ok;mail=ok"
    );
    assert!(lines.next().unwrap().ends_with("phone=opted_out;mail=ok"));
    for absent in ["Acme", "+4930", "Ackerstr", "DE"] {
        assert!(!csv.contains(absent), "{absent} leaked into {csv}");
    }

    let report = s.json(&["disclosures", "--partner", "Nordic Resale"]);
    let rows = report["disclosures"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["lead_id"], "lead-ann");
    assert_eq!(rows[0]["country"], "NO");
    assert_eq!(rows[0]["basis"], "none_needed");
    assert_eq!(rows[0]["disclosed_by"], "rep.anna");
    assert_eq!(
        rows[0]["fields"],
        serde_json::json!(["name", "email", "registration", "consent"])
    );
    assert_eq!(report["totals"][0]["people"], 2);
    // Filters by country and period.
    let none = s.json(&["disclosures", "--country", "SE"]);
    assert!(none["disclosures"].as_array().unwrap().is_empty());
    let later = s.json(&["disclosures", "--since", "2026-03-03"]);
    assert!(later["disclosures"].as_array().unwrap().is_empty());
    assert_eq!(
        s.count("SELECT count(*) FROM outbox WHERE entity = 'disclosure'"),
        2
    );
    // The lead's access report lists its disclosures.
    let dsar = s.json(&["dsar", "lead-ann"]);
    assert_eq!(dsar["disclosures"].as_array().unwrap().len(), 1);
    // And the lead's timeline shows them.
    let shown = s.json(&["leads", "show", "lead-ann"]);
    assert_eq!(shown["disclosures"][0]["partner_name"], "Nordic Resale");
    let text = s.run(&["leads", "show", "lead-ann"]);
    assert!(
        text.ok().stdout.contains("Shared with partners (1)"),
        "{}",
        text.stdout
    );
}

#[test]
fn people_the_gate_refuses_are_reported_and_the_rest_shared() {
    let s = with_partner("name,email");
    s.run(&["optout", "lead-ann", "--channel", "all"]).ok();
    let run = s.run(&["share", "lead-ann", "lead-bo", "--with", "Nordic Resale"]);
    run.ok()
        .stderr_mentions(&["not shared: lead-ann", "opted_out"]);
    assert!(run.stdout.contains("bo@example.com"));
    assert!(!run.stdout.contains("ann@example.com"));
    // Only refused people: nothing shared, exit 3.
    s.run(&["share", "lead-ann", "--with", "Nordic Resale"])
        .expect(3)
        .stderr_mentions(&["opted out of all contact"]);
    assert_eq!(
        s.count("SELECT count(*) FROM disclosure WHERE lead_id = 'lead-ann'"),
        0
    );
}

#[test]
fn erasing_a_shared_person_produces_the_notice_and_leaves_no_pii_in_the_ledger() {
    let s = with_partner("name,email,phone");
    let out = s.path("share.json");
    s.run(&[
        "share",
        "lead-ann",
        "--with",
        "Nordic Resale",
        "--out",
        out.to_str().unwrap(),
    ])
    .ok();
    let shared: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(shared[0]["reference"], "lead-ann");
    assert_eq!(shared[0]["phone"], "+4930123456");

    // A correction first: the partner holds the email, so it is told the new one.
    s.run(&["correct", "lead-ann", "email=ann.new@example.com"])
        .ok();
    let open = s.json(&["notices", "list"]);
    assert_eq!(open[0]["kind"], "correction");
    assert_eq!(open[0]["fields"], serde_json::json!(["email"]));

    s.run(&["erase", "lead-ann", "--yes"]).ok();
    let open = s.json(&["notices", "list"]);
    let open = open.as_array().unwrap();
    assert_eq!(
        open.len(),
        1,
        "the erasure supersedes the correction: {open:?}"
    );
    assert_eq!(open[0]["kind"], "erasure");
    assert_eq!(open[0]["partner_ref"], "lead-ann");

    let dir = s.path("notices");
    s.run(&["notices", "write", dir.to_str().unwrap()]).ok();
    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(files.len(), 1);
    let text = std::fs::read_to_string(files[0].as_ref().unwrap().path()).unwrap();
    assert!(text.contains("\"reference\": \"lead-ann\""), "{text}");
    assert!(text.contains("\"action\": \"delete\""), "{text}");

    // The ledger still says what went where, and nothing about who.
    let ledger = s.json(&["disclosures"]);
    assert_eq!(ledger["disclosures"][0]["lead_id"], "lead-ann");
    for needle in [
        "Ann Example",
        "ann@example.com",
        "ann.new@example.com",
        "+4930123456",
        "Ackerstr",
    ] {
        assert!(!text.contains(needle), "{needle} in the notice file");
        assert!(
            s.files_containing(needle).is_empty(),
            "{needle} is still in {:?}",
            s.files_containing(needle)
        );
    }
    // Bo, not erased, is still there: the scan can find what is present.
    assert!(!s.files_containing("bo@example.com").is_empty());

    let id = open[0]["id"].as_str().unwrap();
    s.run(&["notices", "ack", id]).ok();
    assert!(s.json(&["notices", "list"]).as_array().unwrap().is_empty());
    s.run(&["notices", "ack", "no-such-notice"]).expect(4);
    // Nothing more goes to the erased person's partner.
    s.run(&["share", "lead-ann", "--with", "Nordic Resale"])
        .expect(3)
        .stderr_mentions(&["erased"]);
}
