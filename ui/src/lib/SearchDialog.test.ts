import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, render, screen } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import SearchDialog from './SearchDialog.svelte';
import { lead } from './test-fixtures';
import { router } from './router.svelte';

afterEach(() => {
  cleanup();
  clearMocks();
  router.go({ screen: 'call' });
});

describe('SearchDialog', () => {
  it('opens on Ctrl+K, searches as you type and opens the first hit on Enter', async () => {
    const asked: string[] = [];
    mockIPC((cmd, args) => {
      if (cmd !== 'search_leads') throw { code: 'not_found', message: cmd };
      const { text } = args as { text: string };
      asked.push(text);
      return text.startsWith('gra')
        ? [{ lead: lead({ id: 'g1', name: 'Grace Hopper' }), matched: 'lead', follow_up_id: null, note_excerpt: null }]
        : [];
    });
    const user = userEvent.setup();
    render(SearchDialog);

    await user.keyboard('{Control>}k{/Control}');
    const box = screen.getByRole('searchbox', { name: 'Search leads' });
    expect(box).toHaveFocus();
    await user.keyboard('gra');

    expect(await screen.findByRole('button', { name: /Grace Hopper/ })).toBeInTheDocument();
    expect(asked).toEqual(['g', 'gr', 'gra']);
    await user.keyboard('{Enter}');
    expect(router.route).toEqual({ screen: 'lead', id: 'g1' });
    expect(screen.queryByRole('dialog')).toBeNull();
  });
});
