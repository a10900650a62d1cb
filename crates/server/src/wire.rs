//! Body formats (protocol 4): JSON, the default for scripts and the OpenAPI document, or the
//! compact form — MessagePack with named fields (`application/msgpack`), the same shapes as the
//! JSON — either one optionally compressed with zstd (`Content-Encoding`/`Accept-Encoding`).
//! Protocol 5 adds the packed form (`switchboard_protocol::packed`, its own media type with a
//! `dict` parameter): binary ids and times, zstd against a shipped dictionary; a body naming a
//! dictionary this server lacks is refused with 415 `unknown_dictionary`, and answers are
//! packed only for a caller whose `Accept` names a dictionary the server has.
//! A request's limit holds for the bytes received and again for the bytes they decompress to,
//! so a small compressed body cannot expand past it.

use crate::error::{Result, ServerError};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::{de::DeserializeOwned, Serialize};
use std::io::Read;
use switchboard_protocol::packed::{self, PackedError, PACKED_CONTENT_TYPE, PACKED_MEDIA_TYPE};
use switchboard_protocol::{COMPACT_CONTENT_TYPE, COMPACT_ENCODING};

/// The largest zstd window a request may use (4 MiB): the decoder's memory stays bounded
/// whatever window a crafted frame declares. Compressors at ordinary levels stay below it.
const WINDOW_LOG_MAX: u32 = 22;

/// zstd level of answers: fast, and most of the gain on repetitive sync bodies.
const ANSWER_LEVEL: i32 = 3;

/// Answers smaller than this are sent uncompressed (the frame would cost more than it saves).
const COMPRESS_FROM: usize = 128;

/// The format of a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Compact,
    /// Protocol 5: MessagePack with binary ids and times, zstd with a shipped dictionary.
    Packed,
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The media type of a `Content-Type` or one `Accept` entry, without parameters, lowercase.
fn media_type(value: &str) -> String {
    value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

fn is_compact(media: &str) -> bool {
    matches!(
        media,
        COMPACT_CONTENT_TYPE | "application/x-msgpack" | "application/vnd.msgpack"
    )
}

/// The format a request body says it is in. `None` when it names none (the JSON reader then
/// answers what it always answered); 415 for a type the server does not read.
pub fn request_format(headers: &HeaderMap) -> Result<Option<Format>> {
    let Some(value) = header_text(headers, header::CONTENT_TYPE) else {
        return Ok(None);
    };
    let media = media_type(value);
    if is_compact(&media) {
        return Ok(Some(Format::Compact));
    }
    if media == PACKED_MEDIA_TYPE {
        return known_dictionary(value).map(|_| Some(Format::Packed));
    }
    if media == "application/json" || media.ends_with("+json") {
        return Ok(Some(Format::Json));
    }
    Err(ServerError::UnsupportedMediaType(format!(
        "this server reads bodies as application/json or {COMPACT_CONTENT_TYPE}, not {media}"
    )))
}

/// The dictionary a packed media type names, if this server has it; else 415
/// `unknown_dictionary`.
fn known_dictionary(value: &str) -> Result<u32> {
    match packed::dictionary_param(value) {
        Some(id) if packed::dictionary(id).is_some() => Ok(id),
        named => Err(ServerError::UnknownDictionary(format!(
            "this server reads {PACKED_MEDIA_TYPE} with dictionary {} only, not {}; send \
             {COMPACT_CONTENT_TYPE} or application/json",
            packed::DICTIONARY_ID,
            named.map_or("without one".to_string(), |id| format!("dict={id}"))
        ))),
    }
}

/// Reads a packed body (its zstd is part of the media type: no other `Content-Encoding`),
/// at most `limit` bytes once decompressed.
pub fn from_packed<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: &[u8],
    limit: usize,
) -> Result<T> {
    let encoding = header_text(headers, header::CONTENT_ENCODING)
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    if !matches!(encoding.as_str(), "" | "identity") {
        return Err(ServerError::UnsupportedMediaType(format!(
            "a {PACKED_MEDIA_TYPE} body is compressed already; send it without \
             Content-Encoding {encoding}"
        )));
    }
    decode_packed(body, limit)
}

