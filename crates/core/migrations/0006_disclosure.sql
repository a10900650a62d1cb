-- Data that leaves Switchboard: registered partners, the disclosure ledger, notices to partners
-- after a correction or erasure, promotional-email audience exports and feedback imports.

-- The only possible recipients of personal information. Registered by an admin; never free-form.
CREATE TABLE partner (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE COLLATE NOCASE,
    kind       TEXT NOT NULL CHECK (kind IN ('reseller', 'distributor', 'office')),
    country    TEXT NOT NULL,
    -- The legal basis for transferring personal information to `country`.
    basis      TEXT NOT NULL CHECK (basis IN ('none_needed', 'adequacy', 'scc', 'bcr')),
    -- Comma-separated share fields the partner may receive.
    fields     TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL
) STRICT;

-- One row per person per share. Holds field *names*, never values, so the ledger of an erased
-- person identifies the record for the partner (lead id, partner reference) and nothing more.
-- Partner name, country and basis are copied so the ledger shows what held at the time.
CREATE TABLE disclosure (
    id           TEXT PRIMARY KEY,
    lead_id      TEXT NOT NULL REFERENCES lead(id),
    partner_id   TEXT NOT NULL,
    partner_name TEXT NOT NULL,
    -- The reference the partner knows the record by (printed in the shared file).
    partner_ref  TEXT NOT NULL,
    fields       TEXT NOT NULL,
    country      TEXT NOT NULL,
    basis        TEXT NOT NULL,
    disclosed_at TEXT NOT NULL,
    disclosed_by TEXT NOT NULL
) STRICT;
CREATE INDEX disclosure_by_lead ON disclosure(lead_id, disclosed_at);
CREATE INDEX disclosure_by_partner ON disclosure(partner_id, disclosed_at);
CREATE INDEX disclosure_by_time ON disclosure(disclosed_at);

-- A notice owed to a partner that received a person's data: the record changed (fields lists
-- which; the values are read from the lead when the notice is written) or must be deleted.
CREATE TABLE partner_notice (
    id              TEXT PRIMARY KEY,
    partner_id      TEXT NOT NULL,
    partner_name    TEXT NOT NULL,
    lead_id         TEXT NOT NULL REFERENCES lead(id),
    partner_ref     TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('correction', 'erasure')),
    fields          TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'written', 'acknowledged', 'superseded')),
    created_at      TEXT NOT NULL,
    written_at      TEXT,
    written_to      TEXT,
    acknowledged_at TEXT,
    acknowledged_by TEXT
) STRICT;
CREATE INDEX notice_by_status ON partner_notice(status, partner_id);
CREATE INDEX notice_by_lead ON partner_notice(lead_id);

-- Each promotional-email audience export: when, by whom, which filter, how many.
CREATE TABLE audience_export (
    id          TEXT PRIMARY KEY,
    exported_at TEXT NOT NULL,
    exported_by TEXT NOT NULL,
    segment     TEXT NOT NULL,
    count       INTEGER NOT NULL
) STRICT;

-- Who an export targeted (lead ids only), so a manager can answer "was this person mailed?".
CREATE TABLE audience_member (
    export_id TEXT NOT NULL REFERENCES audience_export(id),
    lead_id   TEXT NOT NULL REFERENCES lead(id),
    PRIMARY KEY (export_id, lead_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX audience_member_by_lead ON audience_member(lead_id);

-- Feedback files already imported, by content hash: importing the same file twice is a no-op.
CREATE TABLE feedback_import (
    hash         TEXT PRIMARY KEY,
    source       TEXT NOT NULL,
    imported_at  TEXT NOT NULL,
    imported_by  TEXT NOT NULL,
    rows         INTEGER NOT NULL,
    opted_out    INTEGER NOT NULL,
    invalidated  INTEGER NOT NULL,
    unknown      INTEGER NOT NULL
) STRICT;
