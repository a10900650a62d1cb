//! Structure-aware random inputs: files and bodies shaped like real ones (real column names,
//! real operations built by the core), with the hostile parts a user or an attacker adds —
//! stray quotes, mixed line ends, BOMs, invalid UTF-8, NUL bytes, huge fields, wrong types,
//! extreme numbers and clock stamps — and byte-level damage on top.

use rand::seq::IndexedRandom;
use rand::{Rng, RngExt};
use serde_json::{json, Map, Value};
use std::sync::{Arc, OnceLock};

const COLUMNS: &[&str] = &[
    "Submission ID",
    "Type",
    "Product",
    "Submitted At",
    "Name",
    "First Name",
    "Last Name",
    "Company",
    "E-mail",
    "email",
    "Phone Number",
    "phone",
    "Address",
    "Street",
    "City",
    "Postal Code",
    "State",
    "Country",
    "IP Address",
    "User Agent",
    "Referrer",
    "Pages Visited",
    "Form Version",
    "Shoe Size",
    "",
    "\"Quoted\"",
];

const TEXTS: &[&str] = &[
    "Ann Example",
    "ann@example.com",
    "BOB@Example.COM ",
    "not-an-email",
    "a@b",
    "@",
    "x@y.z",
    "030 1234567",
    "+49 30 1234567",
    "(415) 555-2671",
    "12",
    "+",
    "DE",
    "Germany",
    "USA",
    "ZZ",
    "203.0.113.7",
    "::1",
    "Mozilla/5.0",
    "https://search.example/",
    "/pricing|/download",
    "2026-03-01T10:00:00Z",
    "2026-03-01",
    "2027-01-01T00:00:00Z",
    "0000-01-01",
    "9999-12-31T23:59:59Z",
    "2026-02-30",
    "License Key",
    "demo",
    "trial",
    "Acme, Ltd",
    "Bob \"The\" Builder",
    "Multi\nLine",
    "CR\rOnly",
    "tab\there",
    " ",
    "",
    "=1+2",
    "\u{feff}",
    "Zoë Ünïcode 名前",
    "\u{0}",
    "é\u{301}",
    "s1",
    "s2",
    "sub-1",
    "🙂",
    "\\",
    "null",
    "[]",
    "{}",
];

fn text(rng: &mut impl Rng) -> String {
    match rng.random_range(0..200) {
        0 => "x".repeat(rng.random_range(60_000..70_000)),
        // Around the shared field limits (protocol::limits).
        41..=55 => {
            let limit = *[64usize, 100, 200, 254, 300, 1024, 2048, 16 * 1024]
                .choose(rng)
                .unwrap();
            "x".repeat(limit + rng.random_range(0..3) - 1)
        }
        1..=10 => (0..rng.random_range(0..40))
            .map(|_| rng.random::<char>())
            .collect(),
        11..=40 => format!("p{}@example.com", rng.random_range(0..50)),
        _ => TEXTS.choose(rng).unwrap().to_string(),
    }
}

/// Bytes of one CSV field: plain, quoted (with escaped quotes), or with a stray quote.
fn csv_field(rng: &mut impl Rng, out: &mut Vec<u8>) {
    let t = text(rng);
    match rng.random_range(0..10) {
        0..=5 if !t.contains([',', '"', '\n', '\r']) => out.extend_from_slice(t.as_bytes()),
        0..=7 => {
            out.push(b'"');
            out.extend_from_slice(t.replace('"', "\"\"").as_bytes());
            out.push(b'"');
        }
        8 => {
            out.push(b'"');
            out.extend_from_slice(t.as_bytes());
        }
        _ => {
            out.extend_from_slice(t.as_bytes());
            out.push(b'"');
        }
    }
}

fn line_end(rng: &mut impl Rng) -> &'static [u8] {
    [&b"\n"[..], b"\r\n", b"\n", b"\r\n", b"\r"]
        .choose(rng)
        .unwrap()
}

