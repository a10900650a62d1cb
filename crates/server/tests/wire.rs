//! The compact wire format (protocol 4) through a real server over HTTPS: a push in MessagePack
//! compressed with zstd is applied like its JSON twin, a pull asked for in the compact form
//! decodes to the very page the JSON pull gives, JSON stays the default, and hostile bodies —
//! a zstd bomb, an unknown type or encoding, garbage, the wrong shape — get their own answers
//! without harm.

use reqwest::header::{ACCEPT, ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE};
use reqwest::StatusCode;
use switchboard_protocol::*;
use switchboard_test_support::{TestOptions, TestServer};

fn ops(replica: &str, lead: &str) -> Vec<PushOp> {
    let create = Op::LeadFieldsSet(LeadFieldsSet {
        lead_id: lead.into(),
        fields: LeadFields::Identity {
            name: Some("Ada Compact".into()),
            company: None,
        },
        hlc: format!("{:013}-00000-{replica}", 1_772_000_000_000i64),
        created_at: chrono::Utc::now(),
    });
    let call = Op::FollowUpLogged(FollowUp {
        id: format!("{lead}-fu"),
        lead_id: lead.into(),
        channel: Channel::Phone,
        direction: Direction::Out,
        outcome: Outcome::NoAnswer,
        note: Some("left a message".into()),
        occurred_at: chrono::Utc::now(),
        rep: "rita".into(),
        next_follow_up_at: None,
    });
    vec![PushOp { seq: 1, op: create }, PushOp { seq: 2, op: call }]
}

fn compact<T: serde::Serialize>(value: &T) -> Vec<u8> {
    zstd::bulk::compress(&rmp_serde::to_vec_named(value).unwrap(), 3).unwrap()
}

/// A server with office BER and its rep rita, signed in: the server and her token.
async fn signed_in_rep() -> (TestServer, String) {
    let server = TestServer::start(TestOptions::default()).await.unwrap();
    server.add_office("BER", "DE").await.unwrap();
    server
        .add_user("rita", Role::Rep, Some("BER"), "pw")
        .await
        .unwrap();
    let api = server.login("rita", "pw").await.unwrap();
    let token = api.token.expose().to_string();
    (server, token)
}

