//! Lead queues: named filters with an order. `next` hands a rep the top lead the compliance gate
//! allows, claimed with a lease, so two reps on one database never get the same lead while the
//! lease holds. Claims are dealt in hands (`next_after`): one commit leases the rep the next
//! [`HAND`] leads, and the calls after it hand them out without writing.
//!
//! Speed: every queue walks one ordered partial index (`lead_new_queue`, `lead_due_queue`,
//! `lead_open_queue`) lazily, row by row; SQL drops leased, capped and cooling-down leads, a
//! database-free pre-check (`gate::may_allow`) drops leads whose own fields block them, and only
//! then does the full gate run. So `next` reads a handful of rows, not the table.
//! Leases live in this database only (`lease.rs`): they coordinate reps sharing one store, not
//! laptops.

use crate::clock::to_text;
use crate::compliance::gate::{self, ChannelDecision, Decision, Gate};
use crate::error::{CoreError, Result};
use crate::people::leads::{lead_from_row, parse_time, LEAD_COLUMNS};
use crate::store::settings::set_setting;
use chrono::{DateTime, Duration, Utc};
use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use switchboard_protocol::{Channel, Lead, LeadStatus, Outcome, RegistrationKind};
use ts_rs::TS;

/// Which leads a queue starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum QueueBase {
    /// Unworked leads (status new).
    New,
    /// Working leads whose next follow-up date has been reached.
    Due,
    /// Open leads with a phone that the gate lets us call right now.
    Callable,
    /// Every open lead (new or working).
    Open,
}

/// The order a queue hands leads out in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export)]
pub enum QueueOrder {
    NewestRegistration,
    OldestRegistration,
    DueDate,
}

impl QueueOrder {
    fn as_str(self) -> &'static str {
        match self {
            QueueOrder::NewestRegistration => "newest_registration",
            QueueOrder::OldestRegistration => "oldest_registration",
            QueueOrder::DueDate => "due_date",
        }
    }

    fn parse(text: &str) -> Result<QueueOrder> {
        match text {
            "newest_registration" => Ok(QueueOrder::NewestRegistration),
            "oldest_registration" => Ok(QueueOrder::OldestRegistration),
            "due_date" => Ok(QueueOrder::DueDate),
            other => Err(CoreError::BadInput(format!(
                "unknown queue order '{other}' (newest_registration, oldest_registration, due_date)"
            ))),
        }
    }

    fn sql(self) -> &'static str {
        // The trailing rowid matches the order of the indexes' implicit last column, so SQLite
        // walks the index without sorting and ties break the same way every time.
        match self {
            QueueOrder::NewestRegistration => "ORDER BY last_registered_at DESC, rowid",
            QueueOrder::OldestRegistration => "ORDER BY last_registered_at, rowid DESC",
            QueueOrder::DueDate => "ORDER BY next_follow_up_at, rowid",
        }
    }
}

/// A queue's filter: typed, stored as JSON, turned into SQL only by this module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct QueueFilter {
    pub base: QueueBase,
    /// ISO alpha-2 codes; empty means any.
    #[serde(default)]
    pub countries: Vec<String>,
    #[serde(default)]
    pub offices: Vec<String>,
    #[serde(default)]
    pub owners: Vec<String>,
    #[serde(default)]
    pub statuses: Vec<LeadStatus>,
    /// Leads with at least one registration of these kinds.
    #[serde(default)]
    pub kinds: Vec<RegistrationKind>,
}

impl QueueFilter {
    /// A filter with only a base.
    pub fn base(base: QueueBase) -> QueueFilter {
        QueueFilter {
            base,
            countries: Vec::new(),
            offices: Vec::new(),
            owners: Vec::new(),
            statuses: Vec::new(),
            kinds: Vec::new(),
        }
    }
}

/// A named queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct QueueDef {
    pub name: String,
    pub description: String,
    pub filter: QueueFilter,
    pub order: QueueOrder,
    pub built_in: bool,
}

