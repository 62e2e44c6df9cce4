#!/usr/bin/env node
// Builds a released raftkv from its git tag, outside this work tree: `git archive TAG` into a cache
// directory (default $TMPDIR/raftkv-release-<tag>-<commit>), then pnpm install (offline first: the
// store already holds the lock file's packages) and the release's own build. Reused when already built.
// Prints the directory; its server is <dir>/packages/server/dist/main.js.
//   node scripts/release/build-release.mjs [v0.2.0] [--dir DIR]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Builds `tag` (once) and returns the directory of its tree. */
export function buildRelease(tag, dir) {
  const commit = execFileSync('git', ['rev-parse', `${tag}^{commit}`], { cwd: root, encoding: 'utf8' }).trim();
  const out = dir ?? join(tmpdir(), `raftkv-release-${tag}-${commit.slice(0, 10)}`);
  const main = join(out, 'packages', 'server', 'dist', 'main.js');
  if (existsSync(join(out, '.built'))) return out;
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const archive = spawnSync('git', ['archive', '--format=tar', commit], { cwd: root, maxBuffer: 1 << 30 });
  if (archive.status !== 0) throw new Error(`git archive ${tag} failed: ${archive.stderr}`);
  const untar = spawnSync('tar', ['-x', '-C', out], { input: archive.stdout });
  if (untar.status !== 0) throw new Error(`tar failed: ${untar.stderr}`);
  const pnpmVersion = String(JSON.parse(readFileSync(join(out, 'package.json'), 'utf8')).packageManager).replace(/^pnpm@/, '');
  const pnpm = (args) => {
    const r = spawnSync('npx', ['--yes', `pnpm@${pnpmVersion}`, ...args], { cwd: out, stdio: ['ignore', 'inherit', 'inherit'] });
    return r.status === 0;
  };
  process.stderr.write(`building ${tag} (${commit.slice(0, 10)}) in ${out}\n`);
  if (!pnpm(['install', '--frozen-lockfile', '--offline', '--reporter=append-only'])) {
    if (!pnpm(['install', '--frozen-lockfile', '--prefer-offline', '--reporter=append-only'])) throw new Error('pnpm install failed');
  }
  if (!pnpm(['-r', '--workspace-concurrency=1', 'run', 'build'])) throw new Error(`building ${tag} failed`);
  if (!existsSync(main)) throw new Error(`${main} missing after the build`);
  execFileSync('touch', [join(out, '.built')]);
  return out;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--dir');
  const dir = at >= 0 ? args[at + 1] : undefined;
  const tag = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--dir') ?? 'v0.2.0';
  process.stdout.write(buildRelease(tag, dir) + '\n');
}
