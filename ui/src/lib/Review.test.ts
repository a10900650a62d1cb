import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, render, screen } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import Review from './Review.svelte';

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

describe('Review', () => {
  it('shows the charts and only a window of a 100,000-row history', async () => {
    const queries: unknown[] = [];
    mockIPC((cmd, args) => {
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
    expect(screen.getByRole('img', { name: /follow-ups by channel: phone 100000/i })).toBeInTheDocument();
    expect(screen.getByRole('img', { name: /speed to lead: median 5 min, 90th percentile 2.0 h/i })).toBeInTheDocument();
    const list = screen.getByRole('list', { name: 'Follow-up history' });
    expect(list.querySelectorAll('[role="listitem"]').length).toBeLessThan(60);

    await user.selectOptions(screen.getByRole('combobox', { name: 'Channel' }), 'email');
    await user.click(screen.getByRole('button', { name: 'Apply' }));
    expect(queries.at(-1)).toMatchObject({ channel: 'email', rep: null, offset: 0 });
  });
});
