// The real window against the private mail system (scripts/with-test-mail.sh: Postfix and
// Dovecot on loopback with TLS) and a real central server: the rep signs in to the office's
// server (which hands over the key for one-click unsubscribe links, without which cadence mail is
// refused), sets up the mailbox in the window (the password goes to a real Secret Service) and
// tests the connection, enrols a new lead in a cadence from the
// new-leads queue with the keyboard, sends the first step's mail from the lead page with
// Ctrl+Enter, the lead replies through the real mail server, the window's "Check for replies"
// fetches the reply, and the lead page shows the cadence stopped because the person replied.
// The office's manager has a second laptop (the real CLI on its own replica): the cadence is
// defined there (a manager's, protocol 3) and reaches the window through the server, and the stop
// the reply makes in the window reaches the manager's laptop through the server too.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  click, clickNav, closeWindow, find, openWindow, runChecked, shot, startSyncServer, textOf, workspaceBinary,
} from './harness.mjs';
import { sendMail } from './smtp.mjs';
import { elementRef, waitFor } from './webdriver.mjs';

/** The test mail system from the environment, or why these tests cannot run here. */
function testMail() {
  const env = process.env;
  if (!env.SWITCHBOARD_TEST_MAIL_HOST) return null;
  return {
    host: env.SWITCHBOARD_TEST_MAIL_HOST,
    submission: env.SWITCHBOARD_TEST_MAIL_SUBMISSION_PORT,
    submissions: Number(env.SWITCHBOARD_TEST_MAIL_SUBMISSIONS_PORT),
    imaps: env.SWITCHBOARD_TEST_MAIL_IMAPS_PORT,
    ca: env.SWITCHBOARD_TEST_MAIL_CA,
    rep: env.SWITCHBOARD_TEST_MAIL_REP,
    repPassword: env.SWITCHBOARD_TEST_MAIL_REP_PASSWORD,
    lead: env.SWITCHBOARD_TEST_MAIL_LEAD,
    leadPassword: env.SWITCHBOARD_TEST_MAIL_LEAD_PASSWORD,
  };
}

const mail = testMail();
const SERVER_PASSWORD = 'rita-e2e-password';
if (!mail) {
  if (process.env.CI) throw new Error('SWITCHBOARD_TEST_MAIL_HOST is not set but CI is: run inside scripts/with-test-mail.sh');
  console.error('\n*** SKIPPED mail-cadence.test.mjs: run inside scripts/with-test-mail.sh (make e2e does) ***\n');
}

/** Sets a bound field's value the way typing would (Svelte listens to `input`). */
async function fill(session, css, value) {
  await session.execute(
    'arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event("input", { bubbles: true }));',
    [elementRef(await find(session, css)), value],
  );
}

/** Presses `key` (with Ctrl when `ctrl`) on the first element matching `css`, as the keyboard would. */
async function press(session, css, key, ctrl = false) {
  await session.execute(
    'arguments[0].focus(); arguments[0].dispatchEvent(new KeyboardEvent("keydown", { key: arguments[1], ctrlKey: arguments[2], bubbles: true, cancelable: true }));',
    [elementRef(await find(session, css)), key, ctrl],
  );
}

/** The text of the first element matching `css` once `pattern` matches it. */
function textMatching(session, css, pattern, timeoutMs) {
  return waitFor(`${css} to read ${pattern}`, async () => {
    for (const element of await session.findAll(css)) {
      const text = await session.text(element);
      if (pattern.test(text)) return text;
    }
    return null;
  }, timeoutMs);
}

