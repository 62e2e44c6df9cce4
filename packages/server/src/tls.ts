// TLS for the node's gRPC port. One CA makes the cluster: with --tls-ca every caller, peer or client,
// must present a certificate signed by it (mutual TLS, as etcd's client-cert-auth), and the node
// presents its own certificate when it dials peers or forwards to the leader. Kubernetes' gRPC probes
// cannot speak TLS, hence --health-listen (plaintext, health service only).
import { credentials, ServerCredentials, type ChannelCredentials } from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { ConfigError } from './errors.js';

export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** With a CA, callers must present a certificate it signed; without, clients need none. */
  readonly ca: Buffer | null;
}

/** Reads --tls-cert/--tls-key/--tls-ca; null when TLS is off. Errors name the flag, never the file's content. */
export function readTls(cert: string | undefined, key: string | undefined, ca: string | undefined): TlsMaterial | null {
  if (cert === undefined && key === undefined && ca === undefined) return null;
  if (cert === undefined) throw new ConfigError('--tls-cert', 'is required with --tls-key or --tls-ca');
  if (key === undefined) throw new ConfigError('--tls-key', 'is required with --tls-cert');
  const read = (flag: string, path: string): Buffer => {
    try {
      const b = readFileSync(path);
      if (!b.toString('latin1').includes('-----BEGIN ')) throw new Error('not a PEM file');
      return b;
    } catch (e) {
      throw new ConfigError(flag, `cannot use ${JSON.stringify(path)}: ${(e as Error).message}`);
    }
  };
  return { cert: read('--tls-cert', cert), key: read('--tls-key', key), ca: ca === undefined ? null : read('--tls-ca', ca) };
}

export function serverCredentials(tls: TlsMaterial | null): ServerCredentials {
  if (tls === null) return ServerCredentials.createInsecure();
  return ServerCredentials.createSsl(tls.ca, [{ private_key: tls.key, cert_chain: tls.cert }], tls.ca !== null);
}

let channel: ChannelCredentials = credentials.createInsecure();

/** Set once at start-up: how this node dials peers and the leader (one node per process). */
export function useChannelCredentials(tls: TlsMaterial | null): void {
  channel = tls === null ? credentials.createInsecure() : credentials.createSsl(tls.ca, tls.key, tls.cert);
}

/** Credentials for every channel this node opens to another node (or to itself). */
export function channelCredentials(): ChannelCredentials {
  return channel;
}
