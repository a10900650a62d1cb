use super::*;
use crate::{FixedClock, Store};
use chrono::TimeZone;
use std::sync::Arc;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}

fn store() -> Store {
    Store::open_in_memory(Arc::new(FixedClock::at(now()))).unwrap()
}

/// Two connections to one new database file, as the window and an import would hold; the
/// folder must outlive them.
fn two_stores_on_one_file() -> (tempfile::TempDir, Store, Store) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sb.db");
    let clock = Arc::new(FixedClock::at(now()));
    let first = Store::open_with_clock(&path, None, clock.clone()).unwrap();
    let second = Store::open_with_clock(&path, None, clock).unwrap();
    (dir, first, second)
}

fn ctx(s: &Store) -> IntakeContext {
    IntakeContext::new(s.conn(), None, s.now(), "import").unwrap()
}

/// Ann's second submission ("s-2"), sent at `at`.
fn ann_again(at: &str) -> RegistrationInput {
    RegistrationInput {
        submission_id: Some("s-2".into()),
        submitted_at: Some(at.into()),
        ..ann()
    }
}

fn ann() -> RegistrationInput {
    RegistrationInput {
        submission_id: Some("s-1".into()),
        kind: Some("License Key".into()),
        product: Some("Widget Pro".into()),
        submitted_at: Some("2026-03-02T08:00:00Z".into()),
        details: RegistrationDetails {
            name: Some("  Ann   Example ".into()),
            company: Some("Acme".into()),
            email: Some(" Ann@Example.COM".into()),
            phone: Some("030 1234567".into()),
            country: Some("Germany".into()),
            ip: Some("203.0.113.7".into()),
            user_agent: Some("Mozilla/5.0".into()),
            referrer: Some("https://search.example/".into()),
            pages_visited: vec!["/pricing".into(), "/download".into()],
            form_version: Some("v3".into()),
            ..Default::default()
        },
    }
}

fn rec(s: &mut Store, input: &RegistrationInput) -> Result<IntakeOutcome> {
    let c = ctx(s);
    s.with_tx(|tx| record(tx, input, &c))
}

/// Records `input`, which must create a lead; returns the new lead's id.
fn created(s: &mut Store, input: &RegistrationInput) -> String {
    match rec(s, input).unwrap() {
        IntakeOutcome::Created(id) => id,
        other => panic!("expected a new lead, got {other:?}"),
    }
}

fn count(s: &Store, table: &str) -> i64 {
    s.conn()
        .query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
        .unwrap()
}

