// Renders every overlay with `kubectl kustomize`, validates each object against the Kubernetes API
// schemas (kubernetes-models: types, required fields, enums) and asserts the properties raftkv relies
// on. The schemas do not reject misspelled field names, so every field that matters is asserted here
// at its exact path.
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IContainer } from 'kubernetes-models/v1/Container';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import {
  SERVER_ENV_NAMES,
  TUNING_FLAGS,
  configMapsOf,
  containerEnv,
  envName,
  findKubectl,
  only,
  pdbMinHealthy,
  quorumSize,
  renderKustomization,
  type K8sObject,
} from '../src/index.js';
import { parseConfig } from '@raftkv/server';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeCertificates, remount } from './local-statefulset.js';
import { overlays } from './paths.js';

const GRPC_PORT = 7001;
const PEER_PORT = 7003;
const PEER_TLS = '/etc/raftkv/peer-tls';
const DATA_DIR = '/var/lib/raftkv';

const models: Record<string, { validate(): void } & (new (data: never) => { validate(): void })> = {
  'v1/ConfigMap': ConfigMap as never,
  'v1/Service': Service as never,
  'apps/v1/StatefulSet': StatefulSet as never,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget as never,
};

const kubectl = findKubectl();
if (!kubectl) {
  console.warn('deploy manifests: kubectl not found (set $KUBECTL or put it on PATH); skipping the render tests');
}
const describeRendered = kubectl ? describe : describe.skip;

function raftkvContainer(sts: IStatefulSet): IContainer {
  const c = sts.spec?.template.spec?.containers.find((c) => c.name === 'raftkv');
  if (!c) throw new Error('no raftkv container');
  return c;
}

describe('quorum arithmetic', () => {
  test('quorum and PDB minimums', () => {
    expect([1, 2, 3, 4, 5, 7].map(quorumSize)).toEqual([1, 2, 2, 3, 3, 4]);
    expect(pdbMinHealthy({ maxUnavailable: 1 }, 5)).toBe(4);
    expect(pdbMinHealthy({ maxUnavailable: '50%' }, 5)).toBe(2); // rounds up: 3 may go
    expect(pdbMinHealthy({ minAvailable: '51%' }, 5)).toBe(3);
    expect(pdbMinHealthy({ minAvailable: 2 }, 3)).toBe(2);
    expect(pdbMinHealthy({}, 3)).toBe(0);
  });
});

