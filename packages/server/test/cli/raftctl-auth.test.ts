// raftctl's user, role and auth commands and --user against etcdctl 3.4's: the same command lines run
// with etcdctl on a fresh 3-node raftkv, then with raftctl on another (through a node that may be a
// follower); standard output, exit codes and "Error:" lines must be identical.
import type { Case } from './etcdctl-cases.js';
import { ensureEtcd, runOnFreshClusters, type Seen, type Tool } from './etcdctl-run.js';

const available = ensureEtcd();
const maybe = available ? describe : describe.skip;

const ALICE = ['--user', 'alice:alicepw'];
const ROOT = ['--user', 'root:rootpw'];
const CASES: Case[] = [
  { args: ['user', 'add', 'root:rootpw'] },
  { args: ['user', 'add', ':x'] },
  { args: ['user', 'add', 'bob', '--new-user-password', 'bobpw'] },
  { args: ['user', 'add', 'carl', '--interactive=false'], stdin: 'carlpw\n' },
  { args: ['user', 'add', 'cn-only', '--no-password'] },
  { args: ['user', 'add'] },
  { args: ['role', 'add', 'r1'] },
  { args: ['role', 'add', 'r1'] },
  { args: ['role', 'add'] },
  { args: ['role', 'grant-permission', 'r1', 'readwrite', '/a/', '--prefix'] },
  { args: ['role', 'grant-permission', 'r1', 'read', '/b'] },
  { args: ['role', 'grant-permission', 'r1', 'write', '/c', '/e'] },
  { args: ['role', 'grant-permission', 'r1', 'READ', 'k', '--from-key'] },
  { args: ['role', 'grant-permission', 'r1', 'read', '', '--prefix'] },
  { args: ['role', 'grant-permission', 'r1', 'read', 'x', 'y', '--prefix'] },
  { args: ['role', 'grant-permission', 'r1', 'read', 'x', '--prefix', '--from-key'] },
  { args: ['role', 'grant-permission', 'r1', 'bogus', 'x'] },
  { args: ['role', 'grant-permission', 'r1', 'read'] },
  { args: ['role', 'grant-permission', 'nope', 'read', 'x'] },
  { args: ['role', 'get', 'r1'] },
  { args: ['role', 'get', 'nope'] },
  { args: ['role', 'revoke-permission', 'r1', '', '--prefix'] },
  { args: ['role', 'revoke-permission', 'r1', 'zz'] },
  { args: ['user', 'add', 'alice:alicepw'] },
  { args: ['user', 'grant-role', 'alice', 'r1'] },
  { args: ['user', 'grant-role', 'alice', 'r1'] },
  { args: ['user', 'grant-role', 'alice', 'nope'] },
  { args: ['user', 'grant-role', 'alice'] },
  { args: ['user', 'get', 'alice'] },
  { args: ['user', 'get', 'alice', '--detail'] },
  { args: ['user', 'get', 'nobody'] },
  { args: ['user', 'list'] },
  { args: ['role', 'list'] },
  { args: ['auth', 'enable', 'x'] },
  { args: ['auth', 'enable'] },
  { args: ['get', '/b'] },
  { args: [...ALICE, 'put', '/a/1', 'v1'] },
  { args: [...ALICE, 'put', '/b', 'x'] },
  { args: [...ALICE, 'get', '/a/', '--prefix'] },
  { args: [...ALICE, 'get', '/', '--prefix'] },
  { args: ['--user', 'alice', '--password', 'alicepw', 'get', '/a/1'] },
  { args: ['--user', 'alice:wrong', 'get', '/a/1'] },
  { args: ['--user', 'cn-only:x', 'get', '/a/1'] },
  { args: [...ALICE, 'user', 'list'] },
  { args: [...ALICE, 'user', 'get', 'alice'] },
  { args: [...ROOT, 'role', 'get', 'root'] },
  { args: [...ROOT, 'user', 'delete', 'root'] },
  { args: [...ROOT, 'role', 'revoke-permission', 'r1', 'k', '--from-key'] },
  { args: [...ROOT, 'role', 'revoke-permission', 'r1', '/c', '/e'] },
  { args: [...ROOT, 'role', 'revoke-permission', 'r1', '/b'] },
  { args: [...ROOT, 'user', 'passwd', 'alice', '--interactive=false'], stdin: 'newpw\n' },
  { args: ['--user', 'alice:newpw', 'get', '/a/1'] },
  { args: [...ROOT, 'user', 'revoke-role', 'alice', 'r1'] },
  { args: [...ROOT, 'user', 'revoke-role', 'alice', 'r1'] },
  { args: [...ROOT, 'auth', 'disable'] },
  { args: ['role', 'delete', 'r1'] },
  { args: ['user', 'delete', 'alice'] },
  { args: ['user', 'delete', 'alice'] },
  { args: ['user', 'list'] },
];

maybe('raftctl and etcdctl auth commands against a 3-node raftkv', () => {
  let seen: Record<Tool, Seen[]>;

  beforeAll(async () => {
    seen = await runOnFreshClusters(CASES);
  }, 600_000);

  test.each(CASES.map((c, i) => [i, c.args.join(' ')]))('#%i %s', (i) => {
    expect(seen.raftctl[i]).toEqual(seen.etcdctl[i]);
  });

  test('the script was allowed and refused in turn', () => {
    expect(seen.raftctl.filter((s) => s.code === 0).length).toBeGreaterThan(30);
    expect(seen.raftctl.filter((s) => s.errors.includes('permission denied')).length).toBeGreaterThan(2);
  });
});
