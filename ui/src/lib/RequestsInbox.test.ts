import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, render, screen, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import RequestsInbox from './RequestsInbox.svelte';
import { router } from './router.svelte';
import type { InboxEntry, RequestStatus } from './backend';

afterEach(() => {
  cleanup();
  clearMocks();
  router.go({ screen: 'call' });
});

function entry(fields: Partial<InboxEntry>): InboxEntry {
  return {
    id: 'r1', lead_id: 'l1', kind: 'erase', received_at: '2026-01-05T12:00:00Z', due_at: '2026-02-05T12:00:00Z',
    status: 'open', detail: null, handled_by: null, handled_at: null, person: 'Ada Lovelace', overdue: false,
    days_overdue: 0, closing_refusal: null, ...fields,
  };
}

const FAR = '2099-01-01T12:00:00Z';

function inbox() {
  let requests = [
    entry({ id: 'r1', overdue: true, days_overdue: 3 }),
    entry({ id: 'r2', lead_id: 'l2', kind: 'access', person: 'Grace Hopper', due_at: FAR }),
  ];
  const calls: unknown[] = [];
  mockIPC((cmd, args) => {
    calls.push([cmd, args]);
    const a = args as Record<string, unknown>;
    if (cmd === 'request_inbox') return a.status === 'open' ? requests.filter((r) => r.status === 'open') : requests;
    if (cmd === 'handle_request') {
      requests = requests.map((r) =>
        r.id === a.id ? { ...r, status: a.status as RequestStatus, handled_by: 'maria', handled_at: '2026-03-20T09:00:00Z', overdue: false } : r,
      );
      return requests.find((r) => r.id === a.id);
    }
    throw { code: 'not_found', message: cmd };
  });
  return calls;
}

describe('RequestsInbox', () => {
  it('lists open requests soonest due first; an overdue one stands out in words and style', async () => {
    const calls = inbox();
    render(RequestsInbox);

    const rows = await screen.findAllByRole('row', { name: /request of/ });
    expect(rows).toHaveLength(2);
    expect(rows[0]).toHaveClass('overdue');
    expect(within(rows[0]).getByText('Overdue by 3 days')).toBeInTheDocument();
    expect(within(rows[0]).getByText('Ada Lovelace')).toBeInTheDocument();
    expect(rows[1]).not.toHaveClass('overdue');
    expect(within(rows[1]).getByText(/Due in \d+ days/)).toBeInTheDocument();
    expect(screen.getByText('1 overdue')).toBeInTheDocument();
    expect(calls[0]).toEqual(['request_inbox', { status: 'open' }]);
  });

  it('handles a request from the keyboard, recording who and when, and it leaves the open list', async () => {
    const calls = inbox();
    const user = userEvent.setup();
    render(RequestsInbox);

    const [first] = await screen.findAllByRole('row', { name: /request of/ });
    first.focus();
    await user.keyboard('{ArrowDown}');
    expect(screen.getAllByRole('row', { name: /request of/ })[1]).toHaveFocus();
    await user.keyboard('{ArrowUp}d');

    expect(await screen.findByText(/Marked the erasure request of Ada Lovelace done \(maria,/)).toBeInTheDocument();
    expect(calls).toContainEqual(['handle_request', { id: 'r1', status: 'done' }]);
    const rows = screen.getAllByRole('row', { name: /request of/ });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toHaveTextContent('Grace Hopper');
    expect(rows[0]).toHaveFocus();

    await user.click(screen.getByRole('button', { name: 'Handled' }));
    const handled = await screen.findByRole('row', { name: /Erasure request of Ada Lovelace, Done by maria/ });
    expect(within(handled).queryByRole('button', { name: 'Mark done' })).not.toBeInTheDocument();
    expect(calls).toContainEqual(['request_inbox', { status: null }]);
  });

  it("disables closing what the rep's role may not close, saying who can, and ignores D for it", async () => {
    const reason = 'carrying out an erasure is for a manager of the office, …; you are signed in as a rep';
    const calls: string[] = [];
    mockIPC((cmd) => {
      calls.push(cmd);
      if (cmd === 'request_inbox') {
        return [
          entry({ id: 'r1', closing_refusal: reason }),
          entry({ id: 'r2', lead_id: 'l2', kind: 'opt_out', person: 'Grace Hopper', due_at: FAR }),
        ];
      }
      throw { code: 'not_found', message: cmd };
    });
    const user = userEvent.setup();
    render(RequestsInbox);

    const [erasure, optOut] = await screen.findAllByRole('row', { name: /request of/ });
    for (const name of ['Mark done', 'Reject']) {
      const button = within(erasure).getByRole('button', { name });
      expect(button).toBeDisabled();
      expect(button).toHaveAttribute('title', reason);
      expect(within(optOut).getByRole('button', { name })).toBeEnabled();
    }
    expect(within(erasure).getByText(reason)).toHaveAttribute('data-code', 'role_required');
    erasure.focus();
    await user.keyboard('d');
    expect(calls).not.toContain('handle_request');
  });

  it('opens the lead with Enter and rejects with its button', async () => {
    const calls = inbox();
    const user = userEvent.setup();
    render(RequestsInbox);

    const rows = await screen.findAllByRole('row', { name: /request of/ });
    await user.click(within(rows[1]).getByRole('button', { name: 'Reject' }));
    expect(calls).toContainEqual(['handle_request', { id: 'r2', status: 'rejected' }]);

    const [left] = await screen.findAllByRole('row', { name: /request of/ });
    left.focus();
    await user.keyboard('{Enter}');
    expect(router.route).toEqual({ screen: 'lead', id: 'l1' });
  });

  it('says none are open, what brings one, and offers the handled ones', async () => {
    const asked: unknown[] = [];
    mockIPC((cmd, args) => {
      if (cmd !== 'request_inbox') throw { code: 'not_found', message: cmd };
      asked.push((args as { status: unknown }).status);
      return [];
    });
    const user = userEvent.setup();
    render(RequestsInbox);

    expect(await screen.findByText(/^No open requests\. An opt-out, erasure, correction or access request/)).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'Show handled requests' }));
    expect(await screen.findByText(/^No handled requests yet\./)).toBeInTheDocument();
    expect(asked.length).toBe(2);
    expect(asked[1]).not.toBe('open');
  });

  it('reloads when sync brings changes', async () => {
    const calls = inbox();
    render(RequestsInbox);
    await screen.findAllByRole('row', { name: /request of/ });
    const before = calls.filter((c) => (c as [string])[0] === 'request_inbox').length;
    router.changed();
    await vi.waitFor(() =>
      expect(calls.filter((c) => (c as [string])[0] === 'request_inbox').length).toBe(before + 1),
    );
  });
});
