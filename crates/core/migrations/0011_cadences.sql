-- Cadences (issue 12): a manager's planned series of steps (email, call, letter, wait) and the
-- leads enrolled in them. Local to this replica for now (sync of cadences is a later protocol
-- version). Only lead ids here, never personal information; every table keyed by `lead_id` is
-- cleared when a lead leaves this replica (`replica::apply` revoke).

-- A cadence by name; `current_version` is the version new enrolments start on.
CREATE TABLE cadence (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL UNIQUE COLLATE NOCASE,
    current_version INTEGER NOT NULL,
    created_at      TEXT NOT NULL,
    created_by      TEXT NOT NULL
) STRICT;

-- Every version's steps as JSON, never changed once written: editing a cadence adds a version,
-- so a lead keeps the steps it was enrolled on.
CREATE TABLE cadence_version (
    cadence_id TEXT NOT NULL REFERENCES cadence(id),
    version    INTEGER NOT NULL,
    steps      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    PRIMARY KEY (cadence_id, version)
) STRICT, WITHOUT ROWID;

-- Enrolment at intake: a registration matching every non-null column enrols its lead.
CREATE TABLE cadence_rule (
    id         TEXT PRIMARY KEY,
    cadence_id TEXT NOT NULL REFERENCES cadence(id),
    kind       TEXT,
    product    TEXT COLLATE NOCASE,
    country    TEXT,
    office     TEXT,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL
) STRICT;

-- One lead in one cadence. `step` is the index of the next step to run (waits are folded into
-- `due_at`), `channel` that step's channel; `due_at` is NULL while an enrolment made by the
-- database itself (intake rule) waits to be planned, and once it ends.
CREATE TABLE cadence_enrollment (
    id           TEXT PRIMARY KEY,
    lead_id      TEXT NOT NULL REFERENCES lead(id),
    cadence_id   TEXT NOT NULL,
    version      INTEGER NOT NULL,
    step         INTEGER NOT NULL DEFAULT 0,
    channel      TEXT CHECK (channel IN ('email', 'phone', 'mail')),
    due_at       TEXT,
    state        TEXT NOT NULL DEFAULT 'active'
                 CHECK (state IN ('active', 'completed', 'stopped')),
    rep          TEXT,
    enrolled_at  TEXT NOT NULL,
    enrolled_by  TEXT NOT NULL,
    ended_at     TEXT,
    stop_reason  TEXT,
    FOREIGN KEY (cadence_id, version) REFERENCES cadence_version(cadence_id, version)
) STRICT;
CREATE UNIQUE INDEX cadence_enrollment_one_active
    ON cadence_enrollment(lead_id, cadence_id) WHERE state = 'active';
CREATE INDEX cadence_enrollment_due ON cadence_enrollment(due_at) WHERE state = 'active';
CREATE INDEX cadence_enrollment_by_cadence ON cadence_enrollment(cadence_id, state);

-- Stops. Each event that ends a cadence is recorded in a table of a lower part of the core
-- (follow-ups, consent, the lead row), which may not call up into `outreach`; these triggers are
-- that one call per place, and they fire for events synced from other replicas too.

-- A reply, meeting, "not interested", a conversion or a bounce, in either direction.
CREATE TRIGGER cadence_stop_on_outcome AFTER INSERT ON follow_up
WHEN NEW.outcome IN ('replied', 'meeting_booked', 'not_interested', 'converted', 'bounced')
BEGIN
    UPDATE cadence_enrollment
       SET state = 'stopped', due_at = NULL, ended_at = NEW.occurred_at,
           stop_reason = NEW.outcome
     WHERE lead_id = NEW.lead_id AND state = 'active';
END;

-- An opt-out of all contact, or of the channel of the step that would run next.
CREATE TRIGGER cadence_stop_on_opt_out AFTER INSERT ON consent_event
WHEN NEW.action = 'opt_out'
BEGIN
    UPDATE cadence_enrollment
       SET state = 'stopped', due_at = NULL, ended_at = NEW.occurred_at,
           stop_reason = 'opted_out_' || NEW.scope
     WHERE lead_id = NEW.lead_id AND state = 'active'
       AND (NEW.scope = 'all' OR channel = NEW.scope);
END;

-- Erasure, closing the lead, a hard bounce (email marked invalid), another office.
CREATE TRIGGER cadence_stop_on_lead_change
AFTER UPDATE OF status, email_invalid, office ON lead
WHEN NEW.status IN ('erased', 'closed')
  OR (NEW.email_invalid AND NOT OLD.email_invalid)
  OR NEW.office IS NOT OLD.office
BEGIN
    UPDATE cadence_enrollment
       SET state = 'stopped', due_at = NULL,
           ended_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now'),
           stop_reason = CASE
               WHEN NEW.status = 'erased' THEN 'erased'
               WHEN NEW.status = 'closed' THEN 'closed'
               WHEN NEW.office IS NOT OLD.office THEN 'moved_office'
               ELSE 'bounced' END
     WHERE lead_id = NEW.id AND state = 'active';
END;

-- Enrolment by rule at intake: every registration path (website via sync, file import, the
-- CLI) inserts a registration row, so the rule lives here; the cadence module plans `due_at`.
CREATE TRIGGER cadence_enrol_by_rule AFTER INSERT ON registration
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
