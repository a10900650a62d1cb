// Builders for the component tests: a complete `Lead` with only the interesting fields given.
import type { Lead } from './generated/Lead';

/** A new lead with every field filled in plausibly, overridden by `fields`. */
export function lead(fields: Partial<Lead> & { id: string }): Lead {
  return {
    office: null,
    name: 'Ada Lovelace',
    company: 'Analytical Engines Ltd',
    email: 'ada@example.com',
    phone: '+442071234567',
    address: null,
    country: 'GB',
    time_zone: 'Europe/London',
    status: 'new',
    owner: null,
    created_at: '2026-03-02T09:00:00Z',
    last_registered_at: '2026-03-02T09:00:00Z',
    attempts: 0,
    last_attempt_at: null,
    last_outcome: null,
    next_follow_up_at: null,
    first_contact_at: null,
    email_invalid: false,
    ...fields,
  };
}
