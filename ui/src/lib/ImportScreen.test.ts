import { afterEach, describe, expect, it, vi } from 'vitest';
import { cleanup, render, screen, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import ImportScreen from './ImportScreen.svelte';
import { importer } from './importer.svelte';
import { router } from './router.svelte';

afterEach(() => {
  cleanup();
  clearMocks();
  importer.reset();
});

describe('ImportScreen', () => {
  it('imports the named file and shows the counts and every rejected line with its reason', async () => {
    const asked: unknown[] = [];
    mockIPC((cmd, args) => {
      if (cmd !== 'import_file') throw { code: 'not_found', message: cmd };
      asked.push((args as { path: string }).path);
      return {
        read: 3, created: 1, merged: 1, duplicates: 0, suppressed: 0, rejected: 1,
        problems: [{ line: 4, reason: 'email: not an address', warning: false }], cancelled: false,
      };
    });
    const user = userEvent.setup();
    render(ImportScreen);

    await user.type(screen.getByRole('textbox', { name: /file/i }), '/tmp/leads.csv');
    await user.click(screen.getByRole('button', { name: 'Import' }));

    const report = await screen.findByRole('status', { name: 'Import report' });
    expect(asked).toEqual(['/tmp/leads.csv']);
    expect(within(report).getByText('New leads').nextElementSibling).toHaveTextContent('1');
    expect(within(report).getByText('Rejected').nextElementSibling).toHaveTextContent('1');
    expect(within(report).getByRole('row', { name: /4 rejected email: not an address/ })).toBeInTheDocument();
  });

  it('enrols the imported leads in the chosen cadence and reports how many', async () => {
    const asked: unknown[] = [];
    mockIPC((cmd, args) => {
      if (cmd === 'cadence_names') return ['Trial', 'Welcome'];
      if (cmd !== 'import_file') throw { code: 'not_found', message: cmd };
      asked.push((args as { cadence: string | null }).cadence);
      return {
        read: 3, created: 2, merged: 1, duplicates: 0, suppressed: 0, rejected: 0, problems: [], cancelled: false,
        enrolment: { cadence: 'Welcome', enrolled: 2, already: 1, skipped: 0 },
      };
    });
    const user = userEvent.setup();
    render(ImportScreen);

    await user.type(screen.getByRole('textbox', { name: /file/i }), '/tmp/leads.csv');
    await user.selectOptions(await screen.findByRole('combobox', { name: 'Enrol in cadence' }), 'Welcome');
    await user.click(screen.getByRole('button', { name: 'Import' }));

    const report = await screen.findByRole('status', { name: 'Import report' });
    expect(asked).toEqual(['Welcome']);
    expect(within(report).getByText('Enrolled in Welcome').nextElementSibling).toHaveTextContent('2');
    expect(within(report).getByText('Already in it').nextElementSibling).toHaveTextContent('1');

    // "none" imports without enrolling.
    await user.selectOptions(screen.getByRole('combobox', { name: 'Enrol in cadence' }), 'none');
    await user.click(screen.getByRole('button', { name: 'Import' }));
    await vi.waitFor(() => expect(asked).toEqual(['Welcome', null]));
  });

  it('fills the path from the OS picker and keeps it when the picker is cancelled', async () => {
    const picks: (string | null)[] = ['/home/me/leads.jsonl', null];
    const imported: string[] = [];
    mockIPC((cmd, args) => {
      if (cmd === 'pick_import_file') return picks.shift();
      if (cmd === 'import_file') {
        imported.push((args as { path: string }).path);
        return { read: 0, created: 0, merged: 0, duplicates: 0, suppressed: 0, rejected: 0, problems: [], cancelled: false };
      }
      throw { code: 'not_found', message: cmd };
    });
    const user = userEvent.setup();
    render(ImportScreen);

    const choose = screen.getByRole('button', { name: 'Choose file…' });
    await user.click(choose);
    const path = screen.getByRole('textbox', { name: /file/i });
    expect(path).toHaveValue('/home/me/leads.jsonl');
    await user.click(choose);
    expect(path).toHaveValue('/home/me/leads.jsonl');
    await user.click(screen.getByRole('button', { name: 'Import' }));
    await screen.findByRole('status', { name: 'Import report' });
    expect(imported).toEqual(['/home/me/leads.jsonl']);
  });

  it('says so when no picker is available, and the typed path still works', async () => {
    mockIPC((cmd) => {
      if (cmd === 'pick_import_file') throw { code: 'unavailable', message: 'no file picker in this window; type the file\'s path instead' };
      throw { code: 'not_found', message: cmd };
    });
    const user = userEvent.setup();
    render(ImportScreen);

    await user.click(screen.getByRole('button', { name: 'Choose file…' }));
    expect(await screen.findByRole('alert')).toHaveAttribute('data-code', 'unavailable');
    expect(screen.getByRole('textbox', { name: /file/i })).toBeEnabled();
  });

  it('Cancel stops the running import; the report says what was kept and how to finish', async () => {
    let release: () => void = () => {};
    const stopped = new Promise<void>((resolve) => (release = resolve));
    const calls: string[] = [];
    mockIPC(async (cmd) => {
      calls.push(cmd);
      if (cmd === 'import_file') {
        await stopped;
        return { read: 5000, created: 4990, merged: 10, duplicates: 0, suppressed: 0, rejected: 0, problems: [], cancelled: true };
      }
      if (cmd === 'import_cancel') {
        release();
        return null;
      }
      throw { code: 'not_found', message: cmd };
    });
    const user = userEvent.setup();
    render(ImportScreen);
    expect(screen.queryByRole('button', { name: 'Cancel' })).toBeNull();

    await user.type(screen.getByRole('textbox', { name: /file/i }), '/tmp/big.csv');
    await user.click(screen.getByRole('button', { name: 'Import' }));
    await user.click(await screen.findByRole('button', { name: 'Cancel' }));

    const report = await screen.findByRole('status', { name: 'Import report' });
    expect(report).toHaveTextContent('Cancelled. The rows counted below were imported');
    expect(within(report).getByText('New leads').nextElementSibling).toHaveTextContent('4990');
    // The screen asks once for the cadences it may offer; the import is asked to stop once.
    expect(calls).toEqual(['cadence_names', 'import_file', 'import_cancel']);
    expect(screen.queryByRole('button', { name: /Cancel|Stopping/ })).toBeNull();
  });

  it('a running import survives leaving the screen: coming back shows it, and then its report', async () => {
    let release: () => void = () => {};
    const done = new Promise<void>((resolve) => (release = resolve));
    mockIPC(async (cmd) => {
      if (cmd === 'import_file') {
        await done;
        return { read: 7, created: 7, merged: 0, duplicates: 0, suppressed: 0, rejected: 0, problems: [], cancelled: false };
      }
      throw { code: 'not_found', message: cmd };
    });
    const user = userEvent.setup();
    const first = render(ImportScreen);
    await user.type(screen.getByRole('textbox', { name: /file/i }), '/tmp/big.csv');
    await user.click(screen.getByRole('button', { name: 'Import' }));
    first.unmount();

    let reloads = 0;
    const stop = router.onChanges(() => (reloads += 1));
    render(ImportScreen);
    expect(screen.getByRole('textbox', { name: /file/i })).toHaveValue('/tmp/big.csv');
    expect(screen.getByRole('button', { name: 'Cancel' })).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Import' })).toBeDisabled();
    release();
    const report = await screen.findByRole('status', { name: 'Import report' });
    expect(within(report).getByText('New leads').nextElementSibling).toHaveTextContent('7');
    // The screens open meanwhile reload what the import added.
    expect(reloads).toBe(1);
    stop();
  });

  it('shows why a file could not be imported', async () => {
    mockIPC(() => {
      throw { code: 'io', message: 'opening /nope.csv: No such file or directory' };
    });
    const user = userEvent.setup();
    render(ImportScreen);

    await user.type(screen.getByRole('textbox', { name: /file/i }), '/nope.csv{Enter}');

    expect(await screen.findByRole('alert')).toHaveTextContent('No such file');
  });
});
