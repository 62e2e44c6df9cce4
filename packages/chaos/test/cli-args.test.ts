// The chaos CLI's flags: `--flag value` and `--flag=value` alike, mistakes are one line naming the flag
// and exit code 2 (no cluster is started for any of these).
import { spawnSync } from 'node:child_process';
import { CLI } from './support/cli.js';

const chaos = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 30_000 });

test.each([
  [['--nodes', '4'], /^chaos: --nodes: 3 or 5, got 4$/m],
  [['--nodes=4'], /^chaos: --nodes: 3 or 5, got 4$/m],
  [['--gap-ms=9-1'], /^chaos: --gap-ms: expected MIN-MAX in ms, got 9-1$/m],
  [['--membership', '--nodes=3'], /^chaos: --membership: needs --nodes 5/m],
  [['--bogus=1'], /^chaos: --bogus: unknown flag$/m],
  [['--duration'], /^chaos: --duration: needs a value$/m],
  [['scenario', 'nope'], /^chaos: unknown scenario 'nope'/m],
  [['stray'], /^chaos: unexpected argument stray$/m],
  [['--api', 'zk'], /^chaos: --api: raftkv or etcd, got zk$/m],
  [['--workload=queue'], /^chaos: --workload: register, bank or lock, got queue$/m],
  [['--workload', 'lock'], /^chaos: --workload lock: needs --api etcd/m],
  [['--lock-ttl', '3'], /^chaos: --lock-ttl: only with --workload lock$/m],
  [['--workload', 'bank'], /^chaos: --workload bank: needs --api etcd/m],
  [['--accounts', '3'], /^chaos: --accounts: only with --workload bank$/m],
  [['--watchers', '2'], /^chaos: --watchers: only with --api etcd$/m],
  [['--api', 'etcd', '--watch-self-test', 'swap'], /^chaos: --watch-self-test: drop or duplicate, got swap$/m],
  [['--api', 'etcd', '--workload', 'bank', '--accounts', '1'], /^chaos: --accounts: expected a number >= 2, got 1$/m],
])('%j: exit 2 naming the flag', (args, message) => {
  const r = chaos(...args);
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(message);
  expect(r.stderr).toContain('usage: scripts/chaos');
});