/// Limits on how hard a lead is pursued, and how long a claim lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct QueueSettings {
    /// How long `next` holds a lead for the rep.
    pub lease_minutes: i64,
    /// Leads with this many outbound attempts leave the queues.
    pub attempt_cap: i64,
    /// After an unreached outcome (no answer, voicemail, busy) the lead rests this long.
    pub cool_down_minutes: i64,
}

impl Default for QueueSettings {
    fn default() -> Self {
        QueueSettings {
            lease_minutes: 15,
            attempt_cap: 6,
            cool_down_minutes: 4 * 60,
        }
    }
}

const LEASE_KEY: &str = "queue.lease_minutes";
const CAP_KEY: &str = "queue.attempt_cap";
const COOL_KEY: &str = "queue.cool_down_minutes";

impl QueueSettings {
    /// The settings stored in the database, defaults where unset.
    pub fn load(conn: &Connection) -> Result<QueueSettings> {
        let mut settings = QueueSettings::default();
        // One cached statement: a queue page reads the settings every time.
        let mut stmt =
            conn.prepare_cached("SELECT key, value FROM setting WHERE key IN (?1, ?2, ?3)")?;
        let mut rows = stmt.query(params![LEASE_KEY, CAP_KEY, COOL_KEY])?;
        while let Some(row) = rows.next()? {
            let key: String = row.get(0)?;
            let Ok(value) = row.get::<_, String>(1)?.trim().parse::<i64>() else {
                continue;
            };
            match key.as_str() {
                LEASE_KEY => settings.lease_minutes = value,
                CAP_KEY => settings.attempt_cap = value,
                _ => settings.cool_down_minutes = value,
            }
        }
        Ok(settings)
    }

    /// Stores the settings after checking they make sense.
    pub fn save(&self, conn: &Connection) -> Result<()> {
        if !(1..=24 * 60).contains(&self.lease_minutes) {
            return Err(CoreError::BadInput(
                "lease must be 1 to 1440 minutes".into(),
            ));
        }
        if !(1..=1000).contains(&self.attempt_cap) {
            return Err(CoreError::BadInput("attempt cap must be 1 to 1000".into()));
        }
        if !(0..=30 * 24 * 60).contains(&self.cool_down_minutes) {
            return Err(CoreError::BadInput(
                "cool-down must be 0 to 43200 minutes".into(),
            ));
        }
        set_setting(conn, LEASE_KEY, &self.lease_minutes.to_string())?;
        set_setting(conn, CAP_KEY, &self.attempt_cap.to_string())?;
        set_setting(conn, COOL_KEY, &self.cool_down_minutes.to_string())?;
        Ok(())
    }
}

/// The lead `next` handed out, claimed for the rep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct NextLead {
    pub lead: Lead,
    /// Why this lead, in words: "registered 4 minutes ago", "phone allowed now (14:05 …)".
    pub reasons: Vec<String>,
    /// Every channel with the gate's decision right now.
    pub channels: Vec<ChannelDecision>,
    pub queue: String,
    /// The claim holds until then (or until the rep logs a follow-up).
    pub lease_until: DateTime<Utc>,
}

/// One row of a queue page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct QueueEntry {
    pub lead: Lead,
    pub channels: Vec<ChannelDecision>,
    /// The rep holding a live lease on the lead, if any.
    pub leased_by: Option<String>,
    pub lease_until: Option<DateTime<Utc>>,
}

fn def_from_row(
    row: &rusqlite::Row<'_>,
) -> rusqlite::Result<(String, String, String, String, i64)> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
    ))
}

fn to_def(raw: (String, String, String, String, i64)) -> Result<QueueDef> {
    let (name, description, filter, sort, built_in) = raw;
    let filter: QueueFilter = serde_json::from_str(&filter).map_err(|e| {
        CoreError::BadInput(format!("queue '{name}' has an unreadable filter: {e}"))
    })?;
    Ok(QueueDef {
        name,
        description,
        filter,
        order: QueueOrder::parse(&sort)?,
        built_in: built_in != 0,
    })
}

