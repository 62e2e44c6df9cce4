// A one-line progress bar on stderr (redrawn in place on a terminal; one line per finished run
// otherwise, so logs stay readable).
import type { Progress } from './generator.js';

export class ProgressBar {
  private readonly tty: boolean;
  private lastLen = 0;

  constructor(
    private readonly enabled: boolean,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = stream.isTTY === true;
  }

  update(label: string, p: Progress): void {
    if (!this.enabled || !this.tty) return;
    const width = 24;
    const filled = Math.round(Math.min(1, Math.max(0, p.done)) * width);
    const rate = p.phase === 'measure' && p.elapsedMs > 0 ? Math.round((p.ops * 1000) / p.elapsedMs) : 0;
    const line =
      `${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ` +
      (p.phase === 'warmup' ? 'warming up' : `${(p.elapsedMs / 1000).toFixed(1)} s ${p.ops} ops ${rate} ops/s`) +
      (p.errors > 0 ? ` ${p.errors} errors` : '');
    this.stream.write(`\r${line.padEnd(this.lastLen)}`);
    this.lastLen = line.length;
  }

  /** Ends the current run's line with a summary. */
  done(label: string, summary: string): void {
    if (!this.enabled) return;
    const line = `${label} ${summary}`;
    this.stream.write(this.tty ? `\r${line.padEnd(this.lastLen)}\n` : `${line}\n`);
    this.lastLen = 0;
  }

  /** A message on its own line (clearing a half-drawn bar). */
  say(message: string): void {
    if (this.tty && this.lastLen > 0) {
      this.stream.write(`\r${' '.repeat(this.lastLen)}\r`);
      this.lastLen = 0;
    }
    this.stream.write(`${message}\n`);
  }
}
