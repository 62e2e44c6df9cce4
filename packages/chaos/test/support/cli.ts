// Runs the chaos CLI (packages/chaos/dist/cli.js, built by `tsc --build`) as a child process and
// returns its exit code, output and JSON result. The CLI cleans up after itself (nodes, namespaces,
// temp dirs); a test that times out interrupts it with SIGINT, which it also cleans up after.
import { removeDir, spawnTracked, tempDir } from '@raftkv/testkit';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChaosSummary } from '../../src/harness/run.js';

export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));
export const isRoot = process.getuid?.() === 0;

const running = new Set<ChildProcess>();
export function interruptAll(): void {
  for (const p of running) p.kill('SIGINT');
}

export async function runCli<T>(args: readonly string[]): Promise<{ code: number | null; output: string; result: T }> {
  const dir = tempDir('raftkv-chaos-test-');
  const json = join(dir, 'result.json');
  try {
    const p = spawnTracked(process.execPath, [CLI, ...args, '--json', json], { stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(p);
    let output = '';
    p.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    p.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const code = await new Promise<number | null>((resolve) => p.on('exit', (c) => resolve(c)));
    running.delete(p);
    let result: T;
    try {
      result = JSON.parse(readFileSync(json, 'utf8')) as T;
    } catch {
      throw new Error(`the chaos CLI wrote no result (exit ${code}):\n${output}`);
    }
    return { code, output, result };
  } finally {
    removeDir(dir);
  }
}

/** Every check of a chaos run passed (the run's output is printed when not, to see why). */
export function expectAllChecksPassed(code: number | null, output: string, s: ChaosSummary): void {
  if (code !== 0) console.log(output);
  expect(s.problems).toEqual([]);
  expect(s.checker.verdict).toBe('ok');
  expect(s.lostWrites).toEqual([]);
  expect(s.digests.equal).toBe(true);
  expect(s.unexpectedExits).toEqual([]);
  expect(code).toBe(0);
}
