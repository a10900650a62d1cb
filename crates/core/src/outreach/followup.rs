//! Logging follow-ups: every call, email or letter and every inbound contact, append-only.
//!
//! Logging an outbound contact asks the compliance gate at the moment it happened and is refused
//! when the gate blocks; inbound contact started by the person is always recorded. The lead's
//! counters (attempts, last attempt, last outcome, first contact) are derived from its follow-up
//! rows, so they come out the same on every replica whatever order follow-ups arrive in.

use crate::clock::{new_id, to_text};
use crate::compliance::gate::{self, Decision};
use crate::error::{CoreError, Result};
use crate::outreach::{cadence, queue};
use crate::people::leads::{self, parse_time, LeadField};
use crate::store::outbox::{self, Entity};
use chrono::{DateTime, Duration, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use switchboard_protocol::{Channel, Direction, FollowUp, LeadStatus, Outcome};
use ts_rs::TS;

/// Longest note accepted: the shared limit on free text (`switchboard_protocol::limits`).
pub const MAX_NOTE_BYTES: usize = switchboard_protocol::limits::MAX_NOTE_BYTES;
/// How far in the future `occurred_at` may lie: laptops' clocks drift a little.
pub const MAX_CLOCK_SKEW_MINUTES: i64 = 5;

/// What a rep logs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct LogFollowUp {
    /// The lead's id or email address.
    pub lead: String,
    pub channel: Channel,
    pub direction: Direction,
    pub outcome: Outcome,
    pub note: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub rep: String,
    /// When to follow up next; `None` clears a follow-up date this contact fulfilled.
    pub next_follow_up_at: Option<DateTime<Utc>>,
}

fn validate(input: &LogFollowUp, now: DateTime<Utc>) -> Result<()> {
    let rep = input.rep.trim();
    if rep.is_empty() || rep.len() > 200 || rep.contains('\0') {
        return Err(CoreError::BadInput(
            "a follow-up needs the rep who made it (1 to 200 bytes)".into(),
        ));
    }
    let allowed = Outcome::allowed_on(input.channel);
    if !allowed.contains(&input.outcome) {
        let names: Vec<&str> = allowed.iter().map(|o| o.as_str()).collect();
        return Err(CoreError::BadInput(format!(
            "outcome '{}' does not apply to {} (use one of: {})",
            input.outcome,
            input.channel,
            names.join(", ")
        )));
    }
    if input.occurred_at > now + Duration::minutes(MAX_CLOCK_SKEW_MINUTES) {
        return Err(CoreError::BadInput(format!(
            "the contact time {} is in the future",
            to_text(input.occurred_at)
        )));
    }
    if let Some(note) = &input.note {
        if note.len() > MAX_NOTE_BYTES {
            return Err(CoreError::BadInput(format!(
                "the note is {} bytes, more than the {MAX_NOTE_BYTES} allowed",
                note.len()
            )));
        }
        if note.contains('\0') {
            return Err(CoreError::BadInput("the note contains a NUL byte".into()));
        }
    }
    if let Some(next) = input.next_follow_up_at {
        if next <= input.occurred_at {
            return Err(CoreError::BadInput(
                "the next follow-up must come after this contact".into(),
            ));
        }
    }
    Ok(())
}

