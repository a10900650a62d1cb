import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, render, screen, waitFor } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import OutboundScreen from './OutboundScreen.svelte';

afterEach(() => {
  cleanup();
  clearMocks();
});

const reseller = {
  id: 'p1', name: 'Nordic Reseller', kind: 'reseller', country: 'DK', basis: 'none_needed',
  fields: ['name', 'country'], created_at: '2026-03-01T00:00:00Z', created_by: 'admin',
};

describe('OutboundScreen', () => {
  it('shares the named leads with the chosen partner and shows who was refused and why', async () => {
    const asked: unknown[] = [];
    mockIPC((cmd, args) => {
      if (cmd === 'partner_list') return [reseller];
      if (cmd === 'share_leads') {
        asked.push(args);
        return {
          partner: 'Nordic Reseller', shared: 1, out: '/tmp/share.csv',
          blocked: [{ lead: 'quiet@example.com', code: 'opted_out', message: 'opted out of all contact' }],
        };
      }
      throw { code: 'not_found', message: cmd };
    });
    const user = userEvent.setup();
    render(OutboundScreen);

    expect(await screen.findByRole('option', { name: /^Nordic Reseller \(reseller, DK, no transfer basis needed\)/ })).toBeInTheDocument();
    await user.type(screen.getByRole('textbox', { name: /leads/i }), 'ann@example.com quiet@example.com');
    await user.type(screen.getByRole('textbox', { name: /write to file/i }), '/tmp/share.csv');
    await user.click(screen.getByRole('button', { name: 'Share' }));

    const result = await screen.findByRole('status', { name: 'Share result' });
    expect(asked).toEqual([
      { leads: ['ann@example.com', 'quiet@example.com'], partner: 'Nordic Reseller', out: '/tmp/share.csv' },
    ]);
    expect(result).toHaveTextContent('Shared 1 with Nordic Reseller');
    expect(result).toHaveTextContent('Not shared: quiet@example.com — opted out of all contact');
  });

  it('Choose… fills the destination from the save dialog; a cancelled dialog keeps the typed path', async () => {
    const answers: (string | null)[] = ['/home/rita/share-Nordic Reseller.csv', null];
    const asked: unknown[] = [];
    mockIPC((cmd, args) => {
      if (cmd === 'partner_list') return [reseller];
      if (cmd === 'pick_csv_destination') {
        asked.push(args);
        return answers.shift();
      }
      throw { code: 'not_found', message: cmd };
    });
    const user = userEvent.setup();
    render(OutboundScreen);
    await screen.findByRole('option', { name: /Nordic Reseller/ });
    const [shareChoose] = screen.getAllByRole('button', { name: 'Choose…' });
    const destination = screen.getByRole('textbox', { name: /write to file/i });

    await user.click(shareChoose);
    await waitFor(() => expect(destination).toHaveValue('/home/rita/share-Nordic Reseller.csv'));
    expect(asked[0]).toEqual({ title: 'Share with a partner', fileName: 'share-Nordic Reseller.csv' });
    await user.clear(destination);
    await user.type(destination, '/tmp/typed.csv');
    await user.click(shareChoose);
    await waitFor(() => expect(asked).toHaveLength(2));
    expect(destination).toHaveValue('/tmp/typed.csv');
  });

  it('says that nothing can be shared when no partner is registered', async () => {
    mockIPC((cmd) => {
      if (cmd === 'partner_list') return [];
      throw { code: 'not_found', message: cmd };
    });
    render(OutboundScreen);
    expect(await screen.findByText(/No partners are registered/)).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Share' })).not.toBeInTheDocument();
  });

  it('previews an audience with the reasons people are left out, then exports it', async () => {
    mockIPC((cmd, args) => {
      if (cmd === 'partner_list') return [];
      if (cmd === 'audience_preview') {
        return { segment: (args as { segment: string }).segment, candidates: 3, allowed: 2, blocked: { opted_out: 1 } };
      }
      if (cmd === 'audience_export') {
        return { id: 'x1', exported_at: '2026-03-02T09:00:00Z', exported_by: 'rita', segment: 'country=DE', count: 2, blocked: { opted_out: 1 } };
      }
      throw { code: 'not_found', message: cmd };
    });
    const user = userEvent.setup();
    render(OutboundScreen);

    expect(screen.getByRole('button', { name: 'Export' })).toBeDisabled();
    await user.type(screen.getByRole('textbox', { name: /segment/i }), 'country=DE');
    await user.click(screen.getByRole('button', { name: 'Preview' }));
    const preview = await screen.findByRole('status', { name: 'Audience preview' });
    expect(preview).toHaveTextContent('2 of 3 people may receive promotional email now.');
    expect(preview).toHaveTextContent('Left out, opted_out: 1');

    await user.type(screen.getByRole('textbox', { name: /export to file/i }), '/tmp/audience.csv');
    await user.click(screen.getByRole('button', { name: 'Export' }));
    expect(await screen.findByRole('status', { name: 'Audience export' })).toHaveTextContent('Exported 2 people');
  });

  it('shows why a segment was refused', async () => {
    mockIPC((cmd) => {
      if (cmd === 'partner_list') return [];
      throw { code: 'bad_input', message: "unknown segment key 'shoe'" };
    });
    const user = userEvent.setup();
    render(OutboundScreen);
    await user.type(screen.getByRole('textbox', { name: /segment/i }), 'shoe=42');
    await user.click(screen.getByRole('button', { name: 'Preview' }));
    expect(await screen.findByRole('alert')).toHaveTextContent("unknown segment key 'shoe'");
  });
});