/// Every queue, built-ins first.
pub fn list(conn: &Connection) -> Result<Vec<QueueDef>> {
    let mut stmt = conn.prepare_cached(
        "SELECT name, description, filter, sort, built_in FROM queue
         ORDER BY built_in DESC, name",
    )?;
    let rows = stmt.query_map([], def_from_row)?;
    rows.map(|r| to_def(r?)).collect()
}

/// The queue with this name.
pub fn get(conn: &Connection, name: &str) -> Result<QueueDef> {
    let raw = conn
        .prepare_cached(
            "SELECT name, description, filter, sort, built_in FROM queue WHERE name = ?1",
        )?
        .query_row([name.trim()], def_from_row)
        .optional()?;
    match raw {
        Some(raw) => to_def(raw),
        None => {
            let names: Vec<String> = list(conn)?.into_iter().map(|q| q.name).collect();
            Err(CoreError::NotFound(format!(
                "no queue named '{name}' (queues: {})",
                names.join(", ")
            )))
        }
    }
}

/// Adds a user queue.
pub fn add(conn: &Connection, def: &QueueDef, actor: &str, at: DateTime<Utc>) -> Result<()> {
    let name = def.name.trim();
    if name.is_empty()
        || name.len() > 40
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(CoreError::BadInput(format!(
            "queue name '{name}' must be 1 to 40 letters, digits, '-' or '_'"
        )));
    }
    let f = &def.filter;
    for list in [&f.countries, &f.offices, &f.owners] {
        if list.len() > 100 || list.iter().any(|v| v.trim().is_empty() || v.len() > 200) {
            return Err(CoreError::BadInput(
                "queue filters take up to 100 non-empty values each".into(),
            ));
        }
    }
    let mut filter = f.clone();
    filter.countries = f
        .countries
        .iter()
        .map(|c| c.trim().to_ascii_uppercase())
        .collect();
    if let Some(bad) = filter
        .countries
        .iter()
        .find(|c| c.len() != 2 || !c.chars().all(|ch| ch.is_ascii_uppercase()))
    {
        return Err(CoreError::BadInput(format!(
            "'{bad}' is not an ISO 3166-1 alpha-2 country code"
        )));
    }
    let json = serde_json::to_string(&filter).expect("a filter always serialises");
    let inserted = conn
        .prepare_cached(
            "INSERT INTO queue(name, description, filter, sort, built_in, created_by, created_at)
             VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6) ON CONFLICT(name) DO NOTHING",
        )?
        .execute(params![
            name,
            def.description.trim(),
            json,
            def.order.as_str(),
            actor,
            to_text(at)
        ])?;
    if inserted == 0 {
        return Err(CoreError::Conflict(format!(
            "a queue named '{name}' exists"
        )));
    }
    Ok(())
}

/// Removes a user queue; built-ins stay.
pub fn remove(conn: &Connection, name: &str) -> Result<()> {
    let def = get(conn, name)?;
    if def.built_in {
        return Err(CoreError::BadInput(format!(
            "'{name}' is built in and cannot be removed"
        )));
    }
    conn.execute("DELETE FROM queue WHERE name = ?1", [&def.name])?;
    Ok(())
}

/// A walked lead's lease, holder then end, after its `LEAD_COLUMNS`.
const LEASE_COLUMNS: &str = "(SELECT owner FROM lead_lease WHERE lead_id = lead.id), \
     (SELECT until FROM lead_lease WHERE lead_id = lead.id)";

/// The SQL of a walk over a queue and its parameters.
struct Walk {
    sql: String,
    params: Vec<Value>,
}

fn unreached_sql() -> String {
    let list: Vec<String> = Outcome::ALL
        .iter()
        .filter(|o| o.is_unreached())
        .map(|o| format!("'{}'", o.as_str()))
        .collect();
    list.join(", ")
}

fn in_list(column: &str, values: &[String], params: &mut Vec<Value>, clauses: &mut Vec<String>) {
    if values.is_empty() {
        return;
    }
    let marks = vec!["?"; values.len()].join(", ");
    clauses.push(format!("{column} IN ({marks})"));
    params.extend(values.iter().map(|v| Value::Text(v.clone())));
}

