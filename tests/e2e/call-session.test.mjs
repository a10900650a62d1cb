// The real window under Xvfb: a rep takes the next lead, logs a contact and gets the next one
// (their day's count follows);
// blocked channels are disabled with the gate's reason; markup in a name stays text; a manager's
// review shows the history and the charts.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { click, clickNav, closeWindow, openWindow, shot, tempDir, textOf } from './harness.mjs';
import { elementRef, waitFor } from './webdriver.mjs';

const HOSTILE = '<img src=x onerror=alert(1)>';
const LEADS = [
  { name: 'Grace Hopper', company: 'Compiler Works', email: 'grace@example.com', country: 'US', registered_at: '2026-03-02T09:30:00Z' },
  { name: 'Ada Lovelace', company: 'Analytical Engines Ltd', email: 'ada@example.com', country: 'GB', registered_at: '2026-03-02T08:15:00Z' },
  { name: HOSTILE, company: 'Markup & Co', email: 'mallory@example.com', country: 'DE', registered_at: '2026-03-01T11:00:00Z' },
];

async function openApp(role) {
  const { session } = await openWindow({ leads: LEADS, user: role === 'manager' ? 'maria' : 'rita', role });
  return session;
}

describe('the call session', () => {
  let session;

  before(async () => {
    session = await openApp('rep');
  });

  after(() => closeWindow(session));

  it('takes the next lead, logs an email and moves to the next lead', async () => {
    await click(session, 'section.call button.primary');
    const first = await textOf(session, '.lead-name');
    assert.equal(first, 'Grace Hopper', 'the newest registration comes first');
    assert.equal(await textOf(session, '.my-day .count'), '0 follow-ups since midnight');

    await click(session, 'button[data-channel="email"]');
    await click(session, 'button[data-outcome="sent"]');
    await click(session, 'form.log button[type="submit"]');

    const second = await waitFor('the next lead', async () => {
      const name = await textOf(session, '.lead-name');
      return name !== first ? name : null;
    });
    assert.equal(second, 'Ada Lovelace');
    const status = await textOf(session, '.saved');
    assert.match(status, /Logged sent for Grace Hopper/);
    // The rep's day beside the session counts the email at once.
    const day = await waitFor("the day's count", async () => {
      const text = await textOf(session, '.my-day');
      return /1 follow-up since midnight/.test(text) ? text : null;
    });
    assert.match(day, /Email\s*1/);
    assert.match(day, /Sent\s*1/);
    await shot(session, 'call-session');
  });

  it('disables a blocked channel with the reason, and an opted-out lead is blocked everywhere', async () => {
    const phone = await waitFor('the Call button', async () => {
      const found = await session.findAll('button[data-channel="phone"]');
      return found.length > 0 ? found[0] : null;
    });
    const disabled = await session.execute('return arguments[0].disabled', [elementRef(phone)]);
    assert.equal(disabled, true, 'no phone number was given, so calling is blocked');
    const reason = await textOf(session, '#why-phone');
    assert.ok(reason.length > 0, 'the reason is shown next to the button');

    await click(session, 'article.card button.link');
    await click(session, 'button[data-scope="all"]');
    const email = await waitFor('the opted-out email decision', async () => {
      const text = await textOf(session, 'li[data-channel="email"]');
      return /opted out/i.test(text) ? text : null;
    });
    assert.match(email, /opted out/i);

    // The opted-out person calls in: that is recorded, as inbound, on the timeline.
    await click(session, 'form.log-contact input[type="checkbox"]');
    await click(session, 'form.log-contact button[type="submit"]');
    const logged = await waitFor('the inbound call on the timeline', async () => {
      const text = await session.execute('return document.querySelector("section.lead")?.innerText ?? ""');
      return /Call \(inbound\)/.test(text) ? text : null;
    });
    assert.match(logged, /Logged an inbound call/);
    await shot(session, 'lead-page');
  });

  it('shows a name with markup as text and runs nothing', async () => {
    await click(session, 'nav button:nth-child(1)');
    await click(session, 'section.call button.primary');
    const name = await waitFor('the hostile lead', async () => {
      const text = await textOf(session, '.lead-name');
      return text === HOSTILE ? text : null;
    });
    assert.equal(name, HOSTILE);
    const images = await session.execute('return document.querySelectorAll("main img").length');
    assert.equal(images, 0);
  });

  it('shows the logged contact in the review history and charts', async () => {
    await click(session, 'nav button:nth-child(3)');
    // Newest first: Ada's inbound call, then the email to Grace.
    const rows = await waitFor('the history rows', async () => {
      const texts = await session.execute(
        'return [...document.querySelectorAll(".history-row")].map((r) => r.innerText)',
      );
      return texts.length >= 2 ? texts : null;
    });
    assert.match(rows[0], /Ada Lovelace/);
    assert.match(rows[1], /Grace Hopper/);
    const label = await session.execute(
      'return document.querySelector("figure.chart svg")?.getAttribute("aria-label") ?? ""',
    );
    assert.match(label, /Email 1/);
    await shot(session, 'review');
  });
});

