// Server certificates re-read when their files change: Kubernetes rotates a mounted Secret in place
// (cert-manager renews before expiry), and a node must not need a restart to serve the new certificate.
// grpc-js lets a ServerCredentials push new secure-context options to the servers bound with it (the
// http2 server's setSecureContext): new handshakes use them, open connections keep theirs. The files
// are polled (a Secret's update is a symlink swap that file watches miss); a change is taken only once
// the files form a valid set again (the key matches the certificate, which has not expired), so a
// rotation seen half-written keeps the old certificate until the next poll.
import { ServerCredentials, type ServerCredentials as Creds } from '@grpc/grpc-js';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { SecureContextOptions } from 'node:tls';
import type { Logger } from '../observability/logger.js';
import { readMaterial, type ClientTls, type PeerTls, type TlsMaterial } from './tls.js';

/** How often the files are read again (three small files). */
export const TLS_RELOAD_EVERY_MS = 2000;

const contextOf = (m: TlsMaterial): SecureContextOptions => ({ ...(m.ca === null ? {} : { ca: m.ca }), cert: [m.cert], key: [m.key] });

export class ReloadingServerCredentials extends ServerCredentials {
  private current: TlsMaterial;
  private timer: NodeJS.Timeout | null = null;
  private lastProblem = '';

  constructor(
    m: TlsMaterial,
    requestCert: boolean,
    /** Which flags the files came from: 'tls-' (client port) or 'peer-tls-' (peer port). */
    private readonly prefix: 'tls-' | 'peer-tls-',
  ) {
    super({ requestCert }, contextOf(m));
    this.current = m;
  }

  override _equals(other: Creds): boolean {
    return other === this;
  }

  /** Polls the files until close(); changes are logged. */
  watch(logger: Logger, everyMs = TLS_RELOAD_EVERY_MS): void {
    this.timer = setInterval(() => this.check(logger), everyMs);
    this.timer.unref();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Reads the files; when they changed and are valid, new handshakes present them. */
  check(logger: Logger): void {
    const f = this.current.files;
    const same = (path: string | null, b: Buffer | null): boolean => {
      if (path === null || b === null) return path === null && b === null;
      try {
        return readFileSync(path).equals(b);
      } catch {
        return false; // missing for now (mid-swap): checked below, reported if it stays so
      }
    };
    if (same(f.cert, this.current.cert) && same(f.key, this.current.key) && same(f.ca, this.current.ca)) return;
    const files: Record<string, string | undefined> = {
      [`${this.prefix}cert`]: f.cert,
      [`${this.prefix}key`]: f.key,
      [`${this.prefix}ca`]: f.ca ?? undefined,
    };
    let next: TlsMaterial | null;
    try {
      next = readMaterial((name) => files[name], this.prefix);
    } catch (e) {
      const problem = (e as Error).message;
      if (problem !== this.lastProblem)
        logger.warn('TLS files changed but cannot be used yet; still serving the previous certificate', { error: problem });
      this.lastProblem = problem;
      return;
    }
    if (next === null) return;
    this.lastProblem = '';
    this.current = next;
    this.updateSecureContextOptions(contextOf(next));
    const leaf = new X509Certificate(next.cert);
    logger.info('TLS certificate reloaded', {
      port: this.prefix === 'tls-' ? 'client' : 'peer',
      subject: leaf.subject.replace(/\n/g, ', '),
      validTo: leaf.validTo,
      sha256: leaf.fingerprint256,
    });
  }
}

/** The client port's credentials (reloading when TLS is on). */
export function clientPortCredentials(tls: ClientTls | null): ServerCredentials {
  if (tls === null) return ServerCredentials.createInsecure();
  return new ReloadingServerCredentials(tls, tls.clientAuth, 'tls-');
}

/** The peer port's credentials: mutual TLS with the peer CA (reloading), or plaintext. */
export function peerPortCredentials(tls: PeerTls | null): ServerCredentials {
  if (tls === null) return ServerCredentials.createInsecure();
  return new ReloadingServerCredentials(tls, true, 'peer-tls-');
}
