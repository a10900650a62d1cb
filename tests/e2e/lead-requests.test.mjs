// The real window under Xvfb: a manager records a request a person sent weeks ago, corrects a
// lead's company in place, erases another person through the confirmation, and sees the requests
// inbox with the overdue request standing out in words.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { click, closeWindow, find, openWindow, shot, textOf } from './harness.mjs';
import { elementRef, waitFor } from './webdriver.mjs';

const LEADS = [
  { name: 'Grace Hopper', company: 'Compiler Works', email: 'grace@example.com', country: 'US', registered_at: '2026-03-02T09:30:00Z' },
  { name: 'Ada Lovelace', company: 'Analytical Engines Ltd', email: 'ada@example.com', country: 'GB', registered_at: '2026-03-02T08:15:00Z' },
];
const ENTER = '\uE007';

/** Opens a lead page through the search dialog (Ctrl+K's button). */
async function openLead(session, text, name) {
  await click(session, 'header button.open-search');
  await session.sendKeys(await find(session, '.dialog input[type="search"]'), text);
  await waitFor(`a search hit for ${text}`, async () => {
    const hit = await session.findAll('.hits button');
    return hit.length > 0 && (await session.text(hit[0])).includes(name);
  });
  await click(session, '.hits button');
  await waitFor(`the lead page of ${name}`, async () => (await textOf(session, '#lead-title')) === name);
}

describe('the lead page actions and the requests inbox', () => {
  let session;

  before(async () => {
    ({ session } = await openWindow({ leads: LEADS, user: 'maria', role: 'manager' }));
  });

  after(() => closeWindow(session));

  it('records a request received weeks ago on a lead page', async () => {
    await openLead(session, 'Ada', 'Ada Lovelace');
    // An access request that arrived by letter on 5 January: its month ran out long ago.
    await session.execute(
      `const form = document.querySelector('form.record');
       const set = (el, value, type) => { el.value = value; el.dispatchEvent(new Event(type, { bubbles: true })); };
       set(form.querySelector('select[name="kind"]'), 'access', 'change');
       set(form.querySelector('input[name="received"]'), '2026-01-05', 'input');
       set(form.querySelector('input[name="detail"]'), 'letter of 2 January', 'input');`,
    );
    await click(session, 'form.record button[type="submit"]');
    const status = await waitFor('the recorded request', async () => {
      const text = await textOf(session, 'p.done');
      return /Recorded the access request, due/.test(text) ? text : null;
    });
    assert.match(status, /due/);

    // And a correction request that came in today, due a month from now.
    await session.execute(
      `const kind = document.querySelector('form.record select[name="kind"]');
       kind.value = 'correct';
       kind.dispatchEvent(new Event('change', { bubbles: true }));`,
    );
    await click(session, 'form.record button[type="submit"]');
    await waitFor('the second recorded request', async () =>
      /Recorded the correction request, due/.test(await textOf(session, 'p.done')),
    );
  });

  it("corrects a lead's company in place: Enter saves and the correction is audited", async () => {
    await openLead(session, 'Grace', 'Grace Hopper');
    await click(session, 'dd[data-field="company"] button');
    const input = await find(session, 'dd[data-field="company"] input');
    await session.execute('arguments[0].select()', [elementRef(input)]);
    await session.sendKeys(input, `Compiler Works International${ENTER}`);
    const company = await waitFor('the corrected company', async () => {
      const text = await textOf(session, 'dd[data-field="company"] .value');
      return text === 'Compiler Works International' ? text : null;
    });
    assert.equal(company, 'Compiler Works International');
    const timeline = await textOf(session, 'ol.timeline');
    assert.match(timeline, /correct company: Compiler Works → Compiler Works International by maria/);
  });

  it('erases the person only after the confirmation, then shows the skeleton', async () => {
    await click(session, 'button[data-action="erase"]');
    const dialog = await textOf(session, '.erase-dialog');
    assert.match(dialog, /Erase Grace Hopper for good\?/);
    assert.match(dialog, /the email grace@example\.com/);
    assert.match(dialog, /values of \d+ audit entries/);
    const erase = await find(session, '.erase-dialog button[type="submit"]');
    assert.equal(await session.execute('return arguments[0].disabled', [elementRef(erase)]), true);
    await session.sendKeys(await find(session, '.erase-dialog input'), 'grace@example.com');
    await shot(session, 'erase-dialog');
    await click(session, '.erase-dialog button[type="submit"]');

    await waitFor('the skeleton', async () => (await textOf(session, '#lead-title')) === 'Erased person');
    const page = await textOf(session, 'section.lead');
    assert.match(page, /personal information was erased/);
    for (const pii of ['Grace Hopper', 'grace@example.com', 'Compiler Works']) {
      assert.ok(!page.includes(pii), `${pii} is gone from the lead page`);
    }
  });

  it('shows the requests inbox with the overdue request standing out', async () => {
    await click(session, 'nav button[data-screen="requests"]');
    const row = await waitFor('the overdue row', async () => {
      const rows = await session.findAll('tr.request-row.overdue');
      return rows.length > 0 ? rows[0] : null;
    });
    const text = await session.text(row);
    assert.match(text, /Access/);
    assert.match(text, /Ada Lovelace/);
    assert.match(text, /Overdue by \d+ days/);
    const style = await session.execute(
      'const s = getComputedStyle(arguments[0]); return s.backgroundColor;',
      [elementRef(row)],
    );
    assert.notEqual(style, 'rgba(0, 0, 0, 0)', 'an overdue row is shaded, not only worded');
    // Erasing and correcting Grace carried out her requests: only Ada's two stay open.
    const rows = await session.findAll('tr.request-row');
    assert.equal(rows.length, 2);
    assert.match(await session.text(rows[1]), /Due in \d+ days/);
    assert.match(await textOf(session, 'p.summary'), /2 open requests, 1 overdue/);
    await shot(session, 'requests');
  });
});
