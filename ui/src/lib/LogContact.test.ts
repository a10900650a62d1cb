import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, render, screen } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import LogContact from './LogContact.svelte';

afterEach(() => {
  cleanup();
  clearMocks();
});

describe('LogContact', () => {
  it("logs the person's own call as inbound with the outcomes of the chosen channel", async () => {
    const asked: Record<string, unknown>[] = [];
    mockIPC((cmd, args) => {
      if (cmd !== 'log_follow_up') throw { code: 'not_found', message: cmd };
      asked.push(args as Record<string, unknown>);
      return {};
    });
    const onLogged = vi.fn();
    const user = userEvent.setup();
    render(LogContact, { lead: 'l1', onLogged });

    const outcome = screen.getByRole('combobox', { name: 'Outcome' });
    expect([...outcome.querySelectorAll('option')].map((o) => o.value)).toContain('no_answer');
    await user.selectOptions(screen.getByRole('combobox', { name: 'Channel' }), 'email');
    expect([...outcome.querySelectorAll('option')].map((o) => o.value)).not.toContain('no_answer');
    await user.selectOptions(screen.getByRole('combobox', { name: 'Channel' }), 'phone');
    await user.click(screen.getByRole('checkbox', { name: /inbound/ }));
    await user.selectOptions(outcome, 'callback_requested');
    await user.type(screen.getByRole('textbox', { name: 'Note' }), 'called about pricing');
    await user.click(screen.getByRole('button', { name: 'Log contact' }));

    expect(await screen.findByRole('status')).toHaveTextContent('Logged an inbound call: callback requested.');
    expect(asked).toEqual([
      {
        lead: 'l1', channel: 'phone', outcome: 'callback_requested', note: 'called about pricing',
        nextFollowUpAt: null, inbound: true,
      },
    ]);
    expect(onLogged).toHaveBeenCalledOnce();
    expect(screen.getByRole('textbox', { name: 'Note' })).toHaveValue('');
  });

  it("shows the gate's refusal of an outbound contact and records nothing", async () => {
    mockIPC(() => {
      throw { code: 'blocked', message: 'Ada may not be contacted by phone: opted out of all contact' };
    });
    const onLogged = vi.fn();
    const user = userEvent.setup();
    render(LogContact, { lead: 'l1', onLogged });
    await user.click(screen.getByRole('button', { name: 'Log contact' }));

    const alert = await screen.findByRole('alert');
    expect(alert).toHaveAttribute('data-code', 'blocked');
    expect(alert).toHaveTextContent('opted out of all contact');
    expect(onLogged).not.toHaveBeenCalled();
  });
});
