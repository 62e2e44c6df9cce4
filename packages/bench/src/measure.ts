// One measured run: a closed-loop load on one system at one level, with the cluster's CPU time and peak
// memory over the measured window (from /proc, for clusters the bench started), as one RunRecord.
import type { ApiName, BenchOptions, SystemName, Workload } from './args.js';
import { runLoad, type KeySpace, type Progress } from './generator.js';
import { peakRssBytes, resetPeakRss, rssBytes, totalCpuSeconds } from './proc.js';
import type { RunRecord } from './report.js';
import type { Connection } from './target.js';

export interface RunSpec {
  system: SystemName;
  api: ApiName;
  round: number;
  workload: Workload;
  inflight: number;
  channels: number;
  keys: KeySpace;
  /** The cluster's member processes (empty for a cluster the bench did not start). */
  pids: readonly number[];
  leaderBefore: string | undefined;
}

export interface RunHooks {
  onWindowStart?: () => void;
  onWindowEnd?: () => void;
  onProgress?: (p: Progress) => void;
}

const MiB = 2 ** 20;
const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

/** Runs the load and measures it; leaderAfter is filled in by the caller. */
export async function measureRun(conn: Connection, spec: RunSpec, opts: BenchOptions, hooks: RunHooks = {}): Promise<RunRecord> {
  const { pids } = spec;
  let cpuBefore: number | undefined;
  let cpuAfter: number | undefined;
  let peakSince: 'run' | 'process' = 'run';
  let peaks: number[] = [];
  const result = await runLoad(
    conn,
    {
      inflight: spec.inflight,
      perChannel: opts.inflightPerChannel,
      mix: spec.workload.mix,
      valueBytes: opts.valueBytes,
      keys: spec.keys,
      warmupMs: opts.warmupMs,
      durationMs: opts.durationMs,
      count: opts.countPerRun,
      opTimeoutMs: opts.opTimeoutMs,
    },
    {
      onWindowStart: () => {
        cpuBefore = pids.length > 0 ? totalCpuSeconds(pids) : undefined;
        for (const pid of pids) if (!resetPeakRss(pid)) peakSince = 'process';
        hooks.onWindowStart?.();
      },
      onWindowEnd: () => {
        cpuAfter = pids.length > 0 ? totalCpuSeconds(pids) : undefined;
        peaks = pids.map(peakRssBytes).filter((r): r is number => r !== undefined);
        hooks.onWindowEnd?.();
      },
      ...(hooks.onProgress ? { onProgress: hooks.onProgress } : {}),
    },
  );
  const h = result.latencyNs;
  const ms = (ns: number): number => ns / 1e6;
  const cpu = cpuBefore !== undefined && cpuAfter !== undefined ? cpuAfter - cpuBefore : undefined;
  const rss = pids.map(rssBytes).filter((r): r is number => r !== undefined);
  return {
    system: spec.system,
    api: spec.api,
    round: spec.round,
    workload: spec.workload.name,
    inflight: spec.inflight,
    channels: spec.channels,
    ops: result.ops,
    writes: result.writes,
    elapsedMs: result.elapsedMs,
    opsPerSec: result.elapsedMs > 0 ? (result.ops * 1000) / result.elapsedMs : 0,
    latencyMs: {
      p50: ms(h.quantile(0.5)),
      p99: ms(h.quantile(0.99)),
      p999: ms(h.quantile(0.999)),
      mean: ms(h.mean),
      max: ms(h.max),
    },
    errors: result.errors,
    errorsByCode: result.errorsByCode,
    firstError: result.firstError,
    casFailed: result.casFailed,
    clusterCpuSeconds: cpu,
    cpuSecondsPer1kOps: cpu !== undefined && result.ops > 0 ? (cpu * 1000) / result.ops : undefined,
    cpuSecondsPer1kWrites: cpu !== undefined && result.writes > 0 ? (cpu * 1000) / result.writes : undefined,
    maxMemberRssMB: rss.length > 0 ? Math.max(...rss) / MiB : undefined,
    peakMemberRssMB: peaks.length > 0 ? Math.max(...peaks) / MiB : undefined,
    peakClusterRssMB: peaks.length > 0 ? sum(peaks) / MiB : undefined,
    ...(peaks.length > 0 ? { peakRssSince: peakSince } : {}),
    generatorCpuSeconds: result.generatorCpuSeconds,
    leaderBefore: spec.leaderBefore,
    leaderAfter: undefined,
  };
}
