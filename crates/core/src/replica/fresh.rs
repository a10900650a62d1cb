//! The fast path of a pull page for leads this replica has never held (a first sync is almost
//! only that): each such lead is written as one row with all its field groups at once, instead
//! of a skeleton followed by one update per group, and its records skip the per-change lookups
//! that cannot matter for a lead created in this very page.
//!
//! The result is the same as applying the page change by change: on an unknown lead every field
//! group takes the highest stamp the page carries for it (the skeleton's empty clock loses to
//! any stamp), the row appears at the first change that would have created it, with the same
//! `created_at`, and a lead that the page also erases or revokes, or whose winning workflow
//! status is `erased`, takes the ordinary path.

use crate::clock::to_text;
use crate::error::Result;
use crate::people::leads::{self, PulledLead};
use rusqlite::Connection;
use std::collections::{HashMap, HashSet};
use switchboard_protocol::{
    Change, Direction, FollowUp, LeadFields, LeadFieldsSet, LeadStatus, Op,
};

/// A lead that is new to this replica, with the winning value of each field group in the page.
#[derive(Default)]
struct NewLead<'p> {
    identity: Option<&'p LeadFieldsSet>,
    email: Option<&'p LeadFieldsSet>,
    phone: Option<&'p LeadFieldsSet>,
    postal: Option<&'p LeadFieldsSet>,
    workflow: Option<&'p LeadFieldsSet>,
    office: Option<&'p LeadFieldsSet>,
    /// The lead's follow-ups in this page (it had none before: it did not exist).
    follow_ups: Vec<&'p FollowUp>,
    written: bool,
}

/// `leads::recompute_counters` worked out from the page instead of the table.
struct Counters {
    attempts: i64,
    last_attempt_at: Option<String>,
    last_outcome: Option<&'static str>,
    first_contact_at: Option<String>,
}

impl Counters {
    fn of(follow_ups: &[&FollowUp]) -> Counters {
        let mut seen = HashSet::new();
        let mut c = Counters {
            attempts: 0,
            last_attempt_at: None,
            last_outcome: None,
            first_contact_at: None,
        };
        let mut last: Option<(String, &str)> = None;
        for f in follow_ups {
            if !seen.insert(f.id.as_str()) {
                continue;
            }
            let at = to_text(f.occurred_at);
            if f.direction == Direction::Out {
                c.attempts += 1;
                if c.last_attempt_at.as_ref().is_none_or(|l| &at > l) {
                    c.last_attempt_at = Some(at.clone());
                }
            }
            if c.first_contact_at.as_ref().is_none_or(|first| &at < first) {
                c.first_contact_at = Some(at.clone());
            }
            // Newest by (occurred_at, id), as the table query orders them.
            if last
                .as_ref()
                .is_none_or(|(l_at, l_id)| (&at, f.id.as_str()) > (l_at, *l_id))
            {
                last = Some((at, f.id.as_str()));
                c.last_outcome = Some(f.outcome.as_str());
            }
        }
        c
    }
}

impl<'p> NewLead<'p> {
    fn slot(&mut self, fields: &LeadFields) -> &mut Option<&'p LeadFieldsSet> {
        match fields {
            LeadFields::Identity { .. } => &mut self.identity,
            LeadFields::Email { .. } => &mut self.email,
            LeadFields::Phone { .. } => &mut self.phone,
            LeadFields::Postal { .. } => &mut self.postal,
            LeadFields::Workflow { .. } => &mut self.workflow,
            LeadFields::Office { .. } => &mut self.office,
        }
    }
}

/// The leads of one page that take the fast path.
pub struct NewLeads<'p> {
    leads: HashMap<&'p str, NewLead<'p>>,
    /// Indexes of the page's field changes that change the lead (a newer stamp than any before
    /// it in the page for the same group): what `ApplySummary::applied` counts for them.
    effective: HashSet<usize>,
    /// Whether their rows get their full-text entries now (a bulk load builds them at its end).
    index_search: bool,
}

