//! Trains the zstd dictionary of the packed form (`switchboard_protocol::packed`) from sync
//! bodies a deterministic generator writes: lone pushes and pulls, small batches and pages,
//! push answers — every operation kind, follow-ups and field groups most of all, with random
//! ids, times and values. The same build trains the same bytes (no clock, a fixed seed).
//!
//! `cargo run -p switchboard-protocol --example train_dictionary` prints the trained
//! dictionary's size and SHA-256 and whether it is the committed `dictionaries/sync-1.zdict`;
//! `-- --write PATH` writes it. Dictionary 1 is frozen once released: a retrained one ships
//! as id 2 beside it.

use chrono::{DateTime, TimeZone, Utc};
use switchboard_protocol::authz::{samples, SampleContext};
use switchboard_protocol::*;

/// Size of the trained dictionary.
const DICTIONARY_BYTES: usize = 16 * 1024;
/// Bodies generated to train on.
const SAMPLES: usize = 6000;

/// splitmix64: a fixed, dependency-free sequence.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    /// A UUID v7 at `at`, random otherwise (as `new_id` mints them).
    fn id(&mut self, at: DateTime<Utc>) -> String {
        let random = self.next().to_be_bytes();
        let more = self.next().to_be_bytes();
        let bytes: [u8; 10] = [
            random[0], random[1], random[2], random[3], random[4], random[5], random[6], random[7],
            more[0], more[1],
        ];
        uuid::Builder::from_unix_timestamp_millis(at.timestamp_millis() as u64, &bytes)
            .into_uuid()
            .to_string()
    }
    /// A time in 2026, whole seconds most of the time (as the UI logs them).
    fn time(&mut self) -> DateTime<Utc> {
        let start = Utc.with_ymd_and_hms(2026, 1, 1, 7, 0, 0).unwrap();
        let at = start + chrono::Duration::seconds(self.below(360 * 86_400) as i64);
        if self.chance(30) {
            at + chrono::Duration::milliseconds(self.below(1000) as i64)
        } else {
            at
        }
    }
}

const USERS: &[&str] = &[
    "rita",
    "mona",
    "sam",
    "li",
    "jonas",
    "ada",
    "admin",
    "karl.meyer",
];
const OFFICES: &[&str] = &["BER", "MUC", "LON", "NYC", "PAR", "HAM"];
const COUNTRIES: &[&str] = &["DE", "GB", "US", "FR", "AT", "CH", "NL"];
const NAMES: &[&str] = &[
    "Anna Schmidt",
    "Jonas Weber",
    "Laura Fischer",
    "Tom Becker",
    "Emma Wagner",
    "Paul Hoffmann",
    "Sarah Klein",
    "David Wolf",
    "Julia Braun",
    "Max Schulz",
    "Olivia Smith",
    "James Brown",
];
const COMPANIES: &[&str] = &[
    "Acme GmbH",
    "Nordlicht AG",
    "Example Ltd",
    "Blue Harbor Inc.",
];
/// Notes reps write (the benchmark's note is deliberately not among them; its words are
/// common ones that are).
const NOTES: &[&str] = &[
    "no answer",
    "no answer, will try again later",
    "left a voicemail",
    "left a voicemail, will call back tomorrow",
    "left a message with the assistant",
    "call back next week",
    "call back tomorrow morning",
    "try again on Monday",
    "will try again next week",
    "asked for a quote",
    "sent the brochure",
    "sent a follow-up email with the price list",
    "interested, wants a demo on Thursday",
    "not the right person, try the office manager",
    "busy, call again in the afternoon",
    "wrong number",
    "meeting booked for Monday at 10",
    "will think about it, call again in two weeks",
    "follow up after the holidays",
    "prefers email, sent the message",
    "spoke to the assistant, message passed on",
    "not interested at the moment",
    "already a customer",
    "out of office until tomorrow",
    "asked us to call again tomorrow",
    "returned my call, wants more information",
    "no reply to the last message",
    "mailbox full, could not leave a message",
    "line busy, will try later today",
    "converted, contract signed",
];

fn follow_up(rng: &mut Rng, lead: &str, at: DateTime<Utc>) -> Op {
    let channel = *rng.pick(Channel::ALL);
    Op::FollowUpLogged(FollowUp {
        id: rng.id(at),
        lead_id: lead.to_string(),
        channel,
        direction: if rng.chance(85) {
            Direction::Out
        } else {
            Direction::In
        },
        outcome: *rng.pick(Outcome::allowed_on(channel)),
        note: rng.chance(80).then(|| rng.pick(NOTES).to_string()),
        occurred_at: at,
        rep: rng.pick(USERS).to_string(),
        next_follow_up_at: rng
            .chance(40)
            .then(|| at + chrono::Duration::days(1 + rng.below(14) as i64)),
    })
}

