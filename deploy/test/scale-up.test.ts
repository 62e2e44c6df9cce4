// Scaling the StatefulSet up on one machine: the rendered 3-node overlay runs as local pods
// (local-statefulset.ts), then a fourth pod starts exactly as `kubectl scale --replicas=4` would start
// raftkv-3: same template, so RAFTKV_REPLICAS is still the bootstrap size 3. Its ordinal is beyond it,
// so the server joins the cluster through the pods below it (--join semantics) instead of
// bootstrapping a membership nobody agreed to; it must end up a voter, Ready, with the data.
// Also: a user's overlay raising the replica count over overlays/three keeps RAFTKV_REPLICAS at 3.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { parseConfig } from '@raftkv/server';
import { configMapsOf, containerEnv, findKubectl, only, renderKustomization } from '../src/index.js';
import { waitFor } from '@raftkv/testkit';
import { type NodeClient, ReadConsistency } from './grpc-clients.js';
import { localStatefulSet } from './local-fixture.js';
import { makeCertificates, remount } from './local-statefulset.js';
import { overlays } from './paths.js';

const kubectl = findKubectl();
const maybe = kubectl ? describe : describe.skip;
const READINESS = 'raftkv.v1.KV';

maybe('StatefulSet scale-up (overlay three, then a fourth pod)', () => {
  const three = overlays.find((o) => o.name === 'three')!;

  test("a user's overlay with more replicas keeps the bootstrap size; the extra pods join", () => {
    const dir = mkdtempSync(join(tmpdir(), 'raftkv-overlay-'));
    try {
      mkdirSync(join(dir, 'my'));
      writeFileSync(
        join(dir, 'my', 'kustomization.yaml'),
        `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [${relative(join(dir, 'my'), three.dir)}]\nreplicas: [{name: raftkv, count: 5}]\n`,
      );
      const objects = renderKustomization(kubectl!, join(dir, 'my'));
      const sts = only<IStatefulSet>(objects, 'StatefulSet', 'raftkv');
      expect(sts.spec?.replicas).toBe(5);
      const container = sts.spec!.template.spec!.containers.find((c) => c.name === 'raftkv')!;
      const { peerTls } = makeCertificates('ns', join(dir, 'certs'), 5);
      const env = (pod: string) =>
        remount(
          containerEnv(container, { fields: { 'metadata.name': pod, 'metadata.namespace': 'ns' }, configMaps: configMapsOf(objects) }),
          { '/etc/raftkv/peer-tls': peerTls },
        );
      expect(env('raftkv-4')['RAFTKV_REPLICAS']).toBe('3');
      expect(parseConfig([], env('raftkv-2')).join).toBeNull();
      expect(parseConfig([], env('raftkv-4')).join).toEqual([0, 1, 2, 3].map((i) => `raftkv-${i}.raftkv-peer.ns.svc.cluster.local:7003`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  describe('on one machine', () => {
    const fixture = localStatefulSet();
    const clients = fixture.clients;
    const ready = (c: NodeClient, ms: number) =>
      waitFor(`${c.address} ready`, async () => ((await c.check(READINESS)) === 'SERVING' ? true : undefined), ms);

    test('raftkv-3 joins as a voter, becomes Ready and serves the data', async () => {
      const local = await fixture.create(renderKustomization(kubectl!, three.dir), { namespace: 'default', spare: 1 });
      const [p0, p1, p2, p3] = local.pods;
      try {
        for (const p of [p0!, p1!, p2!]) p.start();
        for (const c of clients.slice(0, 3)) await ready(c, 40_000);
        await clients[0]!.put('before-scale', Buffer.from('kept'), '', 0, 5_000);

        p3!.start(); // kubectl scale statefulset raftkv --replicas=4
        await ready(clients[3]!, 60_000);
        const members = await waitFor(
          'raftkv-3 a voter',
          async () => {
            const s = await clients[0]!.status(2_000);
            return s.members.find((m) => m.id === 'raftkv-3')?.voter ? s.members : undefined;
          },
          30_000,
        );
        expect(members.map((m) => [m.id, m.voter])).toEqual([0, 1, 2, 3].map((i) => [`raftkv-${i}`, true]));
        expect(members.find((m) => m.id === 'raftkv-3')?.address).toBe('raftkv-3.raftkv-peer.default.svc.cluster.local:7003');
        expect((await clients[3]!.read('before-scale', ReadConsistency.READ_CONSISTENCY_LINEARIZABLE, 5_000)).value.toString()).toBe(
          'kept',
        );
        await clients[3]!.put('after-scale', Buffer.from('4'), '', 0, 5_000);
        expect((await clients[1]!.read('after-scale', ReadConsistency.READ_CONSISTENCY_LINEARIZABLE, 5_000)).value.toString()).toBe('4');
      } catch (e) {
        fixture.dumpLogs(40);
        throw e;
      }
    }, 150_000);
  });
});
