// TLS with certificates made here by openssl (test/pki.ts).
// 1. Split trust (etcd-style): the client port with its own CA and client certificates
//    (--tls-client-auth), peers on --peer-listen with mutual TLS under a separate peer CA. A node whose
//    peer certificate comes from another CA and a node with another --cluster-id sit in the peer list:
//    the cluster forms without them, their messages are refused and its term does not move.
// 2. One port, server TLS only: nodes dial each other's client port over TLS (forwarding included).
import { freePort, removeDir, sleep, tempDir, waitFor } from '@raftkv/testkit';
import { credentials, Metadata, status as grpcStatus, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { KVClient, RaftClient } from '@raftkv/proto';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { healthCheck, SERVER_PKG, TestCluster } from './harness.js';
import { haveOpenssl, Pki, type Issued } from './pki.js';

const dir = tempDir('raftkv-tls-');
const pki = new Pki(dir);
const read = (f: string): Buffer => readFileSync(f);
const RAFTCTL = join(SERVER_PKG, 'dist', 'cli', 'raftctl.js');

const maybe = haveOpenssl ? describe : describe.skip;
if (!haveOpenssl) console.warn('tls.test: openssl is not installed; skipping the TLS tests');
afterAll(() => removeDir(dir));

/** A KV read's outcome: the status code (0 for an answer). */
function readCode(address: string, creds: ChannelCredentials): Promise<number> {
  const client = new KVClient(address, creds);
  return new Promise<number>((resolve) => {
    client.read({ key: 'k', consistency: 0 }, new Metadata(), { deadline: Date.now() + 3000 }, (err: ServiceError | null) =>
      resolve(err?.code ?? 0),
    );
  }).finally(() => client.close());
}

/** The leader among `ids` (polled from the first one's status). */
function leaderAmong(c: TestCluster, ids: readonly string[]): Promise<string> {
  return waitFor(`a leader among ${ids.join(', ')}`, async () => {
    const s = await c.status(ids[0]!).catch(() => undefined);
    return s && ids.includes(s.leaderId) ? s.leaderId : undefined;
  });
}

maybe('split trust: client TLS with client certificates, peer mutual TLS on --peer-listen', () => {
  let c: TestCluster;
  let user: Issued;
  let nodeCert: Issued;
  const peerCerts = new Map<string, Issued>();
  let roguePeer: Issued;
  let healthPort: number;
  const peerPorts = new Map<string, number>();

  beforeAll(async () => {
    const clientCa = pki.ca('client-ca');
    const peerCa = pki.ca('peer-ca');
    const rogueCa = pki.ca('rogue-ca');
    nodeCert = pki.issue(clientCa, 'node');
    user = pki.issue(clientCa, 'user', 'clientAuth');
    // Each node's peer certificate names its member id (SAN URI raftkv://member/<id>).
    for (const id of ['n1', 'n2', 'n3', 'n5']) peerCerts.set(id, pki.issue(peerCa, `peer-${id}`, undefined, id));
    roguePeer = pki.issue(rogueCa, 'rogue-peer', undefined, 'n4');
    healthPort = await freePort();
    const ids = ['n1', 'n2', 'n3', 'n4', 'n5'];
    for (const id of ids) {
      let p = await freePort();
      while ([...peerPorts.values()].includes(p)) p = await freePort();
      peerPorts.set(id, p);
    }
    const peers = ids.map((id) => `${id}=127.0.0.1:${peerPorts.get(id)}`).join(',');
    c = await TestCluster.start({
      size: 5,
      // Five members of which only n1-n3 can take part: every commit and CheckQuorum needs all three,
      // so one of them starved for an election timeout by a loaded CI machine would depose the leader.
      electionTimeoutMinMs: 1000,
      electionTimeoutMaxMs: 2000,
      nodeFlags: (id) => {
        // n4: a peer certificate from another CA. n5: the right certificates, another cluster id.
        const peer = id === 'n4' ? roguePeer : peerCerts.get(id)!;
        return [
          '--peers',
          peers,
          '--peer-listen',
          `127.0.0.1:${peerPorts.get(id)}`,
          '--tls-cert',
          nodeCert.cert,
          '--tls-key',
          nodeCert.key,
          '--tls-ca',
          nodeCert.ca,
          '--tls-client-auth',
          '--peer-tls-cert',
          peer.cert,
          '--peer-tls-key',
          peer.key,
          '--peer-tls-ca',
          peer.ca,
          ...(id === 'n1' ? ['--health-listen', `127.0.0.1:${healthPort}`] : []),
          ...(id === 'n4' ? ['--log-level', 'debug'] : []),
          ...(id === 'n5' ? ['--cluster-id', 'another'] : []),
        ];
      },
      clientCredentials: credentials.createSsl(read(user.ca), read(user.key), read(user.cert)),
    });
  });
  afterAll(async () => {
    await c?.stop();
  });

  test('n1-n3 elect a leader and serve KV over TLS, forwarding from a follower included', async () => {
    const leader = await leaderAmong(c, ['n1', 'n2', 'n3']);
    const follower = ['n1', 'n2', 'n3'].find((id) => id !== leader)!;
    await c.put(follower, 'secret', 'v1');
    expect((await c.read(leader, 'secret')).value.toString()).toBe('v1');
    expect((await c.read(follower, 'secret')).value.toString()).toBe('v1');
  });

  test('a peer with a certificate from another CA and a node of another cluster never join; the term does not move', async () => {
    const leader = await leaderAmong(c, ['n1', 'n2', 'n3']);
    const before = await c.status(leader);
    await sleep(5000); // several election timeouts (1-2 s) of n4 and n5 campaigning
    const after = await c.status(leader);
    expect(after.leaderId).toBe(leader);
    expect(after.term).toBe(before.term);
    for (const id of ['n4', 'n5']) expect((await c.status(id)).leaderId).toBe('');
    // n5's calls reach the peer port (its certificate is good) and are refused for their cluster id.
    const lines = (id: string): string[] => c.logs(id).split('\n');
    expect(
      lines('n5').some((l) => l.includes('peer refused our stream') && l.includes('cluster id \\"another\\" is not \\"raftkv\\"')),
    ).toBe(true);
    expect(
      ['n1', 'n2', 'n3'].some((id) =>
        lines(id).some((l) => l.includes('refused a peer stream from another cluster') && l.includes('"clusterId":"another"')),
      ),
    ).toBe(true);
    // n4 cannot complete a handshake with anyone: it never delivers a message, nor receives one.
    expect(c.logs('n4')).toMatch(/peer stream failed/);
    expect(c.logs('n4')).not.toMatch(/"leaderId":"n[123]"/);
  });

  test('the client port: the CA, a client certificate of the client CA, and no Raft', async () => {
    const addr = c.node('n1').address;
    expect(await readCode(addr, credentials.createSsl(read(user.ca), read(user.key), read(user.cert)))).toBe(0);
    expect(await readCode(addr, credentials.createInsecure())).toBe(grpcStatus.UNAVAILABLE);
    // Without the CA the client cannot verify the node.
    expect(await readCode(addr, credentials.createSsl(null, read(user.key), read(user.cert)))).toBe(grpcStatus.UNAVAILABLE);
    // --tls-client-auth: no certificate, or one from the peer CA, is refused in the handshake.
    expect(await readCode(addr, credentials.createSsl(read(user.ca)))).toBe(grpcStatus.UNAVAILABLE);
    expect(
      await readCode(addr, credentials.createSsl(read(user.ca), read(peerCerts.get('n1')!.key), read(peerCerts.get('n1')!.cert))),
    ).toBe(grpcStatus.UNAVAILABLE);
    // A client holding a good client certificate cannot speak as a peer on the client port...
    const raft = new RaftClient(addr, credentials.createSsl(read(user.ca), read(user.key), read(user.cert)));
    const code = await new Promise<number>((resolve) => {
      const s = raft.send({ deadline: Date.now() + 3000 }, (err: ServiceError | null) => resolve(err?.code ?? 0));
      s.write({ clusterId: 'raftkv', messages: [], senderVersion: '', protocolVersion: 0 });
      s.end();
    });
    raft.close();
    // (the client port's server does not serve Raft at all: grpc/node-servers.ts)
    expect(code).toBe(grpcStatus.UNIMPLEMENTED);
    // ... nor reach the peer port at all.
    expect(await readCode(`127.0.0.1:${peerPorts.get('n1')}`, credentials.createSsl(read(user.ca), read(user.key), read(user.cert)))).toBe(
      grpcStatus.UNAVAILABLE,
    );
  });

  test('--health-listen answers plaintext probes; raftctl speaks TLS with a client certificate', async () => {
    expect(await healthCheck(`127.0.0.1:${healthPort}`, '')).toBe('SERVING');
    expect(await healthCheck(`127.0.0.1:${healthPort}`, 'raftkv.v1.KV')).toBe('SERVING');
    const tls = ['--tls-ca', user.ca, '--tls-cert', user.cert, '--tls-key', user.key];
    const out = execFileSync(process.execPath, [RAFTCTL, '--endpoints', c.node('n2').address, ...tls, 'v1', 'get', 'secret'], {
      encoding: 'utf8',
    });
    expect(out.trim()).toBe('v1');
    const put = execFileSync(
      process.execPath,
      [RAFTCTL, '--endpoints', c.node('n3').address, ...tls, '--tls-server-name', 'localhost', 'v1', 'put', 'k2', 'v2'],
      { encoding: 'utf8' },
    );
    expect(put).toMatch(/^OK/);
  });

  test('no key material in any log', () => {
    const keyLines = [nodeCert.key, peerCerts.get('n1')!.key, roguePeer.key].map((f) => readFileSync(f, 'utf8').split('\n')[1]!);
    for (const n of c.nodes) for (const line of keyLines) expect(c.logs(n.id)).not.toContain(line);
  });
});

maybe('one port, server TLS only (no client certificates, no --peer-listen)', () => {
  let c: TestCluster;
  let node: Issued;

  beforeAll(async () => {
    const ca = pki.ca('shared-ca');
    node = pki.issue(ca, 'shared-node');
    c = await TestCluster.start({
      extraFlags: ['--tls-cert', node.cert, '--tls-key', node.key, '--tls-ca', node.ca],
      clientCredentials: credentials.createSsl(read(node.ca)),
    });
  });
  afterAll(async () => {
    await c?.stop();
  });

  test('nodes dial each other over TLS; a client needs only the CA', async () => {
    const leader = await leaderAmong(c, ['n1', 'n2', 'n3']);
    const follower = ['n1', 'n2', 'n3'].find((id) => id !== leader)!;
    await c.put(follower, 'a', '1'); // forwarded over TLS
    expect((await c.read(follower, 'a')).value.toString()).toBe('1');
    expect(await readCode(c.node(leader).address, credentials.createSsl())).toBe(grpcStatus.UNAVAILABLE);
    const out = execFileSync(process.execPath, [RAFTCTL, '--endpoints', c.node(follower).address, '--insecure', 'v1', 'get', 'a'], {
      encoding: 'utf8',
    });
    expect(out.trim()).toBe('1');
  });
});
