import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import Review from './Review.svelte';
import { router } from './router.svelte';

afterEach(() => {
  cleanup();
  clearMocks();
});

function rows(n: number) {
  return Array.from({ length: n }, (_, i) => ({
    follow_up: {
      id: `f${i}`, lead_id: `l${i}`, channel: 'phone', direction: 'out', outcome: 'connected', note: null,
      occurred_at: '2026-03-02T09:00:00Z', rep: 'rita', next_follow_up_at: null,
    },
    lead_name: `Lead ${i}`, lead_company: null, lead_office: null,
  }));
}

const STATS = {
  per_day: [
    { day: '2026-03-02', channel: 'phone', count: 3 },
    { day: '2026-03-03', channel: 'email', count: 2 },
  ],
  speed_to_lead: {
    buckets: [
      { key: 'under_5_min', label: '< 5 min', leads: 6 },
      { key: '5_to_60_min', label: '5–60 min', leads: 2 },
      { key: '1_to_4_h', label: '1–4 h', leads: 1 },
      { key: '4_to_24_h', label: '4–24 h', leads: 0 },
      { key: '1_to_3_days', label: '1–3 days', leads: 0 },
      { key: 'over_3_days', label: '> 3 days', leads: 1 },
      { key: 'not_contacted', label: 'not yet contacted', leads: 10 },
    ],
    contacted: 10,
    not_contacted: 10,
    median_seconds: 240,
  },
  requests: [
    { kind: 'opt_out', received: 4, handled: 4, handled_late: 0, open: 0, overdue: 0, median_days_to_handle: 0, max_days_to_handle: 0 },
    { kind: 'erase', received: 1, handled: 0, handled_late: 0, open: 1, overdue: 1, median_days_to_handle: null, max_days_to_handle: null },
    { kind: 'correct', received: 0, handled: 0, handled_late: 0, open: 0, overdue: 0, median_days_to_handle: null, max_days_to_handle: null },
    { kind: 'access', received: 2, handled: 1, handled_late: 0, open: 1, overdue: 0, median_days_to_handle: 3.5, max_days_to_handle: 3.5 },
  ],
};

describe('Review', () => {
  it('shows the charts and only a window of a 100,000-row history', async () => {
    const queries: unknown[] = [];
    const statsQueries: unknown[] = [];
    mockIPC((cmd, args) => {
      if (cmd === 'review_stats') {
        statsQueries.push((args as { query: unknown }).query);
        return STATS;
      }
      if (cmd === 'cadence_review') return [];
      if (cmd !== 'history_page') throw { code: 'not_found', message: cmd };
      queries.push((args as { query: unknown }).query);
      return {
        rows: rows(100_000),
        summary: {
          total: 100000,
          by_channel: [{ key: 'phone', count: 100000 }],
          by_outcome: [{ key: 'connected', count: 100000 }],
          by_rep: [{ key: 'rita', count: 100000 }],
          speed_to_lead: { leads: 10, median_seconds: 300, p90_seconds: 7200, mean_seconds: 900 },
        },
      };
    });
    const user = userEvent.setup();
    render(Review);

    expect(await screen.findByText('100000 follow-ups')).toBeInTheDocument();
    expect(screen.getByRole('img', { name: /^Follow-ups by channel: Call 100000$/ })).toBeInTheDocument();
    expect(
      await screen.findByRole('img', { name: /^speed to lead: < 5 min 6 \(30%\), 5–60 min 2 \(10%\).*not yet contacted 10 \(50%\)$/i }),
    ).toBeInTheDocument();
    expect(screen.getByText('median 4 min over 10 contacted')).toBeInTheDocument();
    expect(screen.getByRole('img', { name: /^follow-ups per day by channel: 2 days; call 3, email 2/i })).toBeInTheDocument();
    const requests = screen.getByRole('table', { name: 'Subscriber requests per kind' });
    expect(within(requests).getByRole('row', { name: /^Erasure 1 0 0 1 1 overdue/ })).toBeInTheDocument();
    expect(within(requests).getByRole('row', { name: /^Access 2 1 0 1 0 3.5 d 3.5 d$/ })).toBeInTheDocument();
    const list = screen.getByRole('list', { name: 'Follow-up history' });
    expect(list.querySelectorAll('[role="listitem"]').length).toBeLessThan(60);

    await user.selectOptions(screen.getByRole('combobox', { name: 'Channel' }), 'email');
    await user.type(screen.getByRole('textbox', { name: 'Office' }), ' BER ');
    await user.click(screen.getByRole('button', { name: 'Apply' }));
    expect(queries.at(-1)).toMatchObject({ channel: 'email', office: 'BER', rep: null, offset: 0 });
    // The charts follow the same filters as the history.
    expect(statsQueries.at(-1)).toEqual(queries.at(-1));
  });
});

