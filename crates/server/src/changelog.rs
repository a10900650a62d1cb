//! The change log replicas pull: operations in commit order, bucketed by office.
//!
//! A change about a person is stored sealed under that person's key (`crate::sealing`) and
//! opened when a page is served, so erasing the key leaves nothing readable in old log rows;
//! erasures themselves (PII-free) and changes about no one stay plain JSON.
//!
//! Protocol 4: a change that is exactly an operation a replica pushed records that replica and
//! the operation's sequence (`origin`, `origin_seq`), and that replica's pull skips it (it holds
//! the change already). Whatever the server emits differently from what was pushed (a clamped
//! clock, stripped personal data, a merged enrolment, an erasure's own changes) has no origin
//! and reaches every replica, the pushing one included.

use crate::accounts::Actor;
use crate::delivery_cache::{Delivered, DeliveryCache, Use as CacheUse};
use crate::error::{Result, ServerError};
use crate::leads::{LeadRow, ZERO_CLOCK};
use crate::privacy_view;
use crate::sealing::{self, Opener};
use crate::store::{col_int, col_text, PageRead, Rows, Tx, Val};
use std::cell::RefCell;
use std::sync::Arc;
use switchboard_protocol::*;

/// The pushed operation being applied on this thread: its replica, sequence and JSON.
struct Pushed {
    replica: String,
    seq: i64,
    json: String,
}

thread_local! {
    // Carried beside the transaction rather than through the dozen emitters one operation can
    // reach: only `emit` reads it, and only to compare what it writes with what was pushed.
    static PUSHED: RefCell<Option<Pushed>> = const { RefCell::new(None) };
}

/// Runs `apply` (applying `op`, pushed by `replica` under `seq`) so that a change it emits
/// which is that very operation records its origin. Nested calls are not expected; the scope
/// ends when `apply` returns or unwinds.
pub fn as_pushed<T>(replica: &str, seq: i64, op: &Op, apply: impl FnOnce() -> T) -> T {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            PUSHED.with(|p| p.borrow_mut().take());
        }
    }
    let json = serde_json::to_string(op).ok();
    PUSHED.with(|p| {
        *p.borrow_mut() = json.map(|json| Pushed {
            replica: replica.to_string(),
            seq,
            json,
        })
    });
    let _reset = Reset;
    apply()
}

/// The origin of a change whose JSON is `json`: the pushing replica and sequence when it is
/// the pushed operation unchanged.
fn origin_of(json: &str) -> (Option<String>, Option<i64>) {
    PUSHED.with(|p| match &*p.borrow() {
        Some(pushed) if pushed.json == json => (Some(pushed.replica.clone()), Some(pushed.seq)),
        _ => (None, None),
    })
}

/// Which changes a pull leaves out: those `replica` pushed with a sequence up to `through`
/// (the highest sequence the replica's file can have pushed, so a backup restored with its
/// identity still receives what it pushed after the backup was taken).
#[derive(Debug, Clone, Copy)]
pub struct Own<'a> {
    pub replica: &'a str,
    pub through: i64,
}

/// Bucket every replica pulls (erasures, so every suppression list learns the hashes).
pub const GLOBAL: &str = "*";

/// Bucket of leads without an office: only admins pull it.
pub const UNASSIGNED: &str = "";

/// Start of the bucket holding, for one account, copies of the changes an office had when it
/// was added to the account (`copy_added_office`): a replica synced before the office was added
/// has its cursor past them. Longer than any office code (1 to 32 characters), so no office can
/// share it.
const ADDED_OFFICE_PREFIX: &str = "#changes-of-an-office-added-to-account:";

/// The bucket of copies of the offices added to `user` (`copy_added_office`).
pub fn added_office_bucket(user: &str) -> String {
    format!("{ADDED_OFFICE_PREFIX}{user}")
}

/// Copies every change `office`'s bucket holds after `after` into `user`'s added-office
/// bucket, so the user's replicas, whatever their cursor, pull the office's leads, cadences and
/// rules whole at their next pull. Copies of a lead that later leaves the user's offices are not
/// served (`page_rows` checks the lead's office), and erasure deletes them with every other
/// change of the person. Returns the sequence of the last change copied (`after` if none).
pub fn copy_added_office(tx: &mut dyn Tx, office: &str, user: &str, after: i64) -> Result<i64> {
    let bucket = added_office_bucket(user);
    let rows = tx.query(
        "SELECT op, lead_id, server_seq FROM change_log WHERE bucket = ?1 AND server_seq > ?2 \
         ORDER BY server_seq",
        &[office.into(), after.into()],
    )?;
    let mut last = after;
    for row in &rows {
        let op = col_text(row, 0).unwrap_or_default();
        tx.log_change(&bucket, col_text(row, 1).as_deref(), op, None)?;
        last = col_int(row, 2).unwrap_or(last);
    }
    Ok(last)
}

