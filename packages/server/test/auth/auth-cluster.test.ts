// etcd's auth on a real 3-node raftkv, beyond what etcdctl shows (packages/compat's auth test): changes
// sent to a follower, a token from one node used on the others, raftkv.v1 KV and Admin under auth, a
// forged forwarding header or token getting nothing, Watch, Lease, Cluster and Maintenance as etcd 3.4
// checks them (through followers, with etcdctl and raftctl --user), and a node that was down catching up
// through a snapshot that carries the auth state (equal digests, the same refusals there).
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { authpb, etcdserverpb, ReadConsistency, type ProposeRequest } from '@raftkv/proto';
import { waitFor } from '@raftkv/testkit';
import { spawn, spawnSync } from 'node:child_process';
import { TestCluster } from '../harness.js';
import { RAFTCTL, haveEtcdctl } from '../cli/etcdctl-run.js';

const b = (s: string): Buffer => Buffer.from(s);
type Call<T> = (md: Metadata, o: { deadline: number }, cb: (e: ServiceError | null, r?: T) => void) => unknown;
const call = <T>(f: Call<T>, md = new Metadata()): Promise<T> =>
  new Promise((resolve, reject) => void f(md, { deadline: Date.now() + 10_000 }, (e, r) => (e ? reject(e) : resolve(r as T))));
const failure = async (p: Promise<unknown>): Promise<string> => {
  try {
    await p;
  } catch (e) {
    const se = e as ServiceError;
    return `${status[se.code]}: ${se.details}`;
  }
  return 'ok';
};
const withToken = (token: string, extra: Record<string, string> = {}): Metadata => {
  const md = new Metadata();
  md.set('token', token);
  for (const [k, v] of Object.entries(extra)) md.set(k, v);
  return md;
};
/** etcdctl (3.4) or raftctl, run to its end: exit code, standard output and the lines of standard error. */
const ctl = (tool: 'etcdctl' | 'raftctl', args: string[]): { code: number | null; out: string; err: string } => {
  const [cmd, pre] = tool === 'etcdctl' ? ['etcdctl', []] : [process.execPath, [RAFTCTL]];
  const r = spawnSync(cmd, [...pre, ...args], { env: { ...process.env, ETCDCTL_API: '3' }, timeout: 30_000 });
  const err = r.stderr
    .toString()
    .split('\n')
    .filter((l) => !l.startsWith('{'))
    .join('\n');
  return { code: r.status, out: r.stdout.toString(), err };
};
const putReq = (key: string): ProposeRequest => ({ command: { $case: 'put', put: { key, value: b('1') } }, clientId: '', sequence: 0 });

