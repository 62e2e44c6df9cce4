// etcd's --client-cert-auth on raftkv (--tls-client-auth): with auth enabled and no token, the common
// name of the caller's verified client certificate is its user, on the node it calls and, through the
// token the follower mints, on the leader it forwards to. The nodes' own certificate names no user,
// and a caller may disclaim its certificate's identity (the live view does).
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { authpb, etcdserverpb } from '@raftkv/proto';
import { removeDir, tempDir } from '@raftkv/testkit';
import { readFileSync } from 'node:fs';
import { TestCluster } from '../harness.js';
import { haveOpenssl, Pki, type Issued } from '../pki.js';

const b = (s: string): Buffer => Buffer.from(s);
const read = (f: string): Buffer => readFileSync(f);
const maybe = haveOpenssl ? describe : describe.skip;

maybe('client-certificate identity (--tls-client-auth)', () => {
  const dir = tempDir('raftkv-cert-auth-');
  const pki = new Pki(dir);
  let c: TestCluster;
  let node: Issued;
  const certs = new Map<string, Issued>();
  const clients: etcdserverpb.KVClient[] = [];
  const creds = (i: Issued) => credentials.createSsl(read(i.ca), read(i.key), read(i.cert));
  const kvAs = (who: string, id: string): etcdserverpb.KVClient => {
    const k = new etcdserverpb.KVClient(c.node(id).address, creds(who === 'node' ? node : certs.get(who)!));
    clients.push(k);
    return k;
  };
  const call = <T>(
    f: (md: Metadata, o: { deadline: number }, cb: (e: ServiceError | null, r?: T) => void) => unknown,
    md = new Metadata(),
  ) => new Promise<T>((resolve, reject) => void f(md, { deadline: Date.now() + 10_000 }, (e, r) => (e ? reject(e) : resolve(r as T))));
  const outcome = async (p: Promise<unknown>): Promise<string> => {
    try {
      await p;
      return 'ok';
    } catch (e) {
      return `${status[(e as ServiceError).code]}: ${(e as ServiceError).details}`;
    }
  };
  const put = (key: string) => etcdserverpb.PutRequest.fromPartial({ key: b(key), value: b('v') });

  beforeAll(async () => {
    const ca = pki.ca('ca');
    node = pki.issue(ca, 'node');
    for (const user of ['root', 'alice']) certs.set(user, pki.issue(ca, user, 'clientAuth'));
    c = await TestCluster.start({
      extraFlags: ['--tls-cert', node.cert, '--tls-key', node.key, '--tls-ca', node.ca, '--tls-client-auth'],
      clientCredentials: creds(certs.get('root')!),
    });
    await c.waitForLeader();
  });
  afterAll(async () => {
    for (const k of clients) k.close();
    await c?.stop();
    removeDir(dir);
  });

  test("the certificate's CN is the user, on a follower and on the leader it forwards to", async () => {
    const { leader } = await c.waitForLeader();
    const follower = c.nodes.map((n) => n.id).find((id) => id !== leader)!;
    const a = new etcdserverpb.AuthClient(c.node(leader).address, creds(certs.get('root')!));
    try {
      for (const name of ['root', 'alice'])
        await call((md, o, cb) => a.userAdd({ name, password: '', options: { noPassword: true } }, md, o, cb));
      await call((md, o, cb) => a.userGrantRole({ user: 'root', role: 'root' }, md, o, cb));
      await call((md, o, cb) => a.roleAdd({ name: 'r' }, md, o, cb));
      const perm = { permType: authpb.Permission_Type.READWRITE, key: b('a/'), rangeEnd: b('a0') };
      await call((md, o, cb) => a.roleGrantPermission({ name: 'r', perm }, md, o, cb));
      await call((md, o, cb) => a.userGrantRole({ user: 'alice', role: 'r' }, md, o, cb));
      await call((md, o, cb) => a.authEnable({}, md, o, cb));
      // A user without password cannot log in with one.
      expect(await outcome(call((md, o, cb) => a.authenticate({ name: 'alice', password: '' }, md, o, cb)))).toBe(
        'INVALID_ARGUMENT: etcdserver: authentication failed, invalid user ID or password',
      );
    } finally {
      a.close();
    }
    for (const id of [follower, leader]) {
      expect(await outcome(call((md, o, cb) => kvAs('alice', id).put(put(`a/${id}`), md, o, cb)))).toBe('ok');
      expect(await outcome(call((md, o, cb) => kvAs('alice', id).put(put('b'), md, o, cb)))).toBe(
        'PERMISSION_DENIED: etcdserver: permission denied',
      );
      expect(await outcome(call((md, o, cb) => kvAs('root', id).put(put('b'), md, o, cb)))).toBe('ok');
      // The nodes' certificate (CN "node") names no user.
      expect(await outcome(call((md, o, cb) => kvAs('node', id).put(put('a/n'), md, o, cb)))).toBe(
        'PERMISSION_DENIED: etcdserver: permission denied',
      );
      const disclaim = new Metadata();
      disclaim.set('raftkv-no-cert-identity', '1');
      expect(await outcome(call((md, o, cb) => kvAs('root', id).put(put('b'), md, o, cb), disclaim))).toBe(
        'INVALID_ARGUMENT: etcdserver: user name is empty',
      );
    }
  });
});
