-- The intake rule trigger ran its body (a join of `cadence_rule` and `cadence`, a lookup of the
-- lead's office) for every registration recorded, also on replicas with no rule at all: about
-- 1.5 s of a 1,000,000-row import (issue 14). It now runs only while there is a rule. Its
-- behaviour is unchanged: with no rule the join matched nothing.
DROP TRIGGER cadence_enrol_by_rule;
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