/// Decodes a packed body within `limit`, as `Body<T>` does. (The fuzz target drives this.)
pub fn decode_packed<T: DeserializeOwned>(body: &[u8], limit: usize) -> Result<T> {
    if body.len() > limit {
        return Err(ServerError::PayloadTooLarge(format!(
            "more than {limit} bytes"
        )));
    }
    packed::decode(body, limit).map_err(|e| match e {
        PackedError::TooLarge { .. } => ServerError::PayloadTooLarge(format!(
            "the request body decompresses to more than the limit of {limit} bytes ({} KiB); \
             send less at once",
            limit / 1024
        )),
        PackedError::Unreadable(_) => ServerError::BadRequest(e.to_string()),
        PackedError::Shape(text) => ServerError::Invalid(text),
    })
}

/// The body's bytes with its `Content-Encoding` undone: at most `limit` bytes once
/// decompressed, else 413; 415 for an encoding the server does not read.
pub fn decode_encoding(
    headers: &HeaderMap,
    body: bytes::Bytes,
    limit: usize,
) -> Result<bytes::Bytes> {
    let encoding = header_text(headers, header::CONTENT_ENCODING)
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    match encoding.as_str() {
        "" | "identity" => Ok(body),
        COMPACT_ENCODING => unzstd(&body, limit).map(bytes::Bytes::from),
        other => Err(ServerError::UnsupportedMediaType(format!(
            "this server reads bodies compressed with {COMPACT_ENCODING} or not at all, not {other}"
        ))),
    }
}

/// Decompresses a zstd body, refusing with 413 as soon as it would exceed `limit` bytes.
pub fn unzstd(body: &[u8], limit: usize) -> Result<Vec<u8>> {
    let unreadable = |e: std::io::Error| {
        ServerError::BadRequest(format!("the body is not readable zstd data: {e}"))
    };
    let mut decoder = zstd::stream::read::Decoder::with_buffer(body).map_err(unreadable)?;
    decoder.window_log_max(WINDOW_LOG_MAX).map_err(unreadable)?;
    let mut out = Vec::new();
    decoder
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(unreadable)?;
    if out.len() > limit {
        return Err(ServerError::PayloadTooLarge(format!(
            "the request body decompresses to more than the limit of {limit} bytes ({} KiB); \
             send less at once",
            limit / 1024
        )));
    }
    Ok(out)
}

/// Reads a compact (MessagePack) body: 422 when it is well-formed but not the expected shape,
/// 400 when it is not MessagePack at all.
pub fn from_compact<T: DeserializeOwned>(body: &[u8]) -> Result<T> {
    rmp_serde::from_slice(body).map_err(|e| match e {
        rmp_serde::decode::Error::Syntax(text) => ServerError::Invalid(text),
        other => ServerError::BadRequest(format!("the body is not readable MessagePack: {other}")),
    })
}

/// Decodes a whole request body as `Body<T>` does for the compact form: the encoding undone
/// within `limit`, then MessagePack. (The fuzz target drives this.)
pub fn decode_compact<T: DeserializeOwned>(zstd: bool, body: &[u8], limit: usize) -> Result<T> {
    if body.len() > limit {
        return Err(ServerError::PayloadTooLarge(format!(
            "more than {limit} bytes"
        )));
    }
    if zstd {
        from_compact(&unzstd(body, limit)?)
    } else {
        from_compact(body)
    }
}

/// How the caller wants answers: from `Accept` and `Accept-Encoding`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wanted {
    pub format: Format,
    pub zstd: bool,
}

