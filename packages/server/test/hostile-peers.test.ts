// Hostile peers against real 3-node clusters on loopback: forged, fuzzed, replayed and undecodable
// peer calls sent to every node's client and peer port, without credentials, with wrong ones, and with
// valid ones (a member that is buggy or compromised). Whatever arrives: calls without a valid
// credential end before the handler reads a byte, no node crashes, the term does not jump, committed
// data never changes (a key written before reads the same after; replicas' digests agree) and the
// cluster stays writable.
//
// Two clusters: one serving Raft on the client port with --peer-secret-file, one with --peer-listen and
// per-member mutual TLS certificates (the Kubernetes base's setup).
import { credentials, status as grpcStatus, type ChannelCredentials } from '@grpc/grpc-js';
import { MessageType } from '@raftkv/proto';
import { freePorts, removeDir, tempDir, waitFor } from '@raftkv/testkit';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { signPeerCall } from '../src/peer/peer-secret.js';
import { TestCluster } from './harness.js';
import {
  batch,
  digests,
  fuzzBatch,
  hugeTermBatch,
  INSTALL_SNAPSHOT,
  message,
  prng,
  SEND,
  sendRaw,
  snapshotChunk,
  type Outcome,
} from './hostile-peer.js';
import { haveOpenssl, Pki, type Issued } from './pki.js';

const CLUSTER = 'raftkv';
const IDS = ['n1', 'n2', 'n3'];
const insecure = credentials.createInsecure();
const MAX = Number.MAX_SAFE_INTEGER;

/** Terms no correct peer could send now: beyond 2^40 (35 years of an election a millisecond). */
const absurdTerm = (rand: () => number) => (): number => 2 ** 40 + Math.floor(rand() * (MAX - 2 ** 40));

async function seed(c: TestCluster): Promise<{ leader: string; term: number }> {
  const { leader, term } = await c.waitForLeader(60_000);
  await c.putRetry(leader, 'before', 'v0', { clientId: 'hostile-seed', sequence: 1 });
  return { leader, term };
}

/** The cluster is unharmed: no node died, the term did not jump, old data reads the same, new writes work, replicas agree. */
async function expectUnharmed(c: TestCluster, termBefore: number): Promise<void> {
  for (const n of c.nodes) expect({ id: n.id, running: n.proc !== null }).toEqual({ id: n.id, running: true });
  const { leader, term } = await c.waitForLeader(60_000);
  // Slow machines may see a real election or two; never a jump.
  expect(term).toBeGreaterThanOrEqual(termBefore);
  expect(term).toBeLessThan(termBefore + 10);
  await c.putRetry(leader, 'after', 'v1', { clientId: 'hostile-check', sequence: 1 });
  for (const id of IDS) {
    expect((await c.read(id, 'before')).value.toString()).toBe('v0');
    expect((await c.read(id, 'after')).value.toString()).toBe('v1');
  }
  await waitFor(
    'every replica at the same applied index with the same digest',
    async () => {
      const d = [...(await digests(c)).values()];
      return d.every((x) => x.appliedIndex === d[0]!.appliedIndex && x.digest === d[0]!.digest) ? true : undefined;
    },
    30_000,
  );
  for (const id of IDS) expect((await c.status(id)).term).toBeLessThan(termBefore + 10);
}

/** A member that talks to `to` claiming to be another (the leader when it can). */
function impostorFor(leader: string, to: string): { as: string; spoofed: string } {
  const as = IDS.find((id) => id !== to && id !== leader)!;
  return { as, spoofed: IDS.find((id) => id !== to && id !== as)! };
}

const maybe = haveOpenssl ? describe : describe.skip;

