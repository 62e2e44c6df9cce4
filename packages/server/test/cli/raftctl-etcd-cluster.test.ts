// raftctl's etcd commands against a 3-node raftkv: every command line of etcdctl-cases.ts is run with
// etcdctl on a fresh cluster, then with raftctl on another fresh cluster (same cluster id and member
// ids, so the same header ids), through a node that may be a follower; the outputs must be identical.
// Only raft_term is masked: each cluster elects its first leader in its own term.
import { CASES } from './etcdctl-cases.js';
import { ensureEtcd, runOnFreshClusters, type Seen, type Tool } from './etcdctl-run.js';

const available = ensureEtcd();
if (!available)
  console.warn('raftctl-etcd-cluster.test: etcdctl 3.4 is not installed and cannot be (apt-get install etcd-client needs root); skipping');
const maybe = available ? describe : describe.skip;

const maskTerm = (s: Seen): Seen => ({
  ...s,
  stdout: s.stdout.replace(/"raft_term":\d+/g, '"raft_term":T').replace(/^"RaftTerm" : [1-9]\d*$/gm, '"RaftTerm" : T'),
});

maybe('raftctl and etcdctl against a 3-node raftkv', () => {
  let seen: Record<Tool, Seen[]>;

  beforeAll(async () => {
    seen = await runOnFreshClusters(CASES, maskTerm);
  }, 900_000);

  test.each(CASES.map((c, i) => [i, c.args.join(' ') + (c.stdin === undefined ? '' : ` <<< ${JSON.stringify(c.stdin)}`)]))(
    '#%i %s',
    (i) => {
      expect(seen.raftctl[i]).toEqual(seen.etcdctl[i]);
    },
  );

  test('raftkv answered (not only errors)', () => {
    expect(seen.raftctl.filter((s) => s.code === 0 && s.stdout !== '').length).toBeGreaterThan(100);
  });
});
