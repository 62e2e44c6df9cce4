// Swarm testing: each seed draws the shape of its run (cluster size, timeouts, limits, network
// quality, which faults happen and how often), runs a fault phase with clients writing and reading,
// then heals everything and demands liveness: a leader, a new commit applied everywhere, a read
// released, and identical logs, all within a bound. Safety is checked on every Ready throughout.
import { isRaftError, type ConfChange, type ConfState, type NodeId, type RaftConfig } from '@raftkv/consensus';
import { Cluster } from './cluster.js';
import type { SimNode } from './node.js';
import { Rng } from './rng.js';
import { SafetyViolation, violated } from './violation.js';

/** The core's tunables that a seed draws. */
type DrawnConfig = Pick<
  RaftConfig,
  | 'electionTimeoutMinMs'
  | 'electionTimeoutMaxMs'
  | 'heartbeatIntervalMs'
  | 'preVote'
  | 'checkQuorum'
  | 'maxInflightMessages'
  | 'maxMessageBytes'
  | 'maxCommittedBytesPerReady'
>;

export interface SimShape extends DrawnConfig {
  /** Initial voters. */
  readonly nodes: number;
  /** Extra nodes, started knowing no one, that membership changes may add. */
  readonly spares: number;
  /** Single-server membership changes proposed per election timeout (0: none). */
  readonly confChangesPerTimeout: number;
  /** Each node ticks every 1..tickIntervalMaxMs ms (drawn per node). */
  readonly tickIntervalMaxMs: number;
  readonly delayMinMs: number;
  readonly delayMaxMs: number;
  readonly dropRate: number;
  readonly dupRate: number;
  readonly faultPhaseMs: number;
  /** Expected fault events per election timeout (electionTimeoutMaxMs); 0 disables the kind. */
  readonly partitionsPerTimeout: number;
  readonly oneWayCutsPerTimeout: number;
  readonly crashesPerTimeout: number;
  /** Share of crashes that strike between persisting a Ready and sending its messages. */
  readonly tornCrashShare: number;
  /** Leadership transfers asked of the leader, per election timeout. */
  readonly transfersPerTimeout: number;
  readonly proposalsPerSecond: number;
  readonly readsPerSecond: number;
  /** Each driver snapshots every compactEvery applied entries (0: never), keeping keepTail log entries. */
  readonly compactEvery: number;
  readonly keepTail: number;
  /** Leaders send appends and heartbeats before their own persist, as the server's driver does. */
  readonly earlySend: boolean;
  /**
   * Writes take simulated time while input keeps arriving between ready() and advance() (the
   * contract's relaxation 2, as a storage thread does): 0..persistMaxMs ms each, or with
   * slowPersistChance up to slowPersistMaxMs, and always so on a bad disk (fault phase only).
   */
  readonly asyncPersist: boolean;
  readonly persistMaxMs: number;
  readonly slowPersistChance: number;
  readonly slowPersistMaxMs: number;
  /** Index (into the initial voters) of the node with a bad disk, or -1. */
  readonly slowDiskNode: number;
  /** A crash during a write keeps the whole write with this probability, else loses it whole. */
  readonly keepWriteOnCrash: number;
  /** Seeds the disks' own random streams. */
  readonly diskSeed: number;
  /** Crashes close connections: the others are told at once (peerDisconnected). */
  readonly crashClosesConnections: boolean;
  /** False alarms per election timeout: a node told that its connection to a live peer (often its leader) closed. */
  readonly falseDisconnectsPerTimeout: number;
  /** Seeds the false alarms' own random stream, so they shift no other draw. */
  readonly disconnectSeed: number;
}

export interface SeedResult {
  readonly seed: number;
  readonly shape: SimShape;
  readonly ok: boolean;
  readonly violation?: SafetyViolation;
  /** The last trace lines of the run (empty unless tracing was asked for). */
  readonly trace: readonly string[];
  readonly simulatedMs: number;
  readonly committed: number;
  readonly terms: number;
  readonly readsReleased: number;
  readonly faults: Readonly<Cluster['faults']>;
  readonly relaxations: Readonly<Cluster['relaxations']>;
  readonly confChanges: Readonly<Cluster['confChanges']>;
  /** Simulated ms from the heal until a leader existed. */
  readonly healToLeaderMs: number;
}

export interface SeedOptions {
  /** Force the cluster size instead of drawing it. */
  readonly nodes?: number;
  /** Keep this many trace lines, reported on failure. */
  readonly traceLines?: number;
  /** Membership churn in every shape: a change per election timeout, at least one spare node. */
  readonly membershipHeavy?: boolean;
}

