// Differential proof of etcd's auth: the etcdctl auth script (auth-script.ts) against a fresh etcd 3.4
// and a fresh 3-node raftkv must give identical exit statuses and outputs at every step; then, on the
// same servers, the npm etcd3 client with a user and password (its own token handling) is allowed and
// refused alike.
import { Etcd3 } from 'etcd3';
import { provisionEtcd, startEtcd } from './etcd.js';
import { etcdctl } from './etcdctl.js';
import { AUTH_SCRIPT } from './auth-script.js';
import { startRaftkv } from './raftkv.js';
import type { Target } from './target.js';
import { differences, runScript, type StepRun } from './transcript.js';

const why = provisionEtcd();
const maybe = why ? test.skip : test;

/** What the etcd3 client sees, as text: each step's value or its error's class and message. */
async function etcd3Outcomes(t: Target): Promise<string[]> {
  const root = ['--user', 'root:rootpw'];
  const run = async (args: string[]): Promise<void> => {
    const r = await etcdctl(t.endpoints, args);
    if (r.status !== 0) throw new Error(`etcdctl ${args.join(' ')}: ${r.stderr}`);
  };
  await run(['user', 'add', 'carol:carolpw']);
  await run(['role', 'add', 'rc']);
  await run(['role', 'grant-permission', 'rc', 'readwrite', 'c/', '--prefix']);
  await run(['user', 'grant-role', 'carol', 'rc']);
  await run(['auth', 'enable']);
  const hosts = t.endpoints.map((e) => `http://${e}`);
  const carol = new Etcd3({ hosts, auth: { username: 'carol', password: 'carolpw' } });
  const wrong = new Etcd3({ hosts, auth: { username: 'carol', password: 'nope' } });
  const anonymous = new Etcd3({ hosts });
  const out: string[] = [];
  const step = async (name: string, f: () => Promise<unknown>): Promise<void> => {
    try {
      out.push(`${name}: ${JSON.stringify(await f())}`);
    } catch (e) {
      out.push(`${name}: ${(e as Error).constructor.name} ${(e as Error).message}`);
    }
  };
  try {
    await step('carol puts in her prefix', async () => (await carol.put('c/1').value('one').exec()).prev_kv ?? null);
    await step('carol reads her prefix', () => carol.getAll().prefix('c/').strings());
    await step('carol writes outside it', () =>
      carol
        .put('d')
        .value('x')
        .exec()
        .then(() => 'ok'),
    );
    await step('carol reads outside it', () => carol.get('d').string());
    await step('carol deletes in her prefix', async () => Number((await carol.delete().key('c/1').exec()).deleted));
    await step('carol lists users', () => carol.getUsers().then((us) => us.map((u) => u.name)));
    await step('a wrong password', () => wrong.get('c/1').string());
    await step('no user', () => anonymous.get('c/1').string());
  } finally {
    carol.close();
    wrong.close();
    anonymous.close();
  }
  await run([...root, 'auth', 'disable']);
  return out;
}

async function runOn(start: () => Promise<Target>): Promise<{ script: StepRun[]; etcd3: string[] }> {
  const t = await start();
  try {
    const script = await runScript(t, AUTH_SCRIPT);
    return { script, etcd3: await etcd3Outcomes(t) };
  } finally {
    await t.stop();
  }
}

describe("etcd's auth against etcd 3.4 and a 3-node raftkv", () => {
  let etcd: { script: StepRun[]; etcd3: string[] } | undefined;

  maybe('etcd runs the auth script and the etcd3 steps, failing exactly where expected', async () => {
    etcd = await runOn(startEtcd);
    expect(etcd.script.map((r, i) => [i, r.command, r.status !== 0])).toEqual(
      AUTH_SCRIPT.map((s, i) => [i, etcd!.script[i]!.command, s.fails === true]),
    );
    expect(etcd.etcd3.join('\n')).toContain('carol writes outside it: EtcdPermissionDeniedError');
  });

  maybe("raftkv gives etcd's output at every step, and the etcd3 client the same outcomes", async () => {
    if (!etcd) throw new Error("etcd's run failed: no reference to compare with");
    const raftkv = await runOn(() => startRaftkv(3));
    expect(differences(etcd.script, raftkv.script)).toEqual([]);
    expect(raftkv.etcd3).toEqual(etcd.etcd3);
  });
});
