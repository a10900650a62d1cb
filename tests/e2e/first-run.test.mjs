// The first run in the real window, against a REAL switchboard-server: an empty database opens
// on the welcome screen (screenshot); the demo opens a separate, seeded database marked by a
// banner and the title, and throwing it away returns to the welcome screen with the real
// database untouched (no demo file left); then the rep joins the office (server URL, the
// certificate fingerprint confirmed, user, password), the first sync of a large office shows
// its progress (screenshot) while the queue fills, and the call session offers a lead.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { Agent } from 'node:https';
import { join } from 'node:path';
import {
  ARTIFACTS,
  ROOT,
  appEnvironment,
  click,
  closeWindow,
  desktopBinary,
  find,
  placeInDaytime,
  postRegistration,
  shot,
  startSyncServer,
  startTauriDriver,
  startXvfb,
  tempDir,
  textOf,
  workspaceBinary,
} from './harness.mjs';
import { Session, waitFor } from './webdriver.mjs';

const PASSWORD = 'rita-e2e-password';
const SCREENSHOTS = join(ROOT, 'docs', 'screenshots');
/** Registrations on the server before the rep joins: enough for several pages of changes. */
const OFFICE_LEADS = Number(process.env.FIRST_RUN_LEADS ?? 6000);

// A country where it is now day, so the lead the call session offers can be called.
const PLACES = [
  { country: 'DE', zone: 'Europe/Berlin', phone: '+49 30 12345678' },
  { country: 'JP', zone: 'Asia/Tokyo', phone: '+81 3 1234 5678' },
  { country: 'IN', zone: 'Asia/Kolkata', phone: '+91 22 2345 6789' },
  { country: 'PE', zone: 'America/Lima', phone: '+51 1 234 5678' },
  { country: 'FJ', zone: 'Pacific/Fiji', phone: '+679 330 1234' },
];
const PLACE = placeInDaytime(PLACES);

/** `count` registrations from the office's country, eight at a time. */
async function fillOffice(server, count) {
  const agent = new Agent({ keepAlive: true, maxSockets: 8, ca: readFileSync(server.certPath) });
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const n = next++;
      await postRegistration(server, {
        submission_id: `bulk-${n}`,
        name: `Person ${n}`,
        email: `person.${n}@example.com`,
        country: 'DE',
        submitted_at: new Date(Date.now() - 86_400_000 - n * 1000).toISOString(),
      }, agent);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  agent.destroy();
}

/** The window's size as tauri.conf.json opens it: the part of the screen a screenshot keeps. */
const WINDOW = JSON.parse(readFileSync(join(ROOT, 'tauri.conf.json'), 'utf8')).app.windows[0];

/** Saves what the window shows now, from the X display (no WebDriver repaint wait: the moment
 * matters). */
function grab(display, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = join(ARTIFACTS, `${name}.png`);
  const crop = `${WINDOW.width}x${WINDOW.height}+0+0`;
  const args = ['-display', display, '-window', 'root', '-crop', crop, '+repage', file];
  const run = spawnSync('import', args, { encoding: 'utf8', timeout: 15000 });
  if (run.status !== 0) throw new Error(`import -window root failed (${run.status ?? run.error}): ${run.stderr}`);
  return file;
}

/** Keeps a screenshot for the README. */
function keep(file, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  copyFileSync(file, join(SCREENSHOTS, `${name}.png`));
}

const text = (session, css) => session.execute(`return document.querySelector(${JSON.stringify(css)})?.innerText ?? null`);

