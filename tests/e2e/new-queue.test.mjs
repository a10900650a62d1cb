// The real window under Xvfb: the `new` queue shows the leads in the database, newest first.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ARTIFACTS, clickNav, closeWindow, openWindow, shot } from './harness.mjs';
import { elementRef, waitFor } from './webdriver.mjs';

const LEADS = [
  { name: 'Ada Lovelace', company: 'Analytical Engines Ltd', email: 'ada@example.com', country: 'GB', registered_at: '2026-03-02T08:15:00Z' },
  { name: 'Grace Hopper', company: 'Compiler Works', email: 'grace@example.com', country: 'US', registered_at: '2026-03-02T09:30:00Z' },
  { name: 'Katherine Johnson', company: 'Orbital Mechanics', email: 'kj@example.com', country: 'US', registered_at: '2026-03-01T16:45:00Z' },
  // Registration data is untrusted: markup must show as text.
  { name: '<b>Mallory</b>', company: 'Markup & Co', email: 'mallory@example.com', country: 'DE', registered_at: '2026-02-28T11:00:00Z' },
];
const NEWEST_FIRST = [...LEADS].sort((a, b) => b.registered_at.localeCompare(a.registered_at));

describe('the desktop window', () => {
  let session;

  before(async () => {
    ({ session } = await openWindow({ leads: LEADS }));
  });

  after(() => closeWindow(session));

  it('shows the new queue, newest registration first', async () => {
    // Reps land on the call session; the new queue is one click away.
    await clickNav(session, 'New leads');
    const rows = await waitFor('the queue rows', async () => {
      const found = await session.findAll('.queue button.row');
      return found.length === LEADS.length ? found : null;
    });

    const names = [];
    for (const name of await session.findAll('.queue button.row .name')) {
      names.push(await session.text(name));
    }
    assert.deepEqual(names, NEWEST_FIRST.map((lead) => lead.name));

    const first = await session.text(rows[0]);
    assert.match(first, /Grace Hopper/);
    assert.match(first, /Compiler Works/);
    assert.match(first, /US/);

    const injected = await session.execute('return document.querySelectorAll(".queue b").length');
    assert.equal(injected, 0, 'a lead name containing markup is not rendered as HTML');

    mkdirSync(ARTIFACTS, { recursive: true });
    const png = await session.screenshot();
    writeFileSync(join(ARTIFACTS, 'new-queue.png'), png);
    assert.ok(png.length > 1000, 'the screenshot has content');
  });

  it('reaches the rows from the keyboard with a visible focus ring', async () => {
    const [firstRow] = await session.findAll('.queue button.row');
    await session.execute('arguments[0].focus()', [elementRef(firstRow)]);
    const ArrowDown = '\uE015';
    await session.sendKeys(firstRow, ArrowDown);

    const focused = await session.execute(
      'const el = document.activeElement; return { name: el.querySelector(".name")?.textContent, outline: getComputedStyle(el).outlineStyle };',
    );
    assert.equal(focused.name, NEWEST_FIRST[1].name);
    assert.notEqual(focused.outline, 'none');

    await shot(session, 'keyboard-focus');
  });
});
