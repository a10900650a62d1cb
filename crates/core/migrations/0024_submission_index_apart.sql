-- A registration's submission id was unique through a column constraint, whose index SQLite
-- cannot drop. Submission ids (and the content keys standing in for missing ones) come in no
-- order, so each row of an import landed on a random page of that index: at a million rows it
-- took about as many writes as all the other indexes together (issue 14). The same rule is now
-- a named unique index, which a large import can set aside and build once at its end
-- (`intake::import::deferral`); `people::registration` makes every other writer build it first.
-- The table is rebuilt with the same columns in the same order, rows and rowids kept.
CREATE TABLE registration_rebuilt (
    id            TEXT PRIMARY KEY,
    lead_id       TEXT NOT NULL REFERENCES lead(id),
    submission_id TEXT,
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
    received_at   TEXT NOT NULL,
    user_agent_ref INTEGER,
    referrer_ref  INTEGER
) STRICT;
INSERT INTO registration_rebuilt(rowid, id, lead_id, submission_id, kind, product, submitted_at,
        name, company, email, phone, address, country, ip, user_agent, referrer, pages_visited,
        form_version, received_at, user_agent_ref, referrer_ref)
    SELECT rowid, id, lead_id, submission_id, kind, product, submitted_at, name, company, email,
           phone, address, country, ip, user_agent, referrer, pages_visited, form_version,
           received_at, user_agent_ref, referrer_ref
      FROM registration ORDER BY rowid;
DROP TABLE registration;
ALTER TABLE registration_rebuilt RENAME TO registration;
CREATE UNIQUE INDEX registration_by_submission ON registration(submission_id);
CREATE INDEX registration_by_lead ON registration(lead_id, submitted_at);
CREATE INDEX registration_by_user_agent ON registration(user_agent_ref)
    WHERE user_agent_ref IS NOT NULL;
CREATE INDEX registration_by_referrer ON registration(referrer_ref)
    WHERE referrer_ref IS NOT NULL;
-- As migration 0023 left it: dropped with the old table.
CREATE TRIGGER cadence_enrol_by_rule AFTER INSERT ON registration
WHEN NOT EXISTS (SELECT 1 FROM sync_applying) AND EXISTS (SELECT 1 FROM cadence_rule)
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
