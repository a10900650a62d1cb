-- Email from the rep's own mailbox. Templates are the office's email library on this laptop;
-- the outbox holds what is waiting to be sent, by reference only: the lead's id and a copy of
-- the template's text (no personal information — the address, subject and body are filled in
-- from the lead at the moment of sending, after the gate), so an erasure leaves nothing here.
-- What a sent mail did is recorded as email follow-ups, which sync like any other.

CREATE TABLE email_template (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE COLLATE NOCASE,
    subject    TEXT NOT NULL,
    body       TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
) STRICT;

-- One mail to send. `message_id` is fixed when queued, so a retry is recognisable.
-- state: queued → sending → sent; or cancelled (the gate refused at sending) or failed
-- (the server refused the recipient for good). A row left in `sending` was interrupted in the
-- middle of the SMTP exchange: it is never resent by itself (the rep checks and retries).
CREATE TABLE mail_outbox (
    id            TEXT PRIMARY KEY,
    message_id    TEXT NOT NULL UNIQUE,
    lead_id       TEXT NOT NULL REFERENCES lead(id),
    template_id   TEXT,
    subject       TEXT NOT NULL,
    body          TEXT NOT NULL,
    rep           TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('queued', 'sending', 'sent', 'cancelled', 'failed')),
    queued_at     TEXT NOT NULL,
    attempted_at  TEXT,
    sent_at       TEXT,
    follow_up_id  TEXT,
    -- The keyed hash (as for suppression) of the address it went to, so a bounce marks that
    -- address invalid and not one the lead has given since.
    to_hash       TEXT,
    error_code    TEXT,
    error         TEXT
) STRICT;
CREATE INDEX mail_outbox_state ON mail_outbox(state, queued_at);
CREATE INDEX mail_outbox_lead ON mail_outbox(lead_id);

-- Replies and delivery-status notifications already recorded, by their own Message-ID, so a
-- message read twice is logged once.
CREATE TABLE mail_inbound (
    message_id  TEXT PRIMARY KEY,
    outbox_id   TEXT NOT NULL REFERENCES mail_outbox(id),
    kind        TEXT NOT NULL CHECK (kind IN ('reply', 'hard_bounce', 'soft_bounce')),
    recorded_at TEXT NOT NULL
) STRICT;
