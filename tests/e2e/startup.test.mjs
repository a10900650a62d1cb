// The REAL desktop binary, started as a user starts it (no WebDriver), under Xvfb in a private
// D-Bus session with a real notification server (dunst). Two promises:
// - it starts without a panic: background tasks (reminders, background sync) panic silently
//   while the window keeps running, so the test reads the app's stderr for `panicked at`;
// - a follow-up that is due produces a desktop notification naming the lead, for the user the
//   window acts as, in the reminders' first round (it runs at start-up): the user named by
//   SWITCHBOARD_USER, or the account signed in on the replica (then background sync runs too,
//   against a real server).

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  appEnvironment,
  assertNoPanics,
  runChecked,
  seedDatabase,
  startDesktopWithNotifications,
  startSyncServer,
  startXvfb,
  stopAll,
  takePanics,
  tempDir,
  waitUntil,
  workspaceBinary,
} from './harness.mjs';

/** How long the app runs before the panic check: the webview, sync and reminders start by then. */
const RUN_MS = Number(process.env.SWITCHBOARD_E2E_STARTUP_MS ?? 15000);

const LEADS = [
  { name: 'Grace Hopper', company: 'Navy Labs', email: 'grace@example.org', country: 'DE', registered_at: '2026-03-02T08:00:00Z' },
  { name: 'Alan Turing', company: 'Bletchley Works', email: 'alan@example.org', country: 'GB', registered_at: '2026-03-02T08:30:00Z' },
];

const PASSWORD = 'rita-e2e-password';

const minutesAgo = (m) => new Date(Date.now() - m * 60_000);
const iso = (d) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Logs an inbound call (never refused by the gate) by `user`, asking to be called back at `next`. */
function cli() {
  return workspaceBinary('switchboard', 'cargo build -p switchboard-cli --bin switchboard');
}

function callbackDue(db, email, user, next) {
  runChecked(cli(), [
    'log', email, '--db', db, '--as', user, '--inbound', '--channel', 'phone',
    '--outcome', 'callback_requested', '--at', iso(minutesAgo(10)), '--next', iso(next),
  ]);
}

/** The one notification expected for Grace's callback due at `due` (times in UTC). */
function graceNotice(due) {
  const hh = String(due.getUTCHours()).padStart(2, '0');
  const mm = String(due.getUTCMinutes()).padStart(2, '0');
  return { summary: 'Follow-up due', body: `Follow up with Grace Hopper (Navy Labs) — due ${hh}:${mm}` };
}

/** Waits for the first notification, then a moment for a wrong second one; returns them all. */
async function notificationsOfFirstRound(started) {
  await waitUntil('the follow-up notification', () => started.notifications().length > 0 || !started.alive(), 45000);
  assert.ok(started.alive(), `the app exited:\n${started.app.log()}`);
  // A round shows all it found at once: give a second one (someone else's, wrongly) time.
  await new Promise((r) => setTimeout(r, 2000));
  return started.notifications().map(({ summary, body }) => ({ summary, body }));
}

describe('the real desktop binary', () => {
  let started;
  let startedAt;
  let graceDue;

  before(async () => {
    const dir = tempDir();
    const db = join(dir, 'startup.db');
    seedDatabase(db, LEADS);
    // Grace's callback (logged by rita, who the window acts as) fell due a minute ago; Alan's
    // belongs to sam, so rita must not be reminded of it.
    graceDue = minutesAgo(1);
    callbackDue(db, 'grace@example.org', 'rita', graceDue);
    callbackDue(db, 'alan@example.org', 'sam', minutesAgo(1));
    const display = await startXvfb();
    startedAt = Date.now();
    started = await startDesktopWithNotifications({
      ...appEnvironment(display, db, dir),
      SWITCHBOARD_USER: 'rita',
      // The notification's due time is written in the user's zone: fix it.
      TZ: 'UTC',
    });
  });

  after(async () => {
    await stopAll();
    // The panic test reports its own; here only what came after it (while stopping).
    assertNoPanics();
  });

  it('shows a desktop notification naming the lead whose follow-up is due', async () => {
    assert.deepEqual(
      await notificationsOfFirstRound(started),
      [graceNotice(graceDue)],
      'one notification, for the acting user\'s lead only',
    );
  });

  it('runs its start-up tasks without a panic', async () => {
    const left = RUN_MS - (Date.now() - startedAt);
    if (left > 0) await new Promise((r) => setTimeout(r, left));
    const panics = takePanics();
    assert.deepEqual(panics.map((p) => p.text), [], "the app printed a panic on stderr");
    assert.ok(started.alive(), `the app exited:\n${started.app.log()}`);
  });
});

describe('the real desktop binary signed in to a server', () => {
  let started;
  let graceDue;

  before(async () => {
    const server = await startSyncServer({ users: [{ name: 'rita', role: 'rep', password: PASSWORD }] });
    const dir = tempDir();
    const db = join(dir, 'signed-in.db');
    seedDatabase(db, LEADS);
    // rita signs in on this replica; the OS user (osuser) has a callback due as well.
    const token = runChecked(
      cli(),
      ['login', '--db', db, '--server', server.url, '--fingerprint', server.fingerprint, '--user', 'rita',
        '--password-stdin', '--print-token'],
      `${PASSWORD}\n`,
    ).trim();
    graceDue = minutesAgo(1);
    callbackDue(db, 'grace@example.org', 'rita', graceDue);
    callbackDue(db, 'alan@example.org', 'osuser', minutesAgo(1));
    const display = await startXvfb();
    const env = {
      ...appEnvironment(display, db, dir),
      USER: 'osuser',
      LOGNAME: 'osuser',
      // The token as scripts give it (no keychain here): background sync runs against the server.
      SWITCHBOARD_TOKEN: token,
      TZ: 'UTC',
    };
    delete env.SWITCHBOARD_USER;
    started = await startDesktopWithNotifications(env);
  });

  after(async () => {
    await stopAll();
    assertNoPanics();
  });

  it('reminds the signed-in account, not the OS user, and does not panic', async () => {
    assert.deepEqual(await notificationsOfFirstRound(started), [graceNotice(graceDue)]);
    assert.deepEqual(takePanics().map((p) => p.text), [], 'the app printed a panic on stderr');
  });
});
