// The lock checker. Holders of etcd's lease-backed lock (lowest create_revision under a prefix wins)
// write their fencing token — their lock key's create_revision — to one log key, through a Txn that
// compares that create_revision. Judged on the reference history (every event from revision 1, see
// watch.ts), independent of what clients believed: every log write at revision R must come from the
// holder at R (its key live and the lowest create_revision live under the prefix), tokens never go
// back, every acknowledged write is in the history at its revision, and no refused write is.
import type { WatchEvent } from './watch.js';

/** One attempt to append to the log while believing to hold the lock. */
export interface LockWrite {
  readonly client: number;
  /** The writer's lock key and its create_revision (the fencing token). */
  readonly lockKey: string;
  readonly token: number;
  /** The value written: `token:client:seq`, unique per attempt. */
  readonly entry: string;
  /** ok: applied at `revision`; fail: certainly not applied (the compare failed: the lock was gone); info: unknown. */
  readonly outcome: 'ok' | 'fail' | 'info';
  readonly revision?: number;
  /** Written by a holder that stopped renewing its lease for longer than its TTL (a paused client). */
  readonly zombie: boolean;
  readonly error?: string;
}

export type LockViolationKind = 'not-holder' | 'token-regression' | 'lost-write' | 'refused-write-applied' | 'bad-entry';

export interface LockCheck {
  readonly verdict: 'ok' | 'violation';
  /** Log writes in the history, and distinct fencing tokens among them (holds that wrote). */
  readonly logWrites: number;
  readonly holdsThatWrote: number;
  readonly acknowledged: number;
  readonly violations: readonly { readonly kind: LockViolationKind; readonly report: string }[];
}

export const entryOf = (token: number, client: number, seq: number): string => `${token}:${client}:${seq}`;

export function checkLock(events: readonly WatchEvent[], writes: readonly LockWrite[], prefix: string, logKey: string): LockCheck {
  const violations: { kind: LockViolationKind; report: string }[] = [];
  const live = new Map<string, number>(); // lock key -> create_revision
  const appliedAt = new Map<string, number>(); // entry -> revision
  let lastToken = 0;
  const tokens = new Set<number>();
  let logWrites = 0;
  for (const e of events) {
    if (e.key === logKey && e.type === 'put') {
      logWrites++;
      const token = Number(e.value.split(':')[0]);
      if (!/^\d+:\d+:\d+$/.test(e.value))
        violations.push({ kind: 'bad-entry', report: `log write ${JSON.stringify(e.value)} @${e.revision}` });
      appliedAt.set(e.value, e.revision);
      tokens.add(token);
      // The holder at e.revision: the lowest create_revision among the live lock keys (a log Txn writes no lock key).
      let holder: [string, number] | undefined;
      for (const [k, c] of live) if (holder === undefined || c < holder[1]) holder = [k, c];
      if (holder?.[1] !== token) {
        const own = [...live].find(([, c]) => c === token);
        violations.push({
          kind: 'not-holder',
          report:
            `log write ${e.value} @${e.revision}: ` +
            (own === undefined
              ? `no live lock key has create_revision ${token} (its key was gone)`
              : `${own[0]} (token ${token}) was live but ${holder?.[0]} (create_revision ${holder?.[1]}) held the lock`),
        });
      }
      if (token < lastToken)
        violations.push({
          kind: 'token-regression',
          report: `log write ${e.value} @${e.revision}: token ${token} after token ${lastToken}`,
        });
      lastToken = Math.max(lastToken, token);
    } else if (e.key.startsWith(prefix)) {
      if (e.type === 'delete') live.delete(e.key);
      else if (!live.has(e.key)) live.set(e.key, e.revision);
    }
  }
  let acknowledged = 0;
  for (const w of writes) {
    const at = appliedAt.get(w.entry);
    if (w.outcome === 'ok') {
      acknowledged++;
      if (at !== w.revision)
        violations.push({
          kind: 'lost-write',
          report: `acknowledged log write ${w.entry} @${w.revision}: the history has it ${at ? `@${at}` : 'nowhere'}`,
        });
    } else if (w.outcome === 'fail' && at !== undefined)
      violations.push({ kind: 'refused-write-applied', report: `log write ${w.entry} was refused (${w.error ?? ''}) yet applied @${at}` });
  }
  return { verdict: violations.length === 0 ? 'ok' : 'violation', logWrites, holdsThatWrote: tokens.size, acknowledged, violations };
}
