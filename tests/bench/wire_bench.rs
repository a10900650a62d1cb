//! Bytes on the wire per follow-up (issue 14): JSON, the compact form (protocol 4: MessagePack +
//! zstd) and the packed form (protocol 5: binary ids and times, zstd with dictionary 1), in the
//! same run, through a real server over HTTPS: a replica logs calls (real follow-ups from the
//! domain), pushes batches of 1, 10, 100 and 500 in each format, and a manager's replica pulls
//! them in each format. Counts HTTP body bytes (what the format changes); TLS records and HTTP
//! headers come on top. Then the anatomy of a lone follow-up push: what its bytes are made of
//! in each form, and what a lone follow-up costs with other notes. Not a timed benchmark: the
//! sizes are the same in any build profile.
//!
//! `cargo run -p switchboard-tests --example wire_bench`

#[path = "../support/sync.rs"]
mod sync_support;

use reqwest::header::{ACCEPT, ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE};
use switchboard_core::clock::new_id;
use switchboard_protocol::packed;
use switchboard_protocol::*;
use switchboard_sync::client::compact_push;

/// The body forms compared.
#[derive(Clone, Copy, PartialEq)]
enum Form {
    Json,
    Compact,
    Packed,
}

impl Form {
    fn name(self) -> &'static str {
        match self {
            Form::Json => "json",
            Form::Compact => "msgpack+zstd",
            Form::Packed => "packed dict=1",
        }
    }
}
use sync_support::{monday, Hub, Replica};

/// `n` new calls on `lead`, as the operations a push carries.
fn calls(rita: &mut Replica, lead: &str, n: usize) -> Vec<PushOp> {
    (0..n)
        .map(|i| {
            rita.clock.set(monday());
            let id = rita.call(lead, "left a message, will try again tomorrow");
            let f = switchboard_core::replica::materialize::follow_up(rita.store.conn(), &id)
                .unwrap()
                .unwrap();
            PushOp {
                seq: i as i64 + 1,
                op: Op::FollowUpLogged(f),
            }
        })
        .collect()
}

/// Pushes `ops` as a fresh replica; returns (request body bytes, answer body bytes).
async fn push(hub: &Hub, token: &Secret, ops: Vec<PushOp>, form: Form) -> (usize, usize) {
    let request = PushRequest {
        replica_id: new_id(monday()),
        ops,
    };
    let (body, content_type) = match form {
        Form::Json => (serde_json::to_vec(&request).unwrap(), "application/json"),
        Form::Compact => (compact_push(&request), COMPACT_CONTENT_TYPE),
        Form::Packed => (packed::encode(&request), packed::PACKED_CONTENT_TYPE),
    };
    let sent = body.len();
    let mut http = hub
        .server
        .http()
        .post(format!("{}/v1/push", hub.server.url))
        .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
        .header(CONTENT_TYPE, content_type)
        .bearer_auth(token.expose())
        .body(body);
    match form {
        Form::Json => {}
        Form::Compact => {
            http = http
                .header(CONTENT_ENCODING, COMPACT_ENCODING)
                .header(ACCEPT, COMPACT_CONTENT_TYPE)
                .header(ACCEPT_ENCODING, COMPACT_ENCODING);
        }
        Form::Packed => http = http.header(ACCEPT, packed::PACKED_CONTENT_TYPE),
    }
    let answer = http.send().await.unwrap();
    assert!(answer.status().is_success(), "{}", answer.status());
    (sent, answer.bytes().await.unwrap().len())
}

