-- One erased skeleton everywhere (issue 13): a replica that held a person before their erasure
-- kept their office, country, time zone, owner, call counters, registration times and field
-- clocks on the skeleton, while a replica that first synced afterwards learned only the erasure.
-- Every erased lead now holds what the fresh replica holds (`leads::to_erased_skeleton` does the
-- same to each erasure pulled from now on): the id, the status, the erasure time as `created_at`
-- and `erased_at`, every other column at its default and every clock empty.
-- A lead erased here whose erasure (or field groups) still waits in the outbox keeps its row
-- until the erasure comes back from the server: the push builds those operations from it.
UPDATE lead
   SET office = NULL, country = NULL, time_zone = NULL, owner = NULL,
       created_at = erased_at, last_registered_at = NULL, attempts = 0,
       last_attempt_at = NULL, last_outcome = NULL, next_follow_up_at = NULL,
       first_contact_at = NULL, email_invalid = 0, corrected = '', lease_owner = NULL,
       lease_until = NULL, clock_identity = '', clock_email = '', clock_phone = '',
       clock_postal = '', clock_workflow = '', clock_office = ''
 WHERE status = 'erased' AND erased_at IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM outbox o
                    WHERE o.entity IN ('lead_fields', 'erasure') AND o.entity_id = lead.id);