describe('Review in words', () => {
  afterEach(() => router.go({ screen: 'call' }));

  function serve(total: number) {
    mockIPC((cmd) => {
      if (cmd === 'review_stats') return STATS;
      if (cmd === 'cadence_review') return [];
      if (cmd === 'history_page') {
        return {
          rows: rows(total).map((r) => ({ ...r, follow_up: { ...r.follow_up, outcome: 'meeting_booked' } })),
          summary: {
            ...summary(total),
            by_outcome: total === 0 ? [] : [{ key: 'meeting_booked', count: total }, { key: 'no_answer', count: 1 }],
          },
        };
      }
      throw { code: 'not_found', message: cmd };
    });
  }

  it('names outcomes and channels in words in the charts and the history', async () => {
    serve(3);
    render(Review);

    const mix = await screen.findByRole('img', { name: /^Outcome mix:/ });
    expect(mix).toHaveAccessibleName('Outcome mix: Meeting booked 3, No answer 1');
    const table = screen.getByRole('table', { name: /Outcome mix/ });
    expect(within(table).getByRole('rowheader', { name: 'Meeting booked' })).toBeInTheDocument();
    const list = screen.getByRole('list', { name: 'Follow-up history' });
    expect(within(list).getAllByText('Meeting booked').length).toBe(3);
    expect(document.body.textContent).not.toMatch(/meeting_booked|no_answer/);
  });

  it('says nothing is logged in the period and offers the call session', async () => {
    serve(0);
    const user = userEvent.setup();
    render(Review);

    expect(await screen.findByText(/^Nothing logged yet in this period\./)).toBeInTheDocument();
    expect(screen.queryByRole('list', { name: 'Follow-up history' })).toBeNull();
    await user.click(screen.getByRole('button', { name: 'Open the call session' }));
    expect(router.route).toEqual({ screen: 'call' });
  });
});

function summary(total: number) {
  return {
    total,
    by_channel: [{ key: 'phone', count: total }],
    by_outcome: [{ key: 'connected', count: total }],
    by_rep: [{ key: 'rita', count: total }],
    speed_to_lead: { leads: 0, median_seconds: null, p90_seconds: null, mean_seconds: null },
  };
}

/** A backend holding `total` follow-ups that pages them as the real one does (1,000 at most). */
function pagedBackend(total: number, saved: { path: string; rows: number } | null = null) {
  const all = rows(total);
  const calls: [string, Record<string, unknown>][] = [];
  mockIPC((cmd, args) => {
    const a = args as Record<string, unknown>;
    calls.push([cmd, a]);
    const query = a.query as { offset: number; limit: number };
    if (cmd === 'review_stats') return STATS;
    if (cmd === 'history_page') return { rows: all.slice(0, query.limit), summary: summary(total) };
    if (cmd === 'history_rows') return all.slice(query.offset, query.offset + query.limit);
    if (cmd === 'save_history_export') return saved;
    if (cmd === 'cadence_review') return [];
    throw { code: 'not_found', message: cmd };
  });
  return calls;
}

