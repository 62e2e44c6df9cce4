// Command-line options of scripts/bench. Parsing is pure (argv in, options or a UsageError out) so it
// can be unit-tested; main.ts turns a UsageError into one line on stderr and exit code 2.
import { parseFlags } from '@raftkv/server/parse-flags';
import type { ApiName, ClientKind, SystemName } from './kinds.js';

export type { ApiName, SystemName } from './kinds.js';

/** range (a prefix of --range-keys keys) and txn (compare mod_revision, then put) exist on the etcd API only. */
export type OpKind = 'put' | 'read' | 'stale' | 'cas' | 'range' | 'txn';
export const OP_KINDS: readonly OpKind[] = ['put', 'read', 'stale', 'cas', 'range', 'txn'];
const ETCD_ONLY: readonly OpKind[] = ['range', 'txn'];

/** Relative weights of each operation kind; at least one is positive. */
export type OpMix = Record<OpKind, number>;

export interface Workload {
  /** As given on the command line: a kind name ("put") or a mix ("put=90,read=10"). */
  name: string;
  mix: OpMix;
}

export interface BenchOptions {
  systems: SystemName[];
  /** API raftkv is driven through (etcd is always driven through its own). */
  api: ApiName;
  /** Rounds of every (workload, level); the order of the systems alternates from round to round. */
  rounds: number;
  /** Endpoints (host:port) of an already-running cluster per system; absent: start a local one. */
  endpoints: Partial<Record<SystemName, string[]>>;
  /** Operations in flight, one measured run per level (per workload, per system). */
  levels: number[];
  workloads: Workload[];
  /** Measured time per run, unless countPerRun is set. */
  durationMs: number;
  /** Stop each run after this many completed operations instead of after durationMs. */
  countPerRun: number | undefined;
  /** Unmeasured load before each run, so connections and caches are warm. */
  warmupMs: number;
  valueBytes: number;
  keys: 'unique' | 'hot';
  hotKeys: number;
  /** Keys written before a run that reads, so reads find values. */
  preloadKeys: number;
  /** Keys under the prefix each `range` operation reads (written once before the first range run). */
  rangeKeys: number;
  /** In-flight operations per gRPC channel (each channel its own HTTP/2 connection). */
  inflightPerChannel: number;
  /** leader: all channels to the leader; all: channels round-robin over every member. */
  to: 'leader' | 'all';
  /** grpc-js (the library clients use) or h2 (a minimal HTTP/2 gRPC client that costs less CPU). */
  client: ClientKind;
  opTimeoutMs: number;
  json: boolean;
  svgPath: string | undefined;
  /** Render tables (and --svg) from a saved --json report instead of running. */
  fromJson: string | undefined;
  profile: boolean;
  progress: boolean;
  keep: boolean;
  serverMain: string | undefined;
  /** Extra flags for every raftkv node (e.g. timing: --heartbeat-ms 100). */
  serverArgs: string[];
  etcdBinary: string | undefined;
  /** Instead of the load runs: kill -9 the leader this many times per system (failover.ts). */
  failover: number | undefined;
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly code = 3; // mirrors gRPC INVALID_ARGUMENT
}

