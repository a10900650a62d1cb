//! The shared store: PostgreSQL at a URL, so several server instances can run over one
//! database. Writers serialise on the one-row `change_counter` (`SELECT … FOR UPDATE` at the
//! start of every write transaction, held until commit), which makes change sequence numbers
//! commit in order across instances.

use super::{schema, Row, Store, Tx, TxBody, Val};
use crate::error::{Result, ServerError};
use crate::sealing::{KeyCache, Keyring};
use bytes::BytesMut;
use postgres::types::{to_sql_checked, IsNull, ToSql, Type};
use postgres::{Client, IsolationLevel, NoTls, Statement};
use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};

/// Connections one server instance opens at most.
const DEFAULT_POOL: usize = 10;

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
    ServerError::Store(format!("postgres: {e}"))
}

struct PgTx<'a, 'b> {
    tx: &'a mut postgres::Transaction<'b>,
    statements: &'a mut HashMap<String, Statement>,
    keyring: &'a Keyring,
    cache: KeyCache,
}

impl PgTx<'_, '_> {
    fn statement(&mut self, sql: &str) -> Result<Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.tx.prepare(&dialect(sql)).map_err(pg_err)?;
        self.statements.insert(sql.to_string(), s.clone());
        Ok(s)
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

    fn exec(&mut self, sql: &str, params: &[Val]) -> Result<u64> {
        let stmt = self.statement(sql)?;
        self.tx.execute(&stmt, &bind(params)).map_err(pg_err)
    }

    fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Row>> {
        let stmt = self.statement(sql)?;
        let rows = self.tx.query(&stmt, &bind(params)).map_err(pg_err)?;
        rows.iter()
            .map(|row| {
                (0..row.len())
                    .map(|i| {
                        let ty = row.columns()[i].type_().clone();
                        let v = match ty {
                            Type::INT8 => row.try_get::<_, Option<i64>>(i).map(|v| v.into()),
                            Type::INT4 => row
                                .try_get::<_, Option<i32>>(i)
                                .map(|v| v.map(i64::from).into()),
                            Type::INT2 => row
                                .try_get::<_, Option<i16>>(i)
                                .map(|v| v.map(i64::from).into()),
                            Type::BOOL => row.try_get::<_, Option<bool>>(i).map(|v| v.into()),
                            _ => row.try_get::<_, Option<String>>(i).map(|v| v.into()),
                        };
                        v.map_err(pg_err)
                    })
                    .collect::<Result<Row>>()
            })
            .collect()
    }
}

impl PgStore {
    /// Connects to the database at `url` and brings its schema up to date.
    pub fn connect(url: &str, keyring: Arc<Keyring>) -> Result<PgStore> {
        PgStore::connect_with_pool(url, DEFAULT_POOL, keyring)
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
            schema::migrate(&mut PgTx {
                tx: &mut tx,
                statements: &mut HashMap::new(),
                keyring: &store.keyring,
                cache: KeyCache::new(),
            })?;
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
        let mut conn = self.take()?;
        let outcome = (|| {
            let Conn { client, statements } = &mut conn;
            let mut tx = if write {
                client.transaction().map_err(pg_err)?
            } else {
                client
                    .build_transaction()
                    .isolation_level(IsolationLevel::RepeatableRead)
                    .read_only(true)
                    .start()
                    .map_err(pg_err)?
            };
            let mut handle = PgTx {
                tx: &mut tx,
                statements,
                keyring: &self.keyring,
                cache: KeyCache::new(),
            };
            if write {
                handle.query(
                    "SELECT value FROM change_counter WHERE id = 1 FOR UPDATE",
                    &[],
                )?;
            }
            body(&mut handle)?;
            tx.commit().map_err(pg_err)
        })();
        // An error of ours (not of the connection) leaves the connection usable: the
        // transaction rolled back when it was dropped.
        let healthy = !conn.client.is_closed();
        self.give_back(conn, healthy);
        outcome
    }
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
