// The TLS component (k8s/components/tls, used by overlays/three-tls): certificates from the Secret,
// mounted read-only; the server's TLS flags point at them; probes move to the plaintext health port,
// because the kubelet's gRPC probes cannot speak TLS.
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { join } from 'node:path';
import { parseConfig } from '@raftkv/server';
import { configMapsOf, containerEnv, findKubectl, only, renderKustomization, SERVER_ENV_NAMES } from '../src/index.js';
import { deployDir } from './paths.js';

const kubectl = findKubectl();
const maybe = kubectl ? describe : describe.skip;

maybe('overlay three-tls', () => {
  const objects = kubectl ? renderKustomization(kubectl, join(deployDir, 'k8s', 'overlays', 'three-tls')) : [];
  const sts = () => only<IStatefulSet>(objects, 'StatefulSet', 'raftkv');
  const container = () => sts().spec!.template.spec!.containers.find((c) => c.name === 'raftkv')!;

  test('the StatefulSet still validates against the Kubernetes schema', () => {
    expect(() => new StatefulSet(sts() as never).validate()).not.toThrow();
  });

  test('certificates come read-only from the raftkv-tls Secret, and the TLS flags point at them', () => {
    const vol = sts().spec!.template.spec!.volumes!.find((v) => v.name === 'tls');
    expect(vol?.secret?.secretName).toBe('raftkv-tls');
    const mount = container().volumeMounts!.find((m) => m.name === 'tls')!;
    expect(mount.readOnly).toBe(true);
    const env = containerEnv(container(), { fields: { 'metadata.name': 'raftkv-1', 'metadata.namespace': 'ns' }, configMaps: configMapsOf(objects) });
    for (const [name, file] of [['RAFTKV_TLS_CERT', 'tls.crt'], ['RAFTKV_TLS_KEY', 'tls.key'], ['RAFTKV_TLS_CA', 'ca.crt']] as const) {
      expect(env[name]).toBe(`${mount.mountPath}/${file}`);
    }
    for (const k of Object.keys(env).filter((k) => k.startsWith('RAFTKV_'))) expect(SERVER_ENV_NAMES).toContain(k);
    // The server accepts this env (reading the certificates is the only part that needs the files).
    const { RAFTKV_TLS_CERT: _c, RAFTKV_TLS_KEY: _k, RAFTKV_TLS_CA: _a, ...rest } = env;
    expect(parseConfig([], rest).healthListen).toBe(env['RAFTKV_HEALTH_LISTEN']);
  });

  test('every probe asks the plaintext health port, which the server is told to open', () => {
    const c = container();
    const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]));
    const healthPort = c.ports!.find((p) => p.name === 'health')!.containerPort;
    expect(env['RAFTKV_HEALTH_LISTEN']).toBe(`0.0.0.0:${healthPort}`);
    for (const p of [c.startupProbe, c.livenessProbe, c.readinessProbe]) expect(p?.grpc?.port).toBe(healthPort);
    expect(c.readinessProbe?.grpc?.service).toBe('raftkv.v1.KV');
  });
});
