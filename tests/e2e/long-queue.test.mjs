// The real window with a long new-leads queue: however far a rep walks down the list with the
// keyboard, the page holds a few dozen rows (the list is windowed), and each next page arrives
// as the focus passes the last loaded row.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { clickNav, closeWindow, find, openWindow, shot } from './harness.mjs';
import { ELEMENT_KEY, elementRef, waitFor } from './webdriver.mjs';

const COUNT = Number(process.env.LONG_QUEUE_LEADS ?? 20000);
const PAGE = 50;
const PAGES_WALKED = 10;
const BASE = Date.parse('2026-01-01T00:00:00Z');
// Lead i registered i minutes after BASE: the newest first is Person 19999, then 19998, …
const LEADS = Array.from({ length: COUNT }, (_, i) => ({
  name: `Person ${i}`,
  company: `Company ${i % 97}`,
  email: `person${i}@example.com`,
  country: 'DE',
  registered_at: new Date(BASE + i * 60000).toISOString(),
}));
const END = '\uE010';
const ARROW_DOWN = '\uE015';

describe('a long new-leads queue', () => {
  let session;

  before(async () => {
    ({ session } = await openWindow({ leads: LEADS }));
  });

  after(() => closeWindow(session));

  const focusedName = () =>
    session.execute('return document.activeElement?.querySelector(".name")?.textContent ?? null');

  async function pressOnFocused(key) {
    const focused = await session.execute('return document.activeElement');
    await session.sendKeys(focused[ELEMENT_KEY], key);
  }

  it('stays windowed while the keyboard walks ten pages down', async () => {
    await clickNav(session, 'New leads');
    const first = await find(session, '.queue button.row');
    await session.execute('arguments[0].focus()', [elementRef(first)]);
    assert.equal(await focusedName(), `Person ${COUNT - 1}`);

    for (let page = 1; page <= PAGES_WALKED; page++) {
      // End goes to the last loaded row; one more step down loads the next page.
      await pressOnFocused(END);
      await pressOnFocused(ARROW_DOWN);
      const expected = `Person ${COUNT - 1 - page * PAGE}`;
      await waitFor(`row ${page * PAGE} focused`, async () => ((await focusedName()) === expected ? true : null));
    }

    const inPage = await session.execute('return document.querySelectorAll(".queue button.row").length');
    assert.ok(inPage > 10 && inPage < 60, `${inPage} rows in the page after loading ${(PAGES_WALKED + 1) * PAGE}`);
    await shot(session, 'long-queue');
  });
});
