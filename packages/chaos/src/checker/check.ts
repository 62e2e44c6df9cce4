import { partitionByKey, type Operation, type Value } from './history.js';
import { minimize } from './minimize.js';
import { renderHistory, renderOp, showValue } from './render.js';
import { checkRegister, type SearchVerdict } from './search.js';

export interface KeyVerdict {
  readonly key: string;
  readonly verdict: SearchVerdict;
  /** Operations in the key's history, and how many the search had to consider. */
  readonly ops: number;
  readonly considered: number;
  readonly steps: number;
}

export interface Violation {
  readonly key: string;
  /** A small sub-history of the key that is by itself not linearizable. */
  readonly minimal: readonly Operation[];
  /** True if `minimal` fails whatever value the register held before it (a window from the middle). */
  readonly fromAnyValue: boolean;
  /** The longest linearization of `minimal` the search found, and the operation it could not place. */
  readonly longest: readonly { op: Operation; after: Value | undefined }[];
  readonly stuck: Operation | undefined;
  /** Human-readable explanation of the above. */
  readonly report: string;
}

export interface CheckResult {
  /** 'ok' only if every key is linearizable; 'violation' if any key is not; else 'unknown' (timed out). */
  readonly verdict: SearchVerdict;
  readonly elapsedMs: number;
  readonly keys: readonly KeyVerdict[];
  readonly violations: readonly Violation[];
}

export interface CheckOptions {
  /** Total time budget; keys not decided in time are 'unknown'. */
  readonly timeoutMs?: number;
  /** Clock in ms (defaults to Date.now). */
  readonly now?: () => number;
  /** Shrink violations to a small failing sub-history (default true). */
  readonly minimize?: boolean;
}

/** Checks a multi-key history: each key is an independent register (P-compositionality). */
export function checkHistory(history: readonly Operation[], opts: CheckOptions = {}): CheckResult {
  const now = opts.now ?? Date.now;
  const start = now();
  const deadline = start + (opts.timeoutMs ?? Number.POSITIVE_INFINITY);
  const keys: KeyVerdict[] = [];
  const violations: Violation[] = [];
  const byKey = [...partitionByKey(history)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [key, ops] of byKey) {
    const r = checkRegister(ops, { deadline, now });
    keys.push({ key, verdict: r.verdict, ops: ops.length, considered: r.ops.length, steps: r.steps });
    if (r.verdict !== 'violation') continue;
    const small =
      opts.minimize === false
        ? { ops: [...r.ops], anyInitialState: false }
        : minimize(r.ops, { maxSteps: 2_000_000, now, ...(r.stuck ? { stuckAt: r.stuck.ret } : {}) });
    const m = checkRegister(small.ops, { anyInitialState: small.anyInitialState });
    const longest = m.longest ?? r.longest ?? [];
    const stuck = m.stuck ?? r.stuck;
    violations.push({
      key,
      minimal: small.ops,
      fromAnyValue: small.anyInitialState,
      longest,
      stuck,
      report: explain(key, small.ops, small.anyInitialState, longest, stuck),
    });
  }
  const verdict: SearchVerdict = violations.length > 0 ? 'violation' : keys.every((k) => k.verdict === 'ok') ? 'ok' : 'unknown';
  return { verdict, elapsedMs: now() - start, keys, violations };
}

function explain(
  key: string,
  minimal: readonly Operation[],
  fromAny: boolean,
  longest: readonly { op: Operation; after: Value | undefined }[],
  stuck: Operation | undefined,
): string {
  const lines = [
    `key ${JSON.stringify(key)}: not linearizable. Smallest failing sub-history found (${minimal.length} ops; times in ms; … = never completed),`,
    fromAny ? `  impossible whatever value the key held before it:` : `  impossible starting from an absent key:`,
    renderHistory(minimal, '    '),
    `  Longest linearization found (${longest.length} ops) before getting stuck:`,
    ...longest.map((l) => `    ${renderOp(l.op)}   → register ${l.after === undefined ? 'unknown' : showValue(l.after)}`),
  ];
  if (stuck !== undefined) lines.push(`  No order places this completed operation consistently:`, `    ${renderOp(stuck)}`);
  return lines.join('\n');
}
