//! The HTTPS client of the central store's API: login, push, pull. Pushes and pulls travel in
//! the packed form (protocol 5: binary ids and times, zstd with a shipped dictionary); a server
//! that refuses it with 415 or 406 gets the compact form (protocol 4: MessagePack compressed
//! with zstd) from then on, and one that refuses that too gets JSON.

use crate::error::{Result, SyncError};
use crate::tls::{PinMismatch, TrustAnchor};
use reqwest::header::{ACCEPT, ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE};
use std::io::Read;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;
use switchboard_protocol::packed::{self, PACKED_CONTENT_TYPE, PACKED_MEDIA_TYPE};
use switchboard_protocol::{
    ChangesPage, Device, ErrorBody, LoginRequest, LoginResponse, PushRequest, PushResponse, Secret,
    COMPACT_CONTENT_TYPE, COMPACT_ENCODING, DEVICE_REVOKED, PROTOCOL_HEADER, PROTOCOL_VERSION,
    TOKEN_EXPIRED,
};

/// How long an ordinary request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The most a compressed answer may decompress to (a page of changes is far smaller): a
/// hostile or broken server cannot make the client allocate without bound.
const ANSWER_LIMIT: u64 = 256 * 1024 * 1024;

/// zstd level of pushes: fast, and most of the gain on repetitive operations.
const PUSH_LEVEL: i32 = 3;

/// A connection to one central store.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    /// The form pushes and pulls use (`JSON`, `COMPACT`, `PACKED`); lowered when the server
    /// refuses it, shared by every clone.
    form: Arc<AtomicU8>,
}

/// Body forms, each understood by every server that understands the next.
const JSON: u8 = 0;
const COMPACT: u8 = 1;
const PACKED: u8 = 2;

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("base", &self.base).finish()
    }
}

