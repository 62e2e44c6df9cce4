// Lease keep-alive, raftkv and etcd 3.4 side by side: `--leases` leases kept alive over `--streams`
// LeaseKeepAlive streams, half on a follower and half on the leader, for `--seconds`. Each lease has
// one renewal outstanding at a time and is renewed again as soon as it is answered (closed loop).
// Reports renewals per second, latency p50/p99/max by path (follower, leader), leases found expired
// (a renewal answered TTL <= 0: must be 0) and the elections seen (raft terms in the answers' headers
// beyond the first: must be 0).
// Usage: node dist/lease-keepalive.js [--leases 1000] [--streams 10] [--seconds 10] [--ttl 30] [--systems raftkv,etcd] [--server FILE] [--profile DIR]
import { parseArgs } from 'node:util';
import type { Cluster } from './cluster.js';
import { etcdLeader } from './etcd-client.js';
import { Histogram } from './histogram.js';
import { grantLeases, type KeepAliveAnswer, LeaseWire } from './lease-wire.js';
import { eachSystem, runMain } from './side-by-side.js';

const { values: o } = parseArgs({
  options: {
    leases: { type: 'string', default: '1000' },
    streams: { type: 'string', default: '10' },
    seconds: { type: 'string', default: '10' },
    ttl: { type: 'string', default: '30' },
    systems: { type: 'string', default: 'raftkv,etcd' },
    /** raftkv's entry point (another build, to compare two versions). */
    server: { type: 'string' },
    /** Write each raftkv node's CPU profile to this directory. */
    profile: { type: 'string' },
  },
});
const LEASES = Number(o.leases);
const STREAMS = Number(o.streams);
const SECONDS = Number(o.seconds);
const TTL = Number(o.ttl);

const FIRST_ID = 1_000_000;

type Path = 'follower' | 'leader';

interface Result {
  readonly system: string;
  readonly renewals: Record<Path, number>;
  readonly hist: Record<Path, Histogram>;
  readonly seconds: number;
  readonly expired: number;
  readonly elections: number;
  /** Renewals sent but never answered (a stream broke). */
  readonly unanswered: number;
}

async function run(cluster: Cluster): Promise<Result> {
  const leader = await etcdLeader.findLeader(cluster.endpoints, 10_000);
  if (leader === undefined) throw new Error(`${cluster.system}: no leader`);
  const follower = cluster.endpoints.find((e) => e !== leader)!;
  const ids = await grantLeases(leader, FIRST_ID, LEASES, TTL);
  const renewals: Record<Path, number> = { follower: 0, leader: 0 };
  const hist: Record<Path, Histogram> = { follower: new Histogram(), leader: new Histogram() };
  let expired = 0;
  let minTerm = Number.POSITIVE_INFINITY;
  let maxTerm = 0;
  let outstanding = 0;
  let stopping = false;
  const clients: LeaseWire[] = [];
  const streams: ReturnType<LeaseWire['keepAlive']>[] = [];
  const t0 = process.hrtime.bigint();
  for (let s = 0; s < STREAMS; s++) {
    const path: Path = s % 2 === 0 ? 'follower' : 'leader';
    const c = new LeaseWire(path === 'follower' ? follower : leader);
    clients.push(c);
    const st = c.keepAlive();
    streams.push(st);
    const sentAt = new Map<number, bigint>();
    const send = (id: number): void => {
      sentAt.set(id, process.hrtime.bigint());
      outstanding++;
      st.write({ ID: id });
    };
    st.on('data', (r: KeepAliveAnswer) => {
      const at = sentAt.get(r.id);
      if (at === undefined) return;
      sentAt.delete(r.id);
      outstanding--;
      renewals[path]++;
      hist[path].record(Number(process.hrtime.bigint() - at));
      if (r.ttl <= 0) expired++;
      minTerm = Math.min(minTerm, r.term);
      maxTerm = Math.max(maxTerm, r.term);
      if (!stopping && r.ttl > 0) send(r.id);
    });
    st.on('error', () => undefined); // counted as unanswered
    for (let i = s; i < ids.length; i += STREAMS) send(ids[i]!);
  }
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  stopping = true;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const until = Date.now() + 10_000;
  while (outstanding > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  for (const st of streams) st.cancel();
  for (const c of clients) c.close();
  const elections = maxTerm === 0 ? 0 : maxTerm - minTerm;
  return { system: cluster.system, renewals, hist, seconds, expired, elections, unanswered: outstanding };
}

const ms = (ns: number): string => (ns / 1e6).toFixed(1);

async function main(): Promise<void> {
  const results = await eachSystem(o, run);
  console.log(`lease keep-alive: ${LEASES} leases (TTL ${TTL}s) over ${STREAMS} streams (half via a follower), ${SECONDS}s`);
  console.log('system   path       renewals  renewals/s   p50 ms   p99 ms   max ms   expired  elections  unanswered');
  for (const r of results) {
    for (const path of ['follower', 'leader'] as const) {
      const h = r.hist[path];
      const row = [
        r.system.padEnd(8),
        path.padEnd(8),
        String(r.renewals[path]).padStart(10),
        Math.round(r.renewals[path] / r.seconds)
          .toString()
          .padStart(11),
        ms(h.quantile(0.5)).padStart(8),
        ms(h.quantile(0.99)).padStart(8),
        ms(h.max).padStart(8),
        String(r.expired).padStart(9),
        String(r.elections).padStart(10),
        String(r.unanswered).padStart(11),
      ];
      console.log(row.join(' '));
    }
  }
}

runMain(main);
