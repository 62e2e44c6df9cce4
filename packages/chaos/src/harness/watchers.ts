// Watchers for the watch checker: each watches one range (a key, a prefix, every key) on a random
// node and records every response's events. On any stream failure — and every few seconds on purpose —
// it reconnects to another node and resumes from its last seen revision + 1. After the run, a watch
// from revision 1 over every key (on two nodes) and a final Range make the reference they are checked
// against (chaos nodes run with auto-compaction off, so the whole history stays readable).
import type { RaftkvClient } from '@raftkv/client';
import { etcdserverpb, type mvccpb } from '@raftkv/proto';
import { sleep } from '@raftkv/testkit';
import {
  checkWatchers,
  inRange,
  type AckedWrite,
  type WatchCheck,
  type WatchEvent,
  type WatcherLog,
  type WatchRange,
  type WatchReference,
} from '../checker/watch.js';
import type { Cluster } from './cluster.js';
import { describeError } from './outcome.js';
import type { Random } from './random.js';
import { members, pickNode } from './targets.js';

const ALL: WatchRange = { key: '\0', end: '\0' };
const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');

export function toEvent(e: mvccpb.Event): WatchEvent {
  const kv = e.kv;
  return {
    revision: kv?.modRevision ?? 0,
    key: kv?.key.toString('latin1') ?? '',
    type: e.type === 1 ? 'delete' : 'put',
    value: e.type === 1 ? '' : (kv?.value.toString('latin1') ?? ''),
  };
}

interface Live {
  readonly id: number;
  readonly range: WatchRange;
  readonly startRevision: number;
  readonly responses: WatchEvent[][];
  reconnects: number;
  /** The revision the next stream starts from. */
  next: number;
  errors: string[];
}

/** Self-test of the checker: a watcher drops or duplicates one response's events (the run must FAIL). */
export type WatchSelfTest = 'drop' | 'duplicate';

type Stream = ReturnType<RaftkvClient['etcdWatch']>;

/**
 * One watch stream from `from` on the node until it fails, is cancelled, or `until` says stop; every
 * response's events go to `onEvents`. Resolves with why it ended.
 */
function watchOnce(
  cluster: Cluster,
  node: number,
  range: WatchRange,
  from: number,
  onEvents: (events: WatchEvent[]) => void,
  stopAfterMs: number,
  abort: { stream?: Stream },
): Promise<string> {
  return new Promise((resolve) => {
    let stream: Stream;
    try {
      stream = cluster.clients[node]!.etcdWatch(cluster.address(node));
    } catch (e) {
      resolve(describeError(e));
      return;
    }
    abort.stream = stream;
    let done = false;
    const finish = (why: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      stream.cancel();
      resolve(why);
    };
    const timer = setTimeout(() => finish('rotated'), stopAfterMs);
    stream.on('data', (r: etcdserverpb.WatchResponse) => {
      // After a stream is given up, its late responses must not count: the next stream resumes already.
      if (done) return;
      if (r.canceled) finish(`canceled: ${r.cancelReason} (compact revision ${r.compactRevision})`);
      else if (r.events.length > 0) onEvents(r.events.map(toEvent));
    });
    stream.on('error', (e: Error) => finish(describeError(e)));
    stream.on('end', () => finish('stream ended'));
    stream.write(
      etcdserverpb.WatchRequest.fromPartial({
        requestUnion: {
          $case: 'createRequest',
          createRequest: { key: bytes(range.key), rangeEnd: bytes(range.end), startRevision: from },
        },
      }),
    );
  });
}

export class Watchers {
  private readonly live: Live[] = [];
  private stopping = false;
  private readonly loops: Promise<void>[] = [];
  private readonly aborts: { stream?: Stream }[] = [];

  constructor(
    private readonly cluster: Cluster,
    private readonly rand: Random,
    private readonly ranges: readonly WatchRange[],
    private readonly count: number,
    /** A stream is dropped on purpose after this long (ms range), to resume elsewhere. */
    private readonly rotateMs: readonly [number, number] = [3000, 10_000],
    private readonly selfTest?: WatchSelfTest,
  ) {}

