-- Cadences sync (protocol 3, issue 12): definitions, intake rules and enrolments travel as
-- operations; the replica that created an enrolment (or the one the server named) owns it and
-- alone runs its steps. See docs/SYNC.md, "Cadences".

-- NULL: this replica owns the enrolment and runs its steps. Otherwise the owner's replica id;
-- such a row keeps `due_at` NULL (so no queue, letter batch or advance here ever picks it up)
-- and shows the owner's due time from `remote_due_at`.
ALTER TABLE cadence_enrollment ADD COLUMN owner_replica TEXT;
ALTER TABLE cadence_enrollment ADD COLUMN remote_due_at TEXT;

-- One row while a pulled page is being applied (inside its transaction): the triggers below
-- tell pulled writes from local ones by it.
CREATE TABLE sync_applying (id INTEGER PRIMARY KEY CHECK (id = 1)) STRICT;

-- Intake rules run where a registration first enters: a local intake (import, CLI, window) on
-- this replica, the website's on the server. A registration pulled from the server was enrolled
-- there already, so every laptop that pulls it enrolling it too would run its steps N times.
DROP TRIGGER cadence_enrol_by_rule;
CREATE TRIGGER cadence_enrol_by_rule AFTER INSERT ON registration
WHEN NOT EXISTS (SELECT 1 FROM sync_applying)
BEGIN
    INSERT INTO cadence_enrollment(id, lead_id, cadence_id, version, enrolled_at, enrolled_by)
    SELECT lower(hex(randomblob(16))), NEW.lead_id, c.id, c.current_version, NEW.received_at,
           'rule:' || r.id
      FROM cadence_rule r JOIN cadence c ON c.id = r.cadence_id
     WHERE (r.kind IS NULL OR r.kind = NEW.kind)
       AND (r.product IS NULL OR r.product = NEW.product)
       AND (r.country IS NULL OR r.country = NEW.country)
       AND (r.office IS NULL
            OR r.office = (SELECT office FROM lead WHERE id = NEW.lead_id))
       AND NOT EXISTS (SELECT 1 FROM cadence_enrollment e
                        WHERE e.lead_id = NEW.lead_id AND e.cadence_id = c.id)
     GROUP BY c.id;
END;

-- Every state change of an enrolment made here is pushed: an enrolment made on this replica, an
-- advance by its owner, a stop recorded here (by hand or by the stop triggers). `unsent` marks
-- it; the push turns marked rows into outbox entries (`replica::materialize`), so enrolling
-- 100,000 leads writes no outbox row per lead (an outbox row per insert made it four times
-- slower). A row is marked by default; a pulled one is written unmarked. A pulled change is not
-- pushed back, except on the owner: a pulled reply or opt-out stops the owner's enrolment and
-- the owner tells the office, so the server and every replica end stopped even when the event
-- was recorded where the enrolment was not yet known.
ALTER TABLE cadence_enrollment ADD COLUMN unsent INTEGER NOT NULL DEFAULT 1;
CREATE INDEX cadence_enrollment_unsent ON cadence_enrollment(unsent) WHERE unsent = 1;

CREATE TRIGGER cadence_enrollment_push_change
AFTER UPDATE OF state, step, due_at ON cadence_enrollment
WHEN (NEW.state IS NOT OLD.state OR NEW.step IS NOT OLD.step OR NEW.due_at IS NOT OLD.due_at)
 AND (NEW.owner_replica IS NULL OR NOT EXISTS (SELECT 1 FROM sync_applying))
BEGIN
    UPDATE cadence_enrollment SET unsent = 1 WHERE id = NEW.id;
END;

-- Cadences, rules and enrolments made before this version were local: they go with the next
-- push like new ones (the enrolments through `unsent`'s default).
INSERT INTO outbox(entity, entity_id, detail)
    SELECT 'cadence', cadence_id, CAST(version AS TEXT) FROM cadence_version
     ORDER BY created_at, cadence_id, version;
INSERT INTO outbox(entity, entity_id) SELECT 'cadence_rule', id FROM cadence_rule ORDER BY created_at, id;
