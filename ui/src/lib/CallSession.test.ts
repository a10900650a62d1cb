import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, render, screen, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import CallSession from './CallSession.svelte';
import { lead } from './test-fixtures';
import type { ChannelDecision } from './generated/ChannelDecision';

afterEach(() => {
  cleanup();
  clearMocks();
});

const allowed = (channel: ChannelDecision['channel']): ChannelDecision => ({
  channel,
  decision: { allowed: true, reason: null, message: null },
});

const optedOutOfPhone: ChannelDecision = {
  channel: 'phone',
  decision: {
    allowed: false,
    reason: { code: 'opted_out', scope: 'phone', since: '2026-03-01T00:00:00Z' },
    message: 'opted out of phone since 2026-03-01',
  },
};

type Handler = (args: unknown) => unknown;

/** The arguments of every `queue_next` call the screen made, in order. */
let nextCalls: unknown[] = [];

function serve(people: { name: string; channels: ChannelDecision[] }[], extra: Record<string, Handler> = {}) {
  const logged: unknown[] = [];
  let served = 0;
  nextCalls = [];
  mockIPC((cmd, args) => {
    const current = people[served - 1];
    switch (cmd) {
      case 'queue_list':
        return [{ name: 'new', description: '', filter: {}, order: 'newest_registration', built_in: true }];
      case 'queue_next': {
        nextCalls.push(args);
        if (served >= people.length) return null;
        const p = people[served++];
        return { lead: lead({ id: `l${served}`, name: p.name }), reasons: ['registered just now'], channels: p.channels, queue: 'new', lease_until: '2026-03-02T10:00:00Z' };
      }
      case 'lead_detail':
        return {
          lead: lead({ id: `l${served}`, name: current.name }),
          local_time: '10:05 Europe/London',
          registrations: [
            {
              id: 'r1', lead_id: `l${served}`, submission_id: null, kind: 'demo_request', product: 'Switchboard Pro',
              submitted_at: '2026-03-02T09:00:00Z', name: current.name, company: null, email: null, phone: null,
              address: null, country: 'GB', ip: '203.0.113.9', user_agent: 'Firefox/140', referrer: 'https://search.example/',
              pages_visited: ['/pricing', '/demo'], form_version: 'v3',
            },
          ],
          follow_ups: [], consent: { active_opt_outs: [], events: [] }, channels: current.channels,
          subscriber_requests: [], corrected_fields: [], audit: [], disclosures: [],
        };
      case 'log_follow_up':
        logged.push(args);
        return { id: 'f1' };
      case 'lead_cadences':
        return extra[cmd] ? extra[cmd](args) : [];
      default:
        if (extra[cmd]) return extra[cmd](args);
        throw { code: 'not_found', message: `no command ${cmd}` };
    }
  });
  return logged;
}

