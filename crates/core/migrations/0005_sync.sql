-- Sync with the central store: where this replica syncs, how far it has pulled, and what the
-- server refused. The bearer token is never stored here (it lives in the OS keychain).

CREATE TABLE sync_state (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    server_url   TEXT,
    -- Pinned SHA-256 of the server's certificate (hex), or NULL for system roots / a CA file.
    fingerprint  TEXT,
    ca_file      TEXT,
    user         TEXT,
    role         TEXT,
    office       TEXT,
    -- The server change sequence this replica has applied through; moves with each pulled page.
    cursor       INTEGER NOT NULL DEFAULT 0,
    last_sync_at TEXT,
    last_error   TEXT
) STRICT;
INSERT INTO sync_state(id) VALUES (1);

-- Pushed operations the server refused for good. No personal information: the operation's kind,
-- the entity and its id, and the server's reason.
CREATE TABLE sync_rejected (
    seq       INTEGER PRIMARY KEY,
    op_kind   TEXT NOT NULL,
    entity_id TEXT,
    lead_id   TEXT,
    code      TEXT,
    reason    TEXT NOT NULL,
    at        TEXT NOT NULL
) STRICT;
