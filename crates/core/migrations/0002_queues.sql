-- Named lead queues: a typed filter (JSON of `queue::QueueFilter`, never SQL) and an order.
-- Built-in queues ship as rows so that `queue list` shows them next to users' own.
CREATE TABLE queue (
    name        TEXT PRIMARY KEY,
    description TEXT NOT NULL DEFAULT '',
    filter      TEXT NOT NULL,
    sort        TEXT NOT NULL CHECK (sort IN ('newest_registration', 'oldest_registration', 'due_date')),
    built_in    INTEGER NOT NULL DEFAULT 0,
    created_by  TEXT,
    created_at  TEXT
) STRICT;

INSERT INTO queue(name, description, filter, sort, built_in) VALUES
    ('new', 'Unworked registrations, newest first (speed to lead)', '{"base":"new"}',
     'newest_registration', 1),
    ('due', 'Follow-up date reached, longest overdue first', '{"base":"due"}', 'due_date', 1),
    ('callable', 'Phone allowed right now in the lead''s local time, newest registration first',
     '{"base":"callable"}', 'newest_registration', 1);

-- Leads still being worked (new or working), newest registration first: the walk order of the
-- `callable` queue and of user queues over open leads. `new` and `due` use the indexes of 0001.
CREATE INDEX lead_open_queue ON lead(last_registered_at DESC)
    WHERE status IN ('new', 'working');