function sometimes<T>(rng: Rng, p: number, value: () => T, otherwise: T): T {
  return rng.chance(p) ? value() : otherwise;
}

export function drawShape(rng: Rng, nodes?: number): SimShape {
  const confChangesPerTimeout = sometimes(rng, 0.3, () => rng.pick([0.1, 0.3]), 0);
  const electionTimeoutMinMs = rng.pick([20, 50, 100, 150, 150, 300]);
  const electionTimeoutMaxMs = electionTimeoutMinMs + rng.int(Math.ceil(electionTimeoutMinMs / 5), electionTimeoutMinMs);
  const heartbeatIntervalMs = rng.int(Math.max(1, Math.floor(electionTimeoutMinMs / 10)), Math.floor(electionTimeoutMinMs / 2));
  const delayMinMs = rng.int(0, 3);
  const delayMaxMs = delayMinMs + rng.pick([0, 2, 5, Math.floor(electionTimeoutMinMs / 3)]);
  const shape = {
    nodes: nodes ?? rng.pick([1, 3, 3, 3, 4, 5, 5, 5]),
    spares: confChangesPerTimeout > 0 ? rng.int(0, 2) : 0,
    confChangesPerTimeout,
    electionTimeoutMinMs,
    electionTimeoutMaxMs,
    heartbeatIntervalMs,
    preVote: rng.chance(0.75),
    checkQuorum: rng.chance(0.75),
    maxInflightMessages: rng.pick([1, 2, 4, 256]),
    maxMessageBytes: rng.pick([1, 40, 400, 1 << 20]),
    maxCommittedBytesPerReady: rng.pick([1, 100, 16 << 20]),
    tickIntervalMaxMs: Math.min(rng.pick([1, 1, 2, 5, 10]), Math.max(1, Math.floor(heartbeatIntervalMs / 2))),
    delayMinMs,
    delayMaxMs,
    dropRate: sometimes(rng, 0.6, () => rng.pick([0.01, 0.05, 0.2, 0.4]), 0),
    dupRate: sometimes(rng, 0.5, () => rng.pick([0.01, 0.1, 0.3]), 0),
    faultPhaseMs: Math.min(4000, Math.max(600, rng.int(8, 20) * electionTimeoutMaxMs)),
    partitionsPerTimeout: sometimes(rng, 0.6, () => rng.pick([0.05, 0.2, 0.5]), 0),
    oneWayCutsPerTimeout: sometimes(rng, 0.4, () => rng.pick([0.05, 0.2, 0.5]), 0),
    crashesPerTimeout: sometimes(rng, 0.6, () => rng.pick([0.05, 0.2, 0.5]), 0),
    tornCrashShare: rng.pick([0, 0.3, 0.7]),
    transfersPerTimeout: sometimes(rng, 0.3, () => rng.pick([0.05, 0.3]), 0),
    proposalsPerSecond: rng.pick([5, 30, 100, 300]),
    readsPerSecond: rng.pick([0, 5, 30]),
    compactEvery: sometimes(rng, 0.5, () => rng.pick([5, 20, 100]), 0),
    keepTail: rng.pick([0, 3, 30]),
    // Drawn last: earlier draws, and so older seeds' shapes, are unchanged.
    earlySend: rng.chance(0.5),
    asyncPersist: rng.chance(0.6),
    persistMaxMs: rng.pick([0, 1, 2, 5]),
    slowPersistChance: sometimes(rng, 0.3, () => rng.pick([0.01, 0.05]), 0),
    slowPersistMaxMs: rng.pick([10, 30, 60]),
    keepWriteOnCrash: rng.pick([0, 0.5, 1]),
    diskSeed: rng.u32(),
  };
  const slowDiskNode = sometimes(rng, 0.3, () => rng.int(0, shape.nodes - 1), -1);
  // Drawn after every older field, so that older seeds keep their shapes.
  return {
    ...shape,
    slowDiskNode,
    crashClosesConnections: rng.chance(0.5),
    falseDisconnectsPerTimeout: sometimes(rng, 0.3, () => rng.pick([0.2, 1, 3]), 0),
    disconnectSeed: rng.u32(),
  };
}

