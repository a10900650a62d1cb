//! Bytes on the wire per follow-up (issue 14), JSON against the compact form (protocol 4:
//! MessagePack + zstd), in the same run, through a real server over HTTPS: a replica logs calls
//! (real follow-ups from the domain), pushes batches of 1, 10, 100 and 500 in each format, and
//! a manager's replica pulls them in each format. Counts HTTP body bytes (what the format
//! changes); TLS records and HTTP headers come on top. Not a timed benchmark: the sizes are the
//! same in any build profile.
//!
//! `cargo run -p switchboard-tests --example wire_bench`

#[path = "../support/sync.rs"]
mod sync_support;

use reqwest::header::{ACCEPT, ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE};
use switchboard_core::clock::new_id;
use switchboard_protocol::*;
use switchboard_sync::client::compact_push;
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
async fn push(hub: &Hub, token: &Secret, ops: Vec<PushOp>, compact: bool) -> (usize, usize) {
    let request = PushRequest {
        replica_id: new_id(monday()),
        ops,
    };
    let (body, content_type) = if compact {
        (compact_push(&request), COMPACT_CONTENT_TYPE)
    } else {
        (serde_json::to_vec(&request).unwrap(), "application/json")
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
    if compact {
        http = http
            .header(CONTENT_ENCODING, COMPACT_ENCODING)
            .header(ACCEPT, COMPACT_CONTENT_TYPE)
            .header(ACCEPT_ENCODING, COMPACT_ENCODING);
    }
    let answer = http.send().await.unwrap();
    assert!(answer.status().is_success(), "{}", answer.status());
    (sent, answer.bytes().await.unwrap().len())
}

/// Pulls one page after `after` of at most `limit` changes; returns (changes, body bytes).
async fn pull(
    hub: &Hub,
    token: &Secret,
    after: i64,
    limit: usize,
    compact: bool,
) -> (usize, usize) {
    let mut http = hub
        .server
        .http()
        .get(format!(
            "{}/v1/changes?after={after}&limit={limit}",
            hub.server.url
        ))
        .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
        .bearer_auth(token.expose());
    if compact {
        http = http
            .header(ACCEPT, COMPACT_CONTENT_TYPE)
            .header(ACCEPT_ENCODING, COMPACT_ENCODING);
    }
    let answer = http.send().await.unwrap();
    assert!(answer.status().is_success(), "{}", answer.status());
    let compressed = answer.headers().get(CONTENT_ENCODING).is_some();
    let bytes = answer.bytes().await.unwrap();
    let page: ChangesPage = switchboard_sync::client::decode_body(compact, compressed, &bytes)
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
    for batch in [1usize, 10, 100, 500] {
        for compact in [false, true] {
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
            let (sent, answered) = push(&hub, &rita.token, ops, compact).await;
            let (count, pulled) = pull(&hub, &mona.token, before, batch, compact).await;
            assert_eq!(count, batch, "the pull holds the batch");
            println!(
                "{batch}\t{}\t{:.0}\t{answered}\t{:.0}",
                if compact { "msgpack+zstd" } else { "json" },
                sent as f64 / batch as f64,
                pulled as f64 / batch as f64
            );
        }
    }
}
