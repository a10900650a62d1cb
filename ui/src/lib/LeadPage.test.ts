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
    permissions: { role: null, carry_out: true, reason: null },
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
    // The history names channel, direction, outcome and status in words, never identifiers.
    expect(screen.getByText('Call (outbound)')).toBeInTheDocument();
    expect(screen.queryByText(/no_answer/)).toBeNull();
    expect(screen.getByText('Status').nextElementSibling).toHaveTextContent(/^New$/);

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
      await screen.findByText(/with Nordic Reseller \(DK, no transfer basis needed\): name, country by mona/),
    ).toBeInTheDocument();
  });

  it('edits a field as a correction: Enter saves, the new value shows', async () => {
    let company = 'Analytical Engines Ltd';
    const calls: unknown[] = [];
    mockIPC((cmd, args) => {
      calls.push([cmd, args]);
      if (cmd === 'lead_detail') return { ...detail(false), lead: lead({ id: 'l1', name: 'Grace Hopper', company }) };
      if (cmd === 'correct_lead') {
        const old = company;
        company = 'Compiler Works';
        return { lead_id: 'l1', changed: [{ field: 'company', old, new: company }], locked: ['company'], request_id: 'r1' };
      }
      throw { code: 'not_found', message: cmd };
    });
    const user = userEvent.setup();
    render(LeadPage, { id: 'l1' });

    await user.click(await screen.findByRole('button', { name: 'Edit company' }));
    const input = screen.getByRole('textbox', { name: 'Company' });
    expect(input).toHaveFocus();
    await user.clear(input);
    await user.type(input, 'Compiler Works{Enter}');

    expect(await screen.findByText('Corrected company: Analytical Engines Ltd → Compiler Works.')).toBeInTheDocument();
    expect(calls).toContainEqual(['correct_lead', { lead: 'l1', changes: { company: 'Compiler Works' } }]);
    expect(screen.queryByRole('textbox', { name: 'Company' })).not.toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Edit company' })).toHaveFocus();
  });

  it("shows the core's refusal next to the field, keeps what was typed, and Escape cancels", async () => {
    mockIPC((cmd) => {
      if (cmd === 'lead_detail') return detail(false);
      if (cmd === 'correct_lead') throw { code: 'bad_input', message: "email: 'ada@' is not a valid address" };
      throw { code: 'not_found', message: cmd };
    });
    const user = userEvent.setup();
    render(LeadPage, { id: 'l1' });

    await user.click(await screen.findByRole('button', { name: 'Edit email' }));
    const input = screen.getByRole('textbox', { name: 'Email' });
    await user.clear(input);
    await user.type(input, 'ada@{Enter}');

    const error = await screen.findByText("email: 'ada@' is not a valid address");
    expect(error.closest('dd')).toHaveAttribute('data-field', 'email');
    expect(input).toHaveValue('ada@');
    expect(input).toHaveAttribute('aria-invalid', 'true');
    expect(input).toHaveAccessibleDescription("email: 'ada@' is not a valid address");

    await user.type(input, '{Escape}');
    expect(screen.queryByRole('textbox', { name: 'Email' })).not.toBeInTheDocument();
    expect(screen.getByText('ada@example.com')).toBeInTheDocument();
  });

  it('erases through the confirmation and then shows only the skeleton', async () => {
    let erased = false;
    const calls: string[] = [];
    mockIPC((cmd) => {
      calls.push(cmd);
      if (cmd === 'lead_detail') {
        if (!erased) return detail(false);
        return {
          ...detail(false),
          lead: lead({ id: 'l1', name: null, company: null, email: null, phone: null, status: 'erased' }),
          disclosures: [],
          follow_ups: [],
          audit: [{ id: 'a1', at: '2026-03-03T10:00:00Z', actor: 'maria', lead_id: 'l1', action: 'erase', field: null,
            old_value: null, new_value: null }],
        };
      }
      if (cmd === 'erase_preview') {
        return { lead_id: 'l1', name: 'Grace Hopper', company: null, email: 'grace@example.com', phone: null, address: null,
          lead_fields: 2, registrations: 2, follow_up_notes: 1, consent_evidence: 0, request_details: 0, audit_entries: 3,
          identifiers: 1 };
      }
      if (cmd === 'erase_lead') {
        erased = true;
        return { lead_id: 'l1', registrations: 2, follow_up_notes: 1, audit_entries: 3 };
      }
      throw { code: 'not_found', message: cmd };
    });
    const user = userEvent.setup();
    render(LeadPage, { id: 'l1' });

    await user.click(await screen.findByRole('button', { name: 'Erase…' }));
    const dialog = await screen.findByRole('dialog', { name: 'Erase Grace Hopper for good?' });
    await user.type(within(dialog).getByRole('textbox'), 'GRACE@example.com ');
    await user.click(within(dialog).getByRole('button', { name: 'Erase permanently' }));

    expect(await screen.findByRole('heading', { name: 'Erased person' })).toBeInTheDocument();
    expect(screen.getByText(/erased on .* by maria/)).toBeInTheDocument();
    expect(screen.queryByText('Grace Hopper')).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Erase…' })).not.toBeInTheDocument();
    expect(screen.queryByRole('button', { name: /Edit/ })).not.toBeInTheDocument();
    expect(calls.filter((c) => c === 'erase_lead')).toHaveLength(1);
  });

  it("disables erasing and exporting for a role that may not carry requests out, with the core's reason", async () => {
    const reason = 'carrying out erasures, access exports and corrections is for a manager of the office, …';
    mockIPC((cmd) => {
      if (cmd === 'lead_detail') return { ...detail(false), permissions: { role: 'rep', carry_out: false, reason } };
      throw { code: 'not_found', message: cmd };
    });
    render(LeadPage, { id: 'l1' });

    const erase = await screen.findByRole('button', { name: 'Erase…' });
    const exportButton = screen.getByRole('button', { name: 'Export access report…' });
    for (const button of [erase, exportButton]) {
      expect(button).toBeDisabled();
      expect(button).toHaveAccessibleDescription(reason);
    }
    // Opting out stays everyone's.
    expect(screen.getByRole('button', { name: 'Opt out of all contact' })).toBeEnabled();
  });

  it('exports the access report to the file the user picks, and says so when cancelled', async () => {
    let answer: unknown = { lead_id: 'l1', path: '/home/maria/access-report-l1.json', registrations: 2, follow_ups: 1,
      request_id: 'r1' };
    mockIPC((cmd, args) => {
      if (cmd === 'lead_detail') return detail(false);
      if (cmd === 'save_access_report') {
        expect(args).toEqual({ lead: 'l1' });
        return answer;
      }
      throw { code: 'not_found', message: cmd };
    });
    const user = userEvent.setup();
    render(LeadPage, { id: 'l1' });

    await user.click(await screen.findByRole('button', { name: 'Export access report…' }));
    expect(
      await screen.findByText('Saved the access report (2 registrations, 1 follow-ups) to /home/maria/access-report-l1.json.'),
    ).toBeInTheDocument();
    answer = null;
    await user.click(screen.getByRole('button', { name: 'Export access report…' }));
    expect(await screen.findByText('Export cancelled; nothing was saved.')).toBeInTheDocument();
  });

  it('records a request received earlier, due a month later', async () => {
    const calls: unknown[] = [];
    mockIPC((cmd, args) => {
      calls.push([cmd, args]);
      if (cmd === 'lead_detail') return detail(false);
      if (cmd === 'record_request') {
        return { id: 'r9', lead_id: 'l1', kind: 'erase', received_at: '2026-01-05T12:00:00Z', due_at: '2026-02-05T12:00:00Z',
          status: 'open', detail: 'by letter', handled_by: null, handled_at: null };
      }
      throw { code: 'not_found', message: cmd };
    });
    const user = userEvent.setup();
    render(LeadPage, { id: 'l1' });

    await user.selectOptions(await screen.findByRole('combobox', { name: 'Request' }), 'erase');
    const date = screen.getByLabelText('Received on');
    await user.clear(date);
    await user.type(date, '2026-01-05');
    await user.type(screen.getByRole('textbox', { name: 'Detail (optional)' }), 'by letter');
    await user.click(screen.getByRole('button', { name: 'Record request' }));

    expect(await screen.findByText(/Recorded the erasure request, due/)).toBeInTheDocument();
    const recorded = calls.find((c) => (c as [string])[0] === 'record_request') as [string, Record<string, unknown>];
    expect(recorded[1]).toMatchObject({ lead: 'l1', kind: 'erase', detail: 'by letter' });
    expect(new Date(recorded[1].receivedAt as string).toISOString()).toBe(new Date('2026-01-05T12:00:00').toISOString());
  });
});
