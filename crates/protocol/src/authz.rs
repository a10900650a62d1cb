//! What each operation says about who did it and what it touches: the fields a pusher could
//! forge. The server binds these fields to the pushing token (`authors`, `is_server_action`),
//! and the authorization matrix test builds its cases from `forgeable` and `sample`, so a new
//! operation kind does not compile until it says which of its fields name someone.

use crate::*;
use chrono::{DateTime, Utc};

/// What an identity-bearing field names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Names {
    /// The lead (the person) the operation is about.
    Lead,
    /// An office.
    Office,
    /// A registered partner.
    Partner,
    /// The user who did it: must be the pushing token's user.
    Author,
    /// An audit entry's action: actions the server performs are recorded by the server only.
    Action,
}

/// One identity-bearing field: its path in the operation's JSON (`.` between levels) and what
/// it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Forgeable {
    pub path: &'static str,
    pub names: Names,
}

const fn field(path: &'static str, names: Names) -> Forgeable {
    Forgeable { path, names }
}

/// Who may originate an operation kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Replicas push it (and the server checks every identity-bearing field).
    Replica,
    /// Only the server writes it; a pushed one is refused with `server_only`.
    Server,
}

/// Who may originate `op`.
pub fn origin(op: &Op) -> Origin {
    match op {
        Op::LeadRevoked(_) | Op::PartnerRegistered(_) => Origin::Server,
        Op::LeadFieldsSet(_)
        | Op::RegistrationAdded(_)
        | Op::FollowUpLogged(_)
        | Op::ConsentRecorded(_)
        | Op::RequestOpened(_)
        | Op::RequestHandled(_)
        | Op::AuditRecorded(_)
        | Op::LeadErased(_)
        | Op::DisclosureRecorded(_)
        | Op::CadenceSaved(_)
        | Op::CadenceRuleAdded(_)
        | Op::EnrollmentSynced(_) => Origin::Replica,
    }
}

/// The least role that may push `op`: cadences and their intake rules are a manager's to
/// define (admins too); everything else any signed-in user of the office may push.
pub fn required_role(op: &Op) -> Role {
    match op {
        Op::CadenceSaved(_) | Op::CadenceRuleAdded(_) => Role::Manager,
        _ => Role::Rep,
    }
}

/// Every field of `op` that names a lead, an office, a partner, an author or an action.
pub fn forgeable(op: &Op) -> Vec<Forgeable> {
    use Names::*;
    let lead = field("lead_id", Lead);
    match op {
        Op::LeadFieldsSet(set) => match set.fields {
            LeadFields::Office { .. } => vec![lead, field("fields.office", Office)],
            _ => vec![lead],
        },
        Op::RegistrationAdded(_) => vec![lead],
        Op::FollowUpLogged(_) => vec![lead, field("rep", Author)],
        Op::ConsentRecorded(_) => vec![lead, field("recorded_by", Author)],
        Op::RequestOpened(_) => vec![lead, field("handled_by", Author)],
        Op::RequestHandled(_) => vec![lead, field("handled_by", Author)],
        Op::AuditRecorded(_) => vec![lead, field("actor", Author), field("action", Action)],
        Op::LeadErased(_) => vec![lead, field("by", Author)],
        Op::LeadRevoked(_) => vec![lead],
        Op::PartnerRegistered(_) => vec![field("id", Partner), field("created_by", Author)],
        Op::DisclosureRecorded(_) => vec![
            lead,
            field("partner_id", Partner),
            field("partner_name", Partner),
            field("disclosed_by", Author),
        ],
        Op::CadenceSaved(_) => vec![field("created_by", Author)],
        Op::CadenceRuleAdded(_) => vec![field("office", Office), field("created_by", Author)],
        Op::EnrollmentSynced(_) => vec![lead, field("changed_by", Author)],
    }
}

