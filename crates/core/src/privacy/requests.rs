//! Subscriber requests: what people ask about their data (opt out, correct, erase, access), due
//! one calendar month after receipt, and the inbox managers work them from.

use crate::clock::{new_id, to_text};
use crate::compliance::consent;
use crate::error::{CoreError, Result};
use crate::people::leads::{self, parse_time};
use crate::privacy::roles;
use crate::store::audit;
use crate::store::outbox::{self, Entity};
use chrono::{DateTime, Months, Utc};
use rusqlite::{params, Connection, OptionalExtension, Row};
use serde::{Deserialize, Serialize};
use switchboard_protocol::{
    ConsentEvent, ConsentScope, LeadStatus, RequestHandled, RequestKind, RequestStatus,
    SubscriberRequest,
};
use ts_rs::TS;

const REQUEST_COLUMNS: &str =
    "id, lead_id, kind, received_at, due_at, status, detail, handled_by, handled_at";

/// When a request received at `received_at` must be answered: one calendar month later, on the
/// last day of the next month when it has no such day (31 January → 28 or 29 February).
pub fn due_date(received_at: DateTime<Utc>) -> DateTime<Utc> {
    received_at
        .checked_add_months(Months::new(1))
        // Only out-of-range dates (year 262143) fail; such a request is due when received.
        .unwrap_or(received_at)
}

/// Which requests the inbox shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct RequestFilter {
    /// Only requests in this status (all statuses when absent).
    pub status: Option<RequestStatus>,
    /// Only open requests whose due date has passed.
    pub overdue_only: bool,
    /// Only this lead's requests.
    pub lead_id: Option<String>,
}

/// A request as the inbox shows it: the request and whether it is past due.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct InboxItem {
    #[serde(flatten)]
    #[ts(flatten)]
    pub request: SubscriberRequest,
    /// Still open after its due date.
    pub overdue: bool,
}

/// An inbox row: the request, who it is about and how far past due it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct InboxEntry {
    #[serde(flatten)]
    #[ts(flatten)]
    pub request: SubscriberRequest,
    /// The person's name, else their email; `None` once they were erased.
    pub person: Option<String>,
    /// Still open after its due date.
    pub overdue: bool,
    /// Whole days past due (0 when not overdue), so the UI can say it in words.
    pub days_overdue: u32,
    /// Why the signed-in role may not close this request, saying who can (`None`: it may).
    pub closing_refusal: Option<String>,
}

fn request_from_row(row: &Row<'_>) -> rusqlite::Result<SubscriberRequest> {
    let kind: String = row.get(2)?;
    let status: String = row.get(5)?;
    let bad = |i: usize, e: switchboard_protocol::UnknownValue| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    };
    Ok(SubscriberRequest {
        id: row.get(0)?,
        lead_id: row.get(1)?,
        kind: kind.parse().map_err(|e| bad(2, e))?,
        received_at: parse_time(row.get(3)?).unwrap_or_default(),
        due_at: parse_time(row.get(4)?).unwrap_or_default(),
        status: status.parse().map_err(|e| bad(5, e))?,
        detail: row.get(6)?,
        handled_by: row.get(7)?,
        handled_at: parse_time(row.get(8)?),
    })
}

/// The request with this id, if it is here.
pub fn find(conn: &Connection, request_id: &str) -> Result<Option<SubscriberRequest>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {REQUEST_COLUMNS} FROM subscriber_request WHERE id = ?1"
        ))?
        .query_row([request_id], request_from_row)
        .optional()?)
}

/// The request with this id.
pub fn get(conn: &Connection, request_id: &str) -> Result<SubscriberRequest> {
    find(conn, request_id)?
        .ok_or_else(|| CoreError::NotFound(format!("no subscriber request with id {request_id}")))
}

