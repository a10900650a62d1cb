-- The managers' cadence review (`review::cadences`) counts the enrolments that started in a
-- period: this index walks just that range and holds every column the review groups by, so the
-- counts never read the enrolment rows themselves.
CREATE INDEX cadence_enrollment_by_start
    ON cadence_enrollment(enrolled_at, cadence_id, version, step, state, stop_reason, lead_id);

-- A lead's enrolments in any state: the call session's due steps (`enrollment::for_lead`, asked
-- by every `queue next`) and the intake rule's "not enrolled in this cadence before" looked at
-- every enrolment without it, since 0011's per-lead index holds active ones only. With 1,000,000
-- enrolments that scan made `queue next` miss its 2 ms goal (docs/BENCHMARKS.md).
CREATE INDEX cadence_enrollment_by_lead ON cadence_enrollment(lead_id, enrolled_at);
