-- The managers' cadence review (`review::cadences`) counts the enrolments that started in a
-- period: this index walks just that range and holds every column the review groups by, so the
-- counts never read the enrolment rows themselves.
CREATE INDEX cadence_enrollment_by_start
    ON cadence_enrollment(enrolled_at, cadence_id, version, step, state, stop_reason, lead_id);