describe('CallSession', () => {
  it('takes the next lead with N, logs an outcome by number key and Enter, then shows the next', async () => {
    const logged = serve([
      { name: 'Grace Hopper', channels: [allowed('phone'), allowed('email')] },
      { name: 'Ada Lovelace', channels: [allowed('phone')] },
    ]);
    const user = userEvent.setup();
    render(CallSession);
    await screen.findByRole('option', { name: 'new' });

    await user.keyboard('n');
    const card = await screen.findByRole('article', { name: /current lead/i });
    expect(await within(card).findByText('Grace Hopper')).toBeInTheDocument();
    expect(await within(card).findByText('/pricing, /demo')).toBeInTheDocument();
    expect(within(card).getByText('10:05 Europe/London')).toBeInTheDocument();

    await user.keyboard('2');
    expect(screen.getByRole('button', { name: /no answer/i })).toHaveAttribute('aria-pressed', 'true');
    await user.type(screen.getByRole('textbox', { name: 'Note' }), 'try again later{Enter}');

    expect(await screen.findByText('Ada Lovelace')).toBeInTheDocument();
    expect(logged).toEqual([
      { lead: 'l1', channel: 'phone', outcome: 'no_answer', note: 'try again later', nextFollowUpAt: null },
    ]);
    // The lead the rep is done with is passed on, so the core gives it back in the same claim.
    expect(nextCalls).toEqual([{ queue: 'new' }, { queue: 'new', previous: 'l1' }]);
  });

  it('disables a blocked channel and says why', async () => {
    serve([{ name: 'Opted Out', channels: [optedOutOfPhone, allowed('email')] }]);
    const user = userEvent.setup();
    render(CallSession);
    await screen.findByRole('option', { name: 'new' });

    await user.click(screen.getByRole('button', { name: /next lead/i }));

    const call = await screen.findByRole('button', { name: 'Call' });
    expect(call).toBeDisabled();
    expect(call).toHaveAccessibleDescription('opted out of phone since 2026-03-01');
    expect(screen.getByRole('button', { name: 'Email' })).toBeEnabled();
  });

  it('shows registration markup as text', async () => {
    serve([{ name: '<img src=x onerror=alert(1)>', channels: [allowed('phone')] }]);
    const user = userEvent.setup();
    render(CallSession);
    await screen.findByRole('option', { name: 'new' });

    await user.keyboard('n');

    const card = await screen.findByRole('article', { name: /current lead/i });
    expect(await within(card).findByRole('heading', { name: '<img src=x onerror=alert(1)>' })).toBeInTheDocument();
    expect(card.querySelector('img')).toBeNull();
  });

  it('says so when the queue is empty', async () => {
    serve([]);
    const user = userEvent.setup();
    render(CallSession);
    await screen.findByRole('option', { name: 'new' });

    await user.keyboard('n');

    expect(await screen.findByText(/nothing to call/i)).toBeInTheDocument();
  });

  it('opens tel: through the shell when Call is pressed and keeps the log panel on phone', async () => {
    const opened: unknown[] = [];
    serve([{ name: 'Grace Hopper', channels: [allowed('phone'), allowed('email')] }], {
      contact_open: (args) => {
        opened.push(args);
        return { url: 'tel:+442071234567' };
      },
    });
    const user = userEvent.setup();
    render(CallSession);
    await screen.findByRole('option', { name: 'new' });
    await user.keyboard('n');

    await user.click(await screen.findByRole('button', { name: 'Call' }));

    expect(await screen.findByText('Opened tel:+442071234567.')).toBeInTheDocument();
    expect(opened).toEqual([{ lead: 'l1', channel: 'phone' }]);
    expect(screen.getByRole('group', { name: /outcome \(call\)/i })).toBeInTheDocument();
  });

  it("shows the gate's refusal when Email is pressed for a lead blocked since the card loaded", async () => {
    serve([{ name: 'Grace Hopper', channels: [allowed('email')] }], {
      contact_open: () => {
        throw { code: 'blocked', message: 'Grace Hopper may not be contacted by email: opted out of email' };
      },
    });
    const user = userEvent.setup();
    render(CallSession);
    await screen.findByRole('option', { name: 'new' });
    await user.keyboard('n');

    await user.click(await screen.findByRole('button', { name: 'Email' }));

    const alert = await screen.findByRole('alert');
    expect(alert).toHaveAttribute('data-code', 'blocked');
    expect(alert).toHaveTextContent('opted out of email');
    expect(screen.queryByText(/^Opened/)).toBeNull();
  });

  it("shows the lead's cadence step and what comes next, and opens the email with the step's template", async () => {
    serve([{ name: 'Ada Lovelace', channels: [allowed('email')] }], {
      lead_cadences: () => [
        {
          enrollment: {
            id: 'e1', lead_id: 'l1', cadence_id: 'c1', cadence: 'Trial', version: 1, step: 1, channel: 'email',
            due_at: '2026-03-02T10:00:00Z', state: 'active', rep: 'rita', enrolled_at: '2026-03-01T09:00:00Z',
            enrolled_by: 'rita', ended_at: null, stop_reason: null,
          },
          steps: 3,
          current: { kind: 'email', template: 'Day 3' },
          next: { kind: 'call', script: 'Ask how the trial goes', outcomes: [] },
        },
      ],
      mail_compose: () => ({
        templates: [
          { id: 't1', name: 'Hello', subject: 'Hi', body: 'Hello', updated_at: '', updated_by: 'max' },
          { id: 't2', name: 'Day 3', subject: 'Your trial', body: 'How is it going?', updated_at: '', updated_by: 'max' },
        ],
        from: 'rita@example.test',
        outbox: [],
      }),
      mail_preview: () => ({ lead_id: 'l1', to: 'ada@example.com', subject: 'Your trial', body: 'How is it going?' }),
    });
    const user = userEvent.setup();
    render(CallSession);
    await screen.findByRole('option', { name: 'new' });
    await user.keyboard('n');

    const steps = await screen.findByRole('region', { name: 'Cadence steps' });
    expect(await within(steps).findByText(/Step 2 of 3: Email with the template 'Day 3'/)).toBeInTheDocument();
    expect(within(steps).getByText('Then: Call: Ask how the trial goes.')).toBeInTheDocument();
    expect(within(steps).queryByRole('button', { name: 'Enrol' })).toBeNull();
    expect(await screen.findByRole('textbox', { name: 'Subject' })).toHaveValue('Your trial');
    expect(screen.getByRole('combobox', { name: 'Template' })).toHaveValue('t2');
  });

  it('adds the lead to the next letter batch when Letter is pressed', async () => {
    const batched: unknown[] = [];
    serve([{ name: 'Ada Lovelace', channels: [allowed('mail')] }], {
      letter_batch_add: (args) => {
        batched.push(args);
        return {};
      },
    });
    const user = userEvent.setup();
    render(CallSession);
    await screen.findByRole('option', { name: 'new' });
    await user.keyboard('n');

    await user.click(await screen.findByRole('button', { name: 'Letter' }));

    expect(await screen.findByText('Added Ada Lovelace to the next letter batch.')).toBeInTheDocument();
    expect(batched).toEqual([{ lead: 'l1' }]);
  });
});
