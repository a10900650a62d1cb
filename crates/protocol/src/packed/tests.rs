//! The packed form: round trips, hostile bodies, and the direct reader against the tree.

use super::*;
use serde_json::json;

fn round_trip(tree: &Value) {
    let body = encode_value(tree);
    assert_eq!(&decode_value(&body, 1 << 20).unwrap(), tree, "{tree}");
}

#[test]
fn the_tree_reads_back_exactly() {
    round_trip(&json!({
        "replica_id": "019cadc6-9a80-7477-acb2-a6e24d4b8643",
        "upper": "019CADC6-9A80-7477-ACB2-A6E24D4B8643",
        "braced": "{019cadc6-9a80-7477-acb2-a6e24d4b8643}",
        "at": "2026-03-02T09:00:07Z",
        "ms": "2026-03-02T09:00:07.120Z",
        "us": "2026-03-02T09:00:07.000120Z",
        "ns": "2026-03-02T09:00:07.000000001Z",
        "padded": "2026-03-02T09:00:07.100000Z",
        "offset": "2026-03-02T09:00:07+00:00",
        "old": "1901-01-01T00:00:00Z",
        "far": "2500-01-01T00:00:00.5Z",
        "hlc": "1772442007000-00003-019cadc6-9a80-7477-acb2-a6e24d4b8643",
        "hlc_text_node": "1772442007000-00003-rita",
        "hlc_wide": "1772442007000-000003-019cadc6-9a80-7477-acb2-a6e24d4b8",
        "numbers": [0, 1, -1, 127, 128, -33, 65536, i64::MIN, u64::MAX, 1.5, -0.25],
        "nested": [[[{"a": null, "b": true, "c": false}]]],
        "text": "left a message, will try again tomorrow ✓",
        "empty": "",
        "long": "x".repeat(70_000),
    }));
}

/// Strings near the canonical forms: most convert, some must stay text.
fn tricky_text() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    prop_oneof![
        any::<u128>().prop_map(|n| uuid::Uuid::from_u128(n).to_string()),
        any::<u128>().prop_map(|n| uuid::Uuid::from_u128(n).to_string().to_uppercase()),
        (
            -70_000_000_000i64..300_000_000_000,
            0u32..1_000_000_000,
            0..4usize
        )
            .prop_map(|(secs, nanos, digits)| {
                let at = chrono::DateTime::from_timestamp(secs, nanos).unwrap();
                let format = [
                    chrono::SecondsFormat::AutoSi,
                    chrono::SecondsFormat::Millis,
                    chrono::SecondsFormat::Micros,
                    chrono::SecondsFormat::Nanos,
                ][digits];
                at.to_rfc3339_opts(format, digits != 2)
            }),
        (0u64..1 << 50, any::<u32>(), any::<u128>()).prop_map(|(ms, counter, node)| format!(
            "{ms:013}-{counter:05}-{}",
            uuid::Uuid::from_u128(node)
        )),
        ".{0,40}",
    ]
}

fn tree() -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        tricky_text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            proptest::collection::btree_map(tricky_text(), inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest::proptest! {
    /// Whatever the tree, decoding gives back exactly what was encoded.
    #[test]
    fn any_json_tree_reads_back_exactly(value in tree()) {
        let body = encode_value(&value);
        proptest::prop_assert_eq!(decode_value(&body, 1 << 24).unwrap(), value);
    }
}

/// A page of the kinds of change a first sync brings (follow-ups, registrations with their
/// flattened details, audit entries), its texts drawn from `tricky_text`.
fn page() -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    let optional = || proptest::option::of(tricky_text());
    let follow_up = (tricky_text(), tricky_text(), optional(), any::<bool>()).prop_map(
        |(id, rep, note, inbound)| {
            let mut f = serde_json::to_value(lone_follow_up()).unwrap();
            f["id"] = json!(id);
            f["rep"] = json!(rep);
            f["note"] = json!(note);
            f["direction"] = json!(if inbound { "in" } else { "out" });
            f["type"] = json!("follow_up_logged");
            f
        },
    );
    let registration = (
        tricky_text(),
        optional(),
        optional(),
        proptest::collection::vec(tricky_text(), 0..3),
    )
        .prop_map(|(id, name, email, pages)| {
            json!({"type": "registration_added", "id": id,
                   "lead_id": "019cadc6-b5d8-759d-bc29-ca875e11ffeb", "submission_id": null,
                   "kind": "trial", "product": null, "submitted_at": "2026-03-02T09:00:07Z",
                   "name": name, "email": email, "pages_visited": pages})
        });
    let audit = (tricky_text(), optional(), optional()).prop_map(|(id, old, new)| {
        json!({"type": "audit_recorded", "id": id, "at": "2026-03-02T09:00:07.120Z",
               "actor": "rita", "lead_id": null, "action": "edit", "field": "email",
               "old_value": old, "new_value": new})
    });
    let op = prop_oneof![follow_up, registration, audit];
    (
        proptest::collection::vec((any::<u32>(), op), 0..6),
        0..i64::MAX,
        any::<bool>(),
    )
        .prop_map(|(ops, next_cursor, has_more)| {
            let changes: Vec<Value> = ops
                .into_iter()
                .map(|(seq, op)| json!({"server_seq": seq, "op": op}))
                .collect();
            json!({"changes": changes, "next_cursor": next_cursor, "has_more": has_more})
        })
}

