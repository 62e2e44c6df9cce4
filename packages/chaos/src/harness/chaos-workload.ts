// What a chaos run drives and checks: the register workload (raftkv.v1 or etcd's KV API, checked for
// linearizability per key and for lost acknowledged writes) or the bank workload (etcd's KV API,
// checked by the bank checker). The run itself (cluster, faults, healing, digests) is the same.
import {
  checkBank,
  checkHistory,
  findLostWrites,
  type AckedWrite,
  type BankCheck,
  type CheckResult,
  type WatchRange,
  checkLock,
  type LockCheck,
  type WatchEvent,
} from '../checker/index.js';
import { LOCK_LOG, LOCK_PREFIX, LockWorkload, type LockCounts, type LockOptions } from './lock-workload.js';
import { BANK_PREFIX, BankWorkload, type BankOptions } from './bank-workload.js';
import type { Cluster } from './cluster.js';
import type { Random } from './random.js';
import { etcdApi, raftkvApi } from './register-api.js';
import { Workload, type WorkloadOptions } from './workload.js';

export type ApiName = 'raftkv' | 'etcd';
export type WorkloadName = 'register' | 'bank' | 'lock';

/** An operation's span, to show the faults around it in a report. */
export interface Span {
  readonly call: number;
  readonly ret: number;
  readonly outcome: string;
}

export interface WorkloadVerdict {
  readonly ops: { total: number; ok: number; fail: number; info: number; byType: Record<string, number> };
  readonly keys: number;
  readonly checker: {
    verdict: CheckResult['verdict'];
    elapsedMs: number;
    violations: { key: string; report: string; spans: readonly Span[] }[];
  };
  readonly lostWrites: readonly { key: string; report: string }[];
  readonly bank?: Omit<BankCheck, 'violations' | 'verdict'> & { accounts: number; total: number; finalRead: boolean };
  readonly lock?: Omit<LockCheck, 'violations' | 'verdict'> & LockCounts & { ttlS: number };
}

export interface ChaosWorkload {
  /** Before clients and faults start (the bank's initial balances). */
  prepare(timeoutMs: number): Promise<void>;
  start(): void;
  stop(): Promise<void>;
  counts(): { total: number; ok: number; fail: number; info: number };
  /** After healing: read everything once more; returns what could not be read. */
  finalReads(timeoutMs: number): Promise<string[]>;
  errorCounts(): [string, number][];
  /** `reference`: every event from revision 1 (etcd API, when it could be read; the lock checker needs it). */
  check(timeoutMs: number, reference?: readonly WatchEvent[]): WorkloadVerdict;
  /** The checker judges the reference history (so it is read even without watchers). */
  readonly needsReference?: boolean;
  /** Ranges worth watching besides every key (a key, a prefix, a span), for the watch checker. */
  watchRanges(): WatchRange[];
  /** Acknowledged writes with their revisions (etcd API), which the watch checker's reference must hold. */
  ackedWrites(): AckedWrite[];
}

export interface WorkloadChoice extends WorkloadOptions, Omit<BankOptions, 'staleReads'>, LockOptions {
  readonly api: ApiName;
  readonly workload: WorkloadName;
}

function tally(items: readonly { outcome: 'ok' | 'fail' | 'info' }[]): { total: number; ok: number; fail: number; info: number } {
  const c = { total: items.length, ok: 0, fail: 0, info: 0 };
  for (const i of items) c[i.outcome]++;
  return c;
}

export function makeWorkload(cluster: Cluster, rand: Random, clock: () => number, o: WorkloadChoice): ChaosWorkload {
  if (o.workload === 'lock') {
    if (o.api !== 'etcd') throw new Error('the lock workload needs --api etcd (leases, watches and transactions)');
    return lockWorkload(new LockWorkload(cluster, rand, clock, o), o.lockTtlS);
  }
  if (o.workload === 'bank') {
    if (o.api !== 'etcd') throw new Error('the bank workload needs --api etcd (raftkv.v1 has no multi-key transactions)');
    return bankWorkload(new BankWorkload(cluster, rand, clock, o));
  }
  const w = new Workload(cluster, rand, clock, o, o.api === 'etcd' ? etcdApi(cluster) : raftkvApi(cluster));
  return {
    prepare: async () => undefined,
    start: () => w.start(),
    stop: () => w.stop(),
    counts: () => tally(w.history),
    finalReads: (t) => w.finalReads(t),
    errorCounts: () => w.errorCounts(),
    // Keys are k0, k1, ...: k0 is written early, the k1 prefix holds k1 and k10..k19.
    watchRanges: () => [
      { key: 'k0', end: '' },
      { key: 'k1', end: 'k2' },
      { key: 'k', end: 'l' },
    ],
    ackedWrites: () => [],
    check(timeoutMs) {
      const history = w.history;
      const check = checkHistory(history, { timeoutMs });
      const byType: Record<string, number> = {};
      for (const op of history) byType[op.input.f] = (byType[op.input.f] ?? 0) + 1;
      return {
        ops: { ...tally(history), byType },
        keys: w.keys.length,
        checker: {
          verdict: check.verdict,
          elapsedMs: check.elapsedMs,
          violations: check.violations.map((v) => ({ key: v.key, report: v.report, spans: v.minimal })),
        },
        lostWrites: findLostWrites(history).map((l) => ({ key: l.key, report: l.report })),
      };
    },
  };
}

