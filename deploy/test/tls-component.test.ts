// The TLS component (k8s/components/tls, used by overlays/three-tls): client TLS on the client port,
// peer mutual TLS on a peer port of its own, certificates from two Secrets mounted read-only, probes on
// the plaintext health port (the kubelet's gRPC probes cannot speak TLS). Certificates come from the
// component's own make-certs.sh, the recipe the README gives, so the recipe is tested too. Last, the
// rendered pods run on this machine (local-statefulset.ts) and must form a cluster over TLS.
import { credentials, type ServiceError } from '@grpc/grpc-js';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { Service } from 'kubernetes-models/v1/Service';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '@raftkv/server';
import { configMapsOf, containerEnv, findKubectl, only, renderKustomization, SERVER_ENV_NAMES } from '../src/index.js';
import { waitFor } from '@raftkv/testkit';
import { NodeClient, ReadConsistency } from './grpc-clients.js';
import { localStatefulSet } from './local-fixture.js';
import { deployDir } from './paths.js';

const NAMESPACE = 'default';
const kubectl = findKubectl();
const haveOpenssl = spawnSync('openssl', ['version']).status === 0;
if (kubectl && !haveOpenssl) console.warn('overlay three-tls: openssl not found; skipping the tests that need certificates');
const maybe = kubectl ? describe : describe.skip;
const withCerts = kubectl && haveOpenssl ? test : test.skip;