impl Wanted {
    /// Packed when `Accept` names it with a dictionary this server has (protocol 5), else
    /// compact only when `Accept` names it, zstd only when `Accept-Encoding` does; anything
    /// else gets JSON, as before protocol 4.
    pub fn from_headers(headers: &HeaderMap) -> Wanted {
        let accept = header_text(headers, header::ACCEPT).unwrap_or_default();
        let packed = accept
            .split(',')
            .any(|entry| media_type(entry) == PACKED_MEDIA_TYPE && known_dictionary(entry).is_ok());
        let compact = accept
            .split(',')
            .any(|entry| is_compact(&media_type(entry)));
        let encodings = header_text(headers, header::ACCEPT_ENCODING).unwrap_or_default();
        let zstd = encodings.split(',').any(|entry| {
            let mut parts = entry.split(';');
            let name = parts.next().unwrap_or_default().trim();
            // `zstd;q=0` refuses it.
            let refused = parts.any(|p| matches!(p.trim(), "q=0" | "q=0.0" | "q=0.00" | "q=0.000"));
            name.eq_ignore_ascii_case(COMPACT_ENCODING) && !refused
        });
        Wanted {
            format: if packed {
                Format::Packed
            } else if compact {
                Format::Compact
            } else {
                Format::Json
            },
            zstd,
        }
    }

    /// The answer for `value` in the wanted form.
    pub fn reply<T: Serialize>(self, value: &T) -> Result<Response> {
        let body = match self.format {
            Format::Json => serde_json::to_vec(value)?,
            Format::Compact => to_compact(value)?,
            Format::Packed => packed::encode(value),
        };
        self.finish(body)
    }

    /// The answer for a body already written as JSON (a page of changes), transcoded to the
    /// compact form when that is wanted.
    pub fn reply_json(self, json: Vec<u8>) -> Result<Response> {
        let body = match self.format {
            Format::Json => json,
            Format::Compact => json_to_compact(&json)?,
            Format::Packed => packed::encode_value(&serde_json::from_slice(&json)?),
        };
        self.finish(body)
    }

    /// A page of changes in the wanted form, before any `Content-Encoding`: a packed page is
    /// assembled from its changes' packed fragments (cached per instance,
    /// `crate::delivery_cache`) and compressed once, without a `serde_json::Value` of it.
    pub fn page_body(self, page: &crate::changelog::PageParts) -> Result<Vec<u8>> {
        Ok(match self.format {
            Format::Json => page.json().into_bytes(),
            Format::Compact => json_to_compact(page.json().as_bytes())?,
            Format::Packed => compress_page(&page.packed()),
        })
    }

    /// The answer for a body `page_body` wrote.
    pub fn reply_page(self, body: Vec<u8>) -> Result<Response> {
        self.finish(body)
    }

    fn finish(self, body: Vec<u8>) -> Result<Response> {
        let content_type = match self.format {
            Format::Json => "application/json",
            Format::Compact => COMPACT_CONTENT_TYPE,
            Format::Packed => PACKED_CONTENT_TYPE,
        };
        // A packed body is compressed by its own media type.
        let compress = self.format != Format::Packed && self.zstd && body.len() >= COMPRESS_FROM;
        let mut response = if compress {
            let packed = zstd::bulk::compress(&body, ANSWER_LEVEL)
                .map_err(|e| ServerError::Internal(format!("compressing an answer: {e}")))?;
            let mut response = packed.into_response();
            response.headers_mut().insert(
                header::CONTENT_ENCODING,
                HeaderValue::from_static(COMPACT_ENCODING),
            );
            response
        } else {
            body.into_response()
        };
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        headers.insert(
            header::VARY,
            HeaderValue::from_static("accept, accept-encoding"),
        );
        Ok(response)
    }
}

/// A packed page larger than this is compressed at `PAGE_LEVEL`; smaller ones as every other
/// packed body (`packed::compress`).
const PAGE_FROM: usize = 4096;

