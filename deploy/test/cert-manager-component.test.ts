// The cert-manager option for peer certificates (k8s/components/cert-manager-peer-tls, used by
// overlays/three-cert-manager): the peer-tls volume becomes a csi.cert-manager.io volume issuing each
// pod a certificate naming its member id, signed by the Issuer the component adds; the peer TLS flags
// point at the files the driver writes. (No cert-manager here: what is checked is what it is asked for.)
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { join } from 'node:path';
import { configMapsOf, containerEnv, findKubectl, only, renderKustomization } from '../src/index.js';
import { deployDir } from './paths.js';

const kubectl = findKubectl();
const maybe = kubectl ? describe : describe.skip;

maybe('overlay three-cert-manager', () => {
  const objects = kubectl ? renderKustomization(kubectl, join(deployDir, 'k8s', 'overlays', 'three-cert-manager')) : [];
  const sts = () => only<IStatefulSet>(objects, 'StatefulSet', 'raftkv');

  test('each pod gets a CSI-issued certificate naming its member id; the Secret is gone', () => {
    expect(() => new StatefulSet(sts() as never).validate()).not.toThrow();
    const vol = sts().spec!.template.spec!.volumes!.find((v) => v.name === 'peer-tls')!;
    expect(vol.secret).toBeUndefined();
    expect(vol.csi?.driver).toBe('csi.cert-manager.io');
    expect(vol.csi?.volumeAttributes).toMatchObject({
      'csi.cert-manager.io/issuer-name': 'raftkv-peer-ca',
      'csi.cert-manager.io/issuer-kind': 'Issuer',
      // The driver substitutes the pod's name: the member id the server checks (--id is the pod name).
      'csi.cert-manager.io/uri-sans': 'raftkv://member/${POD_NAME}',
      'csi.cert-manager.io/dns-names': '${POD_NAME}.raftkv-peer.${POD_NAMESPACE}.svc.cluster.local',
      'csi.cert-manager.io/key-usages': 'server auth,client auth',
    });
    const issuer = only<{ spec: { ca: { secretName: string } } }>(objects, 'Issuer', 'raftkv-peer-ca');
    expect(issuer.spec.ca.secretName).toBe('raftkv-peer-ca');
    const c = sts().spec!.template.spec!.containers.find((x) => x.name === 'raftkv')!;
    const env = containerEnv(c, { fields: { 'metadata.name': 'raftkv-0', 'metadata.namespace': 'ns' }, configMaps: configMapsOf(objects) });
    expect(env).toMatchObject({
      RAFTKV_PEER_LISTEN: '0.0.0.0:7003',
      RAFTKV_PEER_TLS_CERT: '/etc/raftkv/peer-tls/tls.crt',
      RAFTKV_PEER_TLS_KEY: '/etc/raftkv/peer-tls/tls.key',
      RAFTKV_PEER_TLS_CA: '/etc/raftkv/peer-tls/ca.crt',
    });
  });
});
