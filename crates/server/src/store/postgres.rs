//! The shared store: PostgreSQL at a URL, so several server instances can run over one
//! database.
//!
//! Write transactions run in parallel at `SERIALIZABLE` isolation: the merge logic reads and
//! then writes, and PostgreSQL refuses (40001) whichever of two overlapping transactions would
//! break a serial order; the loser is rolled back and its body run again (after a few lost
//! races it runs alone, `ESCALATE_AFTER`). The changes a transaction logs wait in memory. Just
//! before commit it takes one advisory lock (database-wide, so it holds across server
//! instances), numbers its changes from the `change_seq` sequence in the order they were
//! logged, writes them in a few multi-row inserts and commits holding the lock: numbers are
//! handed out in commit order, so a pull that sees a number sees every smaller one that will
//! ever commit (docs/SYNC.md, "Concurrent writers and the no-skip pull"). A statement of the
//! transaction that reads or changes `change_log` first gets the waiting changes written under
//! provisional negative numbers (invisible to every pull, whose cursor is never negative),
//! renumbered at commit.

use super::{schema, Rows, Store, Tx, TxBody, Val};
use crate::error::{Result, ServerError};
use crate::sealing::{KeyCache, Keyring};
use bytes::BytesMut;
use postgres::error::SqlState;
use postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use postgres::{Client, IsolationLevel, NoTls, Statement};
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// Connections one server instance opens at most: writers now run side by side, so each one
/// in flight holds a connection.
const DEFAULT_POOL: usize = 32;

/// Overrides `DEFAULT_POOL` (docs/DEPLOYMENT.md: size it to what the database's cores can run
/// at once, and keep instances × pool under `max_connections`).
pub const POOL_VAR: &str = "SWITCHBOARD_PG_POOL";

/// The pool size `POOL_VAR` asks for, else `DEFAULT_POOL`.
fn pool_size() -> Result<usize> {
    match std::env::var(POOL_VAR) {
        Err(_) => Ok(DEFAULT_POOL),
        Ok(text) => text
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| {
                ServerError::Invalid(format!(
                    "{POOL_VAR}={text} is not a pool size: give a number of connections from 1 to 1000"
                ))
            }),
    }
}

/// Advisory lock key held from numbering a transaction's changes to its commit.
const NUMBERING_LOCK: i64 = 7002;

/// Advisory lock key every write transaction holds shared, and one that lost
/// `ESCALATE_AFTER` races holds alone (taken before it begins: `PgStore::attempt`), so it
/// cannot lose again.
const ESCALATION_LOCK: i64 = 7003;

/// Lost races after which a write runs alone.
const ESCALATE_AFTER: u32 = 3;

/// How many times a write that lost a serialization conflict runs in all before giving up
/// as `ServerError::Busy` (503, the client tries again later).
const MAX_ATTEMPTS: u32 = 10;

/// Change rows per multi-row insert.
const INSERT_CHUNK: usize = 32;

/// Provisional numbers one transaction may hand out (`provisional` below).
const PROVISIONAL_SPAN: i64 = 1 << 20;

/// One pooled connection with its prepared statements.
struct Conn {
    client: Client,
    statements: HashMap<String, Statement>,
}

/// The PostgreSQL implementation of `Store`.
pub struct PgStore {
    url: String,
    idle: Mutex<Pool>,
    returned: Condvar,
    keyring: Arc<Keyring>,
}

struct Pool {
    idle: Vec<Conn>,
    open: usize,
    max: usize,
}

