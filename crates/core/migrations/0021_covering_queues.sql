-- The queue walks answer from their index alone (issue 13, brief Q). A deal walks two hands of
-- leads in queue order; with the indexes of 0001/0002 each candidate was one row of `lead`, and
-- those rows lie in the file in import order, so nearly every candidate was a page of `lead`
-- read for the first time (on an encrypted replica: decrypted and its HMAC checked). The `new`
-- and `due` indexes now hold every column the walk selects and filters on (`LEAD_COLUMNS` in
-- `people::leads`), in queue order, so a walk reads dense index pages that several leads share.
-- `id` follows the order column in both, and their walks break ties by it (before: by rowid,
-- which a longer key no longer follows). `lead_open_queue` stays as it was: it serves the
-- `callable` and user queues over open leads, and a full copy of every open lead (or even its
-- id, +31 MB at 1,000,000 leads) would cost the file and an import more than those walks gain.
-- The names stay: a large import and a first bulk sync set these indexes aside by name and
-- rebuild them from the definition in `sqlite_schema`.
DROP INDEX IF EXISTS lead_new_queue;
CREATE INDEX lead_new_queue ON lead(last_registered_at DESC, id, office, name, company, email,
    phone, address, country, time_zone, status, owner, created_at, attempts, last_attempt_at,
    last_outcome, next_follow_up_at, first_contact_at, email_invalid)
    WHERE status = 'new';
DROP INDEX IF EXISTS lead_due_queue;
CREATE INDEX lead_due_queue ON lead(next_follow_up_at, id, office, name, company, email, phone,
    address, country, time_zone, status, owner, created_at, last_registered_at, attempts,
    last_attempt_at, last_outcome, first_contact_at, email_invalid)
    WHERE next_follow_up_at IS NOT NULL AND status = 'working';
