import type { Operation, Value } from './history.js';

const show = (v: Value | undefined): string => (v === undefined ? '?' : v === null ? 'absent' : JSON.stringify(v));

/** One operation as a line: interval, client, what it asked and what it got. */
export function renderOp(op: Operation): string {
  const ret = op.outcome === 'ok' ? `${op.ret.toFixed(1).padStart(10)}` : '         …';
  const interval = `[${op.call.toFixed(1).padStart(10)} ,${ret} ]`;
  let what: string;
  switch (op.input.f) {
    case 'read':
      what = `read`;
      break;
    case 'put':
      what = `put ${show(op.input.value)}`;
      break;
    case 'delete':
      what = 'delete';
      break;
    case 'cas':
      what = `cas ${show(op.input.expected)} -> ${show(op.input.value)}`;
      break;
  }
  let result: string = op.outcome === 'fail' ? 'FAILED (did not happen)' : op.outcome === 'info' ? 'INDETERMINATE' : 'ok';
  const out = op.output;
  if (out !== undefined) {
    switch (out.f) {
      case 'read':
        result = `=> ${show(out.value)}`;
        break;
      case 'put':
      case 'delete':
        result = out.previous === undefined ? 'ok' : `ok (previous ${show(out.previous)})`;
        break;
      case 'cas':
        result = out.succeeded ? 'ok (swapped)' : `NOT SWAPPED${out.current === undefined ? '' : ` (current ${show(out.current)})`}`;
        break;
    }
  }
  const via = op.via === undefined ? '' : ` via ${op.via}`;
  const err = op.error === undefined ? '' : ` [${op.error}]`;
  return `${interval} client ${String(op.client).padStart(3)}${via} #${op.id} ${JSON.stringify(op.key)} ${what.padEnd(30)} ${result}${err}`;
}

/** A history, sorted by invocation, as lines. */
export function renderHistory(ops: readonly Operation[], indent = '  '): string {
  return [...ops]
    .sort((a, b) => a.call - b.call || a.id - b.id)
    .map((o) => indent + renderOp(o))
    .join('\n');
}

export { show as showValue };
