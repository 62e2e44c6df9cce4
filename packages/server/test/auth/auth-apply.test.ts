// The auth state applied from committed commands: etcd's rules and errors, permission checks of
// KV commands at apply (Txn ops and compares included), tokens, and the digest.
import { removeDir, tempDir } from '@raftkv/testkit';
import type { Entry } from '@raftkv/consensus';
import { authpb, type Command, type etcdserverpb } from '@raftkv/proto';
import { encodeCommand } from '../../src/storage/command.js';
import { openDatabase, type Db } from '../../src/storage/db.js';
import { KvStateMachine, type ApplyOutcome } from '../../src/storage/state-machine.js';
import { hashPassword, verifyPassword } from '../../src/storage/auth/password.js';
import { signToken, verifyToken } from '../../src/storage/auth/token.js';
import { checkTxn } from '../../src/storage/auth/authorize.js';
import { get } from '../mvcc/helpers.js';

type Req = NonNullable<Command['request']>;
const b = (s: string): Buffer => Buffer.from(s);
const put = (key: string, prevKv = false): etcdserverpb.PutRequest => ({
  key: b(key),
  value: b('v'),
  lease: 0,
  prevKv,
  ignoreValue: false,
  ignoreLease: false,
});
const range = (key: string, rangeEnd = ''): etcdserverpb.RangeRequest => ({ ...get(key), rangeEnd: b(rangeEnd) });
const cmp = (key: string): etcdserverpb.Compare =>
  ({ result: 0, target: 0, key: b(key), rangeEnd: b(''), targetUnion: { $case: 'version', version: 0 } }) as etcdserverpb.Compare;
const txn = (compare: etcdserverpb.Compare[], success: etcdserverpb.RequestOp[]): etcdserverpb.TxnRequest => ({
  compare,
  success,
  failure: [],
});

