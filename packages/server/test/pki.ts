// Certificates for TLS tests, made with the openssl CLI in a temp dir (P-256 keys: fast to make).
// Node certificates name 127.0.0.1 and localhost and allow both server and client use, as a node
// both serves and dials.
import { execFileSync, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const haveOpenssl = spawnSync('openssl', ['version']).status === 0;

export interface Ca {
  readonly name: string;
  readonly cert: string;
  readonly key: string;
}

export interface Issued {
  readonly cert: string;
  readonly key: string;
  /** The CA certificate that signed it. */
  readonly ca: string;
}

export class Pki {
  constructor(readonly dir: string) {}

  private ssl(...args: string[]): void {
    execFileSync('openssl', args, { cwd: this.dir, stdio: ['ignore', 'ignore', 'pipe'] });
  }

  ca(name: string): Ca {
    this.ssl(
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.pem`,
    );
    return { name, cert: join(this.dir, `${name}.pem`), key: join(this.dir, `${name}.key`) };
  }

  /**
   * A certificate for `name` signed by `ca`; `usage` defaults to both server and client. `member`: the
   * member id a peer certificate names (SAN URI raftkv://member/<id>).
   */
  issue(ca: Ca, name: string, usage = 'serverAuth,clientAuth', member?: string): Issued {
    this.ssl(
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-subj',
      `/CN=${name}`,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
    );
    writeFileSync(
      join(this.dir, `${name}.ext`),
      `subjectAltName=IP:127.0.0.1,DNS:localhost${member === undefined ? '' : `,URI:raftkv://member/${member}`}\nextendedKeyUsage=${usage}\n`,
    );
    this.ssl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      ca.cert,
      '-CAkey',
      ca.key,
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.pem`,
    );
    return { cert: join(this.dir, `${name}.pem`), key: join(this.dir, `${name}.key`), ca: ca.cert };
  }
}
