//! Consent: append-only opt-out and opt-in events, and the state derived from them.
//!
//! There is no consent flag anywhere: a lead's consent is computed from its events each time.
//! Every event may name, in `supersedes`, the latest opt-out of its scope that its author saw:
//! an opt-in names the opt-out it lifts, and a repeated opt-out names the one it renews. An
//! opt-out holds as long as no other event names it. So an opt-in recorded on a replica that had
//! not seen an opt-out names an older one (or none) and cannot lift it: after sync, opt-out wins
//! over a concurrent opt-in. An opt-in of one channel does not lift an opt-out of `all`.

use crate::clock::{new_id, to_text};
use crate::error::{CoreError, Result};
use crate::people::leads::{self, parse_time};
use crate::store::outbox::{self, Entity};
use chrono::{DateTime, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use switchboard_protocol::{Channel, ConsentAction, ConsentEvent, ConsentScope, LeadStatus};
use ts_rs::TS;

/// Longest evidence text accepted (a pasted email, a call note).
pub const MAX_EVIDENCE_BYTES: usize = switchboard_protocol::limits::MAX_NOTE_BYTES;
const MAX_SOURCE_BYTES: usize = 200;

/// An opt-out that currently holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ActiveOptOut {
    /// The consent event that holds.
    pub event_id: String,
    pub scope: ConsentScope,
    pub since: DateTime<Utc>,
    pub source: String,
}

/// A lead's consent, derived from its events.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct ConsentState {
    /// Opt-outs that hold, oldest first.
    pub active_opt_outs: Vec<ActiveOptOut>,
    /// Every event, oldest first.
    pub events: Vec<ConsentEvent>,
}

impl ConsentState {
    /// The opt-out that blocks `channel` (its own or `all`), the oldest if several hold.
    pub fn blocking(&self, channel: Channel) -> Option<&ActiveOptOut> {
        self.active_opt_outs
            .iter()
            .find(|o| o.scope.covers(channel))
    }

    /// Whether the person opted out of `channel`.
    pub fn is_opted_out(&self, channel: Channel) -> bool {
        self.blocking(channel).is_some()
    }

    /// The holding opt-outs of exactly `scope`, newest first.
    fn holding(&self, scope: ConsentScope) -> Vec<&ActiveOptOut> {
        let mut found: Vec<_> = self
            .active_opt_outs
            .iter()
            .filter(|o| o.scope == scope)
            .collect();
        found.reverse();
        found
    }
}

/// Every consent event of a lead, oldest first.
pub fn events(conn: &Connection, lead_id: &str) -> Result<Vec<ConsentEvent>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM consent_event WHERE lead_id = ?1 ORDER BY occurred_at, id"
    ))?;
    let rows = stmt.query_map([lead_id], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// The event with this id, if it is here.
pub fn find(conn: &Connection, id: &str) -> Result<Option<ConsentEvent>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM consent_event WHERE id = ?1"
        ))?
        .query_row([id], from_row)
        .optional()?)
}

/// Columns `from_row` reads, in order.
const COLUMNS: &str =
    "id, lead_id, scope, action, source, evidence, occurred_at, supersedes, recorded_by";

/// Maps a row of `COLUMNS`.
fn from_row(r: &Row<'_>) -> rusqlite::Result<ConsentEvent> {
    Ok(ConsentEvent {
        id: r.get(0)?,
        lead_id: r.get(1)?,
        scope: leads::parsed_column(r, 2)?,
        action: leads::parsed_column(r, 3)?,
        source: r.get(4)?,
        evidence: r.get(5)?,
        occurred_at: parse_time(r.get(6)?).unwrap_or_default(),
        supersedes: r.get(7)?,
        recorded_by: r.get(8)?,
    })
}

/// The lead's consent as its events say.
pub fn state(conn: &Connection, lead_id: &str) -> Result<ConsentState> {
    let events = events(conn, lead_id)?;
    Ok(derive(events))
}

/// Derives the state from events: an opt-out holds unless another event names it.
pub fn derive(events: Vec<ConsentEvent>) -> ConsentState {
    let named: HashSet<&str> = events
        .iter()
        .filter_map(|e| e.supersedes.as_deref())
        .collect();
    let active_opt_outs = events
        .iter()
        .filter(|e| e.action == ConsentAction::OptOut && !named.contains(e.id.as_str()))
        .map(|e| ActiveOptOut {
            event_id: e.id.clone(),
            scope: e.scope,
            since: e.occurred_at,
            source: e.source.clone(),
        })
        .collect();
    ConsentState {
        active_opt_outs,
        events,
    }
}

