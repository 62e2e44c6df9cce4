// A 3-member cluster of one system under test, started by the benchmark or already running.
import type { SystemName } from './args.js';
import { removeDir } from '@raftkv/testkit';
import type { ManagedProcess } from './processes.js';

export interface Cluster {
  readonly system: SystemName;
  /** Client endpoints (host:port), one per member. */
  readonly endpoints: readonly string[];
  /** Member processes when the benchmark started them (for CPU and memory); empty otherwise. */
  readonly processes: readonly ManagedProcess[];
  /** Stops every member it started and removes its data; idempotent. */
  stop(): Promise<void>;
}

/** An already-running cluster: nothing to start, nothing to stop, no process statistics. */
export function externalCluster(system: SystemName, endpoints: readonly string[]): Cluster {
  return { system, endpoints, processes: [], stop: async () => {} };
}

/**
 * A cluster of processes the benchmark started, with data under dataDir. It is returned once
 * `hasLeader` (polled, errors meaning "not yet") answers true within 30 s; otherwise, or if a member
 * exits meanwhile, the cluster is stopped and the error carries every member's log tail.
 */
export async function startedCluster(
  system: SystemName,
  endpoints: readonly string[],
  processes: readonly ManagedProcess[],
  dataDir: string,
  stopGraceMs: number,
  hasLeader: () => Promise<boolean>,
): Promise<Cluster> {
  let stopped = false;
  const cluster: Cluster = {
    system,
    endpoints,
    processes,
    async stop() {
      if (stopped) return;
      stopped = true;
      await Promise.all(processes.map((p) => p.stop(stopGraceMs)));
      removeDir(dataDir);
    },
  };
  const timeoutMs = 30_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const dead = processes.find((p) => !p.running);
    const ready = dead === undefined && (await hasLeader().catch(() => false));
    if (ready) return cluster;
    if (dead !== undefined || Date.now() > deadline) {
      await cluster.stop();
      const why = dead !== undefined ? `${dead.name} exited` : `no leader within ${timeoutMs / 1000} s`;
      throw new Error(
        `${system} cluster did not start (${why}):\n` + processes.map((p) => `--- ${p.name} (${p.logPath})\n${p.logTail()}`).join('\n'),
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
