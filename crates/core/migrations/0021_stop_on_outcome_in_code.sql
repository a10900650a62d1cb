-- A follow-up's outcome stops the lead's cadences in code now (`enrollment::stop_on_outcome`,
-- called by `followup::insert_indexed`, the one place that inserts follow-ups), no longer by
-- 0011's trigger. `follow_up` sits in `outreach` beside the cadences, so it may call them; and an
-- AFTER INSERT trigger runs its program for every row, WHEN clause included, which cost a bulk
-- first sync about 4 µs per follow-up (issue 14): most outcomes stop nothing.
DROP TRIGGER IF EXISTS cadence_stop_on_outcome;
