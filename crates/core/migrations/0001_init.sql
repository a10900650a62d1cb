-- Switchboard local store, first schema. Migrations are append-only: never edit a released file.
-- Timestamps are RFC 3339 UTC text (sortable); ids are UUIDv7 text.

CREATE TABLE setting (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE office (
    code    TEXT PRIMARY KEY,
    name    TEXT NOT NULL,
    country TEXT NOT NULL
) STRICT;

CREATE TABLE user (
    name   TEXT PRIMARY KEY,
    role   TEXT NOT NULL CHECK (role IN ('rep', 'manager', 'admin')),
    office TEXT REFERENCES office(code)
) STRICT;

-- One person. Personal fields are NULL once erased; the row stays as a skeleton for counts.
-- clock_* hold the hybrid logical clock of the last write to each field group (last writer wins).
CREATE TABLE lead (
    id                 TEXT PRIMARY KEY,
    office             TEXT,
    name               TEXT,
    company            TEXT,
    email              TEXT,
    phone              TEXT,
    address            TEXT,
    country            TEXT,
    time_zone          TEXT,
    status             TEXT NOT NULL DEFAULT 'new'
                       CHECK (status IN ('new', 'working', 'closed', 'erased')),
    owner              TEXT,
    created_at         TEXT NOT NULL,
    last_registered_at TEXT,
    attempts           INTEGER NOT NULL DEFAULT 0,
    last_attempt_at    TEXT,
    last_outcome       TEXT,
    next_follow_up_at  TEXT,
    first_contact_at   TEXT,
    email_invalid      INTEGER NOT NULL DEFAULT 0,
    -- Comma-separated fields the person corrected: registrations never overwrite them.
    corrected          TEXT NOT NULL DEFAULT '',
    lease_owner        TEXT,
    lease_until        TEXT,
    erased_at          TEXT,
    clock_identity     TEXT NOT NULL DEFAULT '',
    clock_email        TEXT NOT NULL DEFAULT '',
    clock_phone        TEXT NOT NULL DEFAULT '',
    clock_postal       TEXT NOT NULL DEFAULT '',
    clock_workflow     TEXT NOT NULL DEFAULT '',
    clock_office       TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX lead_by_email ON lead(email) WHERE email IS NOT NULL;
CREATE INDEX lead_by_phone ON lead(phone) WHERE phone IS NOT NULL;
CREATE INDEX lead_new_queue ON lead(last_registered_at DESC) WHERE status = 'new';
CREATE INDEX lead_due_queue ON lead(next_follow_up_at) WHERE next_follow_up_at IS NOT NULL AND status = 'working';

CREATE TABLE registration (
    id            TEXT PRIMARY KEY,
    lead_id       TEXT NOT NULL REFERENCES lead(id),
    submission_id TEXT UNIQUE,
    kind          TEXT NOT NULL,
    product       TEXT,
    submitted_at  TEXT NOT NULL,
    name          TEXT,
    company       TEXT,
    email         TEXT,
    phone         TEXT,
    address       TEXT,
    country       TEXT,
    ip            TEXT,
    user_agent    TEXT,
    referrer      TEXT,
    pages_visited TEXT NOT NULL DEFAULT '[]', -- JSON array of URLs
    form_version  TEXT,
    received_at   TEXT NOT NULL
) STRICT;
CREATE INDEX registration_by_lead ON registration(lead_id, submitted_at);

CREATE TABLE follow_up (
    id                TEXT PRIMARY KEY,
    lead_id           TEXT NOT NULL REFERENCES lead(id),
    channel           TEXT NOT NULL CHECK (channel IN ('email', 'phone', 'mail')),
    direction         TEXT NOT NULL CHECK (direction IN ('out', 'in')),
    outcome           TEXT NOT NULL,
    note              TEXT,
    occurred_at       TEXT NOT NULL,
    rep               TEXT NOT NULL,
    next_follow_up_at TEXT
) STRICT;
CREATE INDEX follow_up_by_lead ON follow_up(lead_id, occurred_at);
CREATE INDEX follow_up_by_time ON follow_up(occurred_at);
CREATE INDEX follow_up_by_rep ON follow_up(rep, occurred_at);

CREATE TABLE consent_event (
    id          TEXT PRIMARY KEY,
    lead_id     TEXT NOT NULL REFERENCES lead(id),
    scope       TEXT NOT NULL CHECK (scope IN ('email', 'phone', 'mail', 'all')),
    action      TEXT NOT NULL CHECK (action IN ('opt_out', 'opt_in')),
    source      TEXT NOT NULL,
    evidence    TEXT,
    occurred_at TEXT NOT NULL,
    supersedes  TEXT,
    recorded_by TEXT NOT NULL
) STRICT;
CREATE INDEX consent_by_lead ON consent_event(lead_id, occurred_at);

CREATE TABLE subscriber_request (
    id          TEXT PRIMARY KEY,
    lead_id     TEXT NOT NULL REFERENCES lead(id),
    kind        TEXT NOT NULL CHECK (kind IN ('opt_out', 'erase', 'correct', 'access')),
    received_at TEXT NOT NULL,
    due_at      TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('open', 'done', 'rejected')),
    detail      TEXT,
    handled_by  TEXT,
    handled_at  TEXT
) STRICT;
CREATE INDEX request_by_status ON subscriber_request(status, due_at);
CREATE INDEX request_by_lead ON subscriber_request(lead_id);

CREATE TABLE audit (
    id        TEXT PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT NOT NULL,
    lead_id   TEXT,
    action    TEXT NOT NULL,
    field     TEXT,
    old_value TEXT,
    new_value TEXT
) STRICT;
CREATE INDEX audit_by_lead ON audit(lead_id, at);

-- Keyed hashes (HMAC-SHA256, per-deployment key) of erased people's email and phone.
CREATE TABLE suppression (
    hash       TEXT PRIMARY KEY,
    kind       TEXT NOT NULL CHECK (kind IN ('email', 'phone')),
    created_at TEXT NOT NULL
) STRICT;

-- Local writes waiting to be pushed: a reference to the written row, enqueued in the same
-- transaction as the write. The pushed operation is built from the row at push time, so an
-- erasure before the push leaves no personal information waiting in the queue.
CREATE TABLE outbox (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    entity    TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    detail    TEXT
) STRICT;

-- Full-text search. Contentless with secure-delete so an erased person's terms leave the index.
CREATE VIRTUAL TABLE lead_search USING fts5(
    name, company, email, phone,
    content = '', contentless_delete = 1, prefix = '2 3', tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO lead_search(lead_search, rank) VALUES ('secure-delete', 1);
CREATE VIRTUAL TABLE note_search USING fts5(
    note,
    content = '', contentless_delete = 1, prefix = '2 3', tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO note_search(note_search, rank) VALUES ('secure-delete', 1);