/// A CSV file: a header of real and unknown columns, rows with the header's field count or
/// not, blank lines, stray quotes, mixed line ends, then byte-level damage.
pub fn csv_file(rng: &mut impl Rng) -> Vec<u8> {
    let mut out = Vec::new();
    if rng.random_bool(0.2) {
        out.extend_from_slice(b"\xef\xbb\xbf");
    }
    let columns = rng.random_range(1..10);
    let header: Vec<&str> = (0..columns)
        .map(|_| *COLUMNS.choose(rng).unwrap())
        .collect();
    out.extend_from_slice(header.join(",").as_bytes());
    out.extend_from_slice(line_end(rng));
    for _ in 0..rng.random_range(0..40) {
        if rng.random_bool(0.05) {
            out.extend_from_slice(line_end(rng));
            continue;
        }
        let fields = if rng.random_bool(0.9) {
            columns
        } else {
            rng.random_range(1..columns + 3)
        };
        for i in 0..fields {
            if i > 0 {
                out.push(b',');
            }
            csv_field(rng, &mut out);
        }
        if rng.random_bool(0.95) {
            out.extend_from_slice(line_end(rng));
        }
    }
    damage(rng, out)
}

/// A JSON Lines file: objects with real and unknown keys and values of every type, broken
/// lines, blank lines, a line longer than the bound now and then.
pub fn jsonl_file(rng: &mut impl Rng) -> Vec<u8> {
    let mut out = Vec::new();
    if rng.random_bool(0.1) {
        out.extend_from_slice(b"\xef\xbb\xbf");
    }
    for _ in 0..rng.random_range(0..30) {
        match rng.random_range(0..30) {
            0 => out.extend_from_slice(b"   "),
            1 => out.extend_from_slice(b"{\"name\":\"never closed"),
            2 if rng.random_bool(0.1) => {
                out.extend_from_slice(b"{\"name\":\"");
                let n = switchboard_core::import::jsonl::MAX_LINE_BYTES + rng.random_range(0..10);
                out.extend(std::iter::repeat_n(b'y', n));
                out.extend_from_slice(b"\"}");
            }
            3 => out.extend_from_slice(b"[1,2,3]"),
            _ => {
                let mut object = Map::new();
                for _ in 0..rng.random_range(0..8) {
                    let key = COLUMNS.choose(rng).unwrap().to_string();
                    object.insert(key, value(rng, 2));
                }
                out.extend_from_slice(Value::Object(object).to_string().as_bytes());
            }
        }
        out.extend_from_slice(if rng.random_bool(0.1) { b"\r\n" } else { b"\n" });
    }
    damage(rng, out)
}

/// A random JSON value, shallow.
fn value(rng: &mut impl Rng, depth: u32) -> Value {
    match rng.random_range(0..10) {
        0 => Value::Null,
        1 => json!(rng.random::<bool>()),
        2 => json!(*[0i64, -1, 1, i64::MAX, i64::MIN, 4930123456]
            .choose(rng)
            .unwrap()),
        3 => json!(rng.random::<f64>() * 1e300),
        4 if depth > 0 => Value::Array(
            (0..rng.random_range(0..4))
                .map(|_| value(rng, depth - 1))
                .collect(),
        ),
        5 if depth > 0 => json!({ "x": value(rng, depth - 1) }),
        _ => Value::String(text(rng)),
    }
}

/// The core's intake input: fields separated by 0xFF (see `targets::core_intake`).
pub fn core_registration(rng: &mut impl Rng) -> Vec<u8> {
    let mut out = Vec::new();
    for i in 0..15 {
        if i > 0 {
            out.push(0xff);
        }
        if rng.random_bool(0.7) {
            out.extend_from_slice(text(rng).as_bytes());
        }
    }
    out
}