describe('the first run in the real window', () => {
  let session;
  let server;
  let display;
  let dir;

  before(async () => {
    server = await startSyncServer({
      countries: [...new Set(['DE', PLACE.country])],
      users: [{ name: 'rita', role: 'rep', password: PASSWORD }],
    });
    const started = Date.now();
    await fillOffice(server, OFFICE_LEADS);
    // The newest registration, callable now: the call session offers it first.
    const agent = new Agent({ keepAlive: false, ca: readFileSync(server.certPath) });
    await postRegistration(server, {
      submission_id: 'web-newest', name: 'Ada Newest', email: 'ada.newest@example.com',
      phone: PLACE.phone, country: PLACE.country,
    });
    console.log(`${OFFICE_LEADS + 1} registrations on the server in ${Date.now() - started} ms`);

    dir = tempDir();
    display = await startXvfb();
    const env = { ...appEnvironment(display, join(dir, 'switchboard.db'), dir), SWITCHBOARD_ROLE: 'rep' };
    delete env.SWITCHBOARD_USER;
    delete env.SWITCHBOARD_TOKEN;
    delete env.SWITCHBOARD_DB_KEY_FILE;
    const { url } = await startTauriDriver(env, { secretService: true });
    session = await Session.create(url, { 'tauri:options': { application: desktopBinary() } });
  });

  after(() => closeWindow(session));

  it('opens an empty database on the welcome screen, the first path focused', async () => {
    const heading = await textOf(session, '#welcome-title');
    assert.equal(heading, 'Welcome to Switchboard');
    const note = await textOf(session, '[data-field="data-note"]');
    assert.match(note, /encrypted database on this computer/);
    assert.ok(note.includes(join(dir, 'switchboard.db')), note);
    const focused = await session.execute('return document.activeElement?.dataset.path ?? null');
    assert.equal(focused, 'join');
    assert.equal(await text(session, 'section.call'), null, 'no empty call session');
    keep(await grab(display, 'welcome'), 'welcome');
  });

  it('tries the demo in a separate database, marked everywhere, and throws it away', async () => {
    await click(session, 'button[data-path="demo"]');
    const banner = await textOf(session, '[data-banner="demo"]');
    assert.match(banner, /made-up people in a separate database/);
    assert.match(await session.title(), /DEMO/);
    assert.ok(existsSync(join(dir, 'switchboard.demo.db')), 'the demo has its own file');
    await click(session, 'section.call button.primary');
    await find(session, '.lead-name');
    await shot(session, 'first-run-demo');

    await click(session, '[data-banner="demo"] button');
    await textOf(session, '#welcome-title');
    assert.equal(await text(session, '[data-banner="demo"]'), null);
    assert.equal(await session.title(), 'Switchboard');
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.includes('demo')),
      [],
      'the demo files are gone',
    );
  });

  it('joins the office: server URL, the fingerprint confirmed, user, password', async () => {
    await click(session, 'button[data-path="join"]');
    await session.sendKeys(await find(session, 'input[name="server"]'), server.url);
    await click(session, 'form[aria-label="Server"] button[type="submit"]');
    assert.equal(await textOf(session, 'code[data-field="fingerprint"]'), server.fingerprint);
    await click(session, 'input[name="confirm"]');
    await session.sendKeys(await find(session, 'input[name="user"]'), 'rita');
    await session.sendKeys(await find(session, 'input[name="password"]'), PASSWORD);
    await click(session, 'form[aria-label="Account"] button[type="submit"]');
    assert.match(await textOf(session, '.sign-in .ok[role="status"]'), /Signed in to .* as rita/);
    // The rep goes to the call session while the office's leads arrive.
    await session.execute(
      'const b = [...document.querySelectorAll("nav button")].find((b) => b.textContent.trim() === "Call session"); b?.click();',
    );
  });

  it('shows the first sync as it goes: changes and leads so far, and the time left', async () => {
    // The time left needs two pages' pace; the first page alone shows the counts.
    const seen = await waitFor('the first-sync progress with the time left', async () => {
      const shown = await text(session, '[data-panel="first-sync"]');
      return shown?.includes(' left') ? shown : null;
    }, 60000, 50);
    const file = grab(display, 'first-sync');
    console.log(`first sync: ${seen.replace(/\s+/g, ' ')}`);
    assert.match(seen, /[\d,]+ of about [\d,]+ changes/);
    assert.match(seen, /leads so far/);
    assert.match(seen, /(about \d+ (s|min)|less than 5 s) left/);
    keep(file, 'first-sync');
    await waitFor('the sync to finish', async () => {
      const state = await session.execute('return document.querySelector(".sync .indicator")?.dataset.connection');
      return state === 'online' && (await text(session, '[data-panel="first-sync"]')) === null ? state : null;
    }, 180000, 250);
  });

  it('offers a lead in the call session', async () => {
    await session.execute(
      'const b = [...document.querySelectorAll("nav button")].find((b) => b.textContent.trim() === "Call session"); b?.click();',
    );
    await click(session, 'section.call button.primary');
    assert.equal(await textOf(session, '.lead-name'), 'Ada Newest');
  });
});
