// Watch fan-out, raftkv and etcd 3.4 side by side: `--watchers` watchers on one prefix, spread over
// `--streams` Watch streams on every member in turn (followers included), while one writer puts
// `--writes` keys under the prefix with `--inflight` puts outstanding. Each value carries the time
// its put was sent; each delivered event's latency is its arrival minus that time (put latency
// included, as a client sees it). Reports delivery latency p50/p99/max and events delivered per
// second, and checks that every watcher got every event exactly once, in revision order.
// Usage: node dist/watch-fanout.js [--watchers 1000] [--streams 10] [--writes 2000] [--inflight 8] [--systems raftkv,etcd] [--server FILE] [--profile DIR]
import { parseArgs } from 'node:util';
import { RaftkvClient } from '@raftkv/client';
import type { Cluster } from './cluster.js';
import { Histogram } from './histogram.js';
import { eachSystem, runMain } from './side-by-side.js';
import { openWatchStreams } from './watch-streams.js';

const { values: o } = parseArgs({
  options: {
    watchers: { type: 'string', default: '1000' },
    streams: { type: 'string', default: '10' },
    writes: { type: 'string', default: '2000' },
    inflight: { type: 'string', default: '8' },
    systems: { type: 'string', default: 'raftkv,etcd' },
    /** raftkv's entry point (another build, to compare two versions). */
    server: { type: 'string' },
    /** Write each raftkv node's CPU profile to this directory. */
    profile: { type: 'string' },
  },
});
const WATCHERS = Number(o.watchers);
const STREAMS = Number(o.streams);
const WRITES = Number(o.writes);
const INFLIGHT = Number(o.inflight);
const PREFIX = Buffer.from('fan/');
const PREFIX_END = Buffer.from('fan0'); // '/' + 1

interface Result {
  readonly system: string;
  readonly events: number;
  readonly seconds: number;
  readonly hist: Histogram;
  readonly problems: number;
  /** Puts that failed (counted again from the store). */
  readonly failed: number;
}

async function run(cluster: Cluster): Promise<Result> {
  const client = new RaftkvClient({ endpoints: cluster.endpoints, timeoutMs: 30_000 });
  const hist = new Histogram();
  const lastRev = new Array<number>(WATCHERS).fill(0);
  const count = new Array<number>(WATCHERS).fill(0);
  let problems = 0;
  let delivered = 0;
  const { calls, created } = openWatchStreams(client, cluster.endpoints, WATCHERS, STREAMS, PREFIX, (w, r) => {
    const now = process.hrtime.bigint();
    for (const e of r.events) {
      const rev = e.kv!.modRevision;
      if (rev <= lastRev[w]!) problems++; // out of order or twice
      lastRev[w] = rev;
      count[w]!++;
      delivered++;
      hist.record(Number(now - BigInt(e.kv!.value.toString())));
    }
  });
  await created;
  const t0 = process.hrtime.bigint();
  let next = 0;
  let failed = 0;
  const writer = async (): Promise<void> => {
    while (next < WRITES) {
      const i = next++;
      try {
        await client.etcd.put({ key: Buffer.from(`fan/${i % 100}`), value: Buffer.from(process.hrtime.bigint().toString()) });
      } catch {
        failed++; // may or may not have been applied: the watchers' counts are checked against the store below
      }
    }
  };
  await Promise.all(Array.from({ length: INFLIGHT }, writer));
  // Failed puts may have been applied: what every watcher must see is what the store holds.
  const written = failed === 0 ? WRITES : await writesInStore(client);
  const want = WATCHERS * written;
  const until = Date.now() + 120_000;
  while (delivered < want && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  problems += count.filter((c) => c !== written).length;
  for (const c of calls) c.cancel();
  client.close();
  return { system: cluster.system, events: delivered, seconds, hist, problems, failed };
}

/** How many puts under the prefix the store holds (the sum of the keys' versions: none is deleted). */
async function writesInStore(client: RaftkvClient): Promise<number> {
  const r = await client.etcd.range({ key: PREFIX, rangeEnd: PREFIX_END });
  return r.kvs.reduce((n, kv) => n + kv.version, 0);
}

const ms = (ns: number): string => (ns / 1e6).toFixed(1);

async function main(): Promise<void> {
  const results = await eachSystem(o, run);
  console.log(`watch fan-out: ${WATCHERS} watchers on one prefix over ${STREAMS} streams, ${WRITES} puts, ${INFLIGHT} in flight`);
  console.log('system   events    seconds  events/s   p50 ms   p99 ms   max ms   problems  failed puts');
  for (const r of results) {
    const row = [
      r.system.padEnd(8),
      String(r.events).padStart(8),
      r.seconds.toFixed(2).padStart(9),
      Math.round(r.events / r.seconds)
        .toString()
        .padStart(9),
      ms(r.hist.quantile(0.5)).padStart(8),
      ms(r.hist.quantile(0.99)).padStart(8),
      ms(r.hist.max).padStart(8),
      String(r.problems).padStart(10),
      String(r.failed).padStart(12),
    ];
    console.log(row.join(' '));
  }
}

runMain(main);