/// A website submission: the documented fields with real and hostile values, then damage.
pub fn registration_body(rng: &mut impl Rng) -> Vec<u8> {
    let mut body = json!({
        "submission_id": format!("sub-{}", rng.random_range(0..1000)),
        "kind": *["license_key", "demo", "trial", "other", "nope"].choose(rng).unwrap(),
        "submitted_at": "2026-03-01T10:00:00Z",
        "name": "Ann Example",
        "email": format!("p{}@example.com", rng.random_range(0..100)),
        "phone": "+49 30 1234567",
        "country": "DE",
        "pages_visited": ["/a", "/b"],
    });
    for key in [
        "product",
        "company",
        "address",
        "ip",
        "user_agent",
        "referrer",
        "form_version",
    ] {
        if rng.random_bool(0.3) {
            body[key] = Value::String(text(rng));
        }
    }
    mutate(rng, &mut body, 3);
    damage(rng, body.to_string().into_bytes())
}

/// Operations a real replica pushes, built by the core from imported rows (the server's
/// office BER, routed from DE).
pub fn op_templates() -> &'static [Value] {
    static TEMPLATES: OnceLock<Vec<Value>> = OnceLock::new();
    TEMPLATES.get_or_init(|| {
        use chrono::TimeZone;
        use switchboard_core::import::{import_reader, Format, ImportOptions};
        let at = chrono::Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
        let mut store =
            switchboard_core::Store::open_in_memory(Arc::new(switchboard_core::FixedClock::at(at)))
                .expect("a store");
        let csv = "Submission ID,Name,E-mail,Phone Number,Country,Pages Visited\n\
                   t1,Ann Example,ann@example.com,030 1234567,DE,/a|/b\n\
                   t2,Bob Example,bob@example.com,,DE,\n";
        let options = ImportOptions {
            office: Some("BER".into()),
            format: Some(Format::Csv),
            ..ImportOptions::default()
        };
        import_reader(
            &mut store,
            csv.as_bytes(),
            0,
            Format::Csv,
            &options,
            &mut |_| {},
        )
        .expect("the template rows import");
        let mut ops: Vec<switchboard_protocol::Op> =
            switchboard_core::replica::pending_ops(store.conn(), 1000)
                .expect("the outbox builds")
                .into_iter()
                .map(|(_, op)| op)
                .collect();
        // One legitimate sample of every other kind (the authorization matrix's samples),
        // about a lead the rows above create.
        let lead_id = ops
            .iter()
            .find_map(|op| match op {
                switchboard_protocol::Op::LeadFieldsSet(set) => Some(set.lead_id.clone()),
                _ => None,
            })
            .expect("the rows create a lead");
        let context = switchboard_protocol::authz::SampleContext {
            user: "rita".into(),
            office: "BER".into(),
            lead_id,
            new_lead_id: "0190a1b2-0000-7000-8000-00000000f00d".into(),
            request_id: "req-fuzz".into(),
            partner_id: "partner-fuzz".into(),
            partner_name: "Partner".into(),
            suffix: "fuzz".into(),
            at,
            hlc: "1772442000000-00000-fuzz".into(),
            cadence_id: "cadence-fuzz".into(),
            replica_id: "replica-fuzz".into(),
        };
        ops.extend(switchboard_protocol::authz::samples(&context));
        ops.into_iter()
            .map(|op| serde_json::to_value(op).expect("an op serialises"))
            .collect()
    })
}

const OP_TYPES: &[&str] = &[
    "lead_fields_set",
    "registration_added",
    "follow_up_logged",
    "consent_recorded",
    "request_opened",
    "request_handled",
    "audit_recorded",
    "lead_erased",
    "lead_revoked",
    "partner_registered",
    "disclosure_recorded",
    "cadence_saved",
    "cadence_rule_added",
    "enrollment_synced",
    "nonsense",
];