/** Run one seed: fault phase, heal, liveness. Never throws; a failure comes back in the result. */
export function runSeed(seed: number, opts: SeedOptions = {}): SeedResult {
  const rng = new Rng(seed);
  const drawn = drawShape(rng.fork(), opts.nodes);
  // No extra draws: the rest of the run stays what the seed makes it.
  const shape = opts.membershipHeavy ? { ...drawn, confChangesPerTimeout: 1, spares: Math.max(1, drawn.spares) } : drawn;
  const cluster = new Cluster({
    seed: rng.u32(),
    size: shape.nodes + shape.spares,
    voters: shape.nodes,
    raft: {
      electionTimeoutMinMs: shape.electionTimeoutMinMs,
      electionTimeoutMaxMs: shape.electionTimeoutMaxMs,
      heartbeatIntervalMs: shape.heartbeatIntervalMs,
      preVote: shape.preVote,
      checkQuorum: shape.checkQuorum,
      maxInflightMessages: shape.maxInflightMessages,
      maxMessageBytes: shape.maxMessageBytes,
      maxCommittedBytesPerReady: shape.maxCommittedBytesPerReady,
    },
    network: { delayMinMs: shape.delayMinMs, delayMaxMs: shape.delayMaxMs, dropRate: shape.dropRate, dupRate: shape.dupRate },
    tickIntervalMs: (_id, r) => r.int(1, shape.tickIntervalMaxMs),
    compaction: shape.compactEvery > 0 ? { every: shape.compactEvery, keepTail: shape.keepTail } : null,
    earlySend: shape.earlySend,
    disk: {
      asyncPersist: shape.asyncPersist,
      fastMaxMs: shape.persistMaxMs,
      slowChance: shape.slowPersistChance,
      slowMinMs: 10,
      slowMaxMs: shape.slowPersistMaxMs,
      slowDisks: shape.slowDiskNode >= 0 ? [`n${shape.slowDiskNode + 1}`] : [],
      keepOnCrash: shape.keepWriteOnCrash,
      seed: shape.diskSeed,
    },
    fullCheckEveryMs: 500,
    traceLines: opts.traceLines ?? 0,
    crashClosesConnections: shape.crashClosesConnections,
  });
  let healToLeaderMs = -1;
  let violation: SafetyViolation | undefined;
  try {
    faultPhase(cluster, shape, rng.fork());
    healToLeaderMs = healAndCheckLiveness(cluster, shape);
    cluster.checker.checkAll();
  } catch (e) {
    if (!(e instanceof SafetyViolation)) throw e;
    violation = e;
  }
  const terms = Math.max(0, ...cluster.nodes.map((n) => n.hardState.term));
  return {
    seed,
    shape,
    ok: violation === undefined,
    ...(violation ? { violation } : {}),
    trace: cluster.traceTail(),
    simulatedMs: cluster.nowMs,
    committed: cluster.checker.commitIndex,
    terms,
    readsReleased: cluster.checker.readsReleased,
    faults: cluster.faults,
    relaxations: cluster.relaxations,
    confChanges: cluster.confChanges,
    healToLeaderMs,
  };
}

