// The closed-loop load generator: `inflight` workers, each issuing its next operation as soon as the
// previous one is answered, spread over ceil(inflight / perChannel) gRPC channels. Latency of every
// operation answered inside the measured window goes into a histogram; errors are counted by code.
import { performance } from 'node:perf_hooks';
import type { OpKind, OpMix } from './args.js';
import { OP_KINDS } from './args.js';
import { Histogram } from './histogram.js';
import type { Connection } from './target.js';

export interface KeySpace {
  /** Prefix of keys this run writes in unique mode; distinct per run so every unique write is new. */
  runPrefix: string;
  mode: 'unique' | 'hot';
  /** Hot mode: keys hotPrefix + 0..hotKeys-1, shared by every run (and read in hot mode). */
  hotPrefix: string;
  hotKeys: number;
  /** Keys already written (read targets in unique mode): preloadPrefix + 0..preloaded-1. */
  preloadPrefix: string;
  preloaded: number;
  /** The prefix every `range` operation reads, and how many keys were written under it. */
  rangePrefix: string;
  rangeKeys: number;
}

/** A range that did not return every key written under its prefix: counted as an error. */
export class RangeCountError extends Error {
  override readonly name = 'RangeCountError';
  readonly code = 'range-count';
}

export interface LoadSpec {
  inflight: number;
  perChannel: number;
  mix: OpMix;
  valueBytes: number;
  keys: KeySpace;
  warmupMs: number;
  /** Measured window length, unless count is set. */
  durationMs: number;
  /** Stop after this many answered operations inside the measured window. */
  count: number | undefined;
  opTimeoutMs: number;
}

export interface Progress {
  /** Phase of the run: warming up, or measuring. */
  phase: 'warmup' | 'measure';
  /** Fraction 0..1 of the measured window done. */
  done: number;
  ops: number;
  errors: number;
  elapsedMs: number;
}

export interface LoadResult {
  ops: number;
  /** Operations that wrote (put; compare-and-swap and txn, replicated whether or not they matched). */
  writes: number;
  opsByKind: Record<OpKind, number>;
  /** Compare-and-swaps and txns whose compare did not match (contention in hot mode). */
  casFailed: number;
  errors: number;
  errorsByCode: Record<string, number>;
  /** First error message seen, for the report. */
  firstError: string | undefined;
  elapsedMs: number;
  latencyNs: Histogram;
  /** CPU seconds this generator process used during the measured window. */
  generatorCpuSeconds: number;
}

/** Hooks called at the edges of the measured window (CPU snapshots) and periodically (progress). */
export interface LoadHooks {
  onWindowStart?: () => void;
  onWindowEnd?: () => void;
  onProgress?: (p: Progress) => void;
}

const COUNT_CAP_MS = 10 * 60_000;

export function channelsFor(inflight: number, perChannel: number): number {
  return Math.max(1, Math.ceil(inflight / perChannel));
}

/** Picks an operation kind with probability proportional to its weight. */
export function pickKind(mix: OpMix, r: number): OpKind {
  const total = OP_KINDS.reduce((s, k) => s + mix[k], 0);
  let x = r * total;
  for (const k of OP_KINDS) {
    if (mix[k] <= 0) continue;
    if (x < mix[k]) return k;
    x -= mix[k];
  }
  return OP_KINDS.filter((k) => mix[k] > 0).at(-1) ?? 'put';
}

