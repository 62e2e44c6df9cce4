// Runs Debian's etcdctl (API v3) as a tracked process: the compat tests' differential runs and the
// server's tests of etcd's Cluster and Maintenance services.
import { spawnTracked } from './cleanup.js';

const BIN = '/usr/bin/etcdctl';

export interface EtcdctlRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * `etcdctl --endpoints=<endpoints> --dial-timeout=3s --command-timeout=<commandTimeout> <args>` with
 * `stdin` on standard input; never rejects on a non-zero exit.
 */
export function etcdctl(endpoints: readonly string[], args: readonly string[], stdin = '', commandTimeout = '10s'): Promise<EtcdctlRun> {
  return new Promise((resolve, reject) => {
    const p = spawnTracked(
      BIN,
      [`--endpoints=${endpoints.join(',')}`, '--dial-timeout=3s', `--command-timeout=${commandTimeout}`, ...args],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { ...process.env, ETCDCTL_API: '3' },
      },
    );
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout!.on('data', (b: Buffer) => out.push(b));
    p.stderr!.on('data', (b: Buffer) => err.push(b));
    p.once('error', reject);
    p.once('close', (status) =>
      resolve({ status, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }),
    );
    p.stdin!.on('error', () => undefined); // etcdctl may exit before reading all of it (a usage error)
    p.stdin!.end(stdin);
  });
}
