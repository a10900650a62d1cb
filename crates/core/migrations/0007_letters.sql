-- Postal letters and follow-up reminders. All of it stays on this laptop: templates are the
-- office's letter library on this machine, the batch is today's pile of envelopes, reminders
-- remember which due dates were already announced. A letter sent is recorded as a mail
-- follow-up, which syncs like any other. Only lead ids here, never personal information, and
-- every table keyed by `lead_id` is cleared when a lead leaves this replica.

-- Letter templates with merge fields (`{{first_name}}`, …), checked when saved.
CREATE TABLE letter_template (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE COLLATE NOCASE,
    body       TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
) STRICT;

-- Leads waiting for the next printed batch; added through the gate, emptied when sent.
CREATE TABLE letter_batch (
    lead_id  TEXT PRIMARY KEY REFERENCES lead(id),
    added_at TEXT NOT NULL,
    added_by TEXT NOT NULL
) STRICT;

-- Follow-up due dates a user was already reminded of, so each reminder fires once.
CREATE TABLE reminder_sent (
    lead_id     TEXT NOT NULL REFERENCES lead(id),
    due_at      TEXT NOT NULL,
    user        TEXT NOT NULL,
    notified_at TEXT NOT NULL,
    PRIMARY KEY (lead_id, due_at, user)
) STRICT, WITHOUT ROWID;
