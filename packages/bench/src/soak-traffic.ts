// The soak's watch and lease traffic, beside its writes (the issue asks for a soak "of writes at full
// rate (and of watch/lease traffic)"): etcd watchers on the soak's prefix, a few to a stream, on every
// endpoint in turn (followers serve watches too), each counting its events; leases kept alive over
// keep-alive streams on every endpoint, and a trickle of puts attached to them so lease attachments
// are exercised. A watch sees the soak's raftkv.v1 puts too: both APIs write the same MVCC store.
import { RaftkvClient } from '@raftkv/client';
import { etcdLeader } from './etcd-client.js';
import { grantLeases, LeaseWire, type KeepAliveAnswer } from './lease-wire.js';
import { openWatchStreams, type WatchCall } from './watch-streams.js';

export interface TrafficOptions {
  readonly endpoints: readonly string[];
  readonly watchers: number;
  readonly leases: number;
  /** A watcher that got no event within this long is stalled (the soak's sample interval). */
  readonly sampleMs: number;
}

export interface SoakTraffic {
  /** The counters so far, briefly, for a sample line ('' with neither watchers nor leases). */
  sampleLine(): string;
  /** Checks a sample of leases with LeaseTimeToLive, stops everything and returns the summary lines. */
  finish(): Promise<string[]>;
  /** Stops everything (idempotent): the error path's cleanup. */
  close(): void;
}

const PREFIX = 'soak/';
const WATCHERS_PER_STREAM = 10;
const LEASE_TTL_S = 10;
/** A third of the TTL: two refreshes can be lost before a lease expires. */
const KEEPALIVE_EVERY_MS = 3000;
const LEASE_PUTS_PER_S = 10;
/** Lease ids chosen here (below 2^53, see grantLeases), clear of the lease benchmark's. */
const FIRST_LEASE_ID = 2_000_000;
const TTL_CHECKS = 5;

const rate = (n: number, ms: number): number => Math.round(n / Math.max(ms / 1000, 1e-3));

