// Certificates rotated in place (as Kubernetes updates a mounted Secret) are served without a restart:
// on the client port and on the peer port, the next handshake presents the new certificate; a
// rotation seen half-done (a certificate without its key) keeps the old one until the set is whole.
import { freePorts, removeDir, requireBuilt, spawnTracked, tempDir, waitFor } from '@raftkv/testkit';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { MAIN } from './harness.js';
import { haveOpenssl, Pki, type Issued } from './pki.js';

const maybe = haveOpenssl ? describe : describe.skip;

/** The fingerprint of the certificate a TLS handshake with 127.0.0.1:port is answered with. */
function servedFingerprint(port: number, ca: string, client?: Issued): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      ca: readFileSync(ca),
      ALPNProtocols: ['h2'],
      ...(client === undefined ? {} : { cert: readFileSync(client.cert), key: readFileSync(client.key) }),
    });
    s.once('secureConnect', () => {
      const fp = s.getPeerCertificate().fingerprint256;
      s.destroy();
      resolve(fp);
    });
    s.once('error', reject);
  });
}

const fingerprint = (i: Issued): string => new X509Certificate(readFileSync(i.cert)).fingerprint256;

maybe('TLS certificates re-read when their files change', () => {
  const dir = tempDir('raftkv-tls-reload-');
  afterAll(() => removeDir(dir));

  test('client and peer ports present the rotated certificate at the next handshake', async () => {
    requireBuilt(MAIN);
    const pki = new Pki(dir);
    const clientCa = pki.ca('client-ca');
    const peerCa = pki.ca('peer-ca');
    const [old, next] = [pki.issue(clientCa, 'node-old'), pki.issue(clientCa, 'node-new')];
    const [peerOld, peerNew] = [pki.issue(peerCa, 'peer-old', undefined, 'n1'), pki.issue(peerCa, 'peer-new', undefined, 'n1')];
    const probe = pki.issue(peerCa, 'probe', undefined, 'n9');
    // The files the node reads: overwritten in place below.
    const live = (name: string, from: string): string => {
      copyFileSync(from, join(dir, name));
      return join(dir, name);
    };
    const files = {
      cert: live('live.pem', old.cert),
      key: live('live.key', old.key),
      peerCert: live('peer-live.pem', peerOld.cert),
      peerKey: live('peer-live.key', peerOld.key),
    };
    const [clientPort, peerPort] = await freePorts(2);
    const args = [
      ...['--id', 'n1', '--listen', `127.0.0.1:${clientPort}`, '--peer-listen', `127.0.0.1:${peerPort}`],
      ...['--peers', `n1=127.0.0.1:${peerPort}`, '--data-dir', join(dir, 'n1')],
      ...['--tls-cert', files.cert, '--tls-key', files.key, '--tls-ca', clientCa.cert],
      ...['--peer-tls-cert', files.peerCert, '--peer-tls-key', files.peerKey, '--peer-tls-ca', peerCa.cert],
    ];
    const p = spawnTracked(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    try {
      await waitFor('the node started', () => (out.includes('raftkv node started') ? true : undefined), 30_000);
      expect(await servedFingerprint(clientPort!, clientCa.cert)).toBe(fingerprint(old));
      expect(await servedFingerprint(peerPort!, peerCa.cert, probe)).toBe(fingerprint(peerOld));

      // Half a rotation: the new certificate with the old key. Not taken; the old one is still served.
      copyFileSync(next.cert, files.cert);
      await waitFor('the refusal', () => (out.includes('cannot be used yet') ? true : undefined), 15_000);
      expect(await servedFingerprint(clientPort!, clientCa.cert)).toBe(fingerprint(old));

      copyFileSync(next.key, files.key);
      copyFileSync(peerNew.cert, files.peerCert);
      copyFileSync(peerNew.key, files.peerKey);
      await waitFor(
        'the new client-port certificate',
        async () => ((await servedFingerprint(clientPort!, clientCa.cert)) === fingerprint(next) ? true : undefined),
        15_000,
      );
      await waitFor(
        'the new peer-port certificate',
        async () => ((await servedFingerprint(peerPort!, peerCa.cert, probe)) === fingerprint(peerNew) ? true : undefined),
        15_000,
      );
      expect(out.match(/TLS certificate reloaded/g)?.length).toBe(2);
      expect(p.exitCode).toBeNull();
    } finally {
      p.kill('SIGKILL');
    }
  }, 90_000);
});