/// Drops `user`'s added-office bucket (the user left an office: their devices are revoked and
/// a new sign-in pulls its offices' own buckets from the start).
pub fn drop_added_offices(tx: &mut dyn Tx, user: &str) -> Result<()> {
    tx.exec(
        "DELETE FROM change_log WHERE bucket = ?1",
        &[added_office_bucket(user).into()],
    )?;
    Ok(())
}

/// The bucket of a lead in `office`.
pub fn bucket_of(office: Option<&str>) -> &str {
    office.unwrap_or(UNASSIGNED)
}

/// Appends `op` to `bucket` (numbered in commit order by the store, `Tx::log_change`).
pub fn emit(tx: &mut dyn Tx, bucket: &str, op: &Op) -> Result<()> {
    let json = serde_json::to_string(op)?;
    let (origin, origin_seq) = origin_of(&json);
    let json = match op {
        Op::LeadErased(_) => json,
        _ => sealing::seal_body(tx, op.lead_id(), json)?,
    };
    tx.log_change(bucket, op.lead_id(), json, origin.zip(origin_seq))
}

/// The changes after `after` that `actor` may see, at most `limit`.
pub fn page(tx: &mut dyn Tx, actor: &Actor, after: i64, limit: u32) -> Result<ChangesPage> {
    page_for(tx, actor, None, after, limit)
}

/// As `page`, leaving out the caller's own changes (`own`).
pub fn page_for(
    tx: &mut dyn Tx,
    actor: &Actor,
    own: Option<Own>,
    after: i64,
    limit: u32,
) -> Result<ChangesPage> {
    let own = own_of(tx, actor, own)?;
    let (rows, has_more) = page_rows(tx, actor, after, limit)?;
    // A move between offices never takes a lead out of sight of those who see every bucket:
    // its revocation would only purge what the move's copy and the replica's own later changes
    // (left out of an own-change pull) restore, so they skip it.
    let sees_every_office = actor.role == Role::PrivacyOfficer || actor.is_admin();
    let mut changes = Vec::with_capacity(rows.len());
    let mut opener = Opener::default();
    let mut next_cursor = after;
    for row in 0..rows.len() {
        let (server_seq, lead_id, stored) = change_parts(&rows, row)?;
        next_cursor = server_seq;
        if is_own(&rows, row, own) {
            continue;
        }
        let Some(op) = opener.open_joined(tx.keyring(), lead_id, stored, key_row(&rows, row))?
        else {
            continue;
        };
        if sees_every_office && privacy_view::is_revocation(&op) {
            continue;
        }
        let op: Op = serde_json::from_str(&op)?;
        changes.push(Change { server_seq, op });
    }
    let head_cursor = if has_more { head(tx, actor)? } else { None };
    Ok(ChangesPage {
        changes,
        next_cursor,
        has_more,
        role: Some(actor.role),
        head_cursor,
    })
}

/// A page as `page_json_for` writes it.
pub struct PageJson {
    /// The JSON text of a `ChangesPage`.
    pub body: String,
    /// How many changes it holds.
    pub count: usize,
    /// Its `next_cursor` (past the changes left out, too).
    pub next_cursor: i64,
}

/// A page as `page` builds it, already as the JSON text of a `ChangesPage`, and how many
/// changes it holds.
pub fn page_json(
    tx: &mut dyn Tx,
    actor: &Actor,
    after: i64,
    limit: u32,
) -> Result<(String, usize)> {
    let page = page_json_for(tx, actor, None, after, limit)?;
    Ok((page.body, page.count))
}

/// A page as `page_for` builds it, written as JSON (`page_parts_for` without a cache).
pub fn page_json_for(
    tx: &mut dyn Tx,
    actor: &Actor,
    own: Option<Own>,
    after: i64,
    limit: u32,
) -> Result<PageJson> {
    let parts = page_parts_for(tx, actor, own, after, limit, None)?;
    Ok(PageJson {
        body: parts.json(),
        count: parts.changes.len(),
        next_cursor: parts.next_cursor,
    })
}

