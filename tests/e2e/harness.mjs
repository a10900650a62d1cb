// Starts what the window tests need — a virtual display, tauri-driver, a seeded database — and
// stops all of it on every way out: normal end, failure, Ctrl-C, an uncaught error.

import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Session, elementRef, waitFor } from './webdriver.mjs';

/** The repository root. */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Where screenshots go (gitignored). */
export const ARTIFACTS = join(ROOT, 'tests', 'e2e', 'artifacts');

const cleanups = [];

// Every replica these tests make is encrypted, with one throw-away key passed as a headless use
// does (a key file of mode 0600, SWITCHBOARD_DB_KEY_FILE; docs/SYNC.md): the seeder, the window
// and the CLI inherit it. The real keychain is tested in Rust (tests/stolen_laptop.rs).
const keyDir = mkdtempSync(join(tmpdir(), 'switchboard-e2e-key-'));
process.on('exit', () => rmSync(keyDir, { recursive: true, force: true }));
if (!process.env.SWITCHBOARD_DB_KEY_FILE) {
  const keyFile = join(keyDir, 'db.key');
  writeFileSync(keyFile, randomBytes(32).toString('hex'), { mode: 0o600 });
  process.env.SWITCHBOARD_DB_KEY_FILE = keyFile;
}

/**
 * Every `panicked at` the desktop app printed on stderr (through tauri-driver or started
 * directly), with the lines around it. A panic in a background task (reminders, sync) leaves
 * the window running, so only its stderr tells: `closeWindow` and `assertNoPanics` fail on it.
 */
const panics = [];
const PANIC = 'panicked at';

/** Registers `fn` to run when the harness stops; later registrations run first. */
export function onStop(fn) {
  cleanups.push(fn);
}

/**
 * Runs every cleanup registered so far, once, even if some throw. A test file may call it after
 * each group of tests and start new processes afterwards: those are stopped by the next call
 * (or at exit), so no Xvfb or driver outlives the run and keeps the test process alive.
 */
export function stopAll() {
  const pending = [];
  while (cleanups.length > 0) {
    const fn = cleanups.pop();
    try {
      const done = fn();
      if (done instanceof Promise) pending.push(done.catch(() => {}));
    } catch (error) {
      console.error(`e2e cleanup failed: ${error.message}`);
    }
  }
  // Awaitable: the next group's Xvfb must not pick a display the last one is still releasing.
  return Promise.all(pending);
}

process.on('exit', stopAll);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    stopAll();
    process.exit(128 + ({ SIGINT: 2, SIGTERM: 15, SIGHUP: 1 })[signal]);
  });
}
process.on('uncaughtException', (error) => {
  console.error(error);
  stopAll();
  process.exit(1);
});

/** A TCP port that was free a moment ago. */
export function freePort() {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolvePort(port));
    });
  });
}

function portOpen(port) {
  return new Promise((resolveOpen) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolveOpen(true);
    });
    socket.once('error', () => resolveOpen(false));
  });
}

