import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, render, screen } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import EraseDialog from './EraseDialog.svelte';

afterEach(() => {
  cleanup();
  clearMocks();
});

const PREVIEW = {
  lead_id: 'l1', name: 'Zoltan Quarksmith', company: 'Quarksmith GmbH', email: 'zoltan@quarksmith.example',
  phone: '+493090182044', address: null, lead_fields: 4, registrations: 2, follow_up_notes: 3, consent_evidence: 1,
  request_details: 0, audit_entries: 7, identifiers: 2,
};

function mock(preview: unknown, calls: string[]) {
  mockIPC((cmd, args) => {
    calls.push(cmd);
    expect(args).toEqual({ lead: 'l1' });
    if (cmd === 'erase_preview') return preview;
    if (cmd === 'erase_lead') return { lead_id: 'l1', registrations: 2 };
    throw { code: 'not_found', message: cmd };
  });
}

describe('EraseDialog', () => {
  it('names exactly what will be deleted', async () => {
    mock(PREVIEW, []);
    render(EraseDialog, { lead: 'l1', oncancel: vi.fn(), onerased: vi.fn() });

    const dialog = await screen.findByRole('dialog', { name: 'Erase Zoltan Quarksmith for good?' });
    expect(dialog).toHaveTextContent('the name Zoltan Quarksmith');
    expect(dialog).toHaveTextContent('the email zoltan@quarksmith.example');
    expect(dialog).toHaveTextContent('the phone +493090182044');
    expect(dialog).toHaveTextContent('the company Quarksmith GmbH');
    expect(dialog).toHaveTextContent('2 registrations with their IP address, browser, referrer and pages visited');
    expect(dialog).toHaveTextContent('3 follow-up notes');
    expect(dialog).toHaveTextContent('1 piece of consent evidence');
    expect(dialog).toHaveTextContent('values of 7 audit entries');
    expect(dialog).toHaveTextContent('2 emails and phones are kept only as keyed hashes');
    expect(screen.getByRole('textbox', { name: "Type the person's email or name to confirm" })).toHaveFocus();
  });

  it('erases only after the email or name is typed', async () => {
    const calls: string[] = [];
    mock(PREVIEW, calls);
    const onerased = vi.fn();
    const user = userEvent.setup();
    render(EraseDialog, { lead: 'l1', oncancel: vi.fn(), onerased });

    const input = await screen.findByRole('textbox', { name: "Type the person's email or name to confirm" });
    const erase = screen.getByRole('button', { name: 'Erase permanently' });
    expect(erase).toBeDisabled();
    await user.type(input, 'Zoltan{Enter}');
    expect(erase).toBeDisabled();
    expect(calls).not.toContain('erase_lead');

    await user.clear(input);
    await user.type(input, 'zoltan quarksmith{Enter}');
    expect(calls).toContain('erase_lead');
    expect(onerased).toHaveBeenCalledWith({ lead_id: 'l1', registrations: 2 });
  });

  it('with neither name nor email, the labelled button alone confirms; Escape cancels', async () => {
    const calls: string[] = [];
    mock({ ...PREVIEW, name: null, email: null }, calls);
    const oncancel = vi.fn();
    const user = userEvent.setup();
    render(EraseDialog, { lead: 'l1', oncancel, onerased: vi.fn() });

    expect(await screen.findByRole('button', { name: 'Erase permanently' })).toBeEnabled();
    expect(screen.getByRole('dialog', { name: 'Erase this person for good?' })).toBeInTheDocument();
    expect(screen.queryByRole('textbox')).not.toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Cancel' })).toHaveFocus();
    await user.keyboard('{Escape}');
    expect(oncancel).toHaveBeenCalled();
    expect(calls).not.toContain('erase_lead');
  });

  it('shows why a preview failed and erases nothing', async () => {
    const calls: string[] = [];
    mockIPC((cmd) => {
      calls.push(cmd);
      throw { code: 'conflict', message: 'lead l1 was already erased at 2026-03-03T10:00:00Z' };
    });
    render(EraseDialog, { lead: 'l1', oncancel: vi.fn(), onerased: vi.fn() });
    expect(await screen.findByRole('alert')).toHaveTextContent('already erased');
    expect(screen.queryByRole('button', { name: 'Erase permanently' })).not.toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Close' })).toHaveFocus();
    expect(calls).toEqual(['erase_preview']);
  });
});
