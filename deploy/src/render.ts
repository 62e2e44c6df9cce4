// Renders a kustomization the way `kubectl apply -k` would, offline, and parses the objects.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { parseAllDocuments } from 'yaml';

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

/** kubectl from $KUBECTL or PATH (client only: `kubectl kustomize` needs no API server), or null. */
export function findKubectl(): string | null {
  const candidates = [process.env['KUBECTL'], ...(process.env['PATH'] ?? '').split(delimiter).map((d) => join(d, 'kubectl'))];
  return candidates.find((c): c is string => !!c && existsSync(c)) ?? null;
}

export class RenderError extends Error {
  override readonly name = 'RenderError';
}

/** `kubectl kustomize dir`, parsed into one object per YAML document. */
export function renderKustomization(kubectl: string, dir: string): K8sObject[] {
  const r = spawnSync(kubectl, ['kustomize', dir], { encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw new RenderError(`${kubectl} kustomize ${dir}: ${r.error.message}`);
  if (r.status !== 0) throw new RenderError(`${kubectl} kustomize ${dir} exited ${r.status}: ${r.stderr}`);
  return parseAllDocuments(r.stdout).map((doc) => {
    if (doc.errors.length > 0) throw new RenderError(`${dir}: ${doc.errors.map((e) => e.message).join('; ')}`);
    return doc.toJS() as K8sObject;
  });
}

/** The one object of a kind (and name, if given); throws when there is none or more than one. */
export function only<T = K8sObject>(objects: readonly K8sObject[], kind: string, name?: string): T {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1) throw new RenderError(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`);
  return found[0] as T;
}