/** Waits until `probe()` is true, checking every 100 ms; throws naming `what` after `timeoutMs`. */
export async function waitUntil(what, probe, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/**
 * Watches a stream for `panicked at`, across chunk boundaries, and records each with the text
 * around it (the panic's message follows on the next line).
 */
function watchPanics(name, stream) {
  let carried = '';
  let pendingReport = null;
  stream.on('data', (chunk) => {
    const text = carried + chunk.toString();
    if (pendingReport) {
      // The lines after a panic (its message) arrive in the next chunk now and then.
      pendingReport.text += chunk.toString().slice(0, 400);
      pendingReport = null;
    }
    let from = 0;
    for (;;) {
      const at = text.indexOf(PANIC, from);
      if (at < 0) break;
      const start = Math.max(0, text.lastIndexOf('\n', at) + 1);
      const report = { process: name, text: text.slice(start, at + 600) };
      panics.push(report);
      pendingReport = report;
      from = at + PANIC.length;
    }
    // Keep just enough to find a marker split between two chunks, not one already counted.
    carried = text.slice(Math.max(from, text.length - PANIC.length + 1));
  });
}

/** The panics recorded so far, forgotten once returned. */
export function takePanics() {
  return panics.splice(0, panics.length);
}

/** Fails when the desktop app printed `panicked at` since the last check. */
export function assertNoPanics() {
  const found = takePanics();
  if (found.length > 0) {
    throw new Error(
      `the desktop app panicked ${found.length} time(s):\n${found.map((p) => `[${p.process}] ${p.text}`).join('\n---\n')}`,
    );
  }
}

/**
 * Starts a process in its own group, killed with its children when the harness stops. With
 * `panics`, its stderr is watched for `panicked at` (it runs the desktop app).
 */
function startProcess(name, command, args, env, { panics: watch = false } = {}) {
  const child = spawn(command, args, {
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const log = [];
  const keep = (chunk) => {
    log.push(chunk.toString());
    if (log.length > 200) log.shift();
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  if (watch) watchPanics(name, child.stderr);
  child.on('error', (error) => log.push(`spawn failed: ${error.message}`));
  child.log = () => log.join('');
  onStop(() => {
    if (child.exitCode !== null || child.signalCode !== null) return undefined;
    const exited = new Promise((resolveExit) => {
      child.once('exit', resolveExit);
      setTimeout(resolveExit, 5000).unref();
    });
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {
      // Already gone.
    }
    return exited;
  });
  child.label = name;
  return child;
}

function assertAlive(child) {
  if (child.exitCode !== null || child.signalCode !== null) {
    throw new Error(`${child.label} exited (${child.exitCode ?? child.signalCode}):\n${child.log()}`);
  }
}

/** Starts Xvfb on the first free display from :99 and returns its DISPLAY value. */
export async function startXvfb() {
  let number = 99;
  while (existsSync(`/tmp/.X${number}-lock`) || existsSync(`/tmp/.X11-unix/X${number}`)) number += 1;
  const display = `:${number}`;
  const xvfb = startProcess('Xvfb', 'Xvfb', [display, '-screen', '0', '1280x800x24', '-nolisten', 'tcp'], process.env);
  await waitUntil(`Xvfb on ${display}`, () => {
    assertAlive(xvfb);
    return existsSync(`/tmp/.X11-unix/X${number}`);
  }, 10000);
  return display;
}

/**
 * Starts tauri-driver on free ports; the app it launches inherits `env`. Returns its URL. With
 * `secretService`, the driver (and so the app) runs inside a private D-Bus session holding an
 * unlocked gnome-keyring Secret Service, the OS keychain the app keeps its sync token in.
 */
export async function startTauriDriver(env, { secretService = false } = {}) {
  const port = await freePort();
  const nativePort = await freePort();
  const args = ['--port', String(port), '--native-port', String(nativePort)];
  const driver = secretService
    ? startProcess(
        'tauri-driver in a Secret Service session',
        'dbus-run-session',
        [
          '--',
          'sh',
          '-c',
          // A non-empty password on stdin creates and unlocks the login keyring.
          'echo -n switchboard-e2e | gnome-keyring-daemon --unlock --components=secrets >/dev/null && exec tauri-driver "$@"',
          'sh',
          ...args,
        ],
        env,
        { panics: true },
      )
    : startProcess('tauri-driver', 'tauri-driver', args, env, { panics: true });
  await waitUntil(`tauri-driver on port ${port}`, async () => {
    assertAlive(driver);
    return portOpen(port);
  }, 20000);
  return { url: `http://127.0.0.1:${port}`, driver };
}

/** A fresh temp folder, removed when the harness stops. */
export function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-e2e-'));
  onStop(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function targetDir() {
  return process.env.CARGO_TARGET_DIR ? resolve(process.env.CARGO_TARGET_DIR) : join(ROOT, 'target');
}

/**
 * Creates the database at `dbPath` holding `leads` as `new` leads. The one place that knows how
 * to seed: it runs the `e2e_seed` example over the core until the CLI can import the same.
 */
export function seedDatabase(dbPath, leads) {
  const seeder = join(targetDir(), 'debug', 'examples', 'e2e_seed');
  if (!existsSync(seeder)) {
    throw new Error(`${seeder} is missing: build it with \`cargo build --example e2e_seed\` (make e2e does)`);
  }
  const json = `${dbPath}.seed.json`;
  writeFileSync(json, JSON.stringify(leads));
  const run = spawnSync(seeder, [dbPath, json], { encoding: 'utf8' });
  if (run.status !== 0) {
    throw new Error(`seeding ${dbPath} failed (${run.status ?? run.error}):\n${run.stdout}\n${run.stderr}`);
  }
}

/** The desktop binary built with the UI embedded; fails loudly when it was not built. */
export function desktopBinary() {
  const binary = join(targetDir(), 'debug', 'switchboard-desktop');
  if (!existsSync(binary)) {
    throw new Error(
      `${binary} is missing: build it with \`cargo build --features custom-protocol --bin switchboard-desktop\` (make e2e does)`,
    );
  }
  return binary;
}

/** A binary of this workspace's debug build; fails loudly when it was not built. */
export function workspaceBinary(name, buildHint) {
  const binary = join(targetDir(), 'debug', name);
  if (!existsSync(binary)) throw new Error(`${binary} is missing: build it with \`${buildHint}\` (make e2e does)`);
  return binary;
}

/** Runs a command to its end; throws with its output unless it exits 0. */
export function runChecked(command, args, input, env = {}) {
  const run = spawnSync(command, args, { encoding: 'utf8', input, env: { ...process.env, ...env } });
  if (run.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (${run.status ?? run.error}):\n${run.stdout}\n${run.stderr}`);
  }
  return run.stdout;
}

/**
 * Starts a real central store: `switchboard-server init` (a self-signed certificate) in a temp
 * folder, office `office` with routes for `countries`, the `users` ({name, role, password}), an
 * intake key, then `serve` on a free port of 127.0.0.1 (with `publicUrl`, its URL is also the
 * public one unsubscribe links start with). Stopped with the harness. Returns its
 * URL, the certificate fingerprint init printed, the certificate file and the intake key.
 */
export async function startSyncServer({ office = 'BER', countries = ['DE'], users = [], publicUrl = false } = {}) {
  const server = workspaceBinary('switchboard-server', 'cargo build -p switchboard-server');
  const data = join(tempDir(), 'server');
  const init = runChecked(server, ['init', '--data', data]);
  const fingerprint = /certificate SHA-256 fingerprint: (\S+)/.exec(init)?.[1];
  if (!fingerprint) throw new Error(`init printed no fingerprint:\n${init}`);
  runChecked(server, ['office', 'add', office, '--name', office, '--country', countries[0], '--data', data]);
  for (const country of countries) runChecked(server, ['route', 'add', country, office, '--data', data]);
  for (const user of users) {
    const args = ['user', 'add', user.name, '--role', user.role, '--data', data];
    if (user.role !== 'admin') args.push('--office', office);
    runChecked(server, args, `${user.password}\n`);
  }
  const intakeKey = runChecked(server, ['intake-key', 'create', '--data', data]).trim();
  const port = await freePort();
  const url = `https://127.0.0.1:${port}`;
  // With a public URL the server hands each signed-in replica its office's unsubscribe key.
  const serveArgs = ['serve', '--data', data, '--listen', `127.0.0.1:${port}`, ...(publicUrl ? ['--public-url', url] : [])];
  const serve = startProcess('switchboard-server', server, serveArgs, process.env);
  await waitUntil(`switchboard-server on port ${port}`, async () => {
    assertAlive(serve);
    return portOpen(port);
  }, 20000);
  return { url, fingerprint, certPath: join(data, 'cert.pem'), intakeKey, data };
}

/** The first of `places` ({ country, zone, phone }) where it is now 10:00–18:00, so a lead living
 * there can be called whatever time the test runs (calls are allowed 08:00–21:00 local). */
export function placeInDaytime(places) {
  const hour = (zone) =>
    Number(new Intl.DateTimeFormat('en-GB', { hour: 'numeric', hourCycle: 'h23', timeZone: zone }).format(new Date()));
  return places.find((p) => hour(p.zone) >= 10 && hour(p.zone) <= 18) ?? places[0];
}

/** Registers a person through a `startSyncServer` server's website intake, trusting its own
 * certificate; `agent` keeps connections alive when thousands are sent. Resolves to the answer. */
export function postRegistration(server, registration, agent) {
  const body = JSON.stringify({ kind: 'info_request', submitted_at: new Date().toISOString(), ...registration });
  return new Promise((resolve, reject) => {
    const req = request(
      `${server.url}/v1/registrations`,
      {
        method: 'POST',
        agent,
        ca: readFileSync(server.certPath),
        headers: {
          authorization: `Bearer ${server.intakeKey}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () =>
          res.statusCode === 200 || res.statusCode === 201
            ? resolve(JSON.parse(text))
            : reject(new Error(`intake answered ${res.statusCode}: ${text}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * The app's environment on `display` over the database `db`, with the app's own files (WebKit
 * caches) kept inside `dir`.
 */
export function appEnvironment(display, db, dir) {
  return {
    ...process.env,
    DISPLAY: display,
    SWITCHBOARD_DB: db,
    XDG_DATA_HOME: join(dir, 'data'),
    XDG_CACHE_HOME: join(dir, 'cache'),
    XDG_CONFIG_HOME: join(dir, 'config'),
  };
}

/**
 * Starts the desktop binary itself (no WebDriver) with `env`, inside a private D-Bus session
 * that holds a real notification server: dunst on the app's display, configured to append
 * every notification it shows to a file as `app<TAB>summary<TAB>body` lines. The app starts
 * once dunst owns `org.freedesktop.Notifications` (else the bus would activate the system's
 * dunst, which records nothing). Its stderr is watched for panics. Returns the process and
 * `notifications()`, the ones shown so far.
 */
export async function startDesktopWithNotifications(env) {
  const binary = desktopBinary();
  const dir = tempDir();
  const shown = join(dir, 'notifications.tsv');
  const script = join(dir, 'record-notification.sh');
  writeFileSync(script, `#!/bin/sh\nprintf '%s\\t%s\\t%s\\n' "$1" "$2" "$3" >> '${shown}'\n`, { mode: 0o755 });
  const config = join(dir, 'dunstrc');
  // dunst runs a rule's script for each notification it matches ("*" matches them all).
  writeFileSync(config, `[global]\n    monitor = 0\n[record]\n    summary = "*"\n    script = ${script}\n`);
  const app = startProcess(
    'switchboard-desktop with dunst',
    'dbus-run-session',
    [
      '--',
      'sh',
      '-c',
      `dunst -config "$1" &
       for _ in $(seq 200); do
         dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
           org.freedesktop.DBus.NameHasOwner string:org.freedesktop.Notifications 2>/dev/null \
           | grep -q true && exec "$2"
         sleep 0.1
       done
       echo 'dunst did not take org.freedesktop.Notifications' >&2; exit 1`,
      'sh',
      config,
      binary,
    ],
    env,
    { panics: true },
  );
  const notifications = () => {
    if (!existsSync(shown)) return [];
    return readFileSync(shown, 'utf8')
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => {
        const [appName, summary, body] = line.split('\t');
        return { appName, summary, body };
      });
  };
  return { app, notifications, alive: () => app.exitCode === null && app.signalCode === null };
}

/**
 * Opens the desktop window over a fresh database holding `leads` (as `seedDatabase`), signed in
 * as `user` with `role` when given, with `env` added to the app's environment. The database and
 * the app's own files live in a temp folder. With `secretService`, the app has a real OS keychain
 * (as `startTauriDriver`). Returns the WebDriver session, that folder and the database's path.
 */
export async function openWindow({ leads = [], user, role, env = {}, secretService = false } = {}) {
  const binary = desktopBinary();
  const dir = tempDir();
  const db = join(dir, 'e2e.db');
  seedDatabase(db, leads);
  const display = await startXvfb();
  const { url } = await startTauriDriver({
    ...appEnvironment(display, db, dir),
    ...(user === undefined ? {} : { SWITCHBOARD_USER: user }),
    ...(role === undefined ? {} : { SWITCHBOARD_ROLE: role }),
    // Not WEBKIT_DISABLE_DMABUF_RENDERER or LIBGL_ALWAYS_SOFTWARE: with them, WebKitWebDriver's
    // screenshot waits for a repaint that an idle window never makes.
    ...env,
  }, { secretService });
  const session = await Session.create(url, { 'tauri:options': { application: binary } });
  return { session, dir, db };
}

/**
 * Closes `session` (if it opened) and stops all the harness started, even when closing fails;
 * then fails if the app printed a panic meanwhile (called from `after`, so the file fails).
 */
export async function closeWindow(session) {
  try {
    await session?.close();
  } finally {
    await stopAll();
  }
  assertNoPanics();
}

/** The first element matching `css`, waiting until there is one. */
export async function find(session, css) {
  const [found] = await waitFor(css, async () => {
    const all = await session.findAll(css);
    return all.length > 0 ? all : null;
  });
  return found;
}

/** Clicks the nav button labelled `label` once it is there (matched by its text: screens add
 * buttons over time, labels stay). */
export async function clickNav(session, label) {
  await waitFor(`the nav button "${label}"`, () =>
    session.execute(
      'const b = [...document.querySelectorAll("nav button")].find((b) => b.textContent.trim() === arguments[0]); b?.click(); return Boolean(b);',
      [label],
    ),
  );
}

/** Clicks the first element matching `css` from script (not covered by overlays or scrolling). */
export async function click(session, css) {
  await session.execute('arguments[0].click()', [elementRef(await find(session, css))]);
}

/** The text of the first element matching `css`. */
export async function textOf(session, css) {
  return session.text(await find(session, css));
}

/** Saves a screenshot as `name`.png in ARTIFACTS. */
export async function shot(session, name) {
  mkdirSync(ARTIFACTS, { recursive: true });
  writeFileSync(join(ARTIFACTS, `${name}.png`), await session.screenshot());
}
