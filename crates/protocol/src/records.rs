//! Records as they are stored, synced and shown. Timestamps are UTC; ids are UUIDv7 text.

use crate::vocabulary::*;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// An immutable website form submission, with the web metadata the site logged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct Registration {
    pub id: String,
    pub lead_id: String,
    /// The website's own id for the submission; the same id is recorded once.
    pub submission_id: Option<String>,
    pub kind: RegistrationKind,
    pub product: Option<String>,
    pub submitted_at: DateTime<Utc>,
    pub name: Option<String>,
    pub company: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    pub country: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub referrer: Option<String>,
    pub pages_visited: Vec<String>,
    /// Version of the form and privacy notice the person saw.
    pub form_version: Option<String>,
}

/// One person being followed up, with fields normalised and counters derived from follow-ups.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct Lead {
    pub id: String,
    pub office: Option<String>,
    pub name: Option<String>,
    pub company: Option<String>,
    /// Trimmed, lowercased, validated.
    pub email: Option<String>,
    /// E.164.
    pub phone: Option<String>,
    pub address: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    /// IANA zone when the country has one zone (or the person gave one); else none.
    pub time_zone: Option<String>,
    pub status: LeadStatus,
    pub owner: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_registered_at: Option<DateTime<Utc>>,
    /// A JSON number in TypeScript (ts-rs would say bigint, which JSON never carries).
    #[ts(type = "number")]
    pub attempts: i64,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_outcome: Option<Outcome>,
    pub next_follow_up_at: Option<DateTime<Utc>>,
    pub first_contact_at: Option<DateTime<Utc>>,
    /// The address bounced hard; email is not a valid channel until corrected.
    pub email_invalid: bool,
}

/// One contact attempt or inbound contact. Append-only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct FollowUp {
    pub id: String,
    pub lead_id: String,
    pub channel: Channel,
    pub direction: Direction,
    pub outcome: Outcome,
    pub note: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub rep: String,
    pub next_follow_up_at: Option<DateTime<Utc>>,
}

/// An opt-out or opt-in. Append-only; a lead's consent is derived from these.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct ConsentEvent {
    pub id: String,
    pub lead_id: String,
    pub scope: ConsentScope,
    pub action: ConsentAction,
    /// Where it came from: "rep", "web form", "email unsubscribe", …
    pub source: String,
    pub evidence: Option<String>,
    pub occurred_at: DateTime<Utc>,
    /// For an opt-in: the latest opt-out of that scope its author had seen. An opt-in that did not
    /// see an opt-out does not override it.
    pub supersedes: Option<String>,
    pub recorded_by: String,
}

/// A person's request about their data, due one month after receipt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct SubscriberRequest {
    pub id: String,
    pub lead_id: String,
    pub kind: RequestKind,
    pub received_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub status: RequestStatus,
    pub detail: Option<String>,
    pub handled_by: Option<String>,
    pub handled_at: Option<DateTime<Utc>>,
}

/// Who changed what, when. Values are purged when the subject is erased.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct AuditEntry {
    pub id: String,
    pub at: DateTime<Utc>,
    pub actor: String,
    pub lead_id: Option<String>,
    pub action: String,
    pub field: Option<String>,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
}
