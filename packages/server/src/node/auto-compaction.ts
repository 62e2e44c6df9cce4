// Automatic compaction with etcd 3.4's flags and schedules (etcdserver/api/v3compactor). Only the
// LEADER's compactor acts, by its own monotonic clock, and it only PROPOSES a Compaction entry: every
// replica compacts when it applies that entry, so they stay identical. A follower's compactor keeps
// sampling revisions, so it can act at once when it becomes the leader.
//   periodic R: every R/10 (at most 6 min) remember the revision; once R has passed since the last
//     compaction (since start at first), compact at the revision remembered R ago; then every min(R, 1h).
//   revision N: every 5 minutes, compact at (current revision - N) when that moved.
import { performance } from 'node:perf_hooks';
import { ConfigError } from '../errors.js';

export type AutoCompaction =
  | { readonly mode: 'periodic'; readonly retentionMs: number }
  | { readonly mode: 'revision'; readonly retentionRevisions: number }
  | { readonly mode: 'off' };

/** The default: periodic, 5 minutes of history (what the Kubernetes API server asks of etcd). */
export const DEFAULT_AUTO_COMPACTION: AutoCompaction = { mode: 'periodic', retentionMs: 5 * 60_000 };

const HOUR_MS = 3_600_000;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: HOUR_MS };

/**
 * --auto-compaction-mode (periodic | revision) and --auto-compaction-retention, as etcd reads them:
 * periodic takes a duration (5m, 1h, 90s, 1h30m) or a bare number of hours; revision a number of
 * revisions; a retention of 0 turns auto-compaction off. Neither flag: DEFAULT_AUTO_COMPACTION.
 */
export function parseAutoCompaction(mode: string | undefined, retention: string | undefined): AutoCompaction {
  const m = mode ?? 'periodic';
  if (m !== 'periodic' && m !== 'revision')
    throw new ConfigError('--auto-compaction-mode', `must be periodic or revision, got ${JSON.stringify(m)}`);
  if (retention === undefined) {
    if (m === 'revision') throw new ConfigError('--auto-compaction-retention', 'is required with --auto-compaction-mode revision');
    return DEFAULT_AUTO_COMPACTION;
  }
  const r = retention.trim();
  if (m === 'revision') {
    if (!/^\d+$/.test(r) || !Number.isSafeInteger(Number(r))) {
      throw new ConfigError('--auto-compaction-retention', `must be a number of revisions with mode revision, got ${JSON.stringify(r)}`);
    }
    return Number(r) === 0 ? { mode: 'off' } : { mode: 'revision', retentionRevisions: Number(r) };
  }
  const ms = durationMs(r);
  if (ms === null) {
    throw new ConfigError(
      '--auto-compaction-retention',
      `must be a duration (5m, 1h, 1h30m) or a number of hours, got ${JSON.stringify(r)}`,
    );
  }
  return ms === 0 ? { mode: 'off' } : { mode: 'periodic', retentionMs: ms };
}

function durationMs(s: string): number | null {
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * HOUR_MS); // etcd: a bare number is hours
  return goDurationMs(s);
}

/** A Go duration of ms, s, m and h units (1h30m, 500ms) in milliseconds; null if it is not one. */
export function goDurationMs(s: string): number | null {
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(s)) return null;
  let ms = 0;
  for (const [, n, unit] of s.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) ms += Number(n) * UNIT_MS[unit!]!;
  return Math.round(ms);
}

export interface CompactorDeps {
  /** The store's revision now. */
  readonly revision: () => number;
  /** The last compaction's revision (-1 before the first). */
  readonly compacted: () => number;
  readonly isLeader: () => boolean;
  /** Proposes a Compaction entry at `rev`; resolves once applied (rejects if refused or not applied). */
  readonly propose: (rev: number) => Promise<void>;
  readonly onError: (rev: number, e: Error) => void;
}

/** etcd's revision compactor's check interval. */
const REVISION_CHECK_MS = 5 * 60_000;

export class AutoCompactor {
  private timer: NodeJS.Timeout | null = null;
  /** Periodic: revisions sampled every step, oldest first; revs[0] is the one `retention` ago. */
  private revs: number[] = [];
  private lastDone = 0;
  private lastRev = 0;
  private base: number;
  private busy = false;

  constructor(
    private readonly policy: AutoCompaction,
    private readonly d: CompactorDeps,
  ) {
    this.base = policy.mode === 'periodic' ? policy.retentionMs : 0;
  }

  /** Starts the schedule (`now`: the monotonic clock, performance.now(), given by tests). */
  start(now = performance.now()): void {
    if (this.policy.mode === 'off') return;
    this.lastDone = now;
    this.revs = [this.d.revision()];
    const every = this.policy.mode === 'periodic' ? Math.min(this.policy.retentionMs, HOUR_MS) / 10 : REVISION_CHECK_MS;
    if (this.timer === null) {
      this.timer = setInterval(() => this.step(), every);
      this.timer.unref();
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One step of the schedule (the timer's; tests call it directly). */
  step(now = performance.now()): void {
    const p = this.policy;
    if (p.mode === 'periodic') {
      // As etcd's loop: decide on the samples so far, then take this step's sample.
      if (now - this.lastDone >= this.base && this.revs.length > 0) {
        this.compact(this.revs[0]!, () => {
          this.lastDone = now;
          this.base = Math.min(p.retentionMs, HOUR_MS);
        });
      }
      const keep = Math.floor(p.retentionMs / (Math.min(p.retentionMs, HOUR_MS) / 10)) + 1;
      this.revs.push(this.d.revision());
      if (this.revs.length > keep) this.revs.shift();
    } else if (p.mode === 'revision') {
      const rev = this.d.revision() - p.retentionRevisions;
      if (rev <= 0 || rev === this.lastRev) return;
      this.compact(rev, () => (this.lastRev = rev));
    }
  }

  private compact(rev: number, done: () => void): void {
    if (!this.d.isLeader() || this.busy) return;
    if (rev <= this.d.compacted()) {
      done(); // already compacted there (etcd counts ErrCompacted as done)
      return;
    }
    this.busy = true;
    this.d.propose(rev).then(
      () => {
        this.busy = false;
        done();
      },
      (e: unknown) => {
        this.busy = false;
        this.d.onError(rev, e as Error);
      },
    );
  }
}