fn fields_set(rng: &mut Rng, lead: &str, at: DateTime<Utc>, node: &str) -> Op {
    let name = rng.pick(NAMES).to_string();
    let fields = match rng.below(6) {
        0 => LeadFields::Identity {
            name: Some(name.clone()),
            company: rng.chance(50).then(|| rng.pick(COMPANIES).to_string()),
        },
        1 => LeadFields::Email {
            email: Some(format!(
                "{}@example.com",
                name.to_lowercase().replace(' ', ".")
            )),
            email_invalid: rng.chance(3),
        },
        2 => LeadFields::Phone {
            phone: Some(format!("+49{}", 1_000_000_000 + rng.below(999_999_999))),
        },
        3 => LeadFields::Postal {
            address: rng
                .chance(50)
                .then(|| format!("Hauptstraße {}, 10115 Berlin", 1 + rng.below(200))),
            country: Some(rng.pick(COUNTRIES).to_string()),
            time_zone: rng.chance(50).then(|| "Europe/Berlin".to_string()),
        },
        4 => LeadFields::Workflow {
            status: *rng.pick(LeadStatus::ALL),
            owner: rng.chance(70).then(|| rng.pick(USERS).to_string()),
            next_follow_up_at: rng.chance(50).then(|| rng.time()),
        },
        _ => LeadFields::Office {
            office: Some(rng.pick(OFFICES).to_string()),
        },
    };
    Op::LeadFieldsSet(LeadFieldsSet {
        lead_id: lead.to_string(),
        fields,
        hlc: format!(
            "{:013}-{:05}-{node}",
            at.timestamp_millis(),
            if rng.chance(80) { 0 } else { rng.below(20) }
        ),
        created_at: rng.time(),
    })
}

/// One operation: follow-ups and field groups most of the time, any other kind now and then.
fn op(rng: &mut Rng, node: &str) -> Op {
    let at = rng.time();
    let created = rng.time();
    let lead = rng.id(created);
    match rng.below(10) {
        0..=4 => follow_up(rng, &lead, at),
        5..=7 => fields_set(rng, &lead, at, node),
        _ => {
            let context = SampleContext {
                user: rng.pick(USERS).to_string(),
                office: rng.pick(OFFICES).to_string(),
                lead_id: lead.clone(),
                new_lead_id: rng.id(at),
                request_id: rng.id(at),
                partner_id: rng.id(at),
                partner_name: rng.pick(COMPANIES).to_string(),
                suffix: rng.id(at),
                at,
                hlc: format!("{:013}-00000-{node}", at.timestamp_millis()),
                cadence_id: rng.id(at),
                replica_id: node.to_string(),
            };
            let all = samples(&context);
            all[rng.below(all.len())].clone()
        }
    }
}

/// One body as JSON: a push, a page of changes or a push answer, mostly of one operation.
fn body(rng: &mut Rng) -> serde_json::Value {
    let minted = rng.time();
    let node = rng.id(minted);
    let count = if rng.chance(50) { 1 } else { 2 + rng.below(20) };
    let value = match rng.below(5) {
        0 | 1 => serde_json::to_value(PushRequest {
            replica_id: node.clone(),
            ops: (0..count)
                .map(|i| PushOp {
                    seq: 1 + i as i64 + rng.below(5000) as i64,
                    op: op(rng, &node),
                })
                .collect(),
        }),
        2 | 3 => {
            let first = 1 + rng.below(2_000_000) as i64;
            let has_more = rng.chance(20);
            serde_json::to_value(ChangesPage {
                changes: (0..count)
                    .map(|i| Change {
                        server_seq: first + i as i64,
                        op: op(rng, &node),
                    })
                    .collect(),
                next_cursor: first + count as i64,
                has_more,
                role: Some(*rng.pick(Role::ALL)),
                head_cursor: has_more.then_some(first + 10_000),
            })
        }
        _ => serde_json::to_value(PushResponse {
            results: (0..count)
                .map(|i| PushResult {
                    seq: 1 + i as i64,
                    status: if rng.chance(90) {
                        PushStatus::Applied
                    } else {
                        PushStatus::Duplicate
                    },
                    code: None,
                    reason: None,
                })
                .collect(),
        }),
    };
    value.expect("a protocol body serialises")
}

fn main() {
    let mut rng = Rng(0x5357_4254_4348_0001);
    let bodies: Vec<Vec<u8>> = (0..SAMPLES)
        .map(|_| packed::pack(&body(&mut rng)))
        .collect();
    let dictionary =
        zstd::dict::from_samples(&bodies, DICTIONARY_BYTES).expect("zstd trains a dictionary");
    let digest = sha256_hex(&dictionary);
    let committed = packed::dictionary(packed::DICTIONARY_ID).unwrap_or_default();
    println!(
        "trained {} bytes from {} bodies ({} bytes), sha256 {digest}; {}",
        dictionary.len(),
        bodies.len(),
        bodies.iter().map(Vec::len).sum::<usize>(),
        if dictionary == committed {
            "the committed dictionary 1"
        } else {
            "NOT the committed dictionary 1"
        }
    );
    let mut args = std::env::args().skip(1);
    if let (Some(flag), Some(path)) = (args.next(), args.next()) {
        if flag == "--write" {
            std::fs::write(&path, &dictionary).expect("the dictionary is written");
            println!("wrote {path}");
        }
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}