function faultPhase(c: Cluster, shape: SimShape, rng: Rng): void {
  const restartAt = new Map<NodeId, number>();
  let healNetworkAt = Infinity;
  const perMs = (perTimeout: number): number => perTimeout / shape.electionTimeoutMaxMs;
  const alarms = new Rng(shape.disconnectSeed);
  while (c.nowMs < shape.faultPhaseMs) {
    const stepMs = rng.int(1, 10);
    c.runFor(stepMs);
    const now = c.nowMs;
    if (shape.falseDisconnectsPerTimeout > 0 && alarms.chance(perMs(shape.falseDisconnectsPerTimeout) * stepMs)) {
      // Mostly about the node's leader (the case that acts), else about anyone.
      const at = alarms.pick(c.ids);
      const leader = c.leader();
      c.disconnected(at, leader && alarms.chance(0.7) ? leader.id : alarms.pick(c.ids));
    }

    for (const [id, at] of restartAt) {
      if (at <= now) {
        restartAt.delete(id);
        c.restart(id);
      }
    }
    if (now >= healNetworkAt) {
      healNetworkAt = Infinity;
      c.heal();
    }
    if (rng.chance(perMs(shape.partitionsPerTimeout) * stepMs)) {
      c.heal();
      drawPartition(c, rng);
      healNetworkAt = now + rng.int(1, 6) * shape.electionTimeoutMaxMs;
    }
    if (rng.chance(perMs(shape.oneWayCutsPerTimeout) * stepMs) && c.ids.length > 1) {
      const leader = c.leader();
      const [a, b] = rng.shuffled(c.ids);
      // Half the time involve the leader: a leader that can send but not hear (or the reverse).
      const from = leader && rng.chance(0.5) ? leader.id : a!;
      const to = from === a ? b! : a!;
      const [x, y] = rng.chance(0.5) ? [from, to] : [to, from];
      c.cutOneWay(x, y);
      healNetworkAt = Math.min(healNetworkAt, now + rng.int(1, 6) * shape.electionTimeoutMaxMs);
    }
    if (rng.chance(perMs(shape.crashesPerTimeout) * stepMs)) {
      const up = c.nodes.filter((n) => n.up);
      const leader = c.leader();
      const victim = leader && rng.chance(0.5) ? leader : up.length > 0 ? rng.pick(up) : undefined;
      if (victim) {
        if (rng.chance(shape.tornCrashShare)) {
          victim.tornCrashPending = true; // strikes inside its next persisting Ready
          c.trace(`${victim.id} torn crash armed`);
        } else {
          c.crash(victim.id);
        }
        restartAt.set(victim.id, now + rng.int(0, 3 * shape.electionTimeoutMaxMs));
      }
    }
    // A torn crash happened inside a Ready; make sure the node gets its restart.
    for (const n of c.nodes) if (!n.up && !restartAt.has(n.id)) restartAt.set(n.id, now + rng.int(0, shape.electionTimeoutMaxMs));

    if (rng.chance(perMs(shape.confChangesPerTimeout) * stepMs)) {
      const leader = c.leader();
      if (leader) {
        const change = drawConfChange(c, leader.conf, rng);
        if (change) tryClient(() => c.proposeConfChange(leader.id, change));
      }
    }
    if (rng.chance(perMs(shape.transfersPerTimeout) * stepMs)) {
      const leader = c.leader();
      if (leader) tryClient(() => c.transferLeadership(leader.id, rng.pick(c.ids)));
    }
    if (rng.chance((shape.proposalsPerSecond / 1000) * stepMs)) {
      const leaders = c.leaders();
      if (leaders.length > 0) tryClient(() => c.propose(rng.pick(leaders).id));
    }
    if (rng.chance((shape.readsPerSecond / 1000) * stepMs)) {
      const leaders = c.leaders();
      if (leaders.length > 0) tryClient(() => c.readIndex(rng.pick(leaders).id));
    }
  }
}

/** Any single-server change from `conf`: add a learner, promote one, or remove a member. */
function drawConfChange(c: Cluster, conf: ConfState, rng: Rng): ConfChange | undefined {
  const options: ConfChange[] = [];
  for (const id of c.ids) if (!conf.voters.includes(id) && !conf.learners.includes(id)) options.push({ type: 'add-learner', nodeId: id });
  for (const id of conf.learners) options.push({ type: 'add-voter', nodeId: id }, { type: 'remove', nodeId: id });
  if (conf.voters.length > 1) for (const id of conf.voters) options.push({ type: 'remove', nodeId: id });
  return options.length > 0 ? rng.pick(options) : undefined;
}

/** A client call that the core may refuse (not leader any more, transfer under way). */
function tryClient(call: () => unknown): void {
  try {
    call();
  } catch (e) {
    if (!isRaftError(e)) throw e;
  }
}

function drawPartition(c: Cluster, rng: Rng): void {
  const ids = rng.shuffled(c.ids);
  const leader = c.leader();
  const kind = rng.int(0, 3);
  if (kind === 0 && leader) {
    c.trace(`ISOLATE leader ${leader.id}`);
    c.network.isolate(leader.id);
  } else if (kind === 1 && ids.length >= 3) {
    // A bridge: two sides that cannot talk, and one node that talks to both (non-transitive).
    const [bridge, ...rest] = ids;
    const cut = rng.int(1, rest.length - 1);
    const left = rest.slice(0, cut);
    const right = rest.slice(cut);
    c.trace(`BRIDGE ${bridge} between {${left.join(',')}} and {${right.join(',')}}`);
    c.partition([
      [bridge!, ...left],
      [bridge!, ...right],
    ]);
  } else {
    // Two or three groups of random sizes; with a leader on a minority side half the time.
    const cuts = [rng.int(1, Math.max(1, ids.length - 1))];
    if (ids.length >= 4 && rng.chance(0.3)) cuts.push(rng.int(cuts[0]!, ids.length - 1));
    const groups: NodeId[][] = [];
    let from = 0;
    for (const at of [...cuts, ids.length]) {
      groups.push(ids.slice(from, at));
      from = at;
    }
    c.partition(groups.filter((g) => g.length > 0));
  }
}