  /** Opens the watchers from the cluster's current revision + 1 (a linearizable Range's header). */
  async start(timeoutMs: number): Promise<void> {
    const rev = await this.currentRevision(timeoutMs);
    for (let i = 0; i < this.count; i++) {
      const range = i === 0 ? ALL : this.rand.pick([ALL, ...this.ranges]);
      const w: Live = { id: i, range, startRevision: rev + 1, responses: [], reconnects: 0, next: rev + 1, errors: [] };
      this.live.push(w);
      this.loops.push(this.run(w, this.rand.fork(3000 + i)));
    }
  }

  private async run(w: Live, r: Random): Promise<void> {
    const abort: { stream?: Stream } = {};
    this.aborts.push(abort);
    for (let first = true; !this.stopping; first = false) {
      if (!first) w.reconnects++;
      const why = await watchOnce(
        this.cluster,
        pickNode(this.cluster, r),
        w.range,
        w.next,
        (events) => {
          // Self-test: watcher 0 loses or repeats its 5th response, which the checker must catch.
          const injected = w.id === 0 && w.responses.length === 4 ? this.selfTest : undefined;
          if (injected !== 'drop') w.responses.push(events);
          if (injected === 'duplicate') w.responses.push(events);
          w.next = Math.max(w.next, events[events.length - 1]!.revision + 1);
        },
        r.int(this.rotateMs[0], this.rotateMs[1]),
        abort,
      );
      if (why !== 'rotated' && !this.stopping && w.errors.length < 20) w.errors.push(why);
      if (!this.stopping && why !== 'rotated') await sleep(r.int(50, 300));
    }
  }

  /** Waits until every watcher has seen the last event in its range at or before `finalRevision`, then stops them. */
  async drain(reference: readonly WatchEvent[], finalRevision: number, timeoutMs: number): Promise<string[]> {
    const end = Date.now() + timeoutMs;
    const lastOf = (w: Live): number => {
      let last = 0;
      for (const e of reference)
        if (e.revision >= w.startRevision && e.revision <= finalRevision && inRange(w.range, e.key)) last = e.revision;
      return last;
    };
    const targets = this.live.map((w) => ({ w, last: lastOf(w) }));
    while (Date.now() < end && targets.some(({ w, last }) => w.next <= last)) await sleep(100);
    await this.stop();
    return targets.filter(({ w, last }) => w.next <= last).map(({ w, last }) => `watcher ${w.id} reached ${w.next - 1} of ${last}`);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const a of this.aborts) a.stream?.cancel();
    await Promise.all(this.loops);
  }

  logs(): WatcherLog[] {
    return this.live.map((w) => ({
      id: w.id,
      range: w.range,
      startRevision: w.startRevision,
      responses: w.responses,
      reconnects: w.reconnects,
    }));
  }

  errorCounts(): Record<string, number> {
    const c: Record<string, number> = {};
    for (const w of this.live)
      for (const e of w.errors) {
        const k = e.replace(/\d+(\.\d+)*(:\d+)?/g, 'N').slice(0, 100);
        c[k] = (c[k] ?? 0) + 1;
      }
    return c;
  }

  /** The final revision and state (one linearizable Range over every key), and watches from revision 1 on two nodes. */
  async reference(timeoutMs: number): Promise<WatchReference> {
    const end = Date.now() + timeoutMs;
    const nodes = this.rand.shuffle(members(this.cluster).filter((i) => this.cluster.isRunning(i)));
    let last = '';
    while (Date.now() < end) {
      const node = nodes[0]!;
      try {
        const res = await this.cluster.clients[node]!.etcd.range({ key: bytes('\0'), rangeEnd: bytes('\0') }, { timeoutMs: 5000 });
        const finalRevision = Number(res.header?.revision ?? 0n);
        const finalKvs = res.kvs.map((kv) => ({
          key: kv.key.toString('latin1'),
          value: kv.value.toString('latin1'),
          modRevision: kv.modRevision,
        }));
        const streams: WatchEvent[][] = [];
        for (const n of nodes.slice(0, 2)) streams.push(await this.history(n, finalRevision, Math.max(1000, end - Date.now())));
        return { finalRevision, finalKvs, streams };
      } catch (e) {
        last = describeError(e);
        nodes.push(nodes.shift()!);
        await sleep(200);
      }
    }
    throw new Error(`could not read the reference history within ${timeoutMs} ms: ${last}`);
  }

  /** Every event from revision 1 to `finalRevision` on one node (throws if the stream ends first). */
  private async history(node: number, finalRevision: number, timeoutMs: number): Promise<WatchEvent[]> {
    const events: WatchEvent[] = [];
    if (finalRevision <= 1) return events;
    const abort: { stream?: Stream } = {};
    let reached: () => void = () => undefined;
    const got = new Promise<void>((resolve) => (reached = resolve));
    const ended = watchOnce(
      this.cluster,
      node,
      ALL,
      1,
      (es) => {
        events.push(...es);
        if (es[es.length - 1]!.revision >= finalRevision) reached();
      },
      timeoutMs,
      abort,
    );
    const why = await Promise.race([got.then(() => 'reached'), ended]);
    abort.stream?.cancel();
    if (why !== 'reached')
      throw new Error(`reference watch on ${this.cluster.id(node)} ended at revision ${events.at(-1)?.revision ?? 1}: ${why}`);
    return events;
  }

  private async currentRevision(timeoutMs: number): Promise<number> {
    const end = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < end) {
      const node = pickNode(this.cluster, this.rand);
      try {
        const res = await this.cluster.clients[node]!.etcd.range({ key: bytes('\0'), countOnly: true }, { timeoutMs: 5000 });
        return Number(res.header?.revision ?? 0n);
      } catch (e) {
        last = describeError(e);
        await sleep(200);
      }
    }
    throw new Error(`could not read the current revision within ${timeoutMs} ms: ${last}`);
  }
}

