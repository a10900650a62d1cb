import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, render, screen } from '@testing-library/svelte';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import userEvent from '@testing-library/user-event';
import ShortcutsDialog from './ShortcutsDialog.svelte';

afterEach(() => {
  clearMocks();
  cleanup();
  document.body.innerHTML = '';
});

describe('ShortcutsDialog', () => {
  it('says which version of the app runs', async () => {
    const user = userEvent.setup();
    const calls: string[] = [];
    mockIPC((cmd) => {
      calls.push(cmd);
      return '1.2.3';
    });
    render(ShortcutsDialog);

    await user.click(screen.getByRole('button', { name: /Keys/ }));
    expect(await screen.findByText('Switchboard 1.2.3')).toBeInTheDocument();
    expect(calls).toEqual(['app_version']);
  });

  it('opens on "?" with the keys listed and focus on Close; Escape closes it and gives focus back', async () => {
    const user = userEvent.setup();
    render(ShortcutsDialog);
    const opener = screen.getByRole('button', { name: /Keys/ });
    opener.focus();

    await user.keyboard('?');
    const dialog = screen.getByRole('dialog', { name: 'Keyboard shortcuts' });
    expect(dialog).toHaveTextContent('Alt+1 … Alt+8');
    expect(dialog).toHaveTextContent('Ctrl+K');
    expect(screen.getByRole('button', { name: 'Close' })).toHaveFocus();

    await user.keyboard('{Escape}');
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(opener).toHaveFocus();
  });

  it('leaves "?" to a text field, and opens from its button', async () => {
    const user = userEvent.setup();
    const input = document.createElement('input');
    document.body.append(input);
    render(ShortcutsDialog);

    await user.click(input);
    await user.keyboard('?');
    expect(input).toHaveValue('?');
    expect(screen.queryByRole('dialog')).toBeNull();

    await user.click(screen.getByRole('button', { name: /Keys/ }));
    expect(screen.getByRole('dialog', { name: 'Keyboard shortcuts' })).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'Close' }));
    expect(screen.queryByRole('dialog')).toBeNull();
  });
});
