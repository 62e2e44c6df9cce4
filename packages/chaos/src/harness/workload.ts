// Concurrent clients doing linearizable reads, puts, deletes and compare-and-swaps on a few keys,
// every written value unique, recording each operation's invocation, completion and outcome.
// Keys are retired after a number of operations (Jepsen's "independent" keys), which keeps every
// key's history short enough to check quickly however long the run.
import type { Input, Operation, Outcome, Output, Value } from '../checker/index.js';
import type { Cluster } from './cluster.js';
import type { Random } from './random.js';
import { raftkvApi, type RegisterApi, type Session } from './register-api.js';
import { members, pickNode, topErrors } from './targets.js';
import { Attempts, certainlyNotApplied, describeError } from './outcome.js';
import { sleep } from '@raftkv/testkit';

export interface WorkloadOptions {
  readonly clients: number;
  /** Keys in use at any moment. */
  readonly activeKeys: number;
  /** Operations on a key before it is retired for a fresh one. */
  readonly opsPerKey: number;
  /** Deadline of each call. */
  readonly opTimeoutMs: number;
  /** Pause between a client's operations (ms), to leave CPU to the nodes on a small machine. */
  readonly thinkMs: number;
  /**
   * Self-test of the harness: issue reads as STALE (served from any node's local state) while still
   * checking them as linearizable. The checker must then find violations.
   */
  readonly staleReads?: boolean;
}

export class Workload {
  readonly history: Operation[] = [];
  private readonly active: { key: string; ops: number }[] = [];
  private readonly allKeys: string[] = [];
  private nextKey = 0;
  private nextId = 0;
  private stopping = false;
  private loops: Promise<void>[] = [];
  /** Extra attempts for an indeterminate write made with a session. */
  private readonly retries = 2;

  constructor(
    private readonly cluster: Cluster,
    private readonly rand: Random,
    private readonly clock: () => number,
    private readonly o: WorkloadOptions,
    /** The API clients speak (raftkv.v1 unless told). */
    private readonly api: RegisterApi = raftkvApi(cluster),
  ) {
    for (let i = 0; i < o.activeKeys; i++) this.active.push({ key: this.freshKey(), ops: 0 });
  }

  /** The most frequent errors (numbers and addresses folded), for the summary. */
  errorCounts(top = 8): [string, number][] {
    return topErrors(
      this.history.map((op) => ({
        label: op.input.f === 'read' ? 'read' : 'write',
        outcome: op.outcome,
        ...(op.error === undefined ? {} : { error: op.error }),
      })),
      top,
    );
  }

  get keys(): readonly string[] {
    return this.allKeys;
  }

  private freshKey(): string {
    const k = `k${this.nextKey++}`;
    this.allKeys.push(k);
    return k;
  }

  start(): void {
    for (let c = 0; c < this.o.clients; c++) this.loops.push(this.client(c, this.rand.fork(1000 + c)));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(this.loops);
  }

  private pickKey(r: Random): string {
    const slot = r.int(0, this.active.length - 1);
    const a = this.active[slot]!;
    if (++a.ops >= this.o.opsPerKey) this.active[slot] = { key: this.freshKey(), ops: 0 };
    return a.key;
  }

  private async client(c: number, r: Random): Promise<void> {
    const seen = new Map<string, Value>(); // last value this client saw per key, for CAS expectations
    let seq = 0;
    // Half the clients use exactly-once sessions and retry indeterminate writes.
    const sessionId = this.api.sessions && c % 2 === 1 ? `chaos-${this.rand.seed}-${c}` : undefined;
    while (!this.stopping) {
      const key = this.pickKey(r);
      const node = pickNode(this.cluster, r);
      const x = r.next();
      let input: Input;
      if (x >= 0.4) seq++; // every write gets its own sequence number (and unique value)
      if (x < 0.4) input = { f: 'read' };
      else if (x < 0.7) input = { f: 'put', value: `${c}-${seq}` };
      else if (x < 0.75) input = { f: 'delete' };
      else input = { f: 'cas', expected: seen.get(key) ?? null, value: `${c}-${seq}` };
      const session = sessionId !== undefined && input.f !== 'read' ? { clientId: sessionId, sequence: seq } : undefined;
      const op = await this.invoke(c, node, key, input, session);
      if (op.outcome === 'ok') seen.set(key, observedAfter(op));
      // After an error, back off like a real client instead of spinning against a dead node.
      const pause = op.outcome === 'ok' ? r.int(0, this.o.thinkMs) : r.int(50, 150);
      if (pause > 0) await sleep(pause);
    }
  }