/// A page of opened changes, ready to be written in any body format: the changes are shared
/// with the delivery cache, the rest is the actor's own.
pub struct PageParts {
    /// The page's changes with their sequence numbers, in order.
    pub changes: Vec<(i64, Arc<Delivered>)>,
    /// Past the changes left out, too.
    pub next_cursor: i64,
    pub has_more: bool,
    pub role: Role,
    pub head_cursor: Option<i64>,
}

impl PageParts {
    /// The JSON text of the `ChangesPage`. Each operation is copied as it is stored, or as it
    /// opens (the log holds the JSON that `serde_json` wrote for it, sealed when it is about a
    /// person), instead of being parsed and written again.
    pub fn json(&self) -> String {
        let mut body = String::with_capacity(
            96 + self
                .changes
                .iter()
                .map(|(_, c)| 40 + c.json.len())
                .sum::<usize>(),
        );
        body.push_str("{\"changes\":[");
        for (i, (server_seq, change)) in self.changes.iter().enumerate() {
            if i > 0 {
                body.push(',');
            }
            body.push_str("{\"server_seq\":");
            body.push_str(&server_seq.to_string());
            body.push_str(",\"op\":");
            body.push_str(&change.json);
            body.push('}');
        }
        body.push_str("],\"next_cursor\":");
        body.push_str(&self.next_cursor.to_string());
        body.push_str(",\"has_more\":");
        body.push_str(if self.has_more { "true" } else { "false" });
        body.push_str(",\"role\":\"");
        body.push_str(self.role.as_str());
        body.push('"');
        if let Some(head) = self.head_cursor {
            body.push_str(",\"head_cursor\":");
            body.push_str(&head.to_string());
        }
        body.push('}');
        body
    }

    /// The page in protocol 5's packed MessagePack (uncompressed), assembled from each
    /// change's packed fragment: the same tree `packed::pack` writes for the JSON of `json`.
    pub fn packed(&self) -> Vec<u8> {
        use rmp::encode::{write_array_len, write_bool, write_map_len, write_sint, write_str};
        let mut out = Vec::with_capacity(
            64 + self
                .changes
                .iter()
                .map(|(_, c)| 24 + c.packed().len())
                .sum::<usize>(),
        );
        // Writing into a Vec cannot fail. Keys in the order `serde_json::Map` keeps them
        // (sorted), as `packed::pack` of the parsed JSON would write them.
        let int = |out: &mut Vec<u8>, n: i64| {
            if n >= 0 {
                rmp::encode::write_uint(out, n as u64).map(drop)
            } else {
                write_sint(out, n).map(drop)
            }
            .expect("vec")
        };
        let fields = 4 + usize::from(self.head_cursor.is_some());
        write_map_len(&mut out, fields as u32).expect("vec");
        write_str(&mut out, "changes").expect("vec");
        write_array_len(&mut out, self.changes.len() as u32).expect("vec");
        for (server_seq, change) in &self.changes {
            write_map_len(&mut out, 2).expect("vec");
            write_str(&mut out, "op").expect("vec");
            out.extend_from_slice(change.packed());
            write_str(&mut out, "server_seq").expect("vec");
            int(&mut out, *server_seq);
        }
        write_str(&mut out, "has_more").expect("vec");
        write_bool(&mut out, self.has_more).expect("vec");
        if let Some(head) = self.head_cursor {
            write_str(&mut out, "head_cursor").expect("vec");
            int(&mut out, head);
        }
        write_str(&mut out, "next_cursor").expect("vec");
        int(&mut out, self.next_cursor);
        write_str(&mut out, "role").expect("vec");
        write_str(&mut out, self.role.as_str()).expect("vec");
        out
    }
}

