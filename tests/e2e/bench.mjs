// Figures for docs/BENCHMARKS.md, not a test: cold start of the real window on a large database
// (WebDriver session start → the call session's first lead card shown) and idle memory of every
// process of the app. `node tests/e2e/bench.mjs [leads] [runs]` after `make e2e` has built the
// binaries. Each run launches a fresh window on the same seeded database; the medians are printed
// last. Extra environment for the app (a WebKit variable under test) is passed through as is:
// `WEBKIT_DISABLE_COMPOSITING_MODE=1 node tests/e2e/bench.mjs 100000 3`.

import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appEnvironment, desktopBinary, seedDatabase, startTauriDriver, startXvfb, stopAll } from './harness.mjs';
import { Session, waitFor } from './webdriver.mjs';

const COUNT = Number(process.argv[2] ?? 100000);
const RUNS = Number(process.argv[3] ?? 3);

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

/** The app binary's processes and their WebKit helpers (children of the app, so another app's
 * WebKit processes on the same machine are not counted), with their memory in kB. */
function appMemory(binary) {
  const procs = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0];
      const ppid = /^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
      procs.push({ pid, ppid, cmd });
    } catch {
      // The process ended while we read it.
    }
  }
  const apps = new Set(procs.filter((p) => p.cmd === binary).map((p) => p.pid));
  const found = [];
  for (const { pid, ppid, cmd } of procs) {
    if (!apps.has(pid) && !(apps.has(ppid) && /WebKit(Web|Network|GPU)Process/.test(cmd))) continue;
    try {
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(rollup)?.[1] ?? 0);
      found.push({
        pid,
        cmd: cmd.split('/').pop(),
        pss: field('Pss'),
        rss: field('Rss'),
        anon: field('Pss_Anon'),
        file: field('Pss_File'),
        shmem: field('Pss_Shmem'),
      });
    } catch {
      // The process ended while we read it.
    }
  }
  return found;
}

/** The mappings of a process that hold the most PSS, grouped by file (or [heap], anonymous…). */
function topMappings(pid, count) {
  const byName = new Map();
  let name = '';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const header = /^[0-9a-f]+-[0-9a-f]+\s\S+\s\S+\s\S+\s\d+\s*(.*)$/.exec(line);
    if (header) {
      name = header[1] || '[anonymous]';
      continue;
    }
    const pss = /^Pss:\s+(\d+)/.exec(line);
    if (pss) byName.set(name, (byName.get(name) ?? 0) + Number(pss[1]));
  }
  return [...byName].sort((a, b) => b[1] - a[1]).slice(0, count);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
const mb = (kb) => (kb / 1024).toFixed(1);

// Not the harness's temp folder: that one goes with the first run's cleanup.
const dir = mkdtempSync(join(tmpdir(), 'switchboard-bench-'));
const db = join(dir, 'bench.db');
let t = Date.now();
seedDatabase(db, seeds(COUNT));
console.log(`seeded ${COUNT} leads in ${Date.now() - t} ms`);
// SWITCHBOARD_BENCH_BINARY measures another build (the release binary) instead of the debug one.
const binary = process.env.SWITCHBOARD_BENCH_BINARY || desktopBinary();
const results = [];
try {
  for (let run = 1; run <= RUNS; run += 1) {
    // Every run starts from the seeded file as it was: an earlier run's claim holds a lease.
    const runDb = join(dir, `run${run}.db`);
    copyFileSync(db, runDb);
    const display = await startXvfb();
    const { url } = await startTauriDriver(appEnvironment(display, runDb, dir));
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
      await new Promise((r) => setTimeout(r, 5000));
      const memory = appMemory(binary);
      const total = (key) => memory.reduce((s, p) => s + p[key], 0);
      const by = (re) => memory.filter((p) => re.test(p.cmd)).reduce((s, p) => s + p.pss, 0);
      const result = {
        created,
        interactive,
        firstLead,
        pss: total('pss'),
        rss: total('rss'),
        app: by(/^switchboard/),
        web: by(/WebKitWebProcess/),
        network: by(/WebKitNetworkProcess/),
        gpu: by(/WebKitGPUProcess/),
      };
      results.push(result);
      console.log(`run ${run}: session created ${created} ms; interactive ${interactive} ms; first lead ${firstLead} ms`);
      for (const p of memory) {
        console.log(
          `  ${p.cmd} (pid ${p.pid}): PSS ${mb(p.pss)} MB (anon ${mb(p.anon)}, file ${mb(p.file)}, shmem ${mb(p.shmem)}), RSS ${mb(p.rss)} MB`,
        );
        // SWITCHBOARD_BENCH_SMAPS=N lists each process's N largest mappings: what holds the memory.
        const top = Number(process.env.SWITCHBOARD_BENCH_SMAPS ?? 0);
        if (top > 0) {
          for (const [file, kb] of topMappings(p.pid, top)) console.log(`      ${mb(kb).padStart(7)} MB  ${file}`);
        }
      }
      console.log(`  all app processes: PSS ${mb(result.pss)} MB, RSS ${mb(result.rss)} MB`);
    } finally {
      await session?.close();
      await stopAll();
      rmSync(runDb, { force: true });
    }
  }
} finally {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
}
const m = (key) => median(results.map((r) => r[key]));
console.log(
  `median of ${results.length}: interactive ${m('interactive')} ms, first lead ${m('firstLead')} ms; ` +
    `PSS total ${mb(m('pss'))} MB (app ${mb(m('app'))}, web ${mb(m('web'))}, network ${mb(m('network'))}, gpu ${mb(m('gpu'))}), RSS ${mb(m('rss'))} MB`,
);