/// `node` with the node that `path` picks replaced by `with`, or removed when `with` is
/// `None`.
fn damaged(mut node: Value, path: &[usize], with: Option<Value>) -> Value {
    let Some((step, rest)) = path.split_first() else {
        return with.unwrap_or(Value::Null);
    };
    match &mut node {
        Value::Array(items) if !items.is_empty() => {
            let k = step % items.len();
            if rest.is_empty() && with.is_none() {
                items.remove(k);
            } else {
                items[k] = damaged(items[k].take(), rest, with);
            }
        }
        Value::Object(map) if !map.is_empty() => {
            let key = map.keys().nth(step % map.len()).unwrap().clone();
            if rest.is_empty() && with.is_none() {
                map.remove(&key);
            } else {
                let child = map[&key].take();
                map.insert(key, damaged(child, rest, with));
            }
        }
        _ => return with.unwrap_or(node),
    }
    node
}

/// The direct reader against the tree path on one body: a value it gives is the tree's,
/// it refuses whatever the tree refuses, and `unpack_as` answers exactly as the tree does.
fn same_both_ways<T: DeserializeOwned + PartialEq + std::fmt::Debug>(bytes: &[u8]) -> bool {
    let tree = unpack_via_tree::<T>(bytes);
    let direct = unpack_direct::<T>(bytes);
    match (&direct, &tree) {
        (Ok(d), Ok(t)) => assert_eq!(d, t),
        (Ok(d), Err(e)) => panic!("direct read {d:?} where the tree path says {e}"),
        (Err(_), _) => {}
    }
    assert_eq!(unpack_as::<T>(bytes), tree);
    direct.is_ok() == tree.is_ok()
}

proptest::proptest! {
    /// Any JSON tree reads the same straight into a `Value` as through `unpack`.
    #[test]
    fn any_tree_reads_the_same_directly(value in tree()) {
        let bytes = pack(&value);
        proptest::prop_assert!(same_both_ways::<Value>(&bytes));
        proptest::prop_assert_eq!(unpack_direct::<Value>(&bytes).unwrap(), value);
        // And as a page, which almost every tree is not: both refuse alike.
        proptest::prop_assert!(same_both_ways::<crate::ChangesPage>(&bytes));
    }

    /// Page bodies, whole or with a node replaced or removed, read the same both ways.
    #[test]
    fn pages_read_the_same_directly(
        page in page(),
        path in proptest::collection::vec(proptest::prelude::any::<usize>(), 1..6),
        damage in proptest::option::weighted(0.5, proptest::option::of(tree())),
    ) {
        let whole = pack(&page);
        proptest::prop_assert!(same_both_ways::<crate::ChangesPage>(&whole));
        let read = unpack_direct::<crate::ChangesPage>(&whole);
        proptest::prop_assert!(read.is_ok(), "{:?}", read);
        if let Some(with) = damage {
            let bytes = pack(&damaged(page, &path, with));
            proptest::prop_assert!(same_both_ways::<crate::ChangesPage>(&bytes));
            proptest::prop_assert!(same_both_ways::<Value>(&bytes));
        }
    }

    /// Garbled and cut bodies: errors both ways alike, never a panic.
    #[test]
    fn garbled_pages_fail_alike(
        page in page(),
        hits in proptest::collection::vec((proptest::prelude::any::<usize>(), proptest::prelude::any::<u8>()), 0..4),
        cut in proptest::prelude::any::<usize>(),
    ) {
        let mut bytes = pack(&page);
        for (at, byte) in hits {
            let at = at % bytes.len();
            bytes[at] = byte;
        }
        let bytes = &bytes[..cut % (bytes.len() + 1)];
        same_both_ways::<crate::ChangesPage>(bytes);
        same_both_ways::<crate::PushRequest>(bytes);
        same_both_ways::<Value>(bytes);
    }
}

