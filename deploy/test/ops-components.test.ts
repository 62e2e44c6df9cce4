// The production overlay's operations components, rendered with `kubectl kustomize`: the NetworkPolicy
// (the peer port only from the set's own pods), monitoring (a metrics Service the ServiceMonitor
// selects, alert rules and a Grafana dashboard whose queries use only metrics the server exports or the
// two the rules name as exported by other features) — each object schema-checked where a schema exists.
import { NetworkPolicy, type INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { Service, type IService } from 'kubernetes-models/v1/Service';
import { ConfigMap, type IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findKubectl, only, renderKustomization, type K8sObject } from '../src/index.js';
import { deployDir, repoRoot } from './paths.js';

const kubectl = findKubectl();
const describeRendered = kubectl ? describe : describe.skip;
if (!kubectl) console.warn('ops-components.test: no kubectl; skipping the render tests');

/** Every metric name the server registers (metrics.ts), with a histogram's _bucket/_sum/_count. */
function serverMetrics(): Set<string> {
  const src = readFileSync(join(repoRoot, 'packages', 'server', 'src', 'observability', 'metrics.ts'), 'utf8');
  const names = [...src.matchAll(/name: '(raftkv_[a-z_]+)'/g)].map((m) => m[1]!);
  return new Set(names.flatMap((n) => [n, `${n}_bucket`, `${n}_sum`, `${n}_count`]));
}
/** Every raftkv_ metric a rule reads is the server's own (the backup age comes from kube-state-metrics). */
const ELSEWHERE = new Set<string>();
const metricsIn = (expr: string): string[] => [...expr.matchAll(/\b(raftkv_[a-z_]+)\b/g)].map((m) => m[1]!);

describeRendered('overlay three-production: network policy and monitoring', () => {
  const objects: K8sObject[] = kubectl ? renderKustomization(kubectl, join(deployDir, 'k8s', 'overlays', 'three-production')) : [];
  const sts = () => only<IStatefulSet>(objects, 'StatefulSet', 'raftkv');
  const podLabels = () => sts().spec!.template.metadata!.labels!;
  const matches = (selector: Record<string, string>, labels: Record<string, string>) =>
    Object.entries(selector).every(([k, v]) => labels[k] === v);

  test('NetworkPolicy: the peer port admits only the StatefulSet pods; the client port stays open', () => {
    const np = only<INetworkPolicy>(objects, 'NetworkPolicy', 'raftkv');
    expect(() => new NetworkPolicy(np).validate()).not.toThrow();
    expect(matches(np.spec!.podSelector.matchLabels!, podLabels())).toBe(true);
    expect(np.spec!.policyTypes).toEqual(['Ingress']);
    const rules = np.spec!.ingress!;
    const peerRules = rules.filter((r) => r.ports?.some((p) => p.port === 7003));
    expect(peerRules).toHaveLength(1);
    const from = peerRules[0]!.from!;
    expect(from).toHaveLength(1);
    expect(from[0]!.namespaceSelector).toBeUndefined(); // this namespace only
    expect(from[0]!.podSelector!.matchLabels).toEqual(sts().spec!.selector.matchLabels);
    // The client port is reachable; every port the container declares is covered by some rule.
    const open = new Set(rules.flatMap((r) => (r.ports ?? []).map((p) => p.port)));
    for (const p of sts().spec!.template.spec!.containers.flatMap((c) => c.ports ?? [])) expect(open).toContain(p.containerPort);
  });

  test('ServiceMonitor scrapes the metrics Service, which selects every pod on the metrics port', () => {
    const svc = only<IService>(objects, 'Service', 'raftkv-metrics');
    expect(() => new Service(svc).validate()).not.toThrow();
    expect(matches(svc.spec!.selector!, podLabels())).toBe(true);
    expect(svc.spec!.publishNotReadyAddresses).toBe(true);
    const metricsPort = sts().spec!.template.spec!.containers[0]!.ports!.find((p) => p.name === 'metrics')!;
    expect(svc.spec!.ports).toEqual([expect.objectContaining({ name: 'metrics', targetPort: 'metrics', port: metricsPort.containerPort })]);
    const sm = only<K8sObject & { spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string }[] } }>(
      objects,
      'ServiceMonitor',
      'raftkv',
    );
    expect(sm.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(matches(sm.spec.selector.matchLabels, svc.metadata!.labels!)).toBe(true);
    // No other Service carries the labels it selects (each pod would be scraped twice).
    const selected = objects.filter((o) => o.kind === 'Service' && matches(sm.spec.selector.matchLabels, o.metadata.labels ?? {}));
    expect(selected.map((o) => o.metadata.name)).toEqual(['raftkv-metrics']);
    expect(sm.spec.endpoints.map((e) => e.port)).toEqual(['metrics']);
  });

  test('PrometheusRule: the six alerts, on metrics that exist', () => {
    const rule = only<K8sObject & { spec: { groups: { rules: { alert: string; expr: string }[] }[] } }>(
      objects,
      'PrometheusRule',
      'raftkv',
    );
    const rules = rule.spec.groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.alert).sort()).toEqual([
      'RaftkvBackupTooOld',
      'RaftkvFollowerLag',
      'RaftkvFrequentLeaderChanges',
      'RaftkvNoLeader',
      'RaftkvNoSpace',
      'RaftkvSlowCommits',
    ]);
    const known = serverMetrics();
    for (const r of rules) for (const m of metricsIn(r.expr)) expect(known.has(m) || ELSEWHERE.has(m) ? m : `${r.alert}: ${m}`).toBe(m);
  });

  test('Grafana dashboard: a ConfigMap for the sidecar, valid JSON, queries on exported metrics', () => {
    const cm = only<IConfigMap>(objects, 'ConfigMap', 'raftkv-dashboard');
    expect(() => new ConfigMap(cm).validate()).not.toThrow();
    expect(cm.metadata!.labels!['grafana_dashboard']).toBe('1');
    const dash = JSON.parse(cm.data!['raftkv.json']!) as { uid: string; panels: { targets: { expr: string }[] }[] };
    expect(dash.uid).toBe('raftkv');
    const exprs = dash.panels.flatMap((p) => p.targets.map((t) => t.expr));
    expect(exprs.length).toBeGreaterThanOrEqual(8);
    const known = serverMetrics();
    for (const e of exprs) for (const m of metricsIn(e)) expect(known.has(m) ? m : `unknown ${m}`).toBe(m);
  });
});
