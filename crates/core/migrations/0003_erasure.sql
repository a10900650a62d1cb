-- Erasures done on or pulled to this replica. No personal information: the sync push builds the
-- `lead_erased` operation from this row, and the hashes let any replica suppress the person.
CREATE TABLE erasure (
    lead_id   TEXT PRIMARY KEY REFERENCES lead(id),
    erased_at TEXT NOT NULL,
    erased_by TEXT NOT NULL,
    -- JSON array of {"kind": "email"|"phone", "hash": hex HMAC-SHA256}
    hashes    TEXT NOT NULL DEFAULT '[]'
) STRICT;
