//! Issue 12's manager review and enrolment from an import, through the real binary on a real
//! database file: `import --cadence` enrols every imported lead once (also those an intake rule
//! enrolled), a call and a reply are logged, and `cadence report` counts them per cadence and
//! step with the time from registration to first touch.

use crate::support;

use serde_json::Value;
use support::Sandbox;

const LEADS: &str = "name,email,phone,country,kind,submitted_at\n\
    Ada Lovelace,ada@example.com,+44 20 7946 0001,GB,demo,2026-03-01T10:00:00Z\n\
    Bob Builder,bob@example.com,+49 30 1234567,DE,demo,2026-03-01T11:00:00Z\n\
    Cy Third,cy@example.com,+49 30 7654321,DE,license_key,2026-03-01T12:00:00Z\n";

fn line<'a>(report: &'a Value, cadence: &str, step: Option<&str>) -> &'a Value {
    report
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["cadence"] == cadence && l["step"].as_str() == step)
        .unwrap_or_else(|| panic!("no line {cadence} {step:?} in {report}"))
}

#[test]
fn an_import_enrols_its_leads_and_the_report_counts_what_followed() {
    let s = Sandbox::init();
    s.run(&[
        "cadence",
        "add",
        "Trial",
        "--step",
        "call=Introduce the trial|connected,no_answer",
        "--step",
        "wait=2",
        "--step",
        "email=recap",
    ])
    .ok();
    s.run(&[
        "cadence",
        "add",
        "Demos",
        "--step",
        "email=demo-recap",
        "--rule-kind",
        "demo",
    ])
    .ok();
    let file = s.write("leads.csv", LEADS);

    // An unknown cadence is refused before anything is imported.
    s.run(&["import", file.to_str().unwrap(), "--cadence", "Nope"])
        .expect(4)
        .stderr_mentions(&["Nope"]);
    assert_eq!(s.count("SELECT count(*) FROM lead"), 0);

    let imported = s.json(&["import", file.to_str().unwrap(), "--cadence", "trial"]);
    assert_eq!(imported["created"], 3);
    assert_eq!(
        imported["enrolment"],
        serde_json::json!({"cadence": "Trial", "enrolled": 3, "already": 0, "skipped": 0})
    );
    // Into the rule's cadence too: the two demo registrations were enrolled there at intake,
    // and importing into it counts them as already in it.
    let again = s.write("again.csv", LEADS.replace("2026-03-01", "2026-02-27"));
    let merged = s.json(&["import", again.to_str().unwrap(), "--cadence", "Demos"]);
    assert_eq!(merged["merged"], 3, "{merged}");
    assert_eq!(merged["enrolment"]["enrolled"], 1);
    assert_eq!(merged["enrolment"]["already"], 2);
    assert_eq!(
        s.count(
            "SELECT count(*) FROM (SELECT 1 FROM cadence_enrollment
             GROUP BY lead_id, cadence_id HAVING count(*) > 1)"
        ),
        0,
        "nobody is enrolled twice in one cadence"
    );
    assert_eq!(s.count("SELECT count(*) FROM cadence_enrollment"), 6);

    // Ada's call runs the first step; Bob replies before any step ran.
    s.run(&[
        "log",
        "ada@example.com",
        "--channel",
        "phone",
        "--outcome",
        "no_answer",
    ])
    .ok();
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

    let report = s.json(&["cadence", "report", "--cadence", "Trial"]);
    let trial = line(&report, "Trial", None);
    assert_eq!(trial["figures"]["enrolled"], 3);
    assert_eq!(trial["figures"]["active"], 2);
    assert_eq!(trial["figures"]["replied"], 1);
    // Ada registered on Sunday at 10:00 and was called on Monday at 09:00: 23 hours.
    assert_eq!(trial["first_touch"]["touched"], 1);
    assert_eq!(trial["first_touch"]["median_seconds"], 23 * 3600);
    assert_eq!(trial["first_touch_median"], "23 h");
    let call = line(&report, "Trial", Some("Step 1: Call: Introduce the trial"));
    assert_eq!(call["figures"]["completed"], 1);
    assert_eq!(call["figures"]["active"], 1, "Cy still waits for the call");
    assert_eq!(
        line(
            &report,
            "Trial",
            Some("Step 3: Email with template “recap”")
        )["figures"]["active"],
        1
    );

    let text = s.run(&["cadence", "report"]);
    text.ok();
    for words in [
        "Trial",
        "Demos",
        "All steps",
        "Step 1: Call: Introduce the trial",
        "23 h",
    ] {
        assert!(text.stdout.contains(words), "{words}:\n{}", text.stdout);
    }
    let elsewhere = s.run(&["cadence", "report", "--office", "PAR"]);
    elsewhere.ok();
    assert!(elsewhere.stdout.contains("No lead was enrolled"));
    s.run(&[
        "cadence",
        "report",
        "--since",
        "2026-03-03",
        "--until",
        "2026-03-01",
    ])
    .expect(2)
    .stderr_mentions(&["period"]);
}
