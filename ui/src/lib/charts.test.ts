import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, render, screen, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import BarChart from './BarChart.svelte';
import DayChannelChart from './DayChannelChart.svelte';
import RequestsChart from './RequestsChart.svelte';
import type { RequestKindStats } from './generated/RequestKindStats';

afterEach(cleanup);

function kind(partial: Partial<RequestKindStats> & Pick<RequestKindStats, 'kind'>): RequestKindStats {
  return {
    received: 0,
    handled: 0,
    handled_late: 0,
    open: 0,
    overdue: 0,
    median_days_to_handle: null,
    max_days_to_handle: null,
    ...partial,
  };
}

describe('BarChart', () => {
  it('names every value in its label and in a table that a button shows', async () => {
    const user = userEvent.setup();
    render(BarChart, {
      title: 'Speed to lead',
      note: 'median 12 min over 3 contacted',
      headings: ['Wait', 'Leads'],
      bars: [
        { label: '< 5 min', value: 2 },
        { label: 'not yet contacted', value: 1, look: 'hatch' },
      ],
    });

    expect(screen.getByRole('img', { name: 'Speed to lead: < 5 min 2, not yet contacted 1' })).toBeInTheDocument();
    expect(screen.getByText('median 12 min over 3 contacted')).toBeInTheDocument();
    const table = screen.getByRole('table', { name: 'Speed to lead as a table' });
    expect(within(table).getByRole('row', { name: 'not yet contacted 1' })).toBeInTheDocument();
    expect(table).not.toHaveClass('shown');
    // The hatched bar is told apart by its pattern, not only by colour.
    const fills = [...document.querySelectorAll('rect.bar')].map((r) => r.getAttribute('fill'));
    expect(fills[0]).toBe('var(--brand)');
    expect(fills[1]).toMatch(/^url\(#chart\d+-hatch\)$/);
    expect(document.getElementById(fills[1]!.slice(5, -1))).not.toBeNull();

    const toggle = screen.getByRole('button', { name: 'Table' });
    await user.click(toggle);
    expect(toggle).toHaveAttribute('aria-pressed', 'true');
    expect(table).toHaveClass('shown');
  });

  it('says when there is nothing to chart', () => {
    render(BarChart, { title: 'Outcome mix', bars: [] });
    expect(screen.getByText('No data.')).toBeInTheDocument();
    expect(screen.queryByRole('img')).toBeNull();
  });
});

describe('DayChannelChart', () => {
  it('stacks each day by channel and lists every day in its table', () => {
    render(DayChannelChart, {
      title: 'Follow-ups per day by channel',
      days: [
        { day: '2026-03-03', channel: 'email', count: 1 },
        { day: '2026-03-02', channel: 'phone', count: 4 },
        { day: '2026-03-02', channel: 'email', count: 2 },
      ],
    });

    expect(
      screen.getByRole('img', {
        name: 'Follow-ups per day by channel: 2 days; call 4, email 3, letter 0; busiest 2026-03-02',
      }),
    ).toBeInTheDocument();
    const table = screen.getByRole('table', { name: 'Follow-ups per day by channel as a table' });
    const rows = within(table).getAllByRole('row').map((r) =>
      [...r.querySelectorAll('th, td')].map((c) => c.textContent).join(' '),
    );
    expect(rows).toEqual(['Day Call Email Letter Total', '2026-03-02 4 2 0 6', '2026-03-03 0 1 0 1']);
    // Three segments, each with its own look: call solid, email hatched.
    const fills = [...document.querySelectorAll('svg[role="img"] rect.bar')].map((r) => r.getAttribute('fill'));
    expect(fills).toHaveLength(3);
    expect(fills.filter((f) => f === 'var(--brand)')).toHaveLength(1);
    expect(fills.filter((f) => f?.endsWith('-hatch)'))).toHaveLength(2);
  });
});

describe('RequestsChart', () => {
  it('shows received, handled, open and overdue per kind with handling times, overdue in words', () => {
    render(RequestsChart, {
      title: 'Subscriber requests',
      kinds: [
        kind({ kind: 'opt_out', received: 5, handled: 5, median_days_to_handle: 0, max_days_to_handle: 0.5 }),
        kind({ kind: 'erase' }),
        kind({
          kind: 'correct',
          received: 3,
          handled: 2,
          handled_late: 1,
          open: 1,
          overdue: 1,
          median_days_to_handle: 21,
          max_days_to_handle: 40,
        }),
        kind({ kind: 'access', received: 1, open: 1 }),
      ],
    });

    expect(screen.getByText('9 received,', { exact: false })).toBeInTheDocument();
    expect(screen.getByText('1 overdue', { selector: 'strong' })).toBeInTheDocument();
    const chart = screen.getByRole('img', { name: /^Subscriber requests: / });
    expect(chart.getAttribute('aria-label')).toContain('Correction 3 received, 2 handled, 1 open, 1 overdue, median 21.0 d');
    const table = screen.getByRole('table', { name: 'Subscriber requests per kind' });
    expect(within(table).getByRole('row', { name: 'Correction 3 2 1 1 1 overdue 21.0 d 40.0 d' })).toBeInTheDocument();
    expect(within(table).getByRole('row', { name: 'Opt-out 5 5 0 0 0 0 h 12 h' })).toBeInTheDocument();
    expect(within(table).getByRole('row', { name: 'Erasure 0 0 0 0 0 — —' })).toBeInTheDocument();
  });

  it('keeps the table when nothing was received', () => {
    render(RequestsChart, { title: 'Subscriber requests', kinds: [kind({ kind: 'erase' })] });
    expect(screen.getByText('No requests in this period.')).toBeInTheDocument();
    expect(screen.getByRole('table', { name: 'Subscriber requests per kind' })).toBeInTheDocument();
  });
});
