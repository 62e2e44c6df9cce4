// The ports a node's gRPC servers listen on (grpc/node-servers.ts: the peer port has a Server of its
// own, for its larger message limit). Each port decides, through its credentials and interceptors,
// who may call what:
// - --listen, the client port: TLS per --tls-* (or plaintext). With --peer-listen it does not serve
//   raftkv.v1.Raft, so a client (even one holding a client certificate) cannot speak as a peer.
// - --peer-listen, the peer port: mutual TLS with the peer CA when --peer-tls-* is set. Every
//   node-to-node call lands here: Raft, and the KV/Admin calls a node forwards to the leader.
// - --health-listen: plaintext, grpc.health.v1 only (a Server of its own), for probes that cannot
//   speak TLS.
// On every port that serves Raft, a call must prove its sender (the member its peer certificate
// names, the shared secret, or both) and carry this cluster's id (peer-guard.ts).
import { experimental, Server, ServerCredentials } from '@grpc/grpc-js';
import type { ServerConfig } from './cli/config.js';
import type { Health } from './api/introspection.js';
import type { Logger } from './observability/logger.js';
import { requireClusterId, requirePeerIdentity } from './peer/peer-guard.js';
import { PeerSecretVerifier } from './peer/peer-secret.js';
import type { NodeServers } from './grpc/node-servers.js';
import { CLIENT_MIN_PING_INTERVAL_MS, PEER_MIN_PING_INTERVAL_MS } from './grpc/grpc-options.js';
import { setMinPingInterval } from './grpc/ping-policy.js';
import { clientPortCredentials, peerPortCredentials, ReloadingServerCredentials } from './grpc/tls-reload.js';

export interface BoundPorts {
  readonly port: number;
  /** The peer port (null without --peer-listen). */
  readonly peerPort: number | null;
  /** The plaintext health-only server (null without --health-listen); the caller shuts it down. */
  readonly healthServer: Server | null;
  /** Stops re-reading the certificate files (grpc/tls-reload.ts). */
  readonly stopTlsReload: () => void;
}

function bind(server: Server, address: string, creds: ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => server.bindAsync(address, creds, (err, p) => (err ? reject(err) : resolve(p))));
}

export async function bindPorts(grpc: NodeServers, health: Health, config: ServerConfig, logger: Logger): Promise<BoundPorts> {
  const clusterGuard = requireClusterId(config.clusterId, logger);
  // One verifier for both ports: a nonce accepted on one is a replay on the other.
  const secret = config.peerSecret === null ? null : new PeerSecretVerifier(config.peerSecret, config.clusterId, config.id);
  const identity = (certificates: boolean) => requirePeerIdentity({ certificates, secret, logger });
  // With --peer-listen the client port's Server does not serve Raft at all (UNIMPLEMENTED).
  const clientGuards = config.peerListen === null ? [identity(false), clusterGuard] : [];
  const clientCreds = clientPortCredentials(config.tls);
  const peerCreds = config.peerListen === null ? null : peerPortCredentials(config.peerTls);
  const reloading = [clientCreds, peerCreds].filter((c): c is ReloadingServerCredentials => c instanceof ReloadingServerCredentials);
  const port = await bind(grpc.client, config.listen, experimental.createServerCredentialsWithInterceptors(clientCreds, clientGuards));
  const peerPort =
    config.peerListen === null || peerCreds === null
      ? null
      : await bind(
          grpc.peer ?? grpc.client,
          config.peerListen,
          experimental.createServerCredentialsWithInterceptors(peerCreds, [identity(config.peerTls !== null), clusterGuard]),
        );
  // Peers ping every 2 s: a port they use allows that; a client-only port takes etcd's 5 s minimum.
  setMinPingInterval(port, config.peerListen === null ? PEER_MIN_PING_INTERVAL_MS : CLIENT_MIN_PING_INTERVAL_MS);
  if (peerPort !== null) setMinPingInterval(peerPort, PEER_MIN_PING_INTERVAL_MS);
  let healthServer: Server | null = null;
  if (config.healthListen !== null) {
    healthServer = new Server();
    health.addToServer(healthServer);
    await bind(healthServer, config.healthListen, ServerCredentials.createInsecure());
  }
  for (const c of reloading) c.watch(logger);
  return { port, peerPort, healthServer, stopTlsReload: () => reloading.forEach((c) => c.close()) };
}

/** What the start-up log line says about the ports (never key material: only whether TLS is on). */
export function describePorts(config: ServerConfig, bound: BoundPorts): Record<string, unknown> {
  return {
    clientTls: config.tls === null ? 'off' : config.tls.clientAuth ? 'mutual' : 'server',
    ...(config.peerListen === null
      ? {}
      : { peerListen: config.peerListen, peerPort: bound.peerPort, peerTls: config.peerTls === null ? 'off' : 'mutual' }),
    peerAuth: [config.peerTls === null ? [] : ['certificate'], config.peerSecret === null ? [] : ['secret']].flat().join('+') || 'none',
    ...(config.healthListen === null ? {} : { healthListen: config.healthListen }),
  };
}
