// The rounds summary (--rounds N): per workload and level, the raftkv/etcd ratio of each round's own
// pair of runs, and their median. A ratio within one round compares two runs made minutes apart under
// the same machine load; the median of those ratios is steadier than a ratio of medians on a shared
// machine. Beside them: each system's median ops/s, p99 and CPU per operation, and its peak RSS.
import type { SystemName, Workload } from './args.js';
import { roundOf, type BenchReport, type RunRecord } from './report.js';

/** The median (mean of the middle two for an even count); undefined for no values. */
export function median(values: readonly number[]): number | undefined {
  const xs = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (xs.length === 0) return undefined;
  const mid = Math.floor(xs.length / 2);
  return xs.length % 2 === 1 ? xs[mid] : ((xs[mid - 1] ?? 0) + (xs[mid] ?? 0)) / 2;
}

/** a / b, or undefined when either is unknown or b is not positive. */
export function ratio(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b <= 0) return undefined;
  return a / b;
}

/** A raftkv/etcd ratio per round (undefined where a round lacks a value) and their median. */
export interface RoundRatios {
  perRound: (number | undefined)[];
  median: number | undefined;
}

export interface SystemFigures {
  /** Medians over the rounds. */
  opsPerSec: number | undefined;
  p99Ms: number | undefined;
  /** CPU seconds of all members per operation, in milliseconds. */
  cpuMsPerOp: number | undefined;
  /** The largest peak RSS of one member over every round. */
  peakMemberRssMB: number | undefined;
}

export interface LevelSummary {
  workload: string;
  inflight: number;
  throughput: RoundRatios;
  p99: RoundRatios;
  cpuPerOp: RoundRatios;
  systems: Partial<Record<SystemName, SystemFigures>>;
}

type Metric = (r: RunRecord) => number | undefined;
const throughput: Metric = (r) => (r.ops > 0 ? r.opsPerSec : undefined);
const p99: Metric = (r) => (r.ops > 0 ? r.latencyMs.p99 : undefined);
const cpuPerOp: Metric = (r) => r.cpuSecondsPer1kOps; // s per 1,000 ops = ms per op

const defined = (xs: (number | undefined)[]): number[] => xs.filter((x): x is number => x !== undefined);

function roundRatios(rounds: readonly number[], raftkv: Map<number, RunRecord>, etcd: Map<number, RunRecord>, m: Metric): RoundRatios {
  const perRound = rounds.map((round) => {
    const a = raftkv.get(round);
    const b = etcd.get(round);
    return a && b ? ratio(m(a), m(b)) : undefined;
  });
  return { perRound, median: median(defined(perRound)) };
}

function figures(runs: readonly RunRecord[]): SystemFigures | undefined {
  if (runs.length === 0) return undefined;
  const peaks = defined(runs.map((r) => r.peakMemberRssMB ?? r.maxMemberRssMB));
  return {
    opsPerSec: median(defined(runs.map(throughput))),
    p99Ms: median(defined(runs.map(p99))),
    cpuMsPerOp: median(defined(runs.map(cpuPerOp))),
    peakMemberRssMB: peaks.length > 0 ? Math.max(...peaks) : undefined,
  };
}

/** One summary per (workload, level), in the order the runs were made. */
export function summarizeRounds(runs: readonly RunRecord[]): LevelSummary[] {
  const rounds = [...new Set(runs.map(roundOf))].sort((a, b) => a - b);
  const keys = [...new Set(runs.map((r) => `${r.workload}\u0000${r.inflight}`))];
  return keys.map((key) => {
    const [workload = '', level = '0'] = key.split('\u0000');
    const inflight = Number(level);
    const at = runs.filter((r) => r.workload === workload && r.inflight === inflight);
    const bySystem = (s: SystemName): Map<number, RunRecord> => new Map(at.filter((r) => r.system === s).map((r) => [roundOf(r), r]));
    const raftkv = bySystem('raftkv');
    const etcd = bySystem('etcd');
    const systems: Partial<Record<SystemName, SystemFigures>> = {};
    for (const [s, m] of [
      ['raftkv', raftkv],
      ['etcd', etcd],
    ] as const) {
      const f = figures([...m.values()]);
      if (f !== undefined) systems[s] = f;
    }
    return {
      workload,
      inflight,
      throughput: roundRatios(rounds, raftkv, etcd, throughput),
      p99: roundRatios(rounds, raftkv, etcd, p99),
      cpuPerOp: roundRatios(rounds, raftkv, etcd, cpuPerOp),
      systems,
    };
  });
}

const num = (n: number | undefined, digits: number): string => (n === undefined ? 'n/a' : n.toFixed(digits));

/** "0.53 (0.53, 0.70, 0.27)": the median, then each round's ratio; just the value for one round. */
export function formatRatios(r: RoundRatios): string {
  if (r.perRound.length <= 1) return num(r.median, 2);
  return `${num(r.median, 2)} (${r.perRound.map((x) => num(x, 2)).join(', ')})`;
}

/** Markdown tables of the summary, one per workload; empty unless both systems ran. */
export function formatSummary(report: BenchReport, workloads: readonly Workload[]): string {
  const systems = new Set(report.runs.map((r) => r.system));
  if (!systems.has('raftkv') || !systems.has('etcd')) return '';
  const rounds = new Set(report.runs.map(roundOf)).size;
  const summaries = summarizeRounds(report.runs);
  const out: string[] = [];
  for (const w of workloads) {
    const rows = summaries.filter((s) => s.workload === w.name);
    if (rows.length === 0) continue;
    const how = rounds > 1 ? `median of ${rounds} rounds' own ratios (each round's in brackets)` : 'one round';
    out.push(`workload ${w.name}, raftkv/etcd: ${how}; per system: medians, peak RSS of the largest member:`, '');
    const head = [
      'in flight',
      'ops/s raftkv/etcd',
      'p99 raftkv/etcd',
      'CPU/op raftkv/etcd',
      'raftkv ops/s',
      'etcd ops/s',
      'raftkv p99 ms',
      'etcd p99 ms',
      'raftkv CPU ms/op',
      'etcd CPU ms/op',
      'raftkv peak RSS MiB',
      'etcd peak RSS MiB',
    ];
    out.push(`| ${head.join(' | ')} |`, `|${head.map(() => '---:').join('|')}|`);
    for (const s of rows) {
      const a = s.systems.raftkv;
      const b = s.systems.etcd;
      const cells = [
        String(s.inflight),
        formatRatios(s.throughput),
        formatRatios(s.p99),
        formatRatios(s.cpuPerOp),
        num(a?.opsPerSec, 0),
        num(b?.opsPerSec, 0),
        num(a?.p99Ms, 2),
        num(b?.p99Ms, 2),
        num(a?.cpuMsPerOp, 3),
        num(b?.cpuMsPerOp, 3),
        num(a?.peakMemberRssMB, 0),
        num(b?.peakMemberRssMB, 0),
      ];
      out.push(`| ${cells.join(' | ')} |`);
    }
    out.push('');
  }
  return out.join('\n');
}