describe('email and cadences in the window', { skip: mail ? false : 'no test mail system' }, () => {
  let session;
  let db;
  let dir;
  let cli;
  let server;
  let manager;

  before(async () => {
    // The office's server: signing in hands the window the key its cadence mail's one-click
    // unsubscribe links are made with (cadence mail is refused without one).
    server = await startSyncServer({
      office: 'LON',
      countries: ['GB'],
      users: [
        { name: 'rita', role: 'rep', password: SERVER_PASSWORD },
        { name: 'mona', role: 'manager', password: SERVER_PASSWORD },
      ],
      publicUrl: true,
    });
    ({ session, dir, db } = await openWindow({
      leads: [{ name: 'Ada Lovelace', company: 'Analytical Engines', email: mail.lead, country: 'GB', registered_at: '2026-03-02T09:00:00Z' }],
      user: 'rita',
      role: 'rep',
      secretService: true,
    }));
    const switchboard = workspaceBinary('switchboard', 'cargo build -p switchboard-cli');
    cli = (...args) => runChecked(switchboard, ['--db', db, ...args]);
    const body = join(dir, 'hello.txt');
    writeFileSync(body, 'Dear {{first_name}},\n\nhow is the trial going?\n\n{{signature}}\n');
    cli('template', 'add', 'Hello', '--subject', 'Your trial, {{first_name}}', '--file', body);
    // The manager's laptop: signed in with a token of its own, it defines the cadence.
    const monaDb = join(dir, 'mona.db');
    const token = runChecked(switchboard, [
      '--db', monaDb, 'login', '--server', server.url, '--fingerprint', server.fingerprint,
      '--user', 'mona', '--password-stdin', '--print-token',
    ], `${SERVER_PASSWORD}\n`).trim();
    manager = (...args) => runChecked(switchboard, ['--db', monaDb, ...args], undefined, { SWITCHBOARD_TOKEN: token });
    manager('template', 'add', 'Hello', '--subject', 'Your trial, {{first_name}}', '--file', body);
    manager('cadence', 'add', 'Trial', '--step', 'email=Hello', '--step', 'wait=2', '--step', 'call=Ask how the trial goes');
    manager('sync');
  });

  after(() => closeWindow(session));

  it("signs in to the office's server", async () => {
    await click(session, '.sync .indicator');
    await click(session, '#sync-panel .actions button.primary');
    await fill(session, 'input[name="server"]', server.url);
    await click(session, 'form[aria-label="Server"] button[type="submit"]');
    assert.equal(await textOf(session, 'code[data-field="fingerprint"]'), server.fingerprint);
    await click(session, 'input[name="confirm"]');
    await fill(session, 'input[name="user"]', 'rita');
    await fill(session, 'input[name="password"]', SERVER_PASSWORD);
    await click(session, 'form[aria-label="Account"] button[type="submit"]');
    await textMatching(session, '.sign-in .ok[role="status"]', /Signed in to https:\/\/127\.0\.0\.1:\d+ as rita/, 30000);
  });

  it('sets up the mailbox with the password in the keychain and tests the connection', async () => {
    await clickNav(session, 'Mailbox');
    await fill(session, 'input[name="address"]', mail.rep);
    await fill(session, 'input[name="smtp-host"]', mail.host);
    await fill(session, 'input[name="smtp-port"]', mail.submission);
    await fill(session, 'input[name="imap-host"]', mail.host);
    await fill(session, 'input[name="imap-port"]', mail.imaps);
    await fill(session, 'input[name="ca-file"]', mail.ca);
    await fill(session, 'input[name="password"]', mail.repPassword);
    await click(session, 'button.test-connection');
    await textMatching(session, 'ul.test li[data-server="SMTP"]', /SMTP: working/, 30000);
    await textMatching(session, 'ul.test li[data-server="IMAP"]', /IMAP: working/, 30000);
    assert.match(await textOf(session, 'section.mailbox [role="status"]'), /password is in the keychain/);
    // Never in the database (its file and write-ahead log, byte for byte).
    for (const file of [db, `${db}-wal`]) {
      if (existsSync(file)) assert.equal(readFileSync(file).includes(mail.repPassword), false, `the password is in ${file}`);
    }
  });

  it('enrols the new lead in the cadence from the queue with the keyboard', async () => {
    // The manager's cadence arrives with the window's background sync.
    await waitFor("the manager's cadence", async () => {
      const cadences = JSON.parse(cli('cadence', 'list', '--json'));
      return cadences.some((c) => c.name === 'Trial') ? cadences : null;
    }, 30000, 500);
    await clickNav(session, 'New leads');
    await find(session, 'form.enroll select option');
    await press(session, 'button.row', ' ');
    await textMatching(session, 'form.enroll button[type="submit"]', /Enrol 1 lead/);
    await press(session, 'button.row', 'e');
    const focused = await session.execute('return document.activeElement?.closest("form.enroll") !== null');
    assert.equal(focused, true, 'E goes to the cadence to enrol in');
    await click(session, 'form.enroll button[type="submit"]');
    await textMatching(session, 'section.queue [role="status"]', /^Enrolled 1 in 'Trial'\.$/);
  });

  it("sends the first step's mail from the lead page; the reply stops the cadence", async () => {
    await click(session, 'header button.open-search');
    const search = await find(session, '.dialog input[type="search"]');
    await session.sendKeys(search, 'Lovelace');
    await click(session, '.dialog .hits button');
    const step = await textMatching(session, '.cadences li[data-state="active"]', /Step 1 of 3/);
    assert.match(step, /Email with the template 'Hello'/);
    assert.match(step, /Then: Wait 2 business days/);

    await textMatching(session, '[aria-label="Preview"]', /Dear Ada,/);
    await press(session, 'section.compose textarea', 'Enter', true);
    await textMatching(session, 'section.compose p.sent', /^Sent\.$/, 30000);
    await shot(session, 'mail-sent');

    const [sent] = JSON.parse(cli('mail', 'outbox', '--json'));
    assert.equal(sent.state, 'sent');
    await sendMail(
      { host: mail.host, port: mail.submissions, ca: mail.ca },
      { user: mail.lead, password: mail.leadPassword },
      mail.lead,
      mail.rep,
      {
        Subject: 'Re: Your trial, Ada',
        'Message-ID': '<reply-e2e@example.test>',
        'In-Reply-To': sent.message_id,
        References: sent.message_id,
      },
      'It goes well, call me next week.\n\n> Dear Ada,',
    );

    // Delivery through Postfix is asynchronous: check until the reply is there.
    await waitFor('the reply to arrive', async () => {
      await click(session, 'button.check-mail');
      const status = await textMatching(session, 'section.compose p.sent', /^Checked mail/);
      return /1 reply/.test(status) ? status : null;
    }, 60000, 1000);
    const stopped = await textMatching(session, '.cadences li[data-state="stopped"]', /the person replied/);
    assert.match(stopped, /^Trial/);
    await textMatching(session, 'ol.timeline li', /Email \(inbound\)\s+Replied/);
    await shot(session, 'cadence-stopped-by-reply');
  });

  it("the stop reaches the manager's laptop through the server", async () => {
    const enrolment = await waitFor('the stop on the second laptop', async () => {
      manager('sync');
      const shown = JSON.parse(manager('cadence', 'show', 'Trial', '--json'));
      const e = shown.enrollments.find((x) => x.state === 'stopped');
      return e ?? null;
    }, 30000, 500);
    assert.equal(enrolment.stop_reason, 'replied');
    assert.ok(enrolment.owner_replica, 'the window owns the enrolment, not the manager');
  });
});
