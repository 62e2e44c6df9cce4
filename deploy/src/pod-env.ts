// The environment Kubernetes gives a container, computed from the rendered manifest: envFrom sources in
// order, then env entries in order (later wins), fieldRef values from the pod, and $(VAR) expansion
// against what is defined so far ($$ escapes, unknown references stay verbatim). This is what lets a
// one-machine test start node processes exactly as the StatefulSet would.
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { K8sObject } from './render.js';

export interface PodContext {
  /** fieldRef values by field path, e.g. { 'metadata.name': 'raftkv-0', 'metadata.namespace': 'default' }. */
  fields: Readonly<Record<string, string>>;
  /** ConfigMap data by ConfigMap name. */
  configMaps: ReadonlyMap<string, Readonly<Record<string, string>>>;
}

export class PodEnvError extends Error {
  override readonly name = 'PodEnvError';
}

export function expand(value: string, vars: Readonly<Record<string, string>>): string {
  return value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name: string | undefined) => {
    if (name === undefined) return '$';
    return Object.hasOwn(vars, name) ? (vars[name] as string) : match;
  });
}

function configMap(ctx: PodContext, name: string, optional: boolean | undefined): Readonly<Record<string, string>> | undefined {
  const data = ctx.configMaps.get(name);
  if (data === undefined && !optional) throw new PodEnvError(`ConfigMap ${name} not found`);
  return data;
}

export function containerEnv(container: IContainer, ctx: PodContext): Record<string, string> {
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    if (source.secretRef) throw new PodEnvError('envFrom secretRef is not supported here');
    const ref = source.configMapRef;
    if (!ref?.name) continue;
    const data = configMap(ctx, ref.name, ref.optional);
    for (const [k, v] of Object.entries(data ?? {})) env[(source.prefix ?? '') + k] = v;
  }
  for (const e of container.env ?? []) {
    if (e.value !== undefined) {
      env[e.name] = expand(e.value, env);
    } else if (e.valueFrom?.fieldRef) {
      const value = ctx.fields[e.valueFrom.fieldRef.fieldPath];
      if (value === undefined) throw new PodEnvError(`${e.name}: no value for field ${e.valueFrom.fieldRef.fieldPath}`);
      env[e.name] = value;
    } else if (e.valueFrom?.configMapKeyRef) {
      const ref = e.valueFrom.configMapKeyRef;
      const value = configMap(ctx, ref.name ?? '', ref.optional)?.[ref.key];
      if (value === undefined && !ref.optional) throw new PodEnvError(`${e.name}: ConfigMap ${ref.name} has no key ${ref.key}`);
      if (value !== undefined) env[e.name] = value;
    } else if (e.valueFrom) {
      throw new PodEnvError(`${e.name}: unsupported valueFrom ${Object.keys(e.valueFrom).join(',')}`);
    } else {
      env[e.name] = '';
    }
  }
  return env;
}

/** The data of every ConfigMap among rendered objects, by name (for PodContext.configMaps). */
export function configMapsOf(objects: readonly K8sObject[]): Map<string, Record<string, string>> {
  return new Map(objects.filter((o) => o.kind === 'ConfigMap').map((o) => [o.metadata.name, (o as IConfigMap).data ?? {}]));
}