/**
 * Stop every fault and demand progress: within the bound, one leader, a fresh command applied on
 * every node, a read released, and identical logs. Returns ms from heal to the first leader.
 */
function healAndCheckLiveness(c: Cluster, shape: SimShape): number {
  const healedAt = c.nowMs;
  c.heal();
  c.network.dropFilter = null;
  c.disk.slowChance = 0; // a slow disk is a fault too
  c.disk.slowDisks = [];
  c.network.options = {
    delayMinMs: shape.delayMinMs,
    delayMaxMs: Math.max(shape.delayMinMs, Math.min(shape.delayMaxMs, Math.floor(shape.heartbeatIntervalMs / 2))),
    dropRate: 0,
    dupRate: 0,
  };
  for (const n of c.nodes) {
    n.tornCrashPending = false;
    c.restart(n.id);
  }
  const longestLog = Math.max(...c.nodes.map((n) => n.storage.lastIndex()));
  // An asynchronous write delays the follower's ack and the leader's next append.
  const writeMs = shape.asyncPersist ? shape.persistMaxMs : 0;
  const roundTripMs = 2 * (c.network.options.delayMaxMs + shape.tickIntervalMaxMs + writeMs) + 2;
  // Elections settle in a few timeouts; a follower far behind needs about one round trip per
  // message (one entry per message at the smallest size limit).
  const boundMs = 20 * shape.electionTimeoutMaxMs + longestLog * roundTripMs;
  const deadline = healedAt + boundMs;

  let leaderAt = -1;
  let marker: { key: string; node: NodeId; term: number } | undefined;
  let read: { id: number; node: NodeId; term: number } | undefined;
  for (;;) {
    const leader = c.leader();
    if (leader && leaderAt < 0) leaderAt = c.nowMs - healedAt;
    const current = (x: { node: NodeId; term: number }): boolean =>
      leader !== undefined && x.node === leader.id && x.term === leader.hardState.term;
    if (leader && (marker === undefined || (!c.checker.committedIndexOf(marker.key) && !current(marker)))) {
      // (Re)propose under the current leader; an earlier attempt may have been lost with its term.
      tryClient(() => {
        const p = c.propose(leader.id);
        marker = { key: p.key, node: leader.id, term: p.term };
      });
    }
    // Only the current members must converge; removed and never-added nodes may lag forever.
    const members = leader ? [...leader.conf.voters, ...leader.conf.learners].map((id) => c.node(id)) : [];
    if (marker && appliedBy(c, members, marker.key)) {
      // A read pending at a node that lost leadership may never be answered: ask the new leader.
      if (leader && (read === undefined || (!readReleased(c, read.id) && !current(read)))) {
        tryClient(() => {
          read = { id: c.readIndex(leader.id), node: leader.id, term: leader.hardState.term };
        });
      }
      if (read !== undefined && readReleased(c, read.id) && converged(members)) return leaderAt;
    }
    if (c.nowMs >= deadline) {
      const state = c.nodes
        .map(
          (n) =>
            `${n.id}:${n.up ? n.role : 'down'}@${n.hardState.term} last=${n.storage.lastIndex()} commit=${n.hardState.commit} applied=${n.applied} voters=${n.conf.voters.join(',')}`,
        )
        .join(' ');
      violated(
        'Liveness after heal',
        `${boundMs} ms after healing: ${!leader ? 'no leader' : !marker || !appliedBy(c, members, marker.key) ? 'new command not applied by every member' : read === undefined || !readReleased(c, read.id) ? 'read not released' : 'logs differ'} [${state}]`,
      );
    }
    c.runFor(5);
  }
}

function readReleased(c: Cluster, requestId: number): boolean {
  return c.checker.released.has(requestId);
}

function appliedBy(c: Cluster, nodes: readonly SimNode[], key: string): boolean {
  const at = c.checker.committedIndexOf(key);
  return at !== undefined && nodes.every((n) => n.applied >= at);
}

/** Every node's log equals every other's, and everything is committed and applied. */
function converged(nodes: readonly SimNode[]): boolean {
  const ref = nodes[0];
  if (ref === undefined) return false;
  const last = ref.storage.lastIndex();
  for (const n of nodes) {
    if (n.storage.lastIndex() !== last || n.hardState.commit !== last || n.applied !== last) return false;
    if (last > 0 && n.storage.term(last) !== ref.storage.term(last)) return false;
  }
  return true;
}
