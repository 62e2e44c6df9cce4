// etcdserverpb.Watch (etcd 3.4) on every node's client port, served from this node's own applied state:
// a follower never forwards watch traffic. Each bidirectional stream is one WatchSession over the
// node's WatchHub (watch/).
import type { ServerDuplexStream } from '@grpc/grpc-js';
import type { etcdserverpb } from '@raftkv/proto';
import type { HeaderIds } from '../storage/member-id.js';
import type { MvccStore } from '../storage/mvcc/store.js';
import type { WatchHub } from '../watch/hub.js';
import { WatchSession } from '../watch/stream.js';

export interface EtcdWatchDeps {
  readonly hub: WatchHub;
  readonly store: MvccStore;
  readonly ids: HeaderIds;
  /** The node's current term (the header's raft_term). */
  readonly term: () => number;
  readonly maxRequestBytes: number;
  readonly progressIntervalMs: number;
}

/** Responses queued per stream in front of a blocked transport (etcd's watch channel holds 128). */
const MAX_QUEUED = 128;

export function etcdWatchService(d: EtcdWatchDeps): etcdserverpb.WatchServer {
  const header = (revision: number): etcdserverpb.ResponseHeader => ({
    clusterId: d.ids.clusterId,
    memberId: d.ids.memberId,
    revision,
    raftTerm: d.term(),
  });
  return {
    watch(call: ServerDuplexStream<etcdserverpb.WatchRequest, etcdserverpb.WatchResponse>) {
      const session = new WatchSession(
        {
          hub: d.hub,
          store: d.store,
          header,
          maxRequestBytes: d.maxRequestBytes,
          progressIntervalMs: d.progressIntervalMs,
          maxQueued: MAX_QUEUED,
        },
        { write: (r) => call.write(r) },
      );
      call.on('data', (r: etcdserverpb.WatchRequest) => session.handle(r));
      call.on('drain', () => session.drained());
      // The client closed its side: etcd's recvLoop ends and the stream with it.
      call.on('end', () => {
        session.close();
        call.end();
      });
      const done = (): void => session.close();
      call.on('cancelled', done);
      call.on('close', done);
      call.on('error', done);
    },
  };
}
