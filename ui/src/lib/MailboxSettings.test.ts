import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, render, screen } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import MailboxSettings from './MailboxSettings.svelte';

afterEach(() => {
  cleanup();
  clearMocks();
});

describe('MailboxSettings', () => {
  it('saves the settings with the password for the keychain, and the test names the step that failed', async () => {
    const saved: unknown[] = [];
    mockIPC((cmd, args) => {
      switch (cmd) {
        case 'mailbox_settings':
          return { mailbox: null, password_stored: false };
        case 'mailbox_save': {
          saved.push(args);
          return { mailbox: (args as { mailbox: unknown }).mailbox, password_stored: true };
        }
        case 'mailbox_test':
          return {
            smtp: { server: 'SMTP', ok: true, failed_step: null, code: null, message: null },
            imap: {
              server: 'IMAP', ok: false, failed_step: 'logging in', code: 'mail_auth_failed',
              message: 'the IMAP server refused the login (NO): check the user name, and the password or app password',
            },
          };
        default:
          throw { code: 'not_found', message: cmd };
      }
    });
    const user = userEvent.setup();
    render(MailboxSettings);

    await user.type(await screen.findByRole('textbox', { name: 'Address' }), 'rita@example.test');
    const [smtpHost, imapHost] = screen.getAllByRole('textbox', { name: 'Server' });
    await user.type(smtpHost, 'smtp.example.test');
    await user.type(imapHost, 'imap.example.test');
    await user.selectOptions(screen.getByRole('combobox', { name: 'Security' }), 'tls');
    expect(screen.getAllByRole('spinbutton', { name: 'Port' })[0]).toHaveValue(465);
    await user.type(screen.getByLabelText(/^Password/), 'app-password');
    await user.click(screen.getByRole('button', { name: 'Test connection' }));

    const imap = await screen.findByText('IMAP failed at logging in:');
    expect(imap.closest('li')).toHaveTextContent('check the user name, and the password');
    expect(screen.getByText('SMTP: working.')).toBeInTheDocument();
    expect(saved).toEqual([
      {
        mailbox: {
          address: 'rita@example.test', display_name: null, username: 'rita@example.test',
          smtp_host: 'smtp.example.test', smtp_port: 465, smtp_security: 'tls',
          imap_host: 'imap.example.test', imap_port: 993, ca_file: null, signature: '',
        },
        password: 'app-password',
      },
    ]);
    expect(screen.getByLabelText(/^Password/)).toHaveValue('');
    expect(screen.getByText(/stored; leave blank to keep it/)).toBeInTheDocument();
  });

  it("shows a refused save with the core's message", async () => {
    mockIPC((cmd) => {
      if (cmd === 'mailbox_settings') return { mailbox: null, password_stored: false };
      throw { code: 'bad_input', message: 'the SMTP server needs a host name and a port' };
    });
    const user = userEvent.setup();
    render(MailboxSettings);
    await user.type(await screen.findByRole('textbox', { name: 'Address' }), 'rita@example.test');
    const [smtpHost, imapHost] = screen.getAllByRole('textbox', { name: 'Server' });
    await user.type(smtpHost, 'x');
    await user.type(imapHost, 'y');
    await user.click(screen.getByRole('button', { name: 'Save' }));
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveAttribute('data-code', 'bad_input');
  });
});