/// Pulls one page after `after` of at most `limit` changes; returns (changes, body bytes).
async fn pull(hub: &Hub, token: &Secret, after: i64, limit: usize, form: Form) -> (usize, usize) {
    let mut http = hub
        .server
        .http()
        .get(format!(
            "{}/v1/changes?after={after}&limit={limit}",
            hub.server.url
        ))
        .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
        .bearer_auth(token.expose());
    match form {
        Form::Json => {}
        Form::Compact => {
            http = http
                .header(ACCEPT, COMPACT_CONTENT_TYPE)
                .header(ACCEPT_ENCODING, COMPACT_ENCODING);
        }
        Form::Packed => http = http.header(ACCEPT, packed::PACKED_CONTENT_TYPE),
    }
    let answer = http.send().await.unwrap();
    assert!(answer.status().is_success(), "{}", answer.status());
    let compressed = answer.headers().get(CONTENT_ENCODING).is_some();
    let content_type = answer.headers()[CONTENT_TYPE].to_str().unwrap().to_string();
    let bytes = answer.bytes().await.unwrap();
    let page: ChangesPage = if form == Form::Packed {
        assert_eq!(content_type, packed::PACKED_CONTENT_TYPE);
        switchboard_sync::client::decode_packed_body(&content_type, &bytes)
    } else {
        switchboard_sync::client::decode_body(form == Form::Compact, compressed, &bytes)
    }
    .expect("the page decodes");
    (page.changes.len(), bytes.len())
}

#[tokio::main]
async fn main() {
    let hub = Hub::start().await;
    let mut rita = hub.replica("rita").await;
    let mona = hub.replica("mona").await;
    rita.clock.set(monday());
    let lead = rita.add_lead("Wire Bench", "wire@example.com", "+493055500000", "DE");
    rita.sync().await;
    println!("batch\tformat\tpush B/follow-up\tpush answer B\tpull B/follow-up");
    let mut lone = None;
    for batch in [1usize, 10, 100, 500] {
        for form in [Form::Json, Form::Compact, Form::Packed] {
            // The cursor before this batch: pull everything there is.
            let mut before = 0;
            loop {
                let page = mona
                    .client
                    .pull(&mona.token, before, 1000, 0)
                    .await
                    .unwrap();
                before = page.next_cursor;
                if !page.has_more {
                    break;
                }
            }
            let ops = calls(&mut rita, &lead, batch);
            if batch == 1 {
                lone = Some(ops[0].clone());
            }
            let (sent, answered) = push(&hub, &rita.token, ops, form).await;
            let (count, pulled) = pull(&hub, &mona.token, before, batch, form).await;
            assert_eq!(count, batch, "the pull holds the batch");
            println!(
                "{batch}\t{}\t{:.0}\t{answered}\t{:.0}",
                form.name(),
                sent as f64 / batch as f64,
                pulled as f64 / batch as f64
            );
        }
    }
    anatomy(lone.expect("a lone follow-up was pushed"));
}

