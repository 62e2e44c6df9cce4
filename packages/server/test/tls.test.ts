// TLS with one cluster CA: every caller, peer or client, shows a certificate the CA signed (mutual
// TLS). Certificates are made here with openssl. A node whose certificate comes from another CA
// never joins; plaintext clients and clients without a certificate are refused; probes use the
// plaintext --health-listen port.
import { credentials, Metadata, status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import { KVClient, Role } from '@raftkv/proto';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, healthCheck, SERVER_PKG, TestCluster, until } from './harness.js';
import { removeDir, tempDir } from './tmp.js';

const haveOpenssl = spawnSync('openssl', ['version']).status === 0;
const dir = tempDir('raftkv-tls-');
const ssl = (...args: string[]): void => {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
};

/** A CA, and a certificate for 127.0.0.1 signed by it (usable as server and client certificate). */
function pki(name: string): { ca: string; cert: string; key: string } {
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${name} CA`, '-keyout', `${name}-ca.key`, '-out', `${name}-ca.pem`);
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name} node`, '-keyout', `${name}.key`, '-out', `${name}.csr`);
  writeFileSync(join(dir, `${name}.ext`), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
  ssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${name}-ca.pem`, '-CAkey', `${name}-ca.key`, '-CAcreateserial', '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.pem`);
  return { ca: join(dir, `${name}-ca.pem`), cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) };
}

const maybe = haveOpenssl ? describe : describe.skip;
if (!haveOpenssl) console.warn('tls.test: openssl is not installed; skipping the TLS tests');

maybe('a TLS cluster', () => {
  let c: TestCluster;
  let good: ReturnType<typeof pki>;
  let rogue: ReturnType<typeof pki>;
  const healthPorts = new Map<string, number>();
  const flagsOf = (p: ReturnType<typeof pki>) => ['--tls-cert', p.cert, '--tls-key', p.key, '--tls-ca', p.ca];

  beforeAll(async () => {
    good = pki('cluster');
    rogue = pki('rogue');
    for (const id of ['n1', 'n2', 'n3']) healthPorts.set(id, await freePort());
    const read = (f: string) => readFileSync(f);
    c = await TestCluster.start({
      // n3 carries a certificate from another CA: n1 and n2 must form the cluster without it.
      nodeFlags: (id) => [...flagsOf(id === 'n3' ? rogue : good), '--health-listen', `127.0.0.1:${healthPorts.get(id)}`],
      clientCredentials: credentials.createSsl(read(good.ca), read(good.key), read(good.cert)),
    });
  });
  afterAll(async () => {
    await c?.stop();
    removeDir(dir);
  });

  test('nodes with the cluster CA elect a leader and serve KV over TLS, forwarding included', async () => {
    const leader = await until('a leader among n1, n2', async () => {
      const s = await c.status('n1').catch(() => undefined);
      return s && (s.leaderId === 'n1' || s.leaderId === 'n2') ? s.leaderId : undefined;
    });
    const follower = leader === 'n1' ? 'n2' : 'n1';
    await c.put(follower, 'secret', 'v1');
    expect((await c.read(leader, 'secret')).value.toString()).toBe('v1');
  });

  test('a node with a certificate from another CA never joins', async () => {
    const n3 = await c.status('n3').catch((e: ServiceError) => e);
    // Our client (cluster CA) cannot even verify n3; and n3 never learned the leader from anyone.
    expect('code' in n3 ? n3.code : 'answered').toBe(grpcStatus.UNAVAILABLE);
    const n1 = await c.status('n1');
    expect(n1.role === Role.ROLE_LEADER || n1.leaderId !== '').toBe(true);
    expect(n1.leaderId).not.toBe('n3');
    expect(c.logs('n3')).not.toMatch(/"kind":"became-follower","term":\d+,"leaderId":"n[12]"/);
  });

  test('plaintext clients and clients without a certificate are refused', async () => {
    const call = (client: KVClient): Promise<ServiceError | null> =>
      new Promise((resolve) => {
        client.read({ key: 'secret', consistency: 0 }, new Metadata(), { deadline: Date.now() + 3000 }, (err) => resolve(err));
      });
    const plain = new KVClient(c.node('n1').address, credentials.createInsecure());
    const noCert = new KVClient(c.node('n1').address, credentials.createSsl(readFileSync(good.ca)));
    try {
      expect((await call(plain))?.code).toBe(grpcStatus.UNAVAILABLE);
      expect((await call(noCert))?.code).toBe(grpcStatus.UNAVAILABLE);
    } finally {
      plain.close();
      noCert.close();
    }
  });

  test('--health-listen answers plaintext probes; raftctl speaks TLS', async () => {
    expect(await healthCheck(`127.0.0.1:${healthPorts.get('n1')}`, '')).toBe('SERVING');
    const out = execFileSync(
      process.execPath,
      [join(SERVER_PKG, 'dist', 'raftctl.js'), '--endpoints', c.node('n1').address, '--tls-ca', good.ca, '--tls-cert', good.cert, '--tls-key', good.key, 'get', 'secret'],
      { encoding: 'utf8' },
    );
    expect(out.trim()).toBe('v1');
  });

  test('a certificate without its key is a config error naming the flag', () => {
    const r = spawnSync(process.execPath, [join(SERVER_PKG, 'dist', 'main.js'), '--id', 'x', '--peers', 'x=127.0.0.1:1', '--data-dir', dir, '--tls-cert', good.cert], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe('raftkv: --tls-key: is required with --tls-cert');
  });
});
