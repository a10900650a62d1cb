//! Cadences through the real binary on a real database file: a cadence is defined and
//! versioned, leads are enrolled by name and from the file they were imported from, due steps
//! are in the `due` queue with the gate's answer, a logged call advances the lead to the next
//! step two business days later, a reply, an opt-out of the step's channel and a manual stop end
//! it, and a registration matching an intake rule is enrolled by itself.

use crate::support;

use serde_json::Value;
use support::Sandbox;

const LEADS: &str = "name,email,phone,country,kind,submitted_at\n\
    Ada Lovelace,ada@example.com,+44 20 7946 0001,GB,demo,2026-03-01T10:00:00Z\n\
    Bob Builder,bob@example.com,+49 30 1234567,DE,demo,2026-03-01T11:00:00Z\n\
    \"Cy, the Third\",cy@example.com,+49 30 7654321,DE,license_key,2026-03-01T12:00:00Z\n";

fn enrolment<'a>(shown: &'a Value, email: &str, s: &Sandbox) -> &'a Value {
    let id: String = s
        .sql()
        .query_row("SELECT id FROM lead WHERE email = ?1", [email], |r| {
            r.get(0)
        })
        .unwrap();
    shown["enrollments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["lead_id"] == id.as_str())
        .unwrap_or_else(|| panic!("{email} is not enrolled: {shown}"))
}

#[test]
fn a_cadence_is_defined_enrolled_advanced_and_stopped() {
    let s = Sandbox::init();
    let file = s.write("leads.csv", LEADS);
    s.run(&["import", file.to_str().unwrap()]).ok();

    let saved = s.json(&[
        "cadence",
        "add",
        "Trial",
        "--step",
        "call=Introduce the trial|connected,no_answer",
        "--step",
        "wait=2",
        "--step",
        "email=recap",
    ]);
    assert_eq!(saved["version"], 1);
    assert_eq!(saved["steps"][0]["kind"], "call");
    assert_eq!(saved["steps"][1]["business_days"], 2);
    s.run(&["cadence", "add", "Bad", "--step", "fax=1"])
        .expect(2)
        .stderr_mentions(&["fax=1", "email=TEMPLATE"]);

    // From the file the leads were imported from (its email column), then once more by name.
    let done = s.json(&[
        "cadence",
        "enroll",
        "Trial",
        "--file",
        file.to_str().unwrap(),
    ]);
    assert_eq!(
        (done["enrolled"].as_u64(), done["already"].as_u64()),
        (Some(3), Some(0))
    );
    let again = s.json(&[
        "cadence",
        "enroll",
        "trial",
        "ada@example.com",
        "nobody@example.com",
    ]);
    assert_eq!(again["already"], 1);
    assert_eq!(again["skipped"][0]["lead"], "nobody@example.com");

    // Monday 09:00 UTC: every first step (a call) is due, and the gate allows each now.
    let due = s.json(&["cadence", "due"]);
    assert_eq!(due.as_array().unwrap().len(), 3, "{due}");
    assert!(due
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["gate"]["allowed"] == true));
    assert_eq!(due[0]["then"], "wait 2 business day(s)");
    let next = s.json(&["queue", "next", "--queue", "due"]);
    assert!(next["lead"]["email"]
        .as_str()
        .unwrap()
        .ends_with("@example.com"));

    // The call is logged: the email follows two business days later at the same local time.
    s.run(&[
        "log",
        "ada@example.com",
        "--channel",
        "phone",
        "--outcome",
        "no_answer",
    ])
    .ok();
    let shown = s.json(&["cadence", "show", "Trial"]);
    let ada = enrolment(&shown, "ada@example.com", &s);
    assert_eq!(ada["step"], 2);
    assert_eq!(ada["channel"], "email");
    assert_eq!(ada["due_at"], "2026-03-04T09:00:00Z");

    // A reply stops Bob's; an opt-out of phone stops Cy's (its next step is a call); Ada's is
    // stopped by hand.
    s.run(&[
        "log",
        "bob@example.com",
        "--channel",
        "email",
        "--outcome",
        "replied",
        "--inbound",
    ])
    .ok();
    s.run(&["optout", "cy@example.com", "--channel", "phone"])
        .ok();
    let stopped = s.json(&["cadence", "stop", "ada@example.com"]);
    assert_eq!(stopped["stopped"], 1);
    let shown = s.json(&["cadence", "show", "Trial"]);
    assert_eq!(
        enrolment(&shown, "bob@example.com", &s)["stop_reason"],
        "replied"
    );
    assert_eq!(
        enrolment(&shown, "cy@example.com", &s)["stop_reason"],
        "opted_out_phone"
    );
    assert_eq!(
        enrolment(&shown, "ada@example.com", &s)["stop_reason"],
        "manual: rep.anna"
    );
    assert_eq!(shown["counts"]["stopped"], 3);
    assert_eq!(s.json(&["cadence", "due"]), serde_json::json!([]));

    // Editing adds version 2; the enrolments keep version 1.
    let v2 = s.json(&["cadence", "add", "Trial", "--step", "email=welcome"]);
    assert_eq!(v2["version"], 2);
    assert_eq!(s.json(&["cadence", "list"])[0]["version"], 2);
    let shown = s.json(&["cadence", "show", "Trial"]);
    assert!(shown["enrollments"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["version"] == 1));
    s.run(&["cadence", "show", "Nope"])
        .stderr_mentions(&["no cadence named 'Nope'"]);
}

#[test]
fn a_registration_matching_a_rule_is_enrolled_at_intake() {
    let s = Sandbox::init();
    let rule = s.json(&[
        "cadence",
        "add",
        "Demos",
        "--step",
        "email=demo-recap",
        "--step",
        "wait=1",
        "--step",
        "call=How was the demo?",
        "--rule-kind",
        "demo",
        "--rule-country",
        "de",
    ]);
    assert_eq!(rule["version"], 1);
    let file = s.write("leads.csv", LEADS);
    s.run(&["import", file.to_str().unwrap()]).ok();
    let due = s.json(&["cadence", "due"]);
    let tasks = due.as_array().unwrap();
    assert_eq!(tasks.len(), 1, "{due}");
    assert_eq!(tasks[0]["lead_name"], "Bob Builder");
    assert_eq!(tasks[0]["step"]["template"], "demo-recap");
    assert!(tasks[0]["enrollment"]["enrolled_by"]
        .as_str()
        .unwrap()
        .starts_with("rule:"));
}

#[test]
fn leads_a_search_finds_are_enrolled_and_an_empty_search_enrols_nobody() {
    let s = Sandbox::init();
    let file = s.write("leads.csv", LEADS);
    s.run(&["import", file.to_str().unwrap()]).ok();
    s.run(&["cadence", "add", "Trial", "--step", "email=recap"])
        .ok();

    // Bob and Cy have Berlin numbers; Ada has a London one.
    let done = s.json(&["cadence", "enroll", "Trial", "--search", "+49 30"]);
    assert_eq!(done["enrolled"], 2, "{done}");
    let shown = s.json(&["cadence", "show", "Trial"]);
    enrolment(&shown, "bob@example.com", &s);
    enrolment(&shown, "cy@example.com", &s);
    assert_eq!(shown["enrollments"].as_array().unwrap().len(), 2, "{shown}");

    s.run(&["cadence", "enroll", "Trial", "--search", "Nobody Anywhere"])
        .expect(2)
        .stderr_mentions(&["finds no lead", "nothing was enrolled"]);
    let shown = s.json(&["cadence", "show", "Trial"]);
    assert_eq!(shown["enrollments"].as_array().unwrap().len(), 2, "{shown}");
}
