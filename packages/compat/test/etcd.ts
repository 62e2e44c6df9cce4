// Debian's etcd 3.4 (packages etcd-server and etcd-client): the reference every compatibility test is
// checked against. The packages are installed with apt-get when missing (CI runs as root), as the Python
// client test installs python3-grpcio; without apt the tests are skipped, saying why.
import { freePorts, removeDir, spawnTracked, tempDir } from '@raftkv/testkit';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { waitServing } from './etcdctl.js';
import type { Target } from './target.js';

export const ETCD = '/usr/bin/etcd';
export const ETCDCTL = '/usr/bin/etcdctl';
const PACKAGES = ['etcd-server', 'etcd-client'];

function version(bin: string, args: string[]): string {
  const r = spawnSync(bin, args, { encoding: 'utf8' });
  return r.status === 0 ? r.stdout : '';
}

function ready(): boolean {
  return (
    existsSync(ETCD) &&
    existsSync(ETCDCTL) &&
    /etcd Version: 3\.4\./.test(version(ETCD, ['--version'])) &&
    /etcdctl version: 3\.4\./.test(version(ETCDCTL, ['version']))
  );
}

let provisioned: string | null | undefined;

/** Why etcd 3.4 and etcdctl 3.4 cannot be used, or null when they can (installing them first if possible). */
export function provisionEtcd(): string | null {
  if (provisioned !== undefined) return provisioned;
  provisioned = provisionNow();
  if (provisioned) console.warn(`SKIPPED etcd compatibility tests: ${provisioned}`);
  return provisioned;
}

function provisionNow(): string | null {
  if (ready()) return null;
  if (process.getuid?.() !== 0 || spawnSync('apt-get', ['--version']).status !== 0) {
    return `needs Debian's ${PACKAGES.join(' ')} 3.4 (apt-get unavailable or not root)`;
  }
  const apt = (args: string[]) =>
    spawnSync('apt-get', ['-o', 'DPkg::Lock::Timeout=300', ...args], {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      timeout: 600_000,
    });
  apt(['update']);
  const r = apt(['install', '-y', '--no-install-recommends', ...PACKAGES]);
  if (r.status !== 0) return `apt-get install ${PACKAGES.join(' ')} failed (exit ${r.status})`;
  return ready() ? null : `installed ${PACKAGES.join(' ')}, but ${ETCD} / ${ETCDCTL} are not version 3.4`;
}

/** A throwaway single-member etcd on free loopback ports with a temp data dir, killed and removed by stop(). */
export async function startEtcd(): Promise<Target> {
  const [client, peer] = await freePorts(2);
  const dir = tempDir('raftkv-etcd-');
  const clientUrl = `http://127.0.0.1:${client}`;
  const peerUrl = `http://127.0.0.1:${peer}`;
  const output: string[] = [];
  const proc: ChildProcess = spawnTracked(
    ETCD,
    [
      '--name',
      'compat',
      '--data-dir',
      dir,
      '--listen-client-urls',
      clientUrl,
      '--advertise-client-urls',
      clientUrl,
      '--listen-peer-urls',
      peerUrl,
      '--initial-advertise-peer-urls',
      peerUrl,
      '--initial-cluster',
      `compat=${peerUrl}`,
      '--logger',
      'zap',
      '--log-level',
      'error',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const keep = (b: Buffer): void => void output.push(b.toString());
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const endpoint = `127.0.0.1:${client}`;
  const stop = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGKILL');
      await exited;
    }
    removeDir(dir);
  };
  try {
    await waitServing(endpoint);
  } catch (e) {
    await stop();
    throw new Error(`etcd did not start: ${(e as Error).message}\nits last output:\n${output.join('').slice(-2000)}`, { cause: e });
  }
  return { name: 'etcd', endpoints: [endpoint], stop, logs: () => output.join('') };
}
