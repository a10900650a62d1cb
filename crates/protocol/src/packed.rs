//! The packed body format (protocol 5, additive): the JSON tree of a body written as MessagePack
//! in which canonical UUIDs, timestamps and clock stamps travel in binary, compressed with zstd
//! against a dictionary both sides ship (`dictionaries/`). One small body — a lone follow-up —
//! then costs its random parts, not its field names. The frame leaves out the checksum, the
//! content size and the dictionary id (TLS guards integrity; the content type names the
//! dictionary). Decoding gives back exactly the JSON tree that was encoded, so every reader
//! keeps the JSON shapes and meanings.

use serde::{de::DeserializeOwned, Serialize};
use serde_json::{Map, Number, Value};
use std::io::Read;
use std::sync::OnceLock;

/// The media type of the packed form, without its `dict` parameter.
pub const PACKED_MEDIA_TYPE: &str = "application/vnd.switchboard.msgpack+zstd";

/// The dictionary this build writes with (the newest it has).
pub const DICTIONARY_ID: u32 = 1;

/// `Content-Type` (and `Accept` entry) of a packed body with this build's dictionary.
pub const PACKED_CONTENT_TYPE: &str = "application/vnd.switchboard.msgpack+zstd; dict=1";

/// Error code of a packed body naming a dictionary the server does not have (415).
pub const UNKNOWN_DICTIONARY: &str = "unknown_dictionary";

/// Dictionary 1, trained by `cargo run -p switchboard-protocol --example train_dictionary`.
/// Frozen: a body written with it must read the same forever; a retrained one becomes id 2.
static DICTIONARY_1: &[u8] = include_bytes!("../dictionaries/sync-1.zdict");

/// The largest zstd window a packed body may use (4 MiB), whatever its frame declares.
const WINDOW_LOG_MAX: u32 = 22;

/// Bodies up to this size are compressed at `SMALL_LEVEL` (cheap at this size, a few bytes
/// less), larger ones at `LARGE_LEVEL` (a page of 500 changes stays fast to write; with the
/// dictionary, levels 1–3 pack long runs of like records worse than 6: 1,953 against 700 B for
/// an answer of 500 results).
const SMALL_BODY: usize = 4096;
const SMALL_LEVEL: i32 = 19;
const LARGE_LEVEL: i32 = 6;

/// Nesting deeper than any body of the protocol is refused before it can exhaust the stack.
const MAX_DEPTH: usize = 64;

/// MessagePack extension types of the packed form.
const EXT_UUID: i8 = 1;
const EXT_TIMESTAMP: i8 = -1;
const EXT_HLC: i8 = 2;

/// Why a packed body could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PackedError {
    /// It decompresses to more than the caller's limit.
    #[error("the body decompresses to more than the limit of {limit} bytes; send less at once")]
    TooLarge { limit: usize },
    /// Not zstd with the named dictionary, or not well-formed packed MessagePack.
    #[error("the body is not readable packed data: {0}")]
    Unreadable(String),
    /// Well-formed, but not the shape the endpoint expects.
    #[error("{0}")]
    Shape(String),
}

impl PackedError {
    /// The stable code, as the API answers it.
    pub fn code(&self) -> &'static str {
        match self {
            PackedError::TooLarge { .. } => "payload_too_large",
            PackedError::Unreadable(_) => "bad_request",
            PackedError::Shape(_) => "invalid",
        }
    }
}

/// The dictionary with id `id`, if this build has it.
pub fn dictionary(id: u32) -> Option<&'static [u8]> {
    match id {
        1 => Some(DICTIONARY_1),
        _ => None,
    }
}

/// The `dict` parameter of a packed media type (`…; dict=1`): `None` when absent or not a
/// number.
pub fn dictionary_param(content_type: &str) -> Option<u32> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        if name.trim().eq_ignore_ascii_case("dict") {
            value.trim().trim_matches('"').parse().ok()
        } else {
            None
        }
    })
}

