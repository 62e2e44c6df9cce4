// raftctl's `lock <name> [command args...]`: etcdctl 3.4's lock (ctlv3 lock_command.go) on etcd's
// concurrency recipe (clientv3/concurrency: Session and Mutex), run in this client on the etcd API: a
// lease kept alive (the session), a key <name>/<lease id in hex> attached to it, created if absent;
// the lock is held once that key has the lowest create_revision under <name>/, else this waits (a
// watch) for the delete of the key created just before it. Without a command it prints the key as
// `get` would and holds the lock until SIGINT or SIGTERM; with one it runs it (ETCD_LOCK_KEY and
// ETCD_LOCK_REV in its environment) and unlocks when it ends.
import { spawn } from 'node:child_process';
import { isServiceError, prefixEnd, type RaftkvClient } from '@raftkv/client';
import { etcdserverpb } from '@raftkv/proto';
import { EXIT, EtcdctlError } from './ops.js';
import type { Write } from './printers.js';

export const LOCK_FLAGS = { ttl: { type: 'string' } } as const;

export interface LockFlags {
  readonly ttl?: string | undefined;
}

const b = (s: string): Buffer => Buffer.from(s);

/** clientv3/concurrency's Session: a lease renewed every third of its TTL until close(). */
export class Session {
  private timer: NodeJS.Timeout | null = null;
  private stream: ReturnType<RaftkvClient['lease']['keepAlive']> | null = null;
  /** Settles when the lease is gone (a renewal answered TTL 0) or the stream broke for good. */
  readonly done: Promise<void>;
  private lost: () => void = () => undefined;

  private constructor(
    readonly id: number,
    private readonly ttl: number,
    private readonly client: RaftkvClient,
  ) {
    this.done = new Promise((resolve) => (this.lost = resolve));
  }

  static async open(client: RaftkvClient, ttl: number): Promise<Session> {
    const g = await client.lease.grant({ TTL: ttl });
    const s = new Session(g.ID, g.TTL, client);
    s.keepAlive();
    return s;
  }

  private keepAlive(): void {
    const st = this.client.lease.keepAlive();
    this.stream = st;
    st.on('data', (r: etcdserverpb.LeaseKeepAliveResponse) => {
      if (r.TTL <= 0) return this.lost();
      this.timer = setTimeout(() => st.write({ ID: this.id }), (this.ttl * 1000) / 3);
    });
    st.on('error', () => {
      if (this.stream !== st) return;
      this.timer = setTimeout(() => this.keepAlive(), 500); // reopened, maybe on another node
    });
    st.write({ ID: this.id });
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    const st = this.stream;
    this.stream = null;
    st?.cancel();
  }
}

/** Waits for the delete of `key` after revision `rev` (a watch from rev + 1). */
function waitDelete(client: RaftkvClient, key: Buffer, rev: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const call = client.etcdWatch(client.endpoints[0]!);
    call.on('data', (r: { events: etcdserverpb.WatchResponse['events']; canceled: boolean }) => {
      if (r.canceled || r.events.some((e) => e.type === 1)) {
        call.cancel();
        resolve();
      }
    });
    call.on('error', (e: Error) => reject(e));
    call.write({
      requestUnion: {
        $case: 'createRequest',
        createRequest: etcdserverpb.WatchCreateRequest.fromPartial({ key, startRevision: rev + 1 }),
      },
    });
  });
}

/**
 * clientv3/concurrency's Mutex.Lock (and Election.Campaign, whose key holds `value`): returns the key
 * and its create revision once it is the oldest under <name>/.
 */
