/**
 * A history is what clients saw: one record per operation with its invocation and completion times and
 * its outcome. Times are any monotonic clock (the harness uses milliseconds since the run started).
 */

/** A register's value: a string, or null for "no such key". */
export type Value = string | null;

export type Input =
  | { readonly f: 'read' }
  | { readonly f: 'put'; readonly value: string }
  | { readonly f: 'delete' }
  /** expected === null means "expect absent". */
  | { readonly f: 'cas'; readonly expected: Value; readonly value: string };

export type Output =
  | { readonly f: 'read'; readonly value: Value }
  /** previous, when the server reports it, is the value the write replaced. */
  | { readonly f: 'put'; readonly previous?: Value }
  | { readonly f: 'delete'; readonly previous?: Value }
  /** current, when known, is the value the CAS found (on failure, the value that defeated it). */
  | { readonly f: 'cas'; readonly succeeded: boolean; readonly current?: Value };

/**
 * ok: completed with `output`. fail: definitely did not take effect (e.g. INVALID_ARGUMENT, or refused
 * before being proposed). info: indeterminate (timeout, UNAVAILABLE after sending): it may have taken
 * effect at any moment after `call`, or never.
 */
export type Outcome = 'ok' | 'fail' | 'info';

export interface Operation {
  readonly id: number;
  readonly client: number;
  readonly key: string;
  readonly input: Input;
  readonly call: number;
  /** Completion time; ignored for info operations (their effect may come at any time after call). */
  readonly ret: number;
  readonly outcome: Outcome;
  /** Present exactly when outcome is 'ok'. */
  readonly output?: Output;
  /** For reports only: the node the client called, and the error it got. */
  readonly via?: string;
  readonly error?: string;
}

/** Splits a history by key: a register per key is P-compositional, so each key is checked alone. */
export function partitionByKey(ops: readonly Operation[]): Map<string, Operation[]> {
  const byKey = new Map<string, Operation[]>();
  for (const op of ops) {
    let list = byKey.get(op.key);
    if (list === undefined) byKey.set(op.key, (list = []));
    list.push(op);
  }
  return byKey;
}

function isWrite(op: Operation): boolean {
  return op.input.f !== 'read';
}

/** The value a write leaves behind if it takes effect (CAS: if its expectation holds). */
export function writtenValue(input: Input): Value | undefined {
  switch (input.f) {
    case 'put':
    case 'cas':
      return input.value;
    case 'delete':
      return null;
    case 'read':
      return undefined;
  }
}

/**
 * Values some operation saw in the register (a read's result, a successful CAS's expectation, a
 * reported previous/current value), and whether any failed CAS lacks its current value (then a write
 * nobody saw could still be what made that CAS fail).
 */
function observations(ops: readonly Operation[]): { seen: Set<Value>; blindFailedCas: boolean } {
  const seen = new Set<Value>();
  let blindFailedCas = false;
  for (const op of ops) {
    if (op.outcome !== 'ok' || op.output === undefined) continue;
    const out = op.output;
    switch (out.f) {
      case 'read':
        seen.add(out.value);
        break;
      case 'put':
      case 'delete':
        if (out.previous !== undefined) seen.add(out.previous);
        break;
      case 'cas':
        if (op.input.f === 'cas' && out.succeeded) seen.add(op.input.expected);
        if (out.current !== undefined) seen.add(out.current);
        else if (!out.succeeded) blindFailedCas = true;
        break;
    }
  }
  return { seen, blindFailedCas };
}

/**
 * The operations that constrain linearizability, with sound simplifications:
 * - failed operations never happened: dropped;
 * - indeterminate reads constrain nothing: dropped;
 * - an indeterminate write whose resulting value nobody observed can be taken as "never happened":
 *   in any linearization that includes it, removing it changes only what operations between it and
 *   the next write saw, and all of those would have had to observe its value (reads, CAS, reported
 *   previous values) — unless some failed CAS does not say what it saw, in which case we keep it.
 */
export function relevantOperations(ops: readonly Operation[]): Operation[] {
  const { seen, blindFailedCas } = observations(ops);
  return ops.filter((op) => {
    if (op.outcome === 'fail') return false;
    if (op.outcome === 'ok') return true;
    if (!isWrite(op)) return false;
    if (blindFailedCas) return true;
    const v = writtenValue(op.input);
    return v !== undefined && seen.has(v);
  });
}

/**
 * The history as it stood at time t: operations invoked after t are gone; those invoked but not
 * completed by t are pending (indeterminate). Linearizability is prefix-closed, so if this prefix is
 * not linearizable, neither is the whole history.
 */
export function prefixAt(ops: readonly Operation[], t: number): Operation[] {
  const out: Operation[] = [];
  for (const op of ops) {
    if (op.call > t) continue;
    if (op.outcome === 'ok' && op.ret > t) {
      const { output: _dropped, ...rest } = op;
      out.push({ ...rest, outcome: 'info' });
    } else out.push(op);
  }
  return out;
}
