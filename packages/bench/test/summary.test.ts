import { parseWorkload } from '../src/args.js';
import { formatTables, type BenchReport, type RunRecord } from '../src/report.js';
import { formatRatios, formatSummary, median, ratio, summarizeRounds } from '../src/summary.js';

function run(
  system: 'raftkv' | 'etcd',
  round: number,
  inflight: number,
  opsPerSec: number,
  p99: number,
  cpuPer1k: number,
  rss: number,
): RunRecord {
  return {
    system,
    round,
    inflight,
    workload: 'put',
    channels: 1,
    ops: opsPerSec,
    writes: opsPerSec,
    elapsedMs: 1000,
    opsPerSec,
    latencyMs: { p50: p99 / 2, p99, p999: p99, mean: p99 / 2, max: p99 },
    errors: 0,
    errorsByCode: {},
    firstError: undefined,
    casFailed: 0,
    clusterCpuSeconds: (cpuPer1k * opsPerSec) / 1000,
    cpuSecondsPer1kOps: cpuPer1k,
    cpuSecondsPer1kWrites: cpuPer1k,
    maxMemberRssMB: rss - 1,
    peakMemberRssMB: rss,
    peakClusterRssMB: 3 * rss,
    generatorCpuSeconds: 0,
    leaderBefore: 'a',
    leaderAfter: 'a',
  };
}

function report(runs: RunRecord[]): BenchReport {
  return {
    date: 'd',
    machine: { cpus: 2, cpuModel: 'x', memGB: 1, kernel: 'k', node: 'v20' },
    loadAverage: { start: 0, end: 0 },
    command: 'c',
    settings: {
      durationMs: 1000,
      countPerRun: undefined,
      warmupMs: 0,
      valueBytes: 128,
      keys: 'unique',
      inflightPerChannel: 16,
      to: 'leader',
      client: 'grpc-js',
    },
    versions: {},
    runs,
  };
}

describe('median and ratio', () => {
  test('median: odd, even, empty, order-free, non-finite left out', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeUndefined();
    expect(median([5])).toBe(5);
    expect(median([NaN, 1, Infinity, 3])).toBe(2);
  });

  test('ratio: undefined without a positive denominator', () => {
    expect(ratio(3, 4)).toBe(0.75);
    expect(ratio(3, 0)).toBeUndefined();
    expect(ratio(undefined, 4)).toBeUndefined();
    expect(ratio(3, undefined)).toBeUndefined();
  });
});

describe('summarizeRounds', () => {
  // Issue 17's first row: throughput ratios 0.53, 0.70, 0.27 -> median 0.53 (not the ratio of medians).
  const runs = [
    run('raftkv', 0, 1, 53, 4, 5, 200),
    run('etcd', 0, 1, 100, 3, 2, 130),
    run('etcd', 1, 1, 100, 2, 2, 133),
    run('raftkv', 1, 1, 70, 4, 6, 217),
    run('raftkv', 2, 1, 27, 3, 4, 210),
    run('etcd', 2, 1, 100, 3, 2, 120),
    run('raftkv', 0, 16, 900, 10, 1, 210),
    run('etcd', 0, 16, 1000, 20, 1, 120),
  ];

  test('per level: each round its own ratio, the median of them, per-system medians and the peak RSS', () => {
    const [one, sixteen] = summarizeRounds(runs);
    expect(one?.inflight).toBe(1);
    expect(one?.throughput.perRound).toEqual([0.53, 0.7, 0.27]);
    expect(one?.throughput.median).toBe(0.53);
    expect(one?.p99.perRound.map((x) => x?.toFixed(3))).toEqual(['1.333', '2.000', '1.000']);
    expect(one?.p99.median).toBeCloseTo(4 / 3);
    expect(one?.cpuPerOp.perRound).toEqual([2.5, 3, 2]);
    expect(one?.cpuPerOp.median).toBe(2.5);
    expect(one?.systems.raftkv).toEqual({ opsPerSec: 53, p99Ms: 4, cpuMsPerOp: 5, peakMemberRssMB: 217 });
    expect(one?.systems.etcd).toEqual({ opsPerSec: 100, p99Ms: 3, cpuMsPerOp: 2, peakMemberRssMB: 133 });
    // Level 16 ran in round 0 only: the other rounds have no ratio and do not count.
    expect(sixteen?.throughput.perRound).toEqual([0.9, undefined, undefined]);
    expect(sixteen?.throughput.median).toBe(0.9);
  });

  test('a run without operations gives no ratio rather than 0 or Infinity', () => {
    const [s] = summarizeRounds([{ ...run('raftkv', 0, 1, 0, 0, 1, 1), ops: 0 }, run('etcd', 0, 1, 100, 3, 2, 1)]);
    expect(s?.throughput.median).toBeUndefined();
    expect(s?.p99.median).toBeUndefined();
  });

  test('records from before --rounds count as round 0; one system alone has no ratios', () => {
    const { round: _r, ...old } = run('raftkv', 0, 1, 50, 4, 5, 1);
    const [s] = summarizeRounds([old]);
    expect(s?.throughput.perRound).toEqual([undefined]);
    expect(s?.systems.raftkv?.opsPerSec).toBe(50);
    expect(formatSummary(report([old]), [parseWorkload('put')])).toBe('');
  });
});

test('the report: per-round tables, then the summary with each round in brackets', () => {
  const runs = [
    run('raftkv', 0, 1, 53, 4, 5, 200),
    run('etcd', 0, 1, 100, 3, 2, 130),
    run('etcd', 1, 1, 100, 2, 2, 133),
    run('raftkv', 1, 1, 70, 4, 6, 217),
    run('raftkv', 2, 1, 27, 3, 4, 210),
    run('etcd', 2, 1, 100, 3, 2, 120),
  ];
  const w = [parseWorkload('put')];
  const tables = formatTables(report(runs), w);
  expect(tables).toContain('workload put, round 1 of 3:');
  expect(tables).toContain('workload put, round 3 of 3:');
  expect(tables).toMatch(
    /\| 1 \| 70 \| 2\.00 \| 4\.00 \| 4\.00 \| 6\.000 \| 100 \| 1\.00 \| 2\.00 \| 2\.00 \| 2\.000 \| 0\.70 \| 2\.00 \|/,
  );
  const summary = formatSummary(report(runs), w);
  expect(summary).toContain('median of 3 rounds');
  expect(summary).toContain(
    '| 1 | 0.53 (0.53, 0.70, 0.27) | 1.33 (1.33, 2.00, 1.00) | 2.50 (2.50, 3.00, 2.00) | 53 | 100 | 4.00 | 3.00 | 5.000 | 2.000 | 217 | 133 |',
  );
  expect(formatRatios({ perRound: [0.8], median: 0.8 })).toBe('0.80');
});
