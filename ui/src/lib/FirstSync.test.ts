import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, render, screen } from '@testing-library/svelte';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import type { Channel } from '@tauri-apps/api/core';
import FirstSync from './FirstSync.svelte';
import CallSession from './CallSession.svelte';
import type { SyncEvent } from './generated/SyncEvent';
import { router } from './router.svelte';

afterEach(() => {
  cleanup();
  clearMocks();
  vi.useRealTimers();
});

/** A shell whose sync events the test sends; `leads` is what the replica holds now. */
function shell(answers: Record<string, () => unknown> = {}) {
  const state = { channels: [] as Channel<SyncEvent>[], leads: 0 };
  mockIPC((cmd, args) => {
    if (cmd === 'sync_subscribe') {
      state.channels.push((args as { onEvent: Channel<SyncEvent> }).onEvent);
      return null;
    }
    if (cmd === 'first_run_state') return { stage: 'ready', database: null, data_note: '', leads: state.leads };
    const answer = answers[cmd];
    if (answer) return answer();
    throw { code: 'not_found', message: cmd };
  });
  return state;
}

function send(state: ReturnType<typeof shell>, event: SyncEvent) {
  for (const channel of state.channels) channel.onmessage(event);
}

describe('FirstSync', () => {
  it('shows changes and leads so far, the whole and the time left while pages arrive, then goes', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2026-03-01T08:00:00Z'));
    const state = shell();
    render(FirstSync);
    await vi.waitFor(() => expect(state.channels).toHaveLength(1));
    expect(screen.queryByRole('region', { name: 'Sync progress' })).not.toBeInTheDocument();

    state.leads = 1200;
    send(state, { kind: 'pulled', total: 5000, expected: 50000 });
    expect(await screen.findByText(/1,200 leads so far/)).toBeInTheDocument();
    const status = screen.getByRole('status');
    expect(status).toHaveTextContent('5,000 of about 50,000 changes, 1,200 leads so far.');
    expect(screen.getByRole('progressbar', { name: 'Changes received' })).toHaveAttribute('value', '5000');

    // 5,000 more in 10 s: 40,000 left take about 80 s.
    vi.setSystemTime(new Date('2026-03-01T08:00:10Z'));
    state.leads = 2400;
    send(state, { kind: 'pulled', total: 10000, expected: 50000 });
    expect(await screen.findByText(/2,400 leads so far/)).toBeInTheDocument();
    expect(screen.getByRole('status')).toHaveTextContent('10,000 of about 50,000 changes');
    expect(screen.getByRole('status')).toHaveTextContent('2,400 leads so far — about 80 s left.');

    send(state, { kind: 'pulled', total: 50000, expected: 50000 });
    await vi.waitFor(() => expect(screen.queryByRole('region', { name: 'Sync progress' })).not.toBeInTheDocument());
  });

  it('stays out of the way of small syncs and of servers that name no head', async () => {
    const state = shell();
    render(FirstSync);
    await vi.waitFor(() => expect(state.channels).toHaveLength(1));
    send(state, { kind: 'pulled', total: 10, expected: 40 });
    send(state, { kind: 'pulled', total: 9000, expected: null });
    send(state, { kind: 'changed', changes: 9000 });
    await new Promise((r) => setTimeout(r, 20));
    expect(screen.queryByRole('region', { name: 'Sync progress' })).not.toBeInTheDocument();
  });
});

describe('the call session during a first sync', () => {
  it('says what fills an empty queue, and takes a lead once sync brings one', async () => {
    let next: unknown = null;
    shell({
      queue_list: () => [],
      queue_next: () => next,
      lead_detail: () => {
        throw { code: 'not_found', message: 'no detail in this test' };
      },
    });
    render(CallSession);
    (await screen.findByRole('button', { name: /Next lead/ })).click();
    expect(await screen.findByText(/Nothing to call in this queue right now/)).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Import registrations' })).toBeInTheDocument();

    next = {
      lead: { id: 'L1', name: 'Ada Early', company: null, country: 'DE', email: 'ada@example.com', phone: null },
    };
    router.changed();
    expect(await screen.findByText('Ada Early')).toBeInTheDocument();
    expect(screen.queryByText(/Nothing to call/)).not.toBeInTheDocument();
  });
});