#[tokio::test]
async fn compact_bodies_round_trip_and_hostile_ones_are_refused() {
    let (server, token) = signed_in_rep().await;
    let http = server.http();
    let push = |body: Vec<u8>, content_type: &str, encoding: Option<&str>| {
        let mut request = http
            .post(format!("{}/v1/push", server.url))
            .bearer_auth(&token)
            .header(CONTENT_TYPE, content_type)
            .header(ACCEPT, COMPACT_CONTENT_TYPE)
            .body(body);
        if let Some(e) = encoding {
            request = request.header(CONTENT_ENCODING, e);
        }
        request.send()
    };
    let code = |response: reqwest::Response| async move {
        let status = response.status();
        let body: ErrorBody = response.json().await.unwrap();
        (status, body.code)
    };

    // A compact, compressed push is applied and answered compactly.
    let request = PushRequest {
        replica_id: "replica-compact".into(),
        ops: ops("replica-compact", "lead-compact"),
    };
    let answer = push(
        compact(&request),
        COMPACT_CONTENT_TYPE,
        Some(COMPACT_ENCODING),
    )
    .await
    .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(
        answer.headers()[CONTENT_TYPE].to_str().unwrap(),
        COMPACT_CONTENT_TYPE
    );
    let results: PushResponse = rmp_serde::from_slice(&answer.bytes().await.unwrap()).unwrap();
    assert!(
        results
            .results
            .iter()
            .all(|r| r.status == PushStatus::Applied),
        "{results:?}"
    );
    // Its JSON twin from another replica is applied the same way.
    let json_twin = PushRequest {
        replica_id: "replica-json".into(),
        ops: ops("replica-json", "lead-json"),
    };
    let answer = http
        .post(format!("{}/v1/push", server.url))
        .bearer_auth(&token)
        .json(&json_twin)
        .send()
        .await
        .unwrap();
    assert_eq!(
        answer.headers()[CONTENT_TYPE].to_str().unwrap(),
        "application/json"
    );
    let results: PushResponse = answer.json().await.unwrap();
    assert!(results
        .results
        .iter()
        .all(|r| r.status == PushStatus::Applied));

    // The compact pull holds exactly the JSON pull's page, in fewer bytes.
    let pull = |compact: bool| {
        let mut request = http
            .get(format!("{}/v1/changes?after=0&limit=100", server.url))
            .bearer_auth(&token);
        if compact {
            request = request
                .header(ACCEPT, COMPACT_CONTENT_TYPE)
                .header(ACCEPT_ENCODING, COMPACT_ENCODING);
        }
        request.send()
    };
    let json = pull(false).await.unwrap();
    assert!(json.headers().get(CONTENT_ENCODING).is_none());
    let json_bytes = json.bytes().await.unwrap();
    let json_page: ChangesPage = serde_json::from_slice(&json_bytes).unwrap();
    let packed = pull(true).await.unwrap();
    assert_eq!(packed.headers()[CONTENT_ENCODING], COMPACT_ENCODING);
    let packed_bytes = packed.bytes().await.unwrap();
    let page: ChangesPage =
        rmp_serde::from_slice(&zstd::stream::decode_all(&packed_bytes[..]).unwrap()).unwrap();
    assert_eq!(page, json_page);
    assert_eq!(page.changes.len(), 4, "{page:?}");
    assert!(
        packed_bytes.len() < json_bytes.len() / 2,
        "{} vs {}",
        packed_bytes.len(),
        json_bytes.len()
    );

    // A zstd bomb: 64 MiB of zeros in a few KiB, far past the 4 MiB limit once decompressed.
    let bomb = zstd::bulk::compress(&vec![0u8; 64 * 1024 * 1024], 3).unwrap();
    assert!(bomb.len() < limits::PUSH_BODY_LIMIT / 100);
    let answer = push(bomb, COMPACT_CONTENT_TYPE, Some(COMPACT_ENCODING))
        .await
        .unwrap();
    assert_eq!(
        code(answer).await,
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large".into())
    );
    // Unknown type or encoding: 415, which makes clients fall back to JSON.
    let answer = push(b"{}".to_vec(), "application/cbor", None)
        .await
        .unwrap();
    assert_eq!(
        code(answer).await,
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type".into()
        )
    );
    let answer = push(b"{}".to_vec(), "application/json", Some("br"))
        .await
        .unwrap();
    assert_eq!(code(answer).await.0, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Not zstd, not MessagePack, the wrong shape.
    let answer = push(
        b"garbage".to_vec(),
        COMPACT_CONTENT_TYPE,
        Some(COMPACT_ENCODING),
    )
    .await
    .unwrap();
    assert_eq!(code(answer).await.0, StatusCode::BAD_REQUEST);
    let answer = push(vec![0xc1], COMPACT_CONTENT_TYPE, None).await.unwrap();
    assert_eq!(code(answer).await.0, StatusCode::BAD_REQUEST);
    let answer = push(
        rmp_serde::to_vec_named(&ErrorBody {
            code: "x".into(),
            message: "y".into(),
        })
        .unwrap(),
        COMPACT_CONTENT_TYPE,
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        code(answer).await,
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid".into())
    );
    server.stop().await;
}

