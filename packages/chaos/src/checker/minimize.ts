import { prefixAt, relevantOperations, type Operation } from './history.js';
import { checkRegister, type SearchOptions } from './search.js';

export interface Minimized {
  /** A small sub-history that by itself is not linearizable, in the operations' original form. */
  readonly ops: Operation[];
  /** True if it fails from any initial register value (it is a window cut from the middle). */
  readonly anyInitialState: boolean;
}

/**
 * Shrinks a non-linearizable register history to a small one that is still not linearizable, using
 * only steps that can never invent a violation (each removes constraints, never adds one):
 * 1. cut the shortest failing prefix (linearizability is prefix-closed; operations pending at the cut
 *    become indeterminate);
 * 2. cut the latest window [s, end] that fails from ANY initial value: operations completed before s
 *    go, those straddling s become indeterminate (if the whole history had a linearization, the state
 *    after the last operation completed before s is such an initial value, and straddlers placed
 *    before it count as "never happened");
 * 3. delta debugging: relax operations in chunks of halving size — reads and failed CAS (no effect on
 *    the register) are dropped, writes become indeterminate (and vanish if nobody observed them) —
 *    keeping a relaxation only if the history still fails; then again on the survivors' original form.
 * An acknowledged operation is more constrained than its relaxed form, so the survivors in their
 * original form fail too.
 */
export function minimize(ops: readonly Operation[], opts: SearchOptions & { timeoutMs?: number; stuckAt?: number } = {}): Minimized {
  const now = opts.now ?? Date.now;
  const deadline = now() + (opts.timeoutMs ?? 30_000);
  let anyInitialState = false;
  // A check that runs out of budget counts as "does not fail": we then keep the larger history.
  const failsWith = (h: readonly Operation[], any: boolean): boolean =>
    now() < deadline && checkRegister(h, { ...opts, now, anyInitialState: any }).verdict === 'violation';
  const fails = (h: readonly Operation[]): boolean => failsWith(h, anyInitialState);

  let current: Operation[] = [...ops];
  // 1. Shortest failing prefix. Checking a failing history costs a full backtrack, so first try the
  //    point where the full search got stuck, which is usually the answer.
  const stuckAt = opts.stuckAt ?? checkRegister(current, { ...opts, now }).stuck?.ret;
  if (stuckAt !== undefined && fails(prefixAt(current, stuckAt))) current = prefixAt(current, stuckAt);
  else {
    const ends = [...new Set(current.filter((o) => o.outcome === 'ok').map((o) => o.ret))].sort((a, b) => a - b);
    const end = firstTrue(ends.length, (i) => fails(prefixAt(current, ends[i]!)));
    if (end !== undefined) current = prefixAt(current, ends[end]!);
  }

  // 2. Latest window start that still fails from any initial value: gallop back from the end (small
  //    windows are cheap), then binary search.
  const starts = [...new Set(current.filter((o) => o.outcome === 'ok').map((o) => o.ret))].sort((a, b) => b - a);
  const windowFails = (i: number): boolean => failsWith(windowFrom(current, starts[i]!), true);
  let hi = 0;
  while (hi < starts.length && !windowFails(hi)) hi = hi === 0 ? 1 : hi * 2;
  if (hi >= starts.length && starts.length > 0 && windowFails(starts.length - 1)) hi = starts.length - 1;
  if (hi < starts.length) {
    const lo = hi >>> 1;
    const first = lo + (firstTrue(hi - lo + 1, (i) => windowFails(lo + i)) ?? hi - lo);
    current = relevantOperations(windowFrom(current, starts[first]!));
    anyInitialState = true;
  }

  // 3. Delta debugging over relaxations, then once more on the survivors' original form.
  const original = new Map(ops.map((o) => [o.id, o]));
  current = ddmin(current, fails);
  current = ddmin(
    relevantOperations(current).map((o) => original.get(o.id) ?? o),
    fails,
  );
  return { ops: relevantOperations(current).map((o) => original.get(o.id) ?? o), anyInitialState };
}

function ddmin(ops: Operation[], fails: (h: readonly Operation[]) => boolean): Operation[] {
  let current = ops;
  for (let chunk = Math.max(1, current.length >>> 1); ; chunk >>>= 1) {
    for (let i = current.length - chunk; i > -chunk; i -= chunk) {
      const candidate = relaxRange(current, Math.max(0, i), i + chunk);
      if (candidate !== current && fails(candidate)) current = candidate;
    }
    if (chunk <= 1) return current;
  }
}

/** Smallest i in [0, n) with pred(i), for pred false then true (monotone); undefined if none. */
function firstTrue(n: number, pred: (i: number) => boolean): number | undefined {
  if (n === 0 || !pred(n - 1)) return undefined;
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (pred(mid)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** The window from s: operations completed before s dropped, those straddling s made indeterminate. */
function windowFrom(ops: readonly Operation[], s: number): Operation[] {
  const out: Operation[] = [];
  for (const op of ops) {
    if (op.call >= s) out.push(op);
    else if (op.outcome !== 'ok' || op.ret >= s) {
      const r = relax(op);
      if (r !== 'drop') out.push(r === 'keep' ? op : r);
    }
  }
  return out;
}

/** ops with those in [from, to) relaxed; the same array if nothing could be relaxed. */
function relaxRange(ops: Operation[], from: number, to: number): Operation[] {
  let changed = false;
  const out: Operation[] = [];
  ops.forEach((op, j) => {
    if (j < from || j >= to) return void out.push(op);
    const r = relax(op);
    if (r === 'keep') return void out.push(op);
    changed = true;
    if (r !== 'drop') out.push(r);
  });
  return changed ? out : ops;
}

/** Removes one operation's constraints: reads and failed CAS (no effect on state) go; writes become indeterminate. */
function relax(op: Operation): Operation | 'drop' | 'keep' {
  if (op.outcome !== 'ok') return 'keep';
  if (op.input.f === 'read') return 'drop';
  if (op.output?.f === 'cas' && !op.output.succeeded) return 'drop';
  const { output: _output, ...rest } = op;
  return { ...rest, outcome: 'info' };
}
