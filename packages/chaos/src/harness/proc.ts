import { execFile } from 'node:child_process';

/** Runs a command (no shell); resolves with stdout, rejects with its stderr in the message. */
export function run(cmd: string, args: readonly string[], timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${stderr.trim() || err.message}`, { cause: err }));
      else resolve(stdout);
    });
  });
}

export async function succeeds(cmd: string, args: readonly string[]): Promise<boolean> {
  try {
    await run(cmd, args);
    return true;
  } catch {
    return false;
  }
}

/** True if a process with this pid exists (signal 0 probes without touching it). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const exitHooks = new Set<() => void>();
/** Registers synchronous cleanup for an interrupted run (see runExitHooks); returns an unregister function. */
export function onExit(hook: () => void): () => void {
  exitHooks.add(hook);
  return () => exitHooks.delete(hook);
}
/** Runs the registered cleanups once (signal handlers call this before exiting). */
export function runExitHooks(): void {
  for (const h of [...exitHooks]) {
    exitHooks.delete(h);
    try {
      h();
    } catch {
      /* best effort */
    }
  }
}
