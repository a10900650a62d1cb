import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, render, screen, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import Letters from './Letters.svelte';
import { lead } from './test-fixtures';
import type { BatchEntry } from './generated/BatchEntry';
import type { LetterTemplate } from './generated/LetterTemplate';

afterEach(() => {
  cleanup();
  clearMocks();
  vi.restoreAllMocks();
});

const HOSTILE = '<img src=x onerror=alert(1)>';
const FIELDS = ['first_name', 'last_name', 'name', 'company', 'address', 'rep', 'date'];

const welcome: LetterTemplate = {
  id: 't1',
  name: 'Welcome',
  body: 'Dear {{name}},',
  updated_at: '2026-03-02T09:00:00Z',
  updated_by: 'rita',
};

function entry(id: string, name: string, allowed = true): BatchEntry {
  return {
    lead: lead({ id, name, address: '1 Main St' }),
    added_at: '2026-03-02T09:00:00Z',
    added_by: 'rita',
    mail: allowed
      ? { allowed: true, reason: null, message: null }
      : { allowed: false, reason: { code: 'opted_out', scope: 'mail', since: '2026-03-02T09:30:00Z' }, message: 'opted out of mail since 2026-03-02 09:30 UTC' },
  };
}

/** A backend with one template and a batch; records the calls that change things. */
function serve(batch: BatchEntry[]) {
  const calls: { cmd: string; args: unknown }[] = [];
  let templates = [welcome];
  mockIPC((cmd, args) => {
    switch (cmd) {
      case 'letter_templates':
        return { templates, merge_fields: FIELDS.map((name) => ({ name, description: name })) };
      case 'letter_template_save': {
        calls.push({ cmd, args });
        const { body, name } = args as { body: string; name: string };
        if (body.includes('{{salutation}}')) {
          throw { code: 'bad_input', message: 'unknown merge field {{salutation}} (use one of: first_name, …)' };
        }
        const saved = { ...welcome, id: 't2', name, body };
        templates = [...templates, saved];
        return saved;
      }
      case 'letter_template_delete': {
        calls.push({ cmd, args });
        templates = templates.filter((t) => t.id !== (args as { id: string }).id);
        return null;
      }
      case 'letter_batch':
        return batch;
      case 'letter_preview':
        return batch.map((e) => ({
          lead_id: e.lead.id,
          name: e.lead.name,
          text: `Dear ${e.lead.name},\n\nthank you.`,
          blocked: e.mail.allowed ? null : e.mail.message,
        }));
      case 'letter_mark_sent': {
        calls.push({ cmd, args });
        const sent = batch.filter((e) => e.mail.allowed).map((e) => ({ lead_id: e.lead.id, name: e.lead.name, follow_up_id: 'f' }));
        const skipped = batch.filter((e) => !e.mail.allowed).map((e) => ({ lead_id: e.lead.id, name: e.lead.name, reason: e.mail.message ?? '' }));
        batch = [];
        return { sent, skipped };
      }
      default:
        throw { code: 'not_found', message: `no command ${cmd}` };
    }
  });
  return calls;
}

describe('Letters', () => {
  it('renders each letter of the batch as text, markup included, and holds back blocked ones', async () => {
    serve([entry('l1', HOSTILE), entry('l2', 'Alan Turing', false)]);
    render(Letters);

    const sheets = await screen.findByLabelText('Letters to print');
    const letter = await within(sheets).findByRole('article');
    expect(letter.textContent).toBe(`Dear ${HOSTILE},\n\nthank you.`);
    expect(sheets.querySelector('img')).toBeNull();
    expect(within(sheets).queryByText(/Alan Turing/)).toBeNull();
    expect(screen.getByRole('list', { name: /not to send/i })).toHaveTextContent('Alan Turing: opted out of mail');
  });

  it('shows an unknown merge field when saving the template, not at print time', async () => {
    const calls = serve([]);
    const user = userEvent.setup();
    render(Letters);
    await screen.findByRole('option', { name: 'Welcome' });

    await user.selectOptions(screen.getByRole('combobox', { name: 'Template' }), 'New template…');
    await user.type(screen.getByRole('textbox', { name: 'Name' }), 'Bad');
    const body = screen.getByRole('textbox', { name: 'Letter' });
    await user.clear(body);
    await user.type(body, 'Dear {{{{salutation}}');
    await user.click(screen.getByRole('button', { name: 'Save template' }));

    const alert = await screen.findByRole('alert');
    expect(alert).toHaveAttribute('data-code', 'bad_input');
    expect(alert).toHaveTextContent('unknown merge field {{salutation}}');
    expect(calls[0]).toEqual({ cmd: 'letter_template_save', args: { id: null, name: 'Bad', body: 'Dear {{salutation}}' } });
  });

  it('deletes a template at once and offers Undo, which saves it again', async () => {
    const calls = serve([]);
    const user = userEvent.setup();
    render(Letters);
    await screen.findByRole('option', { name: 'Welcome' });

    await user.click(screen.getByRole('button', { name: 'Delete template' }));
    expect(await screen.findByRole('status')).toHaveTextContent('Deleted the template “Welcome”.');
    expect(screen.queryByRole('option', { name: 'Welcome' })).toBeNull();
    expect(calls).toEqual([{ cmd: 'letter_template_delete', args: { id: 't1' } }]);

    await user.click(screen.getByRole('button', { name: 'Undo' }));
    expect(await screen.findByRole('status')).toHaveTextContent('Restored the template “Welcome”.');
    expect(screen.getByRole('option', { name: 'Welcome' })).toBeInTheDocument();
    expect(calls[1]).toEqual({ cmd: 'letter_template_save', args: { id: null, name: 'Welcome', body: 'Dear {{name}},' } });
    expect(screen.queryByRole('button', { name: 'Undo' })).toBeNull();
  });

  it('prints with the webview and marks the batch sent, reporting who was skipped', async () => {
    const calls = serve([entry('l1', 'Ada Lovelace'), entry('l2', 'Alan Turing', false)]);
    const print = vi.spyOn(window, 'print').mockImplementation(() => {});
    const user = userEvent.setup();
    render(Letters);
    await screen.findByRole('article', { name: 'Letter to Ada Lovelace' });

    await user.click(screen.getByRole('button', { name: 'Print' }));
    expect(print).toHaveBeenCalledOnce();

    await user.click(screen.getByRole('button', { name: 'Mark as sent' }));
    const status = await screen.findByRole('status');
    expect(status).toHaveTextContent('Logged 1 letter as sent. Skipped: Alan Turing (opted out of mail');
    expect(calls).toContainEqual({ cmd: 'letter_mark_sent', args: { template: 't1' } });
    expect(await screen.findByText(/No letters waiting/)).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Mark as sent' })).toBeDisabled();
  });
});