#[test]
fn the_direct_reader_leaves_what_it_cannot_match_to_the_tree() {
    // A repeated key: the tree keeps the last value; as a page field the derived reader
    // would refuse it, so the direct reader steps aside and the tree's answer stands.
    let mut repeated = vec![0x84, 0xa8];
    repeated.extend_from_slice(b"has_more");
    repeated.push(0xc2);
    for (key, cursor) in [("next_cursor", 1u8), ("changes", 0x90), ("next_cursor", 2)] {
        rmp::encode::write_str(&mut repeated, key).unwrap();
        repeated.push(cursor);
    }
    assert!(unpack_direct::<crate::ChangesPage>(&repeated).is_err());
    let page: crate::ChangesPage = unpack_as(&repeated).unwrap();
    assert_eq!(page.next_cursor, 2);
    assert_eq!(unpack_as::<Value>(&repeated).unwrap()["next_cursor"], 2);
    // A key read as a number (`serde_json` parses it).
    let numbered = pack(&json!({"7": "seven"}));
    let map: std::collections::BTreeMap<u32, String> = unpack_as(&numbered).unwrap();
    assert_eq!(map[&7], "seven");
    assert!(unpack_direct::<std::collections::BTreeMap<u32, String>>(&numbered).is_err());
    // An externally tagged enum, as text and as a map of one entry.
    assert_eq!(
        unpack_direct::<crate::Channel>(&pack(&json!("phone"))).unwrap(),
        crate::Channel::Phone
    );
    assert!(same_both_ways::<crate::Channel>(&pack(
        &json!({"phone": null})
    )));
    assert!(same_both_ways::<Option<crate::Channel>>(&pack(&json!(
        null
    ))));
    // A variant named by its index: the derived reader takes one, `serde_json`'s tree never
    // offers it, so neither path may.
    let mut follow_up = serde_json::to_value(lone_follow_up()).unwrap();
    follow_up["type"] = json!(2);
    assert!(unpack_direct::<crate::Op>(&pack(&follow_up)).is_err());
    assert!(same_both_ways::<crate::Op>(&pack(&follow_up)));
    assert!(unpack_as::<crate::Op>(&pack(&follow_up)).is_err());
    follow_up["type"] = json!("follow_up_logged");
    assert!(same_both_ways::<crate::Op>(&pack(&follow_up)));
    assert!(same_both_ways::<(crate::Channel, crate::Direction)>(&pack(
        &json!([0, 1])
    )));
    // Numbers: a signed marker holding a positive value, a float from an integer.
    assert_eq!(unpack_direct::<u8>(&[0xd0, 0x05]).unwrap(), 5);
    assert_eq!(unpack_direct::<f64>(&[0xd0, 0xfb]).unwrap(), -5.0);
    assert!(same_both_ways::<Vec<f32>>(&[
        0x92, 0xca, 0x3f, 0x80, 0, 0, 0x01
    ]));
    // Extra array items, trailing bytes, deep nesting: refused by both.
    assert!(unpack_direct::<(u8,)>(&[0x92, 0x01, 0x02]).is_err());
    assert!(unpack_direct::<u8>(&[0x01, 0x02]).is_err());
    let deep = [vec![0x91u8; 10_000], vec![0xc0]].concat();
    assert!(same_both_ways::<Value>(&deep) && unpack_direct::<Value>(&deep).is_err());
    let deep_option = [vec![0x91u8; MAX_DEPTH + 1], vec![0xc0]].concat();
    assert!(unpack_as::<Value>(&deep_option).is_err());
}

