//! The storage trait the server runs on, with an SQLite and a PostgreSQL implementation.
//!
//! Both backends speak the same small SQL dialect (TEXT and BIGINT columns, `?N` parameters,
//! `ON CONFLICT`, `RETURNING`), so every query and all merge logic are written once, over
//! `Tx`. What differs is how a transaction is opened, how writers are kept apart and how a
//! change gets its sequence number (docs/SYNC.md, "Concurrent writers and the no-skip pull").

pub mod postgres;
mod rows;
pub mod schema;
pub mod sqlite;

pub use rows::Rows;

use crate::error::{Result, ServerError};
use crate::sealing::{KeyCache, Keyring};
use std::sync::Arc;

/// A value bound to or read from a query: the server stores only integers and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Val {
    Null,
    Int(i64),
    Text(String),
}

impl Val {
    /// The text, or `None` for NULL (an integer reads as its decimal text).
    pub fn text(&self) -> Option<String> {
        match self {
            Val::Null => None,
            Val::Int(i) => Some(i.to_string()),
            Val::Text(s) => Some(s.clone()),
        }
    }

    /// The integer, or `None` for NULL or text that is not a number.
    pub fn int(&self) -> Option<i64> {
        match self {
            Val::Null => None,
            Val::Int(i) => Some(*i),
            Val::Text(s) => s.parse().ok(),
        }
    }
}

impl From<&str> for Val {
    fn from(s: &str) -> Val {
        Val::Text(s.to_string())
    }
}

impl From<String> for Val {
    fn from(s: String) -> Val {
        Val::Text(s)
    }
}

impl From<&String> for Val {
    fn from(s: &String) -> Val {
        Val::Text(s.clone())
    }
}

impl From<i64> for Val {
    fn from(i: i64) -> Val {
        Val::Int(i)
    }
}

impl From<bool> for Val {
    fn from(b: bool) -> Val {
        Val::Int(b as i64)
    }
}

impl<T: Into<Val>> From<Option<T>> for Val {
    fn from(v: Option<T>) -> Val {
        v.map(Into::into).unwrap_or(Val::Null)
    }
}

impl From<&Option<String>> for Val {
    fn from(v: &Option<String>) -> Val {
        v.as_deref().into()
    }
}

/// One result row.
pub type Row = Vec<Val>;

/// Reads column `i` of a row as text (NULL and missing read as `None`).
pub fn col_text(row: &Row, i: usize) -> Option<String> {
    row.get(i).and_then(Val::text)
}

/// Reads column `i` of a row as an integer.
pub fn col_int(row: &Row, i: usize) -> Option<i64> {
    row.get(i).and_then(Val::int)
}

/// An open transaction.
pub trait Tx {
    /// Runs a statement; returns the number of rows changed.
    fn exec(&mut self, sql: &str, params: &[Val]) -> Result<u64>;
    /// Runs a query; returns every row, its values in one text buffer (`Rows`).
    fn query_rows(&mut self, sql: &str, params: &[Val]) -> Result<Rows>;
    /// Runs a query; returns every row as owned values.
    fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Row>> {
        Ok(self.query_rows(sql, params)?.into_vals())
    }
    /// The deployment's keys, for sealing personal data (`crate::sealing`).
    fn keyring(&self) -> &Keyring;
    /// Person keys already unwrapped in this transaction (a push touches a lead many times).
    fn key_cache(&mut self) -> &mut KeyCache;
    /// Appends a change (`op` as stored: JSON, or sealed) to the change log's `bucket`. Its
    /// sequence number commits in order with every other: SQLite takes it from
    /// `change_counter` under its single writer; PostgreSQL numbers the transaction's changes
    /// just before commit, under a lock held to commit (`postgres`).
    /// `origin` is the replica and push sequence when the change is that pushed operation
    /// unchanged (protocol 4: that replica's pull leaves it out).
    fn log_change(
        &mut self,
        bucket: &str,
        lead_id: Option<&str>,
        op: String,
        origin: Option<(String, i64)>,
    ) -> Result<()>;
    /// The change-log buckets (offices, `*`, `""` for no office) this transaction logged to so
    /// far: after commit, the offices whose replicas have something new to pull.
    fn changed_buckets(&self) -> std::collections::BTreeSet<String>;
    /// `sqlite` or `postgres`, for migrations that differ.
    fn kind(&self) -> &'static str;
    /// How this store reads a pull page's rows (`changelog::page_rows`).
    fn page_read(&self) -> PageRead;
}

