//! The central store's schema, in the dialect both SQLite and PostgreSQL accept.
//!
//! Migrations are append-only: add a new entry, never edit a released one.

use super::{col_int, Tx, Val};
use crate::error::{Result, ServerError};

/// `(name, sql)` in the order they landed (names are numbers reserved per change, so one may
/// follow a higher one); `meta.schema_version` records how many ran.
pub const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_central", V1),
    ("0002_receipt_digest", V2_RECEIPT_DIGEST),
    ("0003_suppression_scope", V3_SUPPRESSION_SCOPE),
    ("0004_person_keys", V4_PERSON_KEYS),
    ("0005_devices", V5_DEVICES),
    ("0006_cadences", V6_CADENCES),
    ("0009_updates", V9_UPDATES),
    ("0007_parallel_writes", ""),
    // After 0009 and 0007, which main ran first: the list is positional (`schema_version`
    // counts).
    ("0008_change_origin", V8_CHANGE_ORIGIN),
    ("0010_account_offices", V10_ACCOUNT_OFFICES),
];

/// Code a migration runs after its SQL.
type Step = fn(&mut dyn Tx) -> Result<()>;

/// Migrations that need code after their SQL, by name.
const STEPS: &[(&str, Step)] = &[
    ("0004_person_keys", crate::sealing::seal_existing),
    ("0007_parallel_writes", parallel_writes),
];

/// PostgreSQL writers number their changes from a sequence (`postgres::PgStore`) instead of the
/// `change_counter` row, whose lock serialised them; the sequence continues where the counter
/// stopped. SQLite keeps the counter (it has one writer anyway).
fn parallel_writes(tx: &mut dyn Tx) -> Result<()> {
    if tx.kind() != "postgres" {
        return Ok(());
    }
    tx.exec("CREATE SEQUENCE IF NOT EXISTS change_seq AS BIGINT", &[])?;
    // Provisional numbers of changes not yet committed (stored negated).
    tx.exec(
        "CREATE SEQUENCE IF NOT EXISTS change_provisional AS BIGINT",
        &[],
    )?;
    tx.query(
        "SELECT setval('change_seq', GREATEST(value, 1), value > 0) FROM change_counter \
         WHERE id = 1",
        &[],
    )?;
    Ok(())
}

const V1: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

-- One row: its lock serialises writers and its value numbers the change log.
CREATE TABLE IF NOT EXISTS change_counter (id BIGINT PRIMARY KEY, value BIGINT NOT NULL);
INSERT INTO change_counter (id, value) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;