describe('etcd auth on a 3-node raftkv', () => {
  let c: TestCluster;
  const auth = new Map<string, etcdserverpb.AuthClient>();
  const kv = new Map<string, etcdserverpb.KVClient>();
  const authOf = (id: string): etcdserverpb.AuthClient => {
    if (!auth.has(id)) auth.set(id, new etcdserverpb.AuthClient(c.node(id).address, credentials.createInsecure()));
    return auth.get(id)!;
  };
  const kvOf = (id: string): etcdserverpb.KVClient => {
    if (!kv.has(id)) kv.set(id, new etcdserverpb.KVClient(c.node(id).address, credentials.createInsecure()));
    return kv.get(id)!;
  };
  const login = async (id: string, name: string, password: string): Promise<string> =>
    (await call<etcdserverpb.AuthenticateResponse>((md, o, cb) => authOf(id).authenticate({ name, password }, md, o, cb))).token;
  const digests = async (ids: string[], token: string): Promise<string[]> =>
    Promise.all(
      ids.map(async (id) => {
        const r = await call<{ appliedIndex: number; digest: string }>(
          (md, o, cb) => c.adminClient(id).digest({}, md, o, cb),
          withToken(token),
        );
        return r.digest;
      }),
    );

  beforeAll(async () => {
    // Small snapshots, so a node that was down catches up from one.
    c = await TestCluster.start({ extraFlags: ['--snapshot-entries', '20', '--snapshot-catchup-entries', '5'] });
    await c.waitForLeader();
  });
  afterAll(async () => {
    for (const a of [...auth.values(), ...kv.values()]) a.close();
    await c.stop();
  });

  test('changes through a follower; a token from one node works on every node; raftkv.v1 and Admin obey it', async () => {
    const { leader } = await c.waitForLeader();
    const [f1, f2] = c.nodes.map((n) => n.id).filter((id) => id !== leader) as [string, string];
    const a = authOf(f1);
    await call((md, o, cb) => a.userAdd({ name: 'root', password: 'rootpw', options: undefined }, md, o, cb));
    await call((md, o, cb) => a.userGrantRole({ user: 'root', role: 'root' }, md, o, cb));
    await call((md, o, cb) => a.roleAdd({ name: 'r' }, md, o, cb));
    const perm = { permType: authpb.Permission_Type.READWRITE, key: b('v1/'), rangeEnd: b('v10') };
    await call((md, o, cb) => a.roleGrantPermission({ name: 'r', perm }, md, o, cb));
    await call((md, o, cb) => a.userAdd({ name: 'alice', password: 'alicepw', options: undefined }, md, o, cb));
    await call((md, o, cb) => a.userGrantRole({ user: 'alice', role: 'r' }, md, o, cb));
    await call((md, o, cb) => authOf(f2).authEnable({}, md, o, cb));

    const alice = await login(f1, 'alice', 'alicepw');
    const root = await login(leader, 'root', 'rootpw');
    // raftkv.v1 on every node with alice's token (followers forward, carrying it).
    for (const id of [f1, f2, leader]) {
      await call((md, o, cb) => c.kvClient(id).propose(putReq(`v1/${id}`), md, o, cb), withToken(alice));
      const r = await call<{ found: boolean }>(
        (md, o, cb) => c.kvClient(id).read({ key: `v1/${id}`, consistency: ReadConsistency.READ_CONSISTENCY_LINEARIZABLE }, md, o, cb),
        withToken(alice),
      );
      expect(r.found).toBe(true);
      expect(await failure(call((md, o, cb) => c.kvClient(id).propose(putReq('other'), md, o, cb), withToken(alice)))).toBe(
        'PERMISSION_DENIED: etcdserver: permission denied',
      );
    }
    expect(await failure(call((md, o, cb) => c.kvClient(f2).propose(putReq('v1/x'), md, o, cb)))).toBe(
      'INVALID_ARGUMENT: etcdserver: user name is empty',
    );
    // Admin: status stays open (leader discovery); digest and membership need root.
    await call((md, o, cb) => c.adminClient(f1).status({}, md, o, cb));
    expect(await failure(call((md, o, cb) => c.adminClient(f1).digest({}, md, o, cb), withToken(alice)))).toBe(
      'PERMISSION_DENIED: etcdserver: permission denied',
    );
    expect(await failure(call((md, o, cb) => c.adminClient(f1).removeMember({ id: f2 }, md, o, cb), withToken(alice)))).toBe(
      'PERMISSION_DENIED: etcdserver: permission denied',
    );
    expect(new Set(await digests([f1, f2, leader], root)).size).toBe(1);
  });

  test('a forged forwarding header or token gets nothing', async () => {
    const { leader } = await c.waitForLeader();
    const f1 = c.nodes.map((n) => n.id).find((id) => id !== leader)!;
    const alice = await login(f1, 'alice', 'alicepw');
    const put = etcdserverpb.PutRequest.fromPartial({ key: b('v1/forged'), value: b('x') });
    // Claiming to be a forwarding node does not make a caller anyone.
    expect(await failure(call((md, o, cb) => kvOf(leader).put(put, md, o, cb), withToken('', { 'raftkv-forwarded': f1 })))).toBe(
      'UNAUTHENTICATED: etcdserver: invalid auth token',
    );
    const noToken = new Metadata();
    noToken.set('raftkv-forwarded', f1);
    expect(await failure(call((md, o, cb) => kvOf(leader).put(put, md, o, cb), noToken))).toBe(
      'INVALID_ARGUMENT: etcdserver: user name is empty',
    );
    // A token edited to name root, or with a later expiry, is not a token.
    const [, expiry, mac] = alice.split('.');
    const asRoot = `${b('root').toString('base64url')}.${expiry}.${mac}`;
    const later = `${alice.split('.')[0]}.${Number(expiry) + 1e9}.${mac}`;
    for (const t of [asRoot, later, 'garbage']) {
      expect(await failure(call((md, o, cb) => kvOf(f1).put(put, md, o, cb), withToken(t)))).toBe(
        'UNAUTHENTICATED: etcdserver: invalid auth token',
      );
    }
    expect(await failure(login(f1, 'alice', 'wrong'))).toBe(
      'INVALID_ARGUMENT: etcdserver: authentication failed, invalid user ID or password',
    );
  });

  test('Watch, Lease, Cluster and Maintenance obey etcd 3.4 auth, through followers and from etcdctl/raftctl --user', async () => {
    const { leader } = await c.waitForLeader();
    const [f1, f2] = c.nodes.map((n) => n.id).filter((id) => id !== leader) as [string, string];
    const [alice, root] = [await login(f1, 'alice', 'alicepw'), await login(f2, 'root', 'rootpw')];
    const denied = 'PERMISSION_DENIED: etcdserver: permission denied';

    // Watch: READ on the watched range, checked at create (etcdctl prints etcd's cancel reason and exits 5).
    if (haveEtcdctl()) {
      const at = c.node(f1).address;
      const refused = ctl('etcdctl', ['--endpoints', at, '--user', 'alice:alicepw', 'watch', 'secret']);
      expect(refused.code).toBe(5);
      expect(refused.err).toContain('watch was canceled (rpc error: code = PermissionDenied desc = etcdserver: permission denied)');
      const anonymous = ctl('etcdctl', ['--endpoints', at, 'watch', '--prefix', '']);
      expect(anonymous.err).toContain('watch was canceled (rpc error: code = InvalidArgument desc = etcdserver: user name is empty)');
      const w = spawn('etcdctl', ['--endpoints', at, '--user', 'alice:alicepw', 'watch', '--prefix', 'v1/w'], {
        env: { ...process.env, ETCDCTL_API: '3' },
      });
      try {
        let out = '';
        w.stdout.on('data', (d: Buffer) => (out += d.toString()));
        const put = etcdserverpb.PutRequest.fromPartial({ key: b('v1/w1'), value: b('seen') });
        await waitFor(
          'the allowed watch sees a put',
          async () => {
            await call((md, o, cb) => kvOf(leader).put(put, md, o, cb), withToken(alice));
            return out.includes('PUT\nv1/w1\nseen\n') ? true : undefined;
          },
          20_000,
        );
      } finally {
        w.kill();
      }
    } else {
      console.warn('auth-cluster.test: etcdctl 3.4 is not installed; the etcdctl watch steps are skipped');
    }

    // Lease: anyone grants; revoking needs WRITE on the keys the lease holds (a follower forwards the token).
    const lease = (id: string): etcdserverpb.LeaseClient => new etcdserverpb.LeaseClient(c.node(id).address, credentials.createInsecure());
    const [l1, l2] = [lease(f1), lease(f2)];
    try {
      const g = await call<etcdserverpb.LeaseGrantResponse>((md, o, cb) => l1.leaseGrant({ TTL: 60, ID: 0 }, md, o, cb));
      const own = await call<etcdserverpb.LeaseGrantResponse>(
        (md, o, cb) => l2.leaseGrant({ TTL: 60, ID: 0 }, md, o, cb),
        withToken(alice),
      );
      const leasedPut = (key: string, l: number) => etcdserverpb.PutRequest.fromPartial({ key: b(key), value: b('x'), lease: l });
      await call((md, o, cb) => kvOf(f1).put(leasedPut('secret/k', g.ID), md, o, cb), withToken(root));
      await call((md, o, cb) => kvOf(f2).put(leasedPut('v1/leased', own.ID), md, o, cb), withToken(alice));
      expect(await failure(call((md, o, cb) => kvOf(f2).put(leasedPut('v1/x', g.ID), md, o, cb), withToken(alice)))).toBe(denied);
      expect(await failure(call((md, o, cb) => l1.leaseRevoke({ ID: g.ID }, md, o, cb), withToken(alice)))).toBe(denied);
      expect(await failure(call((md, o, cb) => l2.leaseRevoke({ ID: g.ID }, md, o, cb)))).toBe(
        'INVALID_ARGUMENT: etcdserver: user name is empty',
      );
      const ttl = await call<etcdserverpb.LeaseTimeToLiveResponse>((md, o, cb) => l2.leaseTimeToLive({ ID: g.ID, keys: true }, md, o, cb));
      expect(ttl.keys.map((k) => Buffer.from(k).toString())).toEqual(['secret/k']); // refused revokes deleted nothing
      await call((md, o, cb) => l2.leaseRevoke({ ID: own.ID }, md, o, cb), withToken(alice));
      await call((md, o, cb) => l1.leaseRevoke({ ID: g.ID }, md, o, cb), withToken(root));
      // Expiry revokes as root: an expired lease's keys go even though no user asked.
      const short = await call<etcdserverpb.LeaseGrantResponse>((md, o, cb) => l1.leaseGrant({ TTL: 1, ID: 0 }, md, o, cb));
      await call((md, o, cb) => kvOf(f1).put(leasedPut('secret/expiring', short.ID), md, o, cb), withToken(root));
      const get = etcdserverpb.RangeRequest.fromPartial({ key: b('secret/expiring') });
      await waitFor(
        'the expired lease key deleted',
        async () =>
          (await call<etcdserverpb.RangeResponse>((md, o, cb) => kvOf(leader).range(get, md, o, cb), withToken(root))).count === 0
            ? true
            : undefined,
        30_000,
      );
    } finally {
      l1.close();
      l2.close();
    }

    // Cluster: member changes need root (checked on the follower and again on the leader); MemberList is open.
    const cluster = new etcdserverpb.ClusterClient(c.node(f1).address, credentials.createInsecure());
    try {
      const add = { peerURLs: ['http://127.0.0.1:1'], isLearner: true };
      expect(await failure(call((md, o, cb) => cluster.memberAdd(add, md, o, cb), withToken(alice)))).toBe(denied);
      expect(await failure(call((md, o, cb) => cluster.memberAdd(add, md, o, cb)))).toBe(
        'INVALID_ARGUMENT: etcdserver: user name is empty',
      );
      const added = await call<etcdserverpb.MemberAddResponse>((md, o, cb) => cluster.memberAdd(add, md, o, cb), withToken(root));
      const id = added.member!.ID;
      expect(await failure(call((md, o, cb) => cluster.memberRemove({ ID: id }, md, o, cb), withToken(alice)))).toBe(denied);
      await call((md, o, cb) => cluster.memberRemove({ ID: id }, md, o, cb), withToken(root));
      const list = await call<etcdserverpb.MemberListResponse>((md, o, cb) => cluster.memberList({ linearizable: false }, md, o, cb));
      expect(list.members).toHaveLength(3);
    } finally {
      cluster.close();
    }

    // Maintenance: Snapshot, Defragment, Hash and HashKV need root, refused with etcd's raw auth errors;
    // raftctl sends --user's token (root's hashkv answers, alice's snapshot is refused).
    const maintenance = new etcdserverpb.MaintenanceClient(c.node(f2).address, credentials.createInsecure());
    try {
      const raw = 'UNKNOWN: auth: permission denied';
      expect(await failure(call((md, o, cb) => maintenance.defragment({}, md, o, cb), withToken(alice)))).toBe(raw);
      expect(await failure(call((md, o, cb) => maintenance.hash({}, md, o, cb), withToken(alice)))).toBe(raw);
      expect(await failure(call((md, o, cb) => maintenance.hashKv({ revision: 0 }, md, o, cb)))).toBe('UNKNOWN: auth: user name is empty');
      const snapshot = new Promise<string>((resolve) => {
        const s = maintenance.snapshot({}, withToken(alice));
        s.on('data', () => undefined);
        s.on('error', (e: ServiceError) => resolve(`${status[e.code]}: ${e.details}`));
        s.on('end', () => resolve('ok'));
      });
      expect(await snapshot).toBe(raw);
      await call((md, o, cb) => maintenance.status({}, md, o, cb), withToken(alice)); // Status is open
      const at = c.node(f2).address;
      const hashkv = ctl('raftctl', ['--endpoints', at, '--user', 'root:rootpw', 'endpoint', 'hashkv']);
      expect(hashkv.code).toBe(0);
      expect(hashkv.out).toMatch(new RegExp(`^${at}, \\d+\\n$`));
      const save = ctl('raftctl', ['--endpoints', at, '--user', 'alice:alicepw', 'snapshot', 'save', `${c.node(f2).dataDir}-x.db`]);
      expect(save.code).not.toBe(0);
      expect(save.err).toContain('auth: permission denied');
    } finally {
      maintenance.close();
    }
  });

  test('a node that was down catches up from a snapshot carrying the auth state', async () => {
    const { leader } = await c.waitForLeader();
    const down = c.nodes.map((n) => n.id).find((id) => id !== leader)!;
    await c.stopNode(down);
    const root = await login(leader, 'root', 'rootpw');
    await call((md, o, cb) => authOf(leader).userAdd({ name: 'bob', password: 'bobpw', options: undefined }, md, o, cb), withToken(root));
    for (let i = 0; i < 60; i++) {
      const put = etcdserverpb.PutRequest.fromPartial({ key: b(`v1/k${i}`), value: b('x') });
      await call((md, o, cb) => kvOf(leader).put(put, md, o, cb), withToken(root));
    }
    c.startNode(down);
    const running = c.nodes.map((n) => n.id);
    await waitFor(
      'equal digests on every node',
      async () => ((await digests(running, root).catch(() => ['a', 'b'])).every((d, _i, all) => d === all[0]) ? true : undefined),
      60_000,
    );
    const bob = await login(down, 'bob', 'bobpw');
    const get = etcdserverpb.RangeRequest.fromPartial({ key: b('v1/k1'), serializable: true });
    expect(await failure(call((md, o, cb) => kvOf(down).range(get, md, o, cb), withToken(bob)))).toBe(
      'PERMISSION_DENIED: etcdserver: permission denied',
    );
    expect(c.logs(down)).toContain('installed a snapshot from the leader');
  });
});