impl Client {
    /// A client for `server_url` (must be `https://`), trusting the server by `anchor`.
    pub fn new(server_url: &str, anchor: &TrustAnchor) -> Result<Client> {
        let base = normalize_url(server_url)?;
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(anchor.client_config()?)
            .https_only(true)
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| SyncError::Tls(chain(&e)))?;
        Ok(Client {
            http,
            base,
            form: Arc::new(AtomicU8::new(PACKED)),
        })
    }

    /// The same client speaking JSON only (scripts' format; the benchmark's baseline).
    pub fn json_only(self) -> Client {
        self.form.store(JSON, Ordering::Relaxed);
        self
    }

    /// The same client without the packed form's dictionary: the compact form of protocol 4
    /// (a client built before protocol 5; the benchmark's baseline).
    pub fn without_dictionary(self) -> Client {
        self.form.fetch_min(COMPACT, Ordering::Relaxed);
        self
    }

    fn form(&self) -> u8 {
        self.form.load(Ordering::Relaxed)
    }

    /// Whether pushes and pulls use the compact or packed form (until a server refuses it).
    pub fn is_compact(&self) -> bool {
        self.form() >= COMPACT
    }

    /// Whether pushes and pulls use the packed form (until a server refuses it).
    pub fn is_packed(&self) -> bool {
        self.form() == PACKED
    }

    /// Falls back to the next simpler form for good when `result` is the server refusing
    /// `form` (415 or 406; 415 `unknown_dictionary` for a dictionary it lacks).
    fn refused<T>(&self, result: &Result<T>, form: u8) -> bool {
        let refused = matches!(
            result,
            Err(SyncError::Server {
                status: 406 | 415,
                ..
            })
        );
        if refused {
            self.form
                .fetch_min(form.saturating_sub(1), Ordering::Relaxed);
        }
        refused
    }

    /// Asks for answers in `form` (with the simpler ones as fallbacks an older server picks).
    fn accept(request: reqwest::RequestBuilder, form: u8) -> reqwest::RequestBuilder {
        let accept = match form {
            PACKED => {
                format!("{PACKED_CONTENT_TYPE}, {COMPACT_CONTENT_TYPE}, application/json;q=0.5")
            }
            COMPACT => format!("{COMPACT_CONTENT_TYPE}, application/json;q=0.5"),
            _ => return request,
        };
        request
            .header(ACCEPT, accept)
            .header(ACCEPT_ENCODING, COMPACT_ENCODING)
    }

    /// The server's base URL (`https://host:port`).
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The HTTP client, for requests other modules shape (`crate::live`).
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Logs in; the answer carries the bearer token and the deployment's suppression key.
    pub async fn login(&self, user: &str, password: &Secret) -> Result<LoginResponse> {
        self.login_as(&LoginRequest::new(user, password.clone()))
            .await
    }

    /// Logs in with device details (protocol 3: the device id, name and app version).
    pub async fn login_as(&self, login: &LoginRequest) -> Result<LoginResponse> {
        let request = self
            .http
            .post(format!("{}/v1/login", self.base))
            .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
            .timeout(REQUEST_TIMEOUT)
            .json(login);
        decode(request.send().await.map_err(network)?).await
    }

    /// Pushes a batch of outbox operations (packed, else compact, else JSON: the first form
    /// the server has not refused).
    pub async fn push(&self, token: &Secret, request: &PushRequest) -> Result<PushResponse> {
        if self.form() == PACKED {
            let answer = self.push_packed(token, packed::encode(request)).await;
            if !self.refused(&answer, PACKED) {
                return answer;
            }
        }
        if self.form() == COMPACT {
            let answer = self.push_compact(token, compact_push(request)).await;
            if !self.refused(&answer, COMPACT) {
                return answer;
            }
        }
        let body = serde_json::to_vec(request).expect("a push request serialises");
        self.push_raw(token, body).await
    }

    /// Pushes an already-encoded JSON batch (the benchmark counts its bytes).
    pub async fn push_raw(&self, token: &Secret, body: Vec<u8>) -> Result<PushResponse> {
        self.push_encoded(token, body, "application/json", None, JSON)
            .await
    }

    /// Pushes a batch already in the compact form (`compact_push`), asking for a compact answer.
    pub async fn push_compact(&self, token: &Secret, body: Vec<u8>) -> Result<PushResponse> {
        let encoding = Some(COMPACT_ENCODING);
        self.push_encoded(token, body, COMPACT_CONTENT_TYPE, encoding, COMPACT)
            .await
    }

    /// Pushes a batch already in the packed form (`packed::encode`), asking for a packed answer.
    pub async fn push_packed(&self, token: &Secret, body: Vec<u8>) -> Result<PushResponse> {
        self.push_encoded(token, body, PACKED_CONTENT_TYPE, None, PACKED)
            .await
    }

    /// Pushes `body` sent as `content_type` (and `encoding`), asking for the answer in `form`.
    async fn push_encoded(
        &self,
        token: &Secret,
        body: Vec<u8>,
        content_type: &str,
        encoding: Option<&str>,
        form: u8,
    ) -> Result<PushResponse> {
        let mut request = self
            .http
            .post(format!("{}/v1/push", self.base))
            .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
            .header(CONTENT_TYPE, content_type)
            .bearer_auth(token.expose())
            .timeout(REQUEST_TIMEOUT)
            .body(body);
        if let Some(encoding) = encoding {
            request = request.header(CONTENT_ENCODING, encoding);
        }
        decode(Self::accept(request, form).send().await.map_err(network)?).await
    }

    /// Pulls the changes after `after`; with `wait_secs` > 0 the server holds the request until
    /// a change arrives or the wait ends (long-poll).
    pub async fn pull(
        &self,
        token: &Secret,
        after: i64,
        limit: u32,
        wait_secs: u32,
    ) -> Result<ChangesPage> {
        self.pull_from(token, None, after, limit, wait_secs).await
    }

    /// As `pull`, for the replica `own` names (its id and the highest push sequence its file
    /// can have sent): the server leaves out the changes that replica pushed itself (protocol 4).
    pub async fn pull_from(
        &self,
        token: &Secret,
        own: Option<&Own>,
        after: i64,
        limit: u32,
        wait_secs: u32,
    ) -> Result<ChangesPage> {
        loop {
            let form = self.form();
            let answer = self
                .pull_as(token, own, after, limit, wait_secs, form)
                .await;
            if form == JSON || !self.refused(&answer, form) {
                return answer;
            }
        }
    }

    async fn pull_as(
        &self,
        token: &Secret,
        own: Option<&Own>,
        after: i64,
        limit: u32,
        wait_secs: u32,
        form: u8,
    ) -> Result<ChangesPage> {
        let mut url = format!(
            "{}/v1/changes?after={after}&limit={limit}&wait={wait_secs}",
            self.base
        );
        if let Some(own) = own {
            url.push_str(&format!(
                "&replica={}&through={}",
                query_value(&own.replica),
                own.through
            ));
        }
        let request = self
            .http
            .get(url)
            .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
            .bearer_auth(token.expose())
            .timeout(REQUEST_TIMEOUT + Duration::from_secs(wait_secs as u64));
        decode(Self::accept(request, form).send().await.map_err(network)?).await
    }

    /// The devices signed in to the caller's office (managers) or to every office (admins).
    pub async fn devices(&self, token: &Secret) -> Result<Vec<Device>> {
        let request = self
            .http
            .get(format!("{}/v1/devices", self.base))
            .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
            .bearer_auth(token.expose())
            .timeout(REQUEST_TIMEOUT);
        decode(request.send().await.map_err(network)?).await
    }

    /// Revokes a device: it is refused at once and erases its replica at its next contact.
    pub async fn revoke_device(&self, token: &Secret, id: &str) -> Result<Device> {
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(SyncError::BadInput(format!(
                "'{id}' is not a device id (see `switchboard device list`)"
            )));
        }
        let request = self
            .http
            .post(format!("{}/v1/devices/{id}/revoke", self.base))
            .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
            .bearer_auth(token.expose())
            .timeout(REQUEST_TIMEOUT);
        decode(request.send().await.map_err(network)?).await
    }

    /// The newest update the office publishes (`None`: none). Sent without the protocol
    /// header: the update endpoints answer every version, so an app too old for the server can
    /// still fetch its update.
    pub async fn update_manifest(
        &self,
        token: &Secret,
    ) -> Result<Option<switchboard_protocol::updates::UpdateManifest>> {
        let response = self
            .http
            .get(format!("{}/v1/updates/latest", self.base))
            .bearer_auth(token.expose())
            .timeout(REQUEST_TIMEOUT)
            .send()
            .await
            .map_err(network)?;
        if response.status() == reqwest::StatusCode::NO_CONTENT {
            return Ok(None);
        }
        decode(response).await.map(Some)
    }

    /// Downloads an update's package from this server (a `url` elsewhere is refused: the token
    /// goes only to the pinned server), refusing more than `max` bytes.
    pub async fn update_package(&self, token: &Secret, url: &str, max: u64) -> Result<Vec<u8>> {
        if !url.starts_with("/v1/updates/") || url.contains("..") {
            return Err(SyncError::UpdateRefused(format!(
                "the server offered the update at '{url}', not on itself; it was not downloaded"
            )));
        }
        let mut response = self
            .http
            .get(format!("{}{url}", self.base))
            .bearer_auth(token.expose())
            // A package of tens of MiB over a slow office line.
            .timeout(REQUEST_TIMEOUT * 10)
            .send()
            .await
            .map_err(network)?;
        if !response.status().is_success() {
            return Err(error_from(response).await);
        }
        let mut body = Vec::new();
        while let Some(piece) = response.chunk().await.map_err(network)? {
            if body.len() as u64 + piece.len() as u64 > max {
                return Err(SyncError::UpdateRefused(format!(
                    "the update's package is larger than the {max} bytes announced; it was not \
                     installed, tell your administrator"
                )));
            }
            body.extend_from_slice(&piece);
        }
        Ok(body)
    }

    /// Revokes the token on the server.
    pub async fn logout(&self, token: &Secret) -> Result<()> {
        let response = self
            .http
            .post(format!("{}/v1/logout", self.base))
            .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
            .bearer_auth(token.expose())
            .timeout(REQUEST_TIMEOUT)
            .send()
            .await
            .map_err(network)?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(error_from(response).await)
        }
    }
}