CREATE TABLE IF NOT EXISTS office (
    code    TEXT PRIMARY KEY,
    name    TEXT NOT NULL,
    country TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS account (
    name          TEXT PRIMARY KEY,
    role          TEXT NOT NULL,
    office        TEXT,
    password_hash TEXT NOT NULL,
    revoked       BIGINT NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL
);

-- Bearer tokens, stored as SHA-256 hex of the token.
CREATE TABLE IF NOT EXISTS token (
    hash       TEXT PRIMARY KEY,
    account    TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS token_by_account ON token (account);

CREATE TABLE IF NOT EXISTS route (
    country TEXT PRIMARY KEY,
    office  TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS intake_key (
    hash       TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    revoked    BIGINT NOT NULL DEFAULT 0
);

-- Current state of every lead. Personal fields are NULL once erased.
CREATE TABLE IF NOT EXISTS lead (
    id                TEXT PRIMARY KEY,
    office            TEXT,
    name              TEXT,
    company           TEXT,
    email             TEXT,
    email_invalid     BIGINT NOT NULL DEFAULT 0,
    phone             TEXT,
    address           TEXT,
    country           TEXT,
    time_zone         TEXT,
    status            TEXT NOT NULL DEFAULT 'new',
    owner             TEXT,
    next_follow_up_at TEXT,
    created_at        TEXT NOT NULL,
    erased_at         TEXT,
    clock_identity    TEXT NOT NULL DEFAULT '',
    clock_email       TEXT NOT NULL DEFAULT '',
    clock_phone       TEXT NOT NULL DEFAULT '',
    clock_postal      TEXT NOT NULL DEFAULT '',
    clock_workflow    TEXT NOT NULL DEFAULT '',
    clock_office      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS lead_by_email ON lead (email);

-- Offices a lead was moved away from: their replicas may still push append-only records.
CREATE TABLE IF NOT EXISTS lead_past_office (
    lead_id TEXT NOT NULL,
    office  TEXT NOT NULL,
    PRIMARY KEY (lead_id, office)
);

-- Append-only records (registration, follow_up, consent_event, subscriber_request, audit)
-- as their protocol JSON.
CREATE TABLE IF NOT EXISTS record (
    kind          TEXT NOT NULL,
    id            TEXT NOT NULL,
    lead_id       TEXT,
    submission_id TEXT,
    body          TEXT NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX IF NOT EXISTS record_by_lead ON record (lead_id);
CREATE UNIQUE INDEX IF NOT EXISTS record_by_submission ON record (submission_id);

-- The change log replicas pull, bucketed by office ('*': everyone, '': admins only).
CREATE TABLE IF NOT EXISTS change_log (
    server_seq BIGINT PRIMARY KEY,
    bucket     TEXT NOT NULL,
    lead_id    TEXT,
    op         TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS change_by_bucket ON change_log (bucket, server_seq);
CREATE INDEX IF NOT EXISTS change_by_lead ON change_log (lead_id);

-- The answer given to each pushed operation, so a resent push is answered the same way.
CREATE TABLE IF NOT EXISTS receipt (
    replica_id TEXT NOT NULL,
    seq        BIGINT NOT NULL,
    status     TEXT NOT NULL,
    code       TEXT,
    reason     TEXT,
    PRIMARY KEY (replica_id, seq)
);

-- Keyed hashes of erased people's normalised email and phone.
CREATE TABLE IF NOT EXISTS suppression (
    hash       TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- What became of each website submission (no personal data when suppressed).
CREATE TABLE IF NOT EXISTS intake_submission (
    submission_id   TEXT PRIMARY KEY,
    status          TEXT NOT NULL,
    registration_id TEXT,
    lead_id         TEXT,
    office          TEXT
);
";

// Each receipt keeps the SHA-256 of the operation it answered, so the same (replica id, seq)
// arriving with other content is recognised as a replica whose sequence went backwards (a
// restored backup) instead of being answered `duplicate` and dropped. Receipts written before
// this migration have no digest and count as a match.
const V2_RECEIPT_DIGEST: &str = "
ALTER TABLE receipt ADD COLUMN digest TEXT;
";

/// Suppression hashes get a scope: `*` (every office: hashes the server computed from the
/// personal data it held) or one office code (hashes only a replica of that office knew, which
/// the server cannot check, so they may suppress people of that office only). The primary key
/// becomes `(hash, scope)` so one office's claim never widens into another's.
const V3_SUPPRESSION_SCOPE: &str = "
CREATE TABLE IF NOT EXISTS suppression_scoped (
    hash       TEXT NOT NULL,
    kind       TEXT NOT NULL,
    scope      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (hash, scope)
);
INSERT INTO suppression_scoped (hash, kind, scope, created_at)
    SELECT hash, kind, '*', created_at FROM suppression;
DROP TABLE suppression;
ALTER TABLE suppression_scoped RENAME TO suppression;
";

// Personal data sealed under per-person keys (`crate::sealing`): the keys, wrapped by the
// master key in the data folder; the email looked up by keyed hash instead of plaintext.
const V4_PERSON_KEYS: &str = "
CREATE TABLE IF NOT EXISTS person_key (
    lead_id   TEXT PRIMARY KEY,
    master_id TEXT NOT NULL,
    wrapped   TEXT NOT NULL
);
ALTER TABLE lead ADD COLUMN email_hash TEXT;
DROP INDEX IF EXISTS lead_by_email;
CREATE INDEX IF NOT EXISTS lead_by_email_hash ON lead (email_hash);
";

// Every sign-in is a device (`crate::devices`): tokens name theirs, a revoked device is refused
// with `device_revoked`; a token expires when idle (not renewed since `renewed_at`) past its
// office's limit (`office.idle_days`, days; NULL: the server's default).
const V5_DEVICES: &str = "
CREATE TABLE IF NOT EXISTS device (
    id           TEXT PRIMARY KEY,
    account      TEXT NOT NULL,
    name         TEXT NOT NULL,
    app_version  TEXT,
    signed_in_at TEXT NOT NULL,
    first_sync   TEXT,
    last_sync    TEXT,
    revoked_at   TEXT,
    revoked_by   TEXT
);
CREATE INDEX IF NOT EXISTS device_by_account ON device (account);
ALTER TABLE token ADD COLUMN device_id TEXT;
ALTER TABLE token ADD COLUMN renewed_at TEXT;
ALTER TABLE office ADD COLUMN idle_days BIGINT;
";

// Cadences (protocol 3): every version of a definition and every intake rule with the office
// it belongs to (the bucket it syncs in); which replica each user last pushed from, to name the
// owner of an enrolment the intake makes. Enrolments themselves are records (kind
// `cadence_enrollment`), sealed under the person's key like everything about them.
const V6_CADENCES: &str = "
CREATE TABLE IF NOT EXISTS cadence_def (
    cadence_id TEXT NOT NULL,
    version    BIGINT NOT NULL,
    office     TEXT,
    body       TEXT NOT NULL,
    PRIMARY KEY (cadence_id, version)
);
CREATE TABLE IF NOT EXISTS cadence_rule (
    id            TEXT PRIMARY KEY,
    cadence_id    TEXT NOT NULL,
    office        TEXT,
    owner_replica TEXT NOT NULL,
    body          TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS replica_seen (
    replica_id TEXT PRIMARY KEY,
    user_name  TEXT NOT NULL,
    seen_at    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS replica_seen_by_user ON replica_seen (user_name, seen_at);
";

// Updates served by the office (`crate::updates`): each published version once, its package in
// base64 pieces (the store holds text and integers only), kept here so every instance on one
// PostgreSQL serves the same files.
const V9_UPDATES: &str = "
CREATE TABLE IF NOT EXISTS update_release (
    version      TEXT PRIMARY KEY,
    major        BIGINT NOT NULL,
    minor        BIGINT NOT NULL,
    patch        BIGINT NOT NULL,
    notes        TEXT NOT NULL,
    signature    TEXT NOT NULL,
    size         BIGINT NOT NULL,
    sha256       TEXT NOT NULL,
    chunks       BIGINT NOT NULL,
    published_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS update_chunk (
    version TEXT NOT NULL,
    idx     BIGINT NOT NULL,
    data    TEXT NOT NULL,
    PRIMARY KEY (version, idx)
);
";

// Protocol 4: the replica and sequence a change was pushed under, when the change is that
// pushed operation unchanged, so that replica's pull leaves it out (`changelog::Own`).
const V8_CHANGE_ORIGIN: &str = "
ALTER TABLE change_log ADD COLUMN origin TEXT;
ALTER TABLE change_log ADD COLUMN origin_seq BIGINT;
";

// Managers of several offices: every office an account works in. `account.office` stays the
// primary office (where a lead created without one goes, the office of the account's cadences
// and unsubscribe key) and is always one of these rows; admins and the privacy officer hold none.
const V10_ACCOUNT_OFFICES: &str = "
CREATE TABLE IF NOT EXISTS account_office (
    account TEXT NOT NULL,
    office  TEXT NOT NULL,
    PRIMARY KEY (account, office)
);
CREATE INDEX IF NOT EXISTS account_office_by_office ON account_office (office);
INSERT INTO account_office (account, office)
    SELECT name, office FROM account WHERE office IS NOT NULL
    ON CONFLICT DO NOTHING;
";

/// Applies the migrations not yet applied, inside one transaction, after checking that the
/// master key is the one the database's personal data is sealed under.
pub fn migrate(tx: &mut dyn Tx) -> Result<()> {
    tx.exec(
        "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        &[],
    )?;
    let applied = tx
        .query_opt("SELECT value FROM meta WHERE key = 'schema_version'", &[])?
        .and_then(|r| col_int(&r, 0))
        .unwrap_or(0) as usize;
    if applied > MIGRATIONS.len() {
        return Err(ServerError::Internal(format!(
            "the store was written by a newer server (schema {applied}, this build knows {})",
            MIGRATIONS.len()
        )));
    }
    crate::sealing::bind_master(tx)?;
    for (name, sql) in MIGRATIONS.iter().skip(applied) {
        for statement in statements(sql) {
            tx.exec(statement, &[])?;
        }
        for (_, step) in STEPS.iter().filter(|(n, _)| n == name) {
            step(tx)?;
        }
    }
    tx.exec(
        "INSERT INTO meta (key, value) VALUES ('schema_version', ?1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        &[Val::Text(MIGRATIONS.len().to_string())],
    )?;
    Ok(())
}

/// Splits a migration into statements (the schema has no `;` inside literals).
pub fn statements(sql: &str) -> impl Iterator<Item = &str> {
    sql.split(';').map(|s| s.trim()).filter(|s| {
        !s.is_empty()
            && !s
                .lines()
                .all(|l| l.trim().is_empty() || l.trim().starts_with("--"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{col_text, read, sqlite::SqliteStore};

    #[test]
    fn hashes_recorded_before_scopes_hold_everywhere() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("central.db");
        {
            // A store as the first release left it, with one suppression hash.
            let conn = rusqlite::Connection::open(&path).unwrap();
            for statement in statements(V1) {
                conn.execute(statement, []).unwrap();
            }
            conn.execute_batch(
                "INSERT INTO meta (key, value) VALUES ('schema_version', '1');
                 INSERT INTO suppression (hash, kind, created_at)
                 VALUES ('ab', 'email', '2026-01-01T00:00:00.000Z');",
            )
            .unwrap();
        }
        let keys = std::sync::Arc::new(crate::sealing::Keyring::generate());
        let store = SqliteStore::open(&path, keys).unwrap();
        let rows = read(&store, |tx| {
            tx.query("SELECT hash, kind, scope FROM suppression", &[])
        })
        .unwrap();
        let rows: Vec<_> = rows
            .iter()
            .map(|r| (col_text(r, 0), col_text(r, 1), col_text(r, 2)))
            .collect();
        assert_eq!(
            rows,
            [(Some("ab".into()), Some("email".into()), Some("*".into()))]
        );
    }
}