  /**
   * Performs one operation through node `node` and records it. With a session (client id + sequence),
   * an indeterminate write is retried through other nodes, as a careful client would: the server's
   * exactly-once sessions must then apply it at most once, which the checker holds it to. The client
   * may also send a call again on its node (a session write, a write refused as not applied): the
   * operation's window spans every attempt, and every attempt counts for its outcome.
   */
  async invoke(client: number, node: number, key: string, input: Input, session?: Session): Promise<Operation> {
    const id = this.nextId++;
    const call = this.clock();
    const end = Date.now() + this.o.opTimeoutMs * (session ? 1 + this.retries : 1);
    const vias: string[] = [];
    const attempts = new Attempts();
    let outcome: Outcome = 'fail';
    let output: Output | undefined;
    let error: string | undefined;
    let sawInfo = false;
    for (let attempt = 0; ; attempt++) {
      const target = attempt === 0 ? node : this.rand.pick(members(this.cluster));
      vias.push(this.cluster.id(target));
      const ctx = { deadline: Math.min(end, Date.now() + this.o.opTimeoutMs), onFailedAttempt: attempts.observer };
      try {
        output =
          input.f === 'read'
            ? await this.api.read(target, key, ctx, this.o.staleReads === true)
            : await this.api.write(target, key, input, ctx, session);
        outcome = 'ok';
        break;
      } catch (e) {
        error = describeError(e);
        // A failed read changes nothing; a write is indeterminate unless certainly not applied.
        outcome = input.f === 'read' || (certainlyNotApplied(e) && !attempts.mayHaveHappened) ? 'fail' : 'info';
        sawInfo ||= outcome === 'info';
      }
      if (session === undefined || input.f === 'read' || Date.now() >= end - 100) break;
      await sleep(50);
    }
    // An earlier attempt that may have happened keeps the operation indeterminate.
    if (outcome === 'fail' && sawInfo) outcome = 'info';
    const ret = this.clock();
    const base = { id, client, key, input, call, ret, via: vias.join('>') };
    const op: Operation = outcome === 'ok' ? { ...base, outcome, output: output! } : { ...base, outcome, error: error! };
    this.history.push(op);
    return op;
  }

  /** Reads every key ever used, through random nodes, until each read succeeds (or time runs out). */
  async finalReads(timeoutMs: number): Promise<string[]> {
    const end = Date.now() + timeoutMs;
    const unread: string[] = [];
    for (const key of this.allKeys) {
      for (;;) {
        const op = await this.invoke(-1, this.rand.pick(members(this.cluster)), key, { f: 'read' });
        if (op.outcome === 'ok') break;
        if (Date.now() > end) {
          unread.push(key);
          break;
        }
        await sleep(50);
      }
    }
    return unread;
  }
}

/** The register value right after an acknowledged operation (what a CAS should expect next). */
function observedAfter(op: Operation): Value {
  const out = op.output!;
  switch (op.input.f) {
    case 'read':
      return out.f === 'read' ? out.value : null;
    case 'put':
      return op.input.value;
    case 'delete':
      return null;
    case 'cas':
      return out.f === 'cas' && out.succeeded ? op.input.value : out.f === 'cas' ? (out.current ?? null) : null;
  }
}