/// The author fields of `op` and the user each names (`None`: not filled in, which is allowed
/// only where the field is optional).
pub fn authors(op: &Op) -> Vec<(&'static str, Option<&str>)> {
    match op {
        Op::LeadFieldsSet(_) | Op::RegistrationAdded(_) | Op::LeadRevoked(_) => vec![],
        Op::FollowUpLogged(f) => vec![("rep", Some(&f.rep))],
        Op::ConsentRecorded(c) => vec![("recorded_by", Some(&c.recorded_by))],
        Op::RequestOpened(r) => vec![("handled_by", r.handled_by.as_deref())],
        Op::RequestHandled(r) => vec![("handled_by", Some(&r.handled_by))],
        Op::AuditRecorded(a) => vec![("actor", Some(&a.actor))],
        Op::LeadErased(e) => vec![("by", Some(&e.by))],
        Op::PartnerRegistered(p) => vec![("created_by", Some(&p.created_by))],
        Op::DisclosureRecorded(d) => vec![("disclosed_by", Some(&d.disclosed_by))],
        Op::CadenceSaved(c) => vec![("created_by", Some(&c.created_by))],
        Op::CadenceRuleAdded(r) => vec![("created_by", Some(&r.created_by))],
        Op::EnrollmentSynced(e) => vec![("changed_by", Some(&e.changed_by))],
    }
}

/// The subscriber request an operation carries out, if it does: an erasure, an access
/// export or a correction, which only roles that `Role::carries_out_requests` may push (a rep
/// records such requests and opts people out). Closing a request of those kinds, done or
/// rejected, is carrying it out too; `closed_kind` names the kind of the request a
/// `request_handled` closes (the operation does not carry it).
pub fn carries_out(op: &Op, closed_kind: Option<RequestKind>) -> Option<RequestKind> {
    let fulfilled = |kind: RequestKind| Some(kind).filter(|k| *k != RequestKind::OptOut);
    match op {
        Op::LeadErased(_) => Some(RequestKind::Erase),
        Op::RequestOpened(r) if r.status != RequestStatus::Open => fulfilled(r.kind),
        Op::RequestHandled(_) => closed_kind.and_then(fulfilled),
        // A correction's field groups look like any edit; its audit entry says what it was.
        Op::AuditRecorded(a) if a.action.trim().eq_ignore_ascii_case(CORRECTION_ACTION) => {
            Some(RequestKind::Correct)
        }
        Op::RequestOpened(_)
        | Op::AuditRecorded(_)
        | Op::LeadFieldsSet(_)
        | Op::RegistrationAdded(_)
        | Op::FollowUpLogged(_)
        | Op::ConsentRecorded(_)
        | Op::LeadRevoked(_)
        | Op::PartnerRegistered(_)
        | Op::DisclosureRecorded(_)
        | Op::CadenceSaved(_)
        | Op::CadenceRuleAdded(_)
        | Op::EnrollmentSynced(_) => None,
    }
}

/// The audit action a correction records for each field it changes.
pub const CORRECTION_ACTION: &str = "correct";

/// Whether `op` is work on a subscriber request, the only work the company-wide privacy
/// officer may push: recording and closing requests, opt-outs, erasures, corrections of a
/// person's fields and their audit entries. Not follow-ups, registrations, disclosures, the
/// workflow or office of a lead, new leads, or cadences and their enrolments.
pub fn is_request_work(op: &Op) -> bool {
    match op {
        Op::RequestOpened(_)
        | Op::RequestHandled(_)
        | Op::LeadErased(_)
        | Op::ConsentRecorded(_)
        | Op::AuditRecorded(_) => true,
        Op::LeadFieldsSet(set) => matches!(
            set.fields.group(),
            FieldGroup::Identity | FieldGroup::Email | FieldGroup::Phone | FieldGroup::Postal
        ),
        Op::RegistrationAdded(_)
        | Op::FollowUpLogged(_)
        | Op::DisclosureRecorded(_)
        | Op::LeadRevoked(_)
        | Op::PartnerRegistered(_)
        | Op::CadenceSaved(_)
        | Op::CadenceRuleAdded(_)
        | Op::EnrollmentSynced(_) => false,
    }
}

/// Why `role` may not push `op`, as a message that says who can, or `None` when the role
/// allows it (offices are checked separately). `closed_kind` as for `carries_out`.
pub fn role_refusal(role: Role, op: &Op, closed_kind: Option<RequestKind>) -> Option<String> {
    if let Some(kind) = carries_out(op, closed_kind) {
        if !role.carries_out_requests() {
            return Some(carry_out_refusal(role, Some(kind)));
        }
    }
    if role == Role::PrivacyOfficer && !is_request_work(op) {
        return Some(format!(
            "the privacy officer works on subscriber requests only; {} is for the lead's office",
            op.kind()
        ));
    }
    None
}

