import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, render, screen } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import SignIn from './SignIn.svelte';

afterEach(() => {
  cleanup();
  clearMocks();
});

const FINGERPRINT = Array(32).fill('AB').join(':');
const signedOut = {
  connection: 'signed_out', server_url: null, fingerprint: null, user: null, role: null, office: null,
  token_from_env: false, pending: 0, last_sync_at: null, last_error: null, rejected_total: 0, rejected: [],
};

function serve(signIn: (args: Record<string, unknown>) => unknown) {
  const asked: Record<string, unknown>[] = [];
  mockIPC((cmd, args) => {
    if (cmd === 'sync_status') return signedOut;
    if (cmd === 'sync_probe') return { server_url: (args as { serverUrl: string }).serverUrl, fingerprint: FINGERPRINT };
    if (cmd === 'sync_sign_in') {
      asked.push(args as Record<string, unknown>);
      return signIn(args as Record<string, unknown>);
    }
    throw { code: 'not_found', message: cmd };
  });
  return asked;
}

async function checkServer(user: ReturnType<typeof userEvent.setup>) {
  await user.type(screen.getByRole('textbox', { name: 'Server address' }), 'https://127.0.0.1:8443');
  await user.click(screen.getByRole('button', { name: 'Check certificate' }));
  return screen.findByText(FINGERPRINT);
}

describe('SignIn', () => {
  it('shows the fingerprint, signs in only after it is confirmed, and never keeps the password', async () => {
    const asked = serve(() => ({ ...signedOut, connection: 'connecting', server_url: 'https://127.0.0.1:8443', user: 'rita' }));
    const user = userEvent.setup();
    render(SignIn);
    await checkServer(user);
    const name = screen.getByRole('textbox', { name: 'User' });
    expect(name).toBeDisabled();
    await user.click(screen.getByRole('checkbox', { name: /fingerprint matches/ }));
    expect(name).toBeEnabled();
    expect(name).toHaveFocus();
    await user.type(name, 'rita');
    await user.type(screen.getByLabelText('Password'), 'secret pw');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByRole('status')).toHaveTextContent('Signed in to https://127.0.0.1:8443 as rita.');
    expect(asked).toEqual([
      { serverUrl: 'https://127.0.0.1:8443', fingerprint: FINGERPRINT, user: 'rita', password: 'secret pw' },
    ]);
    expect(screen.getByLabelText('Password')).toHaveValue('');
  });

  it('refuses a pasted fingerprint that differs, and pins a pasted one that matches', async () => {
    const asked = serve(() => signedOut);
    const user = userEvent.setup();
    render(SignIn);
    await checkServer(user);
    const expected = screen.getByRole('textbox', { name: /Expected fingerprint/ });
    await user.type(expected, 'cd'.repeat(32));
    expect(screen.getByRole('alert')).toHaveAttribute('data-code', 'fingerprint_mismatch');
    expect(screen.getByRole('textbox', { name: 'User' })).toBeDisabled();
    await user.clear(expected);
    await user.type(expected, 'ab'.repeat(32));
    expect(screen.getByRole('status')).toHaveTextContent('The fingerprints match.');
    await user.type(screen.getByRole('textbox', { name: 'User' }), 'rita');
    await user.type(screen.getByLabelText('Password'), 'pw');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(asked[0].fingerprint).toBe('ab'.repeat(32));
  });

  it('shows why a sign-in failed, with its code', async () => {
    serve(() => {
      throw { code: 'unauthorized', message: 'The server refused the user name or password.' };
    });
    const user = userEvent.setup();
    render(SignIn);
    await checkServer(user);
    await user.click(screen.getByRole('checkbox', { name: /fingerprint matches/ }));
    await user.type(screen.getByRole('textbox', { name: 'User' }), 'rita');
    await user.type(screen.getByLabelText('Password'), 'wrong');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveAttribute('data-code', 'unauthorized');
    expect(alert).toHaveTextContent('refused the user name or password');
  });

  it('says when the server cannot be reached', async () => {
    mockIPC((cmd) => {
      if (cmd === 'sync_status') return signedOut;
      if (cmd === 'sync_probe') throw { code: 'network', message: 'Cannot reach the server at https://127.0.0.1:8443: refused' };
      throw { code: 'not_found', message: cmd };
    });
    const user = userEvent.setup();
    render(SignIn);
    await user.type(screen.getByRole('textbox', { name: 'Server address' }), 'https://127.0.0.1:8443');
    await user.click(screen.getByRole('button', { name: 'Check certificate' }));
    expect(await screen.findByRole('alert')).toHaveAttribute('data-code', 'network');
    expect(screen.queryByRole('textbox', { name: 'User' })).toBeNull();
  });
});