/// Records a new open request about a lead, due one month after `received_at`.
pub fn open(
    conn: &Connection,
    lead_id: &str,
    kind: RequestKind,
    detail: Option<&str>,
    received_at: DateTime<Utc>,
    actor: &str,
) -> Result<SubscriberRequest> {
    let lead = leads::get(conn, lead_id)?;
    if lead.status == LeadStatus::Erased {
        return Err(CoreError::Suppressed(format!(
            "lead {lead_id} was erased; no request can be recorded about it"
        )));
    }
    insert(
        conn,
        lead_id,
        kind,
        detail,
        received_at,
        actor,
        RequestStatus::Open,
    )
}

/// Marks an open request done or rejected, recording who handled it and when.
pub fn handle(
    conn: &Connection,
    request_id: &str,
    status: RequestStatus,
    actor: &str,
    at: DateTime<Utc>,
) -> Result<SubscriberRequest> {
    if status == RequestStatus::Open {
        return Err(CoreError::BadInput(
            "a request is handled by marking it done or rejected, not open".into(),
        ));
    }
    let request = get(conn, request_id)?;
    roles::require_carry_out(conn, request.kind)?;
    if request.status != RequestStatus::Open {
        return Err(CoreError::Conflict(format!(
            "request {request_id} was already {} by {} at {}",
            request.status,
            request.handled_by.as_deref().unwrap_or("someone"),
            request.handled_at.map(to_text).unwrap_or_default()
        )));
    }
    close(conn, &request, status, actor, at)
}

/// Records that a request of `kind` about a lead has been carried out: closes the oldest open
/// request of that kind, or records a new one received and done at `at`.
pub fn fulfil(
    conn: &Connection,
    lead_id: &str,
    kind: RequestKind,
    detail: Option<&str>,
    actor: &str,
    at: DateTime<Utc>,
) -> Result<SubscriberRequest> {
    roles::require_carry_out(conn, kind)?;
    let pending = conn
        .prepare_cached(&format!(
            "SELECT {REQUEST_COLUMNS} FROM subscriber_request
             WHERE lead_id = ?1 AND kind = ?2 AND status = 'open'
             ORDER BY received_at, id LIMIT 1"
        ))?
        .query_row(params![lead_id, kind.as_str()], request_from_row)
        .optional()?;
    match pending {
        Some(request) => close(conn, &request, RequestStatus::Done, actor, at),
        None => insert(conn, lead_id, kind, detail, at, actor, RequestStatus::Done),
    }
}

/// An opt-out request carried out: the request, recorded as done, and the consent event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct OptOutDone {
    pub request: SubscriberRequest,
    pub event: ConsentEvent,
}

/// Carries out a person's opt-out of `scope` for a lead named by id or email: the opt-out holds
/// from `at` on, and the request is recorded as done (closing an open one if it was logged).
/// Call inside a transaction (`Store::with_tx`).
pub fn opt_out_request(
    conn: &Connection,
    lead_ref: &str,
    scope: ConsentScope,
    source: &str,
    actor: &str,
    at: DateTime<Utc>,
) -> Result<OptOutDone> {
    let lead = leads::find(conn, lead_ref)?;
    let event = consent::opt_out(conn, &lead.id, scope, source, None, actor, at)?;
    let request = fulfil(
        conn,
        &lead.id,
        RequestKind::OptOut,
        Some(scope.as_str()),
        actor,
        at,
    )?;
    Ok(OptOutDone { request, event })
}

/// The inbox: requests matching `filter`, soonest due first, flagged overdue as of `now`.
pub fn list(
    conn: &Connection,
    filter: &RequestFilter,
    now: DateTime<Utc>,
) -> Result<Vec<InboxItem>> {
    let now_text = to_text(now);
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {REQUEST_COLUMNS} FROM subscriber_request
         WHERE (?1 IS NULL OR status = ?1)
           AND (?2 = 0 OR (status = 'open' AND due_at < ?3))
           AND (?4 IS NULL OR lead_id = ?4)
         ORDER BY due_at, id"
    ))?;
    let rows = stmt.query_map(
        params![
            filter.status.map(|s| s.as_str()),
            filter.overdue_only,
            now_text,
            filter.lead_id
        ],
        request_from_row,
    )?;
    let mut items = Vec::new();
    for row in rows {
        let request = row?;
        let overdue = request.status == RequestStatus::Open && request.due_at < now;
        items.push(InboxItem { request, overdue });
    }
    Ok(items)
}

