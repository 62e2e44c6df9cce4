// etcd's Lease API through etcd's own clients, against etcd 3.4 first (the reference) and then a 3-node
// raftkv: (1) a differential script of Debian's etcdctl `lease` commands and `put --lease`, each step
// on one member in turn (so followers forward grants, revokes, time-to-live and keep-alives): exit
// status, stdout and stderr must be identical once the randomly chosen lease ids are named by their
// order of appearance and a fresh lease's remaining TTL is checked to be within 3 s of its grant;
// (2) the npm etcd3 package's leases: grant, automatic keep-alive past the TTL, put with the lease,
// revoke deleting the key, and an unknown lease's errors.
import { Etcd3, EtcdLeaseInvalidError } from 'etcd3';
import { etcdctl, normalise, type Run } from './etcdctl.js';
import { provisionEtcd, startEtcd } from './etcd.js';
import { startRaftkv } from './raftkv.js';
import type { Target } from './target.js';

const why = provisionEtcd();
const maybe = why ? test.skip : test;

/** One etcdctl step; `$L1`, `$L2`... in its args are the ids of the first, second... lease granted on that target. */
interface LeaseStep {
  readonly args: readonly string[];
  /** The step must fail. */
  readonly fails?: true;
}

const SCRIPT: readonly LeaseStep[] = [
  { args: ['lease', 'grant', '1'] }, // below the minimum TTL: granted with etcd's minimum (2 s)
  { args: ['lease', 'revoke', '$L1'] },
  { args: ['lease', 'grant', '100'] },
  { args: ['put', '--lease=$L2', 'lk/a', '1'] },
  { args: ['put', '--lease=$L2', 'lk/b', '2'] },
  { args: ['put', '--lease=$L2', 'lk/c', '3'] },
  { args: ['lease', 'timetolive', '--keys', '$L2'] },
  { args: ['lease', 'timetolive', '$L2'] },
  { args: ['lease', 'keep-alive', '--once', '$L2'] },
  { args: ['put', 'lk/b', 'detached'] }, // a put without the lease detaches the key
  { args: ['put', '--ignore-lease', 'lk/c', 'kept'] }, // ignore_lease keeps it
  { args: ['get', 'lk/c', '-w', 'fields'] },
  { args: ['lease', 'timetolive', '--keys', '$L2'] },
  { args: ['lease', 'list'] },
  { args: ['put', '--lease=1234abcd', 'lk/x', 'v'], fails: true },
  { args: ['lease', 'timetolive', '1234abcd'] },
  { args: ['lease', 'keep-alive', '--once', '1234abcd'], fails: true },
  { args: ['lease', 'revoke', '1234abcd'], fails: true },
  { args: ['lease', 'revoke', '$L2'] },
  { args: ['get', '--prefix', 'lk/', '-w', 'json'] }, // lk/a and lk/c gone at one revision, lk/b stays
  { args: ['lease', 'timetolive', '$L2'] },
  { args: ['lease', 'revoke', '$L2'], fails: true },
  { args: ['lease', 'list'] },
  { args: ['lease', 'grant', 'abc'], fails: true },
  { args: ['lease', 'revoke', 'xyz'], fails: true },
  { args: ['lease', 'grant', '9000000001'], fails: true },
];

interface LeaseRun extends Run {
  readonly command: string;
}

async function runLeaseScript(t: Target): Promise<LeaseRun[]> {
  const ids: string[] = [];
  const runs: LeaseRun[] = [];
  for (const [i, s] of SCRIPT.entries()) {
    const args = s.args.map((a) => a.replace(/\$L(\d+)/g, (_, n: string) => ids[Number(n) - 1] ?? 'missing'));
    const r = await etcdctl([t.endpoints[i % t.endpoints.length]!], args);
    const granted = /^lease ([0-9a-f]{16}) granted/.exec(r.stdout);
    if (s.args[1] === 'grant' && granted) ids.push(granted[1]!);
    runs.push({ command: `etcdctl ${s.args.join(' ')}`, status: r.status, stdout: named(r.stdout, ids), stderr: named(r.stderr, ids) });
  }
  return runs;
}

