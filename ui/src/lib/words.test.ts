// No identifier reaches a person: every outcome, channel, request kind and role that the core
// names by identifier (`no_answer`) is rendered as words ("No answer") in the screens and charts
// that show them — in text and in the accessible names charts carry.
import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, render, screen } from '@testing-library/svelte';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import App from '../App.svelte';
import Review from './Review.svelte';
import { OUTCOME_LABEL } from './labels';
import { router } from './router.svelte';

afterEach(() => {
  cleanup();
  clearMocks();
  router.go({ screen: 'call' });
});

const IDENTIFIER = /\b[a-z]+_[a-z_]+\b/g;
const OUTCOMES = Object.keys(OUTCOME_LABEL);
const CHANNELS = ['phone', 'email', 'mail'];

/** Everything a person reads or hears on the page: its text and every accessible name. */
function rendered(): string {
  const names = [...document.querySelectorAll('[aria-label], [title], [alt]')].map((el) =>
    ['aria-label', 'title', 'alt'].map((a) => el.getAttribute(a) ?? '').join(' '),
  );
  return [document.body.textContent ?? '', ...names].join('\n');
}

describe('words, not identifiers', () => {
  it('the review shows every outcome, channel and request kind in words', async () => {
    const rows = OUTCOMES.map((outcome, i) => ({
      follow_up: {
        id: `f${i}`, lead_id: `l${i}`, channel: CHANNELS[i % 3], direction: i % 2 ? 'in' : 'out', outcome,
        note: null, occurred_at: '2026-03-02T09:00:00Z', rep: 'rita', next_follow_up_at: null,
      },
      lead_name: `Lead ${i}`, lead_company: null, lead_office: null,
    }));
    mockIPC((cmd) => {
      if (cmd === 'review_stats') {
        return {
          per_day: CHANNELS.map((channel) => ({ day: '2026-03-02', channel, count: 2 })),
          speed_to_lead: {
            buckets: [{ key: 'under_5_min', label: '< 5 min', leads: 1 }, { key: 'not_contacted', label: 'not yet contacted', leads: 1 }],
            contacted: 1, not_contacted: 1, median_seconds: 60,
          },
          requests: ['opt_out', 'erase', 'correct', 'access'].map((kind) => ({
            kind, received: 1, handled: 1, handled_late: 0, open: 0, overdue: 0, median_days_to_handle: 1, max_days_to_handle: 1,
          })),
        };
      }
      if (cmd === 'cadence_review') return [];
      if (cmd === 'history_page') {
        return {
          rows,
          summary: {
            total: rows.length,
            by_channel: CHANNELS.map((key) => ({ key, count: 3 })),
            by_outcome: OUTCOMES.map((key) => ({ key, count: 1 })),
            by_rep: [{ key: 'rita', count: rows.length }],
            speed_to_lead: { leads: 1, median_seconds: 60, p90_seconds: 60, mean_seconds: 60 },
          },
        };
      }
      throw { code: 'not_found', message: cmd };
    });
    render(Review);
    await screen.findByText(`${rows.length} follow-ups`);
    await screen.findByRole('table', { name: 'Subscriber requests per kind' });
    const text = rendered();
    expect(text).toContain('No answer');
    expect(text).toContain('Meeting booked');
    expect(text.match(IDENTIFIER) ?? []).toEqual([]);
  });

  it('the title bar names a role in words', async () => {
    mockIPC((cmd) => {
      if (cmd === 'session_info') return { actor: 'pat', role: 'privacy_officer' };
      if (cmd === 'first_run_state') return { stage: 'ready', database: null, data_note: '', leads: 0 };
      throw { code: 'not_found', message: cmd };
    });
    render(App);
    expect(await screen.findByText('pat (privacy officer)')).toBeInTheDocument();
    expect(document.querySelector('header')?.textContent?.match(IDENTIFIER) ?? []).toEqual([]);
  });
});