/// What a lone follow-up push is made of: its MessagePack bytes by kind (named-field
/// MessagePack as the compact form writes it, and as the packed form writes it), the zstd
/// frame's own bytes, and what removing each random part saves once compressed.
fn anatomy(op: PushOp) {
    let request = PushRequest {
        replica_id: new_id(monday()),
        ops: vec![op],
    };
    let tree = serde_json::to_value(&request).unwrap();
    println!("\nlone follow-up push, MessagePack bytes by kind (compact form / packed form):");
    let mut compact_parts = Parts::default();
    let mut packed_parts = Parts::default();
    compact_parts.walk(&tree, "", false);
    packed_parts.walk(&tree, "", true);
    for (name, compact, packed) in compact_parts.rows(&packed_parts) {
        println!("  {name:<40} {compact:>4} B / {packed:>4} B");
    }
    let compact_raw = rmp_serde::to_vec_named(&request).unwrap();
    let packed_raw = packed::pack(&tree);
    println!(
        "  {:<40} {:>4} B / {:>4} B",
        "total before zstd",
        compact_raw.len(),
        packed_raw.len()
    );
    let compact_zstd = compact_push(&request);
    let compact_frame = zstd::bulk::compress(&[], 3).unwrap().len();
    let packed_frame = packed::compress(&[]).len();
    println!(
        "  {:<40} {:>4} B / {:>4} B  (frame with no content: {compact_frame} B / {packed_frame} B)",
        "after zstd (what is sent)",
        compact_zstd.len(),
        packed::encode(&request).len()
    );
    // The marginal cost of each random part: the body with it replaced by a constant.
    let cost = |change: &dyn Fn(&mut serde_json::Value)| {
        let mut other = tree.clone();
        change(&mut other);
        let compact = zstd::bulk::compress(&rmp_serde::to_vec_named(&other).unwrap(), 3)
            .unwrap()
            .len();
        let packed = packed::encode_value(&other).len();
        (
            compact_zstd.len() as i64 - compact as i64,
            packed::encode(&request).len() as i64 - packed as i64,
        )
    };
    let zero = "00000000-0000-0000-0000-000000000000";
    let parts: [(&str, Box<Edit>); 4] = [
        (
            "the three ids (zeroed)",
            Box::new(move |v: &mut serde_json::Value| {
                v["replica_id"] = zero.into();
                v["ops"][0]["op"]["id"] = zero.into();
                v["ops"][0]["op"]["lead_id"] = zero.into();
            }),
        ),
        (
            "the note (null)",
            Box::new(|v: &mut serde_json::Value| {
                v["ops"][0]["op"]["note"] = serde_json::Value::Null
            }),
        ),
        (
            "occurred_at (1970)",
            Box::new(|v: &mut serde_json::Value| {
                v["ops"][0]["op"]["occurred_at"] = "1970-01-01T00:00:00Z".into()
            }),
        ),
        (
            "rep (empty)",
            Box::new(|v: &mut serde_json::Value| v["ops"][0]["op"]["rep"] = "".into()),
        ),
    ];
    println!("lone follow-up push, bytes saved once compressed (compact / packed):");
    for (name, change) in parts.iter() {
        let (compact, packed) = cost(change.as_ref());
        println!("  {name:<40} {compact:>4} B / {packed:>4} B");
    }
    println!("lone follow-up push with other notes (compact / packed):");
    for note in [
        None,
        Some("left a message, will try again tomorrow"),
        Some("Herr Brämer fragt nach Rechnung 2026-0471 (Mahnstufe 2)"),
        Some("Q3 budget frozen; revisit with CFO in Oct, ref #88213"),
    ] {
        let mut other = tree.clone();
        other["ops"][0]["op"]["note"] = note.into();
        let compact = zstd::bulk::compress(&rmp_serde::to_vec_named(&other).unwrap(), 3)
            .unwrap()
            .len();
        println!(
            "  {:<58} {compact:>4} B / {:>4} B",
            format!("{note:?}"),
            packed::encode_value(&other).len()
        );
    }
}

/// A change to a body's JSON tree.
type Edit = dyn Fn(&mut serde_json::Value);

/// MessagePack bytes of a body by kind.
#[derive(Default)]
struct Parts {
    keys: usize,
    ids: usize,
    times: usize,
    note: usize,
    names: usize,
    envelope: usize,
}

impl Parts {
    fn walk(&mut self, value: &serde_json::Value, key: &str, packed_form: bool) {
        use serde_json::Value;
        let text = |s: &str| packed::pack(&Value::String(s.to_string())).len();
        let compact_text = |s: &str| rmp_serde::to_vec(s).unwrap().len();
        match value {
            Value::Object(map) => {
                self.envelope += rmp_serde::to_vec(&serde_json::Map::new()).unwrap().len();
                for (k, v) in map {
                    self.keys += compact_text(k);
                    self.walk(v, k, packed_form);
                }
            }
            Value::Array(items) => {
                self.envelope += 1;
                for item in items {
                    self.walk(item, key, packed_form);
                }
            }
            Value::String(s) => {
                let size = if packed_form {
                    text(s)
                } else {
                    compact_text(s)
                };
                if key == "note" {
                    self.note += size;
                } else if key.ends_with("id") {
                    self.ids += size;
                } else if key.ends_with("_at") {
                    self.times += size;
                } else {
                    self.names += size;
                }
            }
            other => self.envelope += rmp_serde::to_vec(other).unwrap().len(),
        }
    }

    fn rows(&self, packed: &Parts) -> Vec<(&'static str, usize, usize)> {
        vec![
            ("field names", self.keys, packed.keys),
            ("ids (replica, follow-up, lead)", self.ids, packed.ids),
            ("times (occurred_at)", self.times, packed.times),
            ("note", self.note, packed.note),
            ("type, enum values, rep", self.names, packed.names),
            (
                "envelope (maps, array, seq, nulls)",
                self.envelope,
                packed.envelope,
            ),
        ]
    }
}
