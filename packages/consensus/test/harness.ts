// A tiny lock-step cluster for unit tests of the public API: a perfect network that delivers in
// rounds, optional isolation of nodes, and a driver that follows the Ready contract (including
// snapshots: a snapshot message carries the sender's snapshot data, as the real driver streams it).
// The randomized, fault-injecting simulator lives in its own package, @raftkv/consensus-sim.
import { changeConf, MemoryStorage, RaftNode, type ConfChange, type ConfState, type Message, type RaftOptions } from '../src/index.js';

export interface TestNode {
  readonly id: string;
  storage: MemoryStorage;
  node: RaftNode;
  /** The state machine: every non-empty normal entry's text, in order. */
  state: string[];
  appliedIndex: number;
  /** A snapshot's data that arrived from the leader, waiting for the core to ask for its install. */
  pendingSnapshotData?: Uint8Array;
}

export type Tuning = Partial<Omit<RaftOptions, 'id' | 'peers' | 'random' | 'nowMs'>>;

const text = new TextDecoder();

/** Conf-change entries are encoded by the driver: here as JSON of the resulting membership. */
export function proposeConfChange(leader: RaftNode, cc: ConfChange): void {
  const conf = changeConf(leader.status().conf, cc);
  leader.proposeConfChange(new TextEncoder().encode(JSON.stringify(conf)));
}

export class TestCluster {
  readonly nodes = new Map<string, TestNode>();
  readonly isolated = new Set<string>();
  now = 0;
  private seed = 7;
  private inbox: Message[] = [];

  constructor(
    ids: string[],
    private readonly tuning: Tuning = {},
  ) {
    for (const id of ids) this.add(id, ids);
  }

  private random = (): number => (this.seed = (this.seed * 16807) % 2147483647) / 2147483647;

  add(id: string, peers: string[]): TestNode {
    const storage = new MemoryStorage();
    const node = new RaftNode({ ...this.tuning, id, peers, random: this.random, nowMs: this.now }, storage);
    const n: TestNode = { id, storage, node, state: [], appliedIndex: 0 };
    this.nodes.set(id, n);
    return n;
  }

  /** Crash and restart a node over its storage: it recovers from its snapshot, then re-applies the log. */
  restart(id: string): TestNode {
    const n = this.get(id);
    const snap = n.storage.snapshot();
    const applied = snap.meta.index;
    n.node = new RaftNode({ ...this.tuning, id, peers: [], random: this.random, nowMs: this.now, applied }, n.storage);
    n.state = applied > 0 ? (JSON.parse(text.decode(snap.data)) as string[]) : [];
    n.appliedIndex = applied;
    this.pump();
    return n;
  }

  get(id: string): TestNode {
    return this.nodes.get(id)!;
  }

  /** Deliver until quiet (messages to or from isolated nodes are dropped). */
  pump(): void {
    for (let round = 0; round < 1000; round++) {
      for (const n of this.nodes.values()) this.drain(n);
      if (this.inbox.length === 0) return;
      const batch = this.inbox;
      this.inbox = [];
      for (const m of batch) {
        if (this.isolated.has(m.from) || this.isolated.has(m.to)) {
          if (m.type === 'snapshot') this.nodes.get(m.from)?.node.reportSnapshot(m.to, false);
          continue;
        }
        const to = this.nodes.get(m.to);
        if (!to) continue;
        if (m.type === 'snapshot') {
          const from = this.get(m.from);
          to.pendingSnapshotData = from.storage.snapshot().data;
        }
        to.node.step(m);
      }
    }
    throw new Error('cluster did not settle');
  }

  private drain(n: TestNode): void {
    while (n.node.hasReady()) {
      const rd = n.node.ready();
      if (rd.snapshot) {
        n.storage.applySnapshot(rd.snapshot, n.pendingSnapshotData!);
        n.state = JSON.parse(text.decode(n.pendingSnapshotData)) as string[];
        n.appliedIndex = rd.snapshot.index;
      }
      n.storage.append(rd.entries);
      if (rd.hardState) n.storage.setHardState(rd.hardState);
      this.inbox.push(...rd.messages);
      for (const e of rd.committedEntries) {
        if (e.index !== n.appliedIndex + 1) throw new Error(`${n.id} applies ${e.index} after ${n.appliedIndex}`);
        n.appliedIndex = e.index;
        if (e.type === 'normal' && e.data.byteLength > 0) n.state.push(text.decode(e.data));
        if (e.type === 'conf-change') {
          const conf = JSON.parse(text.decode(e.data)) as ConfState;
          n.node.applyConf(conf);
          n.storage.setConfState(conf);
        }
      }
      n.node.advance(rd);
    }
  }

  /** Let simulated time pass in 10 ms steps, ticking every node that is up. */
  run(ms: number): void {
    const end = this.now + ms;
    while (this.now < end) {
      this.now += 10;
      for (const n of this.nodes.values()) n.node.tick(this.now);
      this.pump();
    }
  }

  leader(): TestNode | undefined {
    const leaders = [...this.nodes.values()].filter((n) => !this.isolated.has(n.id) && n.node.status().role === 'leader');
    return leaders.length === 1 ? leaders[0] : undefined;
  }

  /** Propose text on the leader and let it commit. */
  put(value: string): number {
    const l = this.leader();
    if (!l) throw new Error('no leader');
    const { firstIndex } = l.node.propose([new TextEncoder().encode(value)]);
    this.run(100);
    return firstIndex;
  }

  /** Snapshot a node's state machine at its applied index and compact its log up to compactTo. */
  snapshot(id: string, compactTo?: number): void {
    const n = this.get(id);
    const data = new TextEncoder().encode(JSON.stringify(n.state));
    n.storage.createSnapshot(n.appliedIndex, n.node.status().conf, data, compactTo ?? n.appliedIndex);
  }
}
