//! The website's registration intake: validate, normalise, suppress, route, record, emit.

use crate::admin::route_for;
use crate::changelog::{bucket_of, emit};
use crate::error::{Result, ServerError};
use crate::leads;
use crate::normalize;
use crate::push::Effects;
use crate::sealing;
use crate::store::{col_text, Tx};
use crate::suppression;
use chrono::{DateTime, Utc};
use switchboard_domain::hlc::Hlc;
use switchboard_domain::registration;
use switchboard_protocol::limits;
use switchboard_protocol::*;

/// A submission after validation and normalisation; nothing has been written yet.
#[derive(Debug, Clone)]
pub struct CleanSubmission {
    pub raw: IntakeRegistration,
    /// The details as they are recorded: tidied like the replica's (`registration::tidy`), the
    /// email and phone normalised, the country an ISO code.
    pub details: RegistrationDetails,
}

/// Checks and normalises a submission (untrusted input from the public web). The field limits,
/// the tidying and the rule for an invalid email or phone are the replica's own
/// (`switchboard_protocol::limits`, `switchboard_domain::registration`), so a registration
/// refused here is refused by an import too, with the same words.
pub fn clean(sub: &IntakeRegistration) -> Result<CleanSubmission> {
    let id = sub.submission_id.trim();
    if id.is_empty() {
        return Err(ServerError::Invalid("submission_id is empty".into()));
    }
    limits::check_registration(
        &[
            (limits::Field::SubmissionId, Some(&sub.submission_id)),
            (limits::Field::Product, sub.product.as_deref()),
        ],
        &sub.details,
    )
    .map_err(|e| ServerError::Invalid(e.to_string()))?;
    let mut details = registration::tidy(&sub.details);
    details.country = match details.country {
        Some(c) => Some(
            normalize::country(&c)
                .ok_or_else(|| ServerError::Invalid(format!("unknown country '{c}'")))?,
        ),
        None => None,
    };
    (details.email, details.phone) = registration::identifiers(
        details.email.as_deref(),
        details.phone.as_deref(),
        details.country.as_deref(),
    )
    .map_err(ServerError::Invalid)?;
    if details.email.is_none() && details.phone.is_none() && details.name.is_none() {
        return Err(ServerError::Invalid(
            "a registration needs a name, email or phone".into(),
        ));
    }
    Ok(CleanSubmission {
        raw: sub.clone(),
        details,
    })
}

