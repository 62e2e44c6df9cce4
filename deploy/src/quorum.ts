// Quorum arithmetic for the PodDisruptionBudget checks.

/** Votes needed to commit or elect in a cluster of n voters. */
export function quorumSize(n: number): number {
  return Math.floor(n / 2) + 1;
}

export interface PdbSpec {
  minAvailable?: number | string;
  maxUnavailable?: number | string;
}

/** Resolves an int-or-percent the way the disruption controller does (percentages round up). */
function scaled(value: number | string, total: number): number {
  if (typeof value === 'number') return value;
  const m = /^(\d+)%$/.exec(value);
  if (!m) throw new Error(`not an int or percentage: ${JSON.stringify(value)}`);
  return Math.ceil((Number(m[1]) * total) / 100);
}

/**
 * The fewest healthy pods a PDB lets voluntary disruptions leave, for `replicas` pods. A PDB with
 * neither field set allows every eviction (0).
 */
export function pdbMinHealthy(spec: PdbSpec, replicas: number): number {
  if (spec.minAvailable !== undefined) return scaled(spec.minAvailable, replicas);
  if (spec.maxUnavailable !== undefined) return Math.max(0, replicas - scaled(spec.maxUnavailable, replicas));
  return 0;
}
