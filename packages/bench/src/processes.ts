// Child processes and temporary directories the benchmark owns, and the guarantee that they are all
// gone when it exits: normal end, error, Ctrl-C or SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();
let keepTempDirs = false;
let handlersInstalled = false;

function killAllNow(): void {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }
  if (!keepTempDirs) for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', killAllNow);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      process.stderr.write(`\nbench: ${sig}, stopping all cluster processes\n`);
      killAllNow();
      process.exit(130);
    });
  }
}

/** Keep temp dirs (data, logs, profiles) at exit instead of removing them. */
export function keepTemporaryFiles(keep: boolean): void {
  keepTempDirs = keep;
}

export function makeTempDir(prefix: string): string {
  installHandlers();
  const d = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(d);
  return d;
}

export function removeTempDir(dir: string): void {
  tempDirs.delete(dir);
  if (!keepTempDirs) rmSync(dir, { recursive: true, force: true });
}

/** n distinct free TCP ports on 127.0.0.1 (held open together, so they differ, then released). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const s = createServer();
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => {
    const a = s.address();
    if (a === null || typeof a === 'string') throw new Error('no port');
    return a.port;
  });
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

/** A child process whose stdout and stderr go to a log file. */
export class ManagedProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;

  constructor(
    readonly name: string,
    command: string,
    args: readonly string[],
    readonly logPath: string,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    installHandlers();
    const fd = openSync(logPath, 'a');
    this.child = spawn(command, args, { stdio: ['ignore', fd, fd], env });
    closeSync(fd);
    children.add(this.child);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', () => {
        children.delete(this.child);
        resolve();
      });
      this.child.once('error', () => {
        children.delete(this.child);
        resolve();
      });
    });
  }

  get pid(): number {
    const pid = this.child.pid;
    if (pid === undefined) throw new Error(`${this.name}: process did not start`);
    return pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null && this.child.pid !== undefined;
  }

  /** The last lines of its log, for error messages. */
  logTail(lines = 15): string {
    try {
      return readFileSync(this.logPath, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '(no log)';
    }
  }

  /** SIGTERM, then SIGKILL after graceMs. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.child.kill('SIGKILL');
        resolve();
      }, graceMs);
    });
    await Promise.race([this.exited, killed]);
    clearTimeout(timer);
    await this.exited;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