/// The changes after `after` that `actor` may see, at most `limit`, leaving out the caller's
/// own (`own`), opened. With `cache`, a change another pull on this instance opened already is
/// taken from it instead of being opened again, and the changes opened here are added to it
/// (`crate::delivery_cache`: only the rows this page's query returned are looked up, at the
/// erasure generation the same query read).
pub fn page_parts_for(
    tx: &mut dyn Tx,
    actor: &Actor,
    own: Option<Own>,
    after: i64,
    limit: u32,
    cache: Option<&DeliveryCache>,
) -> Result<PageParts> {
    let own = own_of(tx, actor, own)?;
    let (rows, has_more) = page_rows(tx, actor, after, limit)?;
    // Every row carries the generation (one scalar subquery of the same statement, so the
    // same snapshot as the rows).
    let generation = rows.int(0, 7).unwrap_or(0);
    let (held, cache) = match cache {
        Some(cache) if !rows.is_empty() => {
            let parts = (0..rows.len())
                .map(|row| change_parts(&rows, row))
                .collect::<Result<Vec<_>>>()?;
            let (held, use_) = cache.look_up(
                generation,
                parts.iter().map(|(seq, _, stored)| (*seq, *stored)),
            );
            (held, (use_ == CacheUse::Serve).then_some(cache))
        }
        _ => (Vec::new(), None),
    };
    // A move between offices never takes a lead out of sight of those who see every bucket:
    // its revocation would only purge what the move's copy and the replica's own later changes
    // (left out of an own-change pull) restore, so they skip it.
    let sees_every_office = actor.role == Role::PrivacyOfficer || actor.is_admin();
    let mut changes = Vec::with_capacity(rows.len());
    let mut opened = Vec::new();
    let mut opener = Opener::default();
    let mut next_cursor = after;
    for i in 0..rows.len() {
        let (server_seq, lead_id, stored) = change_parts(&rows, i)?;
        next_cursor = server_seq;
        if is_own(&rows, i, own) {
            continue;
        }
        let key = key_row(&rows, i);
        // A held change is served only while its person's key is still there, as opening it
        // would need (erasure deletes the rows with the key; this is only a guard).
        let keyed = lead_id.is_none() || !sealing::is_sealed(stored) || key.1.is_some();
        let change = match held.get(i).cloned().flatten().filter(|_| keyed) {
            Some(change) => change,
            None => {
                // A change whose key is gone is about an erased person (erasure deletes those
                // rows in the same transaction, so this is only a guard).
                let Some(op) = opener.open_joined(tx.keyring(), lead_id, stored, key)? else {
                    continue;
                };
                let change = Arc::new(Delivered::new(op));
                if cache.is_some() {
                    opened.push((server_seq, stored, change.clone()));
                }
                change
            }
        };
        if sees_every_office && change.revocation {
            continue;
        }
        changes.push((server_seq, change));
    }
    if let Some(cache) = cache {
        cache.fill(generation, opened);
    }
    let head_cursor = if has_more { head(tx, actor)? } else { None };
    Ok(PageParts {
        changes,
        next_cursor,
        has_more,
        role: actor.role,
        head_cursor,
    })
}

/// `own` when its replica last pushed as `actor`, else nothing: a pull may leave out only the
/// changes of a replica its own account pushes from, so naming someone else's replica (their
/// ids travel in enrolments) tells nothing about which changes came from it.
fn own_of<'a>(tx: &mut dyn Tx, actor: &Actor, own: Option<Own<'a>>) -> Result<Option<Own<'a>>> {
    let Some(own) = own else { return Ok(None) };
    let pushed_as = tx.query_opt(
        "SELECT user_name FROM replica_seen WHERE replica_id = ?1",
        &[own.replica.into()],
    )?;
    let mine = pushed_as.and_then(|r| col_text(&r, 0)).as_deref() == Some(actor.user.as_str());
    Ok(mine.then_some(own))
}

/// Whether a change row is one `own`'s replica pushed (its `origin` and `origin_seq`).
fn is_own(rows: &Rows, row: usize, own: Option<Own>) -> bool {
    let Some(own) = own else { return false };
    matches!(
        (rows.text(row, 5), rows.exact_int(row, 6)),
        (Some(origin), Some(seq)) if origin == own.replica && seq <= own.through
    )
}

/// The newest change `actor` may see: a replica's first sync measures its progress against it.
/// Each bucket's newest is one step down `change_by_bucket`; admins and privacy officers, who
/// read across buckets, get the log's newest.
fn head(tx: &mut dyn Tx, actor: &Actor) -> Result<Option<i64>> {
    let across = actor.is_admin() || actor.role == Role::PrivacyOfficer;
    let row = if across {
        tx.query_opt("SELECT MAX(server_seq) FROM change_log", &[])?
    } else {
        // One indexed step per bucket: the global one and each of the actor's offices.
        let mut buckets = buckets_of(actor);
        buckets.extend(added_bucket_of(actor));
        let heads: Vec<String> = (1..=buckets.len())
            .map(|i| format!("SELECT MAX(server_seq) AS h FROM change_log WHERE bucket = ?{i}"))
            .collect();
        let sql = format!(
            "SELECT MAX(h) FROM ({}) AS heads",
            heads.join(" UNION ALL ")
        );
        let params: Vec<Val> = buckets.iter().map(|b| b.as_str().into()).collect();
        tx.query_opt(&sql, &params)?
    };
    Ok(row.as_ref().and_then(|r| col_int(r, 0)))
}