/// Builds the walk: base, user filters, cap and cool-down; with `rep`, also skips other reps'
/// live leases.
fn walk_sql(
    def: &QueueDef,
    settings: &QueueSettings,
    at: DateTime<Utc>,
    rep: Option<&str>,
) -> Walk {
    let mut clauses: Vec<String> = Vec::new();
    let mut params: Vec<Value> = Vec::new();
    let f = &def.filter;
    match f.base {
        QueueBase::New => clauses.push("status = 'new'".into()),
        QueueBase::Due => {
            clauses.push(
                "status = 'working' AND next_follow_up_at IS NOT NULL AND next_follow_up_at <= ?"
                    .into(),
            );
            params.push(Value::Text(to_text(at)));
        }
        QueueBase::Callable => {
            clauses.push("status IN ('new', 'working') AND phone IS NOT NULL".into())
        }
        QueueBase::Open => clauses.push("status IN ('new', 'working')".into()),
    }
    in_list("country", &f.countries, &mut params, &mut clauses);
    in_list("office", &f.offices, &mut params, &mut clauses);
    in_list("owner", &f.owners, &mut params, &mut clauses);
    let statuses: Vec<String> = f.statuses.iter().map(|s| s.as_str().to_string()).collect();
    in_list("status", &statuses, &mut params, &mut clauses);
    if !f.kinds.is_empty() {
        let marks = vec!["?"; f.kinds.len()].join(", ");
        clauses.push(format!(
            "EXISTS (SELECT 1 FROM registration r WHERE r.lead_id = lead.id AND r.kind IN ({marks}))"
        ));
        params.extend(f.kinds.iter().map(|k| Value::Text(k.as_str().to_string())));
    }
    clauses.push("attempts < ?".into());
    params.push(Value::Integer(settings.attempt_cap));
    clauses.push(format!(
        "NOT (last_outcome IS NOT NULL AND last_outcome IN ({}) \
         AND last_attempt_at IS NOT NULL AND last_attempt_at > ?)",
        unreached_sql()
    ));
    params.push(Value::Text(to_text(
        at - Duration::minutes(settings.cool_down_minutes),
    )));
    if let Some(rep) = rep {
        clauses.push(
            "NOT EXISTS (SELECT 1 FROM lead_lease ll WHERE ll.lead_id = lead.id \
             AND ll.until > ? AND ll.owner <> ?)"
                .into(),
        );
        params.push(Value::Text(to_text(at)));
        params.push(Value::Text(rep.to_string()));
    }
    if f.base == QueueBase::Due {
        return with_cadence_steps(def.order, &clauses, params);
    }
    Walk {
        sql: format!(
            "SELECT {LEAD_COLUMNS}, {LEASE_COLUMNS} FROM lead WHERE {} {}",
            clauses.join(" AND "),
            def.order.sql()
        ),
        params,
    }
}

/// The `due` walk: leads whose follow-up date has come, merged in due order with open leads
/// whose cadence step has fallen due (issue 12). Each side walks its own index (`lead_due_queue`,
/// `cadence_enrollment_due`), so SQLite merges them without sorting; a lead may come twice (a
/// date and a step, or two cadences) and `walk` skips the repeat. `clauses[0]` is the base.
fn with_cadence_steps(order: QueueOrder, clauses: &[String], params: Vec<Value>) -> Walk {
    let rest: Vec<&str> = clauses[1..].iter().map(String::as_str).collect();
    let qualified: Vec<String> = LEAD_COLUMNS
        .split(',')
        .map(|c| format!("lead.{}", c.trim()))
        .collect();
    let sql = format!(
        "SELECT {LEAD_COLUMNS}, {LEASE_COLUMNS}, next_follow_up_at AS due_sort
           FROM lead WHERE {}
         UNION ALL
         SELECT {}, {LEASE_COLUMNS}, ce.due_at
           FROM cadence_enrollment ce JOIN lead ON lead.id = ce.lead_id
          WHERE ce.state = 'active' AND ce.due_at <= ? AND lead.status IN ('new', 'working')
                {}
         {}",
        clauses.join(" AND "),
        qualified.join(", "),
        rest.iter()
            .map(|c| format!("AND {c}"))
            .collect::<Vec<_>>()
            .join(" "),
        match order {
            QueueOrder::DueDate => "ORDER BY due_sort",
            QueueOrder::NewestRegistration => "ORDER BY last_registered_at DESC",
            QueueOrder::OldestRegistration => "ORDER BY last_registered_at",
        }
    );
    let mut both = params.clone();
    both.extend(params);
    Walk { sql, params: both }
}

