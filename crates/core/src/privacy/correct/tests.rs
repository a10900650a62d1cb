use super::*;
use crate::fixtures::{lead, memory_store, person, register, EMAIL, IP, NAME, PHONE};
use crate::intake::IntakeOutcome;
use chrono::Duration;

const NEW_EMAIL: &str = "z.quarksmith@newmail.example";

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(f, v)| (f.to_string(), v.to_string()))
        .collect()
}

fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// Everything a correction could touch, to compare before and after a refused one.
fn snapshot(conn: &Connection) -> (String, i64, i64, i64) {
    let lead: String = conn
        .query_row(
            "SELECT json_array(name, company, email, phone, address, country, time_zone,
                                   corrected, clock_identity, clock_email, clock_phone)
                 FROM lead ORDER BY created_at LIMIT 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    (
        lead,
        count(conn, "SELECT count(*) FROM audit"),
        count(conn, "SELECT count(*) FROM subscriber_request"),
        count(conn, "SELECT count(*) FROM outbox"),
    )
}

#[test]
fn a_correction_is_normalised_audited_locked_and_on_file() {
    let (mut store, clock) = memory_store();
    let id = person(&mut store);
    clock.advance(Duration::days(1));
    let at = store.now();
    let done = store
        .with_tx(|tx| {
            correct(
                tx,
                EMAIL,
                &pairs(&[
                    ("Name", " Zoltan Q. Quarksmith "),
                    ("email", " Z.Quarksmith@NewMail.Example "),
                    ("phone", "030 90182045"),
                    ("company", ""),
                ]),
                "rep1",
                at,
            )
        })
        .unwrap();
    let lead = leads::get(store.conn(), &id).unwrap();
    assert_eq!(lead.name.as_deref(), Some("Zoltan Q. Quarksmith"));
    assert_eq!(lead.email.as_deref(), Some(NEW_EMAIL));
    assert_eq!(
        lead.phone.as_deref(),
        Some("+493090182045"),
        "read in the lead's country"
    );
    assert_eq!(lead.company, None, "an empty value removes the field");
    assert_eq!(done.changed.len(), 4);
    assert_eq!(done.locked, ["name", "email", "phone", "company"]);
    assert_eq!(corrected_fields(store.conn(), &id).unwrap(), done.locked);

    let conn = store.conn();
    let old_email: String = conn
        .query_row(
            "SELECT old_value FROM audit WHERE action = 'correct' AND field = 'email'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(old_email, EMAIL);
    let request = requests::get(conn, &done.request_id).unwrap();
    assert_eq!(request.kind, RequestKind::Correct);
    assert_eq!(request.status, switchboard_protocol::RequestStatus::Done);
    assert_eq!(
        request.detail.as_deref(),
        Some("name, email, phone, company")
    );
    assert_eq!(
        count(
            conn,
            "SELECT count(*) FROM lead_search WHERE lead_search MATCH 'newmail'"
        ),
        1,
        "search finds the corrected address"
    );
}

#[test]
fn dedup_follows_the_corrected_email_and_registrations_never_undo_a_correction() {
    let (mut store, clock) = memory_store();
    let id = person(&mut store);
    clock.advance(Duration::days(1));
    let at = store.now();
    store
        .with_tx(|tx| {
            correct(
                tx,
                &id,
                &pairs(&[
                    ("email", NEW_EMAIL),
                    ("name", "Zed Quarksmith"),
                    ("phone", ""),
                ]),
                "rep1",
                at,
            )
        })
        .unwrap();
    clock.advance(Duration::hours(1));
    let later = store.now();
    let (by_new, by_old) = store
        .with_tx(|tx| {
            // A registration under the new address, still giving the old name and phone.
            let input = crate::intake::RegistrationInput {
                submission_id: Some("sub-new".into()),
                kind: Some("trial".into()),
                details: switchboard_protocol::RegistrationDetails {
                    name: Some(NAME.into()),
                    email: Some(NEW_EMAIL.to_uppercase()),
                    phone: Some(PHONE.into()),
                    country: Some("DE".into()),
                    ip: Some(IP.into()),
                    ..Default::default()
                },
                ..Default::default()
            };
            let ctx = crate::intake::IntakeContext::new(tx, None, later, "intake")?;
            let by_new = crate::intake::record(tx, &input, &ctx)?;
            // The old address is no longer this person's dedup key.
            let by_old = register(tx, "sub-old", "newsletter", "", IP, later);
            Ok((by_new, by_old))
        })
        .unwrap();
    assert_eq!(by_new, IntakeOutcome::Merged(id.clone()));
    let IntakeOutcome::Created(other) = by_old else {
        panic!("the old address makes a new lead, got {by_old:?}");
    };
    assert_ne!(other, id);
    let lead = leads::get(store.conn(), &id).unwrap();
    assert_eq!(lead.name.as_deref(), Some("Zed Quarksmith"));
    assert_eq!(
        lead.phone, None,
        "a phone the person removed is not refilled"
    );
    assert_eq!(lead.email.as_deref(), Some(NEW_EMAIL));
}

#[test]
fn a_corrected_email_is_no_longer_marked_as_bounced() {
    let (mut store, _clock) = memory_store();
    let id = person(&mut store);
    let at = store.now();
    store
        .with_tx(|tx| leads::set_email_invalid(tx, &id, true, "feedback", "bounce", at))
        .unwrap();
    assert!(leads::get(store.conn(), &id).unwrap().email_invalid);
    store
        .with_tx(|tx| correct(tx, &id, &pairs(&[("company", "Quark Labs")]), "rep1", at))
        .unwrap();
    assert!(
        leads::get(store.conn(), &id).unwrap().email_invalid,
        "another field's correction leaves the bounce in place"
    );
    store
        .with_tx(|tx| correct(tx, &id, &pairs(&[("email", NEW_EMAIL)]), "rep1", at))
        .unwrap();
    assert!(!leads::get(store.conn(), &id).unwrap().email_invalid);
}

#[test]
fn one_invalid_value_writes_nothing() {
    let (mut store, _clock) = memory_store();
    let id = person(&mut store);
    let at = store.now();
    let before = snapshot(store.conn());
    // (changes, expected error code, a word the message must contain)
    type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
    let cases: &[Case] = &[
        (
            &[("name", "Zed"), ("email", "not-an-address")],
            "bad_input",
            "email",
        ),
        (&[("name", "Zed"), ("phone", "12")], "bad_input", "phone"),
        (
            &[("company", "X"), ("country", "Atlantis")],
            "bad_input",
            "Atlantis",
        ),
        (
            &[("name", "Zed"), ("time_zone", "Mars/Olympus")],
            "bad_input",
            "time_zone",
        ),
        (
            &[("name", "Zed"), ("shoe_size", "44")],
            "bad_input",
            "shoe_size",
        ),
        (
            &[("name", "Zed"), ("status", "closed")],
            "bad_input",
            "correctable",
        ),
        (&[("name", "Zed"), ("name", "Zed")], "bad_input", "twice"),
        (&[("name", "Zed\u{0}")], "bad_input", "control"),
        (&[], "bad_input", "FIELD=VALUE"),
    ];
    for (changes, code, mentions) in cases {
        let err = store
            .with_tx(|tx| correct(tx, &id, &pairs(changes), "rep1", at))
            .unwrap_err();
        assert_eq!(err.code(), *code, "{changes:?}: {err}");
        assert!(err.to_string().contains(mentions), "{changes:?}: {err}");
        assert_eq!(
            snapshot(store.conn()),
            before,
            "{changes:?} wrote something"
        );
    }
    let long = "x".repeat(limits::Field::Address.max_bytes() + 1);
    let err = store
        .with_tx(|tx| correct(tx, &id, &pairs(&[("address", &long)]), "rep1", at))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("address: the value is 1025 bytes long; the limit is 1024 bytes"),
        "{err}"
    );
    assert_eq!(snapshot(store.conn()), before);
}