fn encoder_dictionary(level: i32) -> &'static zstd::dict::EncoderDictionary<'static> {
    static SMALL: OnceLock<zstd::dict::EncoderDictionary<'static>> = OnceLock::new();
    static LARGE: OnceLock<zstd::dict::EncoderDictionary<'static>> = OnceLock::new();
    let cell = if level == SMALL_LEVEL { &SMALL } else { &LARGE };
    cell.get_or_init(|| zstd::dict::EncoderDictionary::copy(DICTIONARY_1, level))
}

fn decoder_dictionary() -> &'static zstd::dict::DecoderDictionary<'static> {
    static DICT: OnceLock<zstd::dict::DecoderDictionary<'static>> = OnceLock::new();
    DICT.get_or_init(|| zstd::dict::DecoderDictionary::copy(DICTIONARY_1))
}

/// `value` in the packed form with this build's dictionary.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let tree = serde_json::to_value(value).expect("a protocol body is a JSON value");
    encode_value(&tree)
}

/// A JSON tree in the packed form with this build's dictionary.
pub fn encode_value(tree: &Value) -> Vec<u8> {
    compress(&pack(tree))
}

/// Compresses packed MessagePack with dictionary 1: no checksum, content size or dictionary id
/// in the frame.
pub fn compress(packed: &[u8]) -> Vec<u8> {
    let level = if packed.len() <= SMALL_BODY {
        SMALL_LEVEL
    } else {
        LARGE_LEVEL
    };
    frame_compressor(encoder_dictionary(level))
        .compress(packed)
        .expect("zstd compresses a buffer in memory")
}

/// A compression context over `dictionary` (dictionary 1 prepared at some level) that writes
/// the frame every packed body has: no checksum, content size or dictionary id. For a caller
/// that keeps its own context or level (the server's large pages).
pub fn frame_compressor(
    dictionary: &'static zstd::dict::EncoderDictionary<'static>,
) -> zstd::bulk::Compressor<'static> {
    use zstd::zstd_safe::CParameter;
    let mut compressor =
        zstd::bulk::Compressor::with_prepared_dictionary(dictionary).expect("a zstd context");
    for parameter in [
        CParameter::ChecksumFlag(false),
        CParameter::ContentSizeFlag(false),
        CParameter::DictIdFlag(false),
    ] {
        compressor
            .set_parameter(parameter)
            .expect("a valid zstd parameter");
    }
    compressor
}

/// Reads a packed body into `T`: at most `limit` bytes once decompressed.
pub fn decode<T: DeserializeOwned>(body: &[u8], limit: usize) -> Result<T, PackedError> {
    let tree = decode_value(body, limit)?;
    serde_json::from_value(tree).map_err(|e| PackedError::Shape(e.to_string()))
}

/// Reads a packed body into its JSON tree: at most `limit` bytes once decompressed.
pub fn decode_value(body: &[u8], limit: usize) -> Result<Value, PackedError> {
    unpack(&decompress(body, limit)?)
}

/// Undoes the zstd of a packed body, refusing as soon as it passes `limit` bytes.
pub fn decompress(body: &[u8], limit: usize) -> Result<Vec<u8>, PackedError> {
    let unreadable = |e: std::io::Error| PackedError::Unreadable(e.to_string());
    let mut decoder =
        zstd::stream::read::Decoder::with_prepared_dictionary(body, decoder_dictionary())
            .map_err(unreadable)?;
    decoder.window_log_max(WINDOW_LOG_MAX).map_err(unreadable)?;
    let mut out = Vec::new();
    decoder
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(unreadable)?;
    if out.len() > limit {
        return Err(PackedError::TooLarge { limit });
    }
    Ok(out)
}

/// A JSON tree as MessagePack (maps keep their field names; canonical ids, times and clock
/// stamps become extension values), uncompressed. The dictionary is trained on these.
pub fn pack(tree: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    write_value(&mut out, tree);
    out
}

