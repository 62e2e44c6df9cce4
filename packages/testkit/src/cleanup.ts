// What a test or tool started is gone when it exits, however it exits: child processes are killed
// (SIGCONT first, so a paused one dies too) and temp dirs removed, from one process 'exit' handler.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const children = new Set<ChildProcess>();
const dirs = new Set<string>();
let keepDirs = false;
let installed = false;

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', cleanupNow);
}

/** Kills every tracked child process that is still running (synchronous: fit for exit handlers). */
export function killTracked(): void {
  for (const c of children) {
    if (c.exitCode !== null || c.signalCode !== null) continue;
    try {
      c.kill('SIGCONT');
      c.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
  children.clear();
}

/** Kills the tracked processes and removes the temp dirs (unless kept): what the exit handler does. */
export function cleanupNow(): void {
  killTracked();
  if (!keepDirs) for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs.clear();
}

/** Tracks a child process: it is killed when this process exits, unless it exited first. */
export function track<C extends ChildProcess>(child: C): C {
  install();
  children.add(child);
  const forget = (): void => void children.delete(child);
  child.once('exit', forget);
  child.once('error', forget);
  return child;
}

/** spawn(), tracked. */
export function spawnTracked(command: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  return track(spawn(command, args, options));
}

/** A new temp dir (prefix under the OS temp dir), removed by removeDir or at exit. */
export function tempDir(prefix = 'raftkv-test-'): string {
  install();
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.add(d);
  return d;
}

export function removeDir(d: string): void {
  dirs.delete(d);
  if (!keepDirs) rmSync(d, { recursive: true, force: true });
}

/** Keep temp dirs (data, logs) at exit and on removeDir instead of removing them (e.g. bench --keep). */
export function keepTempDirs(keep: boolean): void {
  keepDirs = keep;
}
