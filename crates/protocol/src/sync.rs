//! Request and response bodies of the central store's HTTP API (see docs/SYNC.md).

use crate::ops::Op;
use crate::records::RegistrationDetails;
use crate::vocabulary::*;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use ts_rs::TS;

/// Header a client sends with its `PROTOCOL_VERSION`; a server refuses another major version.
pub const PROTOCOL_HEADER: &str = "x-switchboard-protocol";

/// Largest page a pull returns, whatever the client asks for. A replica applies a page in one
/// transaction, so large pages make a first sync cheaper (fewer commits and checkpoints).
pub const MAX_PAGE: u32 = 5000;

/// Longest long-poll wait a pull may ask for, in seconds.
pub const MAX_WAIT_SECS: u32 = 30;

/// A secret (token, key) that never prints itself; on the wire it is a plain string.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export, type = "string")]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret value, for the one place that must use it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Every error the server answers with: a stable machine code and a human message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct ErrorBody {
    pub code: String,
    pub message: String,
}

/// `POST /v1/login`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct LoginRequest {
    pub user: String,
    pub password: Secret,
    /// Protocol 3: the device this replica signed in as before (from an earlier
    /// `LoginResponse::device_id`), so a new sign-in keeps the same device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub device_id: Option<String>,
    /// Protocol 3: the name the user gives this computer (default: its host name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub device_name: Option<String>,
    /// Protocol 3: the Switchboard version signing in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub app_version: Option<String>,
}

impl LoginRequest {
    /// A login without device details (as protocol-2 clients send it).
    pub fn new(user: impl Into<String>, password: Secret) -> LoginRequest {
        LoginRequest {
            user: user.into(),
            password,
            device_id: None,
            device_name: None,
            app_version: None,
        }
    }
}

/// The answer to a successful login.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct LoginResponse {
    /// Bearer token for `Authorization: Bearer …`; the server keeps only its SHA-256.
    pub token: Secret,
    pub expires_at: DateTime<Utc>,
    pub user: String,
    pub role: Role,
    /// The user's office (admins may have none); for a manager of several offices, the primary.
    pub office: Option<String>,
    /// Protocol 5: every office the user works in, sorted, `office` among them (a manager may
    /// manage several; admins and the privacy officer have none, and it is absent). Absent
    /// from older servers too: then `office` is the only one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub offices: Option<Vec<String>>,
    /// The deployment's suppression key (hex HMAC-SHA256 key), so replicas hash erased
    /// addresses exactly as the server does.
    pub suppression_key: Secret,
    pub server_time: DateTime<Utc>,
    pub protocol_version: u32,
    /// Protocol 3: what the replica puts one-click unsubscribe links into mail with; absent
    /// when the server has no public URL configured or the account has no office.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub unsubscribe: Option<UnsubscribeKey>,
    /// Protocol 5: one key per office the user works in (each names its office), so a manager
    /// of several offices makes links every office's leads can use; absent as `unsubscribe` is,
    /// and from older servers (then `unsubscribe` is the only key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub unsubscribe_keys: Option<Vec<UnsubscribeKey>>,
    /// Protocol 3: the device this sign-in is bound to; sent back on the next login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub device_id: Option<String>,
}

/// Path of the public unsubscribe endpoint; a token follows it (`/v1/unsubscribe/TOKEN`).
pub const UNSUBSCRIBE_PATH: &str = "/v1/unsubscribe/";

/// The body a one-click unsubscribe POST carries (RFC 8058).
pub const ONE_CLICK_BODY: &str = "List-Unsubscribe=One-Click";

/// An office's unsubscribe key, handed to its replicas at sign-in so they can make links
/// offline (`switchboard_domain::unsubscribe`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct UnsubscribeKey {
    /// The start of every link, ending in `/v1/unsubscribe/`: the server's public URL (what
    /// recipients can reach), not the address replicas sync with.
    pub link_base: String,
    /// Which key made a token (keys are rotated; old ones keep working).
    pub key_id: String,
    /// The HMAC key (hex).
    pub key: Secret,
    /// The office whose leads the key makes links for.
    pub office: String,
}

/// A signed-in device as `GET /v1/devices` lists it (protocol 3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct Device {
    pub id: String,
    pub user: String,
    /// The user's office (admins may have none).
    pub office: Option<String>,
    /// The name the user gave it (default: the host name).
    pub name: String,
    pub app_version: Option<String>,
    /// When it first signed in.
    pub signed_in_at: DateTime<Utc>,
    pub first_sync: Option<DateTime<Utc>>,
    pub last_sync: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked_by: Option<String>,
}

/// Error code of a request from a revoked device: the client erases its replica and keys.
pub const DEVICE_REVOKED: &str = "device_revoked";

