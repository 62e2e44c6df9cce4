// Server interceptors that guard raftkv.v1.Raft, the node-to-node service, on every port it is
// reachable from, whatever its handlers do:
// - the cluster id: the first message of every Raft call (Send's batches, InstallSnapshot's first
//   chunk, any future peer RPC) must carry this cluster's id, or the call ends FAILED_PRECONDITION
//   before the handler sees a byte of it;
// - with --peer-listen, the client port does not serve Raft at all (PERMISSION_DENIED): peers are
//   only heard on the peer port, where the peer CA authenticated them.
import { ServerInterceptingCall, status, type ServerInterceptor } from '@grpc/grpc-js';
import type { Logger } from '../observability/logger.js';

export const RAFT_SERVICE_PREFIX = '/raftkv.v1.Raft/';

/** Refuses a Raft call whose first message carries another cluster id. */
export function requireClusterId(clusterId: string, logger: Logger): ServerInterceptor {
  let refused = 0;
  return (method, call) => {
    if (!method.path.startsWith(RAFT_SERVICE_PREFIX)) return new ServerInterceptingCall(call);
    let first = true;
    return new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMessage: (message: unknown, nextMessage) => {
            if (first) {
              first = false;
              const got = (message as { clusterId?: unknown } | null)?.clusterId;
              if (got !== clusterId) {
                // The first and then every 100th: a misconfigured node retries forever.
                if (refused++ % 100 === 0) logger.warn('refused a peer stream from another cluster', { method: method.path, clusterId: got, peerAddress: call.getPeer(), count: refused });
                call.sendStatus({ code: status.FAILED_PRECONDITION, details: `cluster id ${JSON.stringify(got)} is not ${JSON.stringify(clusterId)}` });
                return;
              }
            }
            nextMessage(message);
          },
        }),
    });
  };
}

/** For the client port when peers have a port of their own: Raft is not served there. */
export const refuseRaft: ServerInterceptor = (method, call) => {
  if (!method.path.startsWith(RAFT_SERVICE_PREFIX)) return new ServerInterceptingCall(call);
  return new ServerInterceptingCall(call, {
    start: (next) =>
      next({
        onReceiveMetadata: () => {
          call.sendStatus({ code: status.PERMISSION_DENIED, details: 'peer RPCs are served on the peer port (--peer-listen) only' });
        },
      }),
  });
};