function bankWorkload(w: BankWorkload): ChaosWorkload {
  let finalRead = false;
  return {
    prepare: (t) => w.setup(t),
    start: () => w.start(),
    stop: () => w.stop(),
    counts: () => tally(w.history),
    async finalReads(t) {
      finalRead = await w.finalRead(t);
      return finalRead ? [] : ['the final read of all accounts'];
    },
    errorCounts: () => w.errorCounts(),
    watchRanges: () => [
      { key: w.model.accounts[0]!, end: '' },
      { key: BANK_PREFIX, end: 'bank0' },
      { key: w.model.accounts[1] ?? BANK_PREFIX, end: w.model.accounts[3] ?? 'bank0' },
    ],
    ackedWrites: () =>
      w.history.flatMap((op) =>
        op.f === 'transfer' && op.outcome === 'ok' && op.revision !== undefined && op.balances !== undefined
          ? [
              {
                revision: op.revision,
                writes: [
                  { key: op.from, value: String(op.balances.from) },
                  { key: op.to, value: String(op.balances.to) },
                ],
              },
            ]
          : [],
      ),
    check() {
      const started = Date.now();
      const r = checkBank(w.history, w.model);
      const byType: Record<string, number> = {};
      for (const op of w.history) {
        const k = op.f === 'read' ? (op.serializable ? 'read-serializable' : 'read-linearizable') : 'transfer';
        byType[k] = (byType[k] ?? 0) + 1;
      }
      const lost = r.violations.filter((v) => v.kind === 'lost-transfer');
      const { violations: _v, verdict, ...stats } = r;
      return {
        ops: { ...tally(w.history), byType },
        keys: w.model.accounts.length,
        checker: {
          verdict,
          elapsedMs: Date.now() - started,
          violations: r.violations.map((v) => ({ key: v.kind, report: v.report, spans: v.other === undefined ? [v.op] : [v.op, v.other] })),
        },
        lostWrites: lost.map((v) => ({ key: v.kind, report: v.report })),
        bank: { ...stats, accounts: w.model.accounts.length, total: w.model.total, finalRead },
      };
    },
  };
}

function lockWorkload(w: LockWorkload, ttlS: number): ChaosWorkload {
  return {
    needsReference: true,
    prepare: async () => undefined,
    start: () => w.start(),
    stop: () => w.stop(),
    counts: () => w.opCounts(),
    // The reference read after the run is the lock's final read.
    finalReads: async () => [],
    errorCounts: () => w.errorCounts(),
    watchRanges: () => [
      { key: LOCK_LOG, end: '' },
      { key: LOCK_PREFIX, end: 'lock0' },
    ],
    ackedWrites: () =>
      w.writes.flatMap((x) =>
        x.outcome === 'ok' && x.revision !== undefined ? [{ revision: x.revision, writes: [{ key: LOCK_LOG, value: x.entry }] }] : [],
      ),
    check(_timeoutMs, reference) {
      const started = Date.now();
      const byType: Record<string, number> = { append: w.writes.length, 'append-zombie': w.writes.filter((x) => x.zombie).length };
      const ops = { ...w.opCounts(), byType };
      if (reference === undefined)
        return {
          ops,
          keys: 1,
          checker: {
            verdict: 'unknown',
            elapsedMs: 0,
            violations: [{ key: 'reference', report: 'the history could not be read', spans: [] }],
          },
          lostWrites: [],
        };
      const r = checkLock(reference, w.writes, LOCK_PREFIX, LOCK_LOG);
      const { violations, verdict, ...stats } = r;
      return {
        ops,
        keys: 1,
        checker: {
          verdict,
          elapsedMs: Date.now() - started,
          violations: violations.map((v) => ({ key: v.kind, report: v.report, spans: [] })),
        },
        lostWrites: violations.filter((v) => v.kind === 'lost-write').map((v) => ({ key: LOCK_LOG, report: v.report })),
        lock: { ...stats, ...w.counts, ttlS },
      };
    },
  };
}