#[test]
fn a_corrected_country_brings_its_zone_and_reads_the_phone() {
    let (mut store, _clock) = memory_store();
    let id = person(&mut store);
    let at = store.now();
    store
        .with_tx(|tx| {
            correct(
                tx,
                &id,
                &pairs(&[("country", "France"), ("phone", "01 42 68 53 00")]),
                "rep1",
                at,
            )
        })
        .unwrap();
    let lead = leads::get(store.conn(), &id).unwrap();
    assert_eq!(lead.country.as_deref(), Some("FR"));
    assert_eq!(lead.time_zone.as_deref(), Some("Europe/Paris"));
    assert_eq!(lead.phone.as_deref(), Some("+33142685300"));
    store
        .with_tx(|tx| correct(tx, &id, &pairs(&[("country", "US")]), "rep1", at))
        .unwrap();
    let lead = leads::get(store.conn(), &id).unwrap();
    assert_eq!(
        lead.time_zone, None,
        "several zones: unknown until the person says"
    );
    store
        .with_tx(|tx| {
            correct(
                tx,
                &id,
                &pairs(&[("time_zone", "America/Chicago")]),
                "rep1",
                at,
            )
        })
        .unwrap();
    let lead = leads::get(store.conn(), &id).unwrap();
    assert_eq!(lead.time_zone.as_deref(), Some("America/Chicago"));
}

#[test]
fn an_address_another_lead_holds_or_an_erased_person_is_refused() {
    let (mut store, _clock) = memory_store();
    let id = person(&mut store);
    lead(&mut store, "Beatrix Other", "beatrix@other.example", None);
    let at = store.now();
    let err = store
        .with_tx(|tx| {
            correct(
                tx,
                &id,
                &pairs(&[("email", "Beatrix@Other.example")]),
                "rep1",
                at,
            )
        })
        .unwrap_err();
    assert_eq!(err.code(), "conflict", "{err}");
    crate::privacy::erase::erase(&mut store, &id, "mgr").unwrap();
    let err = store
        .with_tx(|tx| correct(tx, &id, &pairs(&[("name", "Zed")]), "rep1", at))
        .unwrap_err();
    assert_eq!(err.code(), "suppressed", "{err}");
}

#[test]
fn a_person_may_correct_exactly_their_own_fields() {
    use LeadField::*;
    assert_eq!(
        CORRECTABLE,
        &[Name, Company, Email, Phone, Address, Country, TimeZone]
    );
}
