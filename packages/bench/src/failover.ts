// scripts/bench --failover N: crash failover, each system in turn. Under a light write load (a few
// writers through etcd's KV API, the same client code for both systems, each moving to the next member
// after a failure), the leader is killed with SIGKILL N times, restarted over its data between rounds.
// Per kill: the time until a surviving member reports itself leader (its own status call, polled) and
// until the first write sent after the kill is acknowledged.
import { RaftkvClient } from '@raftkv/client';
import { keepTempDirs } from '@raftkv/testkit';
import { Role } from '@raftkv/proto';
import { performance } from 'node:perf_hooks';
import type { BenchOptions, SystemName } from './args.js';
import type { Cluster } from './cluster.js';
import { etcdApi, etcdStatusOn } from './etcd-client.js';
import { ensureEtcd, startEtcdCluster } from './etcd-cluster.js';
import { startRaftkvCluster } from './raftkv-cluster.js';
import type { ManagedProcess } from './processes.js';
import { openChannels } from './transport.js';

export interface FailoverRound {
  /** Kill to a survivor reporting itself leader, ms (NaN: none within the round's limit). */
  readonly newLeaderMs: number;
  /** Kill to the acknowledgement of the first write sent after it, ms (NaN: none within the limit). */
  readonly firstWriteMs: number;
}

export interface FailoverResult {
  readonly system: SystemName;
  readonly rounds: readonly FailoverRound[];
}

export interface FailoverOptions {
  readonly rounds: number;
  /** Concurrent writers; each waits WRITE_GAP_MS between acknowledged puts. */
  readonly writers: number;
  readonly say: (line: string) => void;
}

/** What one member says about leadership (undefined: it did not answer). */
interface LeaderView {
  readonly self: boolean;
  /** The leader it knows ('' for none). */
  readonly leader: string;
}

interface Prober {
  view(i: number): Promise<LeaderView | undefined>;
  close(): void;
}

const WRITE_GAP_MS = 10;
const ERROR_PAUSE_MS = 2;
const POLL_MS = 5;
const ROUND_LIMIT_MS = 10_000;
const VALUE = Buffer.alloc(128, 'v');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function proberFor(system: SystemName, endpoints: readonly string[]): Prober {
  if (system === 'raftkv') {
    const client = new RaftkvClient({ endpoints });
    return {
      async view(i) {
        try {
          const s = await client.statusOf(endpoints[i]!, { timeoutMs: 300 });
          return { self: s.role === Role.ROLE_LEADER, leader: s.leaderId };
        } catch {
          return undefined;
        }
      },
      close: () => client.close(),
    };
  }
  const channels = openChannels('grpc-js', endpoints, endpoints.length, 300);
  return {
    async view(i) {
      try {
        const s = await etcdStatusOn(channels, i);
        return { self: s.leader !== '0' && s.memberId === s.leader, leader: s.leader === '0' ? '' : s.leader };
      } catch {
        return undefined;
      }
    },
    close: () => channels.close(),
  };
}

/** The light write load: each writer puts, pauses, and moves to the next member after any failure. */
class Writers {
  private running = true;
  private readonly done: Promise<void>[] = [];
  /** Called with (sentAt, ackedAt) of every acknowledged put (performance.now() clock). */
  onAck: (sentAt: number, ackedAt: number) => void = () => {};

  constructor(endpoints: readonly string[], count: number) {
    const conn = etcdApi.connect('grpc-js', endpoints, endpoints.length, 1000);
    for (let w = 0; w < count; w++) {
      this.done.push(
        (async () => {
          let at = w % endpoints.length;
          for (let seq = 0; this.running; seq++) {
            const sentAt = performance.now();
            try {
              await conn.put(at, `failover/${w}/${seq}`, VALUE);
              this.onAck(sentAt, performance.now());
              await sleep(WRITE_GAP_MS);
            } catch {
              at = (at + 1) % endpoints.length;
              await sleep(ERROR_PAUSE_MS);
            }
          }
        })(),
      );
    }
    void Promise.all(this.done).then(() => conn.close());
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.done);
  }
}

/** Polls until `pred` holds or `ms` pass; returns the performance.now() at which it held (NaN: never). */
async function until(pred: () => Promise<boolean>, ms: number, every = POLL_MS): Promise<number> {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    if (await pred()) return performance.now();
    await sleep(every);
  }
  return Number.NaN;
}

/** Every member answers and names the same leader, one of them; returns that member's index, or -1. */
async function settledLeader(p: Prober, n: number): Promise<number> {
  const views = await Promise.all(Array.from({ length: n }, (_, i) => p.view(i)));
  const leader = views.findIndex((v) => v?.self === true);
  if (leader < 0 || views.some((v) => v === undefined || v.leader !== views[leader]!.leader)) return -1;
  return leader;
}

