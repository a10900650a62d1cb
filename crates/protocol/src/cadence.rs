//! Cadences on the wire (protocol 3): a manager's versioned definitions and intake rules, and
//! each lead's enrolment with the replica that owns it. See docs/SYNC.md, "Cadences".

use crate::vocabulary::*;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// One step of a cadence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
#[ts(export)]
pub enum CadenceStep {
    /// Send an email from a template (for now a task in the rep's queue: "send this template").
    Email { template: String },
    /// Call with a script; `outcomes` are the ones the rep is asked to record.
    Call {
        script: String,
        outcomes: Vec<Outcome>,
    },
    /// Put the lead in the letter batch for this template.
    Letter { template: String },
    /// Wait this many of the lead's business days before the next step.
    Wait { business_days: u32 },
}

impl CadenceStep {
    /// The channel the step contacts the lead on; `None` for a wait.
    pub fn channel(&self) -> Option<Channel> {
        match self {
            CadenceStep::Email { .. } => Some(Channel::Email),
            CadenceStep::Call { .. } => Some(Channel::Phone),
            CadenceStep::Letter { .. } => Some(Channel::Mail),
            CadenceStep::Wait { .. } => None,
        }
    }

    /// A short line for lists: "call: Intro script", "wait 2 business days".
    pub fn label(&self) -> String {
        match self {
            CadenceStep::Email { template } => format!("email: template '{template}'"),
            CadenceStep::Call { script, .. } => format!("call: {script}"),
            CadenceStep::Letter { template } => format!("letter: template '{template}'"),
            CadenceStep::Wait { business_days } => {
                format!("wait {business_days} business day(s)")
            }
        }
    }
}

/// One version of a cadence; versions are never changed once saved. Union by
/// `(cadence_id, version)`; the highest version is the one new enrolments start on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct CadenceSaved {
    pub cadence_id: String,
    pub name: String,
    #[ts(type = "number")]
    pub version: i64,
    pub steps: Vec<CadenceStep>,
    pub created_at: DateTime<Utc>,
    /// The manager who saved it.
    pub created_by: String,
}

/// An intake rule: a registration matching every given field enrols its lead. Union by id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct CadenceRuleAdded {
    pub id: String,
    pub cadence_id: String,
    pub kind: Option<RegistrationKind>,
    pub product: Option<String>,
    /// ISO 3166-1 alpha-2.
    pub country: Option<String>,
    pub office: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The manager who added it.
    pub created_by: String,
}

/// Where an enrolment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum EnrollmentState {
    Active,
    Completed,
    Stopped,
}

impl EnrollmentState {
    /// The stable name (the replica's `cadence_enrollment.state`).
    pub fn as_str(self) -> &'static str {
        match self {
            EnrollmentState::Active => "active",
            EnrollmentState::Completed => "completed",
            EnrollmentState::Stopped => "stopped",
        }
    }

    /// The state with the stable name `name`.
    pub fn parse(name: &str) -> Option<EnrollmentState> {
        [
            EnrollmentState::Active,
            EnrollmentState::Completed,
            EnrollmentState::Stopped,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }
}

/// One lead in one cadence, as its latest known state. Merged by `EnrollmentSynced::rank`: a
/// stop beats any advance whatever order they arrive in; otherwise the further step wins. Only
/// the owner replica advances it; any replica of the office may stop it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[ts(export)]
pub struct EnrollmentSynced {
    pub id: String,
    pub lead_id: String,
    pub cadence_id: String,
    #[ts(type = "number")]
    pub version: i64,
    /// The replica that runs the steps (fixed when the enrolment is created).
    pub owner_replica: String,
    /// Index of the next step to run.
    #[ts(type = "number")]
    pub step: i64,
    pub channel: Option<Channel>,
    /// When the next step is due; `None` while an enrolment made at intake waits for its owner
    /// to plan it, and once it ended.
    pub due_at: Option<DateTime<Utc>>,
    pub state: EnrollmentState,
    /// The rep whose queue the steps go to.
    pub rep: Option<String>,
    pub enrolled_at: DateTime<Utc>,
    /// Who enrolled the lead, `rule:<id>` for an intake rule.
    pub enrolled_by: String,
    pub ended_at: Option<DateTime<Utc>>,
    pub stop_reason: Option<String>,
    /// The user whose replica pushed this state (bound to the pushing token).
    pub changed_by: String,
}

impl EnrollmentSynced {
    /// The merge order: stopped over completed over active, then the further step, then a
    /// planned due time over none. A state replaces a stored one only when it ranks higher.
    pub fn rank(state: EnrollmentState, step: i64, planned: bool) -> (u8, i64, bool) {
        let state = match state {
            EnrollmentState::Active => 0,
            EnrollmentState::Completed => 1,
            EnrollmentState::Stopped => 2,
        };
        (state, step, planned)
    }

    /// This state's rank (`EnrollmentSynced::rank`).
    pub fn own_rank(&self) -> (u8, i64, bool) {
        Self::rank(self.state, self.step, self.due_at.is_some())
    }
}
