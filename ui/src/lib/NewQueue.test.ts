import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import NewQueue from './NewQueue.svelte';
import { lead } from './test-fixtures';
import { router } from './router.svelte';

afterEach(() => {
  cleanup();
  clearMocks();
  router.go({ screen: 'call' });
});

const queue = [
  lead({ id: '1', name: 'Grace Hopper', company: 'Navy Labs', country: 'US' }),
  lead({ id: '2', name: 'Ada Lovelace', company: 'Analytical Engines', country: 'GB' }),
  lead({ id: '3', name: null, company: null, country: 'DE', last_registered_at: null }),
];

function serve(leads = queue) {
  const requests: unknown[] = [];
  mockIPC((cmd, args) => {
    if (cmd === 'cadence_list') return [];
    if (cmd !== 'new_queue_page') throw { code: 'not_found', message: `no command ${cmd}` };
    requests.push(args);
    const { offset, limit } = args as { offset: number; limit: number };
    return leads.slice(offset, offset + limit);
  });
  return requests;
}

async function rows() {
  const list = await screen.findByRole('list', { name: /new leads/i });
  return within(list).getAllByRole('button');
}

describe('NewQueue', () => {
  it('lists the new queue with name, company, country and registration time', async () => {
    serve();
    render(NewQueue);

    const shown = await rows();

    expect(shown).toHaveLength(3);
    expect(shown[0]).toHaveTextContent('Grace Hopper');
    expect(shown[0]).toHaveTextContent('Navy Labs');
    expect(shown[0]).toHaveTextContent('US');
    expect(shown[0].querySelector('time')).toHaveAttribute('datetime', '2026-03-02T09:00:00Z');
    // Missing fields show a dash rather than an empty cell.
    expect(shown[2]).toHaveTextContent('—');
  });

  it('moves between rows with the arrow keys, one tab stop for the whole list', async () => {
    serve();
    const user = userEvent.setup();
    render(NewQueue);
    const shown = await rows();

    expect(shown.map((row) => row.tabIndex)).toEqual([0, -1, -1]);
    await user.tab(); // Refresh
    await user.tab();
    expect(shown[0]).toHaveFocus();
    await user.keyboard('{ArrowDown}');
    expect(shown[1]).toHaveFocus();
    expect(shown[1]).toHaveAttribute('aria-current', 'true');
    await user.keyboard('{End}');
    expect(shown[2]).toHaveFocus();
    await user.keyboard('{ArrowDown}{Home}');
    expect(shown[0]).toHaveFocus();
  });

  it('picks leads with Space and enrols them in a cadence at once, from the keyboard', async () => {
    const enrolled: unknown[] = [];
    mockIPC((cmd, args) => {
      switch (cmd) {
        case 'new_queue_page':
          return queue;
        case 'cadence_list':
          return [
            { id: 'c1', name: 'Trial', version: 1, steps: [], created_at: '', created_by: 'max' },
            { id: 'c2', name: 'Webinar', version: 1, steps: [], created_at: '', created_by: 'max' },
          ];
        case 'cadence_enroll':
          enrolled.push(args);
          return {
            cadence: 'Webinar', version: 1, enrolled: 1, already: 0,
            skipped: [{ lead: '3', reason: 'the lead is closed' }],
          };
        default:
          throw { code: 'not_found', message: cmd };
      }
    });
    const user = userEvent.setup();
    render(NewQueue);
    const shown = await rows();
    await screen.findByRole('option', { name: 'Webinar' });
    expect(screen.getByRole('button', { name: 'Enrol 0 leads' })).toBeDisabled();

    shown[0].focus();
    await user.keyboard('{ArrowDown}');
    await user.keyboard(' ');
    await user.keyboard('{ArrowDown}');
    await user.keyboard(' ');
    expect(shown[1]).toHaveTextContent('Picked: Ada Lovelace');
    expect(shown[0]).not.toHaveTextContent('Picked');
    await user.keyboard(' ');
    await user.keyboard(' ');
    expect(screen.getByRole('button', { name: 'Enrol 2 leads' })).toBeEnabled();

    await user.keyboard('e');
    const select = screen.getByRole('combobox', { name: 'Cadence' });
    expect(select).toHaveFocus();
    await user.selectOptions(select, 'Webinar');
    await user.click(screen.getByRole('button', { name: 'Enrol 2 leads' }));

    expect(await screen.findByRole('status')).toHaveTextContent(
      "Enrolled 1 in 'Webinar'; not enrolled: the lead is closed.",
    );
    expect(enrolled).toEqual([{ cadence: 'c2', leads: ['2', '3'] }]);
    expect(screen.getByRole('button', { name: 'Enrol 0 leads' })).toBeDisabled();
  });

  it('shows the selected lead in the detail pane', async () => {
    serve();
    const user = userEvent.setup();
    render(NewQueue);
    const shown = await rows();

    await user.click(shown[1]);

    const detail = screen.getByRole('complementary', { name: /selected lead/i });
    expect(within(detail).getByRole('heading')).toHaveTextContent('Ada Lovelace');
    expect(detail).toHaveTextContent('ada@example.com');
  });

  it('loads the next page on request', async () => {
    const many = Array.from({ length: 5 }, (_, i) => lead({ id: `l${i}`, name: `Lead ${i}` }));
    const requests = serve(many);
    const user = userEvent.setup();
    render(NewQueue, { pageSize: 3 });
    expect(await rows()).toHaveLength(3);

    await user.click(screen.getByRole('button', { name: 'Load more' }));

    await screen.findByText('Lead 4');
    expect(await rows()).toHaveLength(5);
    expect(requests).toEqual([
      { offset: 0, limit: 3 },
      { offset: 3, limit: 3 },
    ]);
    expect(screen.queryByRole('button', { name: 'Load more' })).toBeNull();
  });

  it('says what fills an empty queue and offers the import', async () => {
    serve([]);
    const user = userEvent.setup();
    render(NewQueue);

    expect(await screen.findByText(/^No new leads\. Registrations from the website arrive here/)).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'Import registrations' }));
    expect(router.route).toEqual({ screen: 'import' });
  });

  it('shows a failure with its code', async () => {
    mockIPC(() => {
      throw { code: 'storage', message: 'database error: no such table: lead' };
    });
    render(NewQueue);

    const alert = await screen.findByText(/^Could not load the queue:/);

    expect(alert).toHaveRole('alert');
    expect(alert).toHaveTextContent('Could not load the queue: database error: no such table: lead');
    expect(alert).toHaveAttribute('data-code', 'storage');
  });

  it('renders registration text as text, never as markup', async () => {
    serve([lead({ id: 'x', name: '<img src=x onerror=alert(1)>' })]);
    render(NewQueue);

    const [row] = await rows();

    expect(row).toHaveTextContent('<img src=x onerror=alert(1)>');
    expect(row.querySelector('img')).toBeNull();
  });

  it('keeps a few dozen rows in the page however many leads are loaded', async () => {
    const many = Array.from({ length: 5000 }, (_, i) => lead({ id: `l${i}`, name: `Lead ${i}` }));
    serve(many);
    render(NewQueue, { pageSize: 5000 });

    const shown = await rows();

    expect(shown.length).toBeGreaterThan(10);
    expect(shown.length).toBeLessThan(40);
    const list = screen.getByRole('list', { name: /new leads/i });
    expect(within(list).getByText('Lead 0')).toBeInTheDocument();
    expect(within(list).queryByText('Lead 4999')).toBeNull();
  });

  it('moves by a viewful with PageDown and brings the row into view', async () => {
    const many = Array.from({ length: 100 }, (_, i) => lead({ id: `l${i}`, name: `Lead ${i}` }));
    serve(many);
    const user = userEvent.setup();
    render(NewQueue, { pageSize: 100 });
    const [first] = await rows();
    first.focus();

    await user.keyboard('{PageDown}{PageDown}{PageDown}{PageDown}');

    // 4 × 11 rows down: row 44, far outside the first rendered window, is rendered and focused.
    expect(document.activeElement).toHaveTextContent('Lead 44');
    await user.keyboard('{End}');
    expect(document.activeElement).toHaveTextContent('Lead 99');
  });

  it('loads the next page when the arrow keys go past the last loaded row', async () => {
    const many = Array.from({ length: 5 }, (_, i) => lead({ id: `l${i}`, name: `Lead ${i}` }));
    const requests = serve(many);
    const user = userEvent.setup();
    render(NewQueue, { pageSize: 3 });
    const shown = await rows();
    shown[2].focus();

    await user.keyboard('{ArrowDown}');

    await waitFor(() => expect(document.activeElement).toHaveTextContent('Lead 3'));
    expect(requests).toEqual([
      { offset: 0, limit: 3 },
      { offset: 3, limit: 3 },
    ]);
  });

  it('loads the next page when the list is scrolled to its end', async () => {
    const many = Array.from({ length: 60 }, (_, i) => lead({ id: `l${i}`, name: `Lead ${i}` }));
    const requests = serve(many);
    render(NewQueue, { pageSize: 30 });
    await rows();
    const list = screen.getByRole('list', { name: /new leads/i });

    list.scrollTop = 30 * 40 - 12 * 40;
    await fireEvent.scroll(list);

    await waitFor(() =>
      expect(requests).toEqual([
        { offset: 0, limit: 30 },
        { offset: 30, limit: 30 },
      ]),
    );
  });
});
