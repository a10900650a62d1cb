-- Smaller rows for what an import writes most (issue 14).
--
-- 1. A lead's field groups that hold the same stamp as `clock_identity` say so with '=' instead
--    of repeating its 56 characters (`people::leads::SAME_CLOCK`; read through `group_clock`).
--    A new lead's six groups share one stamp: 280 bytes less per lead. Builds before this
--    migration would read '=' as a stamp, which is why it is a migration (they refuse a schema
--    newer than theirs) and not only a change of what new rows hold.
UPDATE lead SET
    clock_email    = CASE clock_email    WHEN clock_identity THEN '=' ELSE clock_email END,
    clock_phone    = CASE clock_phone    WHEN clock_identity THEN '=' ELSE clock_phone END,
    clock_postal   = CASE clock_postal   WHEN clock_identity THEN '=' ELSE clock_postal END,
    clock_workflow = CASE clock_workflow WHEN clock_identity THEN '=' ELSE clock_workflow END,
    clock_office   = CASE clock_office   WHEN clock_identity THEN '=' ELSE clock_office END
WHERE clock_identity <> ''
  AND clock_identity IN (clock_email, clock_phone, clock_postal, clock_workflow, clock_office);

-- 2. The outbox is searched by entity and id for everything but registrations (compliance
--    entries, a lead's field groups, authored records at sign-in); a registration entry is only
--    ever read in sequence order. Leaving them out of the index halves it after an import.
--    Queries that use it repeat the index's condition (`store::outbox::INDEXED`).
DROP INDEX IF EXISTS outbox_by_entity;
CREATE INDEX outbox_by_entity ON outbox(entity, entity_id, seq) WHERE entity <> 'registration';

-- 3. A registration's browser and referrer are a handful of distinct texts across thousands of
--    registrations (136 of a registration's 515 bytes in an import): each distinct text is kept
--    once in `registration_text` and the registration refers to it (`people::registration`).
--    Rows written before keep their text in place; both are read the same way. An erasure
--    deletes the texts no registration refers to any more.
CREATE TABLE registration_text (
    id    INTEGER PRIMARY KEY,
    value TEXT NOT NULL UNIQUE
) STRICT;
ALTER TABLE registration ADD COLUMN user_agent_ref INTEGER;
ALTER TABLE registration ADD COLUMN referrer_ref INTEGER;
CREATE INDEX registration_by_user_agent ON registration(user_agent_ref)
    WHERE user_agent_ref IS NOT NULL;
CREATE INDEX registration_by_referrer ON registration(referrer_ref)
    WHERE referrer_ref IS NOT NULL;
INSERT OR IGNORE INTO registration_text(value)
    SELECT user_agent FROM registration WHERE user_agent IS NOT NULL
    UNION SELECT referrer FROM registration WHERE referrer IS NOT NULL;
UPDATE registration SET
    user_agent_ref = (SELECT id FROM registration_text WHERE value = registration.user_agent),
    referrer_ref = (SELECT id FROM registration_text WHERE value = registration.referrer),
    user_agent = NULL,
    referrer = NULL
WHERE user_agent IS NOT NULL OR referrer IS NOT NULL;
