#!/usr/bin/env node
// scripts/soak: sustained writes at full rate against a local 3-node raftkv cluster, sampling every
// node's RSS, external (off-V8-heap) memory, data dir and SQLite WAL size, to show memory and disk stay
// flat after warm-up (issue 15's follower leak). Prints one row per sample and a start/middle/end table.
// Beside the writes, etcd watch and lease traffic (soak-traffic.ts), its counters on each row and in the summary.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePorts } from '@raftkv/testkit';
import { runLoad } from './generator.js';
import { rssBytes } from './proc.js';
import { raftkvApi, raftkvStatus } from './raftkv-client.js';
import { startRaftkvCluster } from './raftkv-cluster.js';
import { etcdApi } from './etcd-client.js';
import { startSoakTraffic, type SoakTraffic } from './soak-traffic.js';

const USAGE = `usage: scripts/soak [--minutes 30] [--inflight 64] [--keys 10000] [--value-bytes 128] [--sample-s 10]
                    [--watchers 100] [--leases 100]
                    [--api raftkv|etcd] [--server DIST/main.js] [--extra "--flag value ..."]
  --watchers N  etcd watchers on soak/, 10 to a stream, streams on every node in turn (0: none)
  --leases N    leases (TTL 10 s) kept alive every 3 s, 10 puts/s attached to them (0: none)`;

interface Sample {
  readonly atS: number;
  readonly writes: number;
  readonly nodes: readonly { rss: number; external: number; dataDir: number; wal: number }[];
}

function dirBytes(dir: string): number {
  let sum = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    sum += e.isDirectory() ? dirBytes(p) : (statSync(p, { throwIfNoEntry: false })?.size ?? 0);
  }
  return sum;
}

async function externalBytes(metricsPort: number): Promise<number> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const m = /^nodejs_external_memory_bytes(?:\{[^}]*\})?\s+(\S+)/m.exec(text);
    return m ? Number(m[1]) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** The highest term any node reports (0 when none answers). */
async function highestTerm(endpoints: readonly string[]): Promise<number> {
  const st = await Promise.allSettled(endpoints.map((e) => raftkvStatus(e, 2000)));
  return Math.max(0, ...st.flatMap((s) => (s.status === 'fulfilled' ? [s.value.term] : [])));
}

const mib = (b: number): string => (Number.isNaN(b) ? '?' : (b / (1 << 20)).toFixed(1));

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '30' },
      inflight: { type: 'string', default: '64' },
      keys: { type: 'string', default: '10000' },
      'value-bytes': { type: 'string', default: '128' },
      'sample-s': { type: 'string', default: '10' },
      watchers: { type: 'string', default: '100' },
      leases: { type: 'string', default: '100' },
      api: { type: 'string', default: 'raftkv' },
      server: { type: 'string' },
      extra: { type: 'string', default: '' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const durationMs = Number(values.minutes) * 60_000;
  const inflight = Number(values.inflight);
  const sampleMs = Number(values['sample-s']) * 1000;
  const watchers = Number(values.watchers);
  const leases = Number(values.leases);
  if (!Number.isInteger(watchers) || watchers < 0 || !Number.isInteger(leases) || leases < 0) {
    process.stderr.write(`soak: --watchers and --leases take a whole number >= 0\n${USAGE}\n`);
    return 2;
  }
  const metricsPorts = await freePorts(3);
  const cluster = await startRaftkvCluster({
    serverMain: values.server,
    extraArgs: values.extra.split(' ').filter((a) => a !== ''),
    nodeArgs: (_id, i) => ['--metrics-listen', `127.0.0.1:${metricsPorts[i]}`],
  });
  let traffic: SoakTraffic | undefined;
  const samples: Sample[] = [];
  let writes = 0;
  const t0 = Date.now();
  const sample = async (): Promise<void> => {
    const nodes = await Promise.all(
      cluster.ids.map(async (id, i) => {
        const dir = join(cluster.dataDir, id);
        return {
          rss: rssBytes(cluster.processes[i]!.pid) ?? Number.NaN,
          external: await externalBytes(metricsPorts[i]!),
          dataDir: dirBytes(dir),
          wal: statSync(join(dir, 'raftkv.db-wal'), { throwIfNoEntry: false })?.size ?? 0,
        };
      }),
    );
    const s: Sample = { atS: Math.round((Date.now() - t0) / 1000), writes, nodes };
    samples.push(s);
    const extra = traffic?.sampleLine() ?? '';
    process.stderr.write(
      `${s.atS}s writes=${s.writes} ` +
        s.nodes
          .map((n, i) => `${cluster.ids[i]}: rss=${mib(n.rss)} ext=${mib(n.external)} dir=${mib(n.dataDir)} wal=${mib(n.wal)}`)
          .join(' | ') +
        (extra === '' ? '' : ` | ${extra}`) +
        '\n',
    );
  };
  const api = values.api === 'etcd' ? etcdApi : raftkvApi;
  const conn = api.connect('grpc-js', cluster.endpoints, Math.max(1, Math.ceil(inflight / 16)), 5000);
  try {
    traffic = await startSoakTraffic({ endpoints: cluster.endpoints, watchers, leases, sampleMs });
    const termAtStart = await highestTerm(cluster.endpoints);
    await sample();
    const timer = setInterval(() => void sample(), sampleMs);
    const result = await runLoad(
      conn,
      {
        inflight,
        perChannel: 16,
        mix: { put: 1, read: 0, stale: 0, cas: 0, range: 0, txn: 0 },
        valueBytes: Number(values['value-bytes']),
        keys: {
          runPrefix: 'soak/u/',
          mode: 'hot',
          hotPrefix: 'soak/',
          hotKeys: Number(values.keys),
          preloadPrefix: '',
          preloaded: 0,
          rangePrefix: '',
          rangeKeys: 0,
        },
        warmupMs: 0,
        durationMs,
        count: undefined,
        opTimeoutMs: 5000,
      },
      { onProgress: (p) => (writes = p.ops) },
    );
    clearInterval(timer);
    writes = result.ops;
    await sample();
    const picks = [samples[0]!, samples[Math.floor(samples.length / 2)]!, samples.at(-1)!];
    const rows = ['sample   t(s)   writes     ' + cluster.ids.map((id) => `${id} rss/ext/dir/wal MiB`.padEnd(30)).join('')];
    for (const [name, s] of [
      ['start', picks[0]!],
      ['middle', picks[1]!],
      ['end', picks[2]!],
    ] as const) {
      rows.push(
        `${name.padEnd(8)} ${String(s.atS).padStart(5)} ${String(s.writes).padStart(9)}    ` +
          s.nodes.map((n) => `${mib(n.rss)}/${mib(n.external)}/${mib(n.dataDir)}/${mib(n.wal)}`.padEnd(30)).join(''),
      );
    }
    const errs = Object.entries(result.errorsByCode)
      .map(([c, n]) => `${c}=${n}`)
      .join(' ');
    rows.push(
      `${result.ops} writes in ${(result.elapsedMs / 1000).toFixed(0)} s (${Math.round(result.ops / (result.elapsedMs / 1000))}/s); errors ${result.errors} ${errs}`,
    );
    rows.push(...(await traffic.finish()));
    // Elections under the load: each one fails what was in flight on the old leader.
    rows.push(`raft term ${termAtStart} at the start, ${await highestTerm(cluster.endpoints)} at the end`);
    process.stdout.write(`${rows.join('\n')}\n`);
    return 0;
  } finally {
    traffic?.close();
    conn.close();
    await cluster.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`soak: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