/// `https://host[:port]` without a trailing slash; anything but HTTPS is refused.
/// A replica as its pull names itself: its id, and the highest push sequence its file can have
/// sent (`identity::push_horizon`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Own {
    pub replica: String,
    pub through: i64,
}

/// `value` escaped for a URL query (replica ids are UUIDs; anything else is percent-encoded).
fn query_value(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn normalize_url(url: &str) -> Result<String> {
    let url = url.trim().trim_end_matches('/');
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| SyncError::BadInput(format!("'{url}' is not a server URL: {e}")))?;
    if parsed.scheme() != "https" {
        return Err(SyncError::BadInput(format!(
            "'{url}': the server must be reached over https://"
        )));
    }
    if parsed.host_str().is_none() {
        return Err(SyncError::BadInput(format!("'{url}' names no host")));
    }
    Ok(url.to_string())
}

/// The full cause chain of an error, so TLS refusals say why.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    text
}

/// Tells apart why a request got no answer: a certificate that is not the pinned one, another
/// TLS failure, or the network (refused, reset, timed out).
pub(crate) fn network(e: reqwest::Error) -> SyncError {
    match tls_cause(&e) {
        Some(rustls::Error::InvalidCertificate(rustls::CertificateError::Other(other))) => {
            match other.0.downcast_ref::<PinMismatch>() {
                Some(pin) => SyncError::FingerprintMismatch {
                    presented: pin.presented.clone(),
                    pinned: pin.pinned.clone(),
                },
                None => SyncError::Tls(chain(&e)),
            }
        }
        Some(_) => SyncError::Tls(chain(&e)),
        None => SyncError::Network(chain(&e)),
    }
}