/// Records a cleaned submission; idempotent by submission id.
pub fn record(
    tx: &mut dyn Tx,
    sub: &CleanSubmission,
    key: &[u8],
    now: DateTime<Utc>,
    effects: &mut Effects,
) -> Result<IntakeResponse> {
    let submission_id = sub.raw.submission_id.trim();
    if let Some(row) = tx.query_opt(
        "SELECT status, registration_id, lead_id, office FROM intake_submission \
         WHERE submission_id = ?1",
        &[submission_id.into()],
    )? {
        let suppressed = col_text(&row, 0).as_deref() == Some("suppressed");
        return Ok(IntakeResponse {
            status: if suppressed {
                IntakeStatus::Suppressed
            } else {
                IntakeStatus::Duplicate
            },
            registration_id: col_text(&row, 1),
            lead_id: col_text(&row, 2),
            office: col_text(&row, 3),
        });
    }
    // A replica may have pushed this submission first (a laptop imported the form tool's
    // export): the website's copy is then a duplicate of that registration.
    if let Some(row) = tx.query_opt(
        "SELECT id, lead_id FROM record WHERE kind = 'registration' AND submission_id = ?1",
        &[submission_id.into()],
    )? {
        let lead_id = col_text(&row, 1);
        let office = match &lead_id {
            Some(id) => leads::load(tx, id)?.and_then(|lead| lead.office),
            None => None,
        };
        return Ok(IntakeResponse {
            status: IntakeStatus::Duplicate,
            registration_id: col_text(&row, 0),
            lead_id,
            office,
        });
    }
    let d = &sub.details;
    let routed = match &d.country {
        Some(c) => route_for(tx, c)?,
        None => None,
    };
    let addresses = [
        (SuppressionKind::Email, d.email.as_deref()),
        (SuppressionKind::Phone, d.phone.as_deref()),
    ];
    for (kind, value) in addresses {
        let Some(value) = value else { continue };
        if suppression::is_suppressed(tx, key, kind, value, routed.as_deref())? {
            // Keep that it happened, nothing about whom.
            tx.exec(
                "INSERT INTO intake_submission (submission_id, status) VALUES (?1, 'suppressed')",
                &[submission_id.into()],
            )?;
            return Ok(IntakeResponse {
                status: IntakeStatus::Suppressed,
                registration_id: None,
                lead_id: None,
                office: None,
            });
        }
    }

    let existing = match &d.email {
        Some(e) => leads::find_by_email(tx, e)?,
        None => None,
    };
    let raw = &sub.raw;
    let (lead_id, office) = match existing {
        Some((id, office)) => (id, office),
        None => {
            let id = uuid::Uuid::now_v7().to_string();
            leads::create(tx, &id, routed.as_deref(), now)?;
            let hlc = Hlc {
                millis: now.timestamp_millis(),
                counter: 0,
                node: "server".into(),
            }
            .to_string();
            let groups = [
                LeadFields::Office {
                    office: routed.clone(),
                },
                LeadFields::Identity {
                    name: d.name.clone(),
                    company: d.company.clone(),
                },
                LeadFields::Email {
                    email: d.email.clone(),
                    email_invalid: false,
                },
                LeadFields::Phone {
                    phone: d.phone.clone(),
                },
                LeadFields::Postal {
                    address: d.address.clone(),
                    country: d.country.clone(),
                    time_zone: d.country.as_deref().and_then(normalize::single_zone),
                },
                LeadFields::Workflow {
                    status: LeadStatus::New,
                    owner: None,
                    next_follow_up_at: None,
                },
            ];
            for fields in groups {
                leads::set_group(tx, &id, &fields, &hlc)?;
                let op = Op::LeadFieldsSet(LeadFieldsSet {
                    lead_id: id.clone(),
                    fields,
                    hlc: hlc.clone(),
                    created_at: now,
                });
                emit(tx, bucket_of(routed.as_deref()), &op)?;
            }
            (id, routed)
        }
    };
    let registration = Registration {
        id: uuid::Uuid::now_v7().to_string(),
        lead_id: lead_id.clone(),
        submission_id: Some(submission_id.to_string()),
        kind: raw.kind,
        product: registration::owned(&raw.product),
        submitted_at: raw.submitted_at,
        details: d.clone(),
    };
    // Sealed under the person's key, like every record about them (`crate::sealing`).
    let body = sealing::seal_body(tx, Some(&lead_id), serde_json::to_string(&registration)?)?;
    tx.exec(
        "INSERT INTO record (kind, id, lead_id, submission_id, body) \
         VALUES ('registration', ?1, ?2, ?3, ?4)",
        &[
            registration.id.as_str().into(),
            lead_id.as_str().into(),
            submission_id.into(),
            body.into(),
        ],
    )?;
    tx.exec(
        "INSERT INTO intake_submission (submission_id, status, registration_id, lead_id, office) \
         VALUES (?1, 'accepted', ?2, ?3, ?4)",
        &[
            submission_id.into(),
            registration.id.as_str().into(),
            lead_id.as_str().into(),
            office.as_deref().into(),
        ],
    )?;
    let registration_id = registration.id.clone();
    let lead_owner = leads::load_state(tx, &lead_id)?.and_then(|lead| {
        match &lead.group(FieldGroup::Workflow).0 {
            LeadFields::Workflow { owner, .. } => owner.clone(),
            _ => None,
        }
    });
    emit(
        tx,
        bucket_of(office.as_deref()),
        &Op::RegistrationAdded(registration.clone()),
    )?;
    // Intake rules run here, once, where the registration enters (docs/SYNC.md, "Cadences").
    crate::push::enrol_by_rules(
        tx,
        &registration,
        office.as_deref(),
        lead_owner.as_deref(),
        now,
    )?;
    effects.changed = true;
    Ok(IntakeResponse {
        status: IntakeStatus::Accepted,
        registration_id: Some(registration_id),
        lead_id: Some(lead_id),
        office,
    })
}
