//! An audience export checked against an independent computation over a generated population
//! of 100,000 people with random consent histories, erasures, suppressions and bounces.

use chrono::{DateTime, Duration, TimeZone, Utc};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Instant;
use switchboard_core::audience::{self, Segment};
use switchboard_core::clock::new_id;
use switchboard_core::leads::{self, NewLead};
use switchboard_core::protocol::ConsentScope;
use switchboard_core::{consent, erase, suppression, FixedClock, Store};

/// SplitMix64: a small deterministic generator, so a failure can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// What the test itself believes about one person, computed without the gate.
#[derive(Default)]
struct Truth {
    email: Option<String>,
    country: &'static str,
    kinds: Vec<&'static str>,
    /// Opt-out state per scope, applied in order: an opt-in lifts its own scope only.
    opted_out: HashMap<&'static str, bool>,
    erased: bool,
    suppressed: bool,
    bounced: bool,
}

impl Truth {
    fn may_receive_promotional_email(&self) -> bool {
        self.email.is_some()
            && !self.erased
            && !self.suppressed
            && !self.bounced
            && !self.opted_out.get("email").copied().unwrap_or(false)
            && !self.opted_out.get("all").copied().unwrap_or(false)
    }
}

const PEOPLE: usize = 100_000;
const COUNTRIES: [&str; 5] = ["DE", "FR", "US", "JP", "BR"];
const KINDS: [&str; 3] = ["trial", "license_key", "info_request"];
const SCOPES: [(ConsentScope, &str); 4] = [
    (ConsentScope::Email, "email"),
    (ConsentScope::Phone, "phone"),
    (ConsentScope::Mail, "mail"),
    (ConsentScope::All, "all"),
];

fn exported_emails(csv: &[u8]) -> Vec<String> {
    let mut reader = csv::Reader::from_reader(csv);
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        audience::CSV_HEADER.to_vec()
    );
    reader
        .records()
        .map(|r| r.unwrap().get(0).unwrap().to_string())
        .collect()
}

#[test]
fn an_audience_never_contains_anyone_the_rules_exclude() {
    let start: DateTime<Utc> = Utc.with_ymd_and_hms(2026, 1, 5, 9, 0, 0).unwrap();
    let clock = FixedClock::at(start);
    let mut store = Store::open_in_memory(Arc::new(clock.clone())).unwrap();
    let mut rng = Rng(0x5EED_2026);
    let mut truth: Vec<(String, Truth)> = Vec::with_capacity(PEOPLE);

    let generated = Instant::now();
    store
        .with_tx(|tx| {
            for i in 0..PEOPLE {
                let at = start + Duration::seconds(i as i64);
                let id = new_id(at);
                let mut t = Truth {
                    email: (!rng.chance(3)).then(|| format!("p{i}@example.com")),
                    country: COUNTRIES[rng.below(5) as usize],
                    ..Truth::default()
                };
                let lead = NewLead {
                    name: Some(format!("Person Number{i}")),
                    email: t.email.clone(),
                    country: Some(t.country.to_string()),
                    ..NewLead::default()
                };
                leads::insert(tx, &id, &lead, at)?;
                for _ in 0..rng.below(3) {
                    let kind = KINDS[rng.below(3) as usize];
                    t.kinds.push(kind);
                    tx.execute(
                        "INSERT INTO registration(id, lead_id, kind, product, submitted_at,
                                                  received_at)
                         VALUES (?1, ?2, ?3, 'Widget', ?4, ?4)",
                        rusqlite::params![new_id(at), id, kind, at.to_rfc3339()],
                    )?;
                }
                // A random consent history: up to four events, each an opt-out or opt-in of a
                // random scope, in order.
                for step in 0..rng.below(5) {
                    let (scope, name) = SCOPES[rng.below(4) as usize];
                    let when = at + Duration::minutes(step as i64);
                    if rng.chance(60) {
                        consent::opt_out(tx, &id, scope, "test", None, "rep", when)?;
                        t.opted_out.insert(name, true);
                    } else {
                        consent::opt_in(tx, &id, scope, "test", None, "rep", when)?;
                        t.opted_out.insert(name, false);
                    }
                }
                if t.email.is_some() && rng.chance(4) {
                    leads::set_email_invalid(tx, &id, true, "feedback", "bounce", at)?;
                    t.bounced = true;
                }
                if let Some(email) = t.email.as_deref().filter(|_| rng.chance(2)) {
                    // Erased elsewhere under the same address; this replica has not purged yet.
                    suppression::suppress(tx, suppression::Identifier::Email, email, at)?;
                    t.suppressed = true;
                }
                truth.push((id, t));
            }
            Ok(())
        })
        .unwrap();
    let erase_at = start + Duration::days(2);
    clock.set(erase_at);
    let mut erased = 0;
    store
        .with_tx(|tx| {
            for (id, t) in truth.iter_mut() {
                if rng.chance(1) {
                    erase::erase_in(tx, id, "manager", erase_at)?;
                    t.erased = true;
                    erased += 1;
                }
            }
            Ok(())
        })
        .unwrap();
    eprintln!(
        "generated {PEOPLE} people ({erased} erased) in {:?}",
        generated.elapsed()
    );

    let at = erase_at + Duration::hours(1);
    for filter in ["", "country=DE|JP,kind=trial"] {
        let seg = Segment::parse(filter).unwrap();
        let expected: BTreeSet<String> = truth
            .iter()
            .filter(|(_, t)| {
                (seg.countries.is_empty() || seg.countries.iter().any(|c| c == t.country))
                    && (seg.kinds.is_empty()
                        || seg.kinds.iter().any(|k| t.kinds.contains(&k.as_str())))
            })
            .filter(|(_, t)| t.may_receive_promotional_email())
            .map(|(_, t)| t.email.clone().unwrap())
            .collect();
        let excluded: BTreeSet<String> = truth
            .iter()
            .filter(|(_, t)| !t.may_receive_promotional_email())
            .filter_map(|(_, t)| t.email.clone())
            .collect();

        let timer = Instant::now();
        let preview = audience::preview(store.conn(), &seg, at).unwrap();
        let preview_time = timer.elapsed();
        let mut out = Vec::new();
        let timer = Instant::now();
        let export = store
            .with_tx(|tx| audience::export(tx, &seg, &mut out, "manager", at))
            .unwrap();
        eprintln!(
            "segment '{}': {} of {} candidates allowed; preview {:?}, export {:?}; blocked {:?}",
            preview.segment,
            preview.allowed,
            preview.candidates,
            preview_time,
            timer.elapsed(),
            preview.blocked
        );
        let emails = exported_emails(&out);
        let got: BTreeSet<String> = emails.iter().cloned().collect();
        assert_eq!(got.len(), emails.len(), "nobody appears twice");
        assert!(
            got.is_disjoint(&excluded),
            "an excluded address was exported"
        );
        assert_eq!(got, expected);
        assert_eq!(preview.allowed as usize, expected.len());
        assert_eq!(export.count as usize, expected.len());
        let members: i64 = store
            .conn()
            .query_row(
                "SELECT count(*) FROM audience_member WHERE export_id = ?1",
                [&export.id],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(members as usize, expected.len());
        // Every exclusion rule must have been exercised for the check to mean anything.
        if filter.is_empty() {
            for code in ["opted_out", "suppressed", "no_address"] {
                assert!(
                    preview.blocked.get(code).copied().unwrap_or(0) > 100,
                    "{code}"
                );
            }
            assert!(expected.len() > PEOPLE / 2);
        }
    }
    assert_eq!(audience::history(store.conn()).unwrap().len(), 2);
}
