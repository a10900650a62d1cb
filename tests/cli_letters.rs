//! Postal letters through the real binary: a template with an unknown merge field is refused
//! when saved, only leads with a postal address join the batch, printing gives one text letter
//! per page with control characters from registration data removed, and `sent` logs mail
//! follow-ups while skipping who opted out since being batched.

use crate::support;

use support::Sandbox;

fn with_leads() -> Sandbox {
    let s = Sandbox::init();
    let csv = s.write(
        "leads.csv",
        "name,company,email,address,country,submitted_at\n\
         Ada Lovelace,Analytical Engines Ltd,ada@example.com,\"12 St James's Square, London\",GB,2026-03-01T10:00:00Z\n\
         \"Alan \u{1b}[31mTuring\",Bletchley Ltd,alan@example.com,\"Bletchley Park, Milton Keynes\",GB,2026-03-01T11:00:00Z\n\
         Grace Hopper,Compiler Works,grace@example.com,,US,2026-03-01T12:00:00Z\n",
    );
    s.run(&["import", csv.to_str().unwrap()]).ok();
    s
}

#[test]
fn a_batch_is_printed_as_text_and_logged_as_sent() {
    let s = with_leads();
    let bad = s.write("bad.txt", "Dear {{salutation}},\n");
    s.run(&[
        "letters",
        "template",
        "Welcome",
        "--file",
        bad.to_str().unwrap(),
    ])
    .expect(2)
    .stderr_mentions(&["unknown merge field", "salutation"]);
    let good = s.write(
        "welcome.txt",
        "{{name}}\n{{address}}\n\nDear {{first_name}},\nthank you.\n{{rep}}\n",
    );
    s.run(&[
        "letters",
        "template",
        "Welcome",
        "--file",
        good.to_str().unwrap(),
    ])
    .ok();

    s.run(&["letters", "add", "grace@example.com"])
        .expect(3)
        .stderr_mentions(&["no postal address"]);
    s.run(&["letters", "add", "ada@example.com"]).ok();
    s.run(&["letters", "add", "alan@example.com"]).ok();
    let batch = s.json(&["letters", "batch"]);
    assert_eq!(batch.as_array().unwrap().len(), 2);

    let printed = s.run(&["letters", "print", "--template", "welcome"]);
    printed.ok();
    let pages: Vec<&str> = printed.stdout.split('\u{c}').collect();
    assert_eq!(pages.len(), 2, "{}", printed.stdout);
    assert!(pages[0].starts_with("Ada Lovelace\n12 St James's Square, London\n\nDear Ada,"));
    assert!(pages[0].contains("rep.anna"));
    assert!(
        !printed.stdout.contains('\u{1b}'),
        "escape sequences are removed"
    );
    assert!(pages[1].contains("Alan  [31mTuring"), "{}", pages[1]);

    s.run(&["optout", "alan@example.com", "--channel", "mail"])
        .ok();
    let done = s.json(&["letters", "sent", "--template", "Welcome"]);
    assert_eq!(done["sent"].as_array().unwrap().len(), 1);
    assert_eq!(done["skipped"].as_array().unwrap().len(), 1);
    assert!(done["skipped"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("opted out of mail"));
    assert_eq!(s.json(&["letters", "batch"]), serde_json::json!([]));

    let logged: (String, String, String) = s
        .sql()
        .query_row(
            "SELECT f.channel, f.outcome, f.note FROM follow_up f JOIN lead l ON l.id = f.lead_id
             WHERE l.email = 'ada@example.com'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(
        logged,
        ("mail".into(), "sent".into(), "Letter: Welcome".into())
    );
}
