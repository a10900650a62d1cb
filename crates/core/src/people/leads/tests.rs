use super::*;
use crate::fixtures::{nine, store_at};

fn ann() -> NewLead {
    NewLead {
        name: Some("Ann Example".into()),
        company: Some("Acme".into()),
        email: Some("ann@example.com".into()),
        phone: Some("+4930123456".into()),
        country: Some("DE".into()),
        ..NewLead::default()
    }
}

#[test]
fn a_lead_is_found_by_id_and_by_email() {
    let mut s = store_at(nine());
    let now = s.now();
    let id = crate::fixtures::insert_lead(&mut s, &ann(), now);
    assert_eq!(
        get(s.conn(), &id).unwrap().name.as_deref(),
        Some("Ann Example")
    );
    assert_eq!(find(s.conn(), " ANN@example.com ").unwrap().id, id);
    assert_eq!(
        find(s.conn(), "nobody@example.com").unwrap_err().code(),
        "not_found"
    );
    assert_eq!(list_new(s.conn(), 10, 0).unwrap().len(), 1);
}

#[test]
fn changing_fields_audits_stamps_and_queues_each_group_once() {
    let mut s = store_at(nine());
    let now = s.now();
    let id = crate::fixtures::insert_lead(&mut s, &ann(), now);
    let before: String = s
        .conn()
        .query_row("SELECT clock_identity FROM lead", [], |r| r.get(0))
        .unwrap();
    let changed = s
        .with_tx(|tx| {
            set_fields(
                tx,
                &id,
                &[
                    (LeadField::Name, Some("Ann Sample".into())),
                    (LeadField::Company, Some("Acme".into())),
                    (LeadField::Email, Some("ann@sample.org".into())),
                ],
                "rep1",
                "correct",
                now,
            )
        })
        .unwrap();
    assert_eq!(changed.len(), 2, "the unchanged company is skipped");
    let after: String = s
        .conn()
        .query_row("SELECT clock_identity FROM lead", [], |r| r.get(0))
        .unwrap();
    assert!(after > before);
    let audits: i64 = s
        .conn()
        .query_row("SELECT count(*) FROM audit", [], |r| r.get(0))
        .unwrap();
    assert_eq!(audits, 2);
    let groups: Vec<String> = s
        .conn()
        .prepare("SELECT detail FROM outbox WHERE entity = 'lead_fields' ORDER BY seq")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(groups, vec!["*", "identity", "email"]);
    let hits: i64 = s
        .conn()
        .query_row(
            "SELECT count(*) FROM lead_search WHERE lead_search MATCH 'sample'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(hits, 1);
}

#[test]
fn unknown_field_names_list_the_known_ones() {
    let err = LeadField::parse("shoe_size").unwrap_err().to_string();
    assert!(err.contains("shoe_size") && err.contains("email"), "{err}");
}