/// Whether the gate lets the queue hand out `lead` now: phone for `callable`, any channel
/// otherwise. Returns the decisions when it does.
fn eligible(
    gate: &Gate<'_>,
    def: &QueueDef,
    lead: &Lead,
    at: DateTime<Utc>,
) -> Result<Option<Vec<ChannelDecision>>> {
    let needs_phone = def.filter.base == QueueBase::Callable;
    let could = if needs_phone {
        gate::may_allow(lead, Channel::Phone, at)
    } else {
        Channel::ALL.iter().any(|c| gate::may_allow(lead, *c, at))
    };
    if !could {
        return Ok(None);
    }
    let channels = gate.channel_decisions(lead, at)?;
    let ok = channels
        .iter()
        .any(|c| c.decision.is_allowed() && (!needs_phone || c.channel == Channel::Phone));
    Ok(ok.then_some(channels))
}

/// A lead found by a walk, with its lease columns.
struct Found {
    lead: Lead,
    channels: Vec<ChannelDecision>,
    lease_owner: Option<String>,
    lease_until: Option<DateTime<Utc>>,
}

/// Walks the queue in order, skipping `skip` eligible leads and returning up to `take`.
fn walk(
    conn: &Connection,
    def: &QueueDef,
    settings: &QueueSettings,
    at: DateTime<Utc>,
    rep: Option<&str>,
    skip: usize,
    take: usize,
) -> Result<Vec<Found>> {
    let w = walk_sql(def, settings, at, rep);
    let mut stmt = conn.prepare_cached(&w.sql)?;
    let gate = Gate::new(conn)?;
    let mut rows = stmt.query(params_from_iter(w.params.iter()))?;
    let lease_col = LEAD_COLUMNS.split(',').count();
    let mut skipped = 0;
    let mut found = Vec::new();
    let mut seen = std::collections::HashSet::new();
    while found.len() < take {
        let Some(row) = rows.next()? else { break };
        let lead = lead_from_row(row)?;
        if !seen.insert(lead.id.clone()) {
            continue;
        }
        let Some(channels) = eligible(&gate, def, &lead, at)? else {
            continue;
        };
        if skipped < skip {
            skipped += 1;
            continue;
        }
        let lease_until = parse_time(row.get(lease_col + 1)?).filter(|u| *u > at);
        found.push(Found {
            lease_owner: lease_until
                .and_then(|_| row.get::<_, Option<String>>(lease_col).ok().flatten()),
            lease_until,
            lead,
            channels,
        });
    }
    Ok(found)
}

/// Hands `rep` the top lead of the queue that the gate allows, claimed with a lease.
/// `Ok(None)` when the queue has nothing to offer now.
pub fn next(
    conn: &Connection,
    queue_name: &str,
    rep: &str,
    at: DateTime<Utc>,
    settings: &QueueSettings,
) -> Result<Option<NextLead>> {
    next_after(conn, queue_name, rep, None, at, settings)
}