/// The message refusing a `role` that may not carry out a request of `kind` (`None`: any of
/// them): who can.
pub fn carry_out_refusal(role: Role, kind: Option<RequestKind>) -> String {
    let what = match kind {
        Some(RequestKind::Erase) => "carrying out an erasure",
        Some(RequestKind::Access) => "carrying out an access request (the export)",
        Some(RequestKind::Correct) => "carrying out a correction",
        Some(RequestKind::OptOut) => "closing an opt-out request",
        None => "carrying out erasures, access exports and corrections",
    };
    format!(
        "{what} is for {}; you are signed in as a {role}: record the request and ask \
         one of them",
        Role::CARRY_OUT_WHO
    )
}

/// Audit actions that describe what the server does (accounts, offices, routes, keys,
/// partners, sessions). Replicas never perform them, so a pushed audit entry naming one is a
/// forgery.
pub const SERVER_ACTIONS: &[&str] = &[
    "role_change",
    "user_add",
    "user_revoke",
    "office_add",
    "route_add",
    "intake_key_create",
    "partner_add",
    "partner_register",
    "login",
    "logout",
    "token_revoke",
];

/// Whether an audit `action` is one the server alone performs (compared without case, with
/// `-` and spaces read as `_`).
pub fn is_server_action(action: &str) -> bool {
    let canonical: String = action
        .trim()
        .chars()
        .map(|c| match c {
            '-' | ' ' => '_',
            c => c.to_ascii_lowercase(),
        })
        .collect();
    SERVER_ACTIONS.contains(&canonical.as_str())
}

/// The offices the generated authorization cases place leads in (and "no office").
pub const CASE_OFFICES: [&str; 3] = ["A", "B", "C"];

/// Who pushes in the generated authorization cases: each role as the admin assigns it (office
/// roles in office A), and a manager of two offices (A and B), so every operation × office
/// case is generated for an account whose offices are a set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CaseActor {
    /// An account of this role: office A for office roles, none for the others.
    Role(Role),
    /// A manager of offices A and B.
    ManagerOfTwo,
}

impl CaseActor {
    /// Every role, then the manager of two offices.
    pub fn all() -> Vec<CaseActor> {
        Role::ALL
            .iter()
            .map(|r| CaseActor::Role(*r))
            .chain([CaseActor::ManagerOfTwo])
            .collect()
    }

    /// The role the actor holds.
    pub fn role(self) -> Role {
        match self {
            CaseActor::Role(role) => role,
            CaseActor::ManagerOfTwo => Role::Manager,
        }
    }

    /// The offices (of `CASE_OFFICES`) the actor works in.
    pub fn offices(self) -> &'static [&'static str] {
        match self {
            CaseActor::Role(Role::Rep | Role::Manager | Role::Privacy) => &["A"],
            CaseActor::Role(Role::Admin | Role::PrivacyOfficer) => &[],
            CaseActor::ManagerOfTwo => &["A", "B"],
        }
    }

    /// Whether the actor's office bounds let it write to a lead in `office` (`None`: no
    /// office); what its role may do there is `role_refusal`.
    pub fn may_touch(self, office: Option<&str>) -> bool {
        self.role() == Role::Admin || office.is_some_and(|o| self.offices().contains(&o))
    }
}

impl std::fmt::Display for CaseActor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CaseActor::Role(role) => write!(f, "{role}"),
            CaseActor::ManagerOfTwo => f.write_str("manager of A and B"),
        }
    }
}

/// The values a sample operation is built from: who pushes it, about which records. The
/// default context builds samples that show only the shape (kinds and fields).
#[derive(Debug, Clone, Default)]
pub struct SampleContext {
    /// The pushing user (every author field).
    pub user: String,
    /// The pushing user's office.
    pub office: String,
    /// A lead of that office the server holds.
    pub lead_id: String,
    /// A lead id the server does not hold yet (field groups create it).
    pub new_lead_id: String,
    /// An open subscriber request of `lead_id` the server holds.
    pub request_id: String,
    /// A registered partner.
    pub partner_id: String,
    pub partner_name: String,
    /// Makes record ids unique per sample.
    pub suffix: String,
    pub at: DateTime<Utc>,
    /// A clock stamp newer than anything stored for `new_lead_id`.
    pub hlc: String,
    /// A cadence of the user's office the server holds (version 1).
    pub cadence_id: String,
    /// The replica id the sample is pushed under (an enrolment's owner).
    pub replica_id: String,
}