describe('the manager review', () => {
  let session;

  before(async () => {
    session = await openApp('manager');
  });

  after(() => closeWindow(session));

  it('lands on the review with its charts', async () => {
    const heading = await textOf(session, '#review-title');
    assert.equal(heading, 'Review');
    const charts = await waitFor('the charts', async () => {
      const found = await session.findAll('figure.chart');
      return found.length >= 6 ? found : null;
    });
    // By channel, outcome mix, by rep, per day by channel, speed to lead, subscriber requests.
    assert.equal(charts.length, 6);
  });

  it('shows speed to lead and subscriber requests with their text alternatives', async () => {
    // Nobody has been contacted yet: all three seeded leads wait in "not yet contacted".
    const speed = await waitFor('the speed-to-lead chart', () =>
      session.execute(`
        const figure = [...document.querySelectorAll('figure.chart')]
          .find((f) => f.querySelector('figcaption')?.textContent.trim().startsWith('Speed to lead'));
        if (!figure) return null;
        return {
          label: figure.querySelector('svg[role="img"]')?.getAttribute('aria-label') ?? '',
          rows: [...figure.querySelectorAll('table tbody tr')].map((r) => r.textContent.trim()),
          caption: figure.querySelector('table caption')?.textContent ?? '',
        };`),
    );
    assert.match(speed.label, /^Speed to lead: < 5 min 0 \(0%\), .*not yet contacted 3 \(100%\)$/);
    assert.equal(speed.caption, 'Speed to lead as a table');
    assert.equal(speed.rows.length, 7);
    assert.match(speed.rows.at(-1), /not yet contacted\s*3 \(100%\)/);

    const requests = await session.execute(`
      const figure = document.querySelector('figure.requests-chart');
      return figure && {
        caption: figure.querySelector('figcaption').textContent.replace(/\\s+/g, ' ').trim(),
        kinds: [...figure.querySelectorAll('tbody tr')].map((r) => r.dataset.kind),
        headings: [...figure.querySelectorAll('thead th')].map((h) => h.textContent),
      };`);
    assert.ok(requests, 'the subscriber requests chart is on the review');
    assert.match(requests.caption, /^Subscriber requests 0 received/);
    assert.deepEqual(requests.kinds, ['opt_out', 'erase', 'correct', 'access']);
    assert.ok(requests.headings.includes('Median to handle'));
    assert.ok(requests.headings.includes('Overdue'));

    // The office filter is there and narrows the charts too.
    const [office] = await session.findAll('form.filters input[name="office"]');
    await session.sendKeys(office, 'NOWHERE');
    await click(session, 'form.filters button[type="submit"]');
    await waitFor('the office-filtered speed chart', async () => {
      const none = await session.execute(`
        const figure = [...document.querySelectorAll('figure.chart')]
          .find((f) => f.querySelector('figcaption')?.textContent.trim().startsWith('Speed to lead'));
        return figure?.querySelector('.none')?.textContent ?? null;`);
      return none === 'No data.' ? none : null;
    });
    await shot(session, 'manager-review');
  });
});

