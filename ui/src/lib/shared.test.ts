import { afterEach, describe, expect, it } from 'vitest';
import { cleanup, render, screen } from '@testing-library/svelte';
import { BackendError } from './backend';
import { attempt } from './attempt';
import Failure from './Failure.svelte';
import TableHead from './TableHead.svelte';

afterEach(() => cleanup());

describe('Failure', () => {
  it('says nothing without a failure', () => {
    const { container } = render(Failure, { failure: null });
    expect(container.querySelector('p')).toBeNull();
  });

  it('reads the message out with its code, after a prefix, in the asked look', () => {
    render(Failure, { failure: new BackendError('storage', 'disk full'), prefix: 'Could not save: ', look: 'box' });
    const alert = screen.getByRole('alert');
    expect(alert).toHaveTextContent('Could not save: disk full');
    expect(alert).toHaveAttribute('data-code', 'storage');
    expect(alert).toHaveClass('failure', 'box');
  });
});

describe('TableHead', () => {
  it('heads the columns in order; a hidden one is still named for screen readers', () => {
    const table = document.createElement('table');
    document.body.append(table);
    render(TableHead, { target: table, props: { columns: ['When', { label: 'Actions', hidden: true }] } });
    const heads = [...table.querySelectorAll('thead th[scope="col"]')];
    expect(heads.map((h) => h.textContent)).toEqual(['When', 'Actions']);
    expect(heads[0].querySelector('.visually-hidden')).toBeNull();
    expect(heads[1].querySelector('.visually-hidden')).toHaveTextContent('Actions');
    table.remove();
  });
});

describe('attempt', () => {
  it('gives the answer when the call succeeds and reports nothing', async () => {
    const reported: BackendError[] = [];
    expect(await attempt(async () => 42, (f) => reported.push(f))).toBe(42);
    expect(reported).toEqual([]);
  });

  it('reports a refusal as a BackendError with its code and gives undefined', async () => {
    const reported: BackendError[] = [];
    const answer = await attempt(
      () => Promise.reject({ code: 'bad_input', message: 'unknown segment key' }),
      (f) => reported.push(f),
    );
    expect(answer).toBeUndefined();
    expect(reported).toHaveLength(1);
    expect(reported[0]).toBeInstanceOf(BackendError);
    expect(reported[0]).toMatchObject({ code: 'bad_input', message: 'unknown segment key' });
  });
});
