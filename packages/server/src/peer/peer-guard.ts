// Server interceptors that guard raftkv.v1.Raft, the node-to-node service, on every port it is
// reachable from, whatever its handlers do:
// - the cluster id: the first message of every Raft call (Send's batches, InstallSnapshot's first
//   chunk, any future peer RPC) must carry this cluster's id, or the call ends FAILED_PRECONDITION
//   before the handler sees a byte of it;
// - with --peer-listen, the client port's Server does not serve Raft at all (grpc/node-servers.ts):
//   peers are only heard on the peer port, where the peer CA authenticated them;
// - the sender's identity: with peer mutual TLS the member its certificate names (member-cert.ts),
//   with --peer-secret-file the id the stream start proves (peer-secret.ts), both when both are on;
//   a call without it ends UNAUTHENTICATED before the handler sees a byte, and every message on the
//   call must come from that id (PERMISSION_DENIED otherwise): a member cannot speak for another.
import { ServerInterceptingCall, status, type Metadata, type ServerInterceptor } from '@grpc/grpc-js';
import type { Logger } from '../observability/logger.js';
import { memberOfPeer } from './member-cert.js';
import { PeerAuthError, type PeerSecretVerifier } from './peer-secret.js';

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
                if (refused++ % 100 === 0)
                  logger.warn('refused a peer stream from another cluster', {
                    method: method.path,
                    clusterId: got,
                    peerAddress: call.getPeer(),
                    count: refused,
                  });
                call.sendStatus({
                  code: status.FAILED_PRECONDITION,
                  details: `cluster id ${JSON.stringify(got)} is not ${JSON.stringify(clusterId)}`,
                });
                return;
              }
            }
            nextMessage(message);
          },
        }),
    });
  };
}

export interface PeerIdentityOptions {
  /** Peer mutual TLS is on for this port: the certificate names the sender. */
  readonly certificates: boolean;
  /** --peer-secret-file: the stream start proves the sender. */
  readonly secret: PeerSecretVerifier | null;
  readonly logger: Logger;
}

/** The senders a message of a Raft call claims: a MessageBatch's messages, a SnapshotChunk's message. */
function sendersOf(message: unknown): string[] {
  const m = message as { messages?: { from?: unknown }[]; message?: { from?: unknown } } | null;
  const out: string[] = [];
  if (Array.isArray(m?.messages)) for (const w of m.messages) out.push(String(w.from));
  if (m?.message !== undefined) out.push(String(m.message.from));
  return out;
}

/** Authenticates the sender of every Raft call (see the top of this file); a no-op with neither mechanism. */
export function requirePeerIdentity(o: PeerIdentityOptions): ServerInterceptor {
  let refused = 0;
  const refuse = (call: Parameters<ServerInterceptor>[1], path: string, code: status, details: string): void => {
    // The first and then every 100th: a misconfigured or hostile peer retries forever.
    if (refused++ % 100 === 0)
      o.logger.warn('refused a peer call', { method: path, error: details, peerAddress: call.getPeer(), count: refused });
    call.sendStatus({ code, details });
  };
  return (method, call) => {
    if (!method.path.startsWith(RAFT_SERVICE_PREFIX) || (!o.certificates && o.secret === null)) return new ServerInterceptingCall(call);
    let sender: string | null = null;
    let done = false;
    return new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (md: Metadata, nextMd) => {
            let id: string | null = null;
            if (o.certificates) {
              const m = memberOfPeer(call.getAuthContext().sslPeerCertificate);
              if ('error' in m) {
                done = true;
                return refuse(call, method.path, status.UNAUTHENTICATED, m.error);
              }
              id = m.id;
            }
            if (o.secret !== null) {
              let proved: string;
              try {
                proved = o.secret.verify(md, method.path);
              } catch (e) {
                if (!(e instanceof PeerAuthError)) throw e;
                done = true;
                return refuse(call, method.path, status.UNAUTHENTICATED, e.message);
              }
              if (id !== null && proved !== id) {
                done = true;
                return refuse(
                  call,
                  method.path,
                  status.PERMISSION_DENIED,
                  `the secret was proved for ${JSON.stringify(proved)}, the certificate names ${JSON.stringify(id)}`,
                );
              }
              id = proved;
            }
            sender = id;
            nextMd(md);
          },
          onReceiveMessage: (message: unknown, nextMessage) => {
            if (done) return;
            const bad = sendersOf(message).find((from) => from !== sender);
            if (bad !== undefined) {
              done = true;
              return refuse(
                call,
                method.path,
                status.PERMISSION_DENIED,
                `a message from ${JSON.stringify(bad)} on a stream of ${JSON.stringify(sender)}`,
              );
            }
            nextMessage(message);
          },
        }),
    });
  };
}
