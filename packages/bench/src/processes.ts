// Child processes and temporary directories the benchmark owns, and the guarantee that they are all
// gone when it exits: normal end, error, Ctrl-C or SIGTERM.
import { cleanupNow, spawnTracked, tempDir } from '@raftkv/testkit';
import type { ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

let handlersInstalled = false;

/** Ctrl-C or SIGTERM: say so, then the same cleanup as at exit (@raftkv/testkit: processes and temp dirs). */
function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      process.stderr.write(`\nbench: ${sig}, stopping all cluster processes\n`);
      cleanupNow();
      process.exit(130);
    });
  }
}

/** A temp dir removed at exit (kept with --keep: keepTempDirs), with the signal handlers installed. */
export function makeTempDir(prefix: string): string {
  installHandlers();
  return tempDir(prefix);
}

/** A child process whose stdout and stderr go to a log file. */
export class ManagedProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;

  constructor(
    readonly name: string,
    private readonly command: string,
    private readonly args: readonly string[],
    readonly logPath: string,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    installHandlers();
    const fd = openSync(logPath, 'a');
    this.child = spawnTracked(command, args, { stdio: ['ignore', fd, fd], env });
    closeSync(fd);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.once('error', () => resolve());
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

  /** The same command started again (after it exited: a restart over the same data), logging to the same file. */
  respawn(): ManagedProcess {
    return new ManagedProcess(this.name, this.command, this.args, this.logPath, this.env);
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