fn write_value(out: &mut Vec<u8>, value: &Value) {
    use rmp::encode::*;
    // Writing into a Vec cannot fail.
    match value {
        Value::Null => write_nil(out).expect("vec"),
        Value::Bool(b) => write_bool(out, *b).expect("vec"),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                write_uint(out, u).expect("vec");
            } else if let Some(i) = n.as_i64() {
                write_sint(out, i).expect("vec");
            } else {
                write_f64(out, n.as_f64().expect("a JSON number")).expect("vec");
            }
        }
        Value::String(s) => write_text(out, s),
        Value::Array(items) => {
            write_array_len(out, items.len() as u32).expect("vec");
            for item in items {
                write_value(out, item);
            }
        }
        Value::Object(map) => {
            write_map_len(out, map.len() as u32).expect("vec");
            for (key, item) in map {
                write_str(out, key).expect("vec");
                write_value(out, item);
            }
        }
    }
}

/// A string: in binary when it is one of the canonical forms that read back to exactly it.
fn write_text(out: &mut Vec<u8>, s: &str) {
    use rmp::encode::*;
    if let Some(id) = canonical_uuid(s) {
        write_ext_meta(out, 16, EXT_UUID).expect("vec");
        out.extend_from_slice(id.as_bytes());
    } else if let Some((secs, nanos)) = canonical_timestamp(s) {
        let payload = timestamp_payload(secs, nanos);
        write_ext_meta(out, payload.len() as u32, EXT_TIMESTAMP).expect("vec");
        out.extend_from_slice(&payload);
    } else if let Some(payload) = canonical_hlc(s) {
        write_ext_meta(out, payload.len() as u32, EXT_HLC).expect("vec");
        out.extend_from_slice(&payload);
    } else {
        write_str(out, s).expect("vec");
    }
}

/// A lowercase hyphenated UUID (the form `Uuid`'s `Display` writes).
fn canonical_uuid(s: &str) -> Option<uuid::Uuid> {
    if s.len() != 36 {
        return None;
    }
    let id = uuid::Uuid::try_parse(s).ok()?;
    (id.hyphenated().to_string() == s).then_some(id)
}

/// An RFC 3339 UTC time as chrono writes a `DateTime<Utc>` (`Z`, only the fraction digits it
/// needs): seconds since 1970 and nanoseconds.
fn canonical_timestamp(s: &str) -> Option<(i64, u32)> {
    if !(20..=30).contains(&s.len()) || !s.ends_with('Z') {
        return None;
    }
    let at = chrono::DateTime::parse_from_rfc3339(s).ok()?.to_utc();
    // A leap second's nanoseconds (1e9 and up) have no place in the extension.
    if at.timestamp_subsec_nanos() >= 1_000_000_000 {
        return None;
    }
    (timestamp_text(at.timestamp(), at.timestamp_subsec_nanos())? == s)
        .then(|| (at.timestamp(), at.timestamp_subsec_nanos()))
}

