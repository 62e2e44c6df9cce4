// Summarises a V8 .cpuprofile (written by node --cpu-prof): self time per function and per area
// (our packages, each npm dependency, node internals, GC, idle), so hot spots show without DevTools.
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
  startTime: number;
  endTime: number;
}

export interface SelfTime {
  name: string;
  /** Where: file:line (shortened), or empty for V8's pseudo-functions like (garbage collector). */
  location: string;
  area: string;
  selfMs: number;
  /** Share of busy (non-idle) sampled time, in percent. */
  percent: number;
}

/** A time interval [from, to] in microseconds of the monotonic clock (process.hrtime), as V8 stamps samples. */
export type Window = readonly [number, number];

export interface ProfileSummary {
  file: string;
  /** Sampled time counted (inside the windows, if any were given), idle included. */
  totalMs: number;
  /** Of totalMs, time the main thread was idle (waiting for I/O or timers). */
  idleMs: number;
  /** Whether only the benchmark's measured windows were counted (not start-up and shutdown). */
  windowed: boolean;
  top: SelfTime[];
  /** The busiest functions of raftkv's own packages. */
  topOurs: SelfTime[];
  areas: { area: string; selfMs: number; percent: number }[];
}

/** Which part of the program a script URL belongs to. */
export function areaOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) {
    const sub = /^node:internal\/([a-z0-9_]+)/.exec(url)?.[1];
    return `node:${sub ?? url.slice(5)}`;
  }
  const pnpm = /node_modules\/\.pnpm\/[^/]+\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pnpm?.[1]) return pnpm[1];
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (nm?.[1]) return nm[1];
  const ours = /packages\/([^/]+)\//.exec(url);
  if (ours?.[1]) return `@raftkv/${ours[1]}`;
  return 'other';
}

function shortLocation(url: string, line: number): string {
  if (url === '') return '';
  const path = url.replace(/^file:\/\//, '');
  const pnpm = /node_modules\/\.pnpm\/[^/]+\/node_modules\/(.*)$/.exec(path);
  const ours = /(packages\/.*)$/.exec(path);
  const short = pnpm?.[1] ?? ours?.[1] ?? path;
  return `${short}:${line + 1}`;
}

export function summarizeProfile(profile: CpuProfile, file: string, topN = 10, windows: readonly Window[] = []): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  const selfUs = new Map<string, { name: string; location: string; area: string; us: number }>();
  let totalUs = 0;
  let idleUs = 0;
  let t = profile.startTime;
  const counted = (at: number): boolean => windows.length === 0 || windows.some(([a, b]) => at >= a && at <= b);
  for (let i = 0; i < samples.length; i++) {
    t += deltas[i] ?? 0;
    const node = byId.get(samples[i] ?? -1);
    // Sample i covers the interval up to the next sample.
    const us = Math.max(0, deltas[i + 1] ?? 0);
    if (node === undefined || !counted(t)) continue;
    if (node.callFrame.functionName === '(idle)') {
      idleUs += us;
      totalUs += us;
      continue;
    }
    const { functionName, url, lineNumber } = node.callFrame;
    const name = functionName === '' ? '(anonymous)' : functionName;
    const location = shortLocation(url, lineNumber);
    const key = `${name}\u0000${location}`;
    const entry = selfUs.get(key) ?? { name, location, area: areaOf(url, name), us: 0 };
    entry.us += us;
    selfUs.set(key, entry);
    totalUs += us;
  }
  const busyUs = totalUs - idleUs;
  const pct = (us: number): number => (busyUs <= 0 ? 0 : (100 * us) / busyUs);
  const sorted = [...selfUs.values()].sort((a, b) => b.us - a.us);
  const toSelfTime = (e: (typeof sorted)[number]): SelfTime => ({
    name: e.name,
    location: e.location,
    area: e.area,
    selfMs: e.us / 1000,
    percent: pct(e.us),
  });
  const top = sorted.slice(0, topN).map(toSelfTime);
  const topOurs = sorted
    .filter((e) => e.area.startsWith('@raftkv/'))
    .slice(0, topN)
    .map(toSelfTime);
  const areaUs = new Map<string, number>();
  for (const e of selfUs.values()) areaUs.set(e.area, (areaUs.get(e.area) ?? 0) + e.us);
  const areas = [...areaUs.entries()].sort((a, b) => b[1] - a[1]).map(([area, us]) => ({ area, selfMs: us / 1000, percent: pct(us) }));
  return { file, totalMs: totalUs / 1000, idleMs: idleUs / 1000, windowed: windows.length > 0, top, topOurs, areas };
}

export function summarizeProfileFile(file: string, topN = 10, windows: readonly Window[] = []): ProfileSummary {
  return summarizeProfile(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, file, topN, windows);
}

export function formatProfileSummary(s: ProfileSummary, label: string): string {
  const busy = s.totalMs - s.idleMs;
  const line = (t: SelfTime, i: number): string =>
    `  ${String(i + 1).padStart(2)}. ${t.percent.toFixed(1).padStart(5)}%  ${t.selfMs.toFixed(0).padStart(7)} ms  ${t.name}  ${t.location}`;
  const lines = [
    `${label}: ${s.file}`,
    `${(s.totalMs / 1000).toFixed(1)} s sampled${s.windowed ? ' inside the measured runs' : ''}, ` +
      `busy ${(busy / 1000).toFixed(1)} s (${s.totalMs > 0 ? ((100 * busy) / s.totalMs).toFixed(0) : 0}%); percentages are of busy time`,
    'top functions by self time:',
    ...s.top.map(line),
    'top raftkv functions by self time:',
    ...s.topOurs.map(line),
    'self time by area:',
  ];
  for (const a of s.areas.slice(0, 14)) {
    lines.push(`  ${a.percent.toFixed(1).padStart(5)}%  ${a.selfMs.toFixed(0).padStart(7)} ms  ${a.area}`);
  }
  return lines.join('\n');
}