/// A push body: real operations, mutated, under sequences that repeat, run backwards or
/// overflow, then damage.
pub fn push_body(rng: &mut impl Rng) -> Vec<u8> {
    let templates = op_templates();
    let mut ops = Vec::new();
    let mut seq: i64 = rng.random_range(0..1000);
    for _ in 0..rng.random_range(0..12) {
        let mut op = templates.choose(rng).unwrap().clone();
        mutate(rng, &mut op, 4);
        if rng.random_bool(0.05) {
            op["type"] = json!(*OP_TYPES.choose(rng).unwrap());
        }
        seq = match rng.random_range(0..10) {
            0 => seq,
            1 => -seq,
            2 => i64::MAX,
            _ => seq.saturating_add(1),
        };
        ops.push(json!({ "seq": seq, "op": op }));
    }
    let replica = if rng.random_bool(0.9) {
        format!("0190a1b2-0000-7000-8000-{:012}", rng.random_range(0..20))
    } else {
        text(rng)
    };
    let mut body = json!({ "replica_id": replica, "ops": ops });
    if rng.random_bool(0.05) {
        mutate(rng, &mut body, 1);
    }
    damage(rng, body.to_string().into_bytes())
}

/// Changes a few parts of a JSON value: strings, numbers and stamps to hostile ones, keys
/// dropped or added, types swapped.
fn mutate(rng: &mut impl Rng, v: &mut Value, depth: u32) {
    match v {
        Value::Object(map) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            for key in keys {
                if key == "type" || key == "group" {
                    continue;
                }
                match rng.random_range(0..40) {
                    0 => {
                        map.remove(&key);
                    }
                    1 => {
                        map.insert(key, value(rng, 1));
                    }
                    _ => {
                        if let Some(child) = map.get_mut(&key) {
                            if depth > 0 {
                                mutate(rng, child, depth - 1);
                            }
                        }
                    }
                }
            }
            if rng.random_bool(0.03) {
                map.insert("unexpected".into(), value(rng, 1));
            }
        }
        Value::Array(items) => {
            for item in items.iter_mut() {
                if depth > 0 {
                    mutate(rng, item, depth - 1);
                }
            }
            if rng.random_bool(0.05) {
                items.push(value(rng, 1));
            }
        }
        Value::String(s) => match rng.random_range(0..25) {
            0 => *s = text(rng),
            1 => *s = "9999999999999-99999-zz".into(),
            2 => *s = String::new(),
            3 => s.push_str(&text(rng)),
            _ => {}
        },
        Value::Number(_) if rng.random_bool(0.1) => *v = value(rng, 0),
        _ => {}
    }
}

fn hex(rng: &mut impl Rng, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b"0123456789abcdef"[rng.random_range(0..16)]))
        .collect()
}

/// An unsubscribe token: mostly well-formed (`u1.<the server's real key id>.<lead-like
/// id>.<32 hex>`, parts now and then swapped for random text), then damaged.
pub fn unsubscribe_token(rng: &mut impl Rng) -> Vec<u8> {
    let mut parts = vec![
        "u1".to_string(),
        crate::server::unsubscribe_key().0.clone(),
        format!(
            "{}-{}-{}-{}-{}",
            hex(rng, 8),
            hex(rng, 4),
            hex(rng, 4),
            hex(rng, 4),
            hex(rng, 12)
        ),
        hex(rng, 32),
    ];
    for part in parts.iter_mut() {
        if rng.random_bool(0.1) {
            *part = text(rng);
        }
    }
    if rng.random_bool(0.1) {
        parts.push(text(rng));
    }
    damage(rng, parts.join(".").into_bytes())
}

