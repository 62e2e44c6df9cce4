#!/usr/bin/env node
// The quick start's one entry point: `npm start` and `npm test` both come here, so a fresh machine
// with only Node.js 20 and npm needs nothing else. pnpm is run through npx at the version pinned in
// package.json's packageManager field; install is frozen to the committed lock file.
import { spawnSync } from 'node:child_process';
import { readFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const pnpmVersion = String(pkg.packageManager).replace(/^pnpm@/, '');

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
  if (r.error) throw r.error;
  if (r.status !== 0) process.exit(r.status ?? 1);
}

export function pnpm(args) {
  run('npx', ['--yes', `pnpm@${pnpmVersion}`, ...args]);
}

function install() {
  const frozen = existsSync(join(root, 'pnpm-lock.yaml')) ? ['--frozen-lockfile'] : [];
  pnpm(['install', ...frozen, '--reporter=append-only']);
}

function build() {
  pnpm(['-r', '--workspace-concurrency=1', 'run', 'build']);
}

// Lint and format check (the root package.json's `lint` and `format:check`): each counts as one result in
// the closing line, and a failure fails the run without stopping the package tests.
function checks() {
  const counts = { passed: 0, failed: 0 };
  for (const script of ['lint', 'format:check']) {
    const r = spawnSync('npx', ['--yes', `pnpm@${pnpmVersion}`, 'run', script], { cwd: root, stdio: 'inherit' });
    if (r.error) throw r.error;
    if (r.status === 0) counts.passed++;
    else {
      counts.failed++;
      console.error(`raftkv: ${script} failed${script === 'format:check' ? ' (`npm run format` rewrites the files)' : ''}`);
    }
  }
  return counts;
}

function test(args) {
  const checked = checks();
  // Packages one at a time (multi-process tests want both cores to themselves), all of them even
  // after a failure, then one closing line for the whole run.
  const dir = mkdtempSync(join(tmpdir(), 'raftkv-test-'));
  const summary = join(dir, 'summary.jsonl');
  const r = spawnSync('npx', ['--yes', `pnpm@${pnpmVersion}`, '-r', '--no-bail', '--workspace-concurrency=1', 'run', 'test', ...args], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, RAFTKV_TEST_SUMMARY: summary },
  });
  const totals = { passed: 0, failed: 0, skipped: 0 };
  if (existsSync(summary)) {
    for (const line of readFileSync(summary, 'utf8').split('\n').filter(Boolean)) {
      const c = JSON.parse(line);
      for (const k of Object.keys(totals)) totals[k] += c[k];
    }
  }
  rmSync(dir, { recursive: true, force: true });
  const failed = r.status !== 0 && totals.failed === 0 ? 1 : totals.failed; // a package that failed outside jest counts
  console.log(`\nraftkv: ${totals.passed + checked.passed} passed, ${failed + checked.failed} failed, ${totals.skipped} skipped`);
  process.exit(r.status !== 0 ? (r.status ?? 1) : checked.failed > 0 ? 1 : 0);
}

const [cmd, ...rest] = process.argv.slice(2);
switch (cmd) {
  case 'build':
    install();
    build();
    break;
  case 'test':
    install();
    build();
    test(rest);
    break;
  case 'start':
    install();
    build();
    run(process.execPath, [join(root, 'scripts', 'cluster.mjs'), ...rest]);
    break;
  case 'pnpm':
    pnpm(rest);
    break;
  default:
    console.error(`usage: node scripts/run.mjs build|test|start|pnpm [args]`);
    process.exit(2);
}
