// The stolen laptop, through the real window (issue 13): a rep works a person in the window —
// the call session, a typed note, a search, the lead page — so WebKit writes its caches, local
// storage and IndexedDB; the window quits; every file the app left under its home folder, its
// data, cache and config folders and its temp folder is copied elsewhere, and none of that
// person's strings (name, email, phone digits, company, the note typed) is in any copied file,
// as UTF-8 or as UTF-16 (WebKit's local storage). The copied database does not open without
// the key, and says so clearly.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join, relative } from 'node:path';
import { assertNoPanics, click, find, openWindow, stopAll, tempDir, textOf, workspaceBinary } from './harness.mjs';
import { waitFor } from './webdriver.mjs';

const PERSON = {
  name: 'Zebulon Quartermaine',
  company: 'Quillfeather Hydraulics',
  email: 'zebulon.q@quillfeather.example',
  phone: '+14155550173',
  country: 'US',
  registered_at: '2026-03-02T09:30:00Z',
};
const NOTE = 'Prefers the heron gazebo quote';
/** Every string of the person a thief could look for; the phone as its bare digits. */
const NEEDLES = [PERSON.name, 'Quartermaine', PERSON.company, 'Quillfeather', PERSON.email, '4155550173', NOTE, 'heron gazebo'];

/** Every regular file under `root` (symbolic links are not followed: they point elsewhere). */
function filesUnder(root) {
  const out = [];
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    const path = join(root, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(path));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

/** Copies `from` to `to` as a thief would: files, folders and links (sockets are no data). */
function copyAll(from, to) {
  cpSync(from, to, {
    recursive: true,
    verbatimSymlinks: true,
    filter: (source) => {
      const stat = lstatSync(source);
      return stat.isFile() || stat.isDirectory() || stat.isSymbolicLink();
    },
  });
}

/** The needles found in `bytes`, as UTF-8 or UTF-16LE, any letter case. */
function leaks(bytes) {
  const lower = Buffer.from(bytes.toString('latin1').toLowerCase(), 'latin1');
  return NEEDLES.filter((needle) =>
    ['utf8', 'utf16le'].some((encoding) => lower.includes(Buffer.from(needle.toLowerCase(), encoding))),
  );
}

describe('a stolen laptop after a day in the window', () => {
  let session;
  let home;
  let appDir;
  let stolen;
  let closed = false;

  before(async () => {
    home = tempDir();
    for (const sub of ['.local/share', '.cache', '.config', 'tmp']) mkdirSync(join(home, sub), { recursive: true });
    ({ session, dir: appDir } = await openWindow({
      leads: [PERSON],
      user: 'rita',
      role: 'rep',
      env: {
        HOME: home,
        TMPDIR: join(home, 'tmp'),
        XDG_DATA_HOME: join(home, '.local/share'),
        XDG_CACHE_HOME: join(home, '.cache'),
        XDG_CONFIG_HOME: join(home, '.config'),
      },
    }));
    // The harness's seed input is the test's, not the app's: it goes before the app writes.
    for (const name of readdirSync(appDir)) if (name.endsWith('.seed.json')) rmSync(join(appDir, name));
  });

  after(async () => {
    if (!closed) await session?.close().catch(() => {});
    await stopAll();
    assertNoPanics();
  });

  it('works the person in the window: call session, a typed note, search, lead page', async () => {
    await click(session, 'section.call button.primary');
    assert.equal(await textOf(session, '.lead-name'), PERSON.name);
    await click(session, 'button[data-channel="email"]');
    await click(session, 'button[data-outcome="sent"]');
    await session.sendKeys(await find(session, 'form.log input[name="note"]'), NOTE);
    await click(session, 'form.log button[type="submit"]');
    await waitFor('the logged contact', async () =>
      /Logged sent for Zebulon Quartermaine/.test(await textOf(session, '.saved')),
    );

    await click(session, 'header button.open-search');
    await session.sendKeys(await find(session, '.dialog input[type="search"]'), 'Quartermaine');
    await waitFor('a search hit', async () => {
      const hits = await session.findAll('.hits button');
      return hits.length > 0 && (await session.text(hits[0])).includes(PERSON.name);
    });
    await click(session, '.hits button');
    await waitFor('the lead page', async () => (await textOf(session, '#lead-title')) === PERSON.name);
    const timeline = await textOf(session, 'ol.timeline');
    assert.match(timeline, /heron gazebo/, 'the note is on the lead page, so WebKit rendered it');
  });

  it('leaves none of the person in any file under home, data, cache, config and temp', async () => {
    // Quitting the window ends the app; give WebKit's storage processes a moment to flush.
    await session.close();
    closed = true;
    await new Promise((resolve) => setTimeout(resolve, 2000));

    stolen = tempDir();
    copyAll(home, join(stolen, 'home'));
    copyAll(appDir, join(stolen, 'app'));
    const files = filesUnder(stolen);
    const names = files.map((f) => relative(stolen, f));
    // Not vacuous: the database and WebKit's own folders were written and copied.
    assert.ok(names.includes('app/e2e.db'), names.join('\n'));
    assert.ok(statSync(join(stolen, 'app/e2e.db')).size > 0);
    assert.ok(
      names.some((n) => n.startsWith('home/.local/share/app.switchboard.desktop/') || n.startsWith('home/.cache/app.switchboard.desktop/')),
      `WebKit wrote nothing under the app's data or cache folder:\n${names.join('\n')}`,
    );
    // The search would find the person in plain bytes, in either encoding.
    assert.deepEqual(leaks(Buffer.from(`x${PERSON.name.toUpperCase()}x`, 'utf16le')), [PERSON.name, 'Quartermaine']);

    const found = [];
    for (const file of files) {
      if (lstatSync(file).size === 0) continue;
      const hit = leaks(readFileSync(file));
      if (hit.length > 0) found.push(`${relative(stolen, file)}: ${hit.join(', ')}`);
    }
    console.log(`scanned ${files.length} files:\n${names.map((n) => `  ${n}`).join('\n')}`);
    assert.deepEqual(found, [], `the person's strings are readable in:\n${found.join('\n')}`);
  });

  it('the copied database does not open without its key, and says what to do', () => {
    const db = join(stolen, 'app', 'e2e.db');
    assert.ok(existsSync(db));
    const cli = workspaceBinary('switchboard', 'cargo build -p switchboard-cli --bins');
    const open = (extra) => {
      const env = { ...process.env, HOME: join(stolen, 'home'), XDG_RUNTIME_DIR: join(stolen, 'home'), ...extra };
      for (const name of ['DISPLAY', 'DBUS_SESSION_BUS_ADDRESS', 'SWITCHBOARD_DB_KEY', 'SWITCHBOARD_DB_KEY_FILE']) {
        if (!(name in extra)) delete env[name];
      }
      const run = spawnSync(cli, ['--db', db, '--json', 'leads', 'list'], { encoding: 'utf8', env });
      assert.equal(run.status, 1, `${run.stdout}\n${run.stderr}`);
      assert.doesNotMatch(run.stdout + run.stderr, /Quartermaine|panicked at/);
      const error = JSON.parse(run.stderr.trim().split('\n').at(-1)).error;
      return error;
    };
    const none = open({});
    assert.equal(none.code, 'no_keychain', none.message);
    assert.match(none.message, /SWITCHBOARD_DB_KEY_FILE/);
    const guess = 'ab'.repeat(32);
    const wrong = open({ SWITCHBOARD_DB_KEY: guess });
    assert.equal(wrong.code, 'wrong_key', wrong.message);
    assert.match(wrong.message, /encrypted/);
    assert.ok(!wrong.message.includes(guess), 'the guessed key is not echoed');
  });
});