describe('the import screen', () => {
  let session;
  let csv;

  before(async () => {
    session = await openApp('rep');
    csv = join(tempDir(), 'registrations.csv');
    const rows = ['name,email,country,submitted_at'];
    for (let i = 0; i < 2000; i += 1) rows.push(`Imported ${i},imported${i}@example.com,DE,2026-03-01T10:00:00Z`);
    rows.push('Broken Row,not-an-email,DE,2026-03-01T10:00:00Z');
    writeFileSync(csv, `${rows.join('\n')}\n`);
  });

  after(() => closeWindow(session));

  it('shows the progress and the report with the rejected line', async () => {
    await click(session, 'nav button:nth-child(4)');
    // The OS picker is a native GTK dialog WebDriver cannot drive; the typed path is the same
    // field the picker fills.
    const choose = await textOf(session, 'section.import button[type="button"]');
    assert.equal(choose, 'Choose file…');
    const [input] = await session.findAll('input[name="path"]');
    await session.sendKeys(input, csv);
    await click(session, 'section.import button[type="submit"]');

    const created = await waitFor('the report', async () => {
      const found = await session.findAll('dd[data-count="created"]');
      return found.length > 0 ? session.text(found[0]) : null;
    }, 60000);
    assert.equal(created, '2000');
    assert.equal(await textOf(session, 'dd[data-count="rejected"]'), '1');
    assert.equal(await session.execute('return document.querySelector("progress")?.value'), 100);
    const problem = await textOf(session, 'section.import tbody tr');
    assert.match(problem, /2002/);
    await shot(session, 'import');
  });

  it('goes on while the rep works on another screen, and Cancel keeps the committed batches', async () => {
    // Large enough that it is still running when the rep comes back (~15 s in a debug build).
    const big = join(tempDir(), 'big.csv');
    const rows = ['name,email,country,submitted_at'];
    for (let i = 0; i < 200000; i += 1) rows.push(`Bulk ${i},bulk${i}@example.com,DE,2026-03-02T10:00:00Z`);
    writeFileSync(big, `${rows.join('\n')}\n`);
    const [input] = await session.findAll('input[name="path"]');
    await session.clear(input);
    await session.sendKeys(input, big);
    await click(session, 'section.import button[type="submit"]');
    await waitFor('the first committed batch', async () => {
      const text = await textOf(session, 'label.progress span');
      return /^[1-9]\d* rows read$/.test(text) ? text : null;
    });

    // The import has its own connection: another screen reads the database meanwhile.
    await clickNav(session, 'New leads');
    await waitFor('the new-leads queue during the import', async () => {
      const names = await session.execute(
        'return [...document.querySelectorAll("[role=listitem]")].map((r) => r.textContent).join("|")',
      );
      return /Bulk \d+/.test(names) ? names : null;
    });

    await clickNav(session, 'Import');
    await click(session, 'section.import form button.secondary:last-child');
    const report = await waitFor('the cancelled report', async () => {
      const found = await session.findAll('section.import .report');
      return found.length > 0 ? session.text(found[0]) : null;
    }, 60000);
    assert.match(report, /Cancelled/);
    const created = Number(await textOf(session, 'dd[data-count="created"]'));
    assert.ok(created > 0 && created < 200000, `${created} rows were committed before the cancel`);
    // Whole batches only: a batch ends at its row count or after a second holding the write
    // lock (import::LONGEST_BATCH), so the count is not a multiple of anything; every row the
    // report read was in a committed batch, and every one of them was a new person.
    const read = Number(await textOf(session, 'dd[data-count="read"]'));
    assert.equal(read, created, 'every row read was committed, none half way');
  });
});
