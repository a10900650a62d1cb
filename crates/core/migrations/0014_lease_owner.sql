-- Queue hands (issue 13): a claim deals a rep several leads at once and gives back the rep's
-- other leases in the same commit. This finds them without reading every lead; it holds only
-- leased rows, so it stays a page or two and a claim dirties one of its pages.
CREATE INDEX lead_lease_owner ON lead(lease_owner) WHERE lease_owner IS NOT NULL;
