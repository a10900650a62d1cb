// Figures for docs/BENCHMARKS.md, not a test: cold start of the real window on a large database
// (WebDriver session start → the call session's first lead card shown) and idle memory of every
// process of the app. `node tests/e2e/bench.mjs [leads]` after `make e2e` has built the binaries.

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { desktopBinary, seedDatabase, startTauriDriver, startXvfb, stopAll, tempDir } from './harness.mjs';
import { Session, waitFor } from './webdriver.mjs';

const COUNT = Number(process.argv[2] ?? 100000);

function seeds(count) {
  const base = Date.parse('2026-01-01T00:00:00Z');
  return Array.from({ length: count }, (_, i) => ({
    name: `Person ${i}`,
    company: `Company ${i % 997}`,
    email: `person${i}@example.com`,
    country: ['DE', 'GB', 'US', 'FR'][i % 4],
    registered_at: new Date(base + i * 60000).toISOString(),
  }));
}

/** Processes whose executable is the app binary or a WebKit helper, with their PSS in kB. */
function appMemory(binary) {
  const found = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0];
      if (cmd !== binary && !/WebKit(Web|Network|GPU)Process/.test(cmd)) continue;
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      const pss = Number(/^Pss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
      const rss = Number(/^Rss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
      found.push({ pid, cmd: cmd.split('/').pop(), pss, rss });
    } catch {
      // The process ended while we read it.
    }
  }
  return found;
}

const dir = tempDir();
const db = join(dir, 'bench.db');
let t = Date.now();
seedDatabase(db, seeds(COUNT));
console.log(`seeded ${COUNT} leads in ${Date.now() - t} ms`);
const display = await startXvfb();
const { url } = await startTauriDriver({
  ...process.env,
  DISPLAY: display,
  SWITCHBOARD_DB: db,
  XDG_DATA_HOME: join(dir, 'data'),
  XDG_CACHE_HOME: join(dir, 'cache'),
  XDG_CONFIG_HOME: join(dir, 'config'),
});
// SWITCHBOARD_BENCH_BINARY measures another build (the release binary) instead of the debug one.
const binary = process.env.SWITCHBOARD_BENCH_BINARY || desktopBinary();
let session;
try {
  t = Date.now();
  session = await Session.create(url, { 'tauri:options': { application: binary } });
  const created = Date.now() - t;
  await waitFor('the next-lead button', async () => (await session.findAll('section.call button.primary')).length > 0, 30000, 10);
  const interactive = Date.now() - t;
  await session.execute('document.querySelector("section.call button.primary").click()');
  await waitFor('the first lead card', async () => (await session.findAll('.lead-name')).length > 0, 30000, 10);
  const firstLead = Date.now() - t;
  console.log(`session created ${created} ms; call session interactive ${interactive} ms; first lead shown ${firstLead} ms`);
  await new Promise((r) => setTimeout(r, 5000));
  const memory = appMemory(binary);
  for (const p of memory) console.log(`${p.cmd} (pid ${p.pid}): PSS ${(p.pss / 1024).toFixed(1)} MB, RSS ${(p.rss / 1024).toFixed(1)} MB`);
  const pss = memory.reduce((s, p) => s + p.pss, 0) / 1024;
  const rss = memory.reduce((s, p) => s + p.rss, 0) / 1024;
  console.log(`idle memory, all app processes: PSS ${pss.toFixed(1)} MB, RSS ${rss.toFixed(1)} MB`);
} finally {
  await session?.close();
  stopAll();
}
