//! Operations exchanged between replicas and the central store (see docs/SYNC.md).
//!
//! An operation is a self-contained value: a replica builds it from the current row when it
//! pushes, and every replica applies it the same way when it pulls. Append-only records merge by
//! union (idempotent by id); lead fields merge per field group by hybrid logical clock.

use crate::cadence::*;
use crate::records::*;
use crate::vocabulary::*;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;
use ts_rs::TS;

/// One replicated change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
#[ts(export)]
pub enum Op {
    /// Sets every field of one field group of a lead, stamped with a hybrid logical clock; the
    /// newest stamp per group wins. Creates the lead when it is unknown.
    LeadFieldsSet(LeadFieldsSet),
    /// A website (or import) registration; union by id.
    RegistrationAdded(Registration),
    /// A follow-up attempt or inbound contact; union by id.
    FollowUpLogged(FollowUp),
    /// An opt-out or opt-in; union by id. See `ConsentEvent::supersedes` for how they combine.
    ConsentRecorded(ConsentEvent),
    /// A subscriber request was received; union by id.
    RequestOpened(SubscriberRequest),
    /// A subscriber request was handled (done or rejected).
    RequestHandled(RequestHandled),
    /// An audit entry; union by id.
    AuditRecorded(AuditEntry),
    /// The person was erased: every replica purges their personal information. Final.
    LeadErased(LeadErased),
    /// Sent by the server only: the lead left this replica's office; purge it, PII included.
    LeadRevoked(LeadRevoked),
    /// Sent by the server only: a registered partner, the only kind of recipient personal
    /// information may go to. Replaces the partner with the same id.
    PartnerRegistered(Partner),
    /// Personal information went to a partner (field names, never values); union by id.
    DisclosureRecorded(Disclosure),
    /// Protocol 3: one version of a cadence, saved by a manager; union by (id, version).
    CadenceSaved(CadenceSaved),
    /// Protocol 3: an intake rule of a cadence, added by a manager; union by id.
    CadenceRuleAdded(CadenceRuleAdded),
    /// Protocol 3: an enrolment's state; a stop beats an advance, only the owner advances.
    EnrollmentSynced(EnrollmentSynced),
}

/// The fields of one group of a lead at one clock reading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct LeadFieldsSet {
    pub lead_id: String,
    /// The group's values; every field of the group is set (None clears it).
    pub fields: LeadFields,
    /// Hybrid logical clock stamp `<millis:013>-<counter:05>-<node>`; text order is clock order.
    pub hlc: String,
    /// When the lead was created; used only when this operation creates it.
    pub created_at: DateTime<Utc>,
}

/// The groups a lead's fields merge by: one clock per group, last writer wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum FieldGroup {
    Identity,
    Email,
    Phone,
    Postal,
    Workflow,
    Office,
}

impl FieldGroup {
    /// Every group, in the order a full lead state is sent.
    pub const ALL: &'static [FieldGroup] = &[
        FieldGroup::Office,
        FieldGroup::Identity,
        FieldGroup::Email,
        FieldGroup::Phone,
        FieldGroup::Postal,
        FieldGroup::Workflow,
    ];

    /// The stable name (also the suffix of the `clock_*` column).
    pub fn as_str(self) -> &'static str {
        match self {
            FieldGroup::Identity => "identity",
            FieldGroup::Email => "email",
            FieldGroup::Phone => "phone",
            FieldGroup::Postal => "postal",
            FieldGroup::Workflow => "workflow",
            FieldGroup::Office => "office",
        }
    }

    /// The group with the stable name `name`.
    pub fn parse(name: &str) -> Option<FieldGroup> {
        FieldGroup::ALL.iter().copied().find(|g| g.as_str() == name)
    }
}

impl fmt::Display for FieldGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The values of one field group; the tag `group` names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "group", rename_all = "snake_case")]
#[ts(export)]
pub enum LeadFields {
    Identity {
        name: Option<String>,
        company: Option<String>,
    },
    Email {
        /// Trimmed and lowercased.
        email: Option<String>,
        /// The address bounced hard.
        #[serde(default)]
        email_invalid: bool,
    },
    Phone {
        /// E.164.
        phone: Option<String>,
    },
    Postal {
        address: Option<String>,
        /// ISO 3166-1 alpha-2.
        country: Option<String>,
        time_zone: Option<String>,
    },
    Workflow {
        status: LeadStatus,
        owner: Option<String>,
        next_follow_up_at: Option<DateTime<Utc>>,
    },
    Office {
        office: Option<String>,
    },
}

impl LeadFields {
    /// Which group these values belong to.
    pub fn group(&self) -> FieldGroup {
        match self {
            LeadFields::Identity { .. } => FieldGroup::Identity,
            LeadFields::Email { .. } => FieldGroup::Email,
            LeadFields::Phone { .. } => FieldGroup::Phone,
            LeadFields::Postal { .. } => FieldGroup::Postal,
            LeadFields::Workflow { .. } => FieldGroup::Workflow,
            LeadFields::Office { .. } => FieldGroup::Office,
        }
    }

    /// The values of `group` as held by `lead`.
    pub fn of(lead: &Lead, group: FieldGroup) -> LeadFields {
        match group {
            FieldGroup::Identity => LeadFields::Identity {
                name: lead.name.clone(),
                company: lead.company.clone(),
            },
            FieldGroup::Email => LeadFields::Email {
                email: lead.email.clone(),
                email_invalid: lead.email_invalid,
            },
            FieldGroup::Phone => LeadFields::Phone {
                phone: lead.phone.clone(),
            },
            FieldGroup::Postal => LeadFields::Postal {
                address: lead.address.clone(),
                country: lead.country.clone(),
                time_zone: lead.time_zone.clone(),
            },
            FieldGroup::Workflow => LeadFields::Workflow {
                status: lead.status,
                owner: lead.owner.clone(),
                next_follow_up_at: lead.next_follow_up_at,
            },
            FieldGroup::Office => LeadFields::Office {
                office: lead.office.clone(),
            },
        }
    }

