//! What the company-wide privacy officer pulls: every office's people who have a subscriber
//! request, whole (an access report lists everything held and an erasure purges it all), plus
//! the global bucket; nobody else. Lead lists and follow-up history of people without a request
//! never reach that replica.
//!
//! The officer's page reads the log rows of people with a request in any bucket. A person whose
//! first request arrives after the officer's cursor passed their earlier changes would be
//! missing those, so the first request also appends the person's whole state to
//! `REQUESTS_BUCKET`, which only the officer (and admins, who read everything) pull.

use crate::changelog;
use crate::error::Result;
use crate::leads;
use crate::store::Tx;

/// The bucket of snapshots for the officer: longer than any office code (1 to 32 characters),
/// so no office can share it.
pub const REQUESTS_BUCKET: &str = "#people-with-a-subscriber-request";

/// Whether the lead has any subscriber request on record.
pub fn has_request(tx: &mut dyn Tx, lead_id: &str) -> Result<bool> {
    Ok(tx
        .query_opt(
            "SELECT 1 FROM record WHERE kind = 'subscriber_request' AND lead_id = ?1",
            &[lead_id.into()],
        )?
        .is_some())
}

/// After a lead's first request was recorded: its whole state to the officer's bucket.
pub fn first_request_recorded(tx: &mut dyn Tx, lead_id: &str) -> Result<()> {
    if let Some(lead) = leads::load(tx, lead_id)? {
        changelog::emit_snapshot(tx, &lead, REQUESTS_BUCKET)?;
    }
    Ok(())
}

/// Whether a stored operation (its JSON as the log serves it) is a `lead_revoked`: the officer
/// keeps a person whose lead moves between offices, so a revocation of the old office's copy
/// is not for them.
pub fn is_revocation(op_json: &str) -> bool {
    op_json.starts_with(r#"{"type":"lead_revoked""#)
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_protocol::{LeadRevoked, Op};

    #[test]
    fn revocations_are_recognised_as_the_log_writes_them() {
        let revoked = serde_json::to_string(&Op::LeadRevoked(LeadRevoked {
            lead_id: "lead-1".into(),
        }))
        .unwrap();
        assert!(is_revocation(&revoked), "{revoked}");
        assert!(!is_revocation(r#"{"type":"lead_erased","lead_id":"x"}"#));
        assert!(REQUESTS_BUCKET.len() > 32);
    }
}
