//! The core's shared test fixtures: in-memory and file stores on a fixed clock, the instants
//! unit tests start at, a plain lead to work with, and a person with everything Switchboard can
//! hold about them (for the erasure, access and correction tests), written through the intake
//! and the follow-up log as in real use.

use crate::clock::{new_id, to_text};
use crate::intake::{self, IntakeContext, IntakeOutcome, RegistrationInput};
use crate::outreach::followup::{self, LogFollowUp};
use crate::people::leads::{self, NewLead};
use crate::store::Store;
use crate::FixedClock;
use chrono::{DateTime, TimeZone, Utc};
use rusqlite::Connection;
use std::path::Path;
use std::sync::Arc;
use switchboard_protocol::{Channel, ConsentScope, Direction, Outcome};

pub const NAME: &str = "Zoltan Quarksmith";
pub const COMPANY: &str = "Quarksmith Widgets";
pub const EMAIL: &str = "zoltan.quarksmith@example.com";
pub const PHONE: &str = "+493090182044";
pub const PHONE_NATIONAL: &str = "030 90182044";
pub const IP: &str = "203.0.113.77";
pub const IP_2: &str = "198.51.100.23";
pub const USER_AGENT: &str = "Mozilla/5.0 (X11; Quarkbrowser 9.1)";
pub const REFERRER: &str = "https://quark-referrer.example/landing";
pub const PAGE: &str = "https://shop.example/pricing?ref=quarksmith";
pub const ADDRESS: &str = "Quarkstrasse 17, 10115 Berlin";

/// 2026-01-31 09:00 UTC: when the erasure, access and correction tests' person registers.
pub fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 31, 9, 0, 0).unwrap()
}

/// 2026-03-02 09:00 UTC, a Monday (10:00 in Berlin): where most unit tests start.
pub fn nine() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}

/// 2026-03-02 11:00 UTC, noon in Berlin.
pub fn noon() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 11, 0, 0).unwrap()
}

/// A clock at `start()`.
pub fn clock() -> FixedClock {
    FixedClock::at(start())
}

/// An in-memory store on `clock` (several replicas may share one).
pub fn store_on(clock: &FixedClock) -> Store {
    Store::open_in_memory(Arc::new(clock.clone())).unwrap()
}

/// An in-memory store and its clock, standing at `at`.
pub fn clocked_store(at: DateTime<Utc>) -> (Store, FixedClock) {
    let clock = FixedClock::at(at);
    (store_on(&clock), clock)
}

/// An in-memory store whose clock stands at `at`.
pub fn store_at(at: DateTime<Utc>) -> Store {
    clocked_store(at).0
}

/// A database file at `path` on a clock standing at `at`.
pub fn file_store_at(path: &Path, at: DateTime<Utc>) -> Store {
    Store::open_with_clock(path, None, Arc::new(FixedClock::at(at))).unwrap()
}

/// A database file at `path` on a clock at `start()`.
pub fn file_store(path: &Path) -> (Store, FixedClock) {
    let clock = clock();
    (
        Store::open_with_clock(path, None, Arc::new(clock.clone())).unwrap(),
        clock,
    )
}

/// An in-memory store at `start()`.
pub fn memory_store() -> (Store, FixedClock) {
    clocked_store(start())
}

/// Ann Example of Acme in Berlin, with email and phone.
pub fn ann() -> NewLead {
    NewLead {
        name: Some("Ann Example".into()),
        company: Some("Acme".into()),
        email: Some("ann@example.com".into()),
        phone: Some("+4930123456".into()),
        country: Some("DE".into()),
        time_zone: Some("Europe/Berlin".into()),
        ..NewLead::default()
    }
}

/// Inserts `lead` directly (`leads::insert`) at `at`; returns its id.
pub fn insert_lead(store: &mut Store, lead: &NewLead, at: DateTime<Utc>) -> String {
    let id = new_id(at);
    store
        .with_tx(|tx| leads::insert(tx, &id, lead, at))
        .unwrap();
    id
}

/// Creates another person's lead directly, with the given normalised identity.
pub fn lead(store: &mut Store, name: &str, email: &str, phone: Option<&str>) -> String {
    let at = store.now();
    let id = new_id(at);
    let new = NewLead {
        name: Some(name.into()),
        email: Some(email.into()),
        phone: phone.map(str::to_string),
        country: Some("DE".into()),
        time_zone: Some("Europe/Berlin".into()),
        last_registered_at: Some(at),
        ..NewLead::default()
    };
    store
        .with_tx(|tx| leads::insert(tx, &id, &new, at))
        .unwrap();
    id
}

/// A website registration of the person with full web metadata, through the intake.
pub fn register(
    conn: &Connection,
    submission: &str,
    kind: &str,
    phone: &str,
    ip: &str,
    at: DateTime<Utc>,
) -> IntakeOutcome {
    let input = RegistrationInput {
        submission_id: Some(submission.into()),
        kind: Some(kind.into()),
        product: Some("Widget Pro".into()),
        submitted_at: Some(to_text(at)),
        details: switchboard_protocol::RegistrationDetails {
            name: Some(NAME.into()),
            company: Some(COMPANY.into()),
            email: Some(EMAIL.to_uppercase()),
            phone: Some(phone.into()),
            address: Some(ADDRESS.into()),
            country: Some("Germany".into()),
            ip: Some(ip.into()),
            user_agent: Some(USER_AGENT.into()),
            referrer: Some(REFERRER.into()),
            pages_visited: vec![PAGE.into(), "https://shop.example/download".into()],
            form_version: Some("v3".into()),
        },
    };
    let ctx = IntakeContext::new(conn, None, at, "intake").unwrap();
    intake::record(conn, &input, &ctx).unwrap()
}

/// A phone call logged by a rep, with a note.
pub fn call(conn: &Connection, lead_id: &str, note: &str, at: DateTime<Utc>) {
    let input = LogFollowUp {
        lead: lead_id.into(),
        channel: Channel::Phone,
        direction: Direction::Out,
        outcome: Outcome::Connected,
        note: Some(note.into()),
        occurred_at: at,
        rep: "rep1".into(),
        next_follow_up_at: None,
    };
    followup::log(conn, &input, at).unwrap();
}

/// The full person: two registrations (international and national phone, two IPs), two
/// calls whose notes name them, and a mail opt-out whose evidence quotes their address.
pub fn person(store: &mut Store) -> String {
    let at = store.now();
    store
        .with_tx(|tx| {
            let IntakeOutcome::Created(id) =
                register(tx, "sub-quark-1", "license_key", PHONE, IP, at)
            else {
                panic!("the first registration creates the lead");
            };
            assert_eq!(
                register(tx, "sub-quark-2", "demo", PHONE_NATIONAL, IP_2, at),
                IntakeOutcome::Merged(id.clone())
            );
            call(tx, &id, &format!("Spoke with {NAME} about pricing"), at);
            call(tx, &id, &format!("Promised a quote to {EMAIL}"), at);
            crate::compliance::consent::opt_out(
                tx,
                &id,
                ConsentScope::Mail,
                "web form",
                Some(&format!("Form submitted by {EMAIL}")),
                "rep1",
                at,
            )?;
            Ok(id)
        })
        .unwrap()
}
