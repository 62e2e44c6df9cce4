// Results of a benchmark: one record per (round, workload, level, system), rendered as markdown tables
// (for the terminal and the README), JSON, or an SVG plot of throughput against p99 latency. The
// rounds summary (medians of per-round ratios) is in summary.ts.
import type { ApiName, OpMix, SystemName, Workload } from './args.js';
import type { ProfileSummary } from './profile.js';

export interface RunRecord {
  system: SystemName;
  /** The client API the load went through (absent in reports older than --api: raftkv.v1 for raftkv). */
  api?: ApiName;
  /** 0-based round (absent in reports older than --rounds: 0). */
  round?: number;
  workload: string;
  inflight: number;
  channels: number;
  ops: number;
  writes: number;
  elapsedMs: number;
  opsPerSec: number;
  latencyMs: { p50: number; p99: number; p999: number; mean: number; max: number };
  errors: number;
  errorsByCode: Record<string, number>;
  firstError: string | undefined;
  casFailed: number;
  /** CPU seconds all members spent during the window; absent for clusters the bench did not start. */
  clusterCpuSeconds: number | undefined;
  cpuSecondsPer1kOps: number | undefined;
  cpuSecondsPer1kWrites: number | undefined;
  /** Largest resident set of one member at the end of the run. */
  maxMemberRssMB: number | undefined;
  /** Largest peak resident set (VmHWM) of one member during the run, and the sum of the members' peaks. */
  peakMemberRssMB?: number | undefined;
  peakClusterRssMB?: number | undefined;
  /** run: peaks were reset at the start of the measured window; process: counted from the process's start. */
  peakRssSince?: 'run' | 'process';
  generatorCpuSeconds: number;
  /** Leader endpoint found before and after the run: a change means an election happened under load. */
  leaderBefore: string | undefined;
  leaderAfter: string | undefined;
}

export interface BenchReport {
  date: string;
  machine: { cpus: number; cpuModel: string; memGB: number; kernel: string; node: string };
  /** 1-minute load average when the run started and ended: other work on the machine skews results. */
  loadAverage: { start: number; end: number };
  command: string;
  settings: {
    durationMs: number;
    countPerRun: number | undefined;
    warmupMs: number;
    valueBytes: number;
    keys: string;
    inflightPerChannel: number;
    to: string;
    client: string;
    /** Absent in reports older than --rounds. */
    rounds?: number;
    /** API raftkv was driven through; absent in reports older than --api. */
    api?: ApiName;
  };
  versions: Partial<Record<SystemName, string>>;
  runs: RunRecord[];
  profile?: ProfileSummary;
}

const isWriteOnly = (mix: OpMix): boolean => mix.read === 0 && mix.stale === 0 && mix.range === 0;

/** The record's round (reports older than --rounds have one, round 0). */
export const roundOf = (r: RunRecord): number => r.round ?? 0;

function fmt(n: number | undefined, digits: number): string {
  if (n === undefined || !Number.isFinite(n)) return 'n/a';
  return n.toFixed(digits);
}

function fmtOps(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** One markdown table per workload: a row per level, columns per system, then raftkv/etcd ratios. */
export function formatTables(report: BenchReport, workloads: readonly Workload[]): string {
  const out: string[] = [];
  const systems = [...new Set(report.runs.map((r) => r.system))];
  const both = systems.includes('raftkv') && systems.includes('etcd');
  const rounds = [...new Set(report.runs.map(roundOf))].sort((a, b) => a - b);
  for (const w of workloads)
    for (const round of rounds) {
      const runs = report.runs.filter((r) => r.workload === w.name && roundOf(r) === round);
      if (runs.length === 0) continue;
      const cpuLabel = isWriteOnly(w.mix) ? 'CPU s/1k writes' : 'CPU s/1k ops';
      const head = ['in flight'];
      for (const s of systems) head.push(`${s} ops/s`, 'p50 ms', 'p99 ms', 'p99.9 ms', cpuLabel);
      if (both) head.push('ops/s raftkv/etcd', 'p99 raftkv/etcd');
      const title = `workload ${w.name}${rounds.length > 1 ? `, round ${round + 1} of ${rounds.length}` : ''}:`;
      out.push(title, '', `| ${head.join(' | ')} |`, `|${head.map(() => '---:').join('|')}|`);
      const levels = [...new Set(runs.map((r) => r.inflight))];
      for (const level of levels) {
        const cells = [String(level)];
        const bySystem = new Map(runs.filter((r) => r.inflight === level).map((r) => [r.system, r]));
        for (const s of systems) {
          const r = bySystem.get(s);
          if (r === undefined) {
            cells.push('', '', '', '', '');
            continue;
          }
          const cpu = isWriteOnly(w.mix) ? r.cpuSecondsPer1kWrites : r.cpuSecondsPer1kOps;
          cells.push(
            fmtOps(r.opsPerSec) + (r.errors > 0 ? ` (${r.errors} err)` : ''),
            fmt(r.latencyMs.p50, 2),
            fmt(r.latencyMs.p99, 2),
            fmt(r.latencyMs.p999, 2),
            fmt(cpu, 3),
          );
        }
        if (both) {
          const a = bySystem.get('raftkv');
          const b = bySystem.get('etcd');
          cells.push(
            a && b && b.opsPerSec > 0 ? fmt(a.opsPerSec / b.opsPerSec, 2) : 'n/a',
            a && b && b.latencyMs.p99 > 0 ? fmt(a.latencyMs.p99 / b.latencyMs.p99, 2) : 'n/a',
          );
        }
        out.push(`| ${cells.join(' | ')} |`);
      }
      out.push('');
      for (const r of runs.filter((r) => r.errors > 0)) {
        out.push(
          `  ${r.system} at ${r.inflight} in flight: ${r.errors} errors ${JSON.stringify(r.errorsByCode)}, first: ${r.firstError ?? ''}`,
        );
      }
      for (const r of runs.filter((r) => r.leaderAfter !== r.leaderBefore)) {
        out.push(
          `  ${r.system} at ${r.inflight} in flight: leader changed during the run (${r.leaderBefore ?? 'none'} -> ${r.leaderAfter ?? 'none'})`,
        );
      }
      for (const r of runs.filter((r) => r.casFailed > 0)) {
        out.push(`  ${r.system} at ${r.inflight} in flight: ${r.casFailed} compare-and-swaps or txns did not match (contention)`);
      }
    }
  return out.join('\n').trimEnd() + '\n';
}

const COLORS: Record<SystemName, string> = { raftkv: '#d9480f', etcd: '#1c7ed6' };
const DASHES = ['', '6 3', '2 3', '8 3 2 3'];

function escapeXml(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c] ?? c);
}

