import type { Input, Operation, Output, Value } from '../../src/checker/index.js';

/** A tiny DSL for hand-built histories: h.put(client, call, ret, key, value, outcome?) etc. */
export class HistoryBuilder {
  readonly ops: Operation[] = [];

  private add(
    client: number,
    call: number,
    ret: number,
    key: string,
    input: Input,
    outcome: 'ok' | 'fail' | 'info',
    output?: Output,
  ): this {
    const base = { id: this.ops.length, client, key, input, call, ret, outcome };
    this.ops.push(output === undefined || outcome !== 'ok' ? base : { ...base, output });
    return this;
  }
  read(client: number, call: number, ret: number, value: Value, key = 'k'): this {
    return this.add(client, call, ret, key, { f: 'read' }, 'ok', { f: 'read', value });
  }
  put(client: number, call: number, ret: number, value: string, outcome: 'ok' | 'fail' | 'info' = 'ok', key = 'k'): this {
    return this.add(client, call, ret, key, { f: 'put', value }, outcome, { f: 'put' });
  }
  del(client: number, call: number, ret: number, outcome: 'ok' | 'fail' | 'info' = 'ok', key = 'k'): this {
    return this.add(client, call, ret, key, { f: 'delete' }, outcome, { f: 'delete' });
  }
  /** CAS; result: true swapped, false not swapped (with optional current value), or 'info'/'fail'. */
  cas(
    client: number,
    call: number,
    ret: number,
    expected: Value,
    value: string,
    result: boolean | 'info' | 'fail',
    current?: Value,
    key = 'k',
  ): this {
    if (typeof result !== 'boolean') return this.add(client, call, ret, key, { f: 'cas', expected, value }, result);
    const output: Output = current === undefined ? { f: 'cas', succeeded: result } : { f: 'cas', succeeded: result, current };
    return this.add(client, call, ret, key, { f: 'cas', expected, value }, 'ok', output);
  }
}

/** Deterministic PRNG (mulberry32) so generated histories are reproducible. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A linearizable history of `count` operations on `keys` registers by `clients` concurrent clients:
 * each op takes effect at a random instant inside its interval; outputs come from applying ops in
 * that order. A fraction become indeterminate: some took effect, some never did.
 */
export function generateLinearizable(seed: number, count: number, clients: number, keys: string[], infoRate = 0.02): Operation[] {
  const rand = rng(seed);
  const clock = new Array<number>(clients).fill(0);
  type Pending = { op: Omit<Operation, 'output' | 'outcome'>; point: number; info: boolean; applies: boolean };
  const pending: Pending[] = [];
  let written = 0;
  for (let id = 0; id < count; id++) {
    const client = Math.floor(rand() * clients);
    const call = clock[client]! + rand() * 2;
    const ret = call + 0.1 + rand() * 5;
    clock[client] = ret;
    const key = keys[Math.floor(rand() * keys.length)]!;
    const r = rand();
    let input: Input;
    if (r < 0.45) input = { f: 'read' };
    else if (r < 0.75) input = { f: 'put', value: `v${++written}` };
    else if (r < 0.8) input = { f: 'delete' };
    else input = { f: 'cas', expected: null, value: `v${++written}` }; // expected filled in below
    const info = input.f !== 'read' && rand() < infoRate;
    // An indeterminate op may take effect long after it was abandoned, or never.
    const point = info ? call + rand() * 50 : call + rand() * (ret - call);
    pending.push({ op: { id, client, key, input, call, ret }, point, info, applies: !info || rand() < 0.5 });
  }
  pending.sort((a, b) => a.point - b.point);
  const state = new Map<string, Value>();
  const recent = new Map<string, Value[]>();
  const out: Operation[] = [];
  for (const p of pending) {
    const cur = state.get(p.op.key) ?? null;
    let input = p.op.input;
    if (input.f === 'cas') {
      // Expect the current value most of the time (swaps happen), else a recent stale one.
      const hist = recent.get(p.op.key) ?? [null];
      const expected = rand() < 0.6 ? cur : (hist[Math.floor(rand() * hist.length)] ?? null);
      input = { ...input, expected };
    }
    let output: Output;
    switch (input.f) {
      case 'read':
        output = { f: 'read', value: cur };
        break;
      case 'put':
        output = { f: 'put' };
        if (p.applies) state.set(p.op.key, input.value);
        break;
      case 'delete':
        output = { f: 'delete' };
        if (p.applies) state.set(p.op.key, null);
        break;
      case 'cas': {
        const ok = cur === input.expected;
        output = ok ? { f: 'cas', succeeded: true } : { f: 'cas', succeeded: false, current: cur };
        if (ok && p.applies) state.set(p.op.key, input.value);
        break;
      }
    }
    const after = state.get(p.op.key) ?? null;
    recent.set(p.op.key, [...(recent.get(p.op.key) ?? [null]).slice(-4), after]);
    out.push(p.info ? { ...p.op, input, outcome: 'info' } : { ...p.op, input, outcome: 'ok', output });
  }
  return out.sort((a, b) => a.id - b.id);
}