export async function runLoad(conn: Connection, spec: LoadSpec, hooks: LoadHooks = {}): Promise<LoadResult> {
  const latencyNs = new Histogram();
  const opsByKind: Record<OpKind, number> = { put: 0, read: 0, stale: 0, cas: 0, range: 0, txn: 0 };
  const errorsByCode: Record<string, number> = {};
  let ops = 0;
  let errors = 0;
  let casFailed = 0;
  let firstError: string | undefined;
  let measuring = false;
  let stopping = false;
  let seq = 0;

  const base = Buffer.alloc(spec.valueBytes, 0x61);
  // Distinct values matter for compare-and-swap; puts may share one buffer.
  const freshValue = (): Buffer => {
    const v = Buffer.from(base);
    v.write(String(seq++).padStart(Math.min(12, v.length), '0').slice(-v.length), 0, 'latin1');
    return v;
  };
  const known = new Map<string, Buffer | undefined>(); // hot mode: last value seen per key, for CAS
  const modRevisions = new Map<string, number>(); // last mod_revision seen per key, for txn (absent: 0)
  const ks = spec.keys;
  const hotKey = (): string => `${ks.hotPrefix}${Math.floor(Math.random() * ks.hotKeys)}`;
  const writeKey = (): string => (ks.mode === 'hot' ? hotKey() : `${ks.runPrefix}${seq++}`);
  const readKey = (): string =>
    ks.mode === 'hot' || ks.preloaded === 0 ? hotKey() : `${ks.preloadPrefix}${Math.floor(Math.random() * ks.preloaded)}`;

  const doOp = async (kind: OpKind, channel: number, w: number): Promise<void> => {
    switch (kind) {
      case 'put': {
        const key = writeKey();
        if (ks.mode === 'hot') {
          const v = freshValue();
          await conn.put(channel, key, v);
          known.set(key, v);
        } else {
          await conn.put(channel, key, base);
        }
        return;
      }
      case 'read':
      case 'stale':
        await conn.read(channel, readKey(), kind === 'read');
        return;
      case 'cas': {
        // unique: create-if-absent on a fresh key (always matches); hot: swap from the last value seen.
        const key = writeKey();
        const expected = ks.mode === 'hot' ? known.get(key) : undefined;
        const next = freshValue();
        const r = await conn.cas(channel, key, expected, next);
        if (r.succeeded) known.set(key, next);
        else {
          known.set(key, r.current);
          if (measuring) casFailed++;
        }
        return;
      }
      case 'range': {
        const n = await conn.range(channel, ks.rangePrefix);
        if (n !== ks.rangeKeys) throw new RangeCountError(`range over ${ks.rangePrefix} returned ${n} keys, expected ${ks.rangeKeys}`);
        return;
      }
      case 'txn': {
        // unique: each worker updates its own key (no contention); hot: the shared keys.
        const key = ks.mode === 'hot' ? hotKey() : `${ks.runPrefix}txn/${w}`;
        const r = await conn.txn(channel, key, modRevisions.get(key) ?? 0, base);
        modRevisions.set(key, r.modRevision);
        if (!r.succeeded && measuring) casFailed++;
        return;
      }
    }
  };

  const channels = channelsFor(spec.inflight, spec.perChannel);
  const worker = async (w: number): Promise<void> => {
    const channel = w % channels;
    while (!stopping) {
      const kind = pickKind(spec.mix, Math.random());
      const t0 = performance.now();
      try {
        await doOp(kind, channel, w);
      } catch (err) {
        if (measuring) {
          errors++;
          const code = String((err as { code?: unknown }).code ?? 'unknown');
          errorsByCode[code] = (errorsByCode[code] ?? 0) + 1;
          firstError ??= err instanceof Error ? err.message : String(err);
        }
        // Do not spin on a failing cluster.
        await new Promise((r) => setTimeout(r, 10));
        continue;
      }
      if (!measuring) continue;
      latencyNs.record((performance.now() - t0) * 1e6);
      ops++;
      opsByKind[kind]++;
      if (spec.count !== undefined && ops >= spec.count) endWindow();
    }
  };

  let windowStart = 0;
  let windowEnd = 0;
  let cpuStart = process.cpuUsage();
  let generatorCpuSeconds = 0;
  let endTimer: NodeJS.Timeout | undefined;
  const endWindow = (): void => {
    if (!measuring) return;
    measuring = false;
    stopping = true;
    windowEnd = performance.now();
    const cpu = process.cpuUsage(cpuStart);
    generatorCpuSeconds = (cpu.user + cpu.system) / 1e6;
    hooks.onWindowEnd?.();
    clearTimeout(endTimer);
  };

  const started = performance.now();
  const progressTimer = setInterval(() => {
    const now = performance.now();
    const inWindow = measuring || windowEnd > 0;
    const elapsed = inWindow ? (windowEnd || now) - windowStart : now - started;
    const done = !inWindow ? 0 : spec.count !== undefined ? ops / spec.count : Math.min(1, elapsed / spec.durationMs);
    hooks.onProgress?.({ phase: inWindow ? 'measure' : 'warmup', done, ops, errors, elapsedMs: elapsed });
  }, 200);

  const workers = Array.from({ length: spec.inflight }, (_, w) => worker(w));
  await new Promise((r) => setTimeout(r, spec.warmupMs));
  hooks.onWindowStart?.();
  cpuStart = process.cpuUsage();
  windowStart = performance.now();
  measuring = true;
  // With a count, a cap still ends a run against a cluster that stopped answering.
  endTimer = setTimeout(endWindow, spec.count === undefined ? spec.durationMs : COUNT_CAP_MS);
  await Promise.all(workers);
  clearInterval(progressTimer);

  const elapsedMs = windowEnd - windowStart;
  hooks.onProgress?.({ phase: 'measure', done: 1, ops, errors, elapsedMs });
  return {
    ops,
    writes: opsByKind.put + opsByKind.cas + opsByKind.txn,
    opsByKind,
    casFailed,
    errors,
    errorsByCode,
    firstError,
    elapsedMs,
    latencyNs,
    generatorCpuSeconds,
  };
}
