// The node's gRPC servers. grpc-js bounds the message size per Server, not per port, so with
// --peer-listen the peer port gets a Server of its own: the client port accepts what etcd's does
// (--max-request-bytes plus the gRPC overhead), the peer port what peer batches need. Both serve
// every client service (a node forwards client calls to the leader's peer port); Raft is served only
// where peers call. Without --peer-listen one Server serves both at the peer limit; the peer guard
// (peer/peer-guard.ts) still decides who may call Raft, and the etcd services still refuse a write
// over --max-request-bytes with "etcdserver: request is too large".
import { Server, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { ServerConfig } from '../cli/config.js';
import { addReflection, type Health } from '../api/introspection.js';
import {
  CLIENT_MIN_PING_INTERVAL_MS,
  clientReceiveLimit,
  PEER_MIN_PING_INTERVAL_MS,
  peerReceiveLimit,
  serverOptions,
} from './grpc-options.js';

export class NodeServers {
  /** Bound to --listen. */
  readonly client: Server;
  /** Bound to --peer-listen (null without it: peers call `client`). */
  readonly peer: Server | null;

  constructor(config: Pick<ServerConfig, 'maxConcurrentStreams' | 'maxRequestBytes' | 'peerListen'>) {
    const { maxConcurrentStreams, maxRequestBytes } = config;
    const peerLimits = {
      maxConcurrentStreams,
      maxReceiveBytes: peerReceiveLimit(maxRequestBytes),
      minPingIntervalMs: PEER_MIN_PING_INTERVAL_MS,
    };
    if (config.peerListen === null) {
      this.client = new Server(serverOptions(peerLimits));
      this.peer = null;
    } else {
      this.client = new Server(
        serverOptions({
          maxConcurrentStreams,
          maxReceiveBytes: clientReceiveLimit(maxRequestBytes),
          minPingIntervalMs: CLIENT_MIN_PING_INTERVAL_MS,
        }),
      );
      this.peer = new Server(serverOptions(peerLimits));
    }
  }

  private get all(): Server[] {
    return this.peer === null ? [this.client] : [this.client, this.peer];
  }

  /** A client-facing service: on every server. */
  serve(service: ServiceDefinition, implementation: UntypedServiceImplementation): void {
    for (const s of this.all) s.addService(service, implementation);
  }

  /** The Raft service: only where peers call. */
  serveRaft(service: ServiceDefinition, implementation: UntypedServiceImplementation): void {
    (this.peer ?? this.client).addService(service, implementation);
  }

  /** grpc.health.v1 and reflection on every server. */
  addIntrospection(health: Health): void {
    for (const s of this.all) {
      health.addToServer(s);
      addReflection(s);
    }
  }

  /** Refuses new calls; calls still running at `untilMs` (ms since the epoch) are cancelled. */
  shutdown(untilMs: number): Promise<void> {
    const one = (server: Server): Promise<void> =>
      new Promise<void>((resolve) => {
        const force = setTimeout(
          () => {
            server.forceShutdown();
            resolve();
          },
          Math.max(100, untilMs - Date.now()),
        );
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
    return Promise.all(this.all.map(one)).then(() => undefined);
  }
}