/// The rustls error behind `e`, if a TLS failure caused it. TLS errors travel inside
/// `std::io::Error` (at times twice), whose `source()` skips the error it wraps, so each
/// wrapped error is opened as well as followed.
fn tls_cause<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    if let Some(tls) = e.downcast_ref::<rustls::Error>() {
        return Some(tls);
    }
    e.downcast_ref::<std::io::Error>()
        .and_then(|io| io.get_ref())
        .and_then(|inner| tls_cause(inner))
        .or_else(|| e.source().and_then(tls_cause))
}

pub(crate) async fn error_from(response: reqwest::Response) -> SyncError {
    let status = response.status();
    let server_version = response
        .headers()
        .get(PROTOCOL_HEADER)
        .and_then(|v| v.to_str().ok()?.trim().parse::<u32>().ok());
    let text = response.text().await.unwrap_or_default();
    let body: Option<ErrorBody> = serde_json::from_str(&text).ok();
    let (code, message) = match body {
        Some(b) => (b.code, b.message),
        None => ("http".to_string(), text.chars().take(300).collect()),
    };
    if status == reqwest::StatusCode::PAYLOAD_TOO_LARGE {
        return SyncError::PayloadTooLarge(message);
    }
    if status == reqwest::StatusCode::UNAUTHORIZED {
        match code.as_str() {
            DEVICE_REVOKED => return SyncError::DeviceRevoked(message),
            TOKEN_EXPIRED => return SyncError::TokenExpired(message),
            _ => {}
        }
        return SyncError::Unauthorized(format!(
            "the server refused the credentials ({message}); run `switchboard login` again"
        ));
    }
    if status == reqwest::StatusCode::CONFLICT {
        match code.as_str() {
            "protocol_version" => return version_mismatch(server_version, &message),
            "replica_reused" => return SyncError::ReplicaReused(message),
            _ => {}
        }
    }
    SyncError::Server {
        status: status.as_u16(),
        code,
        message,
    }
}

/// How a user updates: the window's banner, the CLI, or the administrator's package.
pub const UPDATE_HOW: &str = "To update: in the window, choose \"Install update\" on the banner \
(it installs the version your office's server offers, after checking its signature); from a \
terminal, `switchboard-desktop --check-update` checks what your office offers; or install the switchboard .deb your \
administrator gives you with `sudo apt install ./switchboard_VERSION_amd64.deb`.";

/// Which side must be updated. Servers since protocol 2 name their version in the answer's
/// header; one that does not is a protocol-1 server, older than this client.
fn version_mismatch(server_version: Option<u32>, message: &str) -> SyncError {
    let kept = "nothing was lost: your changes wait on this computer";
    match server_version {
        Some(v) if v > PROTOCOL_VERSION => SyncError::UpdateRequired(format!(
            "update Switchboard: the server speaks sync protocol {v}, this Switchboard {}; \
             {kept} until you update. {UPDATE_HOW}",
            PROTOCOL_VERSION
        )),
        _ => SyncError::ServerOutdated(format!(
            "the server is older than this Switchboard ({message}); ask your administrator to \
             update switchboard-server; {kept} until then"
        )),
    }
}