#[test]
fn ids_times_and_stamps_travel_in_binary() {
    let id = "019cadc6-9a80-7477-acb2-a6e24d4b8643";
    assert_eq!(pack(&json!(id)).len(), 18);
    assert_eq!(pack(&json!("2026-03-02T09:00:07Z")).len(), 6);
    assert_eq!(pack(&json!(format!("1772442007000-00000-{id}"))).len(), 29);
    // Anything else stays text.
    assert_eq!(pack(&json!("rita")).len(), 5);
}

#[test]
fn a_decompression_bomb_is_refused_at_the_limit() {
    let zeros = vec![0u8; 64 << 20];
    let bomb = compress(&zeros);
    assert!(bomb.len() < 64 * 1024, "{} bytes", bomb.len());
    assert_eq!(
        decode_value(&bomb, 1 << 20).unwrap_err(),
        PackedError::TooLarge { limit: 1 << 20 }
    );
    // A frame that wants a window past 4 MiB is refused before the decoder allocates it.
    let wide = zstd::bulk::compress(&zeros, 19).unwrap();
    let e = decompress(&wide, 1 << 30).unwrap_err();
    assert!(matches!(e, PackedError::Unreadable(_)), "{e}");
}

#[test]
fn hostile_msgpack_is_refused_without_harm() {
    let deep = [vec![0x91u8; 10_000], vec![0xc0]].concat();
    assert!(unpack(&deep).unwrap_err().to_string().contains("deep"));
    // An array that claims four billion items in five bytes.
    assert!(unpack(&[0xdd, 0xff, 0xff, 0xff, 0xff]).is_err());
    for bad in [
        &[0xc1][..],                                      // never used
        &[0xc4, 0x01, 0x00],                              // bin: JSON has no bytes
        &[0x81, 0x01, 0xc0],                              // a number as a key
        &[0xa2, 0xff, 0xfe],                              // not UTF-8
        &[0xd4, 0x07, 0x00],                              // an unknown extension
        &[0xd6, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff][..4], // cut short
        &[0xc0, 0xc0],                                    // two values
        &[0xcb, 0x7f, 0xf0, 0, 0, 0, 0, 0, 0],            // infinity
    ] {
        assert!(
            matches!(unpack(bad), Err(PackedError::Unreadable(_))),
            "{bad:?}"
        );
    }
    // An 8-byte timestamp with nanoseconds past a second.
    let mut bad_nanos = vec![0xd7, 0xff];
    bad_nanos.extend_from_slice(&((1_000_000_000u64 << 34) | 5).to_be_bytes());
    assert!(unpack(&bad_nanos).is_err());
    assert!(decode_value(b"not zstd at all", 1024).is_err());
}

/// The benchmark's lone follow-up (its note is not among the training notes).
fn lone_follow_up() -> crate::FollowUp {
    crate::FollowUp {
        id: "019cadc6-b5d8-736d-a6b1-0a17512b87d3".into(),
        lead_id: "019cadc6-b5d8-759d-bc29-ca875e11ffeb".into(),
        channel: crate::Channel::Phone,
        direction: crate::Direction::Out,
        outcome: crate::Outcome::NoAnswer,
        note: Some("left a message, will try again tomorrow".into()),
        occurred_at: "2026-03-02T09:00:07Z".parse().unwrap(),
        rep: "rita".into(),
        next_follow_up_at: None,
    }
}

#[test]
fn a_lone_follow_up_costs_under_100_bytes_each_way() {
    let push = crate::PushRequest {
        replica_id: "019cadc6-9a80-7477-acb2-a6e24d4b8643".into(),
        ops: vec![crate::PushOp {
            seq: 1,
            op: crate::Op::FollowUpLogged(lone_follow_up()),
        }],
    };
    let page = crate::ChangesPage {
        changes: vec![crate::Change {
            server_seq: 7,
            op: crate::Op::FollowUpLogged(lone_follow_up()),
        }],
        next_cursor: 7,
        has_more: false,
        role: Some(crate::Role::Manager),
        head_cursor: None,
    };
    let push_body = encode(&push);
    let page_body = encode(&page);
    eprintln!(
        "push: packed {} B, compressed {} B; pull: packed {} B, compressed {} B",
        pack(&serde_json::to_value(&push).unwrap()).len(),
        push_body.len(),
        pack(&serde_json::to_value(&page).unwrap()).len(),
        page_body.len()
    );
    assert!(push_body.len() < 100, "{} B", push_body.len());
    assert!(page_body.len() < 100, "{} B", page_body.len());
    assert_eq!(
        decode::<crate::PushRequest>(&push_body, 4096).unwrap(),
        push
    );
    assert_eq!(
        decode::<crate::ChangesPage>(&page_body, 4096).unwrap(),
        page
    );
}

