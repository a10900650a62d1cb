import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, render, screen } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import UpdateBanner from './UpdateBanner.svelte';
import type { SyncView } from './generated/SyncView';
import type { UpdateManifest } from './generated/UpdateManifest';

afterEach(() => {
  cleanup();
  clearMocks();
});

function view(lastError: string | null): SyncView {
  return {
    connection: lastError ? 'offline' : 'online',
    server_url: 'https://sb.example.com:8443',
    fingerprint: 'AB:CD',
    user: 'rita',
    role: 'rep',
    office: 'BER',
    token_from_env: false,
    pending: 2,
    last_sync_at: null,
    last_error: lastError,
    rejected_total: 0,
    rejected: [],
  };
}

const OFFER: UpdateManifest = {
  version: '0.2.0',
  notes: 'Faster call queue',
  pub_date: '2026-12-05T15:00:00.000Z',
  url: '/v1/updates/0.2.0/artifact',
  signature: 'c2ln',
  size: 1234,
  sha256: 'ab',
};

/** The backend with an offer (or none) and a sync status; records what was invoked. */
function backend(offer: UpdateManifest | null, lastError: string | null, install?: () => unknown) {
  const calls: Array<[string, unknown]> = [];
  mockIPC((cmd, args) => {
    calls.push([cmd, args]);
    if (cmd === 'update_check') return offer;
    if (cmd === 'app_version') return '0.1.0';
    if (cmd === 'sync_status') return view(lastError);
    if (cmd === 'sync_subscribe') return null;
    if (cmd === 'update_install' && install) return install();
    throw { code: 'not_found', message: cmd };
  });
  return calls;
}

describe('UpdateBanner', () => {
  it('shows nothing when the office offers nothing and sync works', async () => {
    const calls = backend(null, null);
    render(UpdateBanner);
    await new Promise((r) => setTimeout(r, 20));
    expect(calls.some(([c]) => c === 'update_check')).toBe(true);
    expect(screen.queryByRole('status', { name: 'Update' })).toBeNull();
  });

  it('offers the new version with what changed, and installs only on the user’s word', async () => {
    let installs = 0;
    const calls = backend(OFFER, null, () => {
      installs += 1;
      return 'Switchboard 0.2.0 is installed; restart Switchboard to use it.';
    });
    const user = userEvent.setup();
    render(UpdateBanner);
    expect(await screen.findByText(/Switchboard 0.2.0 is available \(you have 0.1.0\)/)).toBeTruthy();
    expect(screen.getByText('Faster call queue')).toBeTruthy();
    expect(installs).toBe(0);
    await user.click(screen.getByRole('button', { name: 'Install update' }));
    expect(await screen.findByText(/0.2.0 is installed; restart/)).toBeTruthy();
    expect(installs).toBe(1);
    expect(calls.find(([c]) => c === 'update_install')?.[1]).toEqual({ version: '0.2.0' });
  });

  it('says a refused update plainly and installs nothing', async () => {
    backend(OFFER, null, () => {
      throw { code: 'update_refused', message: 'the update’s signature does not match the package' };
    });
    const user = userEvent.setup();
    render(UpdateBanner);
    await user.click(await screen.findByRole('button', { name: 'Install update' }));
    expect(await screen.findByText(/signature does not match the package/)).toBeTruthy();
  });

  it('tells an app too old for the server to update, with the action, never silently', async () => {
    const tooOld =
      '[update_required] update Switchboard: the server speaks sync protocol 5, this Switchboard 4';
    backend(OFFER, tooOld);
    render(UpdateBanner);
    expect(await screen.findByText(/no longer syncs with this version/)).toBeTruthy();
    expect(await screen.findByRole('button', { name: 'Install update' })).toBeTruthy();
    // Too old: the banner cannot be put off.
    expect(screen.queryByRole('button', { name: 'Later' })).toBeNull();
  });

  it('without an offer, an app too old for the server is told to get the administrator’s package', async () => {
    backend(null, '[update_required] update Switchboard: the server speaks sync protocol 5');
    render(UpdateBanner);
    expect(await screen.findByText(/ask your administrator for the new Switchboard/)).toBeTruthy();
  });
});