fn timestamp_text(secs: i64, nanos: u32) -> Option<String> {
    let at = chrono::DateTime::from_timestamp(secs, nanos)?;
    Some(at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
}

/// MessagePack's timestamp extension: 4 bytes (whole seconds in u32), 8 (30-bit nanoseconds,
/// 34-bit seconds) or 12 (u32 nanoseconds, i64 seconds).
fn timestamp_payload(secs: i64, nanos: u32) -> Vec<u8> {
    if secs >= 0 && secs >> 34 == 0 {
        if nanos == 0 && secs <= u32::MAX as i64 {
            return (secs as u32).to_be_bytes().to_vec();
        }
        return (((nanos as u64) << 34) | secs as u64)
            .to_be_bytes()
            .to_vec();
    }
    let mut payload = nanos.to_be_bytes().to_vec();
    payload.extend_from_slice(&secs.to_be_bytes());
    payload
}

fn timestamp_from(payload: &[u8]) -> Option<(i64, u32)> {
    let (secs, nanos) = match payload.len() {
        4 => (u32::from_be_bytes(payload.try_into().ok()?) as i64, 0),
        8 => {
            let both = u64::from_be_bytes(payload.try_into().ok()?);
            ((both & ((1 << 34) - 1)) as i64, (both >> 34) as u32)
        }
        12 => (
            i64::from_be_bytes(payload[4..].try_into().ok()?),
            u32::from_be_bytes(payload[..4].try_into().ok()?),
        ),
        _ => return None,
    };
    (nanos < 1_000_000_000).then_some((secs, nanos))
}

/// A clock stamp `<millis:013>-<counter:05>-<node>` whose node is a canonical UUID: 6 bytes
/// of milliseconds, 4 of counter, 16 of node.
fn canonical_hlc(s: &str) -> Option<Vec<u8>> {
    if s.len() != 13 + 1 + 5 + 1 + 36 {
        return None;
    }
    let (millis, rest) = s.split_once('-')?;
    let (counter, node) = rest.split_once('-')?;
    let millis: u64 = millis.parse().ok()?;
    let counter: u32 = counter.parse().ok()?;
    let node = canonical_uuid(node)?;
    if millis >> 48 != 0 || hlc_text(millis, counter, &node) != s {
        return None;
    }
    let mut payload = millis.to_be_bytes()[2..].to_vec();
    payload.extend_from_slice(&counter.to_be_bytes());
    payload.extend_from_slice(node.as_bytes());
    Some(payload)
}

fn hlc_text(millis: u64, counter: u32, node: &uuid::Uuid) -> String {
    format!("{millis:013}-{counter:05}-{}", node.hyphenated())
}

fn hlc_from(payload: &[u8]) -> Option<String> {
    if payload.len() != 26 {
        return None;
    }
    let mut millis = [0u8; 8];
    millis[2..].copy_from_slice(&payload[..6]);
    let counter = u32::from_be_bytes(payload[6..10].try_into().ok()?);
    let node = uuid::Uuid::from_slice(&payload[10..]).ok()?;
    Some(hlc_text(u64::from_be_bytes(millis), counter, &node))
}

/// Packed MessagePack back into its JSON tree; anything that is not exactly one well-formed
/// value of the packed form is refused.
pub fn unpack(bytes: &[u8]) -> Result<Value, PackedError> {
    let mut reader = Reader { bytes, at: 0 };
    let value = reader.value(0)?;
    if reader.at != bytes.len() {
        return Err(reader.fail("bytes after the body's value"));
    }
    Ok(value)
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn fail(&self, what: &str) -> PackedError {
        PackedError::Unreadable(format!("{what} at byte {}", self.at))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], PackedError> {
        if self.bytes.len() - self.at < n {
            return Err(self.fail("the body ends early"));
        }
        let slice = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(slice)
    }

    fn uint(&mut self, n: usize) -> Result<u64, PackedError> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | *b as u64))
    }

    fn text(&mut self, len: usize) -> Result<String, PackedError> {
        let raw = self.take(len)?;
        match std::str::from_utf8(raw) {
            Ok(s) => Ok(s.to_string()),
            Err(_) => Err(self.fail("text that is not UTF-8")),
        }
    }

    /// A declared count of items, each at least one byte: no more than the bytes left.
    fn count(&self, n: u64) -> Result<usize, PackedError> {
        if n > (self.bytes.len() - self.at) as u64 {
            return Err(self.fail("more items declared than bytes left"));
        }
        Ok(n as usize)
    }

    fn value(&mut self, depth: usize) -> Result<Value, PackedError> {
        if depth > MAX_DEPTH {
            return Err(self.fail("nesting too deep"));
        }
        let marker = self.take(1)?[0];
        Ok(match marker {
            0x00..=0x7f => Value::from(marker),
            0xe0..=0xff => Value::from(marker as i8),
            0xc0 => Value::Null,
            0xc2 => Value::Bool(false),
            0xc3 => Value::Bool(true),
            0xcc => Value::from(self.uint(1)?),
            0xcd => Value::from(self.uint(2)?),
            0xce => Value::from(self.uint(4)?),
            0xcf => Value::from(self.uint(8)?),
            0xd0 => Value::from(self.uint(1)? as u8 as i8),
            0xd1 => Value::from(self.uint(2)? as u16 as i16),
            0xd2 => Value::from(self.uint(4)? as u32 as i32),
            0xd3 => Value::from(self.uint(8)? as i64),
            0xca => {
                let bits = self.uint(4)? as u32;
                self.float(f32::from_bits(bits) as f64)?
            }
            0xcb => {
                let bits = self.uint(8)?;
                self.float(f64::from_bits(bits))?
            }
            0xa0..=0xbf => Value::String(self.text((marker & 0x1f) as usize)?),
            0xd9 => {
                let n = self.uint(1)? as usize;
                Value::String(self.text(n)?)
            }
            0xda => {
                let n = self.uint(2)? as usize;
                Value::String(self.text(n)?)
            }
            0xdb => {
                let n = self.uint(4)? as usize;
                Value::String(self.text(n)?)
            }
            0x90..=0x9f => self.array((marker & 0x0f) as u64, depth)?,
            0xdc => {
                let n = self.uint(2)?;
                self.array(n, depth)?
            }
            0xdd => {
                let n = self.uint(4)?;
                self.array(n, depth)?
            }
            0x80..=0x8f => self.map((marker & 0x0f) as u64, depth)?,
            0xde => {
                let n = self.uint(2)?;
                self.map(n, depth)?
            }
            0xdf => {
                let n = self.uint(4)?;
                self.map(n, depth)?
            }
            0xd4 => self.ext(1)?,
            0xd5 => self.ext(2)?,
            0xd6 => self.ext(4)?,
            0xd7 => self.ext(8)?,
            0xd8 => self.ext(16)?,
            0xc7 => {
                let n = self.uint(1)? as usize;
                self.ext(n)?
            }
            0xc8 => {
                let n = self.uint(2)? as usize;
                self.ext(n)?
            }
            0xc9 => {
                let n = self.uint(4)? as usize;
                self.ext(n)?
            }
            _ => return Err(self.fail("a MessagePack type the packed form does not use")),
        })
    }

    fn float(&self, f: f64) -> Result<Value, PackedError> {
        Number::from_f64(f)
            .map(Value::Number)
            .ok_or_else(|| self.fail("a number JSON cannot hold"))
    }

    fn array(&mut self, n: u64, depth: usize) -> Result<Value, PackedError> {
        let n = self.count(n)?;
        let mut items = Vec::with_capacity(n);
        for _ in 0..n {
            items.push(self.value(depth + 1)?);
        }
        Ok(Value::Array(items))
    }

    fn map(&mut self, n: u64, depth: usize) -> Result<Value, PackedError> {
        let n = self.count(n)?;
        let mut map = Map::new();
        for _ in 0..n {
            let Value::String(key) = self.value(depth + 1)? else {
                return Err(self.fail("a map key that is not text"));
            };
            let item = self.value(depth + 1)?;
            map.insert(key, item);
        }
        Ok(Value::Object(map))
    }

    fn ext(&mut self, len: usize) -> Result<Value, PackedError> {
        let kind = self.take(1)?[0] as i8;
        let payload = self.take(len)?;
        let text = match kind {
            EXT_UUID => uuid::Uuid::from_slice(payload)
                .ok()
                .map(|id| id.hyphenated().to_string()),
            EXT_TIMESTAMP => timestamp_from(payload).and_then(|(s, n)| timestamp_text(s, n)),
            EXT_HLC => hlc_from(payload),
            _ => None,
        };
        text.map(Value::String)
            .ok_or_else(|| self.fail("an extension value the packed form does not define"))
    }
}

#[cfg(test)]
mod tests {
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
}
