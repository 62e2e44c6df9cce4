// The benchmark run: start (or attach to) the clusters, then for every round, workload and level drive
// each system in turn (the order alternating by round) with the same closed-loop generator, measuring
// throughput, latency, the CPU the cluster spent and its peak memory; optionally profile raftkv's leader.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ApiName, BenchOptions, SystemName, Workload } from './args.js';
import { externalCluster, type Cluster } from './cluster.js';
import { etcdApi, etcdLeader } from './etcd-client.js';
import { ensureEtcd, startEtcdCluster } from './etcd-cluster.js';
import { channelsFor, type KeySpace } from './generator.js';
import { keepTempDirs } from '@raftkv/testkit';
import { measureRun } from './measure.js';
import { summarizeProfileFile } from './profile.js';
import type { ProgressBar } from './progress.js';
import { raftkvApi, raftkvLeader } from './raftkv-client.js';
import { startRaftkvCluster, type RaftkvCluster } from './raftkv-cluster.js';
import type { BenchReport } from './report.js';
import type { ApiClient, Connection, LeaderFinder } from './target.js';

const APIS: Record<ApiName, ApiClient> = { raftkv: raftkvApi, etcd: etcdApi };
const LEADERS: Record<SystemName, LeaderFinder> = { raftkv: raftkvLeader, etcd: etcdLeader };

/** etcd speaks only its own API; raftkv the one --api names. */
const apiOf = (system: SystemName, opts: BenchOptions): ApiName => (system === 'etcd' ? 'etcd' : opts.api);
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

export interface BenchIo {
  progress: ProgressBar;
  /** The command line to record in the report. */
  command: string;
}

function needsPreload(w: Workload, opts: BenchOptions): boolean {
  return opts.keys === 'hot' || w.mix.read > 0 || w.mix.stale > 0;
}

async function putAll(conn: Connection, keys: string[], value: Buffer, inflight = 32): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(inflight, keys.length) }, async (_, w) => {
      while (next < keys.length) {
        const key = keys[next++] ?? '';
        await conn.put(w, key, value);
      }
    }),
  );
}

function versionOf(system: SystemName, etcdBinary: string | undefined, serverMain: string | undefined): string {
  try {
    if (system === 'etcd') {
      const out = execFileSync(etcdBinary ?? 'etcd', ['--version'], { encoding: 'utf8' });
      return /etcd Version: (\S+)/.exec(out)?.[1] ?? out.split('\n')[0] ?? 'unknown';
    }
    const git = `git ${execFileSync('git', ['-C', repoRoot, 'describe', '--always', '--dirty'], { encoding: 'utf8' }).trim()}`;
    // Another build's server (--server): this checkout's commit says nothing about it.
    return serverMain === undefined ? git : `server ${resolve(serverMain)} (bench at ${git})`;
  } catch {
    return 'unknown';
  }
}

