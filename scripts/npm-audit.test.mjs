// The allowlist policy of scripts/npm-audit.mjs on `npm audit --json` reports shaped like npm 10's
// (report version 2): an advisory fails unless listed with a reason. Run: node --test scripts/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { advisoriesOf, judge, readAllowlist } from './npm-audit.mjs';

const report = {
  auditReportVersion: 2,
  vulnerabilities: {
    'left-pad': {
      name: 'left-pad',
      severity: 'high',
      via: [
        {
          source: 1100001,
          name: 'left-pad',
          title: 'Prototype pollution',
          url: 'https://github.com/advisories/GHSA-aaaa-bbbb-cccc',
          severity: 'high',
        },
      ],
    },
    'uses-left-pad': { name: 'uses-left-pad', severity: 'high', via: ['left-pad'] },
  },
  metadata: { dependencies: { prod: 3 } },
};

test('an advisory names its GHSA id once, however many packages it reaches', () => {
  assert.deepEqual(
    advisoriesOf(report).map((a) => a.id),
    ['GHSA-aaaa-bbbb-cccc'],
  );
});

test('an unlisted advisory fails and a listed one passes', () => {
  assert.equal(judge(report, new Map()).failing.length, 1);
  const allowed = readAllowlist(
    JSON.stringify({
      advisories: [{ id: 'GHSA-aaaa-bbbb-cccc', reason: 'only reached by the test runner' }],
    }),
  );
  const verdict = judge(report, allowed);
  assert.equal(verdict.failing.length, 0);
  assert.deepEqual(verdict.stale, []);
});

test('an allowlist entry without a reason is refused', () => {
  assert.throws(
    () => readAllowlist(JSON.stringify({ advisories: [{ id: 'GHSA-aaaa-bbbb-cccc' }] })),
    /needs a reason/,
  );
});

test('an entry that matches nothing is reported stale', () => {
  const clean = { auditReportVersion: 2, vulnerabilities: {}, metadata: {} };
  const allowed = new Map([['GHSA-zzzz-zzzz-zzzz', 'fixed upstream since']]);
  assert.deepEqual(judge(clean, allowed).stale, ['GHSA-zzzz-zzzz-zzzz']);
});

test('the script exits 1 on a saved report with an unlisted advisory, 0 on a clean one', () => {
  const dir = mkdtempSync(join(tmpdir(), 'npm-audit-test-'));
  try {
    const script = new URL('./npm-audit.mjs', import.meta.url).pathname;
    const dirty = join(dir, 'dirty.json');
    writeFileSync(dirty, JSON.stringify(report));
    assert.throws(
      () => execFileSync('node', [script, '--report', dirty], { stdio: 'pipe' }),
      (error) => error.status === 1 && /GHSA-aaaa-bbbb-cccc/.test(String(error.stdout)),
    );
    const clean = join(dir, 'clean.json');
    writeFileSync(clean, JSON.stringify({ auditReportVersion: 2, vulnerabilities: {} }));
    execFileSync('node', [script, '--report', clean], { stdio: 'pipe' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
