#!/usr/bin/env node
// The quick start's one entry point: `npm start` and `npm test` both come here, so a fresh machine
// with only Node.js 20 and npm needs nothing else. pnpm is run through npx at the version pinned in
// package.json's packageManager field; install is frozen to the committed lock file.
import { spawnSync } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';
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

const [cmd, ...rest] = process.argv.slice(2);
switch (cmd) {
  case 'build':
    install();
    build();
    break;
  case 'test':
    install();
    build();
    // Packages one at a time: multi-process tests want both cores to themselves.
    pnpm(['-r', '--workspace-concurrency=1', 'run', 'test', ...rest]);
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