/** Lease ids (hex as etcdctl prints them, and decimal as -w json/fields do) named $L1, $L2...; a fresh remaining TTL checked. */
function named(text: string, ids: readonly string[]): string {
  let out = normalise(text);
  ids.forEach((hex, i) => {
    out = out.replaceAll(hex, `$L${i + 1}`).replaceAll(BigInt(`0x${hex}`).toString(), `$L${i + 1}`);
  });
  return out.replace(/TTL\((\d+)s\), remaining\((\d+)s\)/g, (m, g: string, r: string) => {
    const left = Number(r);
    return left <= Number(g) && left >= Number(g) - 3 ? `TTL(${g}s), remaining(~${g}s)` : m;
  });
}

describe('leases through etcdctl 3.4 and the etcd3 package, on etcd and on raftkv', () => {
  const reference = new Map<number, LeaseRun>();

  describe.each<[string, () => Promise<Target>]>([
    ['etcd 3.4', startEtcd],
    ['a 3-node raftkv', () => startRaftkv(3)],
  ])('%s', (name, start) => {
    let target: Target | undefined;
    let client: Etcd3 | undefined;
    beforeAll(async () => {
      if (why) return;
      target = await start();
      client = new Etcd3({ hosts: target.endpoints.map((e) => `http://${e}`) });
    });
    afterAll(async () => {
      client?.close();
      await target?.stop();
    });

    maybe("etcdctl's lease commands: etcd's exact output", async () => {
      const runs = await runLeaseScript(target!);
      expect(runs.map((r) => [r.command, r.status !== 0])).toEqual(SCRIPT.map((s) => [`etcdctl ${s.args.join(' ')}`, s.fails === true]));
      if (name === 'etcd 3.4') {
        runs.forEach((r, i) => reference.set(i, r));
        return;
      }
      if (reference.size === 0) throw new Error("etcd's run failed: no reference to compare with");
      const diffs = runs.flatMap((r, i) => {
        const e = reference.get(i)!;
        return e.status === r.status && e.stdout === r.stdout && e.stderr === r.stderr
          ? []
          : [`step ${i}: ${r.command}\n--- etcd:\n${JSON.stringify(e)}\n--- raftkv:\n${JSON.stringify(r)}`];
      });
      expect(diffs).toEqual([]);
    });

    maybe('etcd3: a granted lease is kept alive past its TTL, holds its key, and revoking deletes the key', async () => {
      const c = client!;
      const lease = c.lease(2); // the minimum TTL: the client keeps it alive every 2/3 s
      const id = await lease.grant();
      expect(BigInt(id) > 0n).toBe(true);
      await lease.put('etcd3/held').value('yes').exec();
      let renewals = 0;
      lease.on('keepaliveSucceeded', () => void renewals++);
      await new Promise((r) => setTimeout(r, 4500)); // twice the TTL
      expect(renewals).toBeGreaterThan(1);
      expect(await c.get('etcd3/held').string()).toBe('yes');
      const once = await lease.keepaliveOnce();
      expect(Number(once.TTL)).toBe(2);
      await lease.revoke();
      expect(await c.get('etcd3/held').string()).toBeNull();
    });

    maybe('etcd3: a lease left to expire takes its key with it; an unknown lease is refused', async () => {
      const c = client!;
      const lease = c.lease(2, { autoKeepAlive: false });
      await lease.grant();
      await lease.put('etcd3/expiring').value('soon').exec();
      const deadline = Date.now() + 15_000;
      while ((await c.get('etcd3/expiring').string()) !== null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
      expect(await c.get('etcd3/expiring').string()).toBeNull();
      await expect(c.put('etcd3/x').value('v').lease('12345').exec()).rejects.toThrow(EtcdLeaseInvalidError);
    });
  });
});