/// Error code of a token past its idle limit: the user signs in again.
pub const TOKEN_EXPIRED: &str = "token_expired";

/// The compact body format (protocol 4): MessagePack with named fields, the same shapes as the
/// JSON bodies. Push bodies name it in `Content-Type`, pulls ask for it with `Accept`; JSON stays
/// the default.
pub const COMPACT_CONTENT_TYPE: &str = "application/msgpack";

/// The content encoding a compact body may be compressed with (`Content-Encoding` on a push,
/// `Accept-Encoding` on a pull).
pub const COMPACT_ENCODING: &str = "zstd";

/// One outbox entry as pushed: the replica's sequence number and the operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct PushOp {
    #[ts(type = "number")]
    pub seq: i64,
    pub op: Op,
}

/// `POST /v1/push`: a batch of outbox entries, applied once each by (replica_id, seq).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct PushRequest {
    /// Minted on a fresh install or a restored database, so sequences are never reused.
    pub replica_id: String,
    pub ops: Vec<PushOp>,
}

impl PushRequest {
    /// A push of outbox entries as a replica holds them: each operation with its sequence.
    pub fn of_entries(replica_id: String, entries: &[(i64, Op)]) -> PushRequest {
        PushRequest {
            replica_id,
            ops: entries
                .iter()
                .map(|(seq, op)| PushOp {
                    seq: *seq,
                    op: op.clone(),
                })
                .collect(),
        }
    }
}

/// What became of one pushed operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum PushStatus {
    /// Applied now.
    Applied,
    /// Already applied earlier (same replica and sequence); the earlier answer stands.
    Duplicate,
    /// Refused for good; `code` and `reason` say why. The replica drops it from its outbox.
    Rejected,
}

/// The server's answer for one pushed operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct PushResult {
    #[ts(type = "number")]
    pub seq: i64,
    pub status: PushStatus,
    /// Stable code of a rejection (`subject_erased`, `forbidden_office`, …) or of a note on an
    /// applied operation (`note_dropped`).
    pub code: Option<String>,
    /// Human explanation.
    pub reason: Option<String>,
}

/// The answers to a push, one per pushed operation, in the order pushed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct PushResponse {
    pub results: Vec<PushResult>,
}

/// Query of `GET /v1/changes`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct ChangesQuery {
    /// The cursor from the previous page (0 for a first sync).
    #[serde(default)]
    #[ts(type = "number")]
    pub after: i64,
    /// Page size, at most `MAX_PAGE`.
    pub limit: Option<u32>,
    /// Long-poll: when nothing is newer than `after`, wait up to this many seconds.
    pub wait: Option<u32>,
}

/// One change in the server's log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct Change {
    #[ts(type = "number")]
    pub server_seq: i64,
    pub op: Op,
}

/// A page of changes visible to the caller, in server order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct ChangesPage {
    pub changes: Vec<Change>,
    /// Pass as `after` next time; store it in the same transaction as the page.
    #[ts(type = "number")]
    pub next_cursor: i64,
    /// More changes are already waiting: pull again at once.
    pub has_more: bool,
    /// The caller's role as of this request (protocol 3; absent from older servers), so a
    /// laptop follows a role the admin changed without signing in again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub role: Option<Role>,
    /// The newest change sequence the caller may see, sent while more pages wait (protocol 4;
    /// absent from older servers and on a page that ends the pull), so a replica can tell how
    /// far its sync has to go and show the progress of a long first sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, type = "number")]
    pub head_cursor: Option<i64>,
}

/// `POST /v1/registrations` from the website (authenticated with the intake key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct IntakeRegistration {
    /// The website's id of the submission; the same id is recorded once.
    pub submission_id: String,
    pub kind: RegistrationKind,
    pub product: Option<String>,
    pub submitted_at: DateTime<Utc>,
    /// Who the person is and what the site logged (flattened: the JSON keeps one flat object).
    #[serde(flatten)]
    #[ts(flatten)]
    pub details: RegistrationDetails,
}

/// What became of an intake submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum IntakeStatus {
    /// Recorded and routed.
    Accepted,
    /// This submission id was recorded before.
    Duplicate,
    /// The person was erased earlier (suppression list); nothing personal was kept.
    Suppressed,
}

/// The answer to an intake submission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct IntakeResponse {
    pub status: IntakeStatus,
    pub registration_id: Option<String>,
    pub lead_id: Option<String>,
    pub office: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("hunter2");
        assert!(!format!("{s:?}").contains("hunter2"));
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"hunter2\"");
    }

    #[test]
    fn push_status_is_snake_case() {
        let r = PushResult {
            seq: 3,
            status: PushStatus::Rejected,
            code: Some("subject_erased".into()),
            reason: Some("erased".into()),
        };
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["status"], "rejected");
    }
}