/// How a pull page's rows are read from the ranges of its buckets, whichever is faster on the
/// store (measured in docs/BENCHMARKS.md, issue 14).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PageRead {
    /// The ranges carry sequence numbers only (an index covers them), so merging and cutting
    /// them sorts integers, and each change's row is read once after the cut with no `ORDER BY`
    /// over the joined rows. SQLite: sorting every page's rows through temporary b-trees was
    /// more than half of its page query's time.
    SequencesThenRows,
    /// The ranges carry the rows as their index scans read them, merged in order. PostgreSQL:
    /// reading each row again through the primary key cost it throughput.
    RowsInRanges,
}

impl dyn Tx + '_ {
    /// The first row of a query, if any.
    pub fn query_opt(&mut self, sql: &str, params: &[Val]) -> Result<Option<Row>> {
        Ok(self.query(sql, params)?.into_iter().next())
    }
}

/// Adds one change row; both stores write the log with it.
pub const INSERT_CHANGE: &str =
    "INSERT INTO change_log (server_seq, bucket, lead_id, op, origin, origin_seq) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

/// Takes the next number of the one-row `change_counter`; its row lock, held to commit, keeps
/// the numbers committing in order.
pub fn counter_next(tx: &mut dyn Tx) -> Result<i64> {
    let row = tx
        .query_opt(
            "UPDATE change_counter SET value = value + 1 WHERE id = 1 RETURNING value",
            &[],
        )?
        .ok_or_else(|| ServerError::Internal("change counter missing".into()))?;
    col_int(&row, 0).ok_or_else(|| ServerError::Internal("change counter unreadable".into()))
}

/// A body run inside a transaction; it may run again if the backend must retry (PostgreSQL
/// reruns a write whose transaction lost a serialization conflict), so it must not act outside
/// the transaction.
pub type TxBody<'a> = &'a mut dyn FnMut(&mut dyn Tx) -> Result<()>;

/// Where the server keeps everything. Blocking: call it from `spawn_blocking`.
pub trait Store: Send + Sync + 'static {
    /// Runs `body` in a write transaction. Change sequence numbers commit in order, so no reader
    /// can pass a change that commits later below its cursor. SQLite serialises writers
    /// (`BEGIN IMMEDIATE`); PostgreSQL runs them in parallel, `SERIALIZABLE` (a conflict reruns
    /// `body`), and serialises only the numbering of their changes and the commit.
    fn write(&self, body: TxBody<'_>) -> Result<()>;
    /// Runs `body` in a read-only transaction (a consistent snapshot).
    fn read(&self, body: TxBody<'_>) -> Result<()>;
    /// Makes purged bytes unrecoverable from files where the backend can (SQLite: WAL
    /// checkpoint with truncation; deleted content is already zeroed by `secure_delete`).
    fn scrub(&self) -> Result<()>;
    /// `sqlite` or `postgres`, for logs and benchmarks.
    fn kind(&self) -> &'static str;
}

/// Runs `f` in a write transaction and returns its value.
pub fn write<T>(store: &dyn Store, mut f: impl FnMut(&mut dyn Tx) -> Result<T>) -> Result<T> {
    let mut out = None;
    store.write(&mut |tx| {
        out = Some(f(tx)?);
        Ok(())
    })?;
    out.ok_or_else(|| ServerError::Internal("transaction produced no value".into()))
}

/// Runs `f` in a read transaction and returns its value.
pub fn read<T>(store: &dyn Store, mut f: impl FnMut(&mut dyn Tx) -> Result<T>) -> Result<T> {
    let mut out = None;
    store.read(&mut |tx| {
        out = Some(f(tx)?);
        Ok(())
    })?;
    out.ok_or_else(|| ServerError::Internal("transaction produced no value".into()))
}

/// Opens the store a URL names: `sqlite:PATH` (or a bare path) or `postgres://…`, sealing
/// personal data with `keyring`.
pub fn open(url: &str, keyring: Arc<Keyring>) -> Result<Arc<dyn Store>> {
    open_with_db_key(url, keyring, None)
}

/// `open`, a SQLite store encrypted whole under `db_key` (64 hex digits) when given. PostgreSQL
/// has no such key: its disk is encrypted instead (docs/SYNC.md, "A lost laptop").
pub fn open_with_db_key(
    url: &str,
    keyring: Arc<Keyring>,
    db_key: Option<&switchboard_protocol::Secret>,
) -> Result<Arc<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        if db_key.is_some() {
            return Err(ServerError::Invalid(
                "a database key file applies to the SQLite store only; encrypt PostgreSQL's \
                 disk instead"
                    .into(),
            ));
        }
        Ok(Arc::new(postgres::PgStore::connect(url, keyring)?))
    } else {
        let path = url.strip_prefix("sqlite:").unwrap_or(url);
        Ok(Arc::new(sqlite::SqliteStore::open_keyed(
            std::path::Path::new(path),
            keyring,
            db_key,
        )?))
    }
}
