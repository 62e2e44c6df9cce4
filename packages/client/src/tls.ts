// Channel credentials from TLS material (PEM contents, never file paths: reading files is the caller's
// business). No material at all means plaintext.
import { credentials, type ChannelCredentials, type ChannelOptions } from '@grpc/grpc-js';

export interface TlsOptions {
  /** CA bundle the servers' certificates are checked against (default: the system roots). */
  readonly ca?: Buffer | string;
  /** Client certificate and key, for servers that require one (both or neither). */
  readonly cert?: Buffer | string;
  readonly key?: Buffer | string;
  /** Name to check the certificate against instead of the endpoint's host. */
  readonly serverName?: string;
  /** TLS without checking the server's certificate (debugging only). */
  readonly insecure?: boolean;
}

export class TlsConfigError extends Error {
  override readonly name = 'TlsConfigError';
}

const buf = (b: Buffer | string | undefined): Buffer | null => (b === undefined ? null : Buffer.isBuffer(b) ? b : Buffer.from(b));

/** Plaintext for undefined; TLS otherwise (even `{}`: TLS with the system roots). */
export function credentialsOf(tls: TlsOptions | undefined): { creds: ChannelCredentials; options: ChannelOptions } {
  if (tls === undefined) return { creds: credentials.createInsecure(), options: {} };
  if ((tls.cert === undefined) !== (tls.key === undefined))
    throw new TlsConfigError('a client certificate needs its key (cert and key go together)');
  const verify = tls.insecure === true ? { rejectUnauthorized: false, checkServerIdentity: () => undefined } : {};
  const creds = credentials.createSsl(buf(tls.ca), buf(tls.key), buf(tls.cert), verify);
  const options: ChannelOptions =
    tls.serverName === undefined ? {} : { 'grpc.ssl_target_name_override': tls.serverName, 'grpc.default_authority': tls.serverName };
  return { creds, options };
}