for (const { name, dir, replicas } of overlays)
  describeRendered(`overlay ${name}`, () => {
    const objects: K8sObject[] = kubectl ? renderKustomization(kubectl, dir) : [];
    const sts = () => only<IStatefulSet>(objects, 'StatefulSet', 'raftkv');
    const container = () => raftkvContainer(sts());
    const podSpec = () => sts().spec!.template.spec!;

    test('renders exactly the expected objects', () => {
      const kinds = objects.map((o) => `${o.kind}/${o.metadata.name.replace(/-[a-z0-9]{10}$/, '-<hash>')}`).sort();
      expect(kinds).toEqual([
        'ConfigMap/raftkv-tuning-<hash>',
        'PodDisruptionBudget/raftkv',
        'Service/raftkv',
        'Service/raftkv-peer',
        'StatefulSet/raftkv',
      ]);
    });

    test('every object validates against the Kubernetes API schema', () => {
      for (const o of objects) {
        const Model = models[`${o.apiVersion}/${o.kind}`];
        if (!Model) throw new Error(`no schema for ${o.apiVersion} ${o.kind}`);
        expect(() => new Model(o as never).validate()).not.toThrow();
      }
    });

    test('the schema check itself rejects a broken object', () => {
      const broken = structuredClone(sts()) as unknown as { spec: Record<string, unknown> };
      broken.spec['replicas'] = 'three';
      delete broken.spec['selector'];
      expect(() => new StatefulSet(broken as never).validate()).toThrow(/selector|replicas/);
    });

    test('StatefulSet: stable pod names, parallel start, peer Service', () => {
      const s = sts();
      expect(s.metadata?.name).toBe('raftkv'); // pods raftkv-0..N-1 = node ids
      expect(s.spec?.replicas).toBe(replicas);
      expect(s.spec?.podManagementPolicy).toBe('Parallel');
      expect(s.spec?.serviceName).toBe('raftkv-peer');
      expect(s.spec?.updateStrategy?.type ?? 'RollingUpdate').toBe('RollingUpdate');
      expect(s.spec?.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: 'Retain', whenScaled: 'Retain' });
      const selector = s.spec?.selector.matchLabels ?? {};
      expect(Object.keys(selector).length).toBeGreaterThan(0);
      expect(s.spec?.template.metadata?.labels).toMatchObject(selector);
    });

    test('env wiring matches the server flag contract', () => {
      const c = container();
      const names = [...(c.env ?? []).map((e) => e.name)];
      for (const n of names.filter((n) => n.startsWith('RAFTKV_'))) expect(SERVER_ENV_NAMES).toContain(n);
      const byName = new Map((c.env ?? []).map((e) => [e.name, e]));
      expect(byName.get(envName('id'))?.valueFrom?.fieldRef?.fieldPath).toBe('metadata.name');
      expect(byName.get(envName('replicas'))?.value).toBe(String(replicas));
      expect(byName.get(envName('peer-port'))?.value).toBe(String(PEER_PORT));
      expect(byName.get(envName('listen'))?.value).toBe(`0.0.0.0:${GRPC_PORT}`);
      expect(byName.get(envName('data-dir'))?.value).toBe(DATA_DIR);
      // StatefulSet mode: peers are computed by the server, never listed.
      expect(byName.has(envName('peers'))).toBe(false);
      expect(byName.has(envName('dial-overrides'))).toBe(false);

      // What a pod actually sees, resolved as the kubelet would.
      const configMaps = configMapsOf(objects);
      const env = containerEnv(c, { fields: { 'metadata.name': 'raftkv-2', 'metadata.namespace': 'team-a' }, configMaps });
      expect(env).toMatchObject({
        RAFTKV_ID: 'raftkv-2',
        RAFTKV_REPLICAS: String(replicas),
        RAFTKV_PEER_DOMAIN: 'raftkv-peer.team-a.svc.cluster.local',
        RAFTKV_PEER_PORT: '7003',
        RAFTKV_LISTEN: '0.0.0.0:7001',
        RAFTKV_PEER_LISTEN: '0.0.0.0:7003',
        RAFTKV_DATA_DIR: DATA_DIR,
        // Authenticated peers: each pod presents the certificate naming it, from the Secret raftkv-peer-tls.
        RAFTKV_PEER_TLS_CERT: `${PEER_TLS}/raftkv-2.crt`,
        RAFTKV_PEER_TLS_KEY: `${PEER_TLS}/raftkv-2.key`,
        RAFTKV_PEER_TLS_CA: `${PEER_TLS}/ca.crt`,
      });
      const vol = podSpec().volumes!.find((v) => v.name === 'peer-tls')!;
      expect(vol.secret).toEqual({ secretName: 'raftkv-peer-tls', defaultMode: 0o440 });
      expect(c.volumeMounts!.find((m) => m.name === 'peer-tls')).toEqual({ name: 'peer-tls', mountPath: PEER_TLS, readOnly: true });
      for (const k of Object.keys(env).filter((k) => k.startsWith('RAFTKV_'))) expect(SERVER_ENV_NAMES).toContain(k);
      // The peer domain names the headless Service, whose pods' DNS names the server dials.
      expect(env['RAFTKV_PEER_DOMAIN']?.split('.')[0]).toBe(sts().spec?.serviceName);
      // Service links would inject RAFTKV_PORT etc. from the Service named raftkv.
      expect(podSpec().enableServiceLinks).toBe(false);
    });

    test("every pod's env parses with the server's own config parser into the intended cluster", () => {
      const configMaps = configMapsOf(objects);
      const ns = 'prod';
      const dns = (i: number) => `raftkv-${i}.raftkv-peer.${ns}.svc.cluster.local:${PEER_PORT}`;
      // The Secret raftkv-peer-tls as the README makes it.
      const certs = mkdtempSync(join(tmpdir(), 'raftkv-manifest-certs-'));
      const { peerTls } = makeCertificates(ns, certs, replicas);
      for (let i = 0; i < replicas; i++) {
        const env = remount(
          containerEnv(container(), { fields: { 'metadata.name': `raftkv-${i}`, 'metadata.namespace': ns }, configMaps }),
          { [PEER_TLS]: peerTls },
        );
        const config = parseConfig([], env);
        expect(config.peerTls).not.toBeNull();
        expect(config.peerListen).toBe(`0.0.0.0:${PEER_PORT}`);
        expect(config.id).toBe(`raftkv-${i}`);
        expect([...config.peers.entries()]).toEqual(Array.from({ length: replicas }, (_, j) => [`raftkv-${j}`, dns(j)]));
        expect(config.listen).toBe(`0.0.0.0:${GRPC_PORT}`);
        expect(config.advertise).toBe(dns(i));
        expect(config.dataDir).toBe(DATA_DIR);
        expect(config.dialOverrides.size).toBe(0);
        expect(config.electionTimeoutMinMs).toBe(Number(env['RAFTKV_ELECTION_TIMEOUT_MIN_MS']));
        expect(config.electionTimeoutMaxMs).toBe(Number(env['RAFTKV_ELECTION_TIMEOUT_MAX_MS']));
        expect(config.heartbeatMs).toBe(Number(env['RAFTKV_HEARTBEAT_MS']));
        expect(config.clusterId).toBe(env['RAFTKV_CLUSTER_ID']);
      }
      rmSync(certs, { recursive: true, force: true });
    });

    test('tuning flags come from the generated ConfigMap and only tuning flags', () => {
      const refs = (container().envFrom ?? []).map((s) => s.configMapRef?.name);
      expect(refs).toHaveLength(1);
      const cm = only<IConfigMap>(objects, 'ConfigMap', refs[0]);
      const data = cm.data ?? {};
      expect(Object.keys(data).sort()).toEqual(TUNING_FLAGS.map(envName).sort());
      const min = Number(data['RAFTKV_ELECTION_TIMEOUT_MIN_MS']);
      const max = Number(data['RAFTKV_ELECTION_TIMEOUT_MAX_MS']);
      const hb = Number(data['RAFTKV_HEARTBEAT_MS']);
      expect(hb).toBeGreaterThan(0);
      expect(min).toBeGreaterThanOrEqual(5 * hb); // several heartbeats fit in the shortest election timeout
      expect(max).toBeGreaterThan(min);
    });

    test('probes: native gRPC on the server port; readiness asks for raftkv.v1.KV', () => {
      const c = container();
      expect(c.ports?.find((p) => p.name === 'grpc')?.containerPort).toBe(GRPC_PORT);
      expect(c.livenessProbe?.grpc?.port).toBe(GRPC_PORT);
      expect(c.livenessProbe?.grpc?.service ?? '').toBe('');
      expect(c.startupProbe?.grpc?.port).toBe(GRPC_PORT);
      expect(c.startupProbe?.grpc?.service ?? '').toBe('');
      expect(c.readinessProbe?.grpc?.port).toBe(GRPC_PORT);
      expect(c.readinessProbe?.grpc?.service).toBe('raftkv.v1.KV');
      for (const p of [c.livenessProbe, c.readinessProbe, c.startupProbe]) {
        expect(p?.httpGet ?? p?.tcpSocket ?? p?.exec).toBeUndefined();
      }
      // A slow start must not be mistaken for a hang: the startup probe allows at least a minute.
      const s = c.startupProbe!;
      expect((s.periodSeconds ?? 10) * (s.failureThreshold ?? 3)).toBeGreaterThanOrEqual(60);
    });

    test('metrics: the server listens on the named metrics port that the scrape annotations name', () => {
      const c = container();
      const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]));
      const port = c.ports?.find((p) => p.name === 'metrics')?.containerPort;
      expect(port).toBeDefined();
      expect(env['RAFTKV_METRICS_LISTEN']).toBe(`0.0.0.0:${port}`);
      const annotations = sts().spec?.template.metadata?.annotations ?? {};
      expect(annotations).toMatchObject({
        'prometheus.io/scrape': 'true',
        'prometheus.io/port': String(port),
        'prometheus.io/path': '/metrics',
      });
      expect(port).not.toBe(GRPC_PORT);
    });

    test('PodDisruptionBudget never lets a voluntary disruption take the quorum', () => {
      const pdb = only<IPodDisruptionBudget>(objects, 'PodDisruptionBudget');
      const spec = pdb.spec ?? {};
      expect(spec.selector?.matchLabels).toEqual(sts().spec?.selector.matchLabels);
      const minHealthy = pdbMinHealthy(spec as never, replicas);
      expect(minHealthy).toBeGreaterThanOrEqual(quorumSize(replicas));
      // Our policy (README): one pod at a time, so a drain leaves room for one unplanned failure when N >= 5.
      expect(minHealthy).toBe(replicas - 1);
      expect(spec.unhealthyPodEvictionPolicy ?? 'IfHealthyBudget').toBe('IfHealthyBudget');
    });

    test('Services: headless peer Service publishes not-ready pods; client Service targets the gRPC port', () => {
      const peer = only<IService>(objects, 'Service', 'raftkv-peer');
      expect(peer.spec?.clusterIP).toBe('None');
      expect(peer.spec?.publishNotReadyAddresses).toBe(true);
      const client = only<IService>(objects, 'Service', 'raftkv');
      expect(client.spec?.clusterIP).not.toBe('None');
      expect(client.spec?.publishNotReadyAddresses ?? false).toBe(false);
      for (const [svc, number, name] of [
        [peer, PEER_PORT, 'peer'],
        [client, GRPC_PORT, 'grpc'],
      ] as const) {
        expect(svc.spec?.selector).toEqual(sts().spec?.selector.matchLabels);
        const port = svc.spec?.ports?.[0];
        expect(port?.port).toBe(number);
        expect([number, name]).toContain(port?.targetPort);
      }
    });

    test('security: non-root, read-only root filesystem, no privilege escalation, no capabilities', () => {
      const pod = podSpec();
      const c = container();
      expect(pod.securityContext?.runAsNonRoot).toBe(true);
      expect(pod.securityContext?.runAsUser).toBeGreaterThan(0);
      expect(pod.securityContext?.fsGroup).toBeGreaterThan(0); // the PVC is writable by that user
      expect(pod.securityContext?.seccompProfile?.type).toBe('RuntimeDefault');
      expect(pod.automountServiceAccountToken).toBe(false);
      expect(c.securityContext?.readOnlyRootFilesystem).toBe(true);
      expect(c.securityContext?.allowPrivilegeEscalation).toBe(false);
      expect(c.securityContext?.capabilities?.drop).toEqual(['ALL']);
      expect(c.securityContext?.privileged ?? false).toBe(false);
    });

    test('volumes: the data dir is a PVC per pod; /tmp is a writable emptyDir', () => {
      const s = sts();
      const c = container();
      const mounts = new Map((c.volumeMounts ?? []).map((m) => [m.mountPath, m]));
      const data = mounts.get(DATA_DIR);
      expect(data?.readOnly ?? false).toBe(false);
      const claim = s.spec?.volumeClaimTemplates?.find((t) => t.metadata?.name === data?.name);
      expect(claim?.spec?.accessModes).toEqual(['ReadWriteOnce']);
      expect(claim?.spec?.resources?.requests?.['storage']).toBeDefined();
      const tmp = podSpec().volumes?.find((v) => v.name === mounts.get('/tmp')?.name);
      expect(tmp?.emptyDir).toBeDefined();
      // Every mounted volume is declared (as a pod volume or a claim template).
      const declared = new Set([
        ...(podSpec().volumes ?? []).map((v) => v.name),
        ...(s.spec?.volumeClaimTemplates ?? []).map((t) => t.metadata?.name),
      ]);
      for (const m of mounts.values()) expect(declared).toContain(m.name);
    });

    test('resources, anti-affinity and a grace period for leadership transfer', () => {
      const pod = podSpec();
      const c = container();
      for (const r of ['cpu', 'memory']) {
        expect(c.resources?.requests?.[r]).toBeDefined();
        expect(c.resources?.limits?.[r]).toBeDefined();
      }
      const terms = pod.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
      expect(terms).toHaveLength(1);
      expect(terms[0]?.topologyKey).toBe('kubernetes.io/hostname');
      expect(terms[0]?.labelSelector?.matchLabels).toEqual(sts().spec?.selector.matchLabels);
      expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(30);
    });
  });