describe('hostile peers: one port, --peer-secret-file', () => {
  const dir = tempDir('raftkv-hostile-secret-');
  const secret = Buffer.from(randomBytes(32).toString('hex'));
  const secretFile = join(dir, 'peer-secret');
  let c: TestCluster;
  let leader: string;
  let termBefore: number;
  const outcomes: Outcome[] = [];

  beforeAll(async () => {
    writeFileSync(secretFile, `${secret.toString()}\n`, { mode: 0o600 });
    c = await TestCluster.start({ extraFlags: ['--peer-secret-file', secretFile] });
    ({ leader, term: termBefore } = await seed(c));
  });
  afterAll(async () => {
    await c?.stop();
    removeDir(dir);
  });

  const addr = (id: string): string => c.node(id).address;
  const signed = (from: string, to: string, method = SEND, nowMs = Date.now(), key = secret) =>
    signPeerCall(key, CLUSTER, from, to, method, nowMs);
  const heartbeat = (from: string, to: string, term: number) =>
    batch(CLUSTER, [message({ type: MessageType.MESSAGE_TYPE_HEARTBEAT, from, to, term, commit: MAX })]);
  const impostor = (to: string) => impostorFor(leader, to);

  test('calls without a valid stream start are refused UNAUTHENTICATED on every node', async () => {
    const wrong = Buffer.from(randomBytes(32).toString('hex'));
    for (const to of IDS) {
      const cases: [string, Promise<Outcome>, RegExp][] = [
        [
          'no credentials: the forged 2^53-1 heartbeat',
          sendRaw(addr(to), insecure, SEND, [heartbeat(leader, to, MAX)]),
          /no peer credentials/,
        ],
        ['no credentials: random bytes', sendRaw(addr(to), insecure, SEND, [randomBytes(64), randomBytes(300)]), /no peer credentials/],
        [
          'no credentials: InstallSnapshot',
          sendRaw(addr(to), insecure, INSTALL_SNAPSHOT, [snapshotChunk({ clusterId: CLUSTER })]),
          /no peer credentials/,
        ],
        [
          'a wrong secret',
          sendRaw(addr(to), insecure, SEND, [heartbeat(leader, to, MAX)], signed(leader, to, SEND, Date.now(), wrong)),
          /bad peer credentials/,
        ],
        [
          'signed for another receiver',
          sendRaw(addr(to), insecure, SEND, [heartbeat(leader, to, MAX)], signed(leader, to === 'n1' ? 'n2' : 'n1')),
          /bad peer credentials/,
        ],
        [
          'signed for another method',
          sendRaw(addr(to), insecure, SEND, [heartbeat(leader, to, MAX)], signed(leader, to, INSTALL_SNAPSHOT)),
          /bad peer credentials/,
        ],
        [
          'a start 60 s old',
          sendRaw(addr(to), insecure, SEND, [heartbeat(leader, to, MAX)], signed(leader, to, SEND, Date.now() - 60_000)),
          /outside/,
        ],
        [
          'a start 60 s ahead',
          sendRaw(addr(to), insecure, SEND, [heartbeat(leader, to, MAX)], signed(leader, to, SEND, Date.now() + 60_000)),
          /outside/,
        ],
      ];
      for (const [what, p, why] of cases) {
        const o = await p;
        outcomes.push(o);
        expect({ what, to, code: o.code }).toEqual({ what, to, code: grpcStatus.UNAUTHENTICATED });
        expect(o.details).toMatch(why);
      }
    }
  });

  test('a captured stream start replayed is refused', async () => {
    const from = IDS.find((id) => id !== leader)!;
    const to = IDS.find((id) => id !== leader && id !== from)!;
    const md = signed(from, to);
    // The genuine stream (an empty batch) is accepted...
    expect(await sendRaw(addr(to), insecure, SEND, [batch(CLUSTER, [])], md)).toEqual({ code: grpcStatus.OK, details: '' });
    // ... its replay, with the forged heartbeat, is not.
    const replay = await sendRaw(addr(to), insecure, SEND, [heartbeat(leader, to, MAX)], md);
    expect(replay.code).toBe(grpcStatus.UNAUTHENTICATED);
    expect(replay.details).toMatch(/replayed stream start/);
  });

  test('a member cannot speak for another; a good stream of another cluster is refused', async () => {
    for (const to of IDS) {
      const { as, spoofed } = impostor(to);
      const spoof = await sendRaw(addr(to), insecure, SEND, [heartbeat(spoofed, to, MAX)], signed(as, to));
      expect(spoof.code).toBe(grpcStatus.PERMISSION_DENIED);
      expect(spoof.details).toMatch(/on a stream of/);
      const other = await sendRaw(addr(to), insecure, SEND, [batch('another', [])], signed(as, to));
      expect(other.code).toBe(grpcStatus.FAILED_PRECONDITION);
    }
  });

  test('authenticated but impossible: the 2^53-1 heartbeat from the leader, 2^64-1, garbage, fuzz, a forged snapshot', async () => {
    const rand = prng(20_251);
    const followers = IDS.filter((id) => id !== leader);
    for (const to of followers) {
      // Accepted as a stream (the sender is who it says), dropped by the core's bounds.
      expect((await sendRaw(addr(to), insecure, SEND, [heartbeat(leader, to, MAX)], signed(leader, to))).code).toBe(grpcStatus.OK);
      expect((await sendRaw(addr(to), insecure, SEND, [hugeTermBatch(CLUSTER, leader, to)], signed(leader, to))).code).not.toBe(
        grpcStatus.OK,
      );
      expect((await sendRaw(addr(to), insecure, SEND, [randomBytes(200)], signed(leader, to))).code).not.toBe(grpcStatus.OK);
      // A snapshot of an absurd term whose data does not check out never reaches the core.
      const snap = message({
        type: MessageType.MESSAGE_TYPE_SNAPSHOT,
        from: leader,
        to,
        term: MAX,
        snapshot: { index: MAX, term: MAX, voters: IDS, learners: [] },
      });
      const chunks = [
        snapshotChunk({ clusterId: CLUSTER, message: snap }),
        snapshotChunk({ offset: 0, data: randomBytes(100) }),
        snapshotChunk({ offset: 100, last: true, totalBytes: 100, sha256: 'ab' }),
      ];
      const s = await sendRaw(addr(to), insecure, INSTALL_SNAPSHOT, chunks, signed(leader, to, INSTALL_SNAPSHOT));
      expect(s.code).toBe(grpcStatus.DATA_LOSS);
    }
    for (const to of IDS) {
      for (let i = 0; i < 15; i++) {
        const as = IDS.filter((id) => id !== to)[i % 2]!;
        const o = await sendRaw(addr(to), insecure, SEND, [fuzzBatch(rand, CLUSTER, IDS, to, absurdTerm(rand), as)], signed(as, to));
        expect([grpcStatus.OK, grpcStatus.INTERNAL]).toContain(o.code);
        // Without credentials the same fuzz never gets in.
        const u = await sendRaw(addr(to), insecure, SEND, [fuzzBatch(rand, CLUSTER, IDS, to, () => Math.floor(rand() * MAX))]);
        expect(u.code).toBe(grpcStatus.UNAUTHENTICATED);
      }
    }
    for (const id of IDS) expect((await c.status(id)).term).toBeLessThan(termBefore + 10);
  });

  test('the cluster is unharmed', async () => {
    await expectUnharmed(c, termBefore);
    // Refusals are logged (rate-limited), never with the secret.
    const logs = IDS.map((id) => c.logs(id)).join('\n');
    expect(logs).toMatch(/refused a peer call/);
    expect(logs).not.toContain(secret.toString());
  });
});

