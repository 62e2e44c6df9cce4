import { relevantOperations, type Operation, type Value } from './history.js';
import { ANY_STATE, compile, Interner, step, type CompiledOp } from './model.js';

/**
 * Wing & Gong's search with Lowe's just-in-time linearization and memoization of
 * (set of linearized operations, register state), as in Porcupine: walk the events in time order;
 * at a call, try to linearize that operation now; at a return of an operation not yet linearized,
 * the current choice is wrong, so backtrack. A (set, state) pair already explored is never explored
 * again, which keeps the search near-linear for the low concurrency of real histories.
 */

export type SearchVerdict = 'ok' | 'violation' | 'unknown';

export interface SearchResult {
  readonly verdict: SearchVerdict;
  /** The operations considered (failed ops, indeterminate reads and unobserved indeterminate writes removed). */
  readonly ops: readonly Operation[];
  /** On violation: the longest linearization found, in order, with the state after each step. */
  readonly longest?: readonly { op: Operation; after: Value | undefined }[];
  /** On violation: the operation that completed but could not be linearized after `longest`. */
  readonly stuck?: Operation;
  /** Search steps taken (for tests and the summary). */
  readonly steps: number;
}

export interface SearchOptions {
  /** Give up (verdict 'unknown') after this many steps. */
  readonly maxSteps?: number;
  /** Give up (verdict 'unknown') when now() passes this. */
  readonly deadline?: number;
  readonly now?: () => number;
  /** Start from an unknown register value instead of "absent" (for windows cut from a history). */
  readonly anyInitialState?: boolean;
}

interface Entry {
  /** Index of the operation; call and return entries of one op share it. */
  readonly op: number;
  readonly isCall: boolean;
  readonly time: number;
  match: Entry | null; // call → its return
  prev: Entry | null;
  next: Entry | null;
}

class Bitset {
  readonly words: Uint32Array;
  constructor(n: number, words?: Uint32Array) {
    this.words = words ?? new Uint32Array((n + 31) >>> 5);
  }
  set(i: number): void {
    this.words[i >>> 5]! |= 1 << (i & 31);
  }
  clear(i: number): void {
    this.words[i >>> 5]! &= ~(1 << (i & 31));
  }
  clone(): Bitset {
    return new Bitset(0, this.words.slice());
  }
  hash(state: number): number {
    let h = (2166136261 ^ state) >>> 0;
    for (let i = 0; i < this.words.length; i++) h = Math.imul(h ^ this.words[i]!, 16777619);
    return h >>> 0;
  }
  equals(o: Bitset): boolean {
    for (let i = 0; i < this.words.length; i++) if (this.words[i] !== o.words[i]) return false;
    return true;
  }
}

/** Builds the doubly linked event list behind a sentinel head: by time, calls before returns on ties. */
function buildEvents(ops: readonly Operation[]): Entry {
  const events: Entry[] = [];
  ops.forEach((op, i) => {
    const ret = op.outcome === 'ok' ? op.ret : Number.POSITIVE_INFINITY;
    const call: Entry = { op: i, isCall: true, time: op.call, match: null, prev: null, next: null };
    const done: Entry = { op: i, isCall: false, time: ret, match: null, prev: null, next: null };
    call.match = done;
    events.push(call, done);
  });
  // Ties: calls first, so operations touching at an instant count as concurrent (never a false alarm).
  events.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? a.op - b.op : a.isCall ? -1 : 1));
  const head: Entry = { op: -1, isCall: false, time: Number.NEGATIVE_INFINITY, match: null, prev: null, next: null };
  let prev = head;
  for (const e of events) {
    prev.next = e;
    e.prev = prev;
    prev = e;
  }
  return head;
}

function lift(e: Entry): void {
  e.prev!.next = e.next;
  e.next!.prev = e.prev; // a call always has its return after it
  const m = e.match!;
  m.prev!.next = m.next;
  if (m.next) m.next.prev = m.prev;
}

function unlift(e: Entry): void {
  const m = e.match!;
  m.prev!.next = m;
  if (m.next) m.next.prev = m;
  e.prev!.next = e;
  e.next!.prev = e;
}

/** Checks one register's history. */
export function checkRegister(history: readonly Operation[], opts: SearchOptions = {}): SearchResult {
  const ops = relevantOperations(history);
  const intern = new Interner();
  const compiled: CompiledOp[] = ops.map((op) => compile(op, intern));
  const n = ops.length;
  const head = buildEvents(ops);
  const cache = new Map<number, { bits: Bitset; state: number }[]>();
  const calls: { entry: Entry; state: number }[] = [];
  const linearized = new Bitset(n);
  const maxSteps = opts.maxSteps ?? Number.POSITIVE_INFINITY;
  const now = opts.now ?? Date.now;
  const deadline = opts.deadline ?? Number.POSITIVE_INFINITY;

  let state = opts.anyInitialState === true ? ANY_STATE : 0;
  let entry: Entry | null = head.next;
  let steps = 0;
  let longest: { entry: Entry; state: number }[] = [];
  let stuckAt: Entry | null = null;

  while (head.next !== null) {
    steps++;
    if (steps > maxSteps || ((steps & 0xfff) === 0 && now() > deadline)) return { verdict: 'unknown', ops, steps };
    const e: Entry = entry!;
    if (e.isCall) {
      const next = step(state, compiled[e.op]!);
      if (next >= 0) {
        const bits = linearized.clone();
        bits.set(e.op);
        const h = bits.hash(next);
        let bucket = cache.get(h);
        if (bucket === undefined) cache.set(h, (bucket = []));
        if (!bucket.some((c) => c.state === next && c.bits.equals(bits))) {
          bucket.push({ bits, state: next });
          calls.push({ entry: e, state });
          state = next;
          linearized.set(e.op);
          lift(e);
          entry = head.next;
          continue;
        }
      }
      entry = e.next;
    } else {
      // A completed operation that is not linearized yet: the choices so far cannot work.
      if (calls.length > longest.length || stuckAt === null) {
        longest = calls.map((c) => ({ entry: c.entry, state: c.state }));
        stuckAt = e;
      }
      const top = calls.pop();
      if (top === undefined) {
        return { verdict: 'violation', ops, longest: replay(longest, ops, compiled, intern), stuck: ops[stuckAt.op]!, steps };
      }
      state = top.state;
      linearized.clear(top.entry.op);
      unlift(top.entry);
      entry = top.entry.next;
    }
  }
  return { verdict: 'ok', ops, steps };
}

/** Turns the recorded call stack into (op, state after) pairs. */
function replay(
  stack: readonly { entry: Entry; state: number }[],
  ops: readonly Operation[],
  compiled: readonly CompiledOp[],
  intern: Interner,
): { op: Operation; after: Value | undefined }[] {
  return stack.map(({ entry, state }) => {
    const after = step(state, compiled[entry.op]!);
    return { op: ops[entry.op]!, after: after === ANY_STATE ? undefined : intern.value(after) };
  });
}