#[test]
fn a_new_person_becomes_a_lead_with_normalised_fields_and_zone() {
    let mut s = store();
    let id = created(&mut s, &ann());
    let lead = leads::get(s.conn(), &id).unwrap();
    assert_eq!(lead.name.as_deref(), Some("Ann Example"));
    assert_eq!(lead.email.as_deref(), Some("ann@example.com"));
    assert_eq!(lead.phone.as_deref(), Some("+49301234567"));
    assert_eq!(lead.country.as_deref(), Some("DE"));
    // Germany has two zones in tzdb (Berlin, Busingen): no single zone.
    assert_eq!(lead.time_zone, None);
    assert_eq!(lead.last_registered_at, Some(now() - Duration::hours(1)));
    let (kind, pages, email): (String, String, String) = s
        .conn()
        .query_row(
            "SELECT kind, pages_visited, email FROM registration WHERE lead_id = ?1",
            [&id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(kind, "license_key");
    assert_eq!(pages, r#"["/pricing","/download"]"#);
    assert_eq!(email, "ann@example.com");
    let entities: Vec<String> = s
        .conn()
        .prepare("SELECT entity FROM outbox ORDER BY seq")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    assert_eq!(entities, ["lead_fields", "registration"]);
}

#[test]
fn a_single_zone_country_sets_the_time_zone_and_office_comes_from_context() {
    let mut s = store();
    let mut input = ann();
    input.details.country = Some("FR".into());
    input.details.phone = Some("01 23 45 67 89".into());
    let mut c = ctx(&s);
    c.office = Some("paris".into());
    let outcome = s.with_tx(|tx| record(tx, &input, &c)).unwrap();
    let IntakeOutcome::Created(id) = outcome else {
        panic!()
    };
    let lead = leads::get(s.conn(), &id).unwrap();
    assert_eq!(lead.time_zone.as_deref(), Some("Europe/Paris"));
    assert_eq!(lead.office.as_deref(), Some("paris"));
    assert_eq!(lead.phone.as_deref(), Some("+33123456789"));
}

#[test]
fn the_same_submission_id_is_recorded_once() {
    let mut s = store();
    rec(&mut s, &ann()).unwrap();
    let mut again = ann();
    again.submitted_at = Some("2026-03-01T08:00:00Z".into());
    assert_eq!(rec(&mut s, &again).unwrap(), IntakeOutcome::Duplicate);
    assert_eq!(count(&s, "registration"), 1);
}

#[test]
fn the_same_email_and_kind_within_ten_minutes_is_a_duplicate_but_not_after() {
    let mut s = store();
    rec(&mut s, &ann()).unwrap();
    let resent = ann_again("2026-03-02T08:09:59Z");
    assert_eq!(rec(&mut s, &resent).unwrap(), IntakeOutcome::Duplicate);
    let mut other_kind = resent.clone();
    other_kind.submission_id = Some("s-3".into());
    other_kind.kind = Some("demo".into());
    assert!(matches!(
        rec(&mut s, &other_kind).unwrap(),
        IntakeOutcome::Merged(_)
    ));
    let mut later = ann();
    later.submission_id = Some("s-4".into());
    later.submitted_at = Some("2026-03-02T08:10:01Z".into());
    assert!(matches!(
        rec(&mut s, &later).unwrap(),
        IntakeOutcome::Merged(_)
    ));
    assert_eq!(count(&s, "registration"), 3);
    assert_eq!(count(&s, "lead"), 1);
}

#[test]
fn rows_without_an_id_are_recognised_by_content() {
    let mut s = store();
    let mut input = ann();
    input.submission_id = None;
    assert!(matches!(
        rec(&mut s, &input).unwrap(),
        IntakeOutcome::Created(_)
    ));
    // A day later the same row again (a re-run of the file): still a duplicate.
    let c = IntakeContext::new(s.conn(), None, now() + Duration::days(1), "import").unwrap();
    let outcome = s.with_tx(|tx| record(tx, &input, &c)).unwrap();
    assert_eq!(outcome, IntakeOutcome::Duplicate);
    let key: String = s
        .conn()
        .query_row("SELECT submission_id FROM registration", [], |r| r.get(0))
        .unwrap();
    assert!(key.starts_with(CONTENT_KEY_PREFIX));
    assert!(!key.contains("ann"));
}

#[test]
fn the_content_key_of_a_row_stays_what_earlier_imports_stored() {
    // Files imported earlier hold keys made this way; a key that changed would import their rows
    // again. The expected value was computed apart from this code (HMAC-SHA256 over the marked,
    // length-prefixed fields in the wire's order, then the pages).
    let input = RegistrationInput {
        kind: Some("demo".into()),
        details: RegistrationDetails {
            name: Some("Ann".into()),
            email: Some("ann@example.com".into()),
            country: Some("DE".into()),
            pages_visited: vec!["/a".into(), "/b".into()],
            form_version: Some("v3".into()),
            ..RegistrationDetails::default()
        },
        ..RegistrationInput::default()
    };
    assert_eq!(
        content_key(b"pinned key", &input),
        "content:36b77a90a325738b0d75d39af2a0fa61"
    );
}

#[test]
fn a_known_email_attaches_and_fills_only_empty_fields() {
    let mut s = store();
    let mut first = ann();
    first.details.company = None;
    first.details.phone = None;
    let id = created(&mut s, &first);
    let mut second = ann_again("2026-03-02T08:30:00Z");
    second.details.name = Some("Annie E.".into());
    second.details.email = Some("ANN@example.com ".into());
    assert_eq!(
        rec(&mut s, &second).unwrap(),
        IntakeOutcome::Merged(id.clone())
    );
    let lead = leads::get(s.conn(), &id).unwrap();
    assert_eq!(
        lead.name.as_deref(),
        Some("Ann Example"),
        "never overwritten"
    );
    assert_eq!(lead.company.as_deref(), Some("Acme"), "filled");
    assert_eq!(lead.phone.as_deref(), Some("+49301234567"), "filled");
    assert_eq!(
        lead.last_registered_at,
        Some(Utc.with_ymd_and_hms(2026, 3, 2, 8, 30, 0).unwrap())
    );
    let audited: i64 = s
        .conn()
        .query_row(
            "SELECT count(*) FROM audit WHERE lead_id = ?1 AND action = 'registration'",
            [&id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(audited, 2);
}

#[test]
fn a_corrected_field_is_not_refilled_even_when_empty() {
    let mut s = store();
    let id = created(&mut s, &ann());
    // The person asked to remove their company and phone: both corrected to empty.
    s.with_tx(|tx| {
        leads::set_fields(
            tx,
            &id,
            &[(LeadField::Company, None), (LeadField::Phone, None)],
            "rep",
            "correct",
            now(),
        )?;
        tx.execute(
            "UPDATE lead SET corrected = 'company,phone' WHERE id = ?1",
            [&id],
        )?;
        Ok(())
    })
    .unwrap();
    let mut again = ann_again("2026-03-02T08:45:00Z");
    again.details.address = Some("Hauptstr. 1, Berlin".into());
    assert_eq!(
        rec(&mut s, &again).unwrap(),
        IntakeOutcome::Merged(id.clone())
    );
    let lead = leads::get(s.conn(), &id).unwrap();
    assert_eq!(lead.company, None);
    assert_eq!(lead.phone, None);
    assert_eq!(lead.address.as_deref(), Some("Hauptstr. 1, Berlin"));
}

#[test]
fn without_email_the_phone_number_matches() {
    let mut s = store();
    let mut first = ann();
    first.details.email = None;
    let id = created(&mut s, &first);
    let mut second = first.clone();
    second.submission_id = Some("s-2".into());
    second.details.phone = Some("+49 30 1234567".into());
    second.details.country = None;
    second.submitted_at = Some("2026-03-01T08:00:00Z".into());
    assert_eq!(
        rec(&mut s, &second).unwrap(),
        IntakeOutcome::Merged(id.clone())
    );
    // An older registration does not move last_registered_at back.
    let lead = leads::get(s.conn(), &id).unwrap();
    assert_eq!(lead.last_registered_at, Some(now() - Duration::hours(1)));
}

#[test]
fn an_erased_person_is_suppressed_and_nothing_is_stored() {
    let mut s = store();
    s.with_tx(|tx| suppression::suppress(tx, Identifier::Phone, "+49301234567", now()))
        .unwrap();
    let mut input = ann();
    input.details.email = Some("other@example.com".into());
    assert_eq!(rec(&mut s, &input).unwrap(), IntakeOutcome::Suppressed);
    assert_eq!(count(&s, "lead"), 0);
    assert_eq!(count(&s, "registration"), 0);
    assert_eq!(count(&s, "outbox"), 0);
}

fn rejection(input: &RegistrationInput) -> String {
    let mut s = store();
    let err = rec(&mut s, input).unwrap_err();
    assert_eq!(err.code(), "bad_input");
    assert_eq!(count(&s, "lead") + count(&s, "registration"), 0);
    err.to_string()
}

#[test]
fn unusable_input_is_rejected_with_a_reason_and_nothing_written() {
    let mut none = ann();
    none.details.email = Some("  ".into());
    none.details.phone = None;
    assert_eq!(
        rejection(&none),
        "neither an email address nor a phone number"
    );

    let mut bad_email = ann();
    bad_email.details.phone = None;
    bad_email.details.email = Some("ann.example.com".into());
    assert_eq!(rejection(&bad_email), "invalid email: it has no @");

    let mut both_bad = ann();
    both_bad.details.email = Some("ann@".into());
    both_bad.details.phone = Some("12".into());
    assert!(rejection(&both_bad).contains("invalid phone number"));

    let mut big = ann();
    big.details.company = Some("x".repeat(301));
    assert_eq!(
        rejection(&big),
        "company is 301 bytes long; the limit is 300 bytes (shorten it or leave it out)"
    );

    let mut nul = ann();
    nul.details.name = Some("Ann\0Example".into());
    assert_eq!(rejection(&nul), "name contains a NUL byte");

    let mut future = ann();
    future.submitted_at = Some("2026-03-02T09:06:00Z".into());
    assert!(rejection(&future).contains("lies in the future"));

    let mut garbled = ann();
    garbled.submitted_at = Some("yesterday".into());
    assert!(rejection(&garbled).contains("is not a date"));
}

#[test]
fn fields_at_their_limits_and_slight_clock_skew_are_accepted() {
    let mut s = store();
    let mut input = ann();
    input.details.address = Some("a".repeat(limits::Field::Address.max_bytes()));
    input.details.user_agent = Some("u".repeat(limits::Field::UserAgent.max_bytes()));
    input.details.pages_visited = limits::largest_pages("https://example.com/p");
    input.submitted_at = Some("2026-03-02T09:04:00Z".into());
    assert!(matches!(
        rec(&mut s, &input).unwrap(),
        IntakeOutcome::Created(_)
    ));
}

#[test]
fn a_bad_phone_or_email_next_to_a_good_one_refuses_the_registration() {
    let s = store();
    let mut input = ann();
    input.details.phone = Some("123".into());
    let err = clean(&input, &ctx(&s)).unwrap_err().to_string();
    assert!(err.contains("phone"), "{err}");
    let mut input = ann();
    input.details.email = Some("ann@@example".into());
    input.details.phone = Some("+49 30 1234567".into());
    let err = clean(&input, &ctx(&s)).unwrap_err().to_string();
    assert!(err.starts_with("invalid email"), "{err}");
}

/// Records through a `Bulk` in one transaction, as the import does.
fn rec_bulk(s: &mut Store, bulk: &mut Bulk, input: &RegistrationInput) -> IntakeOutcome {
    let c = ctx(s);
    s.with_tx(|tx| {
        bulk.begin(tx)?;
        let outcome = record_clean_bulk(tx, &clean(input, &c)?, &c, bulk)?;
        bulk.finish(tx)?;
        Ok(outcome)
    })
    .unwrap()
}

#[test]
fn a_bulk_writer_finds_leads_that_existed_before_it_started() {
    let mut s = store();
    let id = created(&mut s, &ann());
    let mut phone_only = ann();
    phone_only.submission_id = Some("p-1".into());
    phone_only.details.email = None;
    phone_only.details.phone = Some("+49 30 1234567".into());
    phone_only.kind = Some("demo".into());
    let mut bulk = Bulk::new(s.conn()).unwrap();
    // The same submission: a duplicate, found although the writer never recorded it.
    assert_eq!(
        rec_bulk(&mut s, &mut bulk, &ann()),
        IntakeOutcome::Duplicate
    );
    assert_eq!(
        rec_bulk(&mut s, &mut bulk, &phone_only),
        IntakeOutcome::Merged(id.clone())
    );
    let mut new_person = ann();
    new_person.submission_id = Some("n-1".into());
    new_person.details.email = Some("new@example.com".into());
    new_person.details.phone = None;
    let IntakeOutcome::Created(other) = rec_bulk(&mut s, &mut bulk, &new_person) else {
        panic!()
    };
    // Seen in this run now: the next registration of the same email attaches to it.
    new_person.submission_id = Some("n-2".into());
    new_person.kind = Some("trial".into());
    assert_eq!(
        rec_bulk(&mut s, &mut bulk, &new_person),
        IntakeOutcome::Merged(other)
    );
}

#[test]
fn a_bulk_writer_looks_everything_up_once_another_connection_wrote() {
    let (_dir, mut s, mut other) = two_stores_on_one_file();
    let mut bulk = Bulk::new(s.conn()).unwrap();
    let id = created(&mut other, &ann());
    let mut again = ann();
    again.submission_id = Some("s-2".into());
    again.kind = Some("demo".into());
    assert_eq!(
        rec_bulk(&mut s, &mut bulk, &again),
        IntakeOutcome::Merged(id)
    );
    assert_eq!(
        rec_bulk(&mut s, &mut bulk, &ann()),
        IntakeOutcome::Duplicate
    );
}

#[test]
fn bulk_ids_and_clock_stamps_grow_and_later_single_writes_stamp_after_them() {
    let mut s = store();
    let mut bulk = Bulk::new(s.conn()).unwrap();
    for i in 0..50 {
        let mut input = ann();
        input.submission_id = Some(format!("s-{i}"));
        input.details.email = Some(format!("p{i}@example.com"));
        input.details.phone = None;
        assert!(matches!(
            rec_bulk(&mut s, &mut bulk, &input),
            IntakeOutcome::Created(_)
        ));
    }
    let column = |sql: &str| -> Vec<String> {
        s.conn()
            .prepare(sql)
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap()
    };
    for sql in [
        "SELECT id FROM lead ORDER BY rowid",
        "SELECT id FROM registration ORDER BY rowid",
        "SELECT clock_identity FROM lead ORDER BY rowid",
    ] {
        let values = column(sql);
        assert_eq!(values.len(), 50);
        assert!(values.windows(2).all(|w| w[0] < w[1]), "{sql}: {values:?}");
    }
    let last = column("SELECT clock_identity FROM lead ORDER BY rowid DESC LIMIT 1");
    let next = crate::store::settings::next_hlc(s.conn(), now())
        .unwrap()
        .to_string();
    assert!(next > last[0]);
}

#[test]
fn kinds_and_times_are_read_as_forms_write_them() {
    assert_eq!(
        parse_kind(Some("License Key")),
        RegistrationKind::LicenseKey
    );
    assert_eq!(
        parse_kind(Some("info-request")),
        RegistrationKind::InfoRequest
    );
    assert_eq!(parse_kind(Some("Free Trial")), RegistrationKind::Trial);
    assert_eq!(parse_kind(Some("whatever")), RegistrationKind::Other);
    assert_eq!(parse_kind(None), RegistrationKind::Other);
    let at = Utc.with_ymd_and_hms(2026, 3, 2, 8, 0, 0).unwrap();
    for t in [
        "2026-03-02T08:00:00Z",
        "2026-03-02T09:00:00+01:00",
        "2026-03-02 08:00:00",
        "2026-03-02 08:00",
        "2026-03-02 08:00:00 UTC",
        "2026-03-02T08:00:00.000Z",
    ] {
        assert_eq!(parse_submitted_at(t), Some(at), "{t}");
    }
    assert_eq!(
        parse_submitted_at("2026-03-02"),
        Some(Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap())
    );
    assert_eq!(parse_submitted_at("02/03/2026"), None);
}

/// An imported lead stores its stamp once (migration 0016) and pushes it in every group; a
/// pulled identity change moves that group alone, and the browser text is pushed as sent.
#[test]
fn an_imported_lead_pushes_one_stamp_in_all_six_groups_until_a_group_changes() {
    use crate::people::leads::{self, SAME_CLOCK};
    use switchboard_protocol::{FieldGroup, LeadFields, Op};
    let mut s = store();
    let mut bulk = Bulk::new(s.conn()).unwrap();
    let IntakeOutcome::Created(lead) = rec_bulk(&mut s, &mut bulk, &ann()) else {
        panic!("a new lead")
    };
    let conn = s.conn();
    let (stamp, email_column): (String, String) = conn
        .query_row(
            "SELECT clock_identity, clock_email FROM lead WHERE id = ?1",
            [&lead],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(email_column, SAME_CLOCK);
    let pushed = |conn: &Connection| -> Vec<(FieldGroup, String)> {
        crate::replica::materialize::pending_ops(conn, 100)
            .unwrap()
            .into_iter()
            .filter_map(|(_, op)| match op {
                Op::LeadFieldsSet(set) => Some((set.fields.group(), set.hlc)),
                _ => None,
            })
            .collect()
    };
    let groups = pushed(conn);
    assert_eq!(groups.len(), 6);
    assert!(groups.iter().all(|(_, hlc)| *hlc == stamp), "{groups:?}");
    let registration = crate::replica::materialize::pending_ops(conn, 100)
        .unwrap()
        .into_iter()
        .find_map(|(_, op)| match op {
            Op::RegistrationAdded(r) => Some(r),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        registration.details.user_agent.as_deref(),
        Some("Mozilla/5.0")
    );
    let later = format!("{}~later", stamp);
    let identity = LeadFields::Identity {
        name: Some("Ann Other".into()),
        company: None,
    };
    leads::write_group(conn, &lead, &identity, &later).unwrap();
    for (group, hlc) in pushed(conn) {
        let expected = if group == FieldGroup::Identity {
            &later
        } else {
            &stamp
        };
        assert_eq!(&hlc, expected, "{group}");
    }
}

#[test]
fn a_bulk_writer_with_held_keys_confirms_a_shared_hash_against_the_lead_row() {
    let mut s = store();
    let existing = created(&mut s, &ann());
    // Every email and phone hashes alike: each hit must be checked against the lead it names.
    let mut bulk = Bulk::with_held_keys_hashed(s.conn(), 10, |_, _| 7).unwrap();
    let mut bob = ann();
    bob.submission_id = Some("b-1".into());
    bob.details.email = Some("bob@example.com".into());
    bob.details.phone = Some("+1 415 555 2671".into());
    let IntakeOutcome::Created(bob_id) = rec_bulk(&mut s, &mut bulk, &bob) else {
        panic!("Bob is not Ann")
    };
    assert_ne!(bob_id, existing);
    let mut again = |id: &str, email: Option<&str>, phone: Option<&str>| {
        let mut input = ann();
        input.submission_id = Some(id.into());
        input.kind = Some("demo".into());
        input.details.email = email.map(str::to_string);
        input.details.phone = phone.map(str::to_string);
        rec_bulk(&mut s, &mut bulk, &input)
    };
    assert_eq!(
        again("b-2", Some("bob@example.com"), None),
        IntakeOutcome::Merged(bob_id.clone())
    );
    assert_eq!(
        again("a-2", Some("ann@example.com"), None),
        IntakeOutcome::Merged(existing.clone())
    );
    assert_eq!(
        again("p-1", None, Some("+1 415 555 2671")),
        IntakeOutcome::Merged(bob_id)
    );
    assert_eq!(
        again("p-2", None, Some("030 1234567")),
        IntakeOutcome::Merged(existing)
    );
    assert!(matches!(
        again("c-1", Some("cat@example.com"), None),
        IntakeOutcome::Created(_)
    ));
}

/// One generated registration: a submission id from a small pool or none (a content key stands
/// in), an email and a phone from small pools, a kind, minutes after 08:00.
type GenRow = (Option<u8>, Option<u8>, Option<u8>, u8, u8);

fn gen_input((submission, email, phone, kind, minute): GenRow) -> RegistrationInput {
    RegistrationInput {
        submission_id: submission.map(|n| format!("s-{n}")),
        kind: Some(["Demo", "Trial", "License Key"][kind as usize % 3].into()),
        submitted_at: Some(format!("2026-03-02T08:{:02}:00Z", minute % 60)),
        details: RegistrationDetails {
            name: Some(format!("Person {}", email.or(phone).unwrap_or(0))),
            email: email.map(|n| format!("p{n}@example.com")),
            phone: phone.map(|n| format!("+49 30 55501{n:02}")),
            ..Default::default()
        },
        ..Default::default()
    }
}

/// Each outcome as the row that created its lead (lead ids are random in each store).
fn outcome_labels(outcomes: &[Result<IntakeOutcome>]) -> Vec<String> {
    let mut creator: std::collections::HashMap<String, usize> = Default::default();
    outcomes
        .iter()
        .enumerate()
        .map(|(row, outcome)| match outcome {
            Ok(IntakeOutcome::Created(id)) => {
                creator.insert(id.clone(), row);
                format!("created {row}")
            }
            Ok(IntakeOutcome::Merged(id)) => format!("merged into {:?}", creator.get(id)),
            Ok(other) => format!("{other:?}"),
            Err(e) => format!("error {e}"),
        })
        .collect()
}

fn same_hash(_: Key, _: &str) -> u64 {
    7
}

fn three_hashes(kind: Key, value: &str) -> u64 {
    super::held_keys::key_hash(kind, value) % 3
}

/// Records `before` through the indexes in two stores, then `rows` through the indexes in the
/// first and from memory (`HeldKeys` with `hash`, the indexes set aside) in the second; returns
/// the two stores and each one's outcomes of `before` and of `rows`.
#[allow(clippy::type_complexity)]
fn decide_both(
    before: &[(GenRow, i8)],
    rows: &[GenRow],
    hash: usize,
) -> (Store, Store, [Vec<String>; 2], [Vec<String>; 2]) {
    let hash: super::held_keys::HashFn =
        [same_hash, three_hashes, super::held_keys::key_hash][hash];
    // A second between rows: leads created at one instant are ordered by their random ids in
    // intake and by creation in an import, so "the oldest lead with this phone" could differ for
    // a reason that has nothing to do with how it is found.
    let clocks = [(); 2].map(|_| Arc::new(FixedClock::at(now())));
    let [mut by_index, mut from_memory] = clocks.clone().map(|c| Store::open_in_memory(c).unwrap());
    let tick = |i: usize| clocks[i].advance(chrono::Duration::seconds(1));
    let mut labels = Vec::new();
    for (i, s) in [&mut by_index, &mut from_memory].into_iter().enumerate() {
        // Leads from before the import were created in any order (a pull brings older ones
        // later): lead rowids and creation times disagree.
        let earlier: Vec<_> = before
            .iter()
            .map(|(r, shift)| {
                // Whole seconds and a millisecond: no two leads share a creation time.
                let shift = chrono::Duration::seconds(i64::from(*shift));
                clocks[i].advance(shift + chrono::Duration::milliseconds(1));
                rec(s, &gen_input(*r))
            })
            .collect();
        labels.push(outcome_labels(&earlier));
        clocks[i].advance(chrono::Duration::milliseconds(500));
    }
    let reference: Vec<_> = rows
        .iter()
        .map(|r| {
            tick(0);
            rec(&mut by_index, &gen_input(*r))
        })
        .collect();
    crate::store::deferred_indexes::drop_recording(from_memory.conn(), LOOKUP_INDEXES).unwrap();
    let mut bulk = Bulk::with_held_keys_hashed(from_memory.conn(), rows.len(), hash).unwrap();
    let held: Vec<_> = rows
        .iter()
        .map(|r| {
            tick(1);
            let c = ctx(&from_memory);
            let input = gen_input(*r);
            from_memory.with_tx(|tx| {
                bulk.begin(tx)?;
                let outcome = record_clean_bulk(tx, &clean(&input, &c)?, &c, &mut bulk)?;
                bulk.finish(tx)?;
                Ok(outcome)
            })
        })
        .collect();
    (
        by_index,
        from_memory,
        [labels[0].clone(), labels[1].clone()],
        [outcome_labels(&reference), outcome_labels(&held)],
    )
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(96))]

    /// A large import's dedup from memory (`HeldKeys`, its indexes set aside) decides every row as
    /// intake does through the indexes: the same outcomes, the same leads, and a submission index
    /// that builds afterwards (no submission recorded twice). The hashes are made to collide, all
    /// of them or in three buckets, so every hit must be confirmed against its row.
    #[test]
    fn held_keys_decide_every_row_as_the_indexes_do_however_the_hashes_collide(
        before in proptest::collection::vec(
            ((proptest::option::of(0u8..8), proptest::option::of(0u8..5),
              proptest::option::of(0u8..5), 0u8..3, 0u8..60), -30i8..30), 0..8),
        rows in proptest::collection::vec(
            (proptest::option::of(0u8..8), proptest::option::of(0u8..5),
             proptest::option::of(0u8..5), 0u8..3, 0u8..60), 1..30),
        hash in 0usize..3,
    ) {
        let (by_index, mut from_memory, labels, decided) = decide_both(&before, &rows, hash);
        proptest::prop_assert_eq!(&labels[0], &labels[1]);
        proptest::prop_assert_eq!(&decided[0], &decided[1]);
        from_memory
            .with_tx(|tx| crate::store::deferred_indexes::build_now(tx, LOOKUP_INDEXES))
            .unwrap();
        for name in LOOKUP_INDEXES {
            proptest::prop_assert!(
                crate::store::deferred_indexes::present(from_memory.conn(), name).unwrap()
            );
        }
        let leads = |s: &Store| count(s, "lead");
        proptest::prop_assert_eq!(leads(&by_index), leads(&from_memory));
        proptest::prop_assert_eq!(count(&by_index, "registration"), count(&from_memory, "registration"));
    }
}

/// The browser text a registration refers to, read through its id.
fn user_agent_of(s: &Store, submission: &str) -> Option<String> {
    s.conn()
        .query_row(
            "SELECT (SELECT value FROM registration_text WHERE id = user_agent_ref)
             FROM registration WHERE submission_id = ?1",
            [submission],
            |r| r.get(0),
        )
        .unwrap()
}

#[test]
fn a_bulk_writer_forgets_its_text_ids_when_a_transaction_begins() {
    let (_dir, mut s, mut other) = two_stores_on_one_file();
    let mut bulk = Bulk::new(s.conn()).unwrap();
    let person = |n: u32| {
        let mut input = ann();
        input.submission_id = Some(format!("p-{n}"));
        input.details.email = Some(format!("p{n}@example.com"));
        input.details.phone = None;
        input
    };
    // A transaction that adds the texts and rolls back: their ids are taken by nothing.
    let c = ctx(&s);
    let rolled_back: Result<()> = s.with_tx(|tx| {
        bulk.begin(tx)?;
        record_clean_bulk(tx, &clean(&person(1), &c)?, &c, &mut bulk)?;
        Err(CoreError::BadInput("rolled back on purpose".into()))
    });
    assert!(rolled_back.is_err());
    assert_eq!(count(&s, "registration_text"), 0);
    let IntakeOutcome::Created(lead) = rec_bulk(&mut s, &mut bulk, &person(2)) else {
        panic!()
    };
    assert_eq!(user_agent_of(&s, "p-2").as_deref(), Some("Mozilla/5.0"));
    // Another connection's erasure deletes the texts only that person's registration named.
    crate::privacy::erase::erase(&mut other, &lead, "dpo").unwrap();
    assert_eq!(count(&s, "registration_text"), 0);
    rec_bulk(&mut s, &mut bulk, &person(3));
    assert_eq!(user_agent_of(&s, "p-3").as_deref(), Some("Mozilla/5.0"));
    // Within one transaction the id is reused, not the text added twice.
    rec_bulk(&mut s, &mut bulk, &person(4));
    assert_eq!(count(&s, "registration_text"), 2);
    assert_eq!(user_agent_of(&s, "p-4").as_deref(), Some("Mozilla/5.0"));
}
