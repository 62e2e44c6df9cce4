// TLS for a node's two kinds of traffic, each with its own certificate and CA (as etcd's --cert-file
// and --peer-cert-file):
// - the client port (--listen): --tls-cert/--tls-key make it TLS; --tls-ca is the CA the node trusts
//   for that port (clients' certificates with --tls-client-auth, and other nodes' client ports when
//   peers share that port);
// - peer traffic: --peer-tls-cert/--peer-tls-key/--peer-tls-ca, mutual TLS on the --peer-listen port.
//   A caller without a certificate signed by the peer CA never completes the handshake, and a node
//   checks the certificate of every node it dials against that CA.
// Kubernetes' gRPC probes cannot speak TLS, hence --health-listen (plaintext, health service only).
// Errors name the flag and the file, never the file's content.
import { credentials, type ChannelCredentials } from '@grpc/grpc-js';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';

export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** Trusted CA bundle; null: the system roots (and no client certificates are asked for). */
  readonly ca: Buffer | null;
  /** Where they were read (tls-reload.ts reads them again when they change). */
  readonly files: { readonly cert: string; readonly key: string; readonly ca: string | null };
}

/** The client port's TLS. */
export interface ClientTls extends TlsMaterial {
  /** --tls-client-auth: every client must present a certificate signed by `ca`. */
  readonly clientAuth: boolean;
}

/** Peer mutual TLS: the CA is required. */
export interface PeerTls extends TlsMaterial {
  readonly ca: Buffer;
}

/** A flag's value by name without the dashes ('tls-cert'). */
type Get = (name: string) => string | undefined;

/** --tls-cert/--tls-key/--tls-ca/--tls-client-auth; null when TLS is off on the client port. */
export function readClientTls(get: Get, clientAuth: boolean): ClientTls | null {
  const m = readMaterial(get, 'tls-');
  if (m === null) {
    if (clientAuth) throw new ConfigError('--tls-client-auth', 'needs --tls-cert, --tls-key and --tls-ca');
    return null;
  }
  if (clientAuth && m.ca === null)
    throw new ConfigError('--tls-ca', 'is required with --tls-client-auth (the CA client certificates must be signed by)');
  return { ...m, clientAuth };
}

/** --peer-tls-cert/--peer-tls-key/--peer-tls-ca; null when peer traffic is plaintext. */
export function readPeerTls(get: Get): PeerTls | null {
  const m = readMaterial(get, 'peer-tls-');
  if (m === null) return null;
  if (m.ca === null)
    throw new ConfigError('--peer-tls-ca', 'is required with --peer-tls-cert (peers must prove they belong to the cluster)');
  return { ...m, ca: m.ca };
}

/** Reads and checks --<prefix>cert/key/ca (the key matches the certificate, which has not expired). */
export function readMaterial(get: Get, prefix: 'tls-' | 'peer-tls-'): TlsMaterial | null {
  const [certFlag, keyFlag, caFlag] = [`--${prefix}cert`, `--${prefix}key`, `--${prefix}ca`];
  const certPath = get(`${prefix}cert`);
  const keyPath = get(`${prefix}key`);
  const caPath = get(`${prefix}ca`);
  if (certPath === undefined && keyPath === undefined && caPath === undefined) return null;
  if (certPath === undefined) throw new ConfigError(certFlag, `is required with ${keyPath !== undefined ? keyFlag : caFlag}`);
  if (keyPath === undefined) throw new ConfigError(keyFlag, `is required with ${certFlag}`);
  const cert = readPem(certFlag, certPath);
  const key = readPem(keyFlag, keyPath);
  const ca = caPath === undefined ? null : readPem(caFlag, caPath);
  const leaf = parse(certFlag, certPath, () => new X509Certificate(cert));
  const privateKey = parse(keyFlag, keyPath, () => createPrivateKey(key));
  if (!leaf.checkPrivateKey(privateKey))
    throw new ConfigError(keyFlag, `${JSON.stringify(keyPath)} is not the key of the certificate in ${certFlag}`);
  if (Date.parse(leaf.validTo) < Date.now()) throw new ConfigError(certFlag, `${JSON.stringify(certPath)} expired on ${leaf.validTo}`);
  if (ca !== null) parse(caFlag, caPath!, () => new X509Certificate(ca));
  return { cert, key, ca, files: { cert: certPath, key: keyPath, ca: caPath ?? null } };
}

function readPem(flag: string, path: string): Buffer {
  let b: Buffer;
  try {
    b = readFileSync(path);
  } catch (e) {
    throw new ConfigError(flag, `cannot read ${JSON.stringify(path)}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, { cause: e });
  }
  if (!b.toString('latin1').includes('-----BEGIN ')) throw new ConfigError(flag, `${JSON.stringify(path)} is not a PEM file`);
  return b;
}

/** Parses with node:crypto; its messages (OpenSSL reason strings) carry no key material. */
function parse<T>(flag: string, path: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw new ConfigError(flag, `${JSON.stringify(path)} cannot be used: ${(e as Error).message}`, { cause: e });
  }
}

const sslOf = (tls: TlsMaterial): ChannelCredentials => credentials.createSsl(tls.ca, tls.key, tls.cert);

let member: ChannelCredentials = credentials.createInsecure();
let ownClientPort: ChannelCredentials = credentials.createInsecure();

/**
 * Set once at start-up, before any channel is made (one node per process). Other nodes are dialled
 * at their member address: their peer port when this cluster uses --peer-listen, else the shared
 * client port. The node presents its certificate in both cases (needed with --tls-client-auth).
 */
export function useChannelCredentials(c: {
  readonly tls: ClientTls | null;
  readonly peerTls: PeerTls | null;
  readonly peerListen: string | null;
}): void {
  const clientSide = c.tls === null ? credentials.createInsecure() : sslOf(c.tls);
  member = c.peerListen !== null ? (c.peerTls === null ? credentials.createInsecure() : sslOf(c.peerTls)) : clientSide;
  // The node dialling its own client port on loopback (the live view): the chain is still checked,
  // the name is not (the certificate names the node's public names, not 127.0.0.1).
  ownClientPort =
    c.tls === null ? clientSide : credentials.createSsl(c.tls.ca, c.tls.key, c.tls.cert, { checkServerIdentity: () => undefined });
}

/** Credentials for every channel this node opens to another node's member address. */
export function channelCredentials(): ChannelCredentials {
  return member;
}

/** Credentials for this node's own client port (dialled on loopback). */
export function ownClientPortCredentials(): ChannelCredentials {
  return ownClientPort;
}