export async function runBench(opts: BenchOptions, io: BenchIo): Promise<BenchReport> {
  keepTempDirs(opts.keep);
  const say = (line: string): void => io.progress.say(line);
  const clusters = new Map<SystemName, Cluster>();
  let etcdBinary: string | undefined;
  const profileDir = opts.profile ? resolve('.bench', 'profiles', new Date().toISOString().replace(/[:.]/g, '-')) : undefined;
  const report: BenchReport = {
    date: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memGB: Math.round(totalmem() / 2 ** 30),
      kernel: release(),
      node: process.version,
    },
    loadAverage: { start: loadavg()[0] ?? 0, end: 0 },
    command: io.command,
    settings: {
      durationMs: opts.durationMs,
      countPerRun: opts.countPerRun,
      warmupMs: opts.warmupMs,
      valueBytes: opts.valueBytes,
      keys: opts.keys === 'hot' ? `hot (${opts.hotKeys})` : 'unique',
      inflightPerChannel: opts.inflightPerChannel,
      to: opts.to,
      client: opts.client,
      rounds: opts.rounds,
      api: opts.api,
    },
    versions: {},
    runs: [],
  };

  try {
    // Clusters first, all up before any load, so both run side by side under the same conditions.
    for (const system of opts.systems) {
      const given = opts.endpoints[system];
      if (given !== undefined) {
        clusters.set(system, externalCluster(system, given));
        continue;
      }
      if (system === 'etcd') {
        etcdBinary = ensureEtcd(opts.etcdBinary, say);
        say(`bench: starting a 3-member etcd cluster (${etcdBinary})`);
        clusters.set(system, await startEtcdCluster({ binary: etcdBinary }));
      } else {
        say('bench: starting a 3-node raftkv cluster' + (profileDir ? ` with --cpu-prof into ${profileDir}` : ''));
        if (profileDir) mkdirSync(profileDir, { recursive: true });
        clusters.set(
          system,
          await startRaftkvCluster({
            serverMain: opts.serverMain,
            cpuProfileDir: profileDir,
            extraArgs: opts.serverArgs,
            // Kept logs are for finding out what happened (an election in a run): state transitions are at info.
            logLevel: opts.keep ? 'info' : 'warn',
          }),
        );
      }
    }
    for (const system of opts.systems) report.versions[system] = versionOf(system, etcdBinary ?? opts.etcdBinary, opts.serverMain);

    const preloaded = new Set<SystemName>();
    const rangeLoaded = new Set<SystemName>();
    // Measured windows of raftkv runs on the monotonic clock V8 stamps profile samples with.
    const raftkvWindows: [number, number][] = [];
    const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);
    const raftkvLeaders: string[] = []; // leader endpoint at the start of each raftkv run
    for (let round = 0; round < opts.rounds; round++) {
      // Alternate which system goes first, so neither always runs on a machine the other just warmed.
      const order = round % 2 === 0 ? opts.systems : [...opts.systems].reverse();
      for (const [wi, workload] of opts.workloads.entries()) {
        for (const inflight of opts.levels) {
          for (const system of order) {
            const cluster = clusters.get(system);
            if (cluster === undefined) continue;
            const api = apiOf(system, opts);
            const roundTag = opts.rounds > 1 ? ` round ${round + 1}/${opts.rounds}` : '';
            const label = `[${system}${api !== system ? ` via ${api} API` : ''} ${workload.name} ${inflight} in flight${roundTag}]`;
            const finder = LEADERS[system];
            const leader = await finder.findLeader(cluster.endpoints, 2000);
            if (leader === undefined && opts.to === 'leader') say(`bench: ${system}: no leader found; spreading over all members`);
            const endpoints = opts.to === 'leader' && leader !== undefined ? [leader] : cluster.endpoints;
            const channels = channelsFor(inflight, opts.inflightPerChannel);
            const conn = APIS[api].connect(opts.client, endpoints, channels, opts.opTimeoutMs);
            try {
              const keys: KeySpace = {
                runPrefix: `bench/r${round}-w${wi}-c${inflight}/`,
                mode: opts.keys,
                hotPrefix: 'bench/hot/',
                hotKeys: opts.hotKeys,
                preloadPrefix: 'bench/pre/',
                preloaded: opts.keys === 'unique' ? opts.preloadKeys : 0,
                rangePrefix: 'bench/range/',
                rangeKeys: opts.rangeKeys,
              };
              const load = async (what: string, ks: string[]): Promise<void> => {
                io.progress.say(`${label} preloading ${what}`);
                await putAll(conn, ks, Buffer.alloc(opts.valueBytes, 0x62), Math.min(32, channels * 16));
              };
              if (needsPreload(workload, opts) && !preloaded.has(system)) {
                const pre = Array.from({ length: opts.preloadKeys }, (_, i) => `${keys.preloadPrefix}${i}`);
                const hot = Array.from({ length: opts.hotKeys }, (_, i) => `${keys.hotPrefix}${i}`);
                await load(`${opts.preloadKeys} + ${opts.hotKeys} keys`, [...pre, ...hot]);
                preloaded.add(system);
              }
              if (workload.mix.range > 0 && !rangeLoaded.has(system)) {
                await load(
                  `${opts.rangeKeys} keys under ${keys.rangePrefix}`,
                  Array.from({ length: opts.rangeKeys }, (_, i) => `${keys.rangePrefix}${i}`),
                );
                rangeLoaded.add(system);
              }
              const spec = {
                system,
                api,
                round,
                workload,
                inflight,
                channels,
                keys,
                pids: cluster.processes.map((p) => p.pid),
                leaderBefore: leader,
              };
              const rec = await measureRun(conn, spec, opts, {
                onWindowStart: () => {
                  if (system === 'raftkv') raftkvWindows.push([nowUs(), Infinity]);
                },
                onWindowEnd: () => {
                  const w = raftkvWindows.at(-1);
                  if (system === 'raftkv' && w !== undefined) w[1] = nowUs();
                },
                onProgress: (p) => io.progress.update(label, p),
              });
              rec.leaderAfter = await finder.findLeader(cluster.endpoints, 2000);
              if (system === 'raftkv' && leader !== undefined) raftkvLeaders.push(leader);
              report.runs.push(rec);
              io.progress.done(
                label,
                `${Math.round(rec.opsPerSec)} ops/s p50 ${rec.latencyMs.p50.toFixed(2)} ms p99 ${rec.latencyMs.p99.toFixed(2)} ms` +
                  (rec.errors > 0 ? ` ${rec.errors} errors` : '') +
                  (rec.leaderAfter !== leader ? ` (leader changed: ${leader ?? 'none'} -> ${rec.leaderAfter ?? 'none'})` : ''),
              );
            } finally {
              conn.close();
            }
          }
        }
      }
    }

    if (profileDir) {
      const raftkv = clusters.get('raftkv') as RaftkvCluster | undefined;
      if (raftkv !== undefined) {
        // The node that led most runs; its profile shows the leader's work (a follower's is lighter).
        const counts = new Map<string, number>();
        for (const e of raftkvLeaders) counts.set(e, (counts.get(e) ?? 0) + 1);
        const leaderEndpoint = [...counts.entries()].sort((x, y) => y[1] - x[1])[0]?.[0];
        const leaderId = leaderEndpoint === undefined ? undefined : raftkv.ids[raftkv.endpoints.indexOf(leaderEndpoint)];
        say('bench: stopping raftkv so the nodes write their CPU profiles');
        await raftkv.stop();
        if (leaderId === undefined) say('bench: no raftkv leader was found during the runs; no profile summary');
        else {
          if (counts.size > 1) say(`bench: leadership moved during the runs; summarising ${leaderId}, leader of most runs`);
          try {
            report.profile = summarizeProfileFile(join(profileDir, `${leaderId}.cpuprofile`), 10, raftkvWindows);
          } catch (err) {
            say(`bench: could not read the leader's profile: ${err instanceof Error ? err.message : String(err)}`);
          }
        }
      }
    }
  } finally {
    report.loadAverage.end = loadavg()[0] ?? 0;
    await Promise.all([...clusters.values()].map((c) => c.stop()));
  }
  return report;
}
