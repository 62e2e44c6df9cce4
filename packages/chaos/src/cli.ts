#!/usr/bin/env node
// scripts/chaos: a Jepsen-style run against real raftkv nodes. With partitions (root + iproute2 +
// iptables), this process is a supervisor: it builds the network namespaces, re-runs itself inside
// the client namespace (where the bridge is), and removes everything when that child ends, however
// it ends. Without them it runs directly on loopback, with kill and pause faults only.
// Exit codes: 0 all checks passed, 1 a check failed, 2 usage or harness error, 3 checker undecided.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseFlags } from '@raftkv/server/parse-flags';
import { killTracked, serverMain } from '@raftkv/testkit';
import { runExitHooks } from './harness/proc.js';
import type { FaultFamily } from './harness/nemesis.js';
import { createTopology, destroyTopology, netnsSupport, removeStaleNamespaces, topologyFor } from './harness/netns.js';
import { runChaos, type ChaosOptions } from './harness/run.js';
import { diskFailure, minorityLeader } from './harness/scenarios.js';
import { formatSummary } from './harness/summary.js';

const SCENARIOS = ['minority-leader', 'disk-full', 'disk-readonly'] as const;
type Scenario = (typeof SCENARIOS)[number];

const USAGE = `usage: scripts/chaos [--api raftkv|etcd] [--workload register|bank|lock] [--accounts N] [--duration S] [--nodes 3|5] [--seed N]
  [--clients N] [--keys N] [--watchers N (etcd API, default 3)] [--watch-self-test drop|duplicate (must FAIL)]
  [--lock-ttl S] [--unfenced (self-test: lock writes without the fencing compare; must FAIL)]
  [--ops-per-key N] [--op-timeout-ms MS] [--think-ms MS] [--faults kill,pause,partition]
  [--gap-ms MIN-MAX] [--fault-ms MIN-MAX] [--election-timeout-min-ms MS] [--election-timeout-max-ms MS]
  [--heartbeat-ms MS] [--server PATH] [--require-partitions] [--keep] [--json FILE] [--checker-timeout-s S]
  [--stale-reads (self-test: reads served stale, checked as linearizable; must FAIL)]
  [--membership (also remove voters and add fresh nodes with --join; 5 nodes, >= 3 voters)] [--member-gap-ms MIN-MAX]
       scripts/chaos scenario ${SCENARIOS.join('|')} [--nodes 3|5] [--seed N] [--json FILE]`;

interface CliOptions extends Omit<ChaosOptions, 'workDir' | 'log' | 'netnsTag' | 'partitionsSkipped'> {
  readonly keep: boolean;
  readonly json?: string;
  readonly requirePartitions: boolean;
  readonly inside?: string;
  readonly workDir?: string;
  readonly partitionsSkipped?: string;
  readonly scenario?: Scenario;
}

class UsageError extends Error {}

const FLAGS = {
  api: { type: 'string' },
  workload: { type: 'string' },
  accounts: { type: 'string' },
  watchers: { type: 'string' },
  'lock-ttl': { type: 'string' },
  unfenced: { type: 'boolean' },
  'watch-self-test': { type: 'string' },
  duration: { type: 'string' },
  nodes: { type: 'string' },
  seed: { type: 'string' },
  clients: { type: 'string' },
  keys: { type: 'string' },
  'ops-per-key': { type: 'string' },
  'op-timeout-ms': { type: 'string' },
  'think-ms': { type: 'string' },
  faults: { type: 'string' },
  'gap-ms': { type: 'string' },
  'fault-ms': { type: 'string' },
  'election-timeout-min-ms': { type: 'string' },
  'election-timeout-max-ms': { type: 'string' },
  'heartbeat-ms': { type: 'string' },
  server: { type: 'string' },
  json: { type: 'string' },
  'checker-timeout-s': { type: 'string' },
  'member-gap-ms': { type: 'string' },
  keep: { type: 'boolean' },
  'require-partitions': { type: 'boolean' },
  help: { type: 'boolean' },
  'stale-reads': { type: 'boolean' },
  membership: { type: 'boolean' },
  // Set by the supervisor when it re-runs the CLI inside the client namespace.
  inside: { type: 'string' },
  'work-dir': { type: 'string' },
  'partitions-skipped': { type: 'string' },
} as const;