/// A push in the compact form: MessagePack with field names, compressed with zstd.
pub fn compact_push(request: &PushRequest) -> Vec<u8> {
    let packed = rmp_serde::to_vec_named(request).expect("a push request serialises");
    zstd::bulk::compress(&packed, PUSH_LEVEL).expect("zstd compresses a buffer in memory")
}

async fn decode<T: serde::de::DeserializeOwned>(response: reqwest::Response) -> Result<T> {
    if !response.status().is_success() {
        return Err(error_from(response).await);
    }
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
    // A body cut mid-way is a network failure, not a protocol error: the next sync retries.
    let bytes = response.bytes().await.map_err(network)?;
    if content_type.starts_with(PACKED_MEDIA_TYPE) {
        return decode_packed_body(&content_type, &bytes);
    }
    decode_body(compact, zstd, &bytes)
}

/// Reads a packed answer (within `ANSWER_LIMIT`), refusing one in a dictionary this build lacks.
pub fn decode_packed_body<T: serde::de::DeserializeOwned>(
    content_type: &str,
    bytes: &[u8],
) -> Result<T> {
    match packed::dictionary_param(content_type) {
        Some(id) if packed::dictionary(id).is_some() => {}
        _ => {
            return Err(SyncError::Network(format!(
                "unreadable answer from the server: {content_type} names a dictionary this \
                 Switchboard does not have"
            )))
        }
    }
    packed::decode(bytes, ANSWER_LIMIT as usize)
        .map_err(|e| SyncError::Network(format!("unreadable answer from the server: {e}")))
}

