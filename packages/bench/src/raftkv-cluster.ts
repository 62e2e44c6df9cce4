// Starts a local 3-node raftkv cluster (@raftkv/server's entry point with the brief's flags) on free
// loopback ports with temporary data directories.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startedCluster, type Cluster } from './cluster.js';
import { localNodes, nodeArgs, peersFlag, serverMain } from '@raftkv/testkit';
import { makeTempDir, ManagedProcess } from './processes.js';
import { raftkvStatus } from './raftkv-client.js';
import { Role } from '@raftkv/proto';

export const defaultServerMain: string = serverMain(import.meta.url);

export interface RaftkvClusterOptions {
  serverMain?: string | undefined;
  /** Write each node's CPU profile to this directory as <id>.cpuprofile when it exits. */
  cpuProfileDir?: string | undefined;
  logLevel?: string;
  /** Extra flags appended to every node's command line. */
  extraArgs?: readonly string[];
  /** Flags for one node only (e.g. its own --metrics-listen port), after extraArgs. */
  nodeArgs?: (id: string, index: number) => readonly string[];
}

export interface RaftkvCluster extends Cluster {
  readonly ids: readonly string[];
  readonly dataDir: string;
}

export async function startRaftkvCluster(opts: RaftkvClusterOptions = {}): Promise<RaftkvCluster> {
  const main = opts.serverMain ?? defaultServerMain;
  if (!existsSync(main)) {
    throw new Error(`raftkv server not found at ${main}: build first (node scripts/run.mjs build) or pass --server`);
  }
  const dataDir = makeTempDir('raftkv-bench-');
  const nodes = await localNodes(3, dataDir);
  const ids = nodes.map((n) => n.id);
  const endpoints = nodes.map((n) => n.address);
  const peers = peersFlag(nodes);
  const processes = nodes.map(({ id, address, dataDir: nodeDir }, i) => {
    const profiling = opts.cpuProfileDir ? ['--cpu-prof', '--cpu-prof-dir', opts.cpuProfileDir, '--cpu-prof-name', `${id}.cpuprofile`] : [];
    mkdirSync(nodeDir);
    const extra = ['--log-level', opts.logLevel ?? 'warn', ...(opts.extraArgs ?? []), ...(opts.nodeArgs?.(id, i) ?? [])];
    const flags = nodeArgs({ id, listen: address, dataDir: nodeDir, membership: { peers }, extra });
    return new ManagedProcess(`raftkv ${id}`, process.execPath, [...profiling, main, ...flags], join(dataDir, `${id}.log`));
  });

  // Ready when every node answers Status and all name the same leader. Generous stop grace: with
  // --cpu-prof a node writes its profile while exiting.
  const cluster = await startedCluster('raftkv', endpoints, processes, dataDir, 15_000, async () => {
    const statuses = await Promise.all(endpoints.map((e) => raftkvStatus(e, 1000)));
    const leader = statuses.find((s) => s.role === Role.ROLE_LEADER);
    return leader !== undefined && statuses.every((s) => s.leaderId === leader.id);
  });
  return { ...cluster, ids, dataDir };
}
