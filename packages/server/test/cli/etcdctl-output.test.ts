// raftctl's etcd commands against a real etcd 3.4: every command line of etcdctl-cases.ts is run with
// etcdctl on a fresh etcd, then with raftctl on a fresh etcd started the same way (same ports and
// name: the same cluster and member ids), and the outputs must be identical byte for byte. This
// proves the output, flags and request building without depending on raftkv's server.
import { freePorts, spawnTracked, tempDir, waitFor } from '@raftkv/testkit';
import type { ChildProcess } from 'node:child_process';
import { CASES } from './etcdctl-cases.js';
import { ensureEtcd, run, type Seen } from './etcdctl-run.js';

const available = ensureEtcd();
if (!available)
  console.warn(
    'etcdctl-output.test: etcd/etcdctl 3.4 are not installed and cannot be (apt-get install etcd-server etcd-client needs root and the Debian mirror); skipping',
  );
const maybe = available ? describe : describe.skip;

async function startEtcd(client: number, peer: number): Promise<ChildProcess> {
  const peerUrl = `http://127.0.0.1:${peer}`;
  const p = spawnTracked(
    'etcd',
    [
      '--data-dir',
      tempDir('etcd-'),
      '--listen-client-urls',
      `http://127.0.0.1:${client}`,
      '--advertise-client-urls',
      `http://127.0.0.1:${client}`,
      '--listen-peer-urls',
      peerUrl,
      '--initial-advertise-peer-urls',
      peerUrl,
      '--initial-cluster',
      `default=${peerUrl}`,
    ],
    { stdio: 'ignore' },
  );
  await waitFor(
    'etcd to serve',
    () => (run('etcdctl', `127.0.0.1:${client}`, { args: ['get', 'x'] }).code === 0 ? true : undefined),
    30_000,
    200,
  );
  return p;
}

async function stop(p: ChildProcess): Promise<void> {
  const exited = new Promise((r) => p.once('exit', r));
  p.kill('SIGKILL');
  await exited;
}

maybe('raftctl against etcd 3.4: byte-identical to etcdctl', () => {
  const seen: Record<'etcdctl' | 'raftctl', Seen[]> = { etcdctl: [], raftctl: [] };

  beforeAll(async () => {
    const [client, peer] = await freePorts(2);
    for (const tool of ['etcdctl', 'raftctl'] as const) {
      const etcd = await startEtcd(client!, peer!);
      try {
        for (const c of CASES) seen[tool].push(run(tool, `127.0.0.1:${client}`, c));
      } finally {
        await stop(etcd);
      }
    }
  }, 600_000);

  test.each(CASES.map((c, i) => [i, c.args.join(' ') + (c.stdin === undefined ? '' : ` <<< ${JSON.stringify(c.stdin)}`)]))(
    '#%i %s',
    (i) => {
      expect(seen.raftctl[i]).toEqual(seen.etcdctl[i]);
    },
  );

  test('the cases exercise answers, not only errors', () => {
    expect(seen.etcdctl.filter((s) => s.code === 0 && s.stdout !== '').length).toBeGreaterThan(100);
    expect(seen.etcdctl.some((s) => s.stdout.includes('"cluster_id":'))).toBe(true);
  });
});
