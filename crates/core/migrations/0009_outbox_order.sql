-- The push sends compliance entries (consent, erasure, subscriber requests) ahead of bulk data,
-- each with the earlier field-group entries of its lead; this index finds both without scanning
-- a long queue of imported registrations for each batch.
CREATE INDEX IF NOT EXISTS outbox_by_entity ON outbox(entity, entity_id, seq);