describe('auth applied from the log', () => {
  let dir: string;
  let db: Db;
  let sm: KvStateMachine;
  let index: number;
  const apply = (request: Req, user = ''): ApplyOutcome => {
    const e: Entry = { index: ++index, term: 1, type: 'normal', data: encodeCommand(request, user) };
    return db.transaction(() => sm.apply([e]))()[0]!;
  };
  const errorOf = (o: ApplyOutcome): string => (o !== null && o.ok === false ? o.error.message : 'ok');
  const setUp = (): void => {
    for (const r of [
      { $case: 'userAdd', userAdd: { name: 'root', passwordHash: 'h-root', noPassword: false } },
      { $case: 'userAdd', userAdd: { name: 'alice', passwordHash: 'h-alice', noPassword: false } },
      { $case: 'roleAdd', roleAdd: { name: 'r' } },
      {
        $case: 'roleGrantPermission',
        roleGrantPermission: { name: 'r', perm: { permType: authpb.Permission_Type.READWRITE, key: b('/a/'), rangeEnd: b('/a0') } },
      },
      {
        $case: 'roleGrantPermission',
        roleGrantPermission: { name: 'r', perm: { permType: authpb.Permission_Type.READ, key: b('ro'), rangeEnd: b('') } },
      },
      { $case: 'userGrantRole', userGrantRole: { user: 'alice', role: 'r' } },
    ] as Req[]) {
      expect(errorOf(apply(r))).toBe('ok');
    }
  };

  beforeEach(() => {
    dir = tempDir();
    db = openDatabase(dir);
    sm = new KvStateMachine(db);
    index = 0;
  });
  afterEach(() => {
    db.close();
    removeDir(dir);
  });

  it('AuthEnable needs the root user with the root role (etcd errors), then bumps nothing but the flag', () => {
    expect(errorOf(apply({ $case: 'authEnable', authEnable: { tokenKey: b('k') } }))).toBe('etcdserver: root user does not exist');
    setUp();
    expect(errorOf(apply({ $case: 'authEnable', authEnable: { tokenKey: b('k') } }))).toBe('etcdserver: root user does not have root role');
    expect(sm.auth.enabled).toBe(false);
    apply({ $case: 'userGrantRole', userGrantRole: { user: 'root', role: 'root' } });
    const rev = sm.auth.revision;
    expect(errorOf(apply({ $case: 'authEnable', authEnable: { tokenKey: b('k') } }))).toBe('ok');
    expect(sm.auth.enabled).toBe(true);
    expect(sm.auth.revision).toBe(rev);
    // Root cannot be removed while auth is on; management needs root.
    expect(errorOf(apply({ $case: 'userDelete', userDelete: { name: 'root' } }, 'root'))).toBe('etcdserver: invalid auth management');
    expect(errorOf(apply({ $case: 'userRevokeRole', userRevokeRole: { name: 'root', role: 'root' } }, 'root'))).toBe(
      'etcdserver: invalid auth management',
    );
    expect(errorOf(apply({ $case: 'roleAdd', roleAdd: { name: 'x' } }, 'alice'))).toBe('etcdserver: permission denied');
    expect(errorOf(apply({ $case: 'roleAdd', roleAdd: { name: 'x' } }))).toBe('etcdserver: user name is empty');
    expect(errorOf(apply({ $case: 'roleAdd', roleAdd: { name: 'x' } }, 'nobody'))).toBe('etcdserver: user name not found');
    expect(errorOf(apply({ $case: 'authDisable', authDisable: {} }, 'root'))).toBe('ok');
    expect(sm.auth.enabled).toBe(false);
  });

  it('refuses what etcd refuses, changing nothing', () => {
    setUp();
    const digest = sm.digest().digest;
    expect(errorOf(apply({ $case: 'userAdd', userAdd: { name: 'alice', passwordHash: 'x', noPassword: false } }))).toBe(
      'etcdserver: user name already exists',
    );
    expect(errorOf(apply({ $case: 'userAdd', userAdd: { name: '', passwordHash: 'x', noPassword: false } }))).toBe(
      'etcdserver: user name is empty',
    );
    expect(errorOf(apply({ $case: 'roleAdd', roleAdd: { name: 'r' } }))).toBe('etcdserver: role name already exists');
    expect(errorOf(apply({ $case: 'roleAdd', roleAdd: { name: '' } }))).toBe('etcdserver: role name is empty');
    expect(errorOf(apply({ $case: 'userGrantRole', userGrantRole: { user: 'alice', role: 'nope' } }))).toBe(
      'etcdserver: role name not found',
    );
    expect(errorOf(apply({ $case: 'userGrantRole', userGrantRole: { user: 'bob', role: 'r' } }))).toBe('etcdserver: user name not found');
    expect(errorOf(apply({ $case: 'userRevokeRole', userRevokeRole: { name: 'root', role: 'r' } }))).toBe(
      'etcdserver: role is not granted to the user',
    );
    expect(errorOf(apply({ $case: 'roleRevokePermission', roleRevokePermission: { role: 'r', key: b('zz'), rangeEnd: b('') } }))).toBe(
      'etcdserver: permission is not granted to the role',
    );
    expect(sm.digest().digest).toBe(digest);
    // Deleting a role takes it from its users.
    expect(errorOf(apply({ $case: 'roleDelete', roleDelete: { role: 'r' } }))).toBe('ok');
    expect(sm.auth.user('alice')?.roles).toEqual([]);
    expect(sm.digest().digest).not.toBe(digest);
  });

  it('leases as etcd 3.4: anyone grants; revoking, or attaching a key, needs WRITE on every key the lease holds', () => {
    setUp();
    apply({ $case: 'userGrantRole', userGrantRole: { user: 'root', role: 'root' } });
    apply({ $case: 'authEnable', authEnable: { tokenKey: b('k') } });
    const denied = 'etcdserver: permission denied';
    const grant = (ID: number, user = ''): string => errorOf(apply({ $case: 'leaseGrant', leaseGrant: { ID, TTL: 60 } }, user));
    const revoke = (ID: number, user = ''): string => errorOf(apply({ $case: 'leaseRevoke', leaseRevoke: { ID } }, user));
    const leased = (key: string, lease: number): etcdserverpb.PutRequest => ({ ...put(key), lease });
    expect(grant(1)).toBe('ok'); // no user at all, as etcd 3.4
    expect(grant(2, 'alice')).toBe('ok');
    expect(grant(3, 'alice')).toBe('ok');
    expect(revoke(3)).toBe('ok'); // a lease with no keys: anyone
    expect(errorOf(apply({ $case: 'put', put: leased('/b', 1) }, 'root'))).toBe('ok');
    expect(errorOf(apply({ $case: 'put', put: leased('/a/1', 2) }, 'alice'))).toBe('ok');
    // Attaching to a lease that holds a key alice cannot write, by Put or inside a Txn, is refused.
    expect(errorOf(apply({ $case: 'put', put: leased('/a/2', 1) }, 'alice'))).toBe(denied);
    const inTxn = txn([], [{ request: { $case: 'requestPut', requestPut: leased('/a/2', 1) } }]);
    expect(errorOf(apply({ $case: 'txn', txn: inTxn }, 'alice'))).toBe(denied);
    expect(revoke(1, 'alice')).toBe(denied);
    expect(revoke(1)).toBe('etcdserver: user name is empty');
    expect(sm.store.value(b('/b'))?.toString()).toBe('v'); // nothing refused deleted it
    expect(revoke(2, 'alice')).toBe('ok');
    expect(sm.store.value(b('/a/1'))).toBeUndefined();
    expect(revoke(1, 'root')).toBe('ok'); // the lessor's expiry revokes as root
    expect(sm.store.value(b('/b'))).toBeUndefined();
    // A member's own published attributes need no user (it is not a client's request).
    const attrs = errorOf(apply({ $case: 'memberAttributes', memberAttributes: { id: 'n1', name: 'n1', clientUrls: [] } }));
    expect(attrs).not.toBe('etcdserver: user name is empty');
    // Nor do alarms (etcd 3.4 checks none) and the cluster version the leader decides.
    expect(errorOf(apply({ $case: 'alarm', alarm: { action: 1, memberID: 7, alarm: 1 } }))).toBe('ok');
    expect(errorOf(apply({ $case: 'clusterVersionSet', clusterVersionSet: { version: '0.3.0' } }))).toBe('ok');
  });

  it('checks KV writes at apply with the proposer user: puts, prev_kv, deletes, every Txn op and compare', () => {
    setUp();
    apply({ $case: 'userGrantRole', userGrantRole: { user: 'root', role: 'root' } });
    apply({ $case: 'authEnable', authEnable: { tokenKey: b('k') } });
    const denied = 'etcdserver: permission denied';
    expect(errorOf(apply({ $case: 'put', put: put('/a/x') }, 'alice'))).toBe('ok');
    expect(errorOf(apply({ $case: 'put', put: put('/b') }, 'alice'))).toBe(denied);
    expect(errorOf(apply({ $case: 'put', put: put('/b') }))).toBe('etcdserver: user name is empty');
    expect(errorOf(apply({ $case: 'put', put: put('/b') }, 'ghost'))).toBe(denied);
    expect(errorOf(apply({ $case: 'put', put: put('/b') }, 'root'))).toBe('ok');
    expect(errorOf(apply({ $case: 'put', put: put('ro') }, 'alice'))).toBe(denied);
    const del = (key: string, rangeEnd: string): Req => ({
      $case: 'deleteRange',
      deleteRange: { key: b(key), rangeEnd: b(rangeEnd), prevKv: false },
    });
    expect(errorOf(apply(del('/a/', '/a0'), 'alice'))).toBe('ok');
    expect(errorOf(apply(del('/a/', '/b'), 'alice'))).toBe(denied);
    const w = (t: etcdserverpb.TxnRequest): string => errorOf(apply({ $case: 'txn', txn: t }, 'alice'));
    const opPut = (k: string): etcdserverpb.RequestOp => ({ request: { $case: 'requestPut', requestPut: put(k) } });
    const opRange = (k: string, e = ''): etcdserverpb.RequestOp => ({ request: { $case: 'requestRange', requestRange: range(k, e) } });
    expect(w(txn([cmp('/a/1')], [opPut('/a/2')]))).toBe('ok');
    expect(w(txn([cmp('/b')], [opPut('/a/2')]))).toBe(denied); // the compare reads /b
    expect(w(txn([cmp('ro')], [opPut('/a/2'), opRange('/a/', '/b')]))).toBe(denied); // a range past the prefix
    expect(w(txn([], [{ request: { $case: 'requestTxn', requestTxn: txn([], [opPut('zz')]) } }]))).toBe(denied); // nested
    expect(errorOf(apply({ $case: 'compaction', compaction: { revision: 1, physical: false } }, 'alice'))).toBe(denied);
    // Nothing denied changed the store: only the two allowed puts, the delete and the allowed txn wrote.
    expect(sm.store.value(b('/b'))?.toString()).toBe('v');
    expect(sm.store.value(b('zz'))).toBeUndefined();
    // The same check serves read-only Txns at the edge.
    expect(() => checkTxn(sm.auth, 'alice', txn([], [opRange('ro')]))).not.toThrow();
    expect(() => checkTxn(sm.auth, 'alice', txn([], [opRange('ro', '\0')]))).toThrow(denied);
  });

  it('raftkv.v1 writes need read and write on the key', () => {
    setUp();
    apply({ $case: 'userGrantRole', userGrantRole: { user: 'root', role: 'root' } });
    apply({ $case: 'authEnable', authEnable: { tokenKey: b('k') } });
    const propose = (key: string): Req => ({
      $case: 'propose',
      propose: { clientId: '', sequence: 0, command: { $case: 'put', put: { key, value: b('1') } } },
    });
    expect(errorOf(apply(propose('/a/k'), 'alice'))).toBe('ok');
    expect(errorOf(apply(propose('ro'), 'alice'))).toBe('etcdserver: permission denied');
  });

  it('tokens name their user until it expires, the password changes or the key changes', async () => {
    const hash = await hashPassword('pw');
    expect(await verifyPassword('pw', hash)).toBe(true);
    expect(await verifyPassword('pW', hash)).toBe(false);
    expect(await verifyPassword('pw', 'garbage')).toBe(false);
    let pw = hash;
    const keys = { key: b('k1'), passwordHashOf: (u: string) => (u === 'alice' ? pw : undefined) };
    const t = signToken(keys, 'alice', 1000, 500);
    expect(verifyToken(keys, t, 1200)).toBe('alice');
    expect(verifyToken(keys, t, 1500)).toBeNull(); // expired
    expect(verifyToken({ ...keys, key: b('k2') }, t, 1200)).toBeNull(); // auth enabled again: new key
    const [user, expiry, mac] = t.split('.');
    expect(verifyToken(keys, `${user}.${Number(expiry) + 1000}.${mac}`, 1200)).toBeNull(); // forged expiry
    expect(verifyToken(keys, `${Buffer.from('root').toString('base64url')}.${expiry}.${mac}`, 1200)).toBeNull();
    pw = await hashPassword('new');
    expect(verifyToken(keys, t, 1200)).toBeNull(); // password changed
  });
});
