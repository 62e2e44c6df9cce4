// Recovering a StatefulSet from a permanent loss of quorum as docs/disaster-recovery.md says, rehearsed on
// one machine with the rendered 3-node overlay: raftkv-1 and raftkv-2 lose their volumes for good;
// raftkv-0 restarts with RAFTKV_FORCE_NEW_CLUSTER=true and RAFTKV_REPLICAS=1 (`kubectl set env`) and
// leads alone with every acknowledged write; the pods scaled back up, on empty volumes and with
// RAFTKV_REPLICAS=1, join through the pods below them and end as voters with the data.
import { rmSync } from 'node:fs';
import { waitFor } from '@raftkv/testkit';
import { findKubectl, renderKustomization } from '../src/index.js';
import { NodeClient, ReadConsistency } from './grpc-clients.js';
import { localStatefulSet } from './local-fixture.js';
import { LocalPod } from './local-statefulset.js';
import { overlays } from './paths.js';

const kubectl = findKubectl();
const maybe = kubectl ? describe : describe.skip;
const READINESS = 'raftkv.v1.KV';

maybe('quorum loss on Kubernetes (overlay three)', () => {
  const three = overlays.find((o) => o.name === 'three')!;
  const fixture = localStatefulSet();
  const extra: { pod: LocalPod; client: NodeClient }[] = [];
  afterAll(async () => {
    for (const e of extra) {
      e.client.close();
      await e.pod.stop('SIGKILL', 5_000);
      e.pod.closeLog();
    }
  });
  const ready = (c: NodeClient, ms: number) =>
    waitFor(`${c.address} ready`, async () => ((await c.check(READINESS)) === 'SERVING' ? true : undefined), ms);
  /** The pod as `kubectl set env statefulset/raftkv ...` recreates it: same name, address and volume. */
  const withEnv = (p: LocalPod, env: Record<string, string>): { pod: LocalPod; client: NodeClient } => {
    const pod = new LocalPod(p.name, p.address, { ...p.env, ...env }, `${p.logPath}.2`, p.probeAddress);
    const e = { pod, client: new NodeClient(p.address) };
    extra.push(e);
    return e;
  };

  test('force raftkv-0 into a one-member cluster, then scale back up: every acknowledged write is there', async () => {
    const local = await fixture.create(renderKustomization(kubectl!, three.dir), { namespace: 'default' });
    const [p0, p1, p2] = local.pods as [LocalPod, LocalPod, LocalPod];
    const [c0] = fixture.clients as [NodeClient];
    try {
      for (const p of local.pods) p.start();
      for (const c of fixture.clients) await ready(c, 40_000);
      const leader = await waitFor('a leader', async () => (await c0.status(2_000)).leaderId || undefined, 30_000);
      const lc = fixture.clients[local.pods.findIndex((p) => p.name === leader)]!;
      for (let i = 0; i < 30; i++) await lc.put(`q${i}`, Buffer.from(`v${i}`), 'writer', i + 1, 10_000);
      await waitFor(
        'raftkv-0 applied every write',
        async () => {
          const [s, l] = await Promise.all([c0.status(2_000), lc.status(2_000)]);
          return s.appliedIndex >= l.commitIndex ? true : undefined;
        },
        30_000,
      );

      // raftkv-1 and raftkv-2 are gone for good; raftkv-0 alone has no quorum.
      for (const p of [p1, p2]) {
        await p.stop('SIGKILL', 5_000);
        rmSync(p.env['RAFTKV_DATA_DIR']!, { recursive: true, force: true });
      }
      await p0.stop('SIGTERM', local.graceMs);
      const forced = withEnv(p0, { RAFTKV_FORCE_NEW_CLUSTER: 'true', RAFTKV_REPLICAS: '1' });
      forced.pod.start();
      await ready(forced.client, 60_000);
      const solo = await forced.client.status(2_000);
      expect(solo.leaderId).toBe('raftkv-0');
      expect(solo.members.map((m) => m.id)).toEqual(['raftkv-0']);
      for (let i = 0; i < 30; i++)
        expect((await forced.client.read(`q${i}`, ReadConsistency.READ_CONSISTENCY_LINEARIZABLE, 10_000)).value.toString()).toBe(`v${i}`);

      // Scaled back up on empty volumes, with RAFTKV_REPLICAS=1: they join instead of bootstrapping.
      for (const p of [p1, p2]) {
        const e = withEnv(p, { RAFTKV_REPLICAS: '1' });
        e.pod.start();
        await ready(e.client, 90_000);
      }
      const members = await waitFor(
        'three voters',
        async () => {
          const s = await forced.client.status(2_000);
          return s.members.filter((m) => m.voter).length === 3 ? s.members : undefined;
        },
        60_000,
      );
      expect(members.map((m) => m.id).sort()).toEqual(['raftkv-0', 'raftkv-1', 'raftkv-2']);
      const last = extra[extra.length - 1]!.client;
      expect((await last.read('q29', ReadConsistency.READ_CONSISTENCY_LINEARIZABLE, 10_000)).value.toString()).toBe('v29');
    } catch (e) {
      fixture.dumpLogs();
      for (const x of extra) console.error(`--- ${x.pod.name} (restarted)\n${x.pod.tail()}`);
      throw e;
    }
  }, 240_000);
});