function parse(all: readonly string[]): CliOptions {
  const fail = (flag: string, reason: string): Error => new UsageError(`${flag}: ${reason}`);
  const { values: flags, positionals } = parseFlags(all, FLAGS, { positionals: true, fail });
  let scenario: Scenario | undefined;
  if (positionals[0] === 'scenario') {
    const name = positionals[1] ?? '';
    if (!(SCENARIOS as readonly string[]).includes(name)) throw new UsageError(`unknown scenario '${name}' (${SCENARIOS.join(', ')})`);
    scenario = name as Scenario;
  }
  const extra = positionals.slice(scenario === undefined ? 0 : 2);
  if (extra.length > 0) throw new UsageError(`unexpected argument ${extra[0]}`);
  if (flags.help) throw new UsageError('');
  const v = new Map(Object.entries(flags).filter((e): e is [string, string] => typeof e[1] === 'string'));
  const num = (k: string, d: number, min = 0): number => {
    const s = v.get(k);
    if (s === undefined) return d;
    const n = Number(s);
    if (!Number.isFinite(n) || n < min) throw new UsageError(`--${k}: expected a number >= ${min}, got ${s}`);
    return n;
  };
  const range = (k: string, d: [number, number]): [number, number] => {
    const s = v.get(k);
    if (s === undefined) return d;
    const m = /^(\d+)-(\d+)$/.exec(s);
    if (!m || Number(m[1]) > Number(m[2])) throw new UsageError(`--${k}: expected MIN-MAX in ms, got ${s}`);
    return [Number(m[1]), Number(m[2])];
  };
  const membership = flags.membership === true;
  const nodes = num('nodes', membership ? 5 : 3, 1);
  if (![3, 5].includes(nodes)) throw new UsageError(`--nodes: 3 or 5, got ${nodes}`);
  // Voters move between 3 and the slot count: with 3 slots nothing could ever be removed.
  if (membership && nodes !== 5) throw new UsageError(`--membership: needs --nodes 5 (voters move between 3 and 5), got ${nodes}`);
  if (!membership && v.has('member-gap-ms')) throw new UsageError('--member-gap-ms: only with --membership');
  const families = (v.get('faults') ?? 'kill,pause,partition').split(',').filter(Boolean);
  for (const f of families)
    if (!['kill', 'pause', 'partition'].includes(f)) throw new UsageError(`--faults: unknown fault ${f} (kill, pause, partition)`);
  const api = v.get('api') ?? 'raftkv';
  if (api !== 'raftkv' && api !== 'etcd') throw new UsageError(`--api: raftkv or etcd, got ${api}`);
  const workload = v.get('workload') ?? 'register';
  if (workload !== 'register' && workload !== 'bank' && workload !== 'lock')
    throw new UsageError(`--workload: register, bank or lock, got ${workload}`);
  if (workload === 'lock' && api !== 'etcd') throw new UsageError('--workload lock: needs --api etcd (leases, watches and transactions)');
  if (workload !== 'lock' && (v.has('lock-ttl') || flags.unfenced === true))
    throw new UsageError(`--${v.has('lock-ttl') ? 'lock-ttl' : 'unfenced'}: only with --workload lock`);
  if (workload === 'bank' && api !== 'etcd')
    throw new UsageError('--workload bank: needs --api etcd (raftkv.v1 has no multi-key transactions)');
  if (workload !== 'bank' && v.has('accounts')) throw new UsageError('--accounts: only with --workload bank');
  if (api !== 'etcd' && (v.has('watchers') || v.has('watch-self-test')))
    throw new UsageError(`--${v.has('watchers') ? 'watchers' : 'watch-self-test'}: only with --api etcd`);
  const selfTest = v.get('watch-self-test');
  if (selfTest !== undefined && selfTest !== 'drop' && selfTest !== 'duplicate')
    throw new UsageError(`--watch-self-test: drop or duplicate, got ${selfTest}`);
  const o: CliOptions = {
    ...(selfTest === undefined ? {} : { watchSelfTest: selfTest }),
    api,
    watchers: api === 'etcd' ? num('watchers', 3) : 0,
    lockTtlS: num('lock-ttl', 2, 1),
    unfenced: flags.unfenced === true,
    workload,
    accounts: num('accounts', 5, 2),
    durationS: num('duration', 60, 1),
    nodes,
    seed: num('seed', Math.floor(Math.random() * 2 ** 31)) >>> 0,
    clients: num('clients', 2 * nodes, 1),
    activeKeys: num('keys', 4, 1),
    opsPerKey: num('ops-per-key', 400, 10),
    opTimeoutMs: num('op-timeout-ms', 2000, 100),
    thinkMs: num('think-ms', 10),
    families: families as FaultFamily[],
    gapMs: range('gap-ms', [1000, 4000]),
    faultMs: range('fault-ms', [1000, 6000]),
    electionTimeoutMinMs: num('election-timeout-min-ms', 150, 1),
    electionTimeoutMaxMs: num('election-timeout-max-ms', 300, 2),
    heartbeatMs: num('heartbeat-ms', 50, 1),
    serverMain: v.get('server') ?? serverMain(import.meta.url),
    checkerTimeoutMs: num('checker-timeout-s', 600, 1) * 1000,
    keep: flags.keep === true,
    requirePartitions: flags['require-partitions'] === true,
    staleReads: flags['stale-reads'] === true,
    ...(membership ? { membership: { gapMs: range('member-gap-ms', [2000, 6000]), minVoters: 3 } } : {}),
  };
  const opt = (k: string): Record<string, string> =>
    v.has(k) ? { [k === 'work-dir' ? 'workDir' : k === 'partitions-skipped' ? 'partitionsSkipped' : k]: v.get(k)! } : {};
  return { ...o, ...opt('json'), ...opt('inside'), ...opt('work-dir'), ...opt('partitions-skipped'), ...(scenario ? { scenario } : {}) };
}

