// "StatefulSet on one machine" (issue 6): the rendered 3-node overlay run as local processes exactly as
// its pods would run (see local-statefulset.ts), checked to form one cluster from the manifest's env
// alone, then put through a rolling update: pods restarted one at a time from the highest ordinal, each
// with SIGTERM, waiting for the readiness probe's condition before the next, under write load; no
// acknowledged write may be lost on any node.
import { roleToJSON } from '@raftkv/proto';
import { findKubectl, renderKustomization } from '../src/index.js';
import { waitFor } from '@raftkv/testkit';
import { ReadConsistency } from './grpc-clients.js';
import { localStatefulSet } from './local-fixture.js';
import type { LocalPod, LocalStatefulSet } from './local-statefulset.js';
import { overlays } from './paths.js';
import { WriteLoad, sleep } from './write-load.js';

const NAMESPACE = 'default';
const LIVENESS = ''; // the manifests' liveness/startup probe service
const READINESS = 'raftkv.v1.KV'; // the manifests' readiness probe service

const kubectl = findKubectl();
if (!kubectl) console.warn('StatefulSet-on-one-machine test: kubectl not found (set $KUBECTL); skipping');
const describeIf = kubectl ? describe : describe.skip;

describeIf('StatefulSet on one machine (overlay three)', () => {
  const overlay = overlays.find((o) => o.name === 'three')!;
  const fixture = localStatefulSet();
  let sts: LocalStatefulSet | undefined;
  const ready = new Set<string>(); // the client Service's endpoints
  const client = (p: LocalPod) => fixture.clients[sts!.pods.indexOf(p)]!;
  const pods = () => sts!.pods;
  const dumpLogs = () => fixture.dumpLogs();
  const waitReady = (p: LocalPod, ms: number) =>
    waitFor(
      `${p.name} ready (${READINESS} SERVING)`,
      async () => ((await client(p).check(READINESS)) === 'SERVING' ? true : undefined),
      ms,
    );

  beforeAll(async () => {
    sts = await fixture.create(renderKustomization(kubectl!, overlay.dir), { namespace: NAMESPACE });
  });

  test('a pod without a quorum answers its probes and is not ready', async () => {
    const p0 = pods()[0]!;
    p0.start();
    try {
      await waitFor(`${p0.name} answering`, async () => ((await client(p0).check(LIVENESS)) !== 'UNREACHABLE' ? true : undefined), 20_000);
      // Longer than the ConfigMap's largest election timeout: it has campaigned and cannot have won.
      await sleep(Number(p0.env['RAFTKV_ELECTION_TIMEOUT_MAX_MS'] ?? 2000) + 1_000);
      expect(await client(p0).check(READINESS)).toBe('NOT_SERVING');
    } catch (e) {
      dumpLogs();
      throw e;
    }
  }, 40_000);

  // The liveness probe asks for service "": it must stay SERVING while the process is up, or the kubelet
  // restarts every node of a cluster that has lost its quorum (or a partitioned node) in a loop.
  test('a pod without a quorum is still live (health service "" SERVING)', async () => {
    expect(await client(pods()[0]!).check(LIVENESS)).toBe('SERVING');
  });

  test('the pods form one cluster from the manifest env alone', async () => {
    try {
      for (const p of pods()) if (!p.running) p.start(); // Parallel pod management: the rest start together
      for (const p of pods()) {
        await waitReady(p, 30_000);
        ready.add(p.name);
      }
      const statuses = await Promise.all(pods().map((p) => client(p).status(2_000)));
      const leaders = new Set(statuses.map((s) => s.leaderId));
      expect(leaders.size).toBe(1);
      expect(pods().map((p) => p.name)).toContain([...leaders][0]);
      expect(new Set(statuses.map((s) => s.term)).size).toBe(1);
      expect(statuses.map((s) => s.id)).toEqual(pods().map((p) => p.name));
      // The membership the server computed from RAFTKV_REPLICAS / RAFTKV_PEER_DOMAIN / RAFTKV_PEER_PORT.
      const expected = pods().map((p) => ({
        id: p.name,
        address: `${p.name}.raftkv-peer.${NAMESPACE}.svc.cluster.local:7003`,
      }));
      for (const s of statuses) {
        expect(s.members.map((m) => ({ id: m.id, address: m.address })).sort((a, b) => a.id.localeCompare(b.id))).toEqual(expected);
      }
    } catch (e) {
      dumpLogs();
      throw e;
    }
  }, 60_000);

  test('rolling update under write load loses no acknowledged write', async () => {
    const graceMs = sts!.graceMs;
    const load = new WriteLoad(
      () =>
        pods()
          .filter((p) => ready.has(p.name))
          .map(client),
      {
        workers: 4,
        pauseMs: 20,
        callMs: 3_000,
        maxWrites: 20_000,
      },
    );
    const steps: string[] = [];
    try {
      load.start();
      await waitFor('writes flowing', async () => (load.acked.size >= 50 ? true : undefined), 20_000);
      // The StatefulSet controller's order: highest ordinal first, one pod at a time, next after Ready.
      for (const p of [...pods()].reverse()) {
        const role = roleToJSON((await client(p).status(2_000)).role);
        const t0 = Date.now();
        ready.delete(p.name); // terminating pods leave the Service's endpoints
        const exit = await p.stop('SIGTERM', graceMs);
        expect({ pod: p.name, timedOut: exit.timedOut, code: exit.code }).toEqual({ pod: p.name, timedOut: false, code: 0 });
        p.start();
        await waitFor(`${p.name} answering`, async () => ((await client(p).check(LIVENESS)) !== 'UNREACHABLE' ? true : undefined), 30_000);
        const tLive = Date.now();
        await waitReady(p, 60_000);
        ready.add(p.name);
        const tReady = Date.now();
        // Writes keep being acknowledged once the step is done.
        const before = load.acked.size;
        await waitFor(`writes after restarting ${p.name}`, async () => (load.acked.size >= before + 20 ? true : undefined), 20_000);
        steps.push(
          `${p.name} (${role}): SIGTERM->exit ${exit.ms} ms, ->answering ${tLive - t0} ms, ->ready ${tReady - t0} ms, ` +
            `longest write gap ${load.maxGapMs(t0, tReady)} ms`,
        );
      }
    } catch (e) {
      dumpLogs();
      throw e;
    } finally {
      await load.stop();
    }
    const sorted = [...load.latenciesMs].sort((a, b) => a - b);
    const pct = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
    console.log(
      `rolling update: ${load.acked.size} writes acknowledged, ${load.gaveUp} abandoned, ${load.attemptsFailed} failed attempts; ` +
        `Propose p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms\n  ` +
        steps.join('\n  '),
    );
    expect(load.acked.size).toBeGreaterThan(100);

    // Every acknowledged write, linearizably, through each node...
    const entries = [...load.acked.entries()];
    const check = async (p: LocalPod, consistency: ReadConsistency) => {
      const missing: string[] = [];
      for (let i = 0; i < entries.length; i += 32) {
        await Promise.all(
          entries.slice(i, i + 32).map(async ([key, value]) => {
            const r = await client(p).read(key, consistency, 5_000);
            if (!r.found || !Buffer.from(r.value).equals(value)) missing.push(key);
          }),
        );
      }
      return missing;
    };
    expect(await check(pods()[0]!, ReadConsistency.READ_CONSISTENCY_LINEARIZABLE)).toEqual([]);
    // ...and in every node's own state machine once it has applied everything committed.
    const leaderStatus = await client(pods()[0]!).status(2_000);
    const commit = (await Promise.all(pods().map((p) => client(p).status(2_000)))).reduce(
      (m, s) => Math.max(m, s.commitIndex),
      leaderStatus.commitIndex,
    );
    for (const p of pods()) {
      await waitFor(
        `${p.name} applied ${commit}`,
        async () => ((await client(p).status(2_000)).appliedIndex >= commit ? true : undefined),
        20_000,
      );
      expect({ pod: p.name, missing: await check(p, ReadConsistency.READ_CONSISTENCY_STALE) }).toEqual({ pod: p.name, missing: [] });
    }
  }, 300_000);
});