maybe('hostile peers: --peer-listen with per-member mutual TLS', () => {
  const dir = tempDir('raftkv-hostile-tls-');
  const pki = new Pki(dir);
  const certs = new Map<string, Issued>();
  let noMember: Issued;
  let rogue: Issued;
  const peerPorts = new Map<string, number>();
  let c: TestCluster;
  let leader: string;
  let termBefore: number;

  beforeAll(async () => {
    const ca = pki.ca('peer-ca');
    for (const id of IDS) certs.set(id, pki.issue(ca, `peer-${id}`, undefined, id));
    noMember = pki.issue(ca, 'peer-nobody');
    rogue = pki.issue(pki.ca('rogue-ca'), 'rogue', undefined, 'n1');
    (await freePorts(IDS.length)).forEach((p, i) => peerPorts.set(IDS[i]!, p));
    const peers = IDS.map((id) => `${id}=127.0.0.1:${peerPorts.get(id)}`).join(',');
    c = await TestCluster.start({
      nodeFlags: (id) => {
        const m = certs.get(id)!;
        return [
          '--peers',
          peers,
          '--peer-listen',
          `127.0.0.1:${peerPorts.get(id)}`,
          '--peer-tls-cert',
          m.cert,
          '--peer-tls-key',
          m.key,
          '--peer-tls-ca',
          m.ca,
        ];
      },
    });
    ({ leader, term: termBefore } = await seed(c));
  });
  afterAll(async () => {
    await c?.stop();
    removeDir(dir);
  });

  const read = (f: string): Buffer => readFileSync(f);
  const as = (i: Issued): ChannelCredentials => credentials.createSsl(read(i.ca), read(i.key), read(i.cert));
  const peerAddr = (id: string): string => `127.0.0.1:${peerPorts.get(id)}`;
  const heartbeat = (from: string, to: string, term: number) =>
    batch(CLUSTER, [message({ type: MessageType.MESSAGE_TYPE_HEARTBEAT, from, to, term, commit: MAX })]);
  const impostor = (to: string) => impostorFor(leader, to);

  test('the client port serves no Raft; the peer port wants a member certificate of the peer CA', async () => {
    for (const to of IDS) {
      expect((await sendRaw(c.node(to).address, insecure, SEND, [heartbeat(leader, to, MAX)])).code).toBe(grpcStatus.UNIMPLEMENTED);
      expect((await sendRaw(c.node(to).address, insecure, INSTALL_SNAPSHOT, [randomBytes(100)])).code).toBe(grpcStatus.UNIMPLEMENTED);
      // No certificate, or one of another CA: the handshake fails.
      expect((await sendRaw(peerAddr(to), credentials.createSsl(read(certs.get(to)!.ca)), SEND, [heartbeat(leader, to, MAX)])).code).toBe(
        grpcStatus.UNAVAILABLE,
      );
      expect((await sendRaw(peerAddr(to), as(rogue), SEND, [heartbeat(leader, to, MAX)])).code).toBe(grpcStatus.UNAVAILABLE);
      expect((await sendRaw(peerAddr(to), insecure, SEND, [heartbeat(leader, to, MAX)])).code).toBe(grpcStatus.UNAVAILABLE);
      // The peer CA's certificate that names no member.
      const o = await sendRaw(peerAddr(to), as(noMember), SEND, [heartbeat(leader, to, MAX)]);
      expect(o.code).toBe(grpcStatus.UNAUTHENTICATED);
      expect(o.details).toMatch(/names no member/);
    }
  });

  test("a member's certificate speaks for that member only", async () => {
    for (const to of IDS) {
      const { as: member, spoofed } = impostor(to);
      const o = await sendRaw(peerAddr(to), as(certs.get(member)!), SEND, [heartbeat(spoofed, to, MAX)]);
      expect(o.code).toBe(grpcStatus.PERMISSION_DENIED);
      expect(o.details).toMatch(/on a stream of/);
    }
  });

  test("authenticated but impossible: the leader's certificate sends the 2^53-1 heartbeat and fuzz", async () => {
    const rand = prng(77);
    for (const to of IDS.filter((id) => id !== leader)) {
      expect((await sendRaw(peerAddr(to), as(certs.get(leader)!), SEND, [heartbeat(leader, to, MAX)])).code).toBe(grpcStatus.OK);
      for (let i = 0; i < 10; i++) {
        const o = await sendRaw(peerAddr(to), as(certs.get(leader)!), SEND, [fuzzBatch(rand, CLUSTER, IDS, to, absurdTerm(rand), leader)]);
        expect([grpcStatus.OK, grpcStatus.INTERNAL]).toContain(o.code);
      }
    }
    for (const id of IDS) expect((await c.status(id)).term).toBeLessThan(termBefore + 10);
  });

  test('the cluster is unharmed', async () => {
    await expectUnharmed(c, termBefore);
  });
});
