//! Records as they are stored, synced and shown. Timestamps are UTC; ids are UUIDv7 text.

use crate::limits::Field;
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
    /// Who the person is and what the site logged (flattened: the JSON keeps one flat object).
    #[serde(flatten)]
    #[ts(flatten)]
    pub details: RegistrationDetails,
}

/// What a person entered into a web form and what the website logged about the visit: the part
/// of a registration the website's submission (`IntakeRegistration`), a recorded registration,
/// and the replica's raw intake (`switchboard-core`'s `RegistrationInput`) have in common.
/// Declared once, so the field list, its limits and its order live in one place.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegistrationDetails {
    /// The full name (import parsers join first and last names).
    pub name: Option<String>,
    pub company: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    /// A country code or name; on the website's submission ISO 3166-1 alpha-2, which routes the
    /// lead to an office.
    pub country: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub referrer: Option<String>,
    #[serde(default)]
    pub pages_visited: Vec<String>,
    /// Version of the form and privacy notice the person saw.
    pub form_version: Option<String>,
}

/// Reads the details by hand so that a value of the wrong type names its field
/// (`name: invalid type: …`): behind `flatten`, the derived reader gets the values from a
/// buffer, where the server's JSON extractor can no longer say which field was wrong, and the
/// website's developers need to know. Unknown keys are ignored and a repeated one is refused, as
/// the derived reader does.
impl<'de> Deserialize<'de> for RegistrationDetails {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(DetailsVisitor)
    }
}

struct DetailsVisitor;

impl<'de> serde::de::Visitor<'de> for DetailsVisitor {
    type Value = RegistrationDetails;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a registration's details")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(
        self,
        mut map: A,
    ) -> Result<RegistrationDetails, A::Error> {
        use serde::de::Error;
        let mut details = RegistrationDetails::default();
        let mut seen = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let Some(field) = Field::all().find(|f| f.name() == key) else {
                map.next_value::<serde::de::IgnoredAny>()?;
                continue;
            };
            if seen.contains(&field) {
                return Err(A::Error::duplicate_field(field.name()));
            }
            seen.push(field);
            let value: serde_json::Value = map.next_value()?;
            let named = |e: serde_json::Error| A::Error::custom(format!("{key}: {e}"));
            if field == Field::PagesVisited {
                details.pages_visited = serde_json::from_value(value).map_err(named)?;
            } else if let Some(text) = details.text_mut(field) {
                *text = serde_json::from_value(value).map_err(named)?;
            }
        }
        Ok(details)
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IntakeRegistration;

    fn details() -> RegistrationDetails {
        RegistrationDetails {
            name: Some("Ann".into()),
            email: Some("ann@example.com".into()),
            pages_visited: vec!["/pricing".into()],
            ..RegistrationDetails::default()
        }
    }

    #[test]
    fn a_registration_is_one_flat_object_in_the_wire_order() {
        let at: DateTime<Utc> = "2026-03-02T09:00:00Z".parse().unwrap();
        let reg = Registration {
            id: "r1".into(),
            lead_id: "l1".into(),
            submission_id: Some("s1".into()),
            kind: RegistrationKind::Demo,
            product: None,
            submitted_at: at,
            details: details(),
        };
        let json = serde_json::to_string(&reg).unwrap();
        assert_eq!(
            json,
            r#"{"id":"r1","lead_id":"l1","submission_id":"s1","kind":"demo","product":null,"submitted_at":"2026-03-02T09:00:00Z","name":"Ann","company":null,"email":"ann@example.com","phone":null,"address":null,"country":null,"ip":null,"user_agent":null,"referrer":null,"pages_visited":["/pricing"],"form_version":null}"#
        );
        assert_eq!(serde_json::from_str::<Registration>(&json).unwrap(), reg);
    }

    #[test]
    fn a_website_submission_reads_flat_and_may_leave_out_its_pages() {
        let sub: IntakeRegistration = serde_json::from_str(
            r#"{"submission_id":"s1","kind":"demo","product":null,
                "submitted_at":"2026-03-02T09:00:00Z","name":"Ann","email":"ann@example.com"}"#,
        )
        .unwrap();
        assert_eq!(sub.details.name.as_deref(), Some("Ann"));
        assert_eq!(sub.details.email.as_deref(), Some("ann@example.com"));
        assert!(sub.details.pages_visited.is_empty());
        let wrong = serde_json::from_str::<IntakeRegistration>(
            r#"{"submission_id":"s1","kind":"demo","product":null,
                "submitted_at":"2026-03-02T09:00:00Z","name":7.5}"#,
        )
        .unwrap_err();
        assert!(
            wrong.to_string().starts_with("name: invalid type"),
            "{wrong}"
        );
        let twice = serde_json::from_str::<IntakeRegistration>(
            r#"{"submission_id":"s1","kind":"demo","product":null,
                "submitted_at":"2026-03-02T09:00:00Z","name":"A","name":"B"}"#,
        )
        .unwrap_err();
        assert!(
            twice.to_string().contains("duplicate field `name`"),
            "{twice}"
        );
        let json = serde_json::to_string(&sub).unwrap();
        assert!(
            json.starts_with(r#"{"submission_id":"s1","kind":"demo","product":null,"submitted_at":"2026-03-02T09:00:00Z","name":"Ann","company":null,"#),
            "{json}"
        );
    }
}