describe('Review history paging and export', () => {
  it('loads the next thousand rows with the applied filters as the list reaches its end, until all are in', async () => {
    const calls = pagedBackend(2_500);
    render(Review);
    expect(await screen.findByText('2500 follow-ups')).toBeInTheDocument();
    await userEvent.type(screen.getByRole('combobox', { name: 'Rep' }), 'rita');
    await userEvent.click(screen.getByRole('button', { name: 'Apply' }));
    // An edit that was not applied must not leak into the pages of the applied filters.
    await userEvent.type(screen.getByRole('textbox', { name: 'Office' }), 'PAR');

    const list = screen.getByRole('list', { name: 'Follow-up history' });
    for (const loaded of [1000, 2000]) {
      list.scrollTop = loaded * 32 - 360;
      await fireEvent.scroll(list);
      await waitFor(() => expect(calls.filter(([c]) => c === 'history_rows')).toHaveLength(loaded / 1000));
    }
    const pages = calls.filter(([c]) => c === 'history_rows').map(([, a]) => a.query);
    // The reps seen so far are offered as the Rep filter's suggestions.
    const suggestions = document.getElementById(screen.getByRole('combobox', { name: 'Rep' }).getAttribute('list')!);
    expect([...suggestions!.querySelectorAll('option')].map((o) => o.value)).toEqual(['rita']);
    expect(pages).toMatchObject([
      { rep: 'rita', office: null, offset: 1000, limit: 1000 },
      { rep: 'rita', office: null, offset: 2000, limit: 1000 },
    ]);
    list.scrollTop = 2500 * 32 - 360;
    await fireEvent.scroll(list);
    await waitFor(() => expect(within(list).getByText('Lead 2499')).toBeInTheDocument());
    // Everything is loaded: reaching the end again asks for nothing more.
    await fireEvent.scroll(list);
    expect(calls.filter(([c]) => c === 'history_rows')).toHaveLength(2);
    expect(list.querySelectorAll('[role="listitem"]').length).toBeLessThan(60);
  });

  it('exports every follow-up of the applied filters through the backend and says where it went', async () => {
    const calls = pagedBackend(1, { path: '/home/maria/history.csv', rows: 1 });
    render(Review);
    expect(await screen.findByText('1 follow-up')).toBeInTheDocument();
    await userEvent.selectOptions(screen.getByRole('combobox', { name: 'Channel' }), 'phone');
    await userEvent.click(screen.getByRole('button', { name: 'Apply' }));
    await userEvent.selectOptions(screen.getByRole('combobox', { name: 'Channel' }), 'email');

    await userEvent.click(screen.getByRole('button', { name: 'Export CSV…' }));
    expect(await screen.findByRole('status')).toHaveTextContent('Exported 1 follow-up to /home/maria/history.csv.');
    const [, args] = calls.find(([c]) => c === 'save_history_export')!;
    expect(args.query).toMatchObject({ channel: 'phone', offset: 0 });
  });

  it('says so when the export is cancelled, and shows a failed one as an alert', async () => {
    pagedBackend(3, null);
    render(Review);
    await screen.findByText('3 follow-ups');
    await userEvent.click(screen.getByRole('button', { name: 'Export CSV…' }));
    expect(await screen.findByRole('status')).toHaveTextContent('Export cancelled; nothing was saved.');

    mockIPC((cmd) => {
      if (cmd === 'save_history_export') throw { code: 'io', message: 'writing /x.csv.partial: permission denied' };
      throw { code: 'not_found', message: cmd };
    });
    await userEvent.click(screen.getByRole('button', { name: 'Export CSV…' }));
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveAttribute('data-code', 'io');
    expect(screen.queryByRole('status')).not.toBeInTheDocument();
  });
});

