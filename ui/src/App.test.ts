import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, render, screen } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import App from './App.svelte';
import { router } from './lib/router.svelte';

afterEach(() => {
  cleanup();
  clearMocks();
  router.go({ screen: 'call' });
});

/** Answers the session for `role`; every other command fails, which the screens report as text. */
function backend(role: 'rep' | 'manager') {
  mockIPC((cmd) => {
    if (cmd === 'session_info') {
      return role === 'rep'
        ? { actor: 'rita', role, offices: ['BER'] }
        : { actor: 'maria', role, offices: ['BER', 'PAR'] };
    }
    throw { code: 'not_found', message: cmd };
  });
}

describe('App', () => {
  it('shows every screen as a tab and marks the current one', async () => {
    backend('rep');
    render(App);

    const tabs = navTabs();
    expect(tabs.map((t) => t.textContent?.trim())).toEqual([
      'Call session', 'New leads', 'Review', 'Import', 'Share & audiences', 'Letters', 'Requests', 'Mailbox',
    ]);
    expect(await screen.findByText('rita (rep)')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Call session' })).toHaveAttribute('aria-current', 'page');

    await userEvent.click(screen.getByRole('button', { name: 'Letters' }));
    expect(router.route.screen).toBe('letters');
    expect(screen.getByRole('button', { name: 'Letters' })).toHaveAttribute('aria-current', 'page');
    expect(screen.getByRole('button', { name: 'Call session' })).not.toHaveAttribute('aria-current');
  });

  it('Alt+digit opens the screen of that tab, also from a text field; plain digits do not', async () => {
    backend('rep');
    render(App);
    await screen.findByText('rita (rep)');

    await userEvent.keyboard('{Alt>}7{/Alt}');
    expect(router.route.screen).toBe('requests');
    await userEvent.keyboard('{Alt>}2{/Alt}');
    expect(router.route.screen).toBe('new');
    await userEvent.keyboard('3');
    expect(router.route.screen).toBe('new');
    await userEvent.keyboard('{Alt>}9{/Alt}');
    expect(router.route.screen).toBe('new');

    await userEvent.keyboard('{Alt>}4{/Alt}');
    const path = await screen.findByRole('textbox', { name: /File/ });
    await userEvent.click(path);
    await userEvent.keyboard('12{Alt>}1{/Alt}');
    expect(path).toHaveValue('12');
    expect(router.route.screen).toBe('call');
    expect(screen.getByRole('button', { name: 'Review' })).toHaveAttribute('aria-keyshortcuts', 'Alt+3');
  });

  it('shows the account once one is signed in: the title bar rereads who the window acts as', async () => {
    let current = { actor: 'jsmith', role: 'rep', offices: [] as string[] };
    mockIPC((cmd) => {
      if (cmd === 'session_info') return current;
      throw { code: 'not_found', message: cmd };
    });
    render(App);
    expect(await screen.findByText('jsmith (rep)')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: /^Offices?:/ })).not.toBeInTheDocument();
    current = { actor: 'mona', role: 'manager', offices: ['BER', 'PAR'] };
    router.changed();
    expect(await screen.findByText('mona (manager)')).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Offices: BER, PAR' })).toBeInTheDocument();
    // Signed out (or wiped), the window holds no office and says none.
    current = { actor: 'jsmith', role: 'rep', offices: [] };
    router.changed();
    expect(await screen.findByText('jsmith (rep)')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: /^Offices?:/ })).not.toBeInTheDocument();
  });

  it('names the offices the window holds: a rep their office, a manager every one, reached by Tab', async () => {
    backend('rep');
    render(App);
    expect(await screen.findByRole('button', { name: 'Office: BER' })).toBeInTheDocument();
    cleanup();

    backend('manager');
    render(App);
    const offices = await screen.findByRole('button', { name: 'Offices: BER, PAR' });
    // Reached from the keyboard like the rest of the bar, and it opens the account.
    for (let i = 0; i < 20 && document.activeElement !== offices; i++) await userEvent.tab();
    expect(offices).toHaveFocus();
    await userEvent.keyboard('{Enter}');
    expect(router.route.screen).toBe('sign-in');
  });

  it('a manager lands on the review, a rep on the call session', async () => {
    backend('manager');
    render(App);
    expect(await screen.findByText('maria (manager)')).toBeInTheDocument();
    expect(router.route.screen).toBe('review');
  });
});

function navTabs(): HTMLElement[] {
  return Array.from(screen.getByRole('navigation', { name: 'Screens' }).querySelectorAll('button'));
}