/// Records a follow-up inside the caller's transaction (use `Store::with_tx`): the row, its note
/// in the search index, the outbox entry, the lead's counters and workflow fields, and the end
/// of the rep's lease. `now` is the clock's current instant.
pub fn log(conn: &Connection, input: &LogFollowUp, now: DateTime<Utc>) -> Result<FollowUp> {
    validate(input, now)?;
    let lead = leads::find(conn, &input.lead)?;
    if lead.status == LeadStatus::Erased {
        return Err(CoreError::Suppressed(
            "this person was erased: nothing more is recorded about them".into(),
        ));
    }
    if input.direction == Direction::Out {
        if let Decision::Blocked(reason) =
            gate::check(conn, &lead, input.channel, input.occurred_at)?
        {
            return Err(CoreError::Blocked(format!(
                "{} may not be contacted by {}: {}",
                lead.name.as_deref().unwrap_or("this lead"),
                input.channel,
                reason.message()
            )));
        }
    }
    let note = input
        .note
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .map(str::to_string);
    let follow_up = FollowUp {
        id: new_id(input.occurred_at),
        lead_id: lead.id.clone(),
        channel: input.channel,
        direction: input.direction,
        outcome: input.outcome,
        note,
        occurred_at: input.occurred_at,
        rep: input.rep.trim().to_string(),
        next_follow_up_at: input.next_follow_up_at,
    };
    insert(conn, &follow_up, false)?;
    cadence::enrollment::on_follow_up(conn, &follow_up)?;
    outbox::enqueue(conn, Entity::FollowUp, &follow_up.id, None)?;
    leads::recompute_counters(conn, &lead.id)?;

    let mut workflow: Vec<(LeadField, Option<String>)> = Vec::new();
    if lead.status == LeadStatus::New {
        workflow.push((
            LeadField::Status,
            Some(LeadStatus::Working.as_str().to_string()),
        ));
    }
    match input.next_follow_up_at {
        Some(next) => workflow.push((LeadField::NextFollowUpAt, Some(to_text(next)))),
        // A contact at or after the due date fulfils it; an older, back-filled one does not.
        None if lead
            .next_follow_up_at
            .is_some_and(|due| due <= input.occurred_at) =>
        {
            workflow.push((LeadField::NextFollowUpAt, None))
        }
        None => {}
    }
    if !workflow.is_empty() {
        leads::set_fields(conn, &lead.id, &workflow, &follow_up.rep, "follow_up", now)?;
    }
    queue::release(conn, &lead.id, &follow_up.rep)?;
    Ok(follow_up)
}

/// The statements that rebuild the whole full-text index of notes from the follow-ups, as
/// `insert` leaves each entry (a bulk load runs them at its end: `store::deferred_indexes`).
pub fn rebuild_note_search() -> String {
    crate::store::deferred_indexes::search_rebuild(
        "note_search",
        "INSERT INTO note_search(rowid, note)
             SELECT rowid, note FROM follow_up WHERE note IS NOT NULL AND note <> '' ORDER BY rowid",
    )
}

/// Indexes the notes of follow-ups stored by `insert_indexed` without their entry (their rowids,
/// drained), as one run of full-text inserts. FTS5 keeps inserts in memory and writes them out
/// as a new segment at the start of any statement that opens a statement journal, such as the
/// next follow-up's insert (a foreign key and a unique id): a pull that indexed each note between
/// two follow-up inserts wrote one segment per note, and FTS5 pays for every segment written
/// with merge work on its largest segments, so after a bulk first sync (one large index) an
/// incremental sync of 100 follow-ups took 40–240 ms at 500,000 notes. Single-row `VALUES`
/// inserts open no statement journal, so a run of them stays in memory until the next such
/// statement or the commit writes it as one segment.
pub fn index_notes(conn: &Connection, rowids: &mut Vec<i64>) -> Result<()> {
    for rowid in rowids.drain(..) {
        // The note as stored: an erased person's follow-up was stored without it.
        let note: Option<String> = conn
            .prepare_cached("SELECT note FROM follow_up WHERE rowid = ?1")?
            .query_row([rowid], |r| r.get(0))?;
        if let Some(note) = note.filter(|n| !n.is_empty()) {
            conn.prepare_cached("INSERT INTO note_search(rowid, note) VALUES (?1, ?2)")?
                .execute(params![rowid, note])?;
        }
    }
    Ok(())
}

/// Inserts the row and indexes its note; `redact` leaves the note out (the person was erased).
/// Returns whether it was new. Counters are the caller's (`recompute_counters`).
pub fn insert(conn: &Connection, f: &FollowUp, redact: bool) -> Result<bool> {
    insert_indexed(conn, f, redact, true)
}

