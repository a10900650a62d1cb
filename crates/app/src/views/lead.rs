//! The lead page: one lead's whole story and what the gate allows now.

use serde::Serialize;
use switchboard_core::access;
use switchboard_core::consent::ConsentState;
use switchboard_core::gate::{self, ChannelDecision};
use switchboard_core::protocol::{
    AuditEntry, Disclosure, FollowUp, Lead, Registration, SubscriberRequest,
};
use switchboard_core::roles::{self, RequestPermissions};
use switchboard_core::{leads, Store};
use ts_rs::TS;

/// Everything the lead page (and `switchboard leads show`) shows, as of now.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[ts(export)]
pub struct LeadDetail {
    pub lead: Lead,
    /// The lead's local time ("14:05 Europe/Berlin"), when a zone is known.
    pub local_time: Option<String>,
    pub registrations: Vec<Registration>,
    pub follow_ups: Vec<FollowUp>,
    pub consent: ConsentState,
    /// The gate's decision per channel right now.
    pub channels: Vec<ChannelDecision>,
    pub subscriber_requests: Vec<SubscriberRequest>,
    pub corrected_fields: Vec<String>,
    /// The audit timeline, oldest first.
    pub audit: Vec<AuditEntry>,
    /// Every time the person's data went to a partner.
    pub disclosures: Vec<Disclosure>,
    /// Whether the signed-in role may carry out this person's requests (erase, export, correct).
    pub permissions: RequestPermissions,
}

/// The lead `reference` names (an id or a unique prefix, as `leads::find` takes), its whole
/// story and what the gate allows at the store's now.
pub fn lead_detail(store: &Store, reference: &str) -> switchboard_core::Result<LeadDetail> {
    let at = store.now();
    let lead = leads::find(store.conn(), reference)?;
    let held = access::report(store.conn(), &lead.id)?;
    Ok(LeadDetail {
        local_time: gate::local_time_label(&lead, at),
        channels: gate::channel_decisions(store.conn(), &lead, at)?,
        lead: held.lead,
        registrations: held.registrations,
        follow_ups: held.follow_ups,
        consent: held.consent,
        subscriber_requests: held.subscriber_requests,
        corrected_fields: held.corrected_fields,
        audit: held.audit,
        disclosures: held.disclosures,
        permissions: roles::permissions(store.conn())?,
    })
}
