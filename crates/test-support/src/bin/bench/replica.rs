//! One simulated replica's requests in the form real replicas send them: the packed form
//! (protocol 5: binary ids and times, zstd with the shipped dictionary, as
//! `switchboard_sync::Client` sends first), the compact form (protocol 4: MessagePack with
//! field names, zstd both ways), or JSON (`--wire json`, scripts' form and the old bench's). Pulls name the replica and its last push
//! sequence, so the server leaves its own changes out (protocol 4), unless `--no-own`.

use reqwest::header::{ACCEPT, ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE};
use switchboard_protocol::packed::{self, PACKED_CONTENT_TYPE, PACKED_MEDIA_TYPE};
use switchboard_protocol::{
    ChangesPage, PushOp, PushRequest, PushResponse, COMPACT_CONTENT_TYPE, COMPACT_ENCODING,
    PROTOCOL_HEADER, PROTOCOL_VERSION,
};
use switchboard_server::wire;

/// zstd level of pushes, as the sync client uses.
const PUSH_LEVEL: i32 = 3;

/// The most an answer may decompress to.
const ANSWER_LIMIT: usize = 256 * 1024 * 1024;

/// How bodies travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wire {
    Packed,
    Compact,
    Json,
}

impl Wire {
    /// `packed`, `compact` or `json`.
    pub fn parse(text: &str) -> Option<Wire> {
        match text {
            "packed" => Some(Wire::Packed),
            "compact" => Some(Wire::Compact),
            "json" => Some(Wire::Json),
            _ => None,
        }
    }

    /// The name `parse` reads.
    pub fn name(self) -> &'static str {
        match self {
            Wire::Packed => "packed",
            Wire::Compact => "compact",
            Wire::Json => "json",
        }
    }
}

/// One replica's connection to the server (its own HTTPS connection pool, like a laptop).
pub struct Replica {
    pub http: reqwest::Client,
    pub base: String,
    pub token: String,
    pub id: String,
    pub wire: Wire,
    /// Whether pulls name the replica (protocol 4's own-change filter).
    pub own: bool,
}

impl Replica {
    /// `POST /v1/push`.
    pub async fn push(&self, ops: Vec<PushOp>) -> Result<PushResponse, String> {
        let request = PushRequest {
            replica_id: self.id.clone(),
            ops,
        };
        let builder = self
            .http
            .post(format!("{}/v1/push", self.base))
            .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
            .bearer_auth(&self.token);
        let builder = match self.wire {
            Wire::Json => builder
                .header(CONTENT_TYPE, "application/json")
                .body(serde_json::to_vec(&request).map_err(|e| e.to_string())?),
            Wire::Packed => accept_packed(builder)
                .header(CONTENT_TYPE, PACKED_CONTENT_TYPE)
                .body(packed::encode(&request)),
            Wire::Compact => {
                let packed = wire::to_compact(&request).map_err(|e| e.to_string())?;
                let body = zstd::bulk::compress(&packed, PUSH_LEVEL).map_err(|e| e.to_string())?;
                accept_compact(builder)
                    .header(CONTENT_TYPE, COMPACT_CONTENT_TYPE)
                    .header(CONTENT_ENCODING, COMPACT_ENCODING)
                    .body(body)
            }
        };
        decode(builder.send().await.map_err(|e| e.to_string())?).await
    }

    /// `GET /v1/changes` after `after`; `through` is the replica's last push sequence.
    pub async fn pull(&self, after: i64, limit: u32, through: i64) -> Result<ChangesPage, String> {
        let mut url = format!("{}/v1/changes?after={after}&limit={limit}", self.base);
        if self.own {
            url.push_str(&format!("&replica={}&through={through}", self.id));
        }
        let mut builder = self
            .http
            .get(url)
            .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
            .bearer_auth(&self.token);
        builder = match self.wire {
            Wire::Packed => accept_packed(builder),
            Wire::Compact => accept_compact(builder),
            Wire::Json => builder,
        };
        decode(builder.send().await.map_err(|e| e.to_string())?).await
    }
}

fn accept_compact(builder: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    builder
        .header(
            ACCEPT,
            format!("{COMPACT_CONTENT_TYPE}, application/json;q=0.5"),
        )
        .header(ACCEPT_ENCODING, COMPACT_ENCODING)
}

fn accept_packed(builder: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    builder
        .header(
            ACCEPT,
            format!("{PACKED_CONTENT_TYPE}, {COMPACT_CONTENT_TYPE}, application/json;q=0.5"),
        )
        .header(ACCEPT_ENCODING, COMPACT_ENCODING)
}

/// Reads an answer in whichever form the server chose.
async fn decode<T: serde::de::DeserializeOwned>(response: reqwest::Response) -> Result<T, String> {
    let status = response.status();
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
            .map(|v| v.trim().to_ascii_lowercase())
            .unwrap_or_default()
    };
    let content_type = header(CONTENT_TYPE);
    let compact = content_type.starts_with(COMPACT_CONTENT_TYPE);
    let zstd = header(CONTENT_ENCODING) == COMPACT_ENCODING;
    let bytes = response.bytes().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!(
            "HTTP {status}: {}",
            String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
        ));
    }
    if content_type.starts_with(PACKED_MEDIA_TYPE) {
        return packed::decode(&bytes, ANSWER_LIMIT).map_err(|e| e.to_string());
    }
    let unpacked;
    let body = if zstd {
        unpacked = wire::unzstd(&bytes, ANSWER_LIMIT).map_err(|e| e.to_string())?;
        &unpacked[..]
    } else {
        &bytes[..]
    };
    if compact {
        wire::from_compact(body).map_err(|e| e.to_string())
    } else {
        serde_json::from_slice(body).map_err(|e| e.to_string())
    }
}
