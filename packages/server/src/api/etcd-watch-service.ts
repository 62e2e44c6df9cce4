// etcdserverpb.Watch (etcd 3.4) on every node's client port, served from this node's own applied state:
// a follower never forwards watch traffic. Each bidirectional stream is one WatchSession over the
// node's WatchHub (watch/).
import { status as GrpcStatus, type ServerDuplexStream, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { etcdserverpb } from '@raftkv/proto';
import type { HeaderIds } from '../storage/member-id.js';
import type { MvccStore } from '../storage/mvcc/store.js';
import type { WatchHub } from '../watch/hub.js';
import { WatchSession } from '../watch/stream.js';
import type { AuthGate, Caller } from './auth-gate.js';
import { checkRead } from '../storage/auth/authorize.js';
import { EtcdAuthError, permissionDenied } from '../storage/auth/errors.js';
import { WatchWire } from '../watch/wire.js';

export interface EtcdWatchDeps {
  readonly hub: WatchHub;
  readonly store: MvccStore;
  readonly ids: HeaderIds;
  /** The node's current term (the header's raft_term). */
  readonly term: () => number;
  readonly maxRequestBytes: number;
  readonly progressIntervalMs: number;
  /** --max-watchers-per-stream. */
  readonly maxWatchers: number;
  /** The leader this node knows of ('' when none). */
  readonly leaderId: () => string;
  /** The election timeout: a stream that requires a leader ends after 3 of them without one (etcd). */
  readonly electionMs: number;
  /** Who calls: a watch needs READ on its range (checked at each create, by this node's auth state). */
  readonly gate: AuthGate;
}

/** Go's status.Error text, which etcd 3.4 sends as the cancel reason (rpctypes.ErrGRPCPermissionDenied.Error()). */
function goStatusText(e: EtcdAuthError): string {
  const code = GO_CODES[e.code] ?? 'PermissionDenied';
  return `rpc error: code = ${code} desc = ${e.message}`;
}

const GO_CODES: Partial<Record<GrpcStatus, string>> = {
  [GrpcStatus.PERMISSION_DENIED]: 'PermissionDenied',
  [GrpcStatus.INVALID_ARGUMENT]: 'InvalidArgument',
  [GrpcStatus.UNAUTHENTICATED]: 'Unauthenticated',
  [GrpcStatus.FAILED_PRECONDITION]: 'FailedPrecondition',
};

/**
 * etcd's isWatchPermitted, answered as the cancel reason of the refused create. Unlike etcd 3.4 (which
 * checks only the start key of a from-key or whole-keyspace watch), the whole watched range is checked.
 */
function watchRefusal(gate: AuthGate, caller: Caller): (key: Buffer, end: Uint8Array) => string | null {
  return (key, end) => {
    try {
      checkRead(gate.store, gate.user(caller), key, end);
      return null;
    } catch (e) {
      return goStatusText(e instanceof EtcdAuthError ? e : permissionDenied());
    }
  };
}

/** Responses queued per stream in front of a blocked transport (etcd: 128 per watcher; a stream carries many). */
const MAX_QUEUED = 1024;

/** etcd's rpctypes.ErrGRPCNoLeader. */
const NO_LEADER = { code: GrpcStatus.UNAVAILABLE, details: 'etcdserver: no leader' };

/**
 * etcd's monitorLeader for streams opened with clientv3.WithRequireLeader (metadata hasleader=true, as
 * etcdctl watch does): after 3 election timeouts without a leader they end with "no leader", so their
 * clients move to a node that has one instead of waiting on a partitioned one.
 */
class LeaderMonitor {
  private readonly streams = new Set<() => void>();
  private timer: NodeJS.Timeout | null = null;
  private without = 0;

  constructor(private readonly d: EtcdWatchDeps) {}

  add(end: () => void): () => void {
    this.streams.add(end);
    this.timer ??= setInterval(() => this.tick(), this.d.electionMs).unref();
    return () => {
      this.streams.delete(end);
      if (this.streams.size === 0 && this.timer !== null) {
        clearInterval(this.timer);
        this.timer = null;
        this.without = 0;
      }
    };
  }

  private tick(): void {
    this.without = this.d.leaderId() === '' ? this.without + 1 : 0;
    if (this.without < 3) return;
    for (const end of [...this.streams]) end();
  }
}

/** The Watch service's handler (registered with wire.ts's WATCH_SERVICE: responses may be encoded bytes). */
export interface EtcdWatchServer extends UntypedServiceImplementation {
  watch(call: ServerDuplexStream<etcdserverpb.WatchRequest, etcdserverpb.WatchResponse | Buffer>): void;
}

export function etcdWatchService(d: EtcdWatchDeps): EtcdWatchServer {
  const monitor = new LeaderMonitor(d);
  const header = (revision: number): etcdserverpb.ResponseHeader => ({
    clusterId: d.ids.clusterId,
    memberId: d.ids.memberId,
    revision,
    raftTerm: d.term(),
  });
  // One for the node's streams: an event many streams deliver is encoded once.
  const wire = new WatchWire({ header, liveAt: (key, rev) => d.store.liveAt(key, rev) });
  return {
    watch(call) {
      const requireLeader = call.metadata.get('hasleader')[0] === 'true';
      if (requireLeader && d.leaderId() === '') {
        call.emit('error', NO_LEADER);
        return;
      }
      const session = new WatchSession(
        {
          hub: d.hub,
          store: d.store,
          header,
          maxRequestBytes: d.maxRequestBytes,
          progressIntervalMs: d.progressIntervalMs,
          maxQueued: MAX_QUEUED,
          maxWatchers: d.maxWatchers,
          refusal: watchRefusal(d.gate, call),
          wire,
        },
        { write: (r) => call.write(r) },
      );
      call.on('data', (r: etcdserverpb.WatchRequest) => session.handle(r));
      call.on('drain', () => session.drained());
      const unwatchLeader = requireLeader
        ? monitor.add(() => {
            session.close();
            call.emit('error', NO_LEADER);
          })
        : () => {};
      const done = (): void => {
        session.close();
        unwatchLeader();
      };
      // The client closed its side: etcd's recvLoop ends and the stream with it.
      call.on('end', () => {
        done();
        call.end();
      });
      call.on('cancelled', done);
      call.on('close', done);
      call.on('error', done);
    },
  };
}
