// A very short run of the real benchmark against a real local 3-node raftkv cluster (etcd skipped):
// proves the generator, cluster start/stop and reporting work end to end. Timing is not asserted.
import { existsSync } from 'node:fs';
import { parseOptions } from '../src/args.js';
import { runBench } from '../src/bench.js';
import { ProgressBar } from '../src/progress.js';
import { defaultServerMain } from '../src/raftkv-cluster.js';
import { formatTables } from '../src/report.js';

test('server entry point is built (the root build runs before tests)', () => {
  expect(existsSync(defaultServerMain)).toBe(true);
});

test.each(['grpc-js', 'h2'])('raftkv at 1 and 4 in flight, puts and linearizable reads, %s client', async (client) => {
  const opts = parseOptions([
    '--target', 'raftkv',
    '--levels', '1,4',
    '--duration', '1s',
    '--warmup', '200ms',
    '--workload', 'put',
    '--workload', 'read=1,cas=1',
    '--preload', '20',
    '--client', client,
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
}, 120_000);