/// `insert`, leaving the note's full-text entry out unless `index` (a bulk load builds the
/// entries at its end: `store::deferred_indexes`).
pub fn insert_indexed(conn: &Connection, f: &FollowUp, redact: bool, index: bool) -> Result<bool> {
    let note = if redact { None } else { f.note.as_deref() };
    let inserted = conn
        .prepare_cached(
            "INSERT INTO follow_up(id, lead_id, channel, direction, outcome, note, occurred_at,
                                   rep, next_follow_up_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT(id) DO NOTHING",
        )?
        .execute(params![
            f.id,
            f.lead_id,
            f.channel.as_str(),
            f.direction.as_str(),
            f.outcome.as_str(),
            note,
            to_text(f.occurred_at),
            f.rep,
            f.next_follow_up_at.map(to_text)
        ])?;
    if inserted == 0 {
        return Ok(false);
    }
    cadence::enrollment::stop_on_outcome(conn, f)?;
    if let Some(note) = note.filter(|n| index && !n.is_empty()) {
        let rowid = conn.last_insert_rowid();
        conn.prepare_cached("INSERT INTO note_search(rowid, note) VALUES (?1, ?2)")?
            .execute(params![rowid, note])?;
    }
    Ok(true)
}

/// Stores a follow-up recorded on another replica (sync pull): union, never lost, never pushed
/// back; its note is left out if the person was erased here. Counters are the caller's: a page
/// of changes recomputes them once per lead. Returns whether it was new.
pub fn store_remote(conn: &Connection, f: &FollowUp) -> Result<bool> {
    store_remote_indexed(conn, f, true)
}

/// `store_remote`, leaving the note's full-text entry out unless `index` (`insert_indexed`).
pub fn store_remote_indexed(conn: &Connection, f: &FollowUp, index: bool) -> Result<bool> {
    insert_indexed(conn, f, leads::is_erased(conn, &f.lead_id)?, index)
}

/// `store_remote`, then the lead's counters. Returns whether it was new.
pub fn apply_remote(conn: &Connection, f: &FollowUp) -> Result<bool> {
    let new = store_remote(conn, f)?;
    if new {
        leads::recompute_counters(conn, &f.lead_id)?;
    }
    Ok(new)
}

/// Columns `from_row` reads, in order, over `follow_up f` (other columns may follow them).
pub(crate) const COLUMNS: &str = "f.id, f.lead_id, f.channel, f.direction, f.outcome, f.note, \
    f.occurred_at, f.rep, f.next_follow_up_at";

/// Maps a row that starts with `COLUMNS`.
pub(crate) fn from_row(r: &Row<'_>) -> rusqlite::Result<FollowUp> {
    Ok(FollowUp {
        id: r.get(0)?,
        lead_id: r.get(1)?,
        channel: leads::parsed_column(r, 2)?,
        direction: leads::parsed_column(r, 3)?,
        outcome: leads::parsed_column(r, 4)?,
        note: r.get(5)?,
        occurred_at: parse_time(r.get(6)?).unwrap_or_default(),
        rep: r.get(7)?,
        next_follow_up_at: parse_time(r.get(8)?),
    })
}

/// The follow-up with this id, if it is here.
pub fn find(conn: &Connection, id: &str) -> Result<Option<FollowUp>> {
    Ok(conn
        .prepare_cached(&format!("SELECT {COLUMNS} FROM follow_up f WHERE id = ?1"))?
        .query_row([id], from_row)
        .optional()?)
}