fn validate(lead_id: &str, source: &str, evidence: Option<&str>, actor: &str) -> Result<()> {
    if source.trim().is_empty() || source.len() > MAX_SOURCE_BYTES {
        return Err(CoreError::BadInput(format!(
            "consent source must be 1 to {MAX_SOURCE_BYTES} bytes (e.g. \"phone call\", \"web form\")"
        )));
    }
    if actor.trim().is_empty() {
        return Err(CoreError::BadInput(
            "consent events need the user who records them".into(),
        ));
    }
    if let Some(e) = evidence {
        if e.len() > MAX_EVIDENCE_BYTES {
            return Err(CoreError::BadInput(format!(
                "evidence is {} bytes, more than the {MAX_EVIDENCE_BYTES} allowed",
                e.len()
            )));
        }
    }
    if [source, actor, evidence.unwrap_or("")]
        .iter()
        .any(|t| t.contains('\0'))
    {
        return Err(CoreError::BadInput(
            "consent text contains a NUL byte".into(),
        ));
    }
    if lead_id.is_empty() {
        return Err(CoreError::BadInput("no lead given".into()));
    }
    Ok(())
}

struct NewEvent<'a> {
    lead_id: &'a str,
    scope: ConsentScope,
    action: ConsentAction,
    source: &'a str,
    evidence: Option<&'a str>,
    supersedes: Option<String>,
    actor: &'a str,
    at: DateTime<Utc>,
}

fn write(conn: &Connection, e: NewEvent<'_>) -> Result<ConsentEvent> {
    let event = ConsentEvent {
        id: new_id(e.at),
        lead_id: e.lead_id.to_string(),
        scope: e.scope,
        action: e.action,
        source: e.source.trim().to_string(),
        evidence: e.evidence.map(str::to_string),
        occurred_at: e.at,
        supersedes: e.supersedes,
        recorded_by: e.actor.trim().to_string(),
    };
    insert(conn, &event, false)?;
    outbox::enqueue(conn, Entity::ConsentEvent, &event.id, None)?;
    Ok(event)
}

/// Inserts the event unless it is there; `redact` leaves the evidence out (the person was
/// erased). Returns whether it was new.
fn insert(conn: &Connection, e: &ConsentEvent, redact: bool) -> Result<bool> {
    let evidence = if redact { None } else { e.evidence.as_deref() };
    Ok(conn
        .prepare_cached(
            "INSERT INTO consent_event(id, lead_id, scope, action, source, evidence, occurred_at,
                                       supersedes, recorded_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT(id) DO NOTHING",
        )?
        .execute(params![
            e.id,
            e.lead_id,
            e.scope.as_str(),
            e.action.as_str(),
            e.source,
            evidence,
            to_text(e.occurred_at),
            e.supersedes,
            e.recorded_by
        ])?
        > 0)
}

fn live_lead(conn: &Connection, lead_id: &str) -> Result<()> {
    let lead = leads::get(conn, lead_id)?;
    if lead.status == LeadStatus::Erased {
        return Err(CoreError::Suppressed(
            "this person was erased: nothing more is recorded about them".into(),
        ));
    }
    Ok(())
}

/// Records an opt-out (effective at once) inside the caller's transaction and queues it for sync.
pub fn opt_out(
    conn: &Connection,
    lead_id: &str,
    scope: ConsentScope,
    source: &str,
    evidence: Option<&str>,
    actor: &str,
    at: DateTime<Utc>,
) -> Result<ConsentEvent> {
    validate(lead_id, source, evidence, actor)?;
    live_lead(conn, lead_id)?;
    let now = state(conn, lead_id)?;
    // Renewing an opt-out names the one it renews, so a later opt-in that names the renewal
    // lifts the whole chain.
    let supersedes = now.holding(scope).first().map(|o| o.event_id.clone());
    write(
        conn,
        NewEvent {
            lead_id,
            scope,
            action: ConsentAction::OptOut,
            source,
            evidence,
            supersedes,
            actor,
            at,
        },
    )
}

/// Records an opt-in of `scope` inside the caller's transaction. It lifts the opt-outs of that
/// exact scope that this replica has seen: one event per holding opt-out (usually one; two after
/// concurrent opt-outs from different replicas), or a single event naming none when none holds.
pub fn opt_in(
    conn: &Connection,
    lead_id: &str,
    scope: ConsentScope,
    source: &str,
    evidence: Option<&str>,
    actor: &str,
    at: DateTime<Utc>,
) -> Result<Vec<ConsentEvent>> {
    validate(lead_id, source, evidence, actor)?;
    live_lead(conn, lead_id)?;
    let now = state(conn, lead_id)?;
    let lifted: Vec<Option<String>> = match now.holding(scope) {
        h if h.is_empty() => vec![None],
        h => h.into_iter().map(|o| Some(o.event_id.clone())).collect(),
    };
    lifted
        .into_iter()
        .map(|supersedes| {
            write(
                conn,
                NewEvent {
                    lead_id,
                    scope,
                    action: ConsentAction::OptIn,
                    source,
                    evidence,
                    supersedes,
                    actor,
                    at,
                },
            )
        })
        .collect()
}

