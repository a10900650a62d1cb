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

mod direct;
mod transcode;

pub use transcode::pack_json;

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
/// Builds `T` straight from the MessagePack (`unpack_as`), without a JSON tree between.
pub fn decode<T: DeserializeOwned>(body: &[u8], limit: usize) -> Result<T, PackedError> {
    unpack_as(&decompress(body, limit)?)
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
pub(crate) fn write_text(out: &mut Vec<u8>, s: &str) {
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

/// Packed MessagePack straight into `T`, without the JSON tree: the same result, error
/// included, as `serde_json::from_value(unpack(bytes)?)`. The direct reader steps aside for
/// the rare bodies it cannot read exactly as the tree does (a repeated map key, a key read as
/// a number, any error) and the tree path answers them.
pub fn unpack_as<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, PackedError> {
    unpack_direct(bytes).or_else(|_| unpack_via_tree(bytes))
}

/// Packed MessagePack into `T` through its JSON tree (`unpack`, then `serde_json`).
pub fn unpack_via_tree<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, PackedError> {
    serde_json::from_value(unpack(bytes)?).map_err(|e| PackedError::Shape(e.to_string()))
}

/// Packed MessagePack into `T` by the direct reader alone. When it succeeds its value is the
/// tree path's; its errors are its own and include bodies the tree path reads (a repeated map
/// key), which is why `unpack_as` falls back. For tests and the fuzz target.
pub fn unpack_direct<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, PackedError> {
    direct::from_packed(bytes)
}

/// One MessagePack item of the packed form with its contents not yet read: an array or map
/// carries its (checked) count.
enum Item<'a> {
    Null,
    Bool(bool),
    /// Every integer that is not negative, as a JSON number holds it.
    U64(u64),
    /// A negative integer.
    I64(i64),
    /// A finite float.
    F64(f64),
    Str(&'a str),
    /// An extension value as its canonical text.
    Text(String),
    Array(usize),
    Map(usize),
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

    fn text(&mut self, len: usize) -> Result<&'a str, PackedError> {
        let raw = self.take(len)?;
        std::str::from_utf8(raw).map_err(|_| self.fail("text that is not UTF-8"))
    }

    /// A declared count of items, each at least one byte: no more than the bytes left.
    fn count(&self, n: u64) -> Result<usize, PackedError> {
        if n > (self.bytes.len() - self.at) as u64 {
            return Err(self.fail("more items declared than bytes left"));
        }
        Ok(n as usize)
    }

    /// The next item, nested `depth` deep (refused past `MAX_DEPTH`).
    fn item(&mut self, depth: usize) -> Result<Item<'a>, PackedError> {
        if depth > MAX_DEPTH {
            return Err(self.fail("nesting too deep"));
        }
        let signed = |i: i64| {
            if i < 0 {
                Item::I64(i)
            } else {
                Item::U64(i as u64)
            }
        };
        let marker = self.take(1)?[0];
        Ok(match marker {
            0x00..=0x7f => Item::U64(marker as u64),
            0xe0..=0xff => Item::I64(marker as i8 as i64),
            0xc0 => Item::Null,
            0xc2 => Item::Bool(false),
            0xc3 => Item::Bool(true),
            0xcc => Item::U64(self.uint(1)?),
            0xcd => Item::U64(self.uint(2)?),
            0xce => Item::U64(self.uint(4)?),
            0xcf => Item::U64(self.uint(8)?),
            0xd0 => signed(self.uint(1)? as u8 as i8 as i64),
            0xd1 => signed(self.uint(2)? as u16 as i16 as i64),
            0xd2 => signed(self.uint(4)? as u32 as i32 as i64),
            0xd3 => signed(self.uint(8)? as i64),
            0xca => {
                let bits = self.uint(4)? as u32;
                self.float(f32::from_bits(bits) as f64)?
            }
            0xcb => {
                let bits = self.uint(8)?;
                self.float(f64::from_bits(bits))?
            }
            0xa0..=0xbf => Item::Str(self.text((marker & 0x1f) as usize)?),
            0xd9 => {
                let n = self.uint(1)? as usize;
                Item::Str(self.text(n)?)
            }
            0xda => {
                let n = self.uint(2)? as usize;
                Item::Str(self.text(n)?)
            }
            0xdb => {
                let n = self.uint(4)? as usize;
                Item::Str(self.text(n)?)
            }
            0x90..=0x9f => Item::Array(self.count((marker & 0x0f) as u64)?),
            0xdc => {
                let n = self.uint(2)?;
                Item::Array(self.count(n)?)
            }
            0xdd => {
                let n = self.uint(4)?;
                Item::Array(self.count(n)?)
            }
            0x80..=0x8f => Item::Map(self.count((marker & 0x0f) as u64)?),
            0xde => {
                let n = self.uint(2)?;
                Item::Map(self.count(n)?)
            }
            0xdf => {
                let n = self.uint(4)?;
                Item::Map(self.count(n)?)
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

    fn float(&self, f: f64) -> Result<Item<'a>, PackedError> {
        if f.is_finite() {
            Ok(Item::F64(f))
        } else {
            Err(self.fail("a number JSON cannot hold"))
        }
    }

    fn ext(&mut self, len: usize) -> Result<Item<'a>, PackedError> {
        let kind = self.take(1)?[0] as i8;
        let payload = self.take(len)?;
        let text = match kind {
            EXT_UUID => uuid::Uuid::from_slice(payload)
                .ok()
                // Straight into the text, not through `Display` (a page holds thousands).
                .map(|id| {
                    let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
                    id.hyphenated().encode_lower(&mut text).to_string()
                }),
            EXT_TIMESTAMP => timestamp_from(payload).and_then(|(s, n)| timestamp_text(s, n)),
            EXT_HLC => hlc_from(payload),
            _ => None,
        };
        text.map(Item::Text)
            .ok_or_else(|| self.fail("an extension value the packed form does not define"))
    }

    /// The next value as a JSON tree.
    fn value(&mut self, depth: usize) -> Result<Value, PackedError> {
        Ok(match self.item(depth)? {
            Item::Null => Value::Null,
            Item::Bool(b) => Value::Bool(b),
            Item::U64(u) => Value::from(u),
            Item::I64(i) => Value::from(i),
            Item::F64(f) => Value::Number(Number::from_f64(f).expect("a finite float")),
            Item::Str(s) => Value::String(s.to_string()),
            Item::Text(s) => Value::String(s),
            Item::Array(n) => {
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.value(depth + 1)?);
                }
                Value::Array(items)
            }
            Item::Map(n) => {
                let mut map = Map::new();
                for _ in 0..n {
                    let Value::String(key) = self.value(depth + 1)? else {
                        return Err(self.fail("a map key that is not text"));
                    };
                    let item = self.value(depth + 1)?;
                    map.insert(key, item);
                }
                Value::Object(map)
            }
        })
    }
}

#[cfg(test)]
mod tests;
