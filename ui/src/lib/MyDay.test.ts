import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, render, screen, waitFor } from '@testing-library/svelte';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import MyDay from './MyDay.svelte';

afterEach(() => {
  cleanup();
  clearMocks();
});

function summary(calls: number, emails: number) {
  const count = (key: string, n: number) => ({ key, count: n });
  return {
    rows: [],
    summary: {
      total: calls + emails,
      by_channel: [count('phone', calls), count('email', emails)].filter((c) => c.count > 0),
      by_outcome: [count('no_answer', calls), count('sent', emails)].filter((c) => c.count > 0),
      by_rep: [count('rita', calls + emails)],
      speed_to_lead: { leads: 0, median_seconds: null, p90_seconds: null, mean_seconds: null },
    },
  };
}

describe('MyDay', () => {
  it("counts the rep's own follow-ups since local midnight by channel and outcome, and follows new ones", async () => {
    const answers = [summary(2, 1), summary(3, 1)];
    const queries: Record<string, unknown>[] = [];
    mockIPC((cmd, args) => {
      if (cmd === 'session_info') return { actor: 'rita', role: 'rep' };
      if (cmd === 'history_page') {
        queries.push((args as { query: Record<string, unknown> }).query);
        return answers.shift();
      }
      throw { code: 'not_found', message: cmd };
    });
    const view = render(MyDay, { logged: 0 });

    const panel = await screen.findByRole('complementary', { name: 'Your day' });
    expect(panel).toHaveTextContent('3 follow-ups since midnight');
    expect(panel).toHaveTextContent('Call 2');
    expect(panel).toHaveTextContent('No answer 2');
    const midnight = new Date();
    midnight.setHours(0, 0, 0, 0);
    expect(queries[0]).toMatchObject({ rep: 'rita', since: midnight.toISOString(), until: null, channel: null });

    await view.rerender({ logged: 1 });
    await waitFor(() => expect(panel).toHaveTextContent('4 follow-ups since midnight'));
    expect(queries).toHaveLength(2);
  });

  it('stays out of the way when the history cannot be read', async () => {
    mockIPC((cmd) => {
      if (cmd === 'session_info') return { actor: 'rita', role: 'rep' };
      throw { code: 'internal', message: cmd };
    });
    render(MyDay, { logged: 0 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(screen.queryByRole('complementary')).toBeNull();
  });
});
