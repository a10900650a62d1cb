-- Leases move out of the lead rows (issue 13). A claim used to rewrite a lead row's page, and a
-- rep's hand of leads (several claimed in one commit) touched a page per lead, scattered over
-- the table; on an encrypted replica each page a commit writes is encrypted and MACed. This
-- table holds only the claims, a page or two, with no index besides its key, so a commit that
-- deals a hand writes about one page. `lead.lease_owner`/`lease_until` stay unused (migrations
-- are append-only).
CREATE TABLE lead_lease (
    lead_id TEXT PRIMARY KEY,
    owner   TEXT NOT NULL,
    until   TEXT NOT NULL
) WITHOUT ROWID, STRICT;

INSERT INTO lead_lease(lead_id, owner, until)
SELECT id, lease_owner, lease_until FROM lead
 WHERE lease_owner IS NOT NULL AND lease_until IS NOT NULL;

UPDATE lead SET lease_owner = NULL, lease_until = NULL
 WHERE lease_owner IS NOT NULL OR lease_until IS NOT NULL;
