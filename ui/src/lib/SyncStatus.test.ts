import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, render, screen, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import type { Channel } from '@tauri-apps/api/core';
import SyncStatus from './SyncStatus.svelte';
import { router } from './router.svelte';
import type { SyncEvent } from './generated/SyncEvent';
import type { SyncView } from './generated/SyncView';

afterEach(() => {
  cleanup();
  clearMocks();
  router.go({ screen: 'call' });
});

function view(over: Partial<SyncView> = {}): SyncView {
  return {
    connection: 'online',
    server_url: 'https://sb.example.com:8443',
    fingerprint: 'AB:CD',
    user: 'rita',
    role: 'rep',
    office: 'BER',
    token_from_env: false,
    pending: 0,
    last_sync_at: '2026-03-02T09:00:00Z',
    last_error: null,
    rejected_total: 0,
    rejected: [],
    ...over,
  };
}

describe('SyncStatus', () => {
  it('shows online or offline with the pending count, and the rejected operations with their reasons', async () => {
    const status = view({
      connection: 'offline',
      pending: 3,
      last_error: 'cannot reach the server: connection refused',
      rejected_total: 1,
      rejected: [
        {
          seq: 7,
          op_kind: 'follow_up_logged',
          lead_id: 'lead-1',
          code: 'forbidden',
          reason: 'lead belongs to another office',
          at: '2026-03-02T09:05:00Z',
        },
      ],
    });
    mockIPC((cmd) => {
      if (cmd === 'sync_status') return status;
      if (cmd === 'sync_subscribe') return null;
      throw { code: 'not_found', message: cmd };
    });
    const user = userEvent.setup();
    render(SyncStatus);

    const indicator = await screen.findByRole('button', { name: 'Offline · 3 pending' });
    expect(indicator).toHaveAttribute('aria-expanded', 'false');
    await user.click(indicator);
    const panel = screen.getByRole('region', { name: 'Sync status' });
    expect(within(panel).getByText('Pending changes').nextElementSibling).toHaveTextContent('3');
    expect(within(panel).getByText(/connection refused/)).toBeInTheDocument();
    const rejected = within(panel).getByRole('table', { name: 'Rejected operations' });
    expect(within(rejected).getByRole('row', { name: /follow_up_logged lead-1 lead belongs to another office/ })).toBeInTheDocument();
    await user.keyboard('{Escape}');
    expect(screen.queryByRole('region', { name: 'Sync status' })).toBeNull();
    expect(indicator).toHaveFocus();
  });

  it('syncs now and signs out from the panel', async () => {
    const calls: string[] = [];
    let current = view();
    mockIPC((cmd) => {
      calls.push(cmd);
      if (cmd === 'sync_status') return current;
      if (cmd === 'sync_subscribe' || cmd === 'sync_now') return null;
      if (cmd === 'sync_sign_out') {
        current = view({ connection: 'signed_out' });
        return null;
      }
      throw { code: 'not_found', message: cmd };
    });
    const user = userEvent.setup();
    render(SyncStatus);
    await user.click(await screen.findByRole('button', { name: 'Online' }));
    await user.click(screen.getByRole('button', { name: 'Sync now' }));
    expect(calls).toContain('sync_now');
    await user.click(screen.getByRole('button', { name: 'Sign out' }));
    expect(calls).toContain('sync_sign_out');
    expect(await screen.findByRole('button', { name: 'Not signed in' })).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'Sign in…' }));
    expect(router.route).toEqual({ screen: 'sign-in' });
  });

  it('tells the open screens when sync applied changes', async () => {
    let channel: Channel<SyncEvent> | null = null;
    let current = view();
    mockIPC((cmd, args) => {
      if (cmd === 'sync_status') return current;
      if (cmd === 'sync_subscribe') {
        channel = (args as { onEvent: Channel<SyncEvent> }).onEvent;
        return null;
      }
      throw { code: 'not_found', message: cmd };
    });
    const reloads: number[] = [];
    const stop = router.onChanges(() => reloads.push(router.changes));
    render(SyncStatus);
    await screen.findByRole('button', { name: 'Online' });
    expect(channel).not.toBeNull();
    current = view({ pending: 2 });
    channel!.onmessage({ kind: 'changed', changes: 4 });
    expect(reloads).toHaveLength(1);
    expect(await screen.findByRole('button', { name: 'Online · 2 pending' })).toBeInTheDocument();
    channel!.onmessage({ kind: 'status' });
    expect(reloads).toHaveLength(1);
    stop();
  });
});