export async function acquire(
  client: RaftkvClient,
  name: string,
  lease: number,
  value = Buffer.alloc(0),
): Promise<{ key: Buffer; rev: number }> {
  const pfx = b(`${name}/`);
  const key = b(`${name}/${lease.toString(16)}`);
  const owner: etcdserverpb.RequestOp = {
    request: {
      $case: 'requestRange',
      requestRange: etcdserverpb.RangeRequest.fromPartial({
        key: pfx,
        rangeEnd: prefixEnd(pfx),
        limit: 1,
        sortOrder: etcdserverpb.RangeRequest_SortOrder.ASCEND,
        sortTarget: etcdserverpb.RangeRequest_SortTarget.CREATE,
      }),
    },
  };
  const r = await client.etcd.txn({
    compare: [
      {
        key,
        target: etcdserverpb.Compare_CompareTarget.CREATE,
        result: etcdserverpb.Compare_CompareResult.EQUAL,
        targetUnion: { $case: 'createRevision', createRevision: 0 },
      },
    ],
    success: [{ request: { $case: 'requestPut', requestPut: { key, value, lease } } }, owner],
    failure: [{ request: { $case: 'requestRange', requestRange: { key } } }, owner],
  });
  const rev = r.succeeded ? Number(r.header!.revision) : rangeOf(r.responses[0])[0]!.createRevision;
  const first = rangeOf(r.responses[1])[0];
  if (first === undefined || first.createRevision === rev) return { key, rev };
  // Wait for every key created before ours to go, newest first (clientv3's waitDeletes).
  for (;;) {
    const before = await client.etcd.range({
      key: pfx,
      rangeEnd: prefixEnd(pfx),
      maxCreateRevision: rev - 1,
      limit: 1,
      sortOrder: etcdserverpb.RangeRequest_SortOrder.DESCEND,
      sortTarget: etcdserverpb.RangeRequest_SortTarget.CREATE,
    });
    const last = before.kvs[0];
    if (last === undefined) return { key, rev };
    await waitDelete(client, last.key, Number(before.header!.revision));
  }
}

function rangeOf(op: etcdserverpb.ResponseOp | undefined): etcdserverpb.RangeResponse['kvs'] {
  return op?.response?.$case === 'responseRange' ? op.response.responseRange.kvs : [];
}

/** Runs `lock`; resolves with the exit code etcdctl would give. */
export async function runLock(args: readonly string[], f: LockFlags, client: RaftkvClient, out: Write): Promise<number> {
  if (args.length === 0) throw new EtcdctlError(EXIT.badArgs, 'lock takes a lock name argument and an optional command to execute.');
  const ttl = f.ttl === undefined ? 10 : Number(f.ttl);
  if (!Number.isSafeInteger(ttl)) throw new EtcdctlError(EXIT.badArgs, `invalid argument ${JSON.stringify(f.ttl)} for "--ttl" flag`);
  const [name, ...cmd] = args;
  return withSession(client, ttl, async (session) => {
    const signalled = new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
    const { key, rev } = await acquire(client, name!, session.id);
    const unlock = () => client.etcd.deleteRange({ key });
    if (cmd.length > 0) {
      const code = await new Promise<number | null>((resolve, reject) => {
        const p = spawn(cmd[0]!, cmd.slice(1), {
          stdio: 'inherit',
          env: { ETCD_LOCK_KEY: key.toString(), ETCD_LOCK_REV: String(rev), ...process.env },
        });
        p.once('error', reject);
        p.once('exit', (c) => resolve(c));
      });
      await unlock();
      if (code !== 0) throw new EtcdctlError(EXIT.error, `exit status ${code ?? 1}`);
      return 0;
    }
    const held = await client.etcd.range({ key });
    if (held.kvs.length === 0) throw new EtcdctlError(EXIT.error, 'lock lost on init');
    out(`${key.toString()}\n${held.kvs[0]!.value.toString()}\n`);
    const why = await Promise.race([signalled.then(() => 'signal' as const), session.done.then(() => 'expired' as const)]);
    if (why === 'expired') throw new EtcdctlError(EXIT.error, 'session expired');
    await unlock();
    return 0;
  });
}

/** Runs `f` in a new session (closed after it); a server's error becomes etcdctl's "Error: <details>". */
export async function withSession(client: RaftkvClient, ttl: number, f: (s: Session) => Promise<number>): Promise<number> {
  let session: Session | undefined;
  try {
    session = await Session.open(client, ttl);
    return await f(session);
  } catch (e) {
    if (isServiceError(e)) throw new EtcdctlError(EXIT.error, e.details, { cause: e });
    throw e;
  } finally {
    session?.close();
  }
}
