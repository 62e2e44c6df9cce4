// Starts a local 3-member etcd 3.4 cluster on loopback (temporary data dirs, default fsync behaviour),
// installing Debian's etcd-server package with apt-get when no etcd binary is found.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { startedCluster, type Cluster } from './cluster.js';
import { etcdStatus } from './etcd-client.js';
import { freePorts } from '@raftkv/testkit';
import { makeTempDir, ManagedProcess } from './processes.js';

function onPath(name: string): string | undefined {
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

function findEtcd(): string | undefined {
  return onPath('etcd') ?? ['/usr/bin/etcd', '/usr/local/bin/etcd'].find((p) => existsSync(p));
}

/** The etcd binary to use: the given one, one on PATH, or Debian's after `apt-get install -y etcd-server`. */
export function ensureEtcd(binary: string | undefined, say: (line: string) => void): string {
  if (binary !== undefined) {
    if (!existsSync(binary)) throw new Error(`--etcd: no such file: ${binary}`);
    return binary;
  }
  const found = findEtcd();
  if (found !== undefined) return found;

  const prefix = process.getuid?.() === 0 ? ['apt-get'] : ['sudo', '-n', 'apt-get'];
  const aptGet = (...args: string[]): boolean => {
    const argv = [...prefix, ...args];
    say(`bench: running ${argv.join(' ')}`);
    // apt's output goes to our stderr so --json output on stdout stays clean.
    const r = spawnSync(argv[0] ?? 'apt-get', argv.slice(1), {
      stdio: ['ignore', process.stderr, 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    return r.status === 0;
  };
  say('bench: etcd not found on PATH: installing the Debian package etcd-server (etcd 3.4) with apt-get');
  if (!aptGet('install', '-y', '-q', 'etcd-server') && !(aptGet('update', '-q') && aptGet('install', '-y', '-q', 'etcd-server'))) {
    throw new Error('could not install etcd-server with apt-get; install etcd 3.4 or pass --etcd FILE, or use --target raftkv');
  }
  const installed = findEtcd();
  if (installed === undefined) throw new Error('apt-get installed etcd-server but no etcd binary was found');
  return installed;
}

export interface EtcdClusterOptions {
  binary: string;
}

export async function startEtcdCluster(opts: EtcdClusterOptions): Promise<Cluster> {
  const dataDir = makeTempDir('etcd-bench-');
  const names = ['e1', 'e2', 'e3'];
  const ports = await freePorts(names.length * 2);
  const clientUrls = names.map((_, i) => `http://127.0.0.1:${ports[2 * i]}`);
  const peerUrls = names.map((_, i) => `http://127.0.0.1:${ports[2 * i + 1]}`);
  const initialCluster = names.map((n, i) => `${n}=${peerUrls[i]}`).join(',');
  const token = `bench-${process.pid}-${Date.now()}`;
  // Only flags needed to run on loopback; durability, snapshot and heartbeat settings stay default.
  const processes = names.map(
    (name, i) =>
      new ManagedProcess(
        `etcd ${name}`,
        opts.binary,
        [
          '--name',
          name,
          '--data-dir',
          join(dataDir, name),
          '--listen-client-urls',
          clientUrls[i] ?? '',
          '--advertise-client-urls',
          clientUrls[i] ?? '',
          '--listen-peer-urls',
          peerUrls[i] ?? '',
          '--initial-advertise-peer-urls',
          peerUrls[i] ?? '',
          '--initial-cluster',
          initialCluster,
          '--initial-cluster-token',
          token,
          '--initial-cluster-state',
          'new',
          '--logger',
          'zap',
          '--log-level',
          'warn',
        ],
        join(dataDir, `${name}.log`),
      ),
  );
  const endpoints = clientUrls.map((u) => u.replace('http://', ''));

  return startedCluster('etcd', endpoints, processes, dataDir, 10_000, async () => {
    const statuses = await Promise.all(endpoints.map((e) => etcdStatus(e, 1000)));
    const leader = statuses[0]?.leader;
    return leader !== undefined && leader !== '0' && statuses.every((s) => s.leader === leader);
  });
}
