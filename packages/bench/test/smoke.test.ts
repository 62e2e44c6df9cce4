// Very short runs of the real benchmark against a real local 3-node raftkv cluster (through raftkv.v1
// and through etcd's KV API) and a 3-member etcd through its KV API (etcd installed with apt-get when missing, as the bench does; skipped,
// saying why, without etcd or apt): prove the generator, the clients, cluster start/stop and the
// reporting work end to end. Timing is not asserted.
import { existsSync } from 'node:fs';
import { parseOptions } from '../src/args.js';
import { ensureEtcd } from '../src/etcd-cluster.js';
import { runBench } from '../src/bench.js';
import { ProgressBar } from '../src/progress.js';
import { defaultServerMain } from '../src/raftkv-cluster.js';
import { formatTables } from '../src/report.js';
import { formatSummary } from '../src/summary.js';

/** Why etcd cannot be used here, or null when it can (ensureEtcd installs it with apt-get if missing). */
function provisionEtcd(): string | null {
  try {
    ensureEtcd(undefined, (line) => console.warn(line));
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}
const noEtcd = provisionEtcd();
if (noEtcd !== null) console.warn(`SKIPPED the etcd smoke test: ${noEtcd}`);
const withEtcd = noEtcd === null ? test : test.skip;

test('server entry point is built (the root build runs before tests)', () => {
  expect(existsSync(defaultServerMain)).toBe(true);
});

test.each(['grpc-js', 'h2'])(
  'raftkv at 1 and 4 in flight, puts and linearizable reads, %s client',
  async (client) => {
    const opts = parseOptions([
      '--target',
      'raftkv',
      '--levels',
      '1,4',
      '--duration',
      '1s',
      '--warmup',
      '200ms',
      '--workload',
      'put',
      '--workload',
      'read=1,cas=1',
      '--preload',
      '20',
      '--client',
      client,
      '--no-progress',
    ]);
    const report = await runBench(opts, { progress: new ProgressBar(false), command: 'smoke' });
    expect(report.runs.map((r) => [r.workload, r.inflight])).toEqual([
      ['put', 1],
      ['put', 4],
      ['read=1,cas=1', 1],
      ['read=1,cas=1', 4],
    ]);
    for (const r of report.runs) {
      expect(r.errors).toBe(0);
      expect(r.ops).toBeGreaterThan(0);
      expect(r.latencyMs.p50).toBeGreaterThan(0);
      expect(r.latencyMs.p99).toBeGreaterThanOrEqual(r.latencyMs.p50);
      expect(r.clusterCpuSeconds).toBeGreaterThanOrEqual(0);
    }
    const put = report.runs[0];
    expect(put?.writes).toBe(put?.ops);
    // Unique keys: create-if-absent compare-and-swaps always match.
    expect(report.runs.every((r) => r.casFailed === 0)).toBe(true);
    expect(formatTables(report, opts.workloads)).toMatch(/\| 4 \| [\d,]+ \|/);
  },
  120_000,
);

/** A tiny run through etcd's KV API: put, a prefix range, txn on mod_revision, two rounds. */
async function etcdApiRun(target: 'raftkv' | 'etcd'): Promise<void> {
  const opts = parseOptions([
    '--target',
    target,
    '--api',
    'etcd',
    '--levels',
    '2',
    '--duration',
    '500ms',
    '--warmup',
    '200ms',
    '--workload',
    'put',
    '--workload',
    'range',
    '--workload',
    'txn',
    '--range-keys',
    '7',
    '--rounds',
    '2',
    '--no-progress',
  ]);
  const report = await runBench(opts, { progress: new ProgressBar(false), command: 'smoke' });
  expect(report.runs.map((r) => [r.round, r.workload])).toEqual([
    [0, 'put'],
    [0, 'range'],
    [0, 'txn'],
    [1, 'put'],
    [1, 'range'],
    [1, 'txn'],
  ]);
  for (const r of report.runs) {
    // A range that returned other than the 7 keys under its prefix would count as an error.
    expect([r.workload, r.errors, r.firstError]).toEqual([r.workload, 0, undefined]);
    expect(r.ops).toBeGreaterThan(0);
    expect(r.api).toBe('etcd');
    expect(r.clusterCpuSeconds).toBeGreaterThan(0);
    expect(r.peakMemberRssMB).toBeGreaterThan(1);
    expect(r.peakClusterRssMB).toBeGreaterThanOrEqual(r.peakMemberRssMB ?? Infinity);
  }
  // Unique keys: each worker's txn compares its own key's last mod_revision, so every one matches.
  const txn = report.runs.filter((r) => r.workload === 'txn');
  expect(txn.every((r) => r.casFailed === 0 && r.writes === r.ops)).toBe(true);
  expect(formatTables(report, opts.workloads)).toContain('workload range, round 2 of 2:');
  expect(formatSummary(report, opts.workloads)).toBe(''); // one system: no ratios
}

withEtcd('etcd through its KV API: put, a prefix range, txn on mod_revision, two rounds', () => etcdApiRun('etcd'), 180_000);

test('raftkv through the etcd KV API (the same client code as for etcd): put, range, txn, two rounds', () => etcdApiRun('raftkv'), 180_000);
