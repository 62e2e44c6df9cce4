// raftctl's `elect <name> [proposal]` and `elect -l <name>`: etcdctl 3.4's elect (ctlv3 elect_command.go)
// on clientv3/concurrency's Election, run in this client on the etcd API. Campaigning is lock.ts's
// acquire with the proposal as the key's value: once elected it prints the key as `get` would, holds
// it until SIGINT or SIGTERM, then resigns. Observing prints the leader's key and value, then every
// new value the leader proclaims, then the next leader when that key goes, until a signal.
import { prefixEnd, type RaftkvClient } from '@raftkv/client';
import { etcdserverpb, mvccpb } from '@raftkv/proto';
import { acquire, type Session, withSession } from './lock.js';
import { EXIT, EtcdctlError } from './ops.js';
import type { Write } from './printers.js';

export const ELECT_FLAGS = { listen: { type: 'boolean', short: 'l' } } as const;

export interface ElectFlags {
  readonly listen?: boolean | undefined;
}

/** clientv3/concurrency's session TTL. */
const SESSION_TTL = 60;

/** etcdctl's simple `get` output of one pair. */
const show = (out: Write, kv: mvccpb.KeyValue): void => out(`${kv.key.toString()}\n${kv.value.toString()}\n`);

/** Resolves at SIGINT or SIGTERM. */
const signalled = (): Promise<void> =>
  new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });

/** Runs `elect`; resolves with the exit code etcdctl would give. */
export async function runElect(args: readonly string[], f: ElectFlags, client: RaftkvClient, out: Write): Promise<number> {
  if (args.length !== 1 && args.length !== 2) {
    throw new EtcdctlError(EXIT.badArgs, 'elect takes one election name argument and an optional proposal argument');
  }
  if (args.length === 1 && f.listen !== true) throw new EtcdctlError(EXIT.badArgs, 'no proposal argument but -l not set');
  if (args.length === 2 && f.listen === true) throw new EtcdctlError(EXIT.badArgs, 'proposal given but -l is set');
  const stop = signalled();
  return withSession(client, SESSION_TTL, async (session) => {
    if (args.length === 1) await observe(client, args[0]!, stop, out);
    else await campaign(client, session, args[0]!, args[1]!, stop, out);
    return 0;
  });
}

async function campaign(client: RaftkvClient, s: Session, name: string, proposal: string, stop: Promise<void>, out: Write): Promise<void> {
  const elected = acquire(client, name, s.id, Buffer.from(proposal));
  const first = await Promise.race([elected, stop.then(() => null)]);
  if (first === null) {
    // Campaign's context was cancelled while it waited: it resigns (its key, named for its lease) and fails.
    await client.etcd.deleteRange({ key: Buffer.from(`${name}/${s.id.toString(16)}`) });
    throw new EtcdctlError(EXIT.error, 'context canceled');
  }
  const held = await client.etcd.range({ key: first.key });
  for (const kv of held.kvs) show(out, kv);
  const why = await Promise.race([stop.then(() => 'signal' as const), s.done.then(() => 'expired' as const)]);
  if (why === 'expired') throw new EtcdctlError(EXIT.error, 'elect: session expired');
  await resign(client, first.key, first.rev);
}

/** Election.Resign: deletes the key if it is still the one this campaign created. */
async function resign(client: RaftkvClient, key: Buffer, rev: number): Promise<void> {
  await client.etcd.txn({
    compare: [
      {
        key,
        target: etcdserverpb.Compare_CompareTarget.CREATE,
        result: etcdserverpb.Compare_CompareResult.EQUAL,
        targetUnion: { $case: 'createRevision', createRevision: rev },
      },
    ],
    success: [{ request: { $case: 'requestDeleteRange', requestDeleteRange: etcdserverpb.DeleteRangeRequest.fromPartial({ key }) } }],
    failure: [],
  });
}

/** Election.Observe: the leader (the oldest key under <name>/), its new values, the next leader, ... */
async function observe(client: RaftkvClient, name: string, stop: Promise<void>, out: Write): Promise<void> {
  const pfx = Buffer.from(`${name}/`);
  let stopped = false;
  void stop.then(() => (stopped = true));
  const watches = new Set<Watch>();
  void stop.then(() => {
    for (const w of watches) w.close();
  });
  const watch = (key: Buffer, rangeEnd: Buffer, from: number, onEvent: (e: mvccpb.Event) => boolean): Promise<void> => {
    if (stopped) return Promise.resolve();
    const w = new Watch(client, key, rangeEnd, from, onEvent);
    watches.add(w);
    return w.done.finally(() => watches.delete(w));
  };
  while (!stopped) {
    const r = await client.etcd.range({
      key: pfx,
      rangeEnd: prefixEnd(pfx),
      limit: 1,
      sortOrder: etcdserverpb.RangeRequest_SortOrder.ASCEND,
      sortTarget: etcdserverpb.RangeRequest_SortTarget.CREATE,
    });
    let leader: mvccpb.KeyValue | undefined = r.kvs[0];
    if (leader === undefined) {
      // No leader yet: the first key put under the prefix from this revision on is.
      await watch(pfx, prefixEnd(pfx), Number(r.header!.revision), (e) => {
        if (e.type !== mvccpb.Event_EventType.PUT) return true;
        leader = e.kv;
        return false;
      });
      if (leader === undefined) break;
    }
    const kv: mvccpb.KeyValue = leader;
    show(out, kv);
    // Its proclaimed values until its key goes.
    await watch(kv.key, Buffer.alloc(0), kv.modRevision + 1, (e) => {
      if (e.type === mvccpb.Event_EventType.DELETE) return false;
      show(out, e.kv!);
      return true;
    });
  }
  if (!stopped) throw new EtcdctlError(EXIT.error, 'elect: observer lost');
}

/** One watcher on its own stream: `onEvent` returns false to end it; `done` settles when it ends. */
class Watch {
  readonly done: Promise<void>;
  private readonly call: ReturnType<RaftkvClient['etcdWatch']>;
  private end: () => void = () => undefined;

  constructor(client: RaftkvClient, key: Buffer, rangeEnd: Buffer, startRevision: number, onEvent: (e: mvccpb.Event) => boolean) {
    this.call = client.etcdWatch(client.endpoints[0]!);
    this.done = new Promise<void>((resolve, reject) => {
      this.end = resolve;
      this.call.on('data', (r: etcdserverpb.WatchResponse) => {
        if (r.canceled) return this.close();
        for (const e of r.events) if (!onEvent(e)) return this.close();
      });
      this.call.on('error', (e: Error) => (isCancel(e) ? resolve() : reject(e)));
    });
    const createRequest = etcdserverpb.WatchCreateRequest.fromPartial({ key, rangeEnd, startRevision });
    this.call.write({ requestUnion: { $case: 'createRequest', createRequest } });
  }

  close(): void {
    this.call.cancel();
    this.end();
  }
}

const isCancel = (e: Error): boolean => (e as { code?: number }).code === 1;