const log = (line: string): void => {
  process.stdout.write(`${new Date().toISOString().slice(11, 23)} ${line}\n`);
};

/** Runs in this process (loopback, or inside the client namespace) and reports. */
async function runHere(o: CliOptions, workDir: string): Promise<number> {
  if (o.scenario !== undefined) {
    const ctx = { ...o, workDir, log, ...(o.inside === undefined ? {} : { netnsTag: o.inside }) };
    const r =
      o.scenario === 'minority-leader'
        ? await minorityLeader(ctx)
        : await diskFailure(ctx, o.scenario === 'disk-full' ? 'full' : 'readonly');
    const { probes: _probes, ...brief } = r;
    process.stdout.write(JSON.stringify(brief, null, 2) + '\n');
    if (r.skipped) log(`chaos: scenario ${r.scenario} SKIPPED: ${r.skipped}`);
    else log(`chaos: scenario ${r.scenario} ${r.passed ? 'PASSED' : `FAILED: ${r.problems.join('; ')}`}`);
    if (o.json !== undefined) writeFileSync(o.json, JSON.stringify(r, null, 2));
    return r.passed ? 0 : 1;
  }
  const summary = await runChaos({ ...o, workDir, log, ...(o.inside === undefined ? {} : { netnsTag: o.inside }) });
  process.stdout.write(formatSummary(summary) + '\n');
  if (o.json !== undefined) writeFileSync(o.json, JSON.stringify(summary, null, 2));
  return summary.verdict === 'ok' ? 0 : summary.verdict === 'unknown' ? 3 : 1;
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  let o: CliOptions;
  try {
    o = parse(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(e.message ? `chaos: ${e.message}\n${USAGE}\n` : `${USAGE}\n`);
      return 2;
    }
    throw e;
  }
  if (o.inside !== undefined) {
    // The child inside the client namespace: the supervisor owns the namespaces and the work dir.
    const stop = (): void => {
      killTracked();
      runExitHooks();
      process.exit(130);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    return runHere(o, o.workDir ?? mkdtempSync(join(tmpdir(), 'raftkv-chaos-')));
  }

  const workDir = mkdtempSync(join(tmpdir(), 'raftkv-chaos-'));
  const cleanDir = (): void => {
    if (o.keep) log(`chaos: kept ${workDir} (node logs and data)`);
    else rmSync(workDir, { recursive: true, force: true });
  };
  let skipped: string | undefined;
  const wantsNetns = o.scenario === undefined ? o.families.includes('partition') : o.scenario === 'minority-leader';
  if (wantsNetns) {
    const support = await netnsSupport();
    if (support.ok) {
      const tag = String(process.pid);
      await removeStaleNamespaces();
      const t = topologyFor(tag, o.nodes);
      try {
        await createTopology(t);
      } catch (e) {
        await destroyTopology(t);
        skipped = `could not build the network namespaces: ${(e as Error).message}`;
      }
      if (skipped === undefined) return supervise(argv, tag, workDir, () => destroyTopology(t), cleanDir);
    } else skipped = support.reason;
    if (o.requirePartitions) {
      process.stderr.write(`chaos: partitions required but unavailable: ${skipped}\n`);
      cleanDir();
      return 2;
    }
  }
  const stop = (): void => {
    killTracked();
    runExitHooks();
    cleanDir();
    process.exit(130);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  try {
    return await runHere({ ...o, ...(skipped === undefined ? {} : { partitionsSkipped: skipped }) }, workDir);
  } finally {
    cleanDir();
  }
}

/** Re-runs this CLI inside the client namespace and tears the namespaces down when it ends. */
async function supervise(
  argv: readonly string[],
  tag: string,
  workDir: string,
  destroy: () => Promise<void>,
  cleanDir: () => void,
): Promise<number> {
  const self = fileURLToPath(import.meta.url);
  const t = topologyFor(tag, 1);
  const child = spawn('ip', ['netns', 'exec', t.clientNs, process.execPath, self, ...argv, '--inside', tag, '--work-dir', workDir], {
    stdio: 'inherit',
  });
  let killTimer: NodeJS.Timeout | undefined;
  const forward = (sig: NodeJS.Signals): void => {
    child.kill(sig);
    killTimer ??= setTimeout(() => child.kill('SIGKILL'), 15_000);
  };
  process.on('SIGINT', () => forward('SIGINT'));
  process.on('SIGTERM', () => forward('SIGTERM'));
  const code = await new Promise<number>((resolve) => {
    child.on('error', (e) => {
      log(`chaos: could not start the run inside the namespace: ${e.message}`);
      resolve(2);
    });
    child.on('exit', (c, sig) => resolve(c ?? (sig ? 130 : 2)));
  });
  if (killTimer) clearTimeout(killTimer);
  await destroy();
  cleanDir();
  return code;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`chaos: ${(e as Error).stack ?? String(e)}\n`);
    killTracked();
    runExitHooks();
    process.exit(2);
  },
);
