// The scale-down component (k8s/components/scale-down, enabled in overlays/three-production): rendered,
// its RBAC is minimal (get on statefulsets/raftkv only), the SA token reaches the raftkv container only,
// and the preStop hook runs the ConfigMap's script. Then a rehearsal on this machine: the rendered
// 3-node overlay runs as local pods, a tiny local HTTPS server (its CA in the token dir) plays the Kubernetes API (the StatefulSet
// with a replica count the test sets), and the rendered script runs as the kubelet would run the hook:
// for raftkv-2 (the leader, to cover a leader leaving) with replicas=2 it removes the member and the two
// left serve writes; the init container's script empties only that pod's volume, which then comes back
// as a new node; for raftkv-1 with replicas=3 (a restart) and with replicas=0 (a pause) it changes nothing.
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Role, type IRole } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding, type IRoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { ServiceAccount, type IServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { removeDir, tempDir, waitFor } from '@raftkv/testkit';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findKubectl, only, renderKustomization, type K8sObject } from '../src/index.js';
import { type NodeClient, ReadConsistency } from './grpc-clients.js';
import { localStatefulSet } from './local-fixture.js';
import { serverDir } from './local-statefulset.js';
import { deployDir, overlays } from './paths.js';

const kubectl = findKubectl();
const maybe = kubectl ? describe : describe.skip;
if (!kubectl) console.warn('scale-down.test: no kubectl; skipping');
const READINESS = 'raftkv.v1.KV';
const TOKEN = 'test-token';

