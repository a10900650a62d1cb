//! Defects the fuzz targets found, each replayed as the sequence of requests that showed it.
//! (Single inputs live in fuzz/regressions/TARGET/ and are replayed by the smoke test.)

use serde_json::{json, Value};
use switchboard_fuzz::gen::op_templates;
use switchboard_fuzz::server::{post, Caller};
use switchboard_protocol::{IntakeResponse, IntakeStatus, PushResponse, PushStatus};

/// Found by the registration target (seed 14399277838110743180): a submission id that a
/// replica had already pushed (a laptop imported the form tool's export) made the website's
/// intake of the same submission answer 500, because only the intake's own table was checked
/// before inserting into the records, whose submission ids are unique.
#[test]
fn a_submission_pushed_by_a_replica_then_posted_by_the_website_is_a_duplicate_not_a_500() {
    let submission = "regression-pushed-then-posted";
    // The real operations of two imported rows and one sample of every kind, but for those
    // that would erase the lead (its registrations go with it).
    let templates: Vec<&Value> = op_templates()
        .iter()
        .filter(|op| op["type"] != "lead_erased" && op["type"] != "lead_revoked")
        .collect();
    let mut ops = Vec::new();
    for (seq, template) in templates.iter().enumerate() {
        let mut op = (*template).clone();
        if op["type"] == "registration_added" {
            op["submission_id"] = json!(format!("{submission}-{seq}"));
        }
        ops.push(json!({ "seq": seq as i64 + 1, "op": op }));
    }
    let body = json!({ "replica_id": "0190a1b2-0000-7000-8000-00000000abcd", "ops": ops });
    let pushed = post("/v1/push", Caller::Rep, body.to_string().as_bytes());
    assert_eq!(
        pushed.status,
        200,
        "{}",
        String::from_utf8_lossy(&pushed.body)
    );
    let response: PushResponse = serde_json::from_slice(&pushed.body).unwrap();
    let registrations: Vec<(usize, &&Value)> = templates
        .iter()
        .enumerate()
        .filter(|(_, op)| op["type"] == "registration_added")
        .collect();
    assert!(!registrations.is_empty());
    for (i, _) in &registrations {
        assert_eq!(
            response.results[*i].status,
            PushStatus::Applied,
            "{response:?}"
        );
    }

    let (seq, _) = registrations[0];
    let posted = json!({
        "submission_id": format!("{submission}-{seq}"),
        "kind": "demo",
        "submitted_at": "2026-03-01T10:00:00Z",
        "name": "Ann Example",
        "email": "ann@example.com",
        "country": "DE",
    });
    let answer = post(
        "/v1/registrations",
        Caller::Intake,
        posted.to_string().as_bytes(),
    );
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let intake: IntakeResponse = serde_json::from_slice(&answer.body).unwrap();
    assert_eq!(intake.status, IntakeStatus::Duplicate);
    assert!(intake.registration_id.is_some() && intake.lead_id.is_some());
}