/** Runs the rounds on a started cluster; its processes are replaced as members are killed and restarted. */
export async function runFailover(cluster: Cluster, o: FailoverOptions): Promise<FailoverResult> {
  const members: ManagedProcess[] = [...cluster.processes];
  const n = members.length;
  if (n < 3) throw new Error('--failover needs a 3-member cluster started by the benchmark (no --endpoints)');
  const prober = proberFor(cluster.system, cluster.endpoints);
  const writers = new Writers(cluster.endpoints, o.writers);
  const rounds: FailoverRound[] = [];
  let acks = 0;
  let firstAfter: { killAt: number; resolve: (ackedAt: number) => void } | null = null;
  writers.onAck = (sentAt, ackedAt) => {
    acks++;
    if (firstAfter !== null && sentAt >= firstAfter.killAt) firstAfter.resolve(ackedAt);
  };
  try {
    for (let round = 0; round < o.rounds; round++) {
      let leader = -1;
      await until(async () => (leader = await settledLeader(prober, n)) >= 0, 30_000, 50);
      if (leader < 0) throw new Error(`${cluster.system}: no settled leader before round ${round + 1}`);
      const before = acks;
      await until(async () => acks >= before + 20, 30_000, 20);
      // A random phase against the heartbeats.
      await sleep(300 + Math.random() * 500);
      const killedAtWall = new Date().toISOString();
      const killAt = performance.now();
      const acked = new Promise<number>((resolve) => (firstAfter = { killAt, resolve }));
      members[leader]!.child.kill('SIGKILL');
      const survivors = Array.from({ length: n }, (_, i) => i).filter((i) => i !== leader);
      const [elected, firstAck] = await Promise.all([
        until(async () => (await Promise.all(survivors.map((i) => prober.view(i)))).some((v) => v?.self === true), ROUND_LIMIT_MS),
        Promise.race([acked, sleep(ROUND_LIMIT_MS).then(() => Number.NaN)]),
      ]);
      firstAfter = null;
      const r = { newLeaderMs: elected - killAt, firstWriteMs: firstAck - killAt };
      rounds.push(r);
      o.say(
        `bench: ${cluster.system} failover ${round + 1}/${o.rounds}: killed ${members[leader]!.name} at ${killedAtWall}; ` +
          `new leader ${fmt(r.newLeaderMs)} ms, first write ${fmt(r.firstWriteMs)} ms`,
      );
      await members[leader]!.exited;
      members[leader] = members[leader]!.respawn();
    }
  } finally {
    await writers.stop();
    prober.close();
    // The cluster stops the members it started; the restarted ones are stopped here.
    await Promise.all(members.filter((m) => !cluster.processes.includes(m)).map((m) => m.stop(5000)));
  }
  return { system: cluster.system, rounds };
}

/** --failover: each system in turn gets its own cluster, started here, and the rounds; then the table. */
export async function failoverBench(opts: BenchOptions, rounds: number, say: (line: string) => void): Promise<string> {
  const writers = 2;
  keepTempDirs(opts.keep);
  const results: FailoverResult[] = [];
  for (const system of opts.systems) {
    if (opts.endpoints[system] !== undefined) throw new Error('--failover starts its own clusters: drop --endpoints');
    say(`bench: starting a 3-member ${system} cluster for the failover rounds`);
    const cluster =
      system === 'etcd'
        ? await startEtcdCluster({ binary: ensureEtcd(opts.etcdBinary, say) })
        : await startRaftkvCluster({ serverMain: opts.serverMain, extraArgs: opts.serverArgs });
    try {
      results.push(await runFailover(cluster, { rounds, writers, say }));
    } finally {
      await cluster.stop();
    }
  }
  return formatFailover(results, writers);
}

function fmt(ms: number): string {
  return Number.isNaN(ms) ? '-' : ms.toFixed(0);
}

function median(xs: readonly number[]): number {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function max(xs: readonly number[]): number {
  return xs.some((x) => Number.isNaN(x)) ? Number.NaN : Math.max(...xs);
}

/** One line per system: p50 and max of both times, then every round's figures. */
export function formatFailover(results: readonly FailoverResult[], writers: number): string {
  const lines = [
    `crash failover: kill -9 of the leader, restarted between rounds; ${writers} writers, one 128 B put each per ${WRITE_GAP_MS} ms ` +
      "through etcd's KV API (next member after a failure); times in ms from the kill ('-': none within 10 s)",
    'system   rounds   new leader p50 / max   first acknowledged write p50 / max',
  ];
  for (const r of results) {
    const nl = r.rounds.map((x) => x.newLeaderMs);
    const fw = r.rounds.map((x) => x.firstWriteMs);
    lines.push(
      `${r.system.padEnd(8)} ${String(r.rounds.length).padStart(6)}   ${`${fmt(median(nl))} / ${fmt(max(nl))}`.padStart(20)}   ` +
        `${`${fmt(median(fw))} / ${fmt(max(fw))}`.padStart(34)}`,
    );
  }
  for (const r of results) {
    lines.push(
      `${r.system} rounds (new leader, first write): ${r.rounds.map((x) => `${fmt(x.newLeaderMs)},${fmt(x.firstWriteMs)}`).join('  ')}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