maybe('overlay three-tls', () => {
  const objects = kubectl ? renderKustomization(kubectl, join(deployDir, 'k8s', 'overlays', 'three-tls')) : [];
  const sts = () => only<IStatefulSet>(objects, 'StatefulSet', 'raftkv');
  const service = (name: string) => only<IService>(objects, 'Service', name);
  const container = () => sts().spec!.template.spec!.containers.find((c) => c.name === 'raftkv')!;
  const portNamed = (name: string) => container().ports!.find((p) => p.name === name)!.containerPort;
  const envOf = (pod: string) =>
    containerEnv(container(), { fields: { 'metadata.name': pod, 'metadata.namespace': NAMESPACE }, configMaps: configMapsOf(objects) });
  const mountOf = (volume: string) => container().volumeMounts!.find((m) => m.name === volume)!;

  // What make-certs.sh makes, standing in for the two Secrets. The node certificates also name
  // 127.0.0.1: on this machine a peer is dialled there (--dial-overrides) instead of by its DNS name.
  const certs = mkdtempSync(join(tmpdir(), 'raftkv-tls-certs-'));
  const mounts = (): Record<string, string> => ({
    [mountOf('tls').mountPath]: join(certs, 'tls'),
    [mountOf('peer-tls').mountPath]: join(certs, 'peer-tls'),
  });
  beforeAll(() => {
    if (!haveOpenssl) return;
    execFileSync('sh', [join(deployDir, 'k8s', 'components', 'tls', 'make-certs.sh'), NAMESPACE, certs, '2', '3'], {
      env: { ...process.env, RAFTKV_EXTRA_SANS: 'IP:127.0.0.1' },
      stdio: 'ignore',
    });
  });
  afterAll(() => rmSync(certs, { recursive: true, force: true }));

  test('the StatefulSet and the Services validate against the Kubernetes schema', () => {
    expect(() => new StatefulSet(sts() as never).validate()).not.toThrow();
    for (const name of ['raftkv', 'raftkv-peer']) expect(() => new Service(service(name) as never).validate()).not.toThrow();
  });

  test('certificates come read-only from the Secrets raftkv-tls and raftkv-peer-tls, and the TLS flags point at them', () => {
    const env = envOf('raftkv-1');
    for (const [volume, secret, prefix, file] of [
      ['tls', 'raftkv-tls', 'RAFTKV_TLS_', 'tls'],
      ['peer-tls', 'raftkv-peer-tls', 'RAFTKV_PEER_TLS_', 'raftkv-1'],
    ] as const) {
      const vol = sts().spec!.template.spec!.volumes!.find((v) => v.name === volume)!;
      expect(vol.secret?.secretName).toBe(secret);
      expect(vol.secret?.defaultMode).toBe(0o440);
      const mount = mountOf(volume);
      expect(mount.readOnly).toBe(true);
      expect(env[`${prefix}CERT`]).toBe(`${mount.mountPath}/${file}.crt`);
      expect(env[`${prefix}KEY`]).toBe(`${mount.mountPath}/${file}.key`);
      expect(env[`${prefix}CA`]).toBe(`${mount.mountPath}/ca.crt`);
    }
    for (const k of Object.keys(env).filter((k) => k.startsWith('RAFTKV_'))) expect(SERVER_ENV_NAMES).toContain(k);
  });

  test('clients use the client port, peers the peer port, probes the plaintext health port', () => {
    const env = envOf('raftkv-0');
    const [grpc, peer, health] = [portNamed('grpc'), portNamed('peer'), portNamed('health')];
    expect(new Set([grpc, peer, health]).size).toBe(3);
    expect(env['RAFTKV_LISTEN']).toBe(`0.0.0.0:${grpc}`);
    expect(env['RAFTKV_PEER_LISTEN']).toBe(`0.0.0.0:${peer}`);
    expect(env['RAFTKV_PEER_PORT']).toBe(String(peer));
    expect(env['RAFTKV_HEALTH_LISTEN']).toBe(`0.0.0.0:${health}`);
    // The headless Service names only the peer port; the client Service targets the client port, no longer as h2c.
    expect(service('raftkv-peer').spec!.ports).toEqual([{ name: 'peer', port: peer, targetPort: 'peer', protocol: 'TCP' }]);
    const client = service('raftkv').spec!.ports!;
    expect(client.map((p) => [p.targetPort, p.appProtocol])).toEqual([['grpc', undefined]]);
    const c = container();
    for (const p of [c.startupProbe, c.livenessProbe, c.readinessProbe]) expect(p?.grpc?.port).toBe(health);
    expect(c.livenessProbe?.grpc?.service).toBe('');
    expect(c.readinessProbe?.grpc?.service).toBe('raftkv.v1.KV');
  });

  withCerts('the server accepts the env with make-certs.sh certificates: client TLS, peer mTLS on the peer port', () => {
    const env = envOf('raftkv-2');
    for (const [k, v] of Object.entries(env))
      for (const [path, local] of Object.entries(mounts())) if (v.startsWith(`${path}/`)) env[k] = join(local, v.slice(path.length + 1));
    const config = parseConfig([], env);
    expect(config.tls?.clientAuth).toBe(false);
    expect(config.tls?.ca?.equals(readFileSync(join(certs, 'client-ca.crt')))).toBe(true);
    expect(config.peerTls?.ca.equals(readFileSync(join(certs, 'peer-ca.crt')))).toBe(true);
    expect(config.peerListen).toBe(`0.0.0.0:${portNamed('peer')}`);
    expect(config.peers.get('raftkv-0')).toBe(`raftkv-0.raftkv-peer.${NAMESPACE}.svc.cluster.local:${portNamed('peer')}`);
  });

  describe('on one machine', () => {
    const fixture = localStatefulSet(
      (p) => new NodeClient(p.address, credentials.createSsl(readFileSync(join(certs, 'tls', 'ca.crt'))), p.probeAddress),
    );
    const clients = fixture.clients;

    withCerts(
      'the pods form one cluster over peer mutual TLS, serve clients over TLS and answer plaintext probes',
      async () => {
        const local = await fixture.create(objects, { namespace: NAMESPACE, mounts: mounts() });
        try {
          for (const p of local.pods) p.start();
          for (const c of clients) {
            await waitFor(`${c.address} ready`, async () => ((await c.check('raftkv.v1.KV')) === 'SERVING' ? true : undefined), 40_000);
          }
          const leaders = new Set((await Promise.all(clients.map((c) => c.status(2_000)))).map((s) => s.leaderId));
          expect(leaders.size).toBe(1);
          await clients[0]!.put('tls', Buffer.from('yes'), '', 0, 5_000);
          expect((await clients[2]!.read('tls', ReadConsistency.READ_CONSISTENCY_LINEARIZABLE, 5_000)).value.toString()).toBe('yes');
          // A plaintext client gets nowhere on the client port.
          const plain = new NodeClient(local.pods[0]!.address);
          const err = await plain.status(2_000).then(
            () => null,
            (e: ServiceError) => e,
          );
          plain.close();
          expect(err?.code).toBe(14); // UNAVAILABLE
        } catch (e) {
          fixture.dumpLogs();
          throw e;
        }
      },
      90_000,
    );
  });
});
