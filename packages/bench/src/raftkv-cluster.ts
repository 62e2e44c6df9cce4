// Starts a local 3-node raftkv cluster (packages/server/dist/main.js with the brief's flags) on free
// loopback ports with temporary data directories.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startedCluster, type Cluster } from './cluster.js';
import { freePorts, makeTempDir, ManagedProcess } from './processes.js';
import { raftkvStatus } from './raftkv-client.js';
import { Role } from '@raftkv/proto';

export const defaultServerMain: string = fileURLToPath(new URL('../../server/dist/main.js', import.meta.url));

export interface RaftkvClusterOptions {
  serverMain?: string | undefined;
  /** Write each node's CPU profile to this directory as <id>.cpuprofile when it exits. */
  cpuProfileDir?: string | undefined;
  logLevel?: string;
  /** Extra flags appended to every node's command line. */
  extraArgs?: readonly string[];
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
  const ids = ['n1', 'n2', 'n3'];
  const ports = await freePorts(ids.length);
  const endpoints = ports.map((p) => `127.0.0.1:${p}`);
  const peers = ids.map((id, i) => `${id}=${endpoints[i]}`).join(',');
  const processes = ids.map((id, i) => {
    const nodeArgs = opts.cpuProfileDir
      ? ['--cpu-prof', '--cpu-prof-dir', opts.cpuProfileDir, '--cpu-prof-name', `${id}.cpuprofile`]
      : [];
    mkdirSync(join(dataDir, id));
    return new ManagedProcess(
      `raftkv ${id}`,
      process.execPath,
      [
        ...nodeArgs,
        main,
        '--id', id,
        '--listen', endpoints[i] ?? '',
        '--peers', peers,
        '--data-dir', join(dataDir, id),
        '--log-level', opts.logLevel ?? 'warn',
        ...(opts.extraArgs ?? []),
      ],
      join(dataDir, `${id}.log`),
    );
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