/// Protocol 5's packed form through the real server: a packed push is applied, a packed pull
/// is the JSON pull's page in a fraction of its bytes, a caller without the dictionary (or with
/// one the server lacks) gets the compact form, and hostile packed bodies get their own answers.
#[tokio::test]
async fn packed_bodies_round_trip_and_unknown_dictionaries_fall_back() {
    let (server, token) = signed_in_rep().await;
    let http = server.http();
    let push = |body: Vec<u8>, content_type: &str| {
        http.post(format!("{}/v1/push", server.url))
            .bearer_auth(&token)
            .header(CONTENT_TYPE, content_type)
            .header(ACCEPT, packed::PACKED_CONTENT_TYPE)
            .body(body)
            .send()
    };
    let code = |response: reqwest::Response| async move {
        let status = response.status();
        let body: ErrorBody = response.json().await.unwrap();
        (status, body.code)
    };

    let request = PushRequest {
        replica_id: "019cadc6-9a80-7477-acb2-a6e24d4b8643".into(),
        ops: ops(
            "019cadc6-9a80-7477-acb2-a6e24d4b8643",
            "019cadc6-b5d8-759d-bc29-ca875e11ffeb",
        ),
    };
    let answer = push(packed::encode(&request), packed::PACKED_CONTENT_TYPE)
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(
        answer.headers()[CONTENT_TYPE].to_str().unwrap(),
        packed::PACKED_CONTENT_TYPE
    );
    assert!(answer.headers().get(CONTENT_ENCODING).is_none());
    let results: PushResponse = packed::decode(&answer.bytes().await.unwrap(), 1 << 20).unwrap();
    assert_eq!(results.results.len(), 2);
    assert!(
        results
            .results
            .iter()
            .all(|r| r.status == PushStatus::Applied),
        "{results:?}"
    );
    // The same body again: duplicates, so it was applied once.
    let again = push(packed::encode(&request), packed::PACKED_CONTENT_TYPE)
        .await
        .unwrap();
    let again: PushResponse = packed::decode(&again.bytes().await.unwrap(), 1 << 20).unwrap();
    assert!(again
        .results
        .iter()
        .all(|r| r.status == PushStatus::Duplicate));

    let pull = |accept: Option<&'static str>| {
        let mut request = http
            .get(format!("{}/v1/changes?after=0&limit=100", server.url))
            .bearer_auth(&token);
        if let Some(accept) = accept {
            request = request
                .header(ACCEPT, accept)
                .header(ACCEPT_ENCODING, COMPACT_ENCODING);
        }
        request.send()
    };
    let json_bytes = pull(None).await.unwrap().bytes().await.unwrap();
    let json_page: ChangesPage = serde_json::from_slice(&json_bytes).unwrap();
    assert_eq!(json_page.changes.len(), 2, "{json_page:?}");
    let answer = pull(Some(
        "application/vnd.switchboard.msgpack+zstd; dict=1, application/msgpack",
    ))
    .await
    .unwrap();
    assert_eq!(
        answer.headers()[CONTENT_TYPE].to_str().unwrap(),
        packed::PACKED_CONTENT_TYPE
    );
    let packed_bytes = answer.bytes().await.unwrap();
    let page: ChangesPage = packed::decode(&packed_bytes, 1 << 20).unwrap();
    assert_eq!(page, json_page);
    assert!(
        packed_bytes.len() * 3 < json_bytes.len(),
        "{} vs {}",
        packed_bytes.len(),
        json_bytes.len()
    );
    // A caller naming only a dictionary the server lacks gets the compact form it also named.
    let answer = pull(Some(
        "application/vnd.switchboard.msgpack+zstd; dict=2, application/msgpack",
    ))
    .await
    .unwrap();
    assert_eq!(
        answer.headers()[CONTENT_TYPE].to_str().unwrap(),
        COMPACT_CONTENT_TYPE
    );
    let compact_page: ChangesPage = rmp_serde::from_slice(
        &zstd::stream::decode_all(&answer.bytes().await.unwrap()[..]).unwrap(),
    )
    .unwrap();
    assert_eq!(compact_page, json_page);

    // A push in a dictionary the server lacks: 415 with its own code (clients fall back).
    let answer = push(
        packed::encode(&request),
        "application/vnd.switchboard.msgpack+zstd; dict=2",
    )
    .await
    .unwrap();
    assert_eq!(
        code(answer).await,
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            packed::UNKNOWN_DICTIONARY.into()
        )
    );
    // A bomb: 64 MiB of zeros packed in a few KiB, refused at the 4 MiB limit.
    let bomb = packed::compress(&vec![0u8; 64 * 1024 * 1024]);
    assert!(bomb.len() < limits::PUSH_BODY_LIMIT / 100);
    let answer = push(bomb, packed::PACKED_CONTENT_TYPE).await.unwrap();
    assert_eq!(
        code(answer).await,
        (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large".into())
    );
    // Garbage, then well-formed packed data of the wrong shape.
    let answer = push(b"garbage".to_vec(), packed::PACKED_CONTENT_TYPE)
        .await
        .unwrap();
    assert_eq!(code(answer).await.0, StatusCode::BAD_REQUEST);
    let answer = push(
        packed::encode(&ErrorBody {
            code: "x".into(),
            message: "y".into(),
        }),
        packed::PACKED_CONTENT_TYPE,
    )
    .await
    .unwrap();
    assert_eq!(
        code(answer).await,
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid".into())
    );
    server.stop().await;
}
