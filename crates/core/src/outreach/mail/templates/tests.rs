use super::*;
use crate::intake::{self, IntakeContext, IntakeOutcome, RegistrationInput};
use crate::{FixedClock, Store};
use chrono::TimeZone;
use std::sync::Arc;

fn noon() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 11, 0, 0).unwrap()
}

fn store_with_lead() -> (Store, String) {
    let mut s = Store::open_in_memory(Arc::new(FixedClock::at(noon()))).unwrap();
    let id = s
        .with_tx(|tx| {
            let ctx = IntakeContext::new(tx, None, noon(), "intake")?;
            let input = RegistrationInput {
                details: switchboard_protocol::RegistrationDetails {
                    name: Some("Ada King Lovelace".into()),
                    company: Some("Analytical Engines".into()),
                    email: Some("ada@example.com".into()),
                    country: Some("GB".into()),
                    ..Default::default()
                },
                product: Some("Difference Engine".into()),
                ..RegistrationInput::default()
            };
            match intake::record(tx, &input, &ctx)? {
                IntakeOutcome::Created(id) => Ok(id),
                other => panic!("{other:?}"),
            }
        })
        .unwrap();
    (s, id)
}

#[test]
fn an_unknown_field_is_refused_with_the_known_ones() {
    let (s, _) = store_with_lead();
    let err = save(
        s.conn(),
        "Hello",
        "Hi {{first_name}}",
        "Dear {{salutation}}",
        "rita",
        noon(),
    )
    .unwrap_err();
    assert_eq!(err.code(), "bad_input");
    let text = err.to_string();
    assert!(
        text.contains("unknown merge field {{salutation}} in the body"),
        "{text}"
    );
    for (field, _) in MERGE_FIELDS {
        assert!(text.contains(field), "{field} missing from: {text}");
    }
    let err = save(s.conn(), "Hello", "Hi {{first_name", "Body", "rita", noon()).unwrap_err();
    assert!(err.to_string().contains("subject is not closed"), "{err}");
    let err = save(s.conn(), "Hello", "Two\nlines", "Body", "rita", noon()).unwrap_err();
    assert!(err.to_string().contains("one line"), "{err}");
    assert!(list(s.conn()).unwrap().is_empty());
}

#[test]
fn the_preview_fills_every_field_from_the_lead_and_its_registration() {
    let (s, lead) = store_with_lead();
    let t = save(
        s.conn(),
        "Welcome",
        "{{product}} for {{company}}",
        "Dear {{first_name}} ({{last_name}}, {{name}}, {{country}}, {{email}}),\n{{rep}}\n{{signature}}",
        "rita",
        noon(),
    )
    .unwrap();
    let again = save(s.conn(), "WELCOME", &t.subject, &t.body, "max", noon()).unwrap();
    assert_eq!(again.id, t.id, "saving under the same name replaces");
    assert_eq!(list(s.conn()).unwrap().len(), 1);
    let mail = preview(
        s.conn(),
        "welcome",
        "ada@example.com",
        "Rita",
        "-- \nRita, Sales\n",
    )
    .unwrap();
    assert_eq!(mail.lead_id, lead);
    assert_eq!(mail.to.as_deref(), Some("ada@example.com"));
    assert_eq!(mail.subject, "Difference Engine for Analytical Engines");
    assert_eq!(
        mail.body,
        "Dear Ada (King Lovelace, Ada King Lovelace, GB, ada@example.com),\nRita\n-- \nRita, Sales"
    );
    assert_eq!(find(s.conn(), "nope").unwrap_err().code(), "not_found");
}

#[test]
fn a_value_with_a_line_break_cannot_break_the_subject() {
    let (s, lead) = store_with_lead();
    let lead = leads::get(s.conn(), &lead).unwrap();
    let data = MergeData {
        company: "Evil\r\nBcc: victim@example.com".into(),
        ..MergeData::default()
    };
    let mail = render("Hi {{company}}", "x", &lead, &data).unwrap();
    assert_eq!(mail.subject, "Hi Evil Bcc: victim@example.com");
}

#[test]
fn an_edited_text_previews_with_the_leads_data_and_an_unknown_field_lists_the_known_ones() {
    let (s, lead) = store_with_lead();
    let mail = preview_text(
        s.conn(),
        "About {{product}}",
        "Hello {{first_name}} at {{company}}",
        &lead,
        "Rita",
        "",
    )
    .unwrap();
    assert_eq!(mail.subject, "About Difference Engine");
    assert_eq!(mail.body, "Hello Ada at Analytical Engines");
    let err = preview_text(s.conn(), "Hi", "Dear {{salutation}}", &lead, "Rita", "").unwrap_err();
    assert_eq!(err.code(), "bad_input");
    let text = err.to_string();
    assert!(
        text.contains("unknown merge field {{salutation}}"),
        "{text}"
    );
    for (field, _) in MERGE_FIELDS {
        assert!(text.contains(field), "{field} missing from: {text}");
    }
}
