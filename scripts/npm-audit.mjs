#!/usr/bin/env node
// `npm audit` over the UI's production dependencies (what the window ships), with an allowlist:
// every advisory fails the check unless supply-chain/npm-audit-allow.json lists its id with a
// reason. See docs/SUPPLY_CHAIN.md.
//
//   node scripts/npm-audit.mjs                 audit ui/ against the registry
//   node scripts/npm-audit.mjs --report FILE   judge a saved `npm audit --json` report instead
//
// When the registry refuses the audit endpoint (some mirrors and proxies answer its POST with
// 405), nothing was audited: that is a warning, or a failure with NPM_AUDIT_REQUIRED=1 (CI).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const allowFile = join(root, 'supply-chain', 'npm-audit-allow.json');

/** The allowlist: advisory id -> reason; an entry without a reason is itself an error. */
export function readAllowlist(text) {
  const entries = JSON.parse(text).advisories ?? [];
  const allowed = new Map();
  for (const entry of entries) {
    if (typeof entry.id !== 'string' || !entry.id) throw new Error('an allowlist entry has no id');
    if (typeof entry.reason !== 'string' || entry.reason.trim().length < 10) {
      throw new Error(`allowlist entry ${entry.id} needs a reason`);
    }
    allowed.set(entry.id, entry.reason);
  }
  return allowed;
}

/** The advisories of an `npm audit --json` (report version 2): id, package, severity, title. */
export function advisoriesOf(report) {
  const found = new Map();
  for (const vulnerability of Object.values(report.vulnerabilities ?? {})) {
    for (const via of vulnerability.via ?? []) {
      // A string names another vulnerable package; its own entry carries the advisory.
      if (typeof via !== 'object') continue;
      const id = String(via.url ?? '').split('/').pop() || String(via.source);
      found.set(id, { id, package: via.name, severity: via.severity, title: via.title });
    }
  }
  return [...found.values()];
}

/** What the check says about a report: the advisories that fail it and the stale allowances. */
export function judge(report, allowed) {
  const advisories = advisoriesOf(report);
  const failing = advisories.filter((a) => !allowed.has(a.id));
  const present = new Set(advisories.map((a) => a.id));
  const stale = [...allowed.keys()].filter((id) => !present.has(id));
  return { advisories, failing, stale };
}

function runAudit() {
  try {
    return execFileSync('npm', ['audit', '--omit=dev', '--json'], {
      cwd: join(root, 'ui'),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (error) {
    // npm audit exits 1 both when it finds advisories and when the endpoint fails.
    if (typeof error.stdout === 'string' && error.stdout.trim()) return error.stdout;
    throw error;
  }
}

function main(args) {
  const allowed = readAllowlist(readFileSync(allowFile, 'utf8'));
  const at = args.indexOf('--report');
  const text = at >= 0 ? readFileSync(args[at + 1], 'utf8') : runAudit();
  const report = JSON.parse(text);
  if (report.auditReportVersion !== 2) {
    const why = report.message ?? report.error?.summary ?? 'no audit report';
    const line = `npm audit: the registry gave no audit report (${why}); the UI's production dependencies were NOT audited`;
    if (process.env.NPM_AUDIT_REQUIRED === '1') {
      console.error(`${line}. Failing because NPM_AUDIT_REQUIRED=1.`);
      return 1;
    }
    console.warn(`WARNING: ${line}. Set NPM_AUDIT_REQUIRED=1 to make this fatal.`);
    return 0;
  }
  const { advisories, failing, stale } = judge(report, allowed);
  for (const a of advisories) {
    const verdict = allowed.has(a.id) ? `allowed: ${allowed.get(a.id)}` : 'NOT ALLOWED';
    console.log(`npm audit: ${a.id} ${a.package} (${a.severity}) ${a.title} — ${verdict}`);
  }
  for (const id of stale) {
    console.warn(`npm audit: allowlist entry ${id} matches no advisory any more; remove it`);
  }
  if (failing.length) {
    console.error(
      `npm audit: ${failing.length} advisory(ies) not in supply-chain/npm-audit-allow.json: ` +
        'upgrade the package, or list the id there with a reason',
    );
    return 1;
  }
  const deps = report.metadata?.dependencies?.prod ?? '?';
  console.log(`npm audit: ${deps} production dependencies, ${advisories.length} advisories, none unlisted`);
  return 0;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