describe('Review failures', () => {
  it('shows why the charts could not be read', async () => {
    mockIPC((cmd) => {
      if (cmd === 'review_stats') throw { code: 'bad_input', message: 'the end of the period must come after its start' };
      if (cmd === 'cadence_review') return [];
      return { rows: [], summary: { total: 0, by_channel: [], by_outcome: [], by_rep: [], speed_to_lead: { leads: 0, median_seconds: null, p90_seconds: null, mean_seconds: null } } };
    });
    render(Review);
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveAttribute('data-code', 'bad_input');
  });
});

/** One cadence of two contact steps, as the app's view sends it. */
const CADENCE_LINES = [
  {
    cadence_id: 'c1', cadence: 'Trial', step: null,
    figures: { enrolled: 7, active: 2, completed: 0, replied: 1, meetings: 1, opted_out: 2, bounced: 1, other_stops: 0 },
    first_touch: { touched: 5, median_seconds: 16200, p90_seconds: 27000 },
    first_touch_median: '4 h 30 min', first_touch_p90: '7 h 30 min',
  },
  {
    cadence_id: 'c1', cadence: 'Trial', step: 'Step 1: Call: Intro',
    figures: { enrolled: 6, active: 1, completed: 5, replied: 1, meetings: 1, opted_out: 1, bounced: 0, other_stops: 0 },
    first_touch: null, first_touch_median: null, first_touch_p90: null,
  },
  {
    cadence_id: 'c1', cadence: 'Trial', step: 'Step 3: Email with template “recap”',
    figures: { enrolled: 2, active: 0, completed: 2, replied: 0, meetings: 0, opted_out: 0, bounced: 1, other_stops: 0 },
    first_touch: null, first_touch_median: null, first_touch_p90: null,
  },
];

describe('Review cadences', () => {
  it('shows each cadence and its steps in words with the applied office and period', async () => {
    const asked: unknown[] = [];
    mockIPC((cmd, args) => {
      if (cmd === 'cadence_review') {
        asked.push((args as { query: unknown }).query);
        return asked.length === 1 ? CADENCE_LINES : [];
      }
      if (cmd === 'review_stats') return STATS;
      if (cmd === 'history_page') return { rows: rows(1), summary: summary(1) };
      throw { code: 'not_found', message: cmd };
    });
    render(Review);

    const table = await screen.findByRole('table', { name: 'Cadences by step' });
    expect(within(table).getByRole('columnheader', { name: 'First touch, median' })).toBeInTheDocument();
    expect(within(table).getByRole('row', { name: 'Trial 7 2 0 1 1 2 1 0 4 h 30 min 7 h 30 min' })).toBeInTheDocument();
    expect(within(table).getByRole('row', { name: 'Step 1: Call: Intro 6 1 5 1 1 1 0 0' })).toBeInTheDocument();
    expect(within(table).getByText('Step 3: Email with template “recap”')).toBeInTheDocument();
    // No identifier reaches the screen.
    expect(table.textContent).not.toMatch(/opted_out|meeting_booked|_/);

    await userEvent.type(screen.getByRole('textbox', { name: 'Office' }), 'BER');
    await userEvent.type(screen.getByLabelText('From'), '2026-03-01');
    await userEvent.click(screen.getByRole('button', { name: 'Apply' }));
    expect(
      await screen.findByText(/No lead was enrolled in a cadence in this period/),
    ).toBeInTheDocument();
    expect(asked[1]).toMatchObject({ office: 'BER', cadence: null, until: null });
    expect((asked[1] as { since: string }).since).toBe(new Date('2026-03-01T00:00:00').toISOString());
    await userEvent.click(screen.getByRole('button', { name: 'Import registrations' }));
    expect(router.route).toEqual({ screen: 'import' });
    router.go({ screen: 'call' });
  });

  it('shows why the cadences could not be read', async () => {
    mockIPC((cmd) => {
      if (cmd === 'cadence_review') throw { code: 'not_found', message: "no cadence 'Nope'" };
      if (cmd === 'review_stats') return STATS;
      return { rows: rows(1), summary: summary(1) };
    });
    render(Review);
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveAttribute('data-code', 'not_found');
  });
});
