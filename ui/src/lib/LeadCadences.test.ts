import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, render, screen } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import LeadCadences from './LeadCadences.svelte';
import type { LeadCadence } from './generated/LeadCadence';

afterEach(() => {
  cleanup();
  clearMocks();
});

function enrolment(fields: Partial<LeadCadence['enrollment']>, current: LeadCadence['current'], next: LeadCadence['next']): LeadCadence {
  return {
    enrollment: {
      id: 'e1', lead_id: 'l1', cadence_id: 'c1', cadence: 'Trial', version: 1, step: 0, channel: 'email',
      due_at: '2026-03-02T10:00:00Z', state: 'active', rep: 'rita', enrolled_at: '2026-03-02T09:00:00Z',
      enrolled_by: 'rita', ended_at: null, stop_reason: null, owner_replica: null, ...fields,
    },
    steps: 3,
    current,
    next,
  };
}

const cadence = (id: string, name: string) => ({ id, name, version: 1, steps: [], created_at: '', created_by: 'max' });

describe('LeadCadences', () => {
  it('shows the running step and what comes next in words, stops it, and enrols in another cadence', async () => {
    let stopped = false;
    const asked: [string, unknown][] = [];
    mockIPC((cmd, args) => {
      asked.push([cmd, args]);
      switch (cmd) {
        case 'lead_cadences':
          return stopped
            ? [enrolment({ state: 'stopped', stop_reason: 'manual: rita', ended_at: '2026-03-02T11:00:00Z' }, null, null)]
            : [enrolment({}, { kind: 'email', template: 'Hello' }, { kind: 'wait', business_days: 2 })];
        case 'cadence_list':
          return [cadence('c1', 'Trial'), cadence('c2', 'Webinar follow-up')];
        case 'cadence_stop':
          stopped = true;
          return 1;
        case 'cadence_enroll':
          return { cadence: 'Webinar follow-up', version: 1, enrolled: 1, already: 0, skipped: [] };
        default:
          throw { code: 'not_found', message: cmd };
      }
    });
    const user = userEvent.setup();
    render(LeadCadences, { lead: 'l1' });

    const item = await screen.findByText('Trial', { selector: 'strong' });
    const row = item.closest('li')!;
    expect(row).toHaveTextContent("Running");
    expect(row).toHaveTextContent("Step 1 of 3: Email with the template 'Hello'");
    expect(row).toHaveTextContent('Then: Wait 2 business days.');
    expect(row.textContent).not.toMatch(/_/);

    await user.click(screen.getByRole('button', { name: 'Stop' }));
    expect(await screen.findByText(/stopped by rita/)).toBeInTheDocument();
    expect(asked).toContainEqual(['cadence_stop', { lead: 'l1', cadence: 'c1' }]);

    await user.selectOptions(screen.getByRole('combobox', { name: 'Cadence' }), 'Webinar follow-up');
    await user.click(screen.getByRole('button', { name: 'Enrol' }));
    expect(await screen.findByText("Enrolled in 'Webinar follow-up'.")).toBeInTheDocument();
    expect(asked).toContainEqual(['cadence_enroll', { cadence: 'c2', leads: ['l1'] }]);
  });

  it('says why a cadence stopped by itself, in words', async () => {
    mockIPC((cmd) => {
      if (cmd === 'lead_cadences')
        return [enrolment({ state: 'stopped', stop_reason: 'replied', ended_at: '2026-03-02T11:00:00Z' }, null, null),
          enrolment({ id: 'e2', cadence: 'Old', state: 'stopped', stop_reason: 'opted_out_email' }, null, null)];
      if (cmd === 'cadence_list') return [];
      throw { code: 'not_found', message: cmd };
    });
    render(LeadCadences, { lead: 'l1' });
    expect((await screen.findByText('Trial', { selector: 'strong' })).closest('li')).toHaveTextContent('Stopped — the person replied');
    expect(screen.getByText('Old', { selector: 'strong' }).closest('li')).toHaveTextContent('opted out of email');
    expect(screen.queryByRole('button', { name: 'Stop' })).toBeNull();
  });
});