export interface WatchSummary extends Omit<WatchCheck, 'violations'> {
  /** The first violations' reports (all are counted in violationCount). */
  readonly violations: readonly string[];
  readonly violationCount: number;
  readonly violationsByKind: Record<string, number>;
  /** Watchers that had not caught up with the final revision when the wait ended. */
  readonly lagging: readonly string[];
  readonly streamErrors: Record<string, number>;
  /** Why the reference could not be read (then the verdict is 'violation'). */
  readonly error?: string;
}

/** After healing and the final reads: the reference, the watchers' catching up, and the check. */
export async function finishWatchers(
  w: Watchers,
  acked: readonly AckedWrite[],
  timeoutMs: number,
): Promise<{ summary: WatchSummary; reference?: WatchEvent[] }> {
  let ref: WatchReference;
  try {
    ref = await w.reference(timeoutMs);
  } catch (e) {
    await w.stop();
    const logs = w.logs();
    const summary: WatchSummary = {
      verdict: 'violation',
      watchers: logs.length,
      eventsChecked: 0,
      referenceEvents: 0,
      reconnects: logs.reduce((n, l) => n + l.reconnects, 0),
      violations: [],
      violationCount: 0,
      violationsByKind: {},
      lagging: [],
      streamErrors: w.errorCounts(),
      error: describeError(e),
    };
    return { summary };
  }
  const lagging = await w.drain(ref.streams[0] ?? [], ref.finalRevision, timeoutMs);
  const check = checkWatchers(w.logs(), ref, acked);
  const byKind: Record<string, number> = {};
  for (const v of check.violations) byKind[v.kind] = (byKind[v.kind] ?? 0) + 1;
  const summary: WatchSummary = {
    ...check,
    violations: check.violations.slice(0, 20).map((v) => v.report),
    violationCount: check.violations.length,
    violationsByKind: byKind,
    lagging,
    streamErrors: w.errorCounts(),
  };
  // A reference the checks found unsound is no ground truth for the workload's checker either.
  return byKind.reference ? { summary } : { summary, reference: (ref.streams[0] ?? []).filter((e) => e.revision <= ref.finalRevision) };
}