/// Every operation kind, one sample each, built as the context's user would legitimately push
/// it. Adding an `Op` variant without a sample fails `sample_kinds_cover_the_wire_type`.
pub fn samples(c: &SampleContext) -> Vec<Op> {
    let id = |prefix: &str| format!("{prefix}-{}", c.suffix);
    vec![
        Op::LeadFieldsSet(LeadFieldsSet {
            lead_id: c.new_lead_id.clone(),
            fields: LeadFields::Office {
                office: Some(c.office.clone()),
            },
            hlc: c.hlc.clone(),
            created_at: c.at,
        }),
        Op::RegistrationAdded(Registration {
            id: id("reg"),
            lead_id: c.lead_id.clone(),
            submission_id: None,
            kind: RegistrationKind::Trial,
            product: Some("Switchboard".into()),
            submitted_at: c.at,
            details: RegistrationDetails {
                name: Some("Sample Person".into()),
                ..RegistrationDetails::default()
            },
        }),
        Op::FollowUpLogged(FollowUp {
            id: id("fu"),
            lead_id: c.lead_id.clone(),
            channel: Channel::Phone,
            direction: Direction::Out,
            outcome: Outcome::NoAnswer,
            note: Some("sample".into()),
            occurred_at: c.at,
            rep: c.user.clone(),
            next_follow_up_at: None,
        }),
        Op::ConsentRecorded(ConsentEvent {
            id: id("consent"),
            lead_id: c.lead_id.clone(),
            scope: ConsentScope::Phone,
            action: ConsentAction::OptOut,
            source: "rep".into(),
            evidence: None,
            occurred_at: c.at,
            supersedes: None,
            recorded_by: c.user.clone(),
        }),
        Op::RequestOpened(SubscriberRequest {
            id: id("req"),
            lead_id: c.lead_id.clone(),
            kind: RequestKind::Access,
            received_at: c.at,
            due_at: c.at,
            status: RequestStatus::Done,
            detail: None,
            handled_by: Some(c.user.clone()),
            handled_at: Some(c.at),
        }),
        Op::RequestHandled(RequestHandled {
            id: c.request_id.clone(),
            lead_id: c.lead_id.clone(),
            status: RequestStatus::Done,
            handled_by: c.user.clone(),
            handled_at: c.at,
            detail: None,
        }),
        Op::AuditRecorded(AuditEntry {
            id: id("audit"),
            at: c.at,
            actor: c.user.clone(),
            lead_id: Some(c.lead_id.clone()),
            action: "correct".into(),
            field: Some("name".into()),
            old_value: None,
            new_value: None,
        }),
        Op::LeadErased(LeadErased {
            lead_id: c.lead_id.clone(),
            erased_at: c.at,
            by: c.user.clone(),
            suppression_hashes: vec![],
        }),
        Op::LeadRevoked(LeadRevoked {
            lead_id: c.lead_id.clone(),
        }),
        Op::PartnerRegistered(Partner {
            id: c.partner_id.clone(),
            name: c.partner_name.clone(),
            kind: PartnerKind::Reseller,
            country: "DE".into(),
            basis: TransferBasis::NoneNeeded,
            fields: vec![ShareField::Name],
            created_at: c.at,
            created_by: c.user.clone(),
        }),
        Op::DisclosureRecorded(Disclosure {
            id: id("disclosure"),
            lead_id: c.lead_id.clone(),
            partner_id: c.partner_id.clone(),
            partner_name: c.partner_name.clone(),
            partner_ref: "ref-1".into(),
            fields: vec![ShareField::Name],
            country: "DE".into(),
            basis: TransferBasis::NoneNeeded,
            disclosed_at: c.at,
            disclosed_by: c.user.clone(),
        }),
        Op::CadenceSaved(CadenceSaved {
            cadence_id: id("cadence"),
            name: id("Sample cadence"),
            version: 1,
            steps: vec![CadenceStep::Email {
                template: "intro".into(),
            }],
            created_at: c.at,
            created_by: c.user.clone(),
        }),
        Op::CadenceRuleAdded(CadenceRuleAdded {
            id: id("rule"),
            cadence_id: c.cadence_id.clone(),
            kind: Some(RegistrationKind::Trial),
            product: None,
            country: None,
            office: Some(c.office.clone()),
            created_at: c.at,
            created_by: c.user.clone(),
        }),
        Op::EnrollmentSynced(EnrollmentSynced {
            id: id("enrollment"),
            lead_id: c.lead_id.clone(),
            cadence_id: c.cadence_id.clone(),
            version: 1,
            owner_replica: c.replica_id.clone(),
            step: 0,
            channel: Some(Channel::Email),
            due_at: Some(c.at),
            state: EnrollmentState::Active,
            rep: Some(c.user.clone()),
            enrolled_at: c.at,
            enrolled_by: c.user.clone(),
            ended_at: None,
            stop_reason: None,
            changed_by: c.user.clone(),
        }),
    ]
}

