// Replacing a broken node of the StatefulSet (deploy/README.md, "replace one broken node"): its data
// is lost, so it is removed from the membership, its PVC and pod are deleted, and the pod the
// StatefulSet recreates under the same name, with an empty volume, is added back with `member add`. It
// must end up a voter, Ready, with the data. Rehearsed on one machine with the rendered 3-node
// overlay (local-statefulset.ts), while the other two keep a quorum and keep taking writes.
import { mkdirSync, rmSync } from 'node:fs';
import { findKubectl, renderKustomization } from '../src/index.js';
import { waitFor } from '@raftkv/testkit';
import { ReadConsistency, type NodeClient } from './grpc-clients.js';
import { localStatefulSet } from './local-fixture.js';
import { overlays } from './paths.js';

const kubectl = findKubectl();
const maybe = kubectl ? describe : describe.skip;
const READINESS = 'raftkv.v1.KV';
const LINEARIZABLE = ReadConsistency.READ_CONSISTENCY_LINEARIZABLE;

maybe('replacing a node whose data is lost (overlay three)', () => {
  const three = overlays.find((o) => o.name === 'three')!;
  const fixture = localStatefulSet();
  const ready = (c: NodeClient, ms: number) =>
    waitFor(`${c.address} ready`, async () => ((await c.check(READINESS)) === 'SERVING' ? true : undefined), ms);

  test('member remove, delete the PVC and pod, member add: the new raftkv-1 is a voter with the data', async () => {
    const local = await fixture.create(renderKustomization(kubectl!, three.dir), { namespace: 'default' });
    const [p0, p1, p2] = local.pods;
    const [c0, c1, c2] = fixture.clients;
    try {
      for (const p of [p0!, p1!, p2!]) p.start();
      for (const c of [c0!, c1!, c2!]) await ready(c, 40_000);
      await c0!.put('before', Buffer.from('kept'), '', 0, 5_000);

      // raftkv-1 "lost its disk": out of the membership first, so the two others are the quorum.
      const removed = await c2!.removeMember('raftkv-1', 30_000);
      expect(removed.members.map((m) => m.id).sort()).toEqual(['raftkv-0', 'raftkv-2']);
      await p1!.stop('SIGTERM', 10_000);
      const dataDir = p1!.env['RAFTKV_DATA_DIR']!;
      rmSync(dataDir, { recursive: true, force: true }); // kubectl delete pvc data-raftkv-1
      mkdirSync(dataDir);
      await c0!.put('while-out', Buffer.from('2 of 2'), '', 0, 5_000);

      p1!.start(); // the StatefulSet recreates raftkv-1 on a fresh volume
      const added = await c0!.addMember('raftkv-1', 'raftkv-1.raftkv-peer.default.svc.cluster.local:7003', 60_000);
      expect(added.members.find((m) => m.id === 'raftkv-1')?.voter).toBe(true);
      await ready(c1!, 60_000);
      const members = (await c1!.status(2_000)).members.map((m) => [m.id, m.voter]);
      expect(members).toEqual([0, 1, 2].map((i) => [`raftkv-${i}`, true]));
      expect((await c1!.read('before', ReadConsistency.READ_CONSISTENCY_STALE, 5_000)).value.toString()).toBe('kept');
      expect((await c1!.read('while-out', LINEARIZABLE, 5_000)).value.toString()).toBe('2 of 2');
      // It counts toward the quorum again: with raftkv-2 gone, writes still commit.
      await p2!.stop('SIGTERM', 10_000);
      await c1!.put('after', Buffer.from('3'), '', 0, 10_000);
      expect((await c0!.read('after', LINEARIZABLE, 5_000)).value.toString()).toBe('3');
    } catch (e) {
      fixture.dumpLogs(40);
      throw e;
    }
  }, 180_000);
});
