// Shared by the snapshot tests: write load, digests, convergence, and what a node logged and left on disk.
import { waitFor } from '@raftkv/testkit';
import type { DigestResponse } from '@raftkv/proto';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { unary, type TestCluster } from './harness.js';

/**
 * `n` puts of keys `<prefix>-<i>` with `inFlight` concurrent callers through `via`; values are
 * `v<i>-` and `valueBytes` filler bytes. Returns key -> value.
 */
export async function writeMany(
  c: TestCluster,
  via: string,
  prefix: string,
  n: number,
  o: { inFlight?: number; valueBytes?: number } = {},
): Promise<Map<string, string>> {
  const acked = new Map<string, string>();
  const filler = 'x'.repeat(o.valueBytes ?? 100);
  let next = 0;
  await Promise.all(
    Array.from({ length: o.inFlight ?? 16 }, async (_, w) => {
      for (let i = next++; i < n; i = next++) {
        const key = `${prefix}-${i}`;
        const value = `v${i}-${filler}`;
        await c.putRetry(via, key, value, { clientId: `${prefix}-w${w}`, sequence: i + 1 });
        acked.set(key, value);
      }
    }),
  );
  return acked;
}

export const digest = (c: TestCluster, id: string): Promise<DigestResponse> => {
  const a = c.adminClient(id);
  return unary((md, o, cb) => a.digest({}, md, o, cb));
};

/** Waits until every running node has applied at least the leader's commit index and all digests agree. */
export async function converged(c: TestCluster, leader: string, timeoutMs = 60_000): Promise<DigestResponse> {
  const commit = (await c.status(leader)).commitIndex;
  return waitFor(
    'every node applied the same state',
    async () => {
      const ds = await Promise.all(c.running().map((n) => digest(c, n.id)));
      if (ds.some((d) => d.appliedIndex < commit)) return undefined;
      // Digests are compared at possibly different applied indexes; no writes run now, so they settle.
      return new Set(ds.map((d) => d.digest)).size === 1 ? ds[0] : undefined;
    },
    timeoutMs,
  );
}

/** The JSON log lines of node `id` whose message is `message` (oldest first). */
export function logged(c: TestCluster, id: string, message: string): Record<string, unknown>[] {
  const tag = `"message":${JSON.stringify(message)}`;
  return c
    .logs(id)
    .split('\n')
    .filter((l) => l.includes(tag))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Name -> size of the files in node `id`'s snapshot directory. */
export function snapshotDir(c: TestCluster, id: string): Map<string, number> {
  const dir = join(c.node(id).dataDir, 'snapshots');
  const files = new Map<string, number>();
  for (const f of readdirSync(dir)) {
    try {
      files.set(f, statSync(join(dir, f)).size);
    } catch {
      // removed between readdir and stat
    }
  }
  return files;
}