/// Stores an event that was recorded elsewhere (sync pull); not queued for push. Its evidence is
/// left out if the person was erased here. Returns whether it was new.
pub fn apply_remote(conn: &Connection, event: &ConsentEvent) -> Result<bool> {
    insert(conn, event, leads::is_erased(conn, &event.lead_id)?)
}

/// Removes the evidence of an erased person's consent events; the events stay, since they
/// still block contact. Returns how many held evidence.
pub fn purge_evidence(conn: &Connection, lead_id: &str) -> Result<usize> {
    Ok(conn
        .prepare_cached(
            "UPDATE consent_event SET evidence = NULL WHERE lead_id = ?1 AND evidence IS NOT NULL",
        )?
        .execute([lead_id])?)
}

/// Replaces a consent source that quotes `spelling` (lower case) of an erased person's address:
/// a source is a short label ("web form"), but a rep may have typed an address.
pub fn purge_source_quoting(conn: &Connection, lead_id: &str, spelling: &str) -> Result<()> {
    conn.prepare_cached(
        "UPDATE consent_event SET source = 'erased'
         WHERE lead_id = ?1 AND instr(lower(source), ?2) > 0",
    )?
    .execute(params![lead_id, spelling])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::nine;
    use crate::people::leads::NewLead;
    use crate::Store;
    use chrono::Duration;
    use proptest::prelude::*;

    fn setup() -> (Store, String) {
        let mut s = crate::fixtures::store_at(nine());
        let id = new_id(nine());
        s.with_tx(|tx| {
            leads::insert(
                tx,
                &id,
                &NewLead {
                    email: Some("ann@example.com".into()),
                    ..NewLead::default()
                },
                nine(),
            )
        })
        .unwrap();
        (s, id)
    }

    #[test]
    fn an_opt_in_lifts_the_opt_out_it_saw() {
        let (mut s, id) = setup();
        let out = s
            .with_tx(|tx| {
                opt_out(
                    tx,
                    &id,
                    ConsentScope::Email,
                    "unsubscribe",
                    None,
                    "sys",
                    nine(),
                )
            })
            .unwrap();
        assert!(state(s.conn(), &id).unwrap().is_opted_out(Channel::Email));
        assert!(!state(s.conn(), &id).unwrap().is_opted_out(Channel::Phone));
        let ins = s
            .with_tx(|tx| {
                opt_in(
                    tx,
                    &id,
                    ConsentScope::Email,
                    "web form",
                    Some("ticked the box"),
                    "sys",
                    nine() + Duration::days(1),
                )
            })
            .unwrap();
        assert_eq!(ins.len(), 1);
        assert_eq!(ins[0].supersedes.as_deref(), Some(out.id.as_str()));
        let st = state(s.conn(), &id).unwrap();
        assert!(!st.is_opted_out(Channel::Email));
        assert_eq!(st.events.len(), 2);
        let queued: i64 = s
            .conn()
            .query_row(
                "SELECT count(*) FROM outbox WHERE entity = 'consent_event'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(queued, 2);
    }

    #[test]
    fn a_concurrent_opt_in_that_did_not_see_the_opt_out_loses() {
        let (mut s, id) = setup();
        // Replica B recorded an opt-in having seen nothing; replica A's opt-out arrives by sync.
        let stale = ConsentEvent {
            id: new_id(nine() + Duration::hours(2)),
            lead_id: id.clone(),
            scope: ConsentScope::Phone,
            action: ConsentAction::OptIn,
            source: "phone call".into(),
            evidence: None,
            occurred_at: nine() + Duration::hours(2),
            supersedes: None,
            recorded_by: "rep-b".into(),
        };
        s.with_tx(|tx| {
            opt_out(
                tx,
                &id,
                ConsentScope::Phone,
                "phone call",
                None,
                "rep-a",
                nine(),
            )
        })
        .unwrap();
        assert!(apply_remote(s.conn(), &stale).unwrap());
        assert!(!apply_remote(s.conn(), &stale).unwrap(), "idempotent");
        assert!(state(s.conn(), &id).unwrap().is_opted_out(Channel::Phone));
    }

    #[test]
    fn a_channel_opt_in_does_not_lift_an_opt_out_of_all() {
        let (mut s, id) = setup();
        s.with_tx(|tx| opt_out(tx, &id, ConsentScope::All, "letter", None, "sys", nine()))
            .unwrap();
        let ins = s
            .with_tx(|tx| opt_in(tx, &id, ConsentScope::Email, "web", None, "sys", nine()))
            .unwrap();
        assert_eq!(ins[0].supersedes, None);
        let st = state(s.conn(), &id).unwrap();
        assert_eq!(
            st.blocking(Channel::Email).unwrap().scope,
            ConsentScope::All
        );
    }

    #[test]
    fn bad_input_and_erased_leads_are_refused() {
        let (mut s, id) = setup();
        let err = s
            .with_tx(|tx| opt_out(tx, &id, ConsentScope::All, " ", None, "sys", nine()))
            .unwrap_err();
        assert_eq!(err.code(), "bad_input");
        let big = "x".repeat(MAX_EVIDENCE_BYTES + 1);
        let err = s
            .with_tx(|tx| opt_out(tx, &id, ConsentScope::All, "web", Some(&big), "sys", nine()))
            .unwrap_err();
        assert_eq!(err.code(), "bad_input");
        let err = s
            .with_tx(|tx| opt_out(tx, "nope", ConsentScope::All, "web", None, "sys", nine()))
            .unwrap_err();
        assert_eq!(err.code(), "not_found");
        s.conn()
            .execute("UPDATE lead SET status = 'erased' WHERE id = ?1", [&id])
            .unwrap();
        let err = s
            .with_tx(|tx| opt_in(tx, &id, ConsentScope::All, "web", None, "sys", nine()))
            .unwrap_err();
        assert_eq!(err.code(), "suppressed");
    }

    /// One step of a history: an opt-out, an opt-in through the API (it sees every event), or an
    /// opt-in from a replica that had seen only the first `seen` events.
    #[derive(Debug, Clone)]
    enum Step {
        OptOut(ConsentScope),
        OptIn(ConsentScope),
        StaleOptIn(ConsentScope, usize),
    }

    fn scope() -> impl Strategy<Value = ConsentScope> {
        prop::sample::select(ConsentScope::ALL.to_vec())
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            scope().prop_map(Step::OptOut),
            scope().prop_map(Step::OptIn),
            (scope(), 0usize..8).prop_map(|(s, n)| Step::StaleOptIn(s, n)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn an_opt_out_holds_unless_a_later_opt_in_names_it(steps in prop::collection::vec(step(), 0..12)) {
            let (mut s, id) = setup();
            // The model: per scope, whether the latest opt-out is still unanswered by an opt-in
            // that saw it.
            let mut out = std::collections::HashMap::new();
            let mut recorded: Vec<ConsentEvent> = Vec::new();
            for (i, step) in steps.iter().enumerate() {
                let at = nine() + Duration::minutes(i as i64);
                match step {
                    Step::OptOut(sc) => {
                        let e = s.with_tx(|tx| opt_out(tx, &id, *sc, "test", None, "sys", at)).unwrap();
                        recorded.push(e);
                        out.insert(*sc, true);
                    }
                    Step::OptIn(sc) => {
                        let es = s.with_tx(|tx| opt_in(tx, &id, *sc, "test", None, "sys", at)).unwrap();
                        recorded.extend(es);
                        out.insert(*sc, false);
                    }
                    Step::StaleOptIn(sc, seen) => {
                        // What that replica would have named: the latest opt-out of the scope
                        // among the events it had seen.
                        let seen = (*seen).min(recorded.len());
                        let view = derive(recorded[..seen].to_vec());
                        let named = view.holding(*sc).first().map(|o| o.event_id.clone());
                        let saw_latest = named.is_some() && named == state(s.conn(), &id).unwrap()
                            .holding(*sc).first().map(|o| o.event_id.clone());
                        let e = ConsentEvent {
                            id: new_id(at),
                            lead_id: id.clone(),
                            scope: *sc,
                            action: ConsentAction::OptIn,
                            source: "stale".into(),
                            evidence: None,
                            occurred_at: at,
                            supersedes: named,
                            recorded_by: "other".into(),
                        };
                        apply_remote(s.conn(), &e).unwrap();
                        recorded.push(e);
                        if saw_latest {
                            out.insert(*sc, false);
                        }
                    }
                }
            }
            let st = state(s.conn(), &id).unwrap();
            for ch in Channel::ALL {
                let own = match ch {
                    Channel::Email => ConsentScope::Email,
                    Channel::Phone => ConsentScope::Phone,
                    Channel::Mail => ConsentScope::Mail,
                };
                let expected = out.get(&own).copied().unwrap_or(false)
                    || out.get(&ConsentScope::All).copied().unwrap_or(false);
                prop_assert_eq!(st.is_opted_out(*ch), expected, "{:?} on {}", steps, ch);
            }
        }
    }
}