export const USAGE = `usage: scripts/bench [options]
  --target raftkv|etcd|both   systems to benchmark (default both)
  --api raftkv|etcd           API raftkv is driven through: raftkv.v1 (default) or etcd's KV API, the same
                              client code as for etcd (etcd always speaks its own)
  --rounds 1                  repeat every workload and level N times, alternating the order of the systems;
                              with both systems, a summary per level: median of the per-round raftkv/etcd ratios
  --endpoints h:p,...         use an already-running cluster of the single --target instead of starting one
  --raftkv-endpoints h:p,...  same, per system (with --target both)
  --etcd-endpoints h:p,...
  --levels 1,16,64,256        operations in flight, one run per level
  --duration 5s               measured time per run (ms, s, m suffixes; plain number = seconds)
  --count N                   stop each run after N operations instead of --duration
  --warmup 1s                 unmeasured load before each run
  --workload put              put | read | stale | cas | a mix like put=90,read=10; repeatable; etcd API only:
                              range (one linearizable Range over a prefix of --range-keys keys) and
                              txn (Txn: compare the key's mod_revision, then put)
  --value-size 128            value bytes
  --keys unique|hot           unique: a fresh key per write; hot: --hot-keys keys shared by all
  --hot-keys 8
  --preload 1000              keys written before a run that reads (unique mode)
  --range-keys 100            keys under the prefix a range operation reads
  --per-channel 16            in-flight operations per gRPC channel (connection)
  --to leader|all             send to the leader only (default) or spread over all members
  --client grpc-js|h2         generator's gRPC client: grpc-js, or a minimal node:http2 one (less CPU per call)
  --timeout 10s               deadline of each operation
  --json                      print the results as JSON on stdout instead of tables
  --svg FILE                  write a throughput-vs-p99-latency plot
  --from-json FILE            print the tables (and --svg) of a saved --json report; runs nothing
  --profile                   run raftkv nodes with node --cpu-prof; print the leader's top functions
  --no-progress               no progress bar on stderr
  --keep                      keep the temporary data directories and logs (raftkv nodes then log at info)
  --server FILE               raftkv server entry point (default packages/server/dist/main.js)
  --server-args='...'        extra flags for every raftkv node, e.g. --server-args='--heartbeat-ms 100'
  --etcd FILE                 etcd binary (default: etcd on PATH, installed with apt-get if missing)
  --failover N                instead of the load runs: kill -9 the leader N times per system under a light
                              write load (restarting it between rounds); time to a new leader and to the first
                              acknowledged write after each kill, p50 and max`;

/** Parses "5s", "500ms", "2m", "1.5" (seconds) into milliseconds. */
export function parseDurationMs(flag: string, text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) throw new UsageError(`--${flag}: expected a duration like 500ms, 5s or 2m, got "${text}"`);
  const n = Number(m[1]);
  const unit = m[2] ?? 's';
  return Math.round(unit === 'ms' ? n : unit === 's' ? n * 1000 : n * 60_000);
}

function parsePositiveInt(flag: string, text: string, allowZero = false): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || (n === 0 && !allowZero)) {
    throw new UsageError(`--${flag}: expected a ${allowZero ? 'non-negative' : 'positive'} integer, got "${text}"`);
  }
  return n;
}