maybe('scale-down component (overlay three-production)', () => {
  const objects: K8sObject[] = kubectl ? renderKustomization(kubectl, join(deployDir, 'k8s', 'overlays', 'three-production')) : [];
  const sts = () => only<IStatefulSet>(objects, 'StatefulSet', 'raftkv');
  const pod = () => sts().spec!.template.spec!;
  const script = (file = 'scale-down.mjs'): string => {
    const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('raftkv-scale-down-script-')) as IConfigMap;
    return cm.data![file]!;
  };

  test('RBAC: one ServiceAccount, allowed only get on statefulsets/raftkv', () => {
    const sa = only<IServiceAccount>(objects, 'ServiceAccount', 'raftkv-scale-down');
    const role = only<IRole>(objects, 'Role', 'raftkv-scale-down');
    const binding = only<IRoleBinding>(objects, 'RoleBinding', 'raftkv-scale-down');
    for (const [Model, o] of [
      [ServiceAccount, sa],
      [Role, role],
      [RoleBinding, binding],
      [StatefulSet, sts()],
    ] as const)
      expect(() => new (Model as new (o: never) => { validate(): void })(o as never).validate()).not.toThrow();
    expect(objects.filter((o) => ['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding'].includes(o.kind)).length).toBe(2);
    expect(role.rules).toEqual([{ apiGroups: ['apps'], resources: ['statefulsets'], resourceNames: ['raftkv'], verbs: ['get'] }]);
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'raftkv-scale-down' });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'raftkv-scale-down' }]);
    expect(sa.automountServiceAccountToken).toBe(false);
    expect(pod().serviceAccountName).toBe('raftkv-scale-down');
  });

  test('the token is projected into the raftkv container only; the hook runs the ConfigMap script in time', () => {
    const spec = pod();
    expect(spec.automountServiceAccountToken).toBe(false);
    const tokenVolumes = spec.volumes!.filter((v) => v.projected?.sources?.some((s) => s.serviceAccountToken));
    expect(tokenVolumes.map((v) => v.name)).toEqual(['scale-down-token']);
    const mounting = [...spec.containers, ...(spec.initContainers ?? [])].filter((c) =>
      c.volumeMounts?.some((m) => m.name === 'scale-down-token'),
    );
    expect(mounting.map((c) => c.name)).toEqual(['raftkv']);
    const raftkv = spec.containers.find((c) => c.name === 'raftkv')!;
    const dir = raftkv.volumeMounts!.find((m) => m.name === 'scale-down-token')!.mountPath;
    expect(script()).toContain(`'${dir}'`); // the script's default token dir is where the token is mounted
    const command = raftkv.lifecycle!.preStop!.exec!.command!;
    const scriptMount = raftkv.volumeMounts!.find((m) => m.name === 'scale-down-script')!;
    expect(command).toEqual(['node', `${scriptMount.mountPath}/scale-down.mjs`]);
    const cmName = spec.volumes!.find((v) => v.name === 'scale-down-script')!.configMap!.name;
    expect(objects.some((o) => o.kind === 'ConfigMap' && o.metadata.name === cmName)).toBe(true);
    // The wipe init container: the pods' image, the data volume and the script, no token.
    const wipe = spec.initContainers!.find((c) => c.name === 'scale-down-wipe')!;
    expect(wipe.image).toBe(raftkv.image);
    expect(wipe.command).toEqual(['/bin/sh', `${scriptMount.mountPath}/wipe-removed.sh`]);
    expect(wipe.volumeMounts!.find((m) => m.name === 'data')!.mountPath).toBe(
      raftkv.volumeMounts!.find((m) => m.name === 'data')!.mountPath,
    );
    expect(wipe.securityContext?.readOnlyRootFilesystem).toBe(true);
    // The hook's deadline plus the server's 60 s hand-over fit in the grace period.
    const hookMs = Number(raftkv.env!.find((e) => e.name === 'SCALE_DOWN_TIMEOUT_MS')!.value);
    expect(spec.terminationGracePeriodSeconds! * 1000).toBeGreaterThanOrEqual(hookMs + 60_000);
  });

  describe('on one machine', () => {
    const three = overlays.find((o) => o.name === 'three')!;
    const fixture = localStatefulSet();
    const clients: NodeClient[] = fixture.clients;
    const work = tempDir('raftkv-scale-down-');
    let replicas = 3;
    const seen: string[] = [];
    let api: Server | undefined;
    afterAll(async () => {
      await new Promise<void>((r) => (api ? api.close(() => r()) : r()));
      removeDir(work);
    });
    const ready = (c: NodeClient, ms: number) =>
      waitFor(`${c.address} ready`, async () => ((await c.check(READINESS)) === 'SERVING' ? true : undefined), ms);

    /** Runs the rendered hook script as the kubelet would for pod `name`; resolves its exit code and output. */
    const hook = (
      name: string,
      endpoints: string[],
      dataDir = work,
      extra: Record<string, string> = {},
    ): Promise<{ code: number; out: string }> => {
      const file = join(work, 'scale-down.mjs');
      writeFileSync(file, script());
      const env = {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        RAFTKV_ID: name,
        POD_NAMESPACE: 'default',
        KUBE_API: `https://127.0.0.1:${(api!.address() as AddressInfo).port}`,
        SCALE_DOWN_SA_DIR: work,
        RAFTCTL: `${process.execPath} ${join(serverDir, 'dist', 'cli', 'raftctl.js')}`,
        RAFTCTL_ENDPOINTS: endpoints.join(','),
        SCALE_DOWN_TIMEOUT_MS: '60000',
        RAFTKV_DATA_DIR: dataDir,
        ...extra,
      };
      return new Promise((resolve) =>
        execFile(process.execPath, [file], { env, timeout: 90_000 }, (err, stdout, stderr) =>
          resolve({ code: err ? Number((err as { code?: number }).code ?? -1) : 0, out: `${stdout}${stderr}` }),
        ),
      );
    };
    const voters = async (c: NodeClient) => (await c.status(5_000)).members.map((m) => m.id).sort();

    test('ordinal >= replicas: the member (the leader) is removed, the rest serve writes; a restart or a pause keeps it', async () => {
      writeFileSync(join(work, 'token'), `${TOKEN}\n`);
      // The API over TLS with its own CA, as in a cluster: the script must trust the SA dir's ca.crt.
      const certArgs = 'req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=kubernetes';
      execFileSync(
        'openssl',
        [...certArgs.split(' '), '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(work, 'api.key'), '-out', join(work, 'ca.crt')],
        { stdio: 'ignore' },
      );
      api = createServer({ key: readFileSync(join(work, 'api.key')), cert: readFileSync(join(work, 'ca.crt')) }, (req, res) => {
        seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? ''}`);
        if (req.headers.authorization !== `Bearer ${TOKEN}`) return void res.writeHead(401).end('{}');
        if (req.url !== '/apis/apps/v1/namespaces/default/statefulsets/raftkv') return void res.writeHead(404).end('{}');
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ metadata: { name: 'raftkv' }, spec: { replicas } }));
      });
      await new Promise<void>((r) => api!.listen(0, '127.0.0.1', () => r()));

      const local = await fixture.create(renderKustomization(kubectl!, three.dir), { namespace: 'default' });
      const [p0, p1, p2] = local.pods;
      const addresses = local.pods.map((p) => p.address);
      try {
        for (const p of [p0!, p1!, p2!]) p.start();
        for (const c of clients) await ready(c, 60_000);
        await clients[0]!.put('before', Buffer.from('kept'), '', 0, 10_000);
        // The leaving pod leads: the removal must hand leadership over, not lose the cluster.
        await transferTo('raftkv-2', addresses, async () => (await clients[2]!.status(2_000)).leaderId === 'raftkv-2');

        // kubectl scale statefulset raftkv --replicas=2: the kubelet runs raftkv-2's preStop hook.
        replicas = 2;
        const data2 = p2!.env['RAFTKV_DATA_DIR']!;
        const removed = await hook('raftkv-2', addresses.slice(0, 2), data2);
        expect(removed.out).toContain('member raftkv-2 removed');
        expect(removed.code).toBe(0);
        expect(seen.at(-1)).toBe(`GET /apis/apps/v1/namespaces/default/statefulsets/raftkv Bearer ${TOKEN}`);
        expect(readdirSync(data2)).toContain('removed-by-scale-down');
        await p2!.stop('SIGTERM', 30_000);
        for (const c of clients.slice(0, 2)) expect(await voters(c)).toEqual(['raftkv-0', 'raftkv-1']);
        await clients[0]!.put('after', Buffer.from('2'), '', 0, 10_000);
        await clients[1]!.put('after', Buffer.from('2b'), '', 0, 10_000);
        expect((await clients[0]!.read('after', ReadConsistency.READ_CONSISTENCY_LINEARIZABLE, 10_000)).value.toString()).toBe('2b');
        expect((await clients[1]!.read('before', ReadConsistency.READ_CONSISTENCY_LINEARIZABLE, 10_000)).value.toString()).toBe('kept');

        // Scaling up again: the init container empties the marked volume (and only it), the pod starts as
        // a new node and is added back (below the bootstrap size a pod does not join by itself).
        const wipe = (dir: string) =>
          spawnSync('sh', ['-c', script('wipe-removed.sh')], { encoding: 'utf8', env: { RAFTKV_DATA_DIR: dir } });
        const data1 = p1!.env['RAFTKV_DATA_DIR']!;
        const before1 = readdirSync(data1);
        expect(wipe(data1).status).toBe(0);
        expect(readdirSync(data1)).toEqual(before1);
        const wiped = wipe(data2);
        expect(wiped.stdout).toContain('emptying');
        expect(wiped.status).toBe(0);
        expect(readdirSync(data2)).toEqual([]);
        replicas = 3;
        p2!.start();
        await clients[0]!.addMember('raftkv-2', 'raftkv-2.raftkv-peer.default.svc.cluster.local:7003', 60_000);
        await ready(clients[2]!, 60_000);
        expect((await clients[2]!.read('after', ReadConsistency.READ_CONSISTENCY_LINEARIZABLE, 10_000)).value.toString()).toBe('2b');
        expect(await voters(clients[0]!)).toEqual(['raftkv-0', 'raftkv-1', 'raftkv-2']);
        // Scale down again, now with raftkv-2 a follower: removed again, the two serve.
        replicas = 2;
        expect((await hook('raftkv-2', addresses.slice(0, 2), data2)).code).toBe(0);
        await p2!.stop('SIGTERM', 30_000);
        expect(await voters(clients[1]!)).toEqual(['raftkv-0', 'raftkv-1']);

        // A restart of raftkv-1 (replicas 3 again, ordinal 1 below it) and a pause (replicas 0) remove nothing.
        for (const r of [3, 0]) {
          replicas = r;
          const kept = await hook('raftkv-1', addresses.slice(0, 2));
          expect(kept.code).toBe(0);
          expect(kept.out).toContain('the member stays');
          expect(await voters(clients[0]!)).toEqual(['raftkv-0', 'raftkv-1']);
        }
        // Without a valid token the API refuses: the hook fails loudly and removes nothing.
        replicas = 1;
        writeFileSync(join(work, 'token'), 'wrong\n');
        const refused = await hook('raftkv-1', addresses.slice(0, 2));
        expect(refused.code).toBe(1);
        expect(refused.out).toContain('HTTP 401');
        expect(await voters(clients[0]!)).toEqual(['raftkv-0', 'raftkv-1']);

        // With etcd auth on, membership changes need root: refused without SCALE_DOWN_USER, done with it.
        writeFileSync(join(work, 'token'), `${TOKEN}\n`);
        const ctl = (args: string[]) =>
          execFileSync(
            process.execPath,
            [join(serverDir, 'dist', 'cli', 'raftctl.js'), '--endpoints', addresses.slice(0, 2).join(','), ...args],
            {
              encoding: 'utf8',
            },
          );
        ctl(['user', 'add', 'root:secret']);
        ctl(['user', 'grant-role', 'root', 'root']);
        ctl(['auth', 'enable']);
        const denied = await hook('raftkv-1', addresses.slice(0, 2), data1, { SCALE_DOWN_TIMEOUT_MS: '3000' });
        expect(denied.code).toBe(1);
        expect(denied.out).toContain('user name is empty'); // etcd's answer to a change without a user
        expect(await voters(clients[0]!)).toEqual(['raftkv-0', 'raftkv-1']);
        const asRoot = await hook('raftkv-1', addresses.slice(0, 2), data1, { SCALE_DOWN_USER: 'root', SCALE_DOWN_PASSWORD: 'secret' });
        expect(asRoot.out).toContain('member raftkv-1 removed');
        expect(await voters(clients[0]!)).toEqual(['raftkv-0']);
      } catch (e) {
        fixture.dumpLogs(40);
        throw e;
      }
    }, 240_000);
  });
});

/** `raftctl transfer <id>` until `id` leads (an election may intervene). */
async function transferTo(id: string, endpoints: string[], leads: () => Promise<boolean>): Promise<void> {
  const raftctl = join(serverDir, 'dist', 'cli', 'raftctl.js');
  await waitFor(
    `${id} leads`,
    async () => {
      if (await leads().catch(() => false)) return true;
      await new Promise<void>((resolve) =>
        execFile(process.execPath, [raftctl, '--endpoints', endpoints.join(','), 'transfer', id], { timeout: 15_000 }, () => resolve()),
      );
      return (await leads().catch(() => false)) || undefined;
    },
    60_000,
  );
}