/** Throughput (x) against p99 latency (y, log scale): one line per system and workload, points labelled by level. */
export function renderSvg(report: BenchReport): string {
  const W = 760;
  const H = 460;
  const m = { l: 70, r: 180, t: 40, b: 50 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const runs = report.runs.filter((r) => r.ops > 0 && r.latencyMs.p99 > 0);
  const xMax = Math.max(1, ...runs.map((r) => r.opsPerSec)) * 1.08;
  const yVals = runs.map((r) => r.latencyMs.p99);
  const yLo = Math.pow(10, Math.floor(Math.log10(Math.min(1, ...yVals))));
  const yHi = Math.pow(10, Math.ceil(Math.log10(Math.max(yLo * 10, ...yVals))));
  const x = (v: number): number => m.l + (v / xMax) * pw;
  const y = (v: number): number => m.t + ph - ((Math.log10(v) - Math.log10(yLo)) / (Math.log10(yHi) - Math.log10(yLo))) * ph;

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${m.l}" y="22" font-size="14">Throughput vs p99 latency (${escapeXml(report.date)}, 3-member clusters, ${report.machine.cpus} CPUs)</text>`,
  ];
  // Axes and grid.
  for (let d = yLo; d <= yHi * 1.0001; d *= 10) {
    parts.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${y(d)}" y2="${y(d)}" stroke="#ddd"/>`);
    parts.push(`<text x="${m.l - 6}" y="${y(d) + 4}" text-anchor="end">${d >= 1 ? d.toFixed(0) : d.toString()}</text>`);
  }
  const xStep = Math.pow(10, Math.floor(Math.log10(xMax / 2)));
  for (let v = 0; v <= xMax; v += xStep * (xMax / xStep > 8 ? 2 : 1)) {
    parts.push(`<line x1="${x(v)}" x2="${x(v)}" y1="${m.t}" y2="${m.t + ph}" stroke="#eee"/>`);
    parts.push(`<text x="${x(v)}" y="${m.t + ph + 16}" text-anchor="middle">${fmtOps(v)}</text>`);
  }
  parts.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  parts.push(`<text x="${m.l + pw / 2}" y="${H - 12}" text-anchor="middle">operations per second</text>`);
  parts.push(`<text transform="translate(18 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle">p99 latency (ms, log scale)</text>`);
  // Series.
  const series = [...new Set(runs.map((r) => `${r.system}\u0000${r.workload}`))];
  const workloads = [...new Set(runs.map((r) => r.workload))];
  series.forEach((key, i) => {
    const [system, workload] = key.split('\u0000') as [SystemName, string];
    const pts = runs.filter((r) => r.system === system && r.workload === workload).sort((a, b) => a.inflight - b.inflight);
    const color = COLORS[system];
    const dash = DASHES[workloads.indexOf(workload) % DASHES.length] ?? '';
    const d = pts.map((p, j) => `${j === 0 ? 'M' : 'L'}${x(p.opsPerSec).toFixed(1)},${y(p.latencyMs.p99).toFixed(1)}`).join(' ');
    parts.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`);
    for (const p of pts) {
      parts.push(`<circle cx="${x(p.opsPerSec).toFixed(1)}" cy="${y(p.latencyMs.p99).toFixed(1)}" r="3.5" fill="${color}"/>`);
      parts.push(
        `<text x="${(x(p.opsPerSec) + 5).toFixed(1)}" y="${(y(p.latencyMs.p99) - 5).toFixed(1)}" fill="${color}">${p.inflight}</text>`,
      );
    }
    const ly = m.t + 14 + i * 20;
    parts.push(
      `<line x1="${m.l + pw + 14}" x2="${m.l + pw + 44}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`,
    );
    parts.push(`<text x="${m.l + pw + 50}" y="${ly + 4}">${escapeXml(`${system} ${workload}`)}</text>`);
  });
  parts.push(`<text x="${m.l + pw + 14}" y="${m.t + 14 + series.length * 20 + 10}" fill="#666">labels: ops in flight</text>`);
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