impl ToSql for Val {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Val::Null => Ok(IsNull::Yes),
            Val::Int(i) => match *ty {
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::BOOL => (*i != 0).to_sql(ty, out),
                Type::TEXT | Type::VARCHAR => i.to_string().to_sql(ty, out),
                _ => i.to_sql(ty, out),
            },
            Val::Text(s) => match *ty {
                Type::INT8 => s.parse::<i64>()?.to_sql(ty, out),
                Type::INT4 => s.parse::<i32>()?.to_sql(ty, out),
                _ => s.as_str().to_sql(ty, out),
            },
        }
    }

    fn accepts(_ty: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// Rewrites `?N` parameters as PostgreSQL's `$N`.
fn dialect(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(|d| d.is_ascii_digit()) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

fn pg_err(e: postgres::Error) -> ServerError {
    match e.as_db_error() {
        // The bare error reads "db error"; the server's own message says what failed.
        Some(db) => {
            ServerError::Store(format!("postgres: {} ({})", db.message(), db.code().code()))
        }
        None => ServerError::Store(format!("postgres: {e}")),
    }
}

/// Whether the transaction failed only because a concurrent one won (run it again).
fn lost_race(e: &postgres::Error) -> bool {
    e.code().is_some_and(|c| {
        *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED
    })
}

/// One logged change waiting to be written.
struct Change {
    bucket: String,
    lead_id: Option<String>,
    op: String,
    /// The pushing replica and sequence (protocol 4), when the change is that push unchanged.
    origin: Option<(String, i64)>,
}

struct PgTx<'a, 'b> {
    tx: &'a mut postgres::Transaction<'b>,
    statements: &'a mut HashMap<String, Statement>,
    keyring: &'a Keyring,
    cache: KeyCache,
    /// This transaction's block of provisional numbers (`change_provisional`), once a change
    /// was written before commit.
    provisional: Option<i64>,
    /// Changes logged so far.
    logged: i64,
    /// Logged changes not written yet, with their place in logging order.
    pending: Vec<(i64, Change)>,
    /// Buckets logged to.
    buckets: BTreeSet<String>,
    /// A statement failed because a concurrent transaction won: the body may run again.
    lost_race: bool,
}

impl<'a, 'b> PgTx<'a, 'b> {
    fn new(
        tx: &'a mut postgres::Transaction<'b>,
        statements: &'a mut HashMap<String, Statement>,
        keyring: &'a Keyring,
    ) -> Self {
        PgTx {
            tx,
            statements,
            keyring,
            cache: KeyCache::new(),
            provisional: None,
            logged: 0,
            pending: Vec::new(),
            buckets: BTreeSet::new(),
            lost_race: false,
        }
    }

    fn fail(&mut self, e: postgres::Error) -> ServerError {
        self.lost_race |= lost_race(&e);
        pg_err(e)
    }

    fn statement(&mut self, sql: &str) -> Result<Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = match self.tx.prepare(&dialect(sql)) {
            Ok(s) => s,
            Err(e) => return Err(self.fail(e)),
        };
        self.statements.insert(sql.to_string(), s.clone());
        Ok(s)
    }

    /// The `i`-th provisional number of block `block`: negative, unique across transactions,
    /// and decreasing in the order changes were logged.
    fn provisional(block: i64, i: i64) -> i64 {
        -(block * PROVISIONAL_SPAN + i)
    }

    /// Writes `rows` (sequence number, change) in multi-row inserts.
    fn insert_changes(&mut self, rows: Vec<(i64, Change)>) -> Result<()> {
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<_> = rows.by_ref().take(INSERT_CHUNK).collect();
            let mut sql =
                String::from("INSERT INTO change_log (server_seq, bucket, lead_id, op, origin, origin_seq) VALUES ");
            let mut params = Vec::with_capacity(chunk.len() * 6);
            for (i, (seq, change)) in chunk.into_iter().enumerate() {
                if i > 0 {
                    sql.push_str(", ");
                }
                let n = i * 6;
                sql.push_str(&format!(
                    "(?{}, ?{}, ?{}, ?{}, ?{}, ?{})",
                    n + 1,
                    n + 2,
                    n + 3,
                    n + 4,
                    n + 5,
                    n + 6
                ));
                let (origin, origin_seq) = change.origin.unzip();
                params.extend([
                    seq.into(),
                    change.bucket.into(),
                    change.lead_id.into(),
                    change.op.into(),
                    origin.into(),
                    origin_seq.into(),
                ]);
            }
            self.exec(&sql, &params)?;
        }
        Ok(())
    }

    /// Writes the waiting changes under provisional numbers, so that a statement about the
    /// change log sees them.
    fn write_provisionally(&mut self) -> Result<()> {
        let pending = std::mem::take(&mut self.pending);
        if pending.is_empty() {
            return Ok(());
        }
        let block = match self.provisional {
            Some(block) => block,
            None => {
                let block = self
                    .query("SELECT nextval('change_provisional')", &[])?
                    .first()
                    .and_then(|r| super::col_int(r, 0))
                    .ok_or_else(|| ServerError::Internal("change_provisional unreadable".into()))?;
                self.provisional = Some(block);
                block
            }
        };
        let rows = pending
            .into_iter()
            .map(|(i, c)| (PgTx::provisional(block, i), c))
            .collect();
        self.insert_changes(rows)
    }

    /// Gives this transaction's changes their numbers, in the order they were logged, and
    /// takes the lock that keeps numbers committing in order (held until commit or rollback).
    fn number_changes(&mut self) -> Result<()> {
        let count = self.logged;
        if count == 0 {
            return Ok(());
        }
        self.exec("SELECT pg_advisory_xact_lock(?1)", &[NUMBERING_LOCK.into()])?;
        // Only the lock holder moves the sequence, so the block is contiguous.
        let last = self
            .query(
                "SELECT setval('change_seq', nextval('change_seq') + ?1 - 1)",
                &[count.into()],
            )?
            .first()
            .and_then(|r| super::col_int(r, 0))
            .ok_or_else(|| ServerError::Internal("change_seq unreadable".into()))?;
        let first = last - count + 1;
        if let Some(block) = self.provisional {
            // Provisional -(block·SPAN + i) becomes first + i; rows deleted since leave a gap.
            self.exec(
                "UPDATE change_log SET server_seq = ?1 + (-server_seq - ?2) \
                 WHERE server_seq BETWEEN ?3 AND ?4",
                &[
                    first.into(),
                    (block * PROVISIONAL_SPAN).into(),
                    PgTx::provisional(block, count - 1).into(),
                    PgTx::provisional(block, 0).into(),
                ],
            )?;
        }
        let rows = std::mem::take(&mut self.pending)
            .into_iter()
            .map(|(i, c)| (first + i, c))
            .collect();
        self.insert_changes(rows)
    }
}