/// The buckets a non-admin pulls: the global one, then each office the actor works in (a
/// manager may manage several; a role without an office pulls the global bucket only).
fn buckets_of(actor: &Actor) -> Vec<String> {
    let mut buckets = vec![GLOBAL.to_string()];
    buckets.extend(actor.offices.iter().filter(|o| *o != GLOBAL).cloned());
    buckets
}

/// The added-office bucket a manager pulls (`copy_added_office`); other roles have none.
fn added_bucket_of(actor: &Actor) -> Option<String> {
    (actor.role == Role::Manager && !actor.offices.is_empty())
        .then(|| added_office_bucket(&actor.user))
}

/// The sequence number, lead and stored (JSON or sealed) operation of one change row.
fn change_parts(rows: &Rows, row: usize) -> Result<(i64, Option<&str>, &str)> {
    let bad = || ServerError::Internal("bad change row".into());
    let server_seq = rows.int(row, 0).ok_or_else(bad)?;
    let stored = rows.text(row, 1).ok_or_else(bad)?;
    Ok((server_seq, rows.text(row, 2), stored))
}

/// The person key row read alongside a change (`master_id`, `wrapped`).
fn key_row(rows: &Rows, row: usize) -> (Option<&str>, Option<&str>) {
    (rows.text(row, 3), rows.text(row, 4))
}

/// Up to `limit` change rows after `after` visible to `actor` (one indexed range read), each
/// with its person's wrapped key and its origin (so opening a page costs no query per person), and whether
/// more follow.
fn page_rows(tx: &mut dyn Tx, actor: &Actor, after: i64, limit: u32) -> Result<(Rows, bool)> {
    let limit = limit.clamp(1, MAX_PAGE) as i64;
    let mut rows = if actor.role == Role::PrivacyOfficer {
        // People with a request, in any bucket, and the global bucket (`privacy_view`).
        tx.query_rows(
            "SELECT c.server_seq, c.op, c.lead_id, k.master_id, k.wrapped, c.origin, c.origin_seq, \
             (SELECT value FROM meta WHERE key = 'erasure_generation') AS generation \
             FROM change_log c \
             LEFT JOIN person_key k ON k.lead_id = c.lead_id WHERE c.server_seq > ?1 \
             AND (c.bucket = '*' OR c.lead_id IN \
               (SELECT lead_id FROM record WHERE kind = 'subscriber_request')) \
             ORDER BY c.server_seq LIMIT ?2",
            &[after.into(), (limit + 1).into()],
        )?
    } else if actor.is_admin() {
        tx.query_rows(
            "SELECT c.server_seq, c.op, c.lead_id, k.master_id, k.wrapped, c.origin, c.origin_seq, \
             (SELECT value FROM meta WHERE key = 'erasure_generation') AS generation \
             FROM change_log c \
             LEFT JOIN person_key k ON k.lead_id = c.lead_id WHERE c.server_seq > ?1 \
             ORDER BY c.server_seq LIMIT ?2",
            &[after.into(), (limit + 1).into()],
        )?
    } else {
        // Each bucket (the global one and each of the actor's offices) is read as its own range
        // of `change_by_bucket`, already in sequence order and cut at the page size, and the
        // short lists are merged. A single `bucket IN (…)` lets SQLite pick that index and
        // then sort every change after the cursor for each page, which makes a first sync
        // quadratic.
        let buckets = buckets_of(actor);
        // The store says which of the two plans is its faster (`store::PageRead`). Either way
        // the rows are put in order below whatever the plan.
        let sequences_first = tx.page_read() == PageRead::SequencesThenRows;
        let carried = if sequences_first {
            "server_seq"
        } else {
            "server_seq, op, lead_id, origin, origin_seq"
        };
        let mut ranges: Vec<String> = (0..buckets.len())
            .map(|i| {
                format!(
                    "SELECT {carried} FROM ( \
                       SELECT {carried} FROM change_log \
                       WHERE bucket = ?{} AND server_seq > ?1 ORDER BY server_seq LIMIT ?2 \
                     ) AS bucket_{i}",
                    i + 3
                )
            })
            .collect();
        // Copies of offices added to the account, of leads still in one of its offices.
        let added = buckets.len() + 3;
        let added_bucket = added_bucket_of(actor);
        if added_bucket.is_some() {
            let offices: Vec<String> = (4..added).map(|i| format!("?{i}")).collect();
            ranges.push(format!(
                "SELECT {carried} FROM ( \
                   SELECT {carried} FROM change_log c \
                   WHERE bucket = ?{added} AND server_seq > ?1 AND (c.lead_id IS NULL OR \
                     EXISTS (SELECT 1 FROM lead l WHERE l.id = c.lead_id AND l.office IN ({}))) \
                   ORDER BY server_seq LIMIT ?2 \
                 ) AS added_offices",
                offices.join(", ")
            ));
        }
        let merged = format!(
            "( {} ORDER BY server_seq LIMIT ?2 ) AS p",
            ranges.join(" UNION ALL ")
        );
        let generation = "(SELECT value FROM meta WHERE key = 'erasure_generation') AS generation";
        let sql = if sequences_first {
            format!(
                "SELECT c.server_seq, c.op, c.lead_id, k.master_id, k.wrapped, c.origin, \
                 c.origin_seq, {generation} FROM {merged} \
                 JOIN change_log c ON c.server_seq = p.server_seq \
                 LEFT JOIN person_key k ON k.lead_id = c.lead_id"
            )
        } else {
            format!(
                "SELECT p.server_seq, p.op, p.lead_id, k.master_id, k.wrapped, p.origin, \
                 p.origin_seq, {generation} FROM {merged} \
                 LEFT JOIN person_key k ON k.lead_id = p.lead_id ORDER BY p.server_seq"
            )
        };
        let mut params: Vec<Val> = vec![after.into(), (limit + 1).into()];
        params.extend(buckets.iter().map(|b| Val::from(b.as_str())));
        params.extend(added_bucket.map(Val::from));
        let mut rows = tx.query_rows(&sql, &params)?;
        rows.sort_by_int(0);
        rows
    };
    let has_more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    Ok((rows, has_more))
}