/// A lead's follow-ups, oldest first.
pub fn for_lead(conn: &Connection, lead_id: &str) -> Result<Vec<FollowUp>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM follow_up f WHERE lead_id = ?1 ORDER BY occurred_at, id"
    ))?;
    let rows = stmt.query_map([lead_id], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Removes the search entries of a lead's notes.
pub fn unindex_notes(conn: &Connection, lead_id: &str) -> Result<()> {
    conn.prepare_cached(
        "DELETE FROM note_search WHERE rowid IN (SELECT rowid FROM follow_up WHERE lead_id = ?1)",
    )?
    .execute([lead_id])?;
    Ok(())
}

/// Purges an erased person's notes and their search entries; the follow-ups stay, for counts.
/// Returns how many notes were removed.
pub fn purge_notes(conn: &Connection, lead_id: &str) -> Result<usize> {
    unindex_notes(conn, lead_id)?;
    Ok(conn
        .prepare_cached("UPDATE follow_up SET note = NULL WHERE lead_id = ?1 AND note IS NOT NULL")?
        .execute([lead_id])?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::noon;
    use crate::outreach::queue::QueueSettings;
    use crate::people::leads::NewLead;
    use crate::{compliance::consent, Store};
    use chrono::TimeZone;

    use switchboard_protocol::ConsentScope;

    fn setup() -> (Store, String) {
        let mut s = crate::fixtures::store_at(noon());
        let registered = noon() - Duration::hours(2);
        let lead = NewLead {
            company: None,
            last_registered_at: Some(registered),
            ..crate::fixtures::ann()
        };
        let id = crate::fixtures::insert_lead(&mut s, &lead, registered);
        (s, id)
    }

    fn call(outcome: Outcome, at: DateTime<Utc>) -> LogFollowUp {
        LogFollowUp {
            lead: "ann@example.com".into(),
            channel: Channel::Phone,
            direction: Direction::Out,
            outcome,
            note: Some("Asked about pricing for 20 seats".into()),
            occurred_at: at,
            rep: "rep1".into(),
            next_follow_up_at: None,
        }
    }

    #[test]
    fn a_logged_call_updates_counters_status_and_lease() {
        let (mut s, id) = setup();
        let n = queue::next(s.conn(), "new", "rep1", noon(), &QueueSettings::default())
            .unwrap()
            .unwrap();
        assert_eq!(n.lead.id, id);
        let mut input = call(Outcome::NoAnswer, noon());
        input.next_follow_up_at = Some(noon() + Duration::days(1));
        let f = s.with_tx(|tx| log(tx, &input, noon())).unwrap();
        assert_eq!(f.lead_id, id);
        let lead = leads::get(s.conn(), &id).unwrap();
        assert_eq!(lead.attempts, 1);
        assert_eq!(lead.status, LeadStatus::Working);
        assert_eq!(lead.last_outcome, Some(Outcome::NoAnswer));
        assert_eq!(lead.last_attempt_at, Some(noon()));
        assert_eq!(lead.first_contact_at, Some(noon()));
        assert_eq!(lead.next_follow_up_at, Some(noon() + Duration::days(1)));
        let leases: i64 = s
            .conn()
            .query_row("SELECT count(*) FROM lead_lease", [], |r| r.get(0))
            .unwrap();
        assert_eq!(leases, 0, "logging the call ended the lease");
        let queued: Vec<String> = s
            .conn()
            .prepare("SELECT entity || ':' || coalesce(detail, '') FROM outbox ORDER BY seq")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(queued.contains(&"follow_up:".to_string()), "{queued:?}");
        assert!(
            queued.contains(&"lead_fields:workflow".to_string()),
            "{queued:?}"
        );
        let hits: i64 = s
            .conn()
            .query_row(
                "SELECT count(*) FROM note_search WHERE note_search MATCH 'pricing'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(hits, 1);
    }

    #[test]
    fn outbound_contact_is_refused_when_the_gate_blocks_but_inbound_is_recorded() {
        let (mut s, id) = setup();
        // 21:30 in Berlin.
        let late = Utc.with_ymd_and_hms(2026, 3, 2, 20, 30, 0).unwrap();
        let err = s
            .with_tx(|tx| log(tx, &call(Outcome::Connected, late), late))
            .unwrap_err();
        assert_eq!(err.code(), "blocked");
        assert!(err.to_string().contains("outside calling hours"), "{err}");
        s.with_tx(|tx| consent::opt_out(tx, &id, ConsentScope::All, "call", None, "rep1", noon()))
            .unwrap();
        let err = s
            .with_tx(|tx| log(tx, &call(Outcome::Connected, noon()), noon()))
            .unwrap_err();
        assert!(
            err.to_string().contains("opted out of all contact"),
            "{err}"
        );
        let mut inbound = call(Outcome::Connected, late);
        inbound.direction = Direction::In;
        s.with_tx(|tx| log(tx, &inbound, late)).unwrap();
        let lead = leads::get(s.conn(), &id).unwrap();
        assert_eq!(lead.attempts, 0, "inbound contact is not an attempt");
        assert_eq!(lead.first_contact_at, Some(late));
        let rows: i64 = s
            .conn()
            .query_row("SELECT count(*) FROM follow_up", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 1, "refused attempts leave nothing behind");
    }

    #[test]
    fn bad_follow_ups_are_refused_with_reasons() {
        let (mut s, _) = setup();
        let mut wrong = call(Outcome::Bounced, noon());
        let err = s.with_tx(|tx| log(tx, &wrong, noon())).unwrap_err();
        assert!(err.to_string().contains("does not apply to phone"), "{err}");
        wrong = call(Outcome::Connected, noon() + Duration::hours(1));
        let err = s.with_tx(|tx| log(tx, &wrong, noon())).unwrap_err();
        assert!(err.to_string().contains("in the future"), "{err}");
        // Small clock skew is tolerated.
        let skewed = call(Outcome::Connected, noon() + Duration::minutes(2));
        s.with_tx(|tx| log(tx, &skewed, noon())).unwrap();
        let mut big = call(Outcome::Connected, noon());
        big.note = Some("x".repeat(MAX_NOTE_BYTES + 1));
        assert_eq!(
            s.with_tx(|tx| log(tx, &big, noon())).unwrap_err().code(),
            "bad_input"
        );
        big.note = Some("a\0b".into());
        assert_eq!(
            s.with_tx(|tx| log(tx, &big, noon())).unwrap_err().code(),
            "bad_input"
        );
        let mut nobody = call(Outcome::Connected, noon());
        nobody.lead = "nobody@example.com".into();
        assert_eq!(
            s.with_tx(|tx| log(tx, &nobody, noon())).unwrap_err().code(),
            "not_found"
        );
    }

    #[test]
    fn counters_are_recomputed_from_follow_ups_in_any_order() {
        let (mut s, id) = setup();
        let t1 = noon() - Duration::minutes(30);
        s.with_tx(|tx| log(tx, &call(Outcome::Connected, noon()), noon()))
            .unwrap();
        // A follow-up from another replica that happened earlier arrives later.
        let remote = FollowUp {
            id: new_id(t1),
            lead_id: id.clone(),
            channel: Channel::Email,
            direction: Direction::Out,
            outcome: Outcome::Sent,
            note: None,
            occurred_at: t1,
            rep: "rep2".into(),
            next_follow_up_at: None,
        };
        assert!(apply_remote(s.conn(), &remote).unwrap());
        assert!(!apply_remote(s.conn(), &remote).unwrap());
        let lead = leads::get(s.conn(), &id).unwrap();
        assert_eq!(lead.attempts, 2);
        assert_eq!(lead.first_contact_at, Some(t1));
        assert_eq!(lead.last_attempt_at, Some(noon()));
        assert_eq!(lead.last_outcome, Some(Outcome::Connected));
        s.conn()
            .execute("UPDATE lead SET attempts = 99", [])
            .unwrap();
        leads::recompute_counters(s.conn(), &id).unwrap();
        assert_eq!(leads::get(s.conn(), &id).unwrap().attempts, 2);
    }

    #[test]
    fn a_contact_fulfils_the_due_date_it_answers() {
        let (mut s, id) = setup();
        let mut first = call(Outcome::NoAnswer, noon() - Duration::hours(1));
        first.next_follow_up_at = Some(noon() - Duration::minutes(10));
        s.with_tx(|tx| log(tx, &first, noon())).unwrap();
        s.with_tx(|tx| log(tx, &call(Outcome::Connected, noon()), noon()))
            .unwrap();
        assert_eq!(leads::get(s.conn(), &id).unwrap().next_follow_up_at, None);
    }
}
