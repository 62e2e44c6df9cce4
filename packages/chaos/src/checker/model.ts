import type { Operation, Value } from './history.js';

/**
 * The sequential specification of one register (a key): read, put, delete, compare-and-swap. States
 * are interned to small integers (0 = absent) so the search can hash and compare them cheaply.
 */
export class Interner {
  private readonly ids = new Map<string, number>();
  private readonly values: Value[] = [null];

  id(v: Value): number {
    if (v === null) return 0;
    let id = this.ids.get(v);
    if (id === undefined) {
      id = this.values.length;
      this.ids.set(v, id);
      this.values.push(v);
    }
    return id;
  }

  value(id: number): Value {
    return this.values[id] ?? null;
  }
}

const UNKNOWN = -1;
/** The state "some value, we do not know which" (a window cut out of a longer history starts there). */
export const ANY_STATE = -2;

/** An operation compiled to integers: kind, arguments and the observed output (UNKNOWN if none). */
export interface CompiledOp {
  readonly kind: 'read' | 'put' | 'delete' | 'cas';
  /** put/cas: value written. */
  readonly value: number;
  /** cas: expected value (0 = expect absent). */
  readonly expected: number;
  /** Known outcome: -1 unknown (indeterminate), else 1 succeeded / 0 failed (cas), 1 for others. */
  readonly succeeded: number;
  /** Observed register content before/at the op (read result, reported previous/current), or UNKNOWN. */
  readonly observed: number;
}

export function compile(op: Operation, intern: Interner): CompiledOp {
  const out = op.outcome === 'ok' ? op.output : undefined;
  const obs = (v: Value | undefined): number => (v === undefined ? UNKNOWN : intern.id(v));
  switch (op.input.f) {
    case 'read':
      return { kind: 'read', value: 0, expected: 0, succeeded: 1, observed: out?.f === 'read' ? obs(out.value) : UNKNOWN };
    case 'put':
      return {
        kind: 'put',
        value: intern.id(op.input.value),
        expected: 0,
        succeeded: out ? 1 : UNKNOWN,
        observed: out?.f === 'put' ? obs(out.previous) : UNKNOWN,
      };
    case 'delete':
      return {
        kind: 'delete',
        value: 0,
        expected: 0,
        succeeded: out ? 1 : UNKNOWN,
        observed: out?.f === 'delete' ? obs(out.previous) : UNKNOWN,
      };
    case 'cas': {
      const cas = out?.f === 'cas' ? out : undefined;
      return {
        kind: 'cas',
        value: intern.id(op.input.value),
        expected: intern.id(op.input.expected),
        succeeded: cas === undefined ? UNKNOWN : cas.succeeded ? 1 : 0,
        observed: obs(cas?.current),
      };
    }
  }
}

/** Applies op to state; returns the next state, or -1 if the op's observed output is impossible here. */
export function step(state: number, op: CompiledOp): number {
  if (state === ANY_STATE) return stepFromAny(op);
  if (op.observed !== UNKNOWN && op.observed !== state) return -1;
  switch (op.kind) {
    case 'read':
      return state;
    case 'put':
      return op.value;
    case 'delete':
      return 0;
    case 'cas': {
      const holds = state === op.expected;
      if (op.succeeded === UNKNOWN) return holds ? op.value : state;
      if ((op.succeeded === 1) !== holds) return -1;
      return holds ? op.value : state;
    }
  }
}

/**
 * From an unknown state, the first observation pins it down. Where the op does not say what it saw and
 * its effect depends on it (a failed or indeterminate CAS), stay unknown: that only ever accepts more.
 */
function stepFromAny(op: CompiledOp): number {
  if (op.observed !== UNKNOWN) return step(op.observed, op);
  switch (op.kind) {
    case 'read':
      return ANY_STATE;
    case 'put':
      return op.value;
    case 'delete':
      return 0;
    case 'cas':
      return op.succeeded === 1 ? op.value : ANY_STATE;
  }
}
