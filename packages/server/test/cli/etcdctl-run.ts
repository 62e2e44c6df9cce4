// Runs one etcdctl command line with Debian's etcdctl (3.4) or with raftctl, and keeps what must be
// identical: standard output, the exit code and the "Error: ..." lines (etcdctl also logs retries as
// JSON and prints usage text to standard error; those are not compared).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { SERVER_PKG, TestCluster } from '../harness.js';
import type { Case } from './etcdctl-cases.js';

export const RAFTCTL = join(SERVER_PKG, 'dist', 'cli', 'raftctl.js');

export interface Seen {
  readonly stdout: string;
  readonly code: number | null;
  readonly errors: string;
}

export function haveEtcdctl(): boolean {
  return spawnSync('etcdctl', ['version'], { env: { ...process.env, ETCDCTL_API: '3' } }).status === 0;
}

/** Installs Debian's etcd-server and etcd-client when missing (as root); false when they cannot be had. */
export function ensureEtcd(): boolean {
  const have = (): boolean => haveEtcdctl() && spawnSync('etcd', ['--version']).status === 0;
  if (have()) return true;
  if (process.getuid?.() !== 0) return false;
  spawnSync('apt-get', ['update'], { stdio: 'ignore', timeout: 300_000 });
  spawnSync('apt-get', ['install', '-y', 'etcd-server', 'etcd-client'], {
    stdio: 'ignore',
    timeout: 300_000,
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  return have();
}

export type Tool = 'etcdctl' | 'raftctl';

export function run(tool: Tool, endpoints: string, c: Case): Seen {
  const [cmd, pre] = tool === 'etcdctl' ? ['etcdctl', []] : [process.execPath, [RAFTCTL]];
  const r = spawnSync(cmd, [...pre, '--endpoints', endpoints, ...c.args], {
    input: c.stdin ?? '',
    env: { ...process.env, ETCDCTL_API: '3' },
    timeout: 30_000,
  });
  const errors = r.stderr
    .toString('latin1')
    .split('\n')
    .filter((l) => l.startsWith('Error:'))
    .join('\n');
  return { stdout: r.stdout.toString('latin1'), code: r.status, errors };
}

/**
 * Every case with etcdctl on a fresh 3-node raftkv, then with raftctl on another (same cluster and member
 * ids), through a node that may be a follower.
 */
export async function runOnFreshClusters(cases: readonly Case[], mask: (s: Seen) => Seen = (s) => s): Promise<Record<Tool, Seen[]>> {
  const seen: Record<Tool, Seen[]> = { etcdctl: [], raftctl: [] };
  for (const tool of ['etcdctl', 'raftctl'] as const) {
    const c = await TestCluster.start();
    try {
      await c.waitForLeader();
      const via = c.nodes[1]!.address;
      for (const k of cases) seen[tool].push(mask(run(tool, via, k)));
    } finally {
      await c.stop();
    }
  }
  return seen;
}