impl<'p> NewLeads<'p> {
    /// Finds the page's leads that this replica does not hold yet.
    pub fn scan(
        conn: &Connection,
        changes: &'p [Change],
        index_search: bool,
    ) -> Result<NewLeads<'p>> {
        let mut excluded: HashSet<&str> = HashSet::new();
        let mut candidates: HashMap<&'p str, NewLead<'p>> = HashMap::new();
        let mut effective = HashSet::new();
        let mut follow_ups: Vec<&'p FollowUp> = Vec::new();
        for (index, change) in changes.iter().enumerate() {
            match &change.op {
                Op::LeadFieldsSet(op) => {
                    let lead = candidates.entry(op.lead_id.as_str()).or_default();
                    let slot = lead.slot(&op.fields);
                    let best = slot.map(|s| s.hlc.as_str()).unwrap_or("");
                    if op.hlc.as_str() > best {
                        *slot = Some(op);
                        effective.insert(index);
                    }
                }
                Op::FollowUpLogged(f) => {
                    follow_ups.push(f);
                }
                Op::LeadErased(e) => {
                    excluded.insert(e.lead_id.as_str());
                }
                Op::LeadRevoked(r) => {
                    excluded.insert(r.lead_id.as_str());
                }
                _ => {}
            }
        }
        let mut leads = HashMap::with_capacity(candidates.len());
        for (id, lead) in candidates {
            let erased = lead.workflow.is_some_and(|w| {
                matches!(
                    w.fields,
                    LeadFields::Workflow {
                        status: LeadStatus::Erased,
                        ..
                    }
                )
            });
            if excluded.contains(id) || erased || leads::exists(conn, id)? {
                continue;
            }
            leads.insert(id, lead);
        }
        for f in follow_ups {
            if let Some(lead) = leads.get_mut(f.lead_id.as_str()) {
                lead.follow_ups.push(f);
            }
        }
        effective.retain(|i| match &changes[*i].op {
            Op::LeadFieldsSet(op) => leads.contains_key(op.lead_id.as_str()),
            _ => false,
        });
        Ok(NewLeads {
            leads,
            effective,
            index_search,
        })
    }

    /// Whether `lead_id` takes the fast path in this page.
    pub fn contains(&self, lead_id: &str) -> bool {
        self.leads.contains_key(lead_id)
    }

    /// Whether the field change at `index` of the page changes its (new) lead.
    pub fn is_effective(&self, index: usize) -> bool {
        self.effective.contains(&index)
    }

    /// Writes the lead's row once, at the first change that would have created it, with that
    /// change's `created_at`, and with the counters its follow-ups in this page give it.
    /// Returns whether `lead_id` is a fast-path lead (written now or before): if so its row
    /// exists, is not erased, and needs no counter update for this page's follow-ups.
    pub fn write(&mut self, conn: &Connection, lead_id: &str, created_at: &str) -> Result<bool> {
        let Some(lead) = self.leads.get_mut(lead_id) else {
            return Ok(false);
        };
        if lead.written {
            return Ok(true);
        }
        lead.written = true;
        let (name, company) = match lead.identity.map(|s| &s.fields) {
            Some(LeadFields::Identity { name, company }) => (name.as_deref(), company.as_deref()),
            _ => (None, None),
        };
        let (email, email_invalid) = match lead.email.map(|s| &s.fields) {
            Some(LeadFields::Email {
                email,
                email_invalid,
            }) => (email.as_deref(), *email_invalid),
            _ => (None, false),
        };
        let phone = match lead.phone.map(|s| &s.fields) {
            Some(LeadFields::Phone { phone }) => phone.as_deref(),
            _ => None,
        };
        let (address, country, time_zone) = match lead.postal.map(|s| &s.fields) {
            Some(LeadFields::Postal {
                address,
                country,
                time_zone,
            }) => (address.as_deref(), country.as_deref(), time_zone.as_deref()),
            _ => (None, None, None),
        };
        let (status, owner, next_follow_up_at) = match lead.workflow.map(|s| &s.fields) {
            Some(LeadFields::Workflow {
                status,
                owner,
                next_follow_up_at,
            }) => (*status, owner.as_deref(), next_follow_up_at.map(to_text)),
            _ => (LeadStatus::New, None, None),
        };
        let counters = Counters::of(&lead.follow_ups);
        let office = match lead.office.map(|s| &s.fields) {
            Some(LeadFields::Office { office }) => office.as_deref(),
            _ => None,
        };
        leads::insert_pulled(
            conn,
            &PulledLead {
                id: lead_id,
                created_at,
                name,
                company,
                clock_identity: clock(lead.identity),
                email,
                email_invalid,
                clock_email: clock(lead.email),
                phone,
                clock_phone: clock(lead.phone),
                address,
                country,
                time_zone,
                clock_postal: clock(lead.postal),
                status,
                owner,
                next_follow_up_at,
                clock_workflow: clock(lead.workflow),
                office,
                clock_office: clock(lead.office),
                attempts: counters.attempts,
                last_attempt_at: counters.last_attempt_at,
                last_outcome: counters.last_outcome,
                first_contact_at: counters.first_contact_at,
            },
            self.index_search,
        )?;
        Ok(true)
    }
}

/// The stamp of a group's winning change, or the empty clock when the page has none.
fn clock(set: Option<&LeadFieldsSet>) -> &str {
    set.map(|s| s.hlc.as_str()).unwrap_or("")
}