/// The operation that recreates a stored record.
pub fn record_op(kind: &str, body: &str) -> Result<Op> {
    Ok(match kind {
        "registration" => Op::RegistrationAdded(serde_json::from_str(body)?),
        "follow_up" => Op::FollowUpLogged(serde_json::from_str(body)?),
        "consent_event" => Op::ConsentRecorded(serde_json::from_str(body)?),
        "subscriber_request" => Op::RequestOpened(serde_json::from_str(body)?),
        "audit" => Op::AuditRecorded(serde_json::from_str(body)?),
        "disclosure" => Op::DisclosureRecorded(serde_json::from_str(body)?),
        "partner" => Op::PartnerRegistered(serde_json::from_str(body)?),
        "cadence_enrollment" => Op::EnrollmentSynced(serde_json::from_str(body)?),
        other => {
            return Err(ServerError::Internal(format!(
                "unknown record kind {other}"
            )))
        }
    })
}

/// Appends a lead's whole state (field groups, then records) to `bucket`: what a replica of an
/// office needs when a lead moves in.
pub fn emit_snapshot(tx: &mut dyn Tx, lead: &LeadRow, bucket: &str) -> Result<()> {
    for (fields, clock) in &lead.groups {
        if clock.is_empty() && fields.group() != FieldGroup::Office {
            continue;
        }
        let hlc = if clock.is_empty() {
            ZERO_CLOCK.to_string()
        } else {
            clock.clone()
        };
        let op = Op::LeadFieldsSet(LeadFieldsSet {
            lead_id: lead.id.clone(),
            fields: fields.clone(),
            hlc,
            created_at: lead.created_at,
        });
        emit(tx, bucket, &op)?;
    }
    let records = tx.query(
        "SELECT kind, body FROM record WHERE lead_id = ?1 ORDER BY CASE kind \
         WHEN 'registration' THEN 0 WHEN 'consent_event' THEN 1 \
         WHEN 'subscriber_request' THEN 2 WHEN 'follow_up' THEN 3 ELSE 4 END, id",
        &[lead.id.as_str().into()],
    )?;
    let mut opener = Opener::default();
    for row in records {
        let stored = col_text(&row, 1).unwrap_or_default();
        let Some(body) = opener.open(tx, Some(&lead.id), &stored)? else {
            continue;
        };
        let op = record_op(&col_text(&row, 0).unwrap_or_default(), &body)?;
        emit(tx, bucket, &op)?;
    }
    Ok(())
}