/// `next` for a rep passing on `previous` (the lead they hold and are done with): the next lead
/// is handed out and `previous` given back, in one write transaction at most.
///
/// A rep is dealt a hand: a claim takes the queue's next [`HAND`] leads at once (one commit),
/// and later calls hand out leads the rep already holds without writing, as long as the walk
/// still finds one of them at the top (a better lead that arrived since, or one freed, deals
/// anew) and at least half its lease is left. On an encrypted replica every commit encrypts and
/// MACs each page it writes, so this keeps claims to about one commit per hand. `previous` and
/// the rest of an old hand are given back when the next hand is dealt (or when the queue has
/// nothing to offer), not on every call: they are out of the queue or behind the rep's hand
/// anyway, and another rep's walk waits for them at most one hand or one lease.
pub fn next_after(
    conn: &Connection,
    queue_name: &str,
    rep: &str,
    previous: Option<&str>,
    at: DateTime<Utc>,
    settings: &QueueSettings,
) -> Result<Option<NextLead>> {
    let rep = rep.trim();
    if rep.is_empty() {
        return Err(CoreError::BadInput(
            "a rep is needed to claim a lead".into(),
        ));
    }
    if !conn.is_autocommit() {
        return claim_in_tx(conn, queue_name, rep, previous, at, settings);
    }
    // Immediate, so two processes claiming at once queue on the lock instead of failing to
    // upgrade a read transaction. A call served from the hand writes nothing, and a commit
    // without dirty pages writes nothing to the WAL.
    conn.execute_batch("BEGIN IMMEDIATE")?;
    match claim_in_tx(conn, queue_name, rep, previous, at, settings) {
        Ok(found) => {
            conn.execute_batch("COMMIT")?;
            Ok(found)
        }
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// How many leads one claim deals a rep: later calls hand them out without writing.
pub const HAND: usize = 8;

fn claim_in_tx(
    conn: &Connection,
    queue_name: &str,
    rep: &str,
    previous: Option<&str>,
    at: DateTime<Utc>,
    settings: &QueueSettings,
) -> Result<Option<NextLead>> {
    let def = get(conn, queue_name)?;
    // Enrolments made at intake by a cadence rule get their first step's time now.
    crate::outreach::cadence::enrollment::plan_pending(conn)?;
    let lease = Duration::minutes(settings.lease_minutes);
    // A held lead with less than half its lease left is claimed again, so a lead handed out
    // from the hand is the rep's for at least half a lease.
    let fresh = |f: &Found| {
        f.lease_owner.as_deref() == Some(rep) && f.lease_until.is_some_and(|u| u - at >= lease / 2)
    };
    // The rep's own leases do not keep leads out of their walk: its top is the best lead for
    // them, held or not.
    let Some(top) = walk(conn, &def, settings, at, Some(rep), 0, 1)?.pop() else {
        if let Some(previous) = previous.map(str::trim).filter(|p| !p.is_empty()) {
            lease::end(conn, previous, rep)?;
        }
        return Ok(None);
    };
    let handed = if fresh(&top) {
        top
    } else {
        match deal(conn, &def, rep, at, settings, &fresh)? {
            Some(first) => first,
            None => return Ok(None),
        }
    };
    let lease_until = handed.lease_until.unwrap_or(at + lease);
    let mut reasons = reasons(&def, &handed.lead, &handed.channels, settings, at);
    reasons.extend(crate::outreach::cadence::enrollment::due_steps(
        conn,
        &handed.lead.id,
        at,
    )?);
    Ok(Some(NextLead {
        lead: handed.lead,
        reasons,
        channels: handed.channels,
        queue: def.name,
        lease_until,
    }))
}

/// Deals `rep` a new hand in the caller's write transaction: the queue's top [`HAND`] leads
/// (a single lead while the queue holds fewer than two hands, so a short queue is not held by
/// one rep), leased until a full lease from now, and gives back every other lease the rep
/// holds (the old hand, leads passed on, another queue's hand). Returns the hand's first lead.
fn deal(
    conn: &Connection,
    def: &QueueDef,
    rep: &str,
    at: DateTime<Utc>,
    settings: &QueueSettings,
    fresh: &dyn Fn(&Found) -> bool,
) -> Result<Option<Found>> {
    let lease_until = at + Duration::minutes(settings.lease_minutes);
    let mut found = walk(conn, def, settings, at, Some(rep), 0, 2 * HAND)?;
    found.truncate(if found.len() >= 2 * HAND { HAND } else { 1 });
    let mut hand = Vec::with_capacity(found.len());
    for mut f in found {
        // Leads still freshly held keep their lease: rewriting them would dirty their pages.
        if fresh(&f) {
            hand.push(f);
        } else if lease::take(conn, &f.lead.id, rep, at, lease_until)? {
            f.lease_owner = Some(rep.to_string());
            f.lease_until = Some(lease_until);
            hand.push(f);
        }
        // Under the write lock the walk's leads are free or the rep's; a refused lease would
        // only leave that lead out of the hand.
    }
    let keep: Vec<&str> = hand.iter().map(|f| f.lead.id.as_str()).collect();
    lease::end_others(conn, rep, &keep, at)?;
    Ok(hand.into_iter().next())
}

/// Gives a lead back (the rep skipped it or logged the contact). Only the holder's lease ends.
pub fn release(conn: &Connection, lead_id: &str, rep: &str) -> Result<bool> {
    lease::end(conn, lead_id, rep.trim())
}

/// A page of the queue for the UI, in queue order: the leads `next` would offer (leased ones
/// included, marked), each with its channel decisions.
pub fn page(
    conn: &Connection,
    queue_name: &str,
    offset: usize,
    limit: usize,
    at: DateTime<Utc>,
) -> Result<Vec<QueueEntry>> {
    let def = get(conn, queue_name)?;
    let settings = QueueSettings::load(conn)?;
    let found = walk(conn, &def, &settings, at, None, offset, limit.min(500))?;
    Ok(found
        .into_iter()
        .map(|f| QueueEntry {
            lead: f.lead,
            channels: f.channels,
            leased_by: f.lease_owner,
            lease_until: f.lease_until,
        })
        .collect())
}

/// "just now", "4 minutes ago", "3 hours ago", "2 days ago".
pub fn ago(since: DateTime<Utc>, at: DateTime<Utc>) -> String {
    let d = at - since;
    let (n, unit) = if d < Duration::minutes(1) {
        return "just now".into();
    } else if d < Duration::hours(1) {
        (d.num_minutes(), "minute")
    } else if d < Duration::days(2) {
        (d.num_hours(), "hour")
    } else {
        (d.num_days(), "day")
    };
    format!("{n} {unit}{} ago", if n == 1 { "" } else { "s" })
}

fn reasons(
    def: &QueueDef,
    lead: &Lead,
    channels: &[ChannelDecision],
    settings: &QueueSettings,
    at: DateTime<Utc>,
) -> Vec<String> {
    let mut out = Vec::new();
    if !def.built_in {
        out.push(format!("in your queue '{}'", def.name));
    }
    let registered = lead.last_registered_at.unwrap_or(lead.created_at);
    match def.filter.base {
        QueueBase::Due => {
            if let Some(due) = lead.next_follow_up_at {
                out.push(format!(
                    "follow-up due since {} ({})",
                    due.format("%Y-%m-%d %H:%M UTC"),
                    ago(due, at)
                ));
            }
        }
        _ if lead.status == LeadStatus::New => out.push(format!(
            "registered {}, not contacted yet",
            ago(registered, at)
        )),
        _ => out.push(format!("registered {}", ago(registered, at))),
    }
    let phone_ok = channels
        .iter()
        .any(|c| c.channel == Channel::Phone && c.decision == Decision::Allowed);
    if phone_ok {
        match gate::local_time_label(lead, at) {
            Some(local) => out.push(format!("phone allowed now ({local})")),
            None => out.push("phone allowed now".into()),
        }
    }
    if lead.attempts > 0 {
        let last = lead
            .last_outcome
            .map(|o| format!(", last: {}", o.as_str().replace('_', " ")))
            .unwrap_or_default();
        out.push(format!(
            "{} of {} attempts made{last}",
            lead.attempts, settings.attempt_cap
        ));
    }
    out
}

mod lease;

#[cfg(test)]
mod tests;
