// The real window under Xvfb: a lead with a postal address goes to the letter batch from the call
// session, a template with an unknown merge field is refused when saved, the letter shows a name
// with markup as text, marking the batch sent logs a mail follow-up on the lead page.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { click, clickNav, closeWindow, find, openWindow, shot, textOf } from './harness.mjs';
import { elementRef, waitFor } from './webdriver.mjs';

const HOSTILE = '<img src=x onerror=alert(1)> Lovelace';

/** Sets a bound text field's value the way typing would (Svelte listens to `input`). */
async function fill(session, css, value) {
  await session.execute(
    'arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event("input", { bubbles: true }));',
    [elementRef(await find(session, css)), value],
  );
}

describe('postal letters', () => {
  let session;
  let csv;

  before(async () => {
    let dir;
    ({ session, dir } = await openWindow({ user: 'rita', role: 'rep' }));
    csv = join(dir, 'with-address.csv');
    writeFileSync(
      csv,
      'name,company,email,address,country,submitted_at\n' +
        `"${HOSTILE}",Analytical Engines Ltd,ada@example.com,"12 St James's Square, London SW1Y 4JH",GB,2026-03-02T09:00:00Z\n`,
    );
  });

  after(() => closeWindow(session));

  it('imports a lead with a postal address and adds it to the batch from the call session', async () => {
    await clickNav(session, 'Import');
    const [input] = await session.findAll('input[name="path"]');
    await session.sendKeys(input, csv);
    await click(session, 'section.import button[type="submit"]');
    const created = await waitFor('the import report', async () => {
      const found = await session.findAll('dd[data-count="created"]');
      return found.length > 0 ? session.text(found[0]) : null;
    });
    assert.equal(created, '1');

    await clickNav(session, 'Call session');
    await click(session, 'section.call button.primary');
    const name = await waitFor('the imported lead', async () => {
      const text = await textOf(session, '.lead-name');
      return text === HOSTILE ? text : null;
    });
    assert.equal(name, HOSTILE);
    await click(session, 'button[data-channel="mail"]');
    const added = await textOf(session, 'p.contacted');
    assert.equal(added, `Added ${HOSTILE} to the next letter batch.`);
  });

  it('refuses an unknown merge field when the template is saved', async () => {
    await clickNav(session, 'Letters');
    await fill(session, 'input[name="template-name"]', 'Welcome');
    await fill(session, 'textarea[name="template-body"]', 'Dear {{salutation}},');
    await click(session, 'form.template button[type="submit"]');
    const alert = await textOf(session, 'form.template .failure');
    assert.match(alert, /unknown merge field \{\{salutation\}\}/);
  });

  it('shows the letter with the name as text and logs it as sent', async () => {
    await fill(
      session,
      'textarea[name="template-body"]',
      '{{name}}\n{{company}}\n{{address}}\n\nDear {{first_name}} {{last_name}},\n\nthank you for your interest.\n\n{{rep}}',
    );
    await click(session, 'form.template button[type="submit"]');
    const letter = await waitFor('the rendered letter', async () => {
      const found = await session.findAll('article.letter .letter-text');
      return found.length > 0 ? session.text(found[0]) : null;
    });
    assert.match(letter, /^<img src=x onerror=alert\(1\)> Lovelace\nAnalytical Engines Ltd\n12 St James's Square, London SW1Y 4JH\n/);
    assert.match(letter, /Dear <img src=x onerror=alert\(1\)> Lovelace,/);
    assert.equal(await session.execute('return document.querySelectorAll("main img").length'), 0);
    await shot(session, 'letters');

    await click(session, 'button.mark-sent');
    const status = await waitFor('the sent report', async () => {
      const text = await textOf(session, 'section.letters p.status');
      return /Logged/.test(text) ? text : null;
    });
    assert.equal(status, 'Logged 1 letter as sent.');
    assert.match(await textOf(session, '#batch-title'), /\(0\)/);
  });

  it('shows the letter as a mail follow-up on the lead page', async () => {
    await click(session, 'header button.open-search');
    const search = await find(session, '.dialog input[type="search"]');
    await session.sendKeys(search, 'Lovelace');
    await click(session, '.dialog .hits button');
    const entry = await waitFor('the letter in the timeline', async () => {
      const items = await session.findAll('ol.timeline li');
      for (const item of items) {
        const text = await session.text(item);
        if (/Letter \(outbound\)/.test(text)) return text;
      }
      return null;
    });
    assert.match(entry, /Sent by rita: Letter: Welcome/);
  });
});
