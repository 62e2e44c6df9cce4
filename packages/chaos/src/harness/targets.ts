import type { Cluster } from './cluster.js';
import type { Random } from './random.js';

/** Slots holding a member (or a node joining): clients route to the current membership only. */
export function members(cluster: Cluster): number[] {
  const m = cluster.inUse();
  return m.length > 0 ? m : cluster.slots();
}

/** A node to call: usually a running one (clients mostly know who is down), sometimes any. */
export function pickNode(cluster: Cluster, r: Random): number {
  const all = members(cluster);
  const running = all.filter((i) => cluster.isRunning(i));
  return running.length > 0 && r.next() < 0.9 ? r.pick(running) : r.pick(all);
}

/** The most frequent errors (numbers and addresses folded), for the summary. */
export function topErrors(
  ops: Iterable<{ readonly label: string; readonly outcome: string; readonly error?: string }>,
  top = 8,
): [string, number][] {
  const counts = new Map<string, number>();
  for (const op of ops) {
    if (op.error === undefined) continue;
    const k = `${op.label} ${op.outcome}: ${op.error.replace(/\d+(\.\d+)*(:\d+)?/g, 'N').slice(0, 140)}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1]).slice(0, top);
}
