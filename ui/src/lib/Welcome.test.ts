import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, render, screen } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import App from '../App.svelte';
import { router } from './router.svelte';
import type { FirstRun } from './generated/FirstRun';

afterEach(() => {
  cleanup();
  clearMocks();
  router.go({ screen: 'call' });
});

const NOTE = 'Switchboard keeps the people who register in an encrypted database on this computer.';

/** A shell whose replica starts at `stage`; the demo commands move it, and are counted. */
function backend(stage: FirstRun['stage']) {
  const calls: string[] = [];
  let current: FirstRun = {
    stage,
    database: '/home/rita/.local/share/switchboard/switchboard.db',
    data_note: NOTE,
    leads: 0,
  };
  mockIPC((cmd) => {
    calls.push(cmd);
    if (cmd === 'session_info') return { actor: 'rita', role: 'rep' };
    if (cmd === 'first_run_state') return current;
    if (cmd === 'demo_start') return (current = { ...current, stage: 'demo' });
    if (cmd === 'demo_end') return (current = { ...current, stage: 'welcome' });
    if (cmd === 'queue_list') return [];
    if (cmd === 'queue_next') return null;
    throw { code: 'not_found', message: cmd };
  });
  return calls;
}

describe('the first run', () => {
  it('an empty replica opens on the welcome screen, the first path focused, with the line on personal data', async () => {
    backend('welcome');
    render(App);
    const join = await screen.findByRole('button', { name: 'Join your office' });
    expect(join).toHaveFocus();
    expect(screen.getByRole('heading', { name: 'Welcome to Switchboard' })).toBeInTheDocument();
    expect(screen.getByText(/encrypted database on this computer/)).toHaveTextContent('switchboard.db');
    expect(screen.queryByText(/Nothing to call/)).not.toBeInTheDocument();

    // Keyboard only: Tab reaches the import, Enter opens it.
    await userEvent.tab();
    expect(screen.getByRole('button', { name: 'Import registrations from a file' })).toHaveFocus();
    await userEvent.keyboard('{Enter}');
    expect(router.route.screen).toBe('import');
  });

  it('joining opens the sign-in screen (server, fingerprint, user, password)', async () => {
    backend('welcome');
    render(App);
    expect(await screen.findByRole('button', { name: 'Join your office' })).toHaveFocus();
    await userEvent.keyboard('{Enter}');
    expect(router.route.screen).toBe('sign-in');
    expect(await screen.findByRole('textbox', { name: 'Server address' })).toBeInTheDocument();
  });

  it('a replica with data or an office opens on the call session as before', async () => {
    backend('ready');
    render(App);
    expect(await screen.findByText('rita (rep)')).toBeInTheDocument();
    expect(screen.queryByRole('heading', { name: 'Welcome to Switchboard' })).not.toBeInTheDocument();
    expect(screen.queryByText(/Demo/)).not.toBeInTheDocument();
  });

  it('the demo is marked on every screen and throwing it away returns to the welcome screen', async () => {
    const calls = backend('welcome');
    render(App);
    await userEvent.click(await screen.findByRole('button', { name: 'Try it with demo data' }));
    const banner = await screen.findByText(/made-up people in a separate database/);
    expect(calls).toContain('demo_start');
    expect(router.route.screen).toBe('call');
    expect(screen.queryByRole('heading', { name: 'Welcome to Switchboard' })).not.toBeInTheDocument();

    await userEvent.click(screen.getByRole('button', { name: 'Letters' }));
    expect(banner).toBeInTheDocument();

    await userEvent.click(screen.getByRole('button', { name: 'Throw the demo away' }));
    expect(await screen.findByRole('heading', { name: 'Welcome to Switchboard' })).toBeInTheDocument();
    expect(calls).toContain('demo_end');
    expect(screen.queryByText(/made-up people in a separate database/)).not.toBeInTheDocument();
  });

  it('a failed demo says why and stays on the welcome screen', async () => {
    mockIPC((cmd) => {
      if (cmd === 'session_info') return { actor: 'rita', role: 'rep' };
      if (cmd === 'first_run_state') return { stage: 'welcome', database: null, data_note: NOTE };
      if (cmd === 'demo_start') throw { code: 'io', message: 'disk full' };
      throw { code: 'not_found', message: cmd };
    });
    render(App);
    await userEvent.click(await screen.findByRole('button', { name: 'Try it with demo data' }));
    expect(await screen.findByRole('alert')).toHaveTextContent('disk full');
    expect(screen.getByRole('heading', { name: 'Welcome to Switchboard' })).toBeInTheDocument();
  });
});