    /// Whether the values carry personal information (everything but workflow and office).
    pub fn is_personal(&self) -> bool {
        !matches!(
            self,
            LeadFields::Workflow { .. } | LeadFields::Office { .. }
        )
    }
}

/// A subscriber request was closed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct RequestHandled {
    /// The request's id.
    pub id: String,
    pub lead_id: String,
    pub status: RequestStatus,
    pub handled_by: String,
    pub handled_at: DateTime<Utc>,
    pub detail: Option<String>,
}

/// What kind of address a suppression hash was made from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum SuppressionKind {
    Email,
    Phone,
}

impl SuppressionKind {
    /// The stable name stored in the `suppression` table.
    pub fn as_str(self) -> &'static str {
        match self {
            SuppressionKind::Email => "email",
            SuppressionKind::Phone => "phone",
        }
    }
}

/// A keyed hash (hex HMAC-SHA256 with the deployment's suppression key) of a normalised email
/// or phone of an erased person.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct SuppressionHash {
    pub kind: SuppressionKind,
    pub hash: String,
}

/// A person was erased: purge their personal information, keep a PII-free skeleton.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct LeadErased {
    pub lead_id: String,
    pub erased_at: DateTime<Utc>,
    /// The user who erased the person.
    pub by: String,
    pub suppression_hashes: Vec<SuppressionHash>,
}

/// The lead is no longer visible to this replica (it moved to another office).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct LeadRevoked {
    pub lead_id: String,
}

/// A reseller, distributor or regional office registered by an admin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct Partner {
    pub id: String,
    pub name: String,
    pub kind: PartnerKind,
    /// ISO 3166-1 alpha-2.
    pub country: String,
    pub basis: TransferBasis,
    /// What the partner may receive.
    pub fields: Vec<ShareField>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

/// One person's information leaving for one partner: to whom, which fields, which country, on
/// what basis, when, by whom. Field names only, so it carries no personal information.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct Disclosure {
    pub id: String,
    pub lead_id: String,
    pub partner_id: String,
    pub partner_name: String,
    /// The reference the partner knows the record by.
    pub partner_ref: String,
    pub fields: Vec<ShareField>,
    /// The partner's country at the time.
    pub country: String,
    pub basis: TransferBasis,
    pub disclosed_at: DateTime<Utc>,
    pub disclosed_by: String,
}

impl Op {
    /// The stable name of the operation's kind (the JSON `type` tag).
    pub fn kind(&self) -> &'static str {
        match self {
            Op::LeadFieldsSet(_) => "lead_fields_set",
            Op::RegistrationAdded(_) => "registration_added",
            Op::FollowUpLogged(_) => "follow_up_logged",
            Op::ConsentRecorded(_) => "consent_recorded",
            Op::RequestOpened(_) => "request_opened",
            Op::RequestHandled(_) => "request_handled",
            Op::AuditRecorded(_) => "audit_recorded",
            Op::LeadErased(_) => "lead_erased",
            Op::LeadRevoked(_) => "lead_revoked",
            Op::PartnerRegistered(_) => "partner_registered",
            Op::DisclosureRecorded(_) => "disclosure_recorded",
            Op::CadenceSaved(_) => "cadence_saved",
            Op::CadenceRuleAdded(_) => "cadence_rule_added",
            Op::EnrollmentSynced(_) => "enrollment_synced",
        }
    }

    /// The lead the operation touches, if any (an audit entry may touch none).
    pub fn lead_id(&self) -> Option<&str> {
        match self {
            Op::LeadFieldsSet(o) => Some(&o.lead_id),
            Op::RegistrationAdded(r) => Some(&r.lead_id),
            Op::FollowUpLogged(f) => Some(&f.lead_id),
            Op::ConsentRecorded(c) => Some(&c.lead_id),
            Op::RequestOpened(r) => Some(&r.lead_id),
            Op::RequestHandled(r) => Some(&r.lead_id),
            Op::AuditRecorded(a) => a.lead_id.as_deref(),
            Op::LeadErased(e) => Some(&e.lead_id),
            Op::LeadRevoked(r) => Some(&r.lead_id),
            Op::PartnerRegistered(_) => None,
            Op::DisclosureRecorded(d) => Some(&d.lead_id),
            Op::CadenceSaved(_) | Op::CadenceRuleAdded(_) => None,
            Op::EnrollmentSynced(e) => Some(&e.lead_id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_values_carry_their_group_tag() {
        let op = Op::LeadFieldsSet(LeadFieldsSet {
            lead_id: "l1".into(),
            fields: LeadFields::Phone {
                phone: Some("+4930123456".into()),
            },
            hlc: "1767225600000-00000-a".into(),
            created_at: DateTime::from_timestamp(1_767_225_600, 0).unwrap(),
        });
        let json = serde_json::to_value(&op).unwrap();
        assert_eq!(json["type"], "lead_fields_set");
        assert_eq!(json["fields"]["group"], "phone");
        let back: Op = serde_json::from_value(json).unwrap();
        assert_eq!(back, op);
        assert_eq!(back.lead_id(), Some("l1"));
    }

    #[test]
    fn group_names_round_trip() {
        for g in FieldGroup::ALL {
            assert_eq!(FieldGroup::parse(g.as_str()), Some(*g));
        }
        assert_eq!(FieldGroup::parse("nope"), None);
    }
}