fn bind(params: &[Val]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

impl Tx for PgTx<'_, '_> {
    fn keyring(&self) -> &Keyring {
        self.keyring
    }

    fn key_cache(&mut self) -> &mut KeyCache {
        &mut self.cache
    }

    fn log_change(
        &mut self,
        bucket: &str,
        lead_id: Option<&str>,
        op: String,
        origin: Option<(String, i64)>,
    ) -> Result<()> {
        if self.logged >= PROVISIONAL_SPAN {
            return Err(ServerError::Internal(format!(
                "one transaction may log at most {PROVISIONAL_SPAN} changes"
            )));
        }
        if !self.buckets.contains(bucket) {
            self.buckets.insert(bucket.to_string());
        }
        self.pending.push((
            self.logged,
            Change {
                bucket: bucket.to_string(),
                lead_id: lead_id.map(str::to_string),
                op,
                origin,
            },
        ));
        self.logged += 1;
        Ok(())
    }

    fn kind(&self) -> &'static str {
        "postgres"
    }

    fn page_read(&self) -> super::PageRead {
        super::PageRead::RowsInRanges
    }

    fn changed_buckets(&self) -> BTreeSet<String> {
        self.buckets.clone()
    }

    fn exec(&mut self, sql: &str, params: &[Val]) -> Result<u64> {
        let stmt = self.statement_after_pending(sql)?;
        match self.tx.execute(&stmt, &bind(params)) {
            Ok(n) => Ok(n),
            Err(e) => Err(self.fail(e)),
        }
    }

    fn query_rows(&mut self, sql: &str, params: &[Val]) -> Result<Rows> {
        let rows = self.rows_of(sql, params)?;
        let mut out = Rows::new(rows.first().map_or(0, |r| r.len()));
        for row in &rows {
            for i in 0..row.len() {
                match *row.columns()[i].type_() {
                    Type::INT8 | Type::INT4 | Type::INT2 | Type::BOOL => {
                        match int_at(row, i).map_err(pg_err)? {
                            Some(n) => out.push_int(n),
                            None => out.push_null(),
                        }
                    }
                    _ => match row.try_get::<_, Option<&str>>(i).map_err(pg_err)? {
                        Some(text) => out.push_text(text),
                        None => out.push_null(),
                    },
                }
            }
        }
        Ok(out)
    }
}

/// An integer or boolean column of a PostgreSQL row as the store's integer.
fn int_at(row: &postgres::Row, i: usize) -> std::result::Result<Option<i64>, postgres::Error> {
    match *row.columns()[i].type_() {
        Type::INT4 => row.try_get::<_, Option<i32>>(i).map(|v| v.map(i64::from)),
        Type::INT2 => row.try_get::<_, Option<i16>>(i).map(|v| v.map(i64::from)),
        Type::BOOL => row.try_get::<_, Option<bool>>(i).map(|v| v.map(i64::from)),
        _ => row.try_get::<_, Option<i64>>(i),
    }
}

