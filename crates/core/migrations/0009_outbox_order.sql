-- The push sends compliance entries (consent, erasure, subscriber requests) ahead of bulk data;
-- this index finds them without scanning a long queue of imported registrations for each batch.
CREATE INDEX IF NOT EXISTS outbox_by_entity ON outbox(entity, seq);
