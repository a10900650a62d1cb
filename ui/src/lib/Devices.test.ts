import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, render, screen, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import Devices from './Devices.svelte';

afterEach(() => {
  cleanup();
  clearMocks();
});

const laptop = {
  id: 'dev_1', user: 'rita', office: 'BER', name: 'rita-laptop', app_version: '0.1.0',
  signed_in_at: '2026-03-02T09:00:00Z', first_sync: '2026-03-02T09:01:00Z', last_sync: '2026-03-02T10:00:00Z',
  revoked_at: null, revoked_by: null,
};
const desk = { ...laptop, id: 'dev_2', user: 'mona', name: 'mona-desk', last_sync: null, first_sync: null };

function serve(revoke: (id: string) => unknown) {
  const revoked: string[] = [];
  mockIPC((cmd, args) => {
    if (cmd === 'sync_devices') return [laptop, desk];
    if (cmd === 'sync_revoke_device') {
      const id = (args as { id: string }).id;
      revoked.push(id);
      return revoke(id);
    }
    throw { code: 'not_found', message: cmd };
  });
  return revoked;
}

describe('Devices', () => {
  it('lists the office devices and revokes one only after the confirmation', async () => {
    const revoked = serve(() => ({ ...laptop, revoked_at: '2026-03-02T11:00:00Z', revoked_by: 'mona' }));
    const user = userEvent.setup();
    render(Devices);
    const row = (await screen.findByText('rita-laptop')).closest('tr')!;
    expect(within(row).getByText('rita')).toBeInTheDocument();
    expect(within(screen.getByText('mona-desk').closest('tr')!).getByText('never')).toBeInTheDocument();

    await user.click(within(row).getByRole('button', { name: 'Revoke rita-laptop…' }));
    const ask = screen.getByRole('alertdialog', { name: 'Revoke rita-laptop (rita)?' });
    expect(ask).toHaveTextContent('erases its Switchboard data');
    await user.click(within(ask).getByRole('button', { name: 'Cancel' }));
    expect(revoked).toEqual([]);

    await user.click(within(row).getByRole('button', { name: 'Revoke rita-laptop…' }));
    await user.click(screen.getByRole('button', { name: 'Revoke device' }));
    expect(await screen.findByRole('status')).toHaveTextContent('Revoked rita-laptop (rita).');
    expect(revoked).toEqual(['dev_1']);
    expect(within(row).getByText(/Revoked .* by mona/)).toBeInTheDocument();
    expect(within(row).queryByRole('button')).toBeNull();
    expect(screen.queryByRole('alertdialog')).toBeNull();
  });

  it('says why when the server refuses', async () => {
    serve(() => {
      throw { code: 'forbidden', message: 'the device belongs to a user of another office' };
    });
    const user = userEvent.setup();
    render(Devices);
    await user.click(await screen.findByRole('button', { name: 'Revoke rita-laptop…' }));
    await user.click(screen.getByRole('button', { name: 'Revoke device' }));
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveAttribute('data-code', 'forbidden');
    expect(alert).toHaveTextContent('another office');
    expect(screen.getByRole('alertdialog')).toBeInTheDocument();
  });
});
