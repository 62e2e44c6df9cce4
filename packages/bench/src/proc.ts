// Per-process CPU time and memory from Linux /proc, for the clusters' "CPU per 1,000 writes" figure.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

let clockTicks: number | undefined;
/** Kernel clock ticks per second (USER_HZ) that /proc/<pid>/stat counts in; almost always 100. */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** utime + stime of a process (all its threads) in seconds, or undefined if it is gone. */
export function cpuSeconds(pid: number): number | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Fields after the command name (which may contain spaces) start at field 3 (state); utime and
  // stime are fields 14 and 15 (1-based), i.e. indexes 11 and 12 here.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(rest[11]) + Number(rest[12]);
  return Number.isFinite(ticks) ? ticks / ticksPerSecond() : undefined;
}

/** Sum of cpuSeconds over pids; undefined if any is unreadable. */
export function totalCpuSeconds(pids: readonly number[]): number | undefined {
  let sum = 0;
  for (const pid of pids) {
    const s = cpuSeconds(pid);
    if (s === undefined) return undefined;
    sum += s;
  }
  return sum;
}

function statusKb(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Resident set size in bytes (VmRSS), or undefined if the process is gone. */
export function rssBytes(pid: number): number | undefined {
  return statusKb(pid, 'VmRSS');
}

/** Peak resident set size in bytes (VmHWM) since the process started or since resetPeakRss. */
export function peakRssBytes(pid: number): number | undefined {
  return statusKb(pid, 'VmHWM');
}

/**
 * Resets the process's peak RSS to its current RSS (writing 5 to /proc/<pid>/clear_refs, Linux 4.0+;
 * needs to own the process). Returns false when the kernel refused: the peak then counts from the start.
 */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}
