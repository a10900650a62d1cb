import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, render, screen, waitFor } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import MailCompose from './MailCompose.svelte';
import type { OutboxMail } from './generated/OutboxMail';

afterEach(() => {
  cleanup();
  clearMocks();
});

const templates = [
  { id: 't1', name: 'Hello', subject: 'About {{product}}', body: 'Dear {{first_name}},', updated_at: '', updated_by: 'rita' },
  { id: 't2', name: 'Trial day 3', subject: 'Your trial', body: 'How is it going, {{first_name}}?', updated_at: '', updated_by: 'rita' },
];

function mail(fields: Partial<OutboxMail>): OutboxMail {
  return {
    id: 'm1', message_id: '<m1@example.test>', lead_id: 'l1', template_id: 't1', state: 'sent', rep: 'rita',
    queued_at: '2026-03-02T10:00:00Z', sent_at: null, follow_up_id: null, error_code: null, error: null, ...fields,
  };
}

const KNOWN = 'unknown merge field {{salutation}} in the body (known fields: first_name, last_name, name, company, product, country, email, rep, signature)';

function serve(outbox: OutboxMail[] = [], send?: (args: Record<string, unknown>) => unknown) {
  const calls: [string, Record<string, unknown>][] = [];
  mockIPC((cmd, args) => {
    const a = args as Record<string, unknown>;
    calls.push([cmd, a]);
    switch (cmd) {
      case 'mail_compose':
        return { templates, from: 'rita@example.test', outbox };
      case 'mail_preview': {
        const body = a.body as string;
        if (body.includes('{{salutation}}')) throw { code: 'bad_input', message: KNOWN };
        return {
          lead_id: 'l1', to: 'ada@example.com',
          subject: (a.subject as string).replace('{{product}}', 'Engine'),
          body: body.replace('{{first_name}}', 'Ada'),
        };
      }
      case 'mail_send':
        return send ? send(a) : { mail: mail({ state: 'sent' }), problem: null };
      case 'mail_resolve':
        return mail({ state: a.sendAgain ? 'queued' : 'cancelled' });
      default:
        throw { code: 'not_found', message: cmd };
    }
  });
  return calls;
}

describe('MailCompose', () => {
  it("starts from the cadence step's template, previews the lead's real data and sends with Ctrl+Enter", async () => {
    const calls = serve();
    const onSent = vi.fn();
    const user = userEvent.setup();
    render(MailCompose, { lead: 'l1', template: 'Trial day 3', onSent });

    const subject = await screen.findByRole('textbox', { name: 'Subject' });
    expect(subject).toHaveValue('Your trial');
    expect(await screen.findByText('How is it going, Ada?')).toBeInTheDocument();

    await user.selectOptions(screen.getByRole('combobox', { name: 'Template' }), 'Hello');
    expect(subject).toHaveValue('About {{product}}');
    const text = screen.getByRole('textbox', { name: 'Text' });
    await user.clear(text);
    await user.type(text, 'Dear {{{{first_name}}, see you soon');
    await waitFor(() => expect(screen.getByLabelText('Preview')).toHaveTextContent('Dear Ada, see you soon'));
    expect(screen.getByLabelText('Preview')).toHaveTextContent('Subject: About Engine');
    expect(screen.getByLabelText('Preview')).toHaveTextContent('To: ada@example.com');

    await user.keyboard('{Control>}{Enter}{/Control}');
    expect(await screen.findByRole('status')).toHaveTextContent('Sent.');
    expect(calls.filter(([c]) => c === 'mail_send').map(([, a]) => a)).toEqual([
      { lead: 'l1', template: 't1', subject: 'About {{product}}', body: 'Dear {{first_name}}, see you soon' },
    ]);
    expect(onSent).toHaveBeenCalledOnce();
  });

  it('lists the known merge fields when the text names an unknown one', async () => {
    serve();
    const user = userEvent.setup();
    render(MailCompose, { lead: 'l1' });
    const text = await screen.findByRole('textbox', { name: 'Text' });
    await user.clear(text);
    await user.type(text, 'Dear {{{{salutation}}');

    const alert = await screen.findByRole('alert');
    expect(alert).toHaveAttribute('data-code', 'bad_input');
    expect(alert).toHaveTextContent('known fields: first_name, last_name, name, company, product');
    expect(screen.queryByLabelText('Preview')).toBeNull();
  });

  it('says a mail stays queued when the server is unreachable, and shows each mail with what to do', async () => {
    serve(
      [
        mail({ id: 'm3', state: 'failed', error: 'the mail server refused the recipient (550): correct the lead\'s email address' }),
        mail({ id: 'm2', state: 'cancelled', error: 'not sent: opted out of email' }),
        mail({ id: 'm1', state: 'sending' }),
      ],
      () => ({
        mail: mail({ id: 'm4', state: 'queued' }),
        problem: { code: 'mail_unreachable', message: 'cannot reach the SMTP server at smtp.example.test:587: queued mail stays queued' },
      }),
    );
    const user = userEvent.setup();
    render(MailCompose, { lead: 'l1' });
    await user.click(await screen.findByRole('button', { name: 'Send (Ctrl+Enter)' }));

    expect(await screen.findByRole('status')).toHaveTextContent(
      'Queued, not sent yet: cannot reach the SMTP server at smtp.example.test:587: queued mail stays queued',
    );
    const items = screen.getAllByRole('listitem');
    expect(items[0]).toHaveTextContent("Failed");
    expect(items[0]).toHaveTextContent("correct the lead's email address");
    expect(items[1]).toHaveTextContent('Cancelled by the contact rules');
    expect(items[1]).toHaveTextContent('opted out of email');
    expect(items[2]).toHaveTextContent('Interrupted while sending');
    expect(items[2]).toHaveTextContent('check your Sent folder');
    await user.click(screen.getAllByRole('button', { name: 'Cancel' })[0]);
    expect(await screen.findByText('Cancelled.')).toBeInTheDocument();
  });

  it('offers the mailbox settings when no mailbox is set up', async () => {
    mockIPC((cmd) => {
      if (cmd === 'mail_compose') return { templates, from: null, outbox: [] };
      throw { code: 'not_found', message: cmd };
    });
    render(MailCompose, { lead: 'l1' });
    expect(await screen.findByText(/No mailbox is set up/)).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Set up the mailbox' })).toBeInTheDocument();
    expect(screen.queryByRole('textbox', { name: 'Subject' })).toBeNull();
  });
});