/// zstd level of large packed pages. Each pulling replica gets its own page (own changes left
/// out, its own cursor), so the compression is paid once per pull: level 6 cost about 4× the
/// CPU of level 3 per page for a few per cent fewer bytes (docs/BENCHMARKS.md, "The delivery
/// cache").
const PAGE_LEVEL: i32 = 3;

/// Compresses a packed page with the shipped dictionary, large ones at `PAGE_LEVEL` with a
/// compression context kept per thread (a fresh context per page cost as much again as the
/// compression at this level). The frame is the one `packed::compress` writes; any level reads
/// back with the same dictionary.
pub fn compress_page(packed_page: &[u8]) -> Vec<u8> {
    use std::cell::RefCell;
    use std::sync::OnceLock;
    if packed_page.len() <= PAGE_FROM {
        return packed::compress(packed_page);
    }
    static DICTIONARY: OnceLock<zstd::dict::EncoderDictionary<'static>> = OnceLock::new();
    thread_local! {
        static COMPRESSOR: RefCell<Option<zstd::bulk::Compressor<'static>>> =
            const { RefCell::new(None) };
    }
    let dictionary = DICTIONARY.get_or_init(|| {
        let bytes = packed::dictionary(packed::DICTIONARY_ID).expect("this build's dictionary");
        zstd::dict::EncoderDictionary::copy(bytes, PAGE_LEVEL)
    });
    COMPRESSOR.with(|cell| {
        cell.borrow_mut()
            .get_or_insert_with(|| packed::frame_compressor(dictionary))
            .compress(packed_page)
            .expect("zstd compresses a buffer in memory")
    })
}

/// JSON text rewritten as MessagePack token by token (the same maps, arrays and scalars), without
/// building a `serde_json::Value` of it first: on a page of a thousand changes that tree was
/// most of the transcoding's allocations.
pub fn json_to_compact(json: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(json.len() * 3 / 4);
    let mut reader = serde_json::Deserializer::from_slice(json);
    let mut writer = rmp_serde::Serializer::new(&mut out).with_struct_map();
    serde_transcode::transcode(&mut reader, &mut writer)
        .map_err(|e| ServerError::Internal(format!("transcoding an answer to MessagePack: {e}")))?;
    reader.end()?;
    Ok(out)
}