/// `op` with the field at `path` replaced by `value` (JSON `null` for `None`).
pub fn with_field(op: &Op, path: &str, value: Option<&str>) -> Op {
    let mut json = serde_json::to_value(op).expect("operations serialise");
    let mut at = &mut json;
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        let obj = at
            .as_object_mut()
            .unwrap_or_else(|| panic!("{path}: {part} is not inside an object"));
        assert!(obj.contains_key(part), "{} has no field {path}", op.kind());
        if parts.peek().is_none() {
            obj.insert(
                part.to_string(),
                value.map_or(serde_json::Value::Null, |v| v.into()),
            );
            break;
        }
        at = obj.get_mut(part).expect("checked above");
    }
    serde_json::from_value(json).unwrap_or_else(|e| panic!("{path} = {value:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use ts_rs::TS;

    fn context() -> SampleContext {
        SampleContext {
            user: "rep_a".into(),
            office: "A".into(),
            lead_id: "lead-1".into(),
            new_lead_id: "lead-2".into(),
            request_id: "req-1".into(),
            partner_id: "partner-1".into(),
            partner_name: "Acme Resale".into(),
            suffix: "x".into(),
            at: DateTime::from_timestamp(1_767_225_600, 0).unwrap(),
            hlc: "1767225600000-00000-a".into(),
            cadence_id: "cadence-1".into(),
            replica_id: "replica-1".into(),
        }
    }

    #[test]
    fn sample_kinds_cover_the_wire_type() {
        // The kinds as ts-rs reads them off the `Op` type itself, not a list kept by hand.
        let decl = Op::decl(&ts_rs::Config::from_env());
        let declared: BTreeSet<String> = decl
            .split("\"type\": \"")
            .skip(1)
            .map(|rest| rest.split('"').next().unwrap().to_string())
            .collect();
        let sampled: BTreeSet<String> = samples(&context())
            .iter()
            .map(|op| op.kind().to_string())
            .collect();
        assert!(declared.len() >= 14, "{decl}");
        assert_eq!(sampled, declared);
    }

    #[test]
    fn every_forgeable_path_exists_and_every_author_is_listed() {
        let c = context();
        for op in samples(&c) {
            let fields = forgeable(&op);
            for f in &fields {
                let forged = with_field(&op, f.path, Some("forged"));
                assert_ne!(forged, op, "{} {}", op.kind(), f.path);
            }
            let listed: BTreeSet<_> = fields
                .iter()
                .filter(|f| f.names == Names::Author)
                .map(|f| f.path)
                .collect();
            let bound: BTreeSet<_> = authors(&op).iter().map(|(p, _)| *p).collect();
            assert_eq!(listed, bound, "{}", op.kind());
            assert!(
                authors(&op).iter().all(|(_, who)| *who == Some("rep_a")),
                "{}",
                op.kind()
            );
        }
    }

    #[test]
    fn the_manager_of_two_offices_touches_exactly_a_and_b() {
        let two = CaseActor::ManagerOfTwo;
        assert_eq!(two.role(), Role::Manager);
        let touched: Vec<_> = CASE_OFFICES
            .iter()
            .filter(|o| two.may_touch(Some(o)))
            .collect();
        assert_eq!(touched, [&"A", &"B"]);
        assert!(!two.may_touch(None));
        assert!(CaseActor::Role(Role::Admin).may_touch(None));
        assert_eq!(CaseActor::all().len(), Role::ALL.len() + 1);
    }

    #[test]
    fn server_actions_are_recognised_in_any_spelling() {
        assert!(is_server_action("role_change"));
        assert!(is_server_action(" Role-Change "));
        assert!(!is_server_action("correct"));
        assert!(!is_server_action("erase"));
    }
}
