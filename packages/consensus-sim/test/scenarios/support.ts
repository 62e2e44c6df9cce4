// Shared setup for the scenario tests: small clusters on a clean network, and waits that fail with
// a readable dump of every node's state instead of a bare timeout.
import type { ConfState, NodeId } from '@raftkv/consensus';
import { Cluster, type ClusterOptions } from '../../src/cluster.js';
import type { SimNode } from '../../src/node.js';

/** The paper's and our defaults: 150–300 ms election timeouts, 50 ms heartbeats. */
export const TIMING = { electionTimeoutMinMs: 150, electionTimeoutMaxMs: 300, heartbeatIntervalMs: 50 } as const;

/** Timeouts so long that elections happen only when a test calls campaign(). */
export const MANUAL_ELECTIONS = { electionTimeoutMinMs: 1_000_000, electionTimeoutMaxMs: 2_000_000, heartbeatIntervalMs: 50 } as const;

export function newCluster(size: number, opts: Partial<ClusterOptions> = {}): Cluster {
  return new Cluster({
    seed: 1,
    size,
    network: { delayMinMs: 1, delayMaxMs: 3 },
    fullCheckEveryMs: 50,
    ...opts,
    raft: { ...TIMING, ...opts.raft },
  });
}

export function dump(c: Cluster): string {
  return c.nodes
    .map(
      (n) =>
        `${n.id}: ${n.up ? n.role : 'DOWN'} term=${n.hardState.term} vote=${n.hardState.vote || '-'} leader=${n.leaderId || '-'} last=${n.storage.lastIndex()} commit=${n.hardState.commit} applied=${n.applied} ${confString(n.conf)}`,
    )
    .join('\n');
}

/** Run until `pred` holds; fail with the cluster's state if it does not within maxMs. */
export function waitFor(c: Cluster, what: string, pred: () => boolean, maxMs: number): void {
  if (!c.runUntil(pred, maxMs)) throw new Error(`timed out after ${maxMs} ms waiting for ${what} at ${c.nowMs} ms\n${dump(c)}`);
}

export function waitForLeader(c: Cluster, maxMs = 3_000, among?: readonly NodeId[]): SimNode {
  const pick = (): SimNode | undefined => c.leaders().find((n) => among === undefined || among.includes(n.id));
  waitFor(c, 'a leader', () => pick() !== undefined, maxMs);
  return pick()!;
}

/** Manual elections: campaign at `id` (again, if a vote was lost to a higher term) until it leads. */
export function elect(c: Cluster, id: NodeId, attempts = 5): SimNode {
  const n = c.node(id);
  for (let i = 0; i < attempts && n.role !== 'leader'; i++) {
    c.campaign(id);
    c.runUntil(() => n.role === 'leader', 200);
  }
  if (n.role !== 'leader') throw new Error(`${id} did not win an election\n${dump(c)}`);
  return n;
}

/** Propose `count` commands at the current leader and wait until each up node applied them. */
export function commitCommands(c: Cluster, count: number, maxMs = 5_000): string[] {
  const keys: string[] = [];
  for (let i = 0; i < count; i++) keys.push(c.propose(waitForLeader(c).id).key);
  waitFor(c, `${count} commands applied everywhere`, () => keys.every((k) => c.appliedEverywhere(k)), maxMs);
  return keys;
}

/** The up nodes' persisted logs are identical. */
export function logsMatch(c: Cluster, ids: readonly NodeId[] = c.ids): boolean {
  const ref = JSON.stringify(c.logOf(ids[0]!));
  return ids.every((id) => JSON.stringify(c.logOf(id)) === ref);
}

/** A membership as comparable text: sorted voters and learners. */
export function confString(conf: ConfState): string {
  return `voters=${[...conf.voters].sort().join(',')} learners=${[...conf.learners].sort().join(',') || '-'}`;
}

/** Wait until every up node among `ids` has applied exactly the membership `expected`. */
export function waitForConf(c: Cluster, expected: ConfState, ids: readonly NodeId[], maxMs = 3_000): void {
  const want = confString(expected);
  waitFor(c, `${ids.join(',')} to apply ${want}`, () => ids.every((id) => !c.node(id).up || confString(c.node(id).conf) === want), maxMs);
}

/** Propose a command at the current leader (among `ids`) and wait until every node in `ids` applied it. */
export function commitOn(c: Cluster, ids: readonly NodeId[], maxMs = 3_000): string {
  const key = c.propose(waitForLeader(c, maxMs, ids).id).key;
  waitFor(
    c,
    `${ids.join(',')} to apply a new command`,
    () => {
      const at = c.checker.committedIndexOf(key);
      return at !== undefined && ids.every((id) => c.node(id).applied >= at);
    },
    maxMs,
  );
  return key;
}