/// Reads an answer's body: zstd undone (within `ANSWER_LIMIT`), then MessagePack or JSON.
pub fn decode_body<T: serde::de::DeserializeOwned>(
    compact: bool,
    zstd: bool,
    bytes: &[u8],
) -> Result<T> {
    let unreadable = |e: &dyn std::fmt::Display| {
        SyncError::Network(format!("unreadable answer from the server: {e}"))
    };
    let unpacked;
    let body = if zstd {
        let mut out = Vec::new();
        zstd::stream::read::Decoder::with_buffer(bytes)
            .map_err(|e| unreadable(&e))?
            .take(ANSWER_LIMIT)
            .read_to_end(&mut out)
            .map_err(|e| unreadable(&e))?;
        unpacked = out;
        &unpacked[..]
    } else {
        bytes
    };
    if compact {
        rmp_serde::from_slice(body).map_err(|e| unreadable(&e))
    } else {
        serde_json::from_slice(body).map_err(|e| unreadable(&e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_urls_are_accepted() {
        assert_eq!(
            normalize_url("https://sb.example.com:8443/").unwrap(),
            "https://sb.example.com:8443"
        );
        let err = normalize_url("http://sb.example.com").unwrap_err();
        assert!(err.to_string().contains("https"), "{err}");
        assert!(normalize_url("sb.example.com").is_err());
    }

    fn answer(status: u16, code: &str, message: &str, version: Option<u32>) -> reqwest::Response {
        let body = serde_json::to_vec(&ErrorBody {
            code: code.into(),
            message: message.into(),
        })
        .unwrap();
        let mut response = http::Response::builder().status(status);
        if let Some(v) = version {
            response = response.header(PROTOCOL_HEADER, v.to_string());
        }
        response.body(body).unwrap().into()
    }

    #[tokio::test]
    async fn a_newer_server_tells_the_user_to_update_switchboard() {
        let newer = PROTOCOL_VERSION + 1;
        let e = error_from(answer(409, "protocol_version", "mismatch", Some(newer))).await;
        assert_eq!(e.code(), "update_required");
        assert!(e.to_string().starts_with("update Switchboard"), "{e}");
        assert!(e.to_string().contains("nothing was lost"), "{e}");
        // ... and how: the window's banner, or the administrator's package.
        assert!(e.to_string().contains("\"Install update\""), "{e}");
        assert!(e.to_string().contains("sudo apt install"), "{e}");
        assert!(!e.is_transient());
    }

    #[tokio::test]
    async fn an_older_server_is_named_as_the_side_to_update() {
        // A protocol-1 server sends no version header.
        let old = "this server speaks protocol 1; update the client";
        for version in [None, Some(PROTOCOL_VERSION - 1)] {
            let e = error_from(answer(409, "protocol_version", old, version)).await;
            assert_eq!(e.code(), "server_outdated");
            assert!(e.to_string().contains("update switchboard-server"), "{e}");
            assert!(e.to_string().contains("nothing was lost"), "{e}");
        }
    }

    #[tokio::test]
    async fn a_revoked_device_and_an_expired_sign_in_have_their_own_codes() {
        let e = error_from(answer(401, DEVICE_REVOKED, "removed by mona", None)).await;
        assert_eq!(e.code(), "device_revoked");
        assert_eq!(e.to_string(), "removed by mona");
        let e = error_from(answer(401, TOKEN_EXPIRED, "sign in again", None)).await;
        assert_eq!(e.code(), "token_expired");
        assert!(e.is_refused_credential() && !e.is_transient());
        let e = error_from(answer(401, "unauthorized", "bad token", None)).await;
        assert_eq!(e.code(), "unauthorized");
    }

    #[tokio::test]
    async fn a_server_refusing_the_compact_form_turns_the_client_to_json() {
        let client = Client {
            http: reqwest::Client::new(),
            base: "https://sb.example.com".into(),
            form: Arc::new(AtomicU8::new(PACKED)),
        };
        let other: Result<()> = Err(error_from(answer(500, "internal", "boom", None)).await);
        assert!(!client.refused(&other, PACKED) && client.is_packed());
        // A server without the dictionary: the compact form from then on.
        let no_dictionary: Result<()> =
            Err(error_from(answer(415, "unknown_dictionary", "dict=1 unknown", None)).await);
        let copy = client.clone();
        assert!(client.refused(&no_dictionary, PACKED));
        assert!(!copy.is_packed() && copy.is_compact());
        for status in [406, 415] {
            let copy = client.clone();
            copy.form.store(COMPACT, Ordering::Relaxed);
            let refused: Result<()> =
                Err(error_from(answer(status, "unsupported_media_type", "JSON only", None)).await);
            assert!(client.refused(&refused, COMPACT));
            // Every clone shares the choice: the next request goes out as JSON.
            assert!(!copy.is_compact());
            // A late refusal of a richer form never raises it again.
            assert!(client.refused(&refused, PACKED) && !copy.is_compact());
        }
    }

    #[test]
    fn compact_answers_decode_like_json_ones() {
        let page = ChangesPage {
            changes: vec![],
            next_cursor: 42,
            has_more: false,
            role: Some(switchboard_protocol::Role::Rep),
            head_cursor: Some(57),
        };
        let packed = rmp_serde::to_vec_named(&page).unwrap();
        let zipped = zstd::bulk::compress(&packed, 3).unwrap();
        let json = serde_json::to_vec(&page).unwrap();
        for (compact, zstd, bytes) in [
            (true, true, &zipped),
            (true, false, &packed),
            (false, false, &json),
        ] {
            let back: ChangesPage = decode_body(compact, zstd, bytes).unwrap();
            assert_eq!(back, page);
        }
        let e = decode_body::<ChangesPage>(true, true, b"garbage").unwrap_err();
        assert_eq!(e.code(), "network", "{e}");
        let packed_page = packed::encode(&page);
        let back: ChangesPage = decode_packed_body(PACKED_CONTENT_TYPE, &packed_page).unwrap();
        assert_eq!(back, page);
        let other = "application/vnd.switchboard.msgpack+zstd; dict=2";
        let e = decode_packed_body::<ChangesPage>(other, &packed_page).unwrap_err();
        assert!(e.to_string().contains("dictionary"), "{e}");
    }

    #[tokio::test]
    async fn a_reused_replica_answer_has_its_own_code() {
        let e = error_from(answer(409, "replica_reused", "went backwards", None)).await;
        assert_eq!(e.code(), "replica_reused");
        let other = error_from(answer(409, "conflict", "exists", None)).await;
        assert_eq!(other.code(), "server");
    }
}