impl PgTx<'_, '_> {
    /// The prepared statement of `sql`, after writing this transaction's pending changes when
    /// it touches the log (so it sees them).
    fn statement_after_pending(&mut self, sql: &str) -> Result<Statement> {
        if !self.pending.is_empty() && sql.contains("change_log") {
            self.write_provisionally()?;
        }
        self.statement(sql)
    }

    fn rows_of(&mut self, sql: &str, params: &[Val]) -> Result<Vec<postgres::Row>> {
        let stmt = self.statement_after_pending(sql)?;
        match self.tx.query(&stmt, &bind(params)) {
            Ok(rows) => Ok(rows),
            Err(e) => Err(self.fail(e)),
        }
    }
}

impl PgStore {
    /// Connects to the database at `url` and brings its schema up to date.
    pub fn connect(url: &str, keyring: Arc<Keyring>) -> Result<PgStore> {
        PgStore::connect_with_pool(url, pool_size()?, keyring)
    }

    /// Like `connect`, opening at most `max` connections.
    pub fn connect_with_pool(url: &str, max: usize, keyring: Arc<Keyring>) -> Result<PgStore> {
        let store = PgStore {
            url: url.to_string(),
            idle: Mutex::new(Pool {
                idle: Vec::new(),
                open: 0,
                max: max.max(1),
            }),
            returned: Condvar::new(),
            keyring,
        };
        let mut conn = store.take()?;
        let migrated = (|| {
            let mut tx = conn.client.transaction().map_err(pg_err)?;
            // Instances starting together on one database migrate one after another.
            tx.execute("SELECT pg_advisory_xact_lock(7001)", &[])
                .map_err(pg_err)?;
            let mut statements = HashMap::new();
            let mut handle = PgTx::new(&mut tx, &mut statements, &store.keyring);
            schema::migrate(&mut handle)?;
            handle.number_changes()?;
            tx.commit().map_err(pg_err)
        })();
        store.give_back(conn, migrated.is_ok());
        migrated?;
        Ok(store)
    }

    fn take(&self) -> Result<Conn> {
        let mut pool = self
            .idle
            .lock()
            .map_err(|_| ServerError::Internal("connection pool poisoned".into()))?;
        loop {
            if let Some(conn) = pool.idle.pop() {
                if !conn.client.is_closed() {
                    return Ok(conn);
                }
                pool.open -= 1;
                continue;
            }
            if pool.open < pool.max {
                pool.open += 1;
                drop(pool);
                return match Client::connect(&self.url, NoTls) {
                    Ok(client) => Ok(Conn {
                        client,
                        statements: HashMap::new(),
                    }),
                    Err(e) => {
                        self.give_back_slot();
                        Err(pg_err(e))
                    }
                };
            }
            pool = self
                .returned
                .wait(pool)
                .map_err(|_| ServerError::Internal("connection pool poisoned".into()))?;
        }
    }

    fn give_back_slot(&self) {
        if let Ok(mut pool) = self.idle.lock() {
            pool.open -= 1;
        }
        self.returned.notify_one();
    }

    fn give_back(&self, conn: Conn, healthy: bool) {
        if healthy && !conn.client.is_closed() {
            if let Ok(mut pool) = self.idle.lock() {
                pool.idle.push(conn);
            }
            self.returned.notify_one();
        } else {
            self.give_back_slot();
        }
    }

