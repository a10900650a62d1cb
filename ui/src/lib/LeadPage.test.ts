import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, render, screen, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import LeadPage from './LeadPage.svelte';
import { lead } from './test-fixtures';

afterEach(() => {
  cleanup();
  clearMocks();
});

function detail(optedOut: boolean) {
  const blocked = {
    allowed: false,
    reason: { code: 'opted_out', scope: 'all', since: '2026-03-02T10:00:00Z' },
    message: 'opted out of all contact since 2026-03-02 10:00 UTC',
  };
  const open = { allowed: true, reason: null, message: null };
  return {
    lead: lead({ id: 'l1', name: 'Grace Hopper' }),
    local_time: '10:05 Europe/London',
    registrations: [],
    follow_ups: [
      { id: 'f1', lead_id: 'l1', channel: 'phone', direction: 'out', outcome: 'no_answer', note: '<script>x</script>',
        occurred_at: '2026-03-02T09:30:00Z', rep: 'rita', next_follow_up_at: null },
    ],
    consent: { active_opt_outs: [], events: [] },
    channels: (['email', 'phone', 'mail'] as const).map((channel) => ({ channel, decision: optedOut ? blocked : open })),
    subscriber_requests: [],
    corrected_fields: [],
    audit: [],
    disclosures: [
      { id: 'd1', lead_id: 'l1', partner_id: 'p1', partner_name: 'Nordic Reseller', partner_ref: 'l1',
        fields: ['name', 'country'], country: 'DK', basis: 'none_needed',
        disclosed_at: '2026-03-02T09:45:00Z', disclosed_by: 'mona' },
    ],
  };
}

describe('LeadPage', () => {
  it('opts out of all contact and shows every channel blocked with the reason', async () => {
    let optedOut = false;
    const calls: unknown[] = [];
    mockIPC((cmd, args) => {
      calls.push([cmd, args]);
      if (cmd === 'lead_detail') return detail(optedOut);
      if (cmd === 'opt_out') {
        optedOut = true;
        return {};
      }
      throw { code: 'not_found', message: cmd };
    });
    const user = userEvent.setup();
    render(LeadPage, { id: 'l1' });

    expect(await screen.findByRole('heading', { name: 'Grace Hopper' })).toBeInTheDocument();
    expect(screen.getByText(/No answer by rita: <script>x<\/script>/)).toBeInTheDocument();

    await user.click(screen.getByRole('button', { name: 'Opt out of all contact' }));

    expect(await screen.findByText(/Call: opted out of all contact/)).toBeInTheDocument();
    const decisions = screen.getAllByRole('listitem').filter((li) => li.hasAttribute('data-channel'));
    for (const li of decisions) expect(within(li).getByText(/opted out/)).toBeInTheDocument();
    expect(calls).toContainEqual(['opt_out', { lead: 'l1', scope: 'all' }]);
  });

  it('shows each share with a partner on the timeline', async () => {
    mockIPC((cmd) => {
      if (cmd === 'lead_detail') return detail(false);
      throw { code: 'not_found', message: cmd };
    });
    render(LeadPage, { id: 'l1' });
    expect(
      await screen.findByText(/with Nordic Reseller \(DK, none_needed\): name, country by mona/),
    ).toBeInTheDocument();
  });
});