export async function startSoakTraffic(o: TrafficOptions): Promise<SoakTraffic> {
  const client = new RaftkvClient({ endpoints: [...o.endpoints], timeoutMs: 5000 });
  const watchCalls: WatchCall[] = [];
  const wires: LeaseWire[] = [];
  const kaStreams: ReturnType<LeaseWire['keepAlive']>[] = [];
  const timers: NodeJS.Timeout[] = [];
  let stopping = false;
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    stopping = true;
    for (const t of timers) clearInterval(t);
    for (const c of watchCalls) c.cancel();
    for (const s of kaStreams) s.cancel();
    for (const w of wires) w.close();
    client.close();
  };

  // Watchers: events counted, and the time of each one's last event (a stall shows as an old one).
  let events = 0;
  let canceled = 0;
  let watchErrors = 0;
  const lastEventAt = new Array<number>(o.watchers).fill(Date.now());
  const watchT0 = Date.now();
  // Leases: keep-alives sent and answered, answers saying the lease is gone, puts attached to leases.
  let kaSent = 0;
  let kaAnswered = 0;
  let kaGone = 0;
  let kaErrors = 0;
  let leasePuts = 0;
  let leasePutsFailed = 0;
  let putting: Promise<void> = Promise.resolve();
  let ids: number[] = [];
  try {
    if (o.watchers > 0) {
      const streams = Math.ceil(o.watchers / WATCHERS_PER_STREAM);
      const w = openWatchStreams(client, o.endpoints, o.watchers, streams, Buffer.from(PREFIX), (i, r) => {
        if (r.canceled) canceled++;
        if (r.events.length === 0) return;
        events += r.events.length;
        lastEventAt[i] = Date.now();
      });
      watchCalls.push(...w.calls);
      // A stream that breaks after creation leaves its watchers stalled: counted, reported, not fatal.
      for (const c of w.calls) {
        c.on('error', () => {
          if (!stopping) watchErrors++;
        });
      }
      await w.created;
    }
    if (o.leases > 0) {
      const leader = await etcdLeader.findLeader(o.endpoints, 10_000);
      if (leader === undefined) throw new Error('soak: no leader to grant leases on');
      ids = await grantLeases(leader, FIRST_LEASE_ID, o.leases, LEASE_TTL_S);
      // One keep-alive stream per endpoint: followers forward theirs, so both paths are exercised. A
      // stream that breaks (its node lost the leadership, as etcd's do) is opened again, as etcd's
      // clientv3 does; keep-alives sent on a broken stream are not counted as sent.
      type Group = { wire: LeaseWire; st: ReturnType<LeaseWire['keepAlive']> | null; ids: number[] };
      const open = (g: Group): void => {
        const st = g.wire.keepAlive();
        kaStreams.push(st);
        st.on('data', (r: KeepAliveAnswer) => {
          kaAnswered++;
          if (r.ttl <= 0) kaGone++;
        });
        st.on('error', () => {
          if (stopping || g.st !== st) return;
          kaErrors++;
          g.st = null;
          timers.push(setTimeout(() => stopping || open(g), 100));
        });
        g.st = st;
      };
      const groups = o.endpoints.slice(0, ids.length).map((endpoint, s): Group => {
        const wire = new LeaseWire(endpoint);
        wires.push(wire);
        const g: Group = { wire, st: null, ids: ids.filter((_, i) => i % o.endpoints.length === s) };
        open(g);
        return g;
      });
      timers.push(
        setInterval(() => {
          for (const g of groups) {
            if (g.st === null) continue;
            for (const id of g.ids) {
              g.st.write({ ID: id });
              kaSent++;
            }
          }
        }, KEEPALIVE_EVERY_MS),
      );
      let next = 0;
      const putBatch = async (): Promise<void> => {
        const batch = Array.from({ length: LEASE_PUTS_PER_S }, () => next++ % ids.length);
        const results = await Promise.allSettled(
          batch.map((i) =>
            client.etcd.put({ key: Buffer.from(`${PREFIX}lease/${i}`), value: Buffer.from(String(Date.now())), lease: ids[i]! }),
          ),
        );
        for (const r of results) {
          if (r.status === 'fulfilled') leasePuts++;
          else leasePutsFailed++;
        }
      };
      // Skipped while the last batch is still out: a backlog would turn a slow cluster into more load.
      let busy = false;
      timers.push(
        setInterval(() => {
          if (busy || stopping) return;
          busy = true;
          putting = putBatch().finally(() => (busy = false));
        }, 1000),
      );
    }
  } catch (e) {
    close();
    throw e;
  }

  const stalled = (): number => lastEventAt.filter((t) => t < Date.now() - o.sampleMs).length;
  const watchLine = (): string =>
    `watch: ${o.watchers} watchers on ${PREFIX} over ${watchCalls.length} streams: ${events} events in ` +
    `${((Date.now() - watchT0) / 1000).toFixed(0)} s (${rate(events, Date.now() - watchT0)}/s); ` +
    `stalled (no event in the last ${o.sampleMs / 1000} s): ${stalled()}; canceled: ${canceled}; stream errors: ${watchErrors}`;

  /** LeaseTimeToLive on a few leases spread over the ids: each must still have TTL > 0. */
  const checkTtls = async (): Promise<string> => {
    const sample = Array.from({ length: Math.min(TTL_CHECKS, ids.length) }, (_, k) => ids[Math.floor((k * ids.length) / TTL_CHECKS)]!);
    const ttls = await Promise.allSettled(sample.map((id) => client.lease.timeToLive(id, false)));
    const ok = ttls.flatMap((t) => (t.status === 'fulfilled' ? [t.value.TTL] : []));
    const failed = ttls.flatMap((t) => (t.status === 'rejected' ? [(t.reason as Error).message] : []));
    const expired = ok.filter((t) => t <= 0).length;
    const range = ok.length > 0 ? `TTL ${Math.min(...ok)}..${Math.max(...ok)} s` : 'no answer';
    return (
      `LeaseTimeToLive on ${sample.length}: ${range}, expired ${expired}` +
      (failed.length > 0 ? `, ${failed.length} failed (${failed[0]})` : '')
    );
  };

  return {
    sampleLine() {
      const parts: string[] = [];
      if (o.watchers > 0) parts.push(`watch ev=${events} stalled=${stalled()}`);
      if (o.leases > 0) parts.push(`lease ka=${kaAnswered}/${kaSent} gone=${kaGone} puts=${leasePuts}`);
      return parts.join(' ');
    },
    async finish() {
      const lines: string[] = [];
      if (o.watchers > 0) lines.push(watchLine());
      if (o.leases > 0) {
        const ttl = await checkTtls();
        stopping = true;
        for (const t of timers) clearInterval(t);
        await putting;
        // The last round's answers are let in before the streams are cancelled (at most 2 s).
        const until = Date.now() + 2000;
        while (kaAnswered < kaSent && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
        lines.push(
          `lease: ${ids.length} leases (TTL ${LEASE_TTL_S} s) over ${o.endpoints.length} keep-alive streams (opened ${kaStreams.length} times): keep-alives sent ${kaSent}, ` +
            `answered ${kaAnswered}, TTL<=0 ${kaGone}, stream errors ${kaErrors}; lease puts ${leasePuts} (failed ${leasePutsFailed}); ${ttl}`,
        );
      }
      close();
      return lines;
    },
    close,
  };
}
