// Whether a node's peer settings are safe to start with: Raft RPCs are never served to an
// unauthenticated caller beyond this machine unless the operator says so (--insecure-peers), and a
// peer certificate must name this node's member id (peer/member-cert.ts).
import { ConfigError } from '../errors.js';
import { parseHostPort } from '../grpc/address.js';
import type { PeerTls } from '../grpc/tls.js';
import { DevControls } from '../http/dev-controls.js';
import { memberOfPem } from '../peer/member-cert.js';

export interface PeerAuthSettings {
  readonly id: string;
  /** Where Raft is served: --peer-listen, else --listen. */
  readonly raftListen: string;
  readonly peerTls: PeerTls | null;
  readonly peerSecret: Buffer | null;
  readonly insecurePeers: boolean;
}

/** The configuration error to refuse to start with, or null. */
export function peerAuthProblem(s: PeerAuthSettings): ConfigError | null {
  if (s.peerTls !== null) {
    const m = memberOfPem(s.peerTls.cert);
    if ('error' in m) return new ConfigError('--peer-tls-cert', `${m.error}; it must name this node (${JSON.stringify(s.id)})`);
    if (m.id !== s.id)
      return new ConfigError('--peer-tls-cert', `names member ${JSON.stringify(m.id)}, not this node's --id ${JSON.stringify(s.id)}`);
  }
  if (s.peerTls !== null || s.peerSecret !== null || s.insecurePeers) return null;
  const host = parseHostPort(s.raftListen)?.host ?? '';
  if (DevControls.isLoopback(host)) return null;
  return new ConfigError(
    '--peer-secret-file',
    `peers would be unauthenticated on ${s.raftListen}: give --peer-secret-file, or --peer-listen with --peer-tls-cert/--peer-tls-key/--peer-tls-ca, or --insecure-peers`,
  );
}