function parseEndpoints(flag: string, text: string): string[] {
  const list = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const e of list) {
    if (!/^[^:\s]+:\d+$/.test(e.replace(/^https?:\/\//, ''))) {
      throw new UsageError(`--${flag}: expected host:port[,host:port...], got "${e}"`);
    }
  }
  if (list.length === 0) throw new UsageError(`--${flag}: expected at least one host:port`);
  return list.map((e) => e.replace(/^https?:\/\//, ''));
}

export function parseWorkload(text: string): Workload {
  const mix: OpMix = { put: 0, read: 0, stale: 0, cas: 0, range: 0, txn: 0 };
  const isKind = (s: string): s is OpKind => (OP_KINDS as readonly string[]).includes(s);
  const t = text.trim();
  if (isKind(t)) {
    mix[t] = 1;
    return { name: t, mix };
  }
  for (const part of t.split(',')) {
    const m = /^([a-z]+)=(\d+(?:\.\d+)?)$/.exec(part.trim());
    const kind = m?.[1];
    if (!m || kind === undefined || !isKind(kind)) {
      throw new UsageError(`--workload: expected ${OP_KINDS.join('|')} or a mix like put=90,read=10, got "${text}"`);
    }
    mix[kind] += Number(m[2]);
  }
  if (OP_KINDS.every((k) => mix[k] === 0)) throw new UsageError(`--workload: every weight is zero in "${text}"`);
  return { name: t, mix };
}

const OPTIONS = {
  target: { type: 'string', default: 'both' },
  api: { type: 'string', default: 'raftkv' },
  rounds: { type: 'string', default: '1' },
  endpoints: { type: 'string' },
  'raftkv-endpoints': { type: 'string' },
  'etcd-endpoints': { type: 'string' },
  levels: { type: 'string', default: '1,16,64,256' },
  duration: { type: 'string', default: '5s' },
  count: { type: 'string' },
  warmup: { type: 'string', default: '1s' },
  workload: { type: 'string', multiple: true },
  'value-size': { type: 'string', default: '128' },
  keys: { type: 'string', default: 'unique' },
  'hot-keys': { type: 'string', default: '8' },
  preload: { type: 'string', default: '1000' },
  'range-keys': { type: 'string', default: '100' },
  'per-channel': { type: 'string', default: '16' },
  to: { type: 'string', default: 'leader' },
  client: { type: 'string', default: 'grpc-js' },
  timeout: { type: 'string', default: '10s' },
  json: { type: 'boolean', default: false },
  svg: { type: 'string' },
  'from-json': { type: 'string' },
  profile: { type: 'boolean', default: false },
  'no-progress': { type: 'boolean', default: false },
  keep: { type: 'boolean', default: false },
  server: { type: 'string' },
  'server-args': { type: 'string' },
  etcd: { type: 'string' },
  failover: { type: 'string' },
} as const;

export function parseOptions(argv: readonly string[]): BenchOptions {
  const v = parseFlags(argv, OPTIONS, { fail: (flag, reason) => new UsageError(`${flag}: ${reason}`) }).values;

  const target = v.target;
  if (target !== 'raftkv' && target !== 'etcd' && target !== 'both') {
    throw new UsageError(`--target: expected raftkv, etcd or both, got "${target}"`);
  }
  const systems: SystemName[] = target === 'both' ? ['raftkv', 'etcd'] : [target];

  const endpoints: Partial<Record<SystemName, string[]>> = {};
  if (v.endpoints !== undefined) {
    if (target === 'both') throw new UsageError('--endpoints: needs --target raftkv or etcd (or use --raftkv-endpoints/--etcd-endpoints)');
    endpoints[target] = parseEndpoints('endpoints', v.endpoints);
  }
  if (v['raftkv-endpoints'] !== undefined) endpoints.raftkv = parseEndpoints('raftkv-endpoints', v['raftkv-endpoints']);
  if (v['etcd-endpoints'] !== undefined) endpoints.etcd = parseEndpoints('etcd-endpoints', v['etcd-endpoints']);

  const api = v.api;
  if (api !== 'raftkv' && api !== 'etcd') throw new UsageError(`--api: expected raftkv or etcd, got "${api}"`);
  const workloads = (v.workload ?? ['put']).map(parseWorkload);
  if (api === 'raftkv' && systems.includes('raftkv')) {
    const w = workloads.find((x) => ETCD_ONLY.some((k) => x.mix[k] > 0));
    if (w !== undefined) throw new UsageError(`--workload ${w.name}: range and txn need the etcd API (--api etcd)`);
  }

  const levels = v.levels.split(',').map((s) => parsePositiveInt('levels', s));
  const keys = v.keys;
  if (keys !== 'unique' && keys !== 'hot') throw new UsageError(`--keys: expected unique or hot, got "${keys}"`);
  const to = v.to;
  if (to !== 'leader' && to !== 'all') throw new UsageError(`--to: expected leader or all, got "${to}"`);
  const client = v.client;
  if (client !== 'grpc-js' && client !== 'h2') throw new UsageError(`--client: expected grpc-js or h2, got "${client}"`);
  const profile = v.profile;
  if (profile && (!systems.includes('raftkv') || endpoints.raftkv !== undefined)) {
    throw new UsageError('--profile: needs a raftkv cluster started by the benchmark (no --endpoints for raftkv)');
  }

  return {
    systems,
    api,
    rounds: parsePositiveInt('rounds', v.rounds),
    endpoints,
    levels,
    workloads,
    durationMs: parseDurationMs('duration', v.duration),
    countPerRun: v.count === undefined ? undefined : parsePositiveInt('count', v.count),
    warmupMs: parseDurationMs('warmup', v.warmup),
    valueBytes: parsePositiveInt('value-size', v['value-size'], true),
    keys,
    hotKeys: parsePositiveInt('hot-keys', v['hot-keys']),
    preloadKeys: parsePositiveInt('preload', v.preload, true),
    rangeKeys: parsePositiveInt('range-keys', v['range-keys']),
    inflightPerChannel: parsePositiveInt('per-channel', v['per-channel']),
    to,
    client,
    opTimeoutMs: parseDurationMs('timeout', v.timeout),
    json: v.json,
    svgPath: v.svg,
    fromJson: v['from-json'],
    profile,
    progress: !v['no-progress'],
    keep: v.keep,
    serverMain: v.server,
    serverArgs: (v['server-args'] ?? '').split(/\s+/).filter((a) => a !== ''),
    etcdBinary: v.etcd,
    failover: v.failover === undefined ? undefined : parsePositiveInt('failover', v.failover),
  };
}
