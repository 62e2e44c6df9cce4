// The frame of a side-by-side benchmark script: each system's local cluster in turn, one run on it,
// the cluster stopped whatever happens; the process exits 0 after the report, 1 on an error.
import type { Cluster } from './cluster.js';
import { ensureEtcd, startEtcdCluster } from './etcd-cluster.js';
import { startRaftkvCluster } from './raftkv-cluster.js';

export interface SystemsOptions {
  /** Comma-separated: raftkv, etcd. */
  readonly systems: string;
  /** raftkv's entry point (another build). */
  readonly server?: string | undefined;
  /** Directory for each raftkv node's CPU profile. */
  readonly profile?: string | undefined;
}

export async function eachSystem<R>(o: SystemsOptions, run: (c: Cluster) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (const system of o.systems.split(',')) {
    const cluster =
      system === 'etcd'
        ? await startEtcdCluster({ binary: ensureEtcd(undefined, (l) => console.error(l)) })
        : await startRaftkvCluster({ serverMain: o.server, cpuProfileDir: o.profile });
    try {
      results.push(await run(cluster));
    } finally {
      await cluster.stop();
    }
  }
  return results;
}

/** Runs a script's main and exits with its outcome (open handles of stopped clusters do not keep it alive). */
export function runMain(main: () => Promise<void>): void {
  void main().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}