#[test]
fn the_media_type_names_its_dictionary() {
    assert_eq!(dictionary_param(PACKED_CONTENT_TYPE), Some(DICTIONARY_ID));
    assert_eq!(
        dictionary_param("application/vnd.switchboard.msgpack+zstd; DICT=\"7\""),
        Some(7)
    );
    assert_eq!(dictionary_param(PACKED_MEDIA_TYPE), None);
    assert!(dictionary(DICTIONARY_ID).is_some() && dictionary(2).is_none());
}

/// The JSON text of `value` with each object's entries in an order drawn from `order`
/// (not sorted, as `serde_json` writes a struct) and, where `order` says so, an entry repeated
/// with another value before it.
fn text_in_any_order(value: &Value, order: &mut impl Iterator<Item = u8>) -> String {
    match value {
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(|v| text_in_any_order(v, order)).collect();
            format!("[{}]", items.join(","))
        }
        Value::Object(map) => {
            let mut entries: Vec<String> = map
                .iter()
                .map(|(k, v)| {
                    format!(
                        "{}:{}",
                        Value::from(k.as_str()),
                        text_in_any_order(v, order)
                    )
                })
                .collect();
            let mut pick = order.next().unwrap_or(0) as usize;
            let mut shuffled = Vec::new();
            while !entries.is_empty() {
                pick = pick.wrapping_mul(31).wrapping_add(7);
                shuffled.push(entries.remove(pick % entries.len()));
            }
            if let Some((key, _)) = map.iter().next().filter(|_| pick.is_multiple_of(3)) {
                // Read first, so the value the map keeps is the later one.
                shuffled.insert(0, format!("{}:\"overwritten\"", Value::from(key.as_str())));
            }
            format!("{{ {} }}", shuffled.join(" , "))
        }
        other => other.to_string(),
    }
}

proptest::proptest! {
    /// A JSON text packs to the bytes of its tree, whatever the order of its keys.
    #[test]
    fn json_text_packs_as_its_tree(
        value in proptest::prop_oneof![tree(), page()],
        order in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..32),
    ) {
        let text = text_in_any_order(&value, &mut order.into_iter().cycle());
        let tree: Value = serde_json::from_str(&text).unwrap();
        proptest::prop_assert_eq!(pack_json(&text).unwrap(), pack(&tree), "{}", text);
        let plain = value.to_string();
        let tree: Value = serde_json::from_str(&plain).unwrap();
        proptest::prop_assert_eq!(pack_json(&plain).unwrap(), pack(&tree));
    }

    /// Any text at all: packed exactly when `serde_json` reads it, and then as its tree.
    #[test]
    fn any_text_packs_only_when_it_is_json(text in "[\\[\\]{}:,\"\\\\a-c0-9.eE+ -]{0,24}") {
        match serde_json::from_str::<Value>(&text) {
            Ok(tree) => proptest::prop_assert_eq!(pack_json(&text).unwrap(), pack(&tree)),
            Err(_) => proptest::prop_assert!(pack_json(&text).is_err()),
        }
    }
}

#[test]
fn json_text_with_escaped_and_repeated_keys_packs_as_its_tree() {
    for text in [
        r#"{"b\u0061":1,"ba":2,"a":{"z":[],"y":{}}}"#,
        r#"{"k":1,"k":2,"j":null,"k":"three"}"#,
        r#"[-0, 0, -1, 1e3, 18446744073709551615, 18446744073709551616, -9223372036854775808]"#,
        r#"  {"at":"2026-03-02T09:00:07.120Z","id":"019cadc6-b5d8-759d-bc29-ca875e11ffeb"}  "#,
        r#""\ud83d\ude00 \n""#,
    ] {
        let tree: Value = serde_json::from_str(text).unwrap();
        assert_eq!(pack_json(text).unwrap(), pack(&tree), "{text}");
    }
    for bad in ["", "{", "[1,]", "1 2", "{\"a\" 1}", "nul"] {
        assert!(pack_json(bad).is_err(), "{bad:?}");
    }
}