/// MessagePack with field names (maps, not arrays): the JSON's tagged and flattened shapes
/// read back the same way.
pub fn to_compact<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>> {
    rmp_serde::to_vec_named(value)
        .map_err(|e| ServerError::Internal(format!("encoding MessagePack: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_protocol::PushResponse;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn content_types_are_read_or_refused_with_415() {
        let of = |t: &str| request_format(&headers(&[(header::CONTENT_TYPE, t)]));
        assert_eq!(
            of("application/json; charset=utf-8").unwrap(),
            Some(Format::Json)
        );
        assert_eq!(of("Application/MsgPack").unwrap(), Some(Format::Compact));
        assert_eq!(request_format(&HeaderMap::new()).unwrap(), None);
        let refused = of("application/cbor").unwrap_err();
        assert_eq!(refused.status(), 415);
        assert_eq!(refused.code(), "unsupported_media_type");
        let gzip = decode_encoding(
            &headers(&[(header::CONTENT_ENCODING, "gzip")]),
            bytes::Bytes::from_static(b"x"),
            10,
        )
        .unwrap_err();
        assert_eq!(gzip.status(), 415);
    }

    #[test]
    fn a_zip_bomb_is_refused_at_the_decompressed_limit() {
        let limit = 1024 * 1024;
        let zeros = vec![0u8; 64 * limit];
        let bomb = zstd::bulk::compress(&zeros, 3).unwrap();
        assert!(bomb.len() < 64 * 1024, "{} bytes", bomb.len());
        let e = unzstd(&bomb, limit).unwrap_err();
        assert_eq!(e.status(), 413, "{e}");
        // A frame that asks for a window past 4 MiB is refused before the decoder allocates it.
        let wide = zstd::bulk::compress(&zeros, 19).unwrap();
        let e = unzstd(&wide, limit).unwrap_err();
        assert_eq!(e.status(), 400, "{e}");
        assert!(e.to_string().contains("memory"), "{e}");
        // Within the limit it decompresses.
        let small = zstd::bulk::compress(&zeros[..limit], 3).unwrap();
        assert_eq!(unzstd(&small, limit).unwrap().len(), limit);
        // Garbage is a 400, not a panic.
        assert_eq!(unzstd(b"not zstd", limit).unwrap_err().status(), 400);
    }

    #[test]
    fn answers_follow_accept_and_accept_encoding() {
        let value = PushResponse { results: vec![] };
        let wanted = Wanted::from_headers(&headers(&[
            (
                header::ACCEPT,
                "application/msgpack, application/json;q=0.5",
            ),
            (header::ACCEPT_ENCODING, "gzip, zstd"),
        ]));
        assert_eq!(
            wanted,
            Wanted {
                format: Format::Compact,
                zstd: true
            }
        );
        let refused = Wanted::from_headers(&headers(&[(header::ACCEPT_ENCODING, "zstd;q=0")]));
        assert_eq!(
            refused,
            Wanted {
                format: Format::Json,
                zstd: false
            }
        );
        let back: PushResponse = from_compact(&to_compact(&value).unwrap()).unwrap();
        // A page written as JSON reads back from its transcoded form as the same value.
        let page = br#"{"changes":[{"server_seq":7,"op":{"type":"x","n":-3,"f":1.5,"s":"\u00e9\"","none":null,"list":[true,false]}}],"next_cursor":9,"has_more":false}"#;
        let direct: serde_json::Value = from_compact(&json_to_compact(page).unwrap()).unwrap();
        assert_eq!(
            direct,
            serde_json::from_slice::<serde_json::Value>(page).unwrap()
        );
        assert!(json_to_compact(b"{\"a\":1} trailing").is_err());
        assert_eq!(back, value);
        // Shape errors are 422, garbage 400.
        assert_eq!(
            from_compact::<PushResponse>(&to_compact(&1u8).unwrap())
                .unwrap_err()
                .status(),
            422
        );
        assert_eq!(
            from_compact::<PushResponse>(&[0xc1]).unwrap_err().status(),
            400
        );
    }

    #[test]
    fn the_packed_form_is_negotiated_by_its_dictionary() {
        let of = |t: &str| request_format(&headers(&[(header::CONTENT_TYPE, t)]));
        assert_eq!(of(PACKED_CONTENT_TYPE).unwrap(), Some(Format::Packed));
        for unknown in [
            "application/vnd.switchboard.msgpack+zstd; dict=2",
            "application/vnd.switchboard.msgpack+zstd",
            "application/vnd.switchboard.msgpack+zstd; dict=one",
        ] {
            let e = of(unknown).unwrap_err();
            assert_eq!(e.status(), 415, "{unknown}");
            assert_eq!(e.code(), "unknown_dictionary", "{unknown}");
            assert!(e.to_string().contains("application/msgpack"), "{e}");
        }
        // Answers: packed for a caller naming a dictionary the server has, else what it had.
        let wanted = |accept: &str| {
            Wanted::from_headers(&headers(&[
                (header::ACCEPT, accept),
                (header::ACCEPT_ENCODING, "zstd"),
            ]))
            .format
        };
        assert_eq!(
            wanted(&format!("{PACKED_CONTENT_TYPE}, application/msgpack")),
            Format::Packed
        );
        assert_eq!(
            wanted("application/vnd.switchboard.msgpack+zstd; dict=9, application/msgpack"),
            Format::Compact
        );
        assert_eq!(
            wanted("application/vnd.switchboard.msgpack+zstd; dict=9, application/json"),
            Format::Json
        );
        // A packed answer carries its dictionary and no second encoding.
        let value = PushResponse { results: vec![] };
        let answer = Wanted {
            format: Format::Packed,
            zstd: true,
        }
        .reply(&value)
        .unwrap();
        assert_eq!(answer.headers()[header::CONTENT_TYPE], PACKED_CONTENT_TYPE);
        assert!(answer.headers().get(header::CONTENT_ENCODING).is_none());
    }

    #[test]
    fn a_large_page_compressed_at_the_page_level_reads_back_the_same() {
        use switchboard_protocol::{
            Change, ChangesPage, Channel, Direction, FollowUp, Op, Outcome, Role,
        };
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-05T10:00:00Z")
            .unwrap()
            .to_utc();
        let lead = uuid::Uuid::new_v4().to_string();
        let page = ChangesPage {
            changes: (0..500)
                .map(|n| Change {
                    server_seq: 1_000 + n,
                    op: Op::FollowUpLogged(FollowUp {
                        id: uuid::Uuid::new_v4().to_string(),
                        lead_id: lead.clone(),
                        channel: Channel::Phone,
                        direction: Direction::Out,
                        outcome: Outcome::NoAnswer,
                        note: Some("left a voicemail, call back tomorrow".into()),
                        occurred_at: at + chrono::Duration::seconds(n),
                        rep: "rep_a".into(),
                        next_follow_up_at: None,
                    }),
                })
                .collect(),
            next_cursor: 1_499,
            has_more: false,
            role: Some(Role::Rep),
            head_cursor: None,
        };
        let tree = serde_json::to_value(&page).unwrap();
        let packed_page = packed::pack(&tree);
        let at_page_level = compress_page(&packed_page);
        let at_level_6 = packed::compress(&packed_page);
        // Twice: the second reuses the thread's context.
        assert_eq!(compress_page(&packed_page), at_page_level);
        for body in [&at_page_level, &at_level_6] {
            assert_eq!(packed::decode::<ChangesPage>(body, 1 << 24).unwrap(), page);
        }
        eprintln!(
            "500 follow-ups: packed {} B, level {PAGE_LEVEL} {} B, level 6 {} B",
            packed_page.len(),
            at_page_level.len(),
            at_level_6.len()
        );
        assert!(at_page_level.len() * 10 < packed_page.len() * 4);
        // Small bodies are left to `packed::compress`.
        assert_eq!(compress_page(b"\x80"), packed::compress(b"\x80"));
    }

    #[test]
    fn a_packed_body_is_held_to_the_limit_after_decompressing() {
        let limit = 64 * 1024;
        let big = PushResponse {
            results: (0..10_000)
                .map(|seq| switchboard_protocol::PushResult {
                    seq,
                    status: switchboard_protocol::PushStatus::Applied,
                    code: None,
                    reason: None,
                })
                .collect(),
        };
        let body = packed::encode(&big);
        assert!(body.len() < limit, "{} B", body.len());
        let e = decode_packed::<PushResponse>(&body, limit).unwrap_err();
        assert_eq!(e.status(), 413, "{e}");
        assert_eq!(decode_packed::<PushResponse>(&body, 1 << 20).unwrap(), big);
        // Shape errors are 422, garbage 400, a second encoding 415.
        let e = decode_packed::<PushResponse>(&packed::encode(&1u8), limit).unwrap_err();
        assert_eq!(e.status(), 422, "{e}");
        assert_eq!(
            decode_packed::<PushResponse>(b"garbage", limit)
                .unwrap_err()
                .status(),
            400
        );
        let zstd_too = headers(&[(header::CONTENT_ENCODING, "zstd")]);
        let e = from_packed::<PushResponse>(&zstd_too, &body, 1 << 20).unwrap_err();
        assert_eq!(e.status(), 415, "{e}");
    }
}