    fn run(&self, write: bool, body: TxBody<'_>) -> Result<()> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut conn = self.take()?;
            let alone = write && attempt > ESCALATE_AFTER;
            let tried = self.attempt(&mut conn, write, alone, body);
            // An error of ours (not of the connection) leaves the connection usable: the
            // transaction rolled back when it was dropped.
            let healthy = tried.reusable && !conn.client.is_closed();
            self.give_back(conn, healthy);
            match tried.outcome {
                Ok(()) => return Ok(()),
                Err(e) if !tried.lost => return Err(e),
                // Still losing after running alone: the database is too busy (or another
                // program writes to it); the client tries again later (503, Retry-After).
                Err(e) if attempt >= MAX_ATTEMPTS => {
                    return Err(ServerError::Busy(format!(
                        "{e} (lost {attempt} serialization races in a row)"
                    )))
                }
                Err(_) => {}
            }
            // Let the winner commit before trying again; a little jitter keeps the losers of
            // one race from meeting again.
            let noise = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| u64::from(d.subsec_nanos()));
            let jitter = noise % (500 * u64::from(attempt.min(10)));
            std::thread::sleep(Duration::from_micros(200 + jitter));
        }
    }

    /// One try of a transaction. A write that runs alone takes `ESCALATION_LOCK` for itself
    /// BEFORE its transaction begins: a `SERIALIZABLE` transaction's snapshot is taken at its
    /// first statement, so a lock taken inside it would leave it a snapshot from before the
    /// commits of the writers it waited for, and it would lose to them once more.
    fn attempt(&self, conn: &mut Conn, write: bool, alone: bool, body: TxBody<'_>) -> Tried {
        if alone {
            if let Err(e) = conn
                .client
                .execute("SELECT pg_advisory_lock($1)", &[&ESCALATION_LOCK])
            {
                return Tried {
                    lost: lost_race(&e),
                    outcome: Err(pg_err(e)),
                    reusable: true,
                };
            }
        }
        let (outcome, lost) = self.transaction(conn, write, alone, body);
        // A session lock outlives the transaction: a connection that cannot let go of it is
        // closed instead, which lets go of it.
        let reusable = !alone
            || conn
                .client
                .execute("SELECT pg_advisory_unlock($1)", &[&ESCALATION_LOCK])
                .is_ok_and(|rows| rows == 1);
        Tried {
            outcome,
            lost,
            reusable,
        }
    }

    /// The transaction of one try: its outcome, and whether it failed only because a
    /// concurrent transaction won.
    fn transaction(
        &self,
        conn: &mut Conn,
        write: bool,
        alone: bool,
        body: TxBody<'_>,
    ) -> (Result<()>, bool) {
        let Conn { client, statements } = conn;
        let started = client
            .build_transaction()
            .isolation_level(if write {
                IsolationLevel::Serializable
            } else {
                IsolationLevel::RepeatableRead
            })
            .read_only(!write)
            .start();
        let mut tx = match started {
            Ok(tx) => tx,
            Err(e) => return (Err(pg_err(e)), false),
        };
        let mut handle = PgTx::new(&mut tx, statements, &self.keyring);
        let done = if write && !alone {
            handle
                .exec(
                    "SELECT pg_advisory_xact_lock_shared(?1)",
                    &[ESCALATION_LOCK.into()],
                )
                .map(drop)
        } else {
            Ok(())
        };
        let done = done
            .and_then(|()| body(&mut handle))
            .and_then(|()| handle.number_changes());
        let lost = handle.lost_race;
        match done {
            Err(e) => return (Err(e), lost),
            // The body went on past a lost race (a statement's error it let go): PostgreSQL
            // aborted the transaction, and its COMMIT would roll back without an error.
            Ok(()) if lost => {
                return (
                    Err(ServerError::Store(
                        "a statement lost a serialization race and the transaction went on".into(),
                    )),
                    true,
                )
            }
            Ok(()) => {}
        }
        match tx.commit() {
            Ok(()) => (Ok(()), false),
            Err(e) => {
                let lost = lost_race(&e);
                (Err(pg_err(e)), lost)
            }
        }
    }
}

/// What one try of a transaction came to.
struct Tried {
    outcome: Result<()>,
    /// It failed only because a concurrent transaction won: run it again.
    lost: bool,
    /// The connection may go back to the pool (it holds no session lock).
    reusable: bool,
}

impl Drop for PgStore {
    fn drop(&mut self) {
        // The blocking client's drop runs its own little runtime, which must not happen on an
        // async worker thread: close the idle connections on a thread of their own.
        let idle = match self.idle.get_mut() {
            Ok(pool) => std::mem::take(&mut pool.idle),
            Err(_) => return,
        };
        if !idle.is_empty() {
            let _ = std::thread::Builder::new()
                .name("pg-close".into())
                .spawn(move || drop(idle));
        }
    }
}

impl Store for PgStore {
    fn write(&self, body: TxBody<'_>) -> Result<()> {
        self.run(true, body)
    }

    fn read(&self, body: TxBody<'_>) -> Result<()> {
        self.run(false, body)
    }

    fn scrub(&self) -> Result<()> {
        // PostgreSQL cannot overwrite dead tuples or WAL: erased data was sealed under a key
        // that erasure destroyed (`crate::sealing`), so what stays behind is unreadable.
        Ok(())
    }

    fn kind(&self) -> &'static str {
        "postgres"
    }
}

#[cfg(test)]
mod tests {
    use super::dialect;

    #[test]
    fn parameters_use_dollar_numbers() {
        assert_eq!(dialect("a = ?1 AND b = ?12"), "a = $1 AND b = $12");
        assert_eq!(dialect("x ? y"), "x ? y");
    }
}