/// The inbox with the person each request is about: requests matching `filter`, soonest due
/// first, with how many whole days each open one is past due as of `now`.
pub fn inbox(
    conn: &Connection,
    filter: &RequestFilter,
    now: DateTime<Utc>,
) -> Result<Vec<InboxEntry>> {
    let mut person = conn
        .prepare_cached("SELECT coalesce(nullif(trim(name), ''), email) FROM lead WHERE id = ?1")?;
    let role = roles::signed_in_role(conn)?;
    let mut entries = Vec::new();
    for item in list(conn, filter, now)? {
        let who: Option<String> = person
            .query_row([&item.request.lead_id], |r| r.get(0))
            .optional()?
            .flatten();
        let days_overdue = if item.overdue {
            u32::try_from((now - item.request.due_at).num_days()).unwrap_or(u32::MAX)
        } else {
            0
        };
        entries.push(InboxEntry {
            closing_refusal: roles::refusal(role, item.request.kind),
            request: item.request,
            person: who,
            overdue: item.overdue,
            days_overdue,
        });
    }
    Ok(entries)
}

/// Every request about a lead, oldest first.
pub fn for_lead(conn: &Connection, lead_id: &str) -> Result<Vec<SubscriberRequest>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {REQUEST_COLUMNS} FROM subscriber_request WHERE lead_id = ?1
         ORDER BY received_at, id"
    ))?;
    let rows = stmt.query_map([lead_id], request_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

fn insert(
    conn: &Connection,
    lead_id: &str,
    kind: RequestKind,
    detail: Option<&str>,
    received_at: DateTime<Utc>,
    actor: &str,
    status: RequestStatus,
) -> Result<SubscriberRequest> {
    let done = status != RequestStatus::Open;
    let request = SubscriberRequest {
        id: new_id(received_at),
        lead_id: lead_id.to_string(),
        kind,
        received_at,
        due_at: due_date(received_at),
        status,
        detail: detail.map(str::to_string),
        handled_by: done.then(|| actor.to_string()),
        handled_at: done.then_some(received_at),
    };
    insert_row(conn, &request, false)?;
    // The audit names the request, never its detail: the detail may hold personal information.
    audit::record(
        conn,
        actor,
        received_at,
        audit::Change {
            lead_id: Some(lead_id),
            action: "request_opened",
            field: Some(kind.as_str()),
            old_value: None,
            new_value: Some(status.as_str()),
        },
    )?;
    outbox::enqueue(conn, Entity::SubscriberRequest, &request.id, Some("opened"))?;
    Ok(request)
}

fn close(
    conn: &Connection,
    request: &SubscriberRequest,
    status: RequestStatus,
    actor: &str,
    at: DateTime<Utc>,
) -> Result<SubscriberRequest> {
    conn.prepare_cached(
        "UPDATE subscriber_request SET status = ?1, handled_by = ?2, handled_at = ?3
         WHERE id = ?4",
    )?
    .execute(params![status.as_str(), actor, to_text(at), request.id])?;
    audit::record(
        conn,
        actor,
        at,
        audit::Change {
            lead_id: Some(&request.lead_id),
            action: "request_handled",
            field: Some(request.kind.as_str()),
            old_value: Some(request.status.as_str()),
            new_value: Some(status.as_str()),
        },
    )?;
    outbox::enqueue(
        conn,
        Entity::SubscriberRequest,
        &request.id,
        Some("handled"),
    )?;
    Ok(SubscriberRequest {
        status,
        handled_by: Some(actor.to_string()),
        handled_at: Some(at),
        ..request.clone()
    })
}

/// Inserts the request unless it is there; `redact` leaves the detail out (the person was
/// erased). Returns whether it was new.
fn insert_row(conn: &Connection, r: &SubscriberRequest, redact: bool) -> Result<bool> {
    let detail = if redact { None } else { r.detail.as_deref() };
    Ok(conn
        .prepare_cached(
            "INSERT INTO subscriber_request(id, lead_id, kind, received_at, due_at, status, detail,
                    handled_by, handled_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
             ON CONFLICT(id) DO NOTHING",
        )?
        .execute(params![
            r.id,
            r.lead_id,
            r.kind.as_str(),
            to_text(r.received_at),
            to_text(r.due_at),
            r.status.as_str(),
            detail,
            r.handled_by,
            r.handled_at.map(to_text),
        ])?
        > 0)
}

/// Stores a request opened elsewhere (sync pull); not queued for push. Its detail is left out if
/// the person was erased here. Returns whether it was new.
pub fn apply_remote(conn: &Connection, r: &SubscriberRequest) -> Result<bool> {
    insert_row(conn, r, leads::is_erased(conn, &r.lead_id)?)
}

/// Applies the handling of a request recorded elsewhere (sync pull). Handling closes an open
/// request once; a request already closed keeps its first answer. Returns whether it changed.
pub fn apply_remote_handled(conn: &Connection, h: &RequestHandled) -> Result<bool> {
    let detail = if leads::is_erased(conn, &h.lead_id)? {
        None
    } else {
        h.detail.as_deref()
    };
    Ok(conn
        .prepare_cached(
            "UPDATE subscriber_request
             SET status = ?2, handled_by = ?3, handled_at = ?4, detail = coalesce(?5, detail)
             WHERE id = ?1 AND status = 'open'",
        )?
        .execute(params![
            h.id,
            h.status.as_str(),
            h.handled_by,
            to_text(h.handled_at),
            detail
        ])?
        > 0)
}

/// Closes the open erasure requests about a lead erased elsewhere (sync pull) as done, by whoever
/// erased the person and when: the erasure carried them out, whichever replica recorded them.
/// Not queued for push: the erasing replica sent its own answer. Returns how many it closed.
pub fn close_erased_elsewhere(
    conn: &Connection,
    lead_id: &str,
    by: &str,
    at: DateTime<Utc>,
) -> Result<usize> {
    Ok(conn
        .prepare_cached(
            "UPDATE subscriber_request SET status = ?2, handled_by = ?3, handled_at = ?4
             WHERE lead_id = ?1 AND kind = ?5 AND status = 'open'",
        )?
        .execute(params![
            lead_id,
            RequestStatus::Done.as_str(),
            by,
            to_text(at),
            RequestKind::Erase.as_str()
        ])?)
}

/// Removes the detail of an erased person's requests. Returns how many held one.
pub fn purge_details(conn: &Connection, lead_id: &str) -> Result<usize> {
    Ok(conn
        .prepare_cached(
            "UPDATE subscriber_request SET detail = NULL WHERE lead_id = ?1 AND detail IS NOT NULL",
        )?
        .execute([lead_id])?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{lead, memory_store, person, EMAIL};

    use chrono::{Duration, TimeZone};
    use switchboard_protocol::Channel;

    fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 10, 30, 0).unwrap()
    }

    fn count(conn: &Connection, sql: &str) -> i64 {
        conn.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    #[test]
    fn a_request_is_due_one_calendar_month_after_receipt() {
        assert_eq!(due_date(at(2026, 1, 31)), at(2026, 2, 28));
        assert_eq!(due_date(at(2028, 1, 31)), at(2028, 2, 29), "leap year");
        assert_eq!(due_date(at(2026, 3, 31)), at(2026, 4, 30));
        assert_eq!(due_date(at(2026, 3, 15)), at(2026, 4, 15));
        assert_eq!(due_date(at(2026, 12, 20)), at(2027, 1, 20));
    }

    #[test]
    fn the_inbox_lists_by_due_date_flags_overdue_and_records_who_handled_what() {
        let (mut store, _clock) = memory_store();
        let ann = lead(&mut store, "Ann Example", "ann@example.com", None);
        let bob = lead(&mut store, "Bob Example", "bob@example.com", None);
        let (access, correct) = store
            .with_tx(|tx| {
                let access = open(tx, &ann, RequestKind::Access, None, at(2026, 3, 1), "mgr")?;
                let correct = open(
                    tx,
                    &bob,
                    RequestKind::Correct,
                    Some("new surname"),
                    at(2026, 1, 31),
                    "mgr",
                )?;
                Ok((access, correct))
            })
            .unwrap();
        assert_eq!(correct.due_at, at(2026, 2, 28));
        assert_eq!(correct.status, RequestStatus::Open);

        let now = at(2026, 3, 10);
        let inbox = list(store.conn(), &RequestFilter::default(), now).unwrap();
        let ids: Vec<&str> = inbox.iter().map(|i| i.request.id.as_str()).collect();
        assert_eq!(
            ids,
            [correct.id.as_str(), access.id.as_str()],
            "soonest due first"
        );
        assert!(inbox[0].overdue && !inbox[1].overdue);
        let overdue = RequestFilter {
            overdue_only: true,
            ..RequestFilter::default()
        };
        assert_eq!(list(store.conn(), &overdue, now).unwrap().len(), 1);
        let json = serde_json::to_value(&inbox[0]).unwrap();
        assert_eq!(json["overdue"], true);
        assert_eq!(
            json["kind"], "correct",
            "the request's fields sit beside the flag"
        );

        let handled_at = at(2026, 3, 11);
        let done = store
            .with_tx(|tx| handle(tx, &correct.id, RequestStatus::Done, "mgr2", handled_at))
            .unwrap();
        assert_eq!(done.handled_by.as_deref(), Some("mgr2"));
        let stored = get(store.conn(), &correct.id).unwrap();
        assert_eq!(stored.status, RequestStatus::Done);
        assert_eq!(stored.handled_at, Some(handled_at));
        assert!(list(store.conn(), &overdue, now).unwrap().is_empty());
        let open_only = RequestFilter {
            status: Some(RequestStatus::Open),
            ..RequestFilter::default()
        };
        assert_eq!(list(store.conn(), &open_only, now).unwrap().len(), 1);

        let again = store
            .with_tx(|tx| handle(tx, &correct.id, RequestStatus::Rejected, "mgr", handled_at))
            .unwrap_err();
        assert_eq!(again.code(), "conflict");
        assert!(again.to_string().contains("mgr2"), "{again}");
        let reopen = store
            .with_tx(|tx| handle(tx, &access.id, RequestStatus::Open, "mgr", handled_at))
            .unwrap_err();
        assert_eq!(reopen.code(), "bad_input");
        let missing = store
            .with_tx(|tx| handle(tx, "nope", RequestStatus::Done, "mgr", handled_at))
            .unwrap_err();
        assert_eq!(missing.code(), "not_found");

        let conn = store.conn();
        assert_eq!(
            count(
                conn,
                "SELECT count(*) FROM outbox WHERE entity = 'subscriber_request'"
            ),
            3,
            "two opened, one handled"
        );
        assert_eq!(
            count(
                conn,
                "SELECT count(*) FROM audit WHERE action = 'request_handled' AND actor = 'mgr2'"
            ),
            1
        );
        assert_eq!(
            count(
                conn,
                "SELECT count(*) FROM audit WHERE new_value LIKE '%surname%'"
            ),
            0,
            "the audit never copies a request's detail"
        );
    }

    #[test]
    fn the_inbox_names_the_person_and_counts_whole_days_overdue() {
        let (mut store, _clock) = memory_store();
        let ann = lead(&mut store, "Ann Example", "ann@example.com", None);
        let bob = lead(&mut store, "", "bob@example.com", None);
        store
            .with_tx(|tx| {
                open(tx, &ann, RequestKind::Erase, None, at(2026, 1, 5), "mgr")?;
                open(tx, &bob, RequestKind::Access, None, at(2026, 2, 20), "mgr")
            })
            .unwrap();
        // Ann's request fell due on 5 February at 10:30; Bob's falls due on 20 March.
        let now = at(2026, 2, 8) + Duration::hours(1);
        let rows = inbox(store.conn(), &RequestFilter::default(), now).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].person.as_deref(), Some("Ann Example"));
        assert!(rows[0].overdue);
        assert_eq!(rows[0].days_overdue, 3);
        assert_eq!(
            rows[1].person.as_deref(),
            Some("bob@example.com"),
            "no name: the email"
        );
        assert!(!rows[1].overdue);
        assert_eq!(rows[1].days_overdue, 0);

        crate::privacy::erase::erase(&mut store, &ann, "mgr").unwrap();
        let rows = inbox(store.conn(), &RequestFilter::default(), now).unwrap();
        let ann_row = rows.iter().find(|r| r.request.lead_id == ann).unwrap();
        assert_eq!(
            ann_row.person, None,
            "an erased person has no name left to show"
        );
        assert_eq!(
            ann_row.request.status,
            RequestStatus::Done,
            "erasing fulfilled it"
        );
    }

    #[test]
    fn carrying_out_a_request_closes_the_open_one_instead_of_adding_another() {
        let (mut store, _clock) = memory_store();
        let ann = lead(&mut store, "Ann Example", "ann@example.com", None);
        let opened = store
            .with_tx(|tx| open(tx, &ann, RequestKind::Erase, None, at(2026, 1, 5), "mgr"))
            .unwrap();
        let done = store
            .with_tx(|tx| fulfil(tx, &ann, RequestKind::Erase, None, "mgr", at(2026, 1, 6)))
            .unwrap();
        assert_eq!(done.id, opened.id);
        assert_eq!(done.status, RequestStatus::Done);
        let fresh = store
            .with_tx(|tx| fulfil(tx, &ann, RequestKind::Access, None, "mgr", at(2026, 1, 7)))
            .unwrap();
        assert_eq!(fresh.received_at, at(2026, 1, 7));
        assert_eq!(fresh.handled_at, Some(at(2026, 1, 7)));
        assert_eq!(for_lead(store.conn(), &ann).unwrap().len(), 2);
    }

    #[test]
    fn an_opt_out_request_takes_effect_at_once_and_is_on_file_as_done() {
        let (mut store, clock) = memory_store();
        let id = person(&mut store);
        clock.advance(Duration::hours(1));
        let now = store.now();
        let done = store
            .with_tx(|tx| {
                opt_out_request(
                    tx,
                    &EMAIL.to_uppercase(),
                    ConsentScope::Phone,
                    "phone call",
                    "rep1",
                    now,
                )
            })
            .unwrap();
        assert_eq!(done.request.kind, RequestKind::OptOut);
        assert_eq!(done.request.status, RequestStatus::Done);
        assert_eq!(done.request.detail.as_deref(), Some("phone"));
        assert_eq!(done.event.lead_id, id);
        let state = consent::state(store.conn(), &id).unwrap();
        assert!(state.is_opted_out(Channel::Phone));
        assert!(!state.is_opted_out(Channel::Email));
        let unknown = store
            .with_tx(|tx| {
                opt_out_request(
                    tx,
                    "nobody@example.com",
                    ConsentScope::All,
                    "x",
                    "rep1",
                    now,
                )
            })
            .unwrap_err();
        assert_eq!(unknown.code(), "not_found");
    }

    #[test]
    fn no_request_is_opened_about_an_erased_person() {
        let (mut store, _clock) = memory_store();
        let id = person(&mut store);
        crate::privacy::erase::erase(&mut store, &id, "mgr").unwrap();
        let err = store
            .with_tx(|tx| open(tx, &id, RequestKind::Access, None, at(2026, 2, 1), "mgr"))
            .unwrap_err();
        assert_eq!(err.code(), "suppressed");
    }
}
