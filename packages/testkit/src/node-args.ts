// The command line of a raftkv node in a local cluster: ids n1..nN on free loopback ports, data dirs
// under one root, bootstrapped with --peers or added with --join.
import { join } from 'node:path';
import { freePorts } from './ports.js';

export interface LocalNode {
  readonly id: string;
  /** 127.0.0.1:<port>: where it listens and peers dial it. */
  readonly address: string;
  readonly dataDir: string;
}

/** `size` nodes n1..nN on distinct free ports, data in <root>/<id>. */
export async function localNodes(size: number, root: string): Promise<LocalNode[]> {
  const ports = await freePorts(size);
  return ports.map((p, i) => ({ id: `n${i + 1}`, address: `127.0.0.1:${p}`, dataDir: join(root, `n${i + 1}`) }));
}

/** The --peers value: id=address,... */
export function peersFlag(nodes: readonly { readonly id: string; readonly address: string }[]): string {
  return nodes.map((n) => `${n.id}=${n.address}`).join(',');
}

export interface NodeTiming {
  readonly electionTimeoutMinMs: number;
  readonly electionTimeoutMaxMs: number;
  readonly heartbeatMs: number;
}

export interface NodeArgs {
  readonly id: string;
  readonly listen: string;
  readonly dataDir: string;
  /** Bootstrap members (--peers), or endpoints to ask to add this node (--join, --advertise listen). */
  readonly membership: { readonly peers: string } | { readonly join: readonly string[] };
  readonly timing?: NodeTiming;
  readonly extra?: readonly string[];
}

/** The flags of one node (after the entry point). */
export function nodeArgs(a: NodeArgs): string[] {
  const membership =
    'peers' in a.membership ? ['--peers', a.membership.peers] : ['--join', a.membership.join.join(','), '--advertise', a.listen];
  const timing = a.timing
    ? [
        '--election-timeout-min-ms',
        String(a.timing.electionTimeoutMinMs),
        '--election-timeout-max-ms',
        String(a.timing.electionTimeoutMaxMs),
        '--heartbeat-ms',
        String(a.timing.heartbeatMs),
      ]
    : [];
  return ['--id', a.id, '--listen', a.listen, ...membership, '--data-dir', a.dataDir, ...timing, ...(a.extra ?? [])];
}
