import { partitionByKey, type Operation } from './history.js';
import { renderOp } from './render.js';

export interface LostWrite {
  readonly key: string;
  /** The acknowledged write whose effect is gone. */
  readonly write: Operation;
  /** The final read that should have seen it (or a later write). */
  readonly finalRead: Operation;
  readonly report: string;
}

const effective = (op: Operation): boolean =>
  op.input.f === 'put' ||
  op.input.f === 'delete' ||
  (op.input.f === 'cas' && (op.outcome === 'info' || (op.output?.f === 'cas' && op.output.succeeded)));

/**
 * A plain-language check next to linearizability: the last read of each key (the harness's final read
 * after healing) must show an acknowledged write that nothing could have overwritten. Reports an
 * acknowledged write that completed after the final value's writer did and before the final read,
 * when no other write could explain the value read.
 */
export function findLostWrites(history: readonly Operation[]): LostWrite[] {
  const lost: LostWrite[] = [];
  for (const [key, ops] of partitionByKey(history)) {
    const reads = ops.filter((o) => o.outcome === 'ok' && o.input.f === 'read');
    const last = reads.reduce<Operation | undefined>((a, o) => (a === undefined || o.call > a.call ? o : a), undefined);
    if (last === undefined || last.output?.f !== 'read') continue;
    const v = last.output.value;
    const writes = ops.filter((o) => o.outcome !== 'fail' && effective(o));
    // Writes that could have left the value v: its writer (values are unique), or any delete for absent.
    const sources = writes.filter((w) =>
      v === null ? w.input.f === 'delete' : (w.input.f === 'put' || w.input.f === 'cas') && w.input.value === v,
    );
    // An acknowledged write y, done before the final read began, that every source finished before:
    // y took effect after every possible source of v, so v should be gone.
    const culprit = writes.find(
      (y) =>
        y.outcome === 'ok' &&
        y.ret < last.call &&
        !sources.includes(y) &&
        sources.every((s) => s.outcome === 'ok' && s.ret < y.call) &&
        !(v === null && y.input.f === 'delete'),
    );
    if (culprit === undefined) continue;
    // For a non-absent value with no source at all, linearizability reports it; here we need a writer.
    if (v !== null && sources.length === 0) continue;
    lost.push({
      key,
      write: culprit,
      finalRead: last,
      report: `key ${JSON.stringify(key)}: acknowledged write lost\n    ${renderOp(culprit)}\n  yet the final read, after every possible writer of its value had finished before that write began:\n    ${renderOp(last)}`,
    });
  }
  return lost;
}