/// Byte-level damage to well-formed input, now and then: a byte flipped, a cut, a stray
/// quote, invalid UTF-8, a NUL, a chunk repeated.
pub fn damage(rng: &mut impl Rng, mut bytes: Vec<u8>) -> Vec<u8> {
    for _ in 0..rng.random_range(0..3) {
        if bytes.is_empty() || rng.random_bool(0.5) {
            continue;
        }
        let at = rng.random_range(0..bytes.len());
        match rng.random_range(0..6) {
            0 => bytes[at] ^= 1 << rng.random_range(0..8),
            1 => bytes.truncate(at),
            2 => bytes.insert(at, b'"'),
            3 => bytes.insert(at, 0xff),
            4 => bytes.insert(at, 0),
            _ => {
                let end = (at + rng.random_range(1..64)).min(bytes.len());
                let chunk = bytes[at..end].to_vec();
                bytes.splice(at..at, chunk);
            }
        }
    }
    bytes
}

/// A compact push (`targets::compact_push`): a flag byte (zstd or not), then a push body from
/// `push_body` in MessagePack, at times with bytes changed after encoding, at times a zstd bomb.
pub fn compact_push_body(rng: &mut impl Rng) -> Vec<u8> {
    let json = push_body(rng);
    let mut packed = match serde_json::from_slice::<serde_json::Value>(&json) {
        Ok(value) => rmp_serde::to_vec_named(&value).expect("a JSON value packs"),
        Err(_) => json,
    };
    if rng.random_bool(0.1) && !packed.is_empty() {
        for _ in 0..rng.random_range(1..4) {
            let at = rng.random_range(0..packed.len());
            packed[at] = rng.random();
        }
    }
    if rng.random_bool(0.02) {
        // Far past the push limit once decompressed, a few KiB on the wire.
        let zeros = vec![0u8; 8 * switchboard_protocol::limits::PUSH_BODY_LIMIT];
        packed = zstd::bulk::compress(&zeros, 1).expect("zstd compresses");
        return [&[1u8][..], &packed].concat();
    }
    if rng.random_bool(0.5) {
        let mut zipped = zstd::bulk::compress(&packed, 1).expect("zstd compresses");
        if rng.random_bool(0.05) && !zipped.is_empty() {
            let at = rng.random_range(0..zipped.len());
            zipped[at] = rng.random();
        }
        return [&[1u8][..], &zipped].concat();
    }
    [&[0u8][..], &packed].concat()
}

/// A packed push (`targets::packed_push`): a flag byte, then either packed MessagePack of a
/// `push_body` (flag 1: the target compresses it with the dictionary), now and then with bytes
/// changed, deep nesting or huge counts; or (flag 0) the compressed body itself, at times
/// damaged, at times a bomb.
pub fn packed_push_body(rng: &mut impl Rng) -> Vec<u8> {
    use switchboard_protocol::packed;
    let json = push_body(rng);
    let mut raw = match serde_json::from_slice::<serde_json::Value>(&json) {
        Ok(value) => packed::pack(&value),
        Err(_) => json,
    };
    match rng.random_range(0..50) {
        0 => raw = [vec![0x91u8; rng.random_range(1..200)], vec![0xc0]].concat(),
        1 => raw = vec![0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0],
        2 => raw.insert(0, 0xd4),
        _ => {}
    }
    if rng.random_bool(0.1) && !raw.is_empty() {
        for _ in 0..rng.random_range(1..4) {
            let at = rng.random_range(0..raw.len());
            raw[at] = rng.random();
        }
    }
    if rng.random_bool(0.02) {
        // Far past the push limit once decompressed, a few KiB on the wire.
        let zeros = vec![0u8; 8 * switchboard_protocol::limits::PUSH_BODY_LIMIT];
        return [&[0u8][..], &packed::compress(&zeros)].concat();
    }
    if rng.random_bool(0.5) {
        let mut zipped = packed::compress(&raw);
        if rng.random_bool(0.1) && !zipped.is_empty() {
            let at = rng.random_range(0..zipped.len());
            zipped[at] = rng.random();
        }
        return [&[0u8][..], &zipped].concat();
    }
    [&[1u8][..], &raw].concat()
}
