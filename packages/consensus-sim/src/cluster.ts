// A simulated cluster: nodes, a network and a clock, run as a discrete-event loop. Within one
// millisecond, arrivals are handled before ticks, each in a fixed order, so a run depends only on
// its seed. Every input to a node is followed by draining its Readies through the checker.
import {
  changeConf,
  InvalidRequestError,
  NotLeaderError,
  ProposalDroppedError,
  type ConfChange,
  type Message,
  type NodeId,
} from '@raftkv/consensus';
import { SafetyChecker } from './checker.js';
import { bytesKey, encodeCommand, encodeConf } from './commands.js';
import { SimDisk, SYNC_DISK, type DiskOptions } from './disk.js';
import { SimNetwork, type NetworkOptions } from './network.js';
import { MinHeap } from './heap.js';
import { SimNode, type CompactionPolicy, type NodeEnv, type RaftTuning } from './node.js';
import { Rng } from './rng.js';
import { SafetyViolation, violated } from './violation.js';

export interface ClusterOptions {
  /** Number of nodes (ids n1..nN) unless `ids` is given. */
  readonly size?: number;
  readonly ids?: readonly NodeId[];
  /**
   * How many of the nodes (the first ones) form the initial membership; the rest are spares that
   * start knowing no one, to be added by configuration changes. Default: all.
   */
  readonly voters?: number;
  readonly seed: number;
  readonly raft?: RaftTuning;
  /** Leaders send appends and heartbeats before their own persist (the Ready contract's relaxation 1). */
  readonly earlySend?: boolean;
  /**
   * How writes behave (default: synchronous). Asynchronous writes take the contract's relaxation 2;
   * `seed` feeds the disks' own random streams, so turning them on shifts no other draw.
   */
  readonly disk?: Partial<DiskOptions> & { readonly seed?: number };
  readonly network?: Partial<NetworkOptions>;
  /** How often each node's driver calls tick(); per node, so nodes drift apart. Default 1 ms. */
  readonly tickIntervalMs?: number | ((id: NodeId, rng: Rng) => number);
  /** Run the whole-cluster cross-check every this many simulated ms (0: only when asked). */
  readonly fullCheckEveryMs?: number;
  /** Keep the last `traceLines` events in memory, for printing when a run fails. */
  readonly traceLines?: number;
  /** Keep every message sent in `sent` (scenario tests that count round trips). */
  readonly recordMessages?: boolean;
  /** Snapshot and compact the log every so many applied entries (default: never). */
  readonly compaction?: CompactionPolicy | null;
  /**
   * A crash closes the node's connections, and every node up is told (peerDisconnected), as the
   * server's transport tells its driver. Default: off (only partitions, which close nothing).
   */
  readonly crashClosesConnections?: boolean;
}

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly run: () => void;
}

export interface Proposal {
  readonly key: string;
  readonly node: NodeId;
  readonly index: number;
  readonly term: number;
}

export class Cluster {
  nowMs = 0;
  readonly rng: Rng;
  readonly network: SimNetwork;
  readonly checker: SafetyChecker;
  readonly nodes: readonly SimNode[];
  readonly ids: readonly NodeId[];
  private readonly byId = new Map<NodeId, SimNode>();
  private readonly traceBuf: string[] = [];
  private readonly traceLines: number;
  private readonly crashClosesConnections: boolean;
  private readonly fullCheckEveryMs: number;
  private nextFullCheckMs: number;
  private commandSeq = 0;
  private readSeq = 0;
  /** Faults injected so far (a torn crash counts when it strikes). */
  readonly faults = { crashes: 0, partitions: 0, oneWayCuts: 0, disconnects: 0 };
  /** How often the contract's relaxations were taken: early sends, inputs stepped while a write was under way, crashes during a write. */
  readonly relaxations = { earlySends: 0, inputsDuringWrite: 0, crashKeptWrite: 0, crashLostWrite: 0 };
  /** Membership changes committed, and how many of them while a node was down or a link cut. */
  readonly confChanges = { committed: 0, underFaults: 0 };
  /** Every node's disk behaves this way; mutable, e.g. to end a slow disk when healing. */
  readonly disk: DiskOptions;
  /** Every message sent, when recordMessages is on. */
  readonly sent: Message[] = [];
  private readonly env: NodeEnv;
  /** Driver-side callbacks due later (a snapshot stream's outcome). */
  private readonly timers = new MinHeap<Timer>();
  private timerSeq = 0;

  constructor(opts: ClusterOptions) {
    this.rng = new Rng(opts.seed);
    this.ids = opts.ids ?? Array.from({ length: opts.size ?? 3 }, (_, i) => `n${i + 1}`);
    this.network = new SimNetwork(this.ids, this.rng.fork(), opts.network ?? {});
    const tick = opts.tickIntervalMs ?? 1;
    this.crashClosesConnections = opts.crashClosesConnections ?? false;
    const initial = this.ids.slice(0, opts.voters ?? this.ids.length);
    const { seed: diskSeed, ...disk } = opts.disk ?? {};
    this.disk = { ...SYNC_DISK, ...disk };
    const diskRng = new Rng(diskSeed ?? opts.seed);
    this.nodes = this.ids.map((id) => {
      const interval = typeof tick === 'number' ? tick : tick(id, this.rng);
      const peers = initial.includes(id) ? initial : [];
      const node = new SimNode(
        id,
        peers,
        opts.raft ?? {},
        this.rng.fork(),
        interval,
        this.rng.int(0, interval - 1),
        opts.compaction ?? null,
      );
      node.earlySend = opts.earlySend ?? false;
      node.disk = new SimDisk(this.disk, diskRng.fork(), id);
      this.byId.set(id, node);
      return node;
    });
    this.checker = new SafetyChecker(this.nodes);
    this.checker.onConfCommitted = () => {
      this.confChanges.committed++;
      if (this.network.cutCount() > 0 || this.nodes.some((n) => !n.up)) this.confChanges.underFaults++;
    };
    this.traceLines = opts.traceLines ?? 0;
    this.fullCheckEveryMs = opts.fullCheckEveryMs ?? 0;
    this.nextFullCheckMs = this.fullCheckEveryMs || Infinity;
    const cluster = this;
    this.env = {
      get nowMs() {
        return cluster.nowMs;
      },
      checker: this.checker,
      send: (msg, from) => {
        if (opts.recordMessages) this.sent.push(msg);
        if (msg.type !== 'snapshot') return this.network.send(msg, this.nowMs);
        // The snapshot's data streams alongside (the driver's job); the sender's driver later
        // reports how the stream ended.
        const snap = from.storage.snapshot();
        if (snap.meta.index !== msg.snapshot?.index)
          violated('Snapshot sent is the stored one', `${from.id} sent snapshot ${msg.snapshot?.index}, stores ${snap.meta.index}`);
        this.network.send(msg, this.nowMs, snap.data);
      },
      trace: (line) => this.trace(line),
      onTornCrash: () => this.faults.crashes++,
      onEarlySend: () => this.relaxations.earlySends++,
      onCrashDuringWrite: (kept) => (kept ? this.relaxations.crashKeptWrite++ : this.relaxations.crashLostWrite++),
      schedule: (at, node, run) => this.timers.push({ at, seq: this.timerSeq++, run: () => this.guard(node, run, false) }),
    };
    this.network.onLost = (msg, atMs) => this.reportSnapshot(msg, false, atMs);
    for (const n of this.nodes) this.guard(n, () => n.start(this.nowMs));
  }

  /** The sender's driver learns how a snapshot stream ended (if it is still the same incarnation). */
  private reportSnapshot(msg: Message, ok: boolean, atMs: number): void {
    const sender = this.node(msg.from);
    const incarnation = sender.incarnation;
    this.timers.push({
      at: Math.max(atMs, this.nowMs),
      seq: this.timerSeq++,
      run: () => {
        if (sender.up && sender.incarnation === incarnation) this.guard(sender, () => sender.raft!.reportSnapshot(msg.to, ok));
      },
    });
  }

  node(id: NodeId): SimNode {
    const n = this.byId.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  // --- Time -----------------------------------------------------------------------------------

  /** Run every event up to and including simulated time `untilMs`. */
  runUntilTime(untilMs: number): void {
    for (;;) {
      let next = Math.min(this.network.nextArrivalMs(), this.timers.peek()?.at ?? Infinity);
      for (const n of this.nodes) if (n.up && n.nextTickMs < next) next = n.nextTickMs;
      if (next > untilMs) break;
      this.nowMs = Math.max(this.nowMs, next);
      for (let m = this.network.receive(this.nowMs); m !== undefined; m = this.network.receive(this.nowMs)) this.deliver(m.msg, m.data);
      while ((this.timers.peek()?.at ?? Infinity) <= this.nowMs) this.timers.pop()!.run();
      for (const n of this.nodes) {
        if (!n.up || n.nextTickMs > this.nowMs) continue;
        n.nextTickMs += n.tickIntervalMs;
        this.guard(n, () => n.raft!.tick(this.nowMs));
      }
      if (this.nowMs >= this.nextFullCheckMs) {
        this.nextFullCheckMs = this.nowMs + this.fullCheckEveryMs;
        this.checker.checkAll();
      }
    }
    this.nowMs = Math.max(this.nowMs, untilMs);
  }

  runFor(ms: number): void {
    this.runUntilTime(this.nowMs + ms);
  }

  /** Run until `pred` holds (checked after every simulated ms with activity); false on timeout. */
  runUntil(pred: () => boolean, maxMs: number, stepMs = 1): boolean {
    const deadline = this.nowMs + maxMs;
    while (!pred()) {
      if (this.nowMs >= deadline) return false;
      this.runUntilTime(Math.min(deadline, this.nowMs + stepMs));
    }
    return true;
  }

  private deliver(msg: Message, data: Uint8Array | undefined): void {
    const n = this.byId.get(msg.to);
    const up = n !== undefined && n.up;
    if (data !== undefined && msg.snapshot !== undefined) {
      // The stream completed (or found nobody listening); the core sees the message once the data is whole.
      this.reportSnapshot(msg, up, this.nowMs);
      if (up) n.snapshotData.set(msg.snapshot.index, data);
    }
    if (up) this.guard(n, () => n.raft!.step(msg));
  }

  /**
   * Run one input on a node, then drain its Readies; a core exception is a violation. `input` is
   * false for the node's own driver work (a write completing), which is not an input to the core.
   */
  private guard<T>(n: SimNode, run: () => T, input = true): T {
    if (input && n.persisting) this.relaxations.inputsDuringWrite++;
    let out: T;
    try {
      out = run();
    } catch (e) {
      // Refusals of a client request are answers, not failures; anything else is.
      if (
        e instanceof SafetyViolation ||
        e instanceof NotLeaderError ||
        e instanceof ProposalDroppedError ||
        e instanceof InvalidRequestError
      )
        throw e;
      violated('Core never throws on valid input', `${n.id}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    }
    n.drain(this.env);
    return out;
  }

  // --- Faults ---------------------------------------------------------------------------------

  crash(id: NodeId): void {
    const n = this.node(id);
    if (!n.up) return;
    this.trace(`${id} CRASH`);
    this.faults.crashes++;
    n.crash(this.env);
    if (this.crashClosesConnections) {
      // The close reaches the others behind whatever the node had already sent them (one TCP stream each).
      this.timers.push({
        at: this.nowMs + this.network.options.delayMaxMs + 1,
        seq: this.timerSeq++,
        run: () => {
          if (n.up) return; // restarted meanwhile: its new connections are up
          for (const other of this.nodes) if (other.up) this.disconnected(other.id, id);
        },
      });
    }
  }

  /**
   * Tell `at` that its connection to `peer` closed (peerDisconnected). Also a fault of its own: a
   * false alarm about a peer that is alive must not break safety either.
   */
  disconnected(at: NodeId, peer: NodeId): void {
    const n = this.node(at);
    if (!n.up) return;
    this.trace(`${at} lost its connection to ${peer}`);
    this.faults.disconnects++;
    this.guard(n, () => n.raft!.peerDisconnected(peer));
  }

  restart(id: NodeId): void {
    const n = this.node(id);
    if (n.up) return;
    this.trace(`${id} RESTART`);
    n.nextTickMs = this.nowMs + this.rng.int(0, n.tickIntervalMs - 1);
    this.guard(n, () => n.start(this.nowMs));
  }

  /** Cut the link from → to only. */
  cutOneWay(from: NodeId, to: NodeId): void {
    this.trace(`CUT ${from}->${to}`);
    this.faults.oneWayCuts++;
    this.network.cutOneWay(from, to);
  }

  /** Cut a node off in both directions. */
  isolate(id: NodeId): void {
    this.trace(`ISOLATE ${id}`);
    this.faults.partitions++;
    this.network.isolate(id);
  }

  partition(groups: readonly (readonly NodeId[])[]): void {
    this.trace(`PARTITION ${groups.map((g) => `{${g.join(',')}}`).join(' ')}`);
    this.faults.partitions++;
    this.network.partition(groups);
  }

  heal(): void {
    this.trace('HEAL');
    this.network.heal();
  }

  // --- Clients --------------------------------------------------------------------------------

  /** Nodes that currently believe they lead (more than one during a partition). */
  leaders(): SimNode[] {
    return this.nodes.filter((n) => n.up && n.role === 'leader');
  }

  /** The leader of the highest term among up nodes, if any. */
  leader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of this.leaders()) if (best === undefined || n.hardState.term > best.hardState.term) best = n;
    return best;
  }

  /** A fresh, unique command. */
  nextCommand(): string {
    return `${this.rng.seed}.${++this.commandSeq}`;
  }

  /** Propose a unique command at `id`; throws NotLeaderError if it does not lead. */
  propose(id: NodeId, command = this.nextCommand()): Proposal {
    const n = this.node(id);
    if (!n.up) throw new NotLeaderError('');
    const data = encodeCommand(command);
    const key = `normal:${bytesKey(data)}`;
    this.checker.noteProposed(key);
    // While a write is under way the proposal waits for the next Ready; otherwise its Ready is taken now.
    const queued = n.persisting;
    const { firstIndex, term } = this.guard(n, () => n.raft!.propose([data]));
    this.trace(`${id} propose ${command} -> ${firstIndex}@${term}`);
    // A torn crash may have lost it before it was written; otherwise it sits where propose said.
    if (n.up && !queued && !n.persistedOrWriting(firstIndex, term)) {
      violated('Proposal placement', `${id} said ${command} went to ${firstIndex}@${term}, but its log disagrees`);
    }
    return { key, node: id, index: firstIndex, term };
  }

  /** Start a ReadIndex round at `id`; the released ReadState lands in readStates. */
  readIndex(id: NodeId): number {
    const n = this.node(id);
    if (!n.up) throw new NotLeaderError('');
    const requestId = ++this.readSeq;
    this.checker.noteReadIssued(requestId, n);
    this.guard(n, () => n.raft!.readIndex(requestId));
    return requestId;
  }

  /**
   * Propose a single-server membership change at `id`; the entry carries the resulting membership
   * (as the server's driver encodes it). Throws the core's refusals.
   */
  proposeConfChange(id: NodeId, cc: ConfChange): { index: number; term: number } {
    const n = this.node(id);
    if (!n.up) throw new NotLeaderError('');
    const data = encodeConf(changeConf(n.raft!.status().conf, cc));
    this.checker.noteProposed(`conf-change:${bytesKey(data)}`);
    this.trace(`${id} propose ${cc.type} ${cc.nodeId}`);
    return this.guard(n, () => n.raft!.proposeConfChange(data));
  }

  /** Ask a leader to hand leadership over (thesis §3.10). */
  transferLeadership(id: NodeId, to: NodeId): void {
    const n = this.node(id);
    if (!n.up) throw new NotLeaderError('');
    this.trace(`${id} transfer leadership to ${to}`);
    this.guard(n, () => n.raft!.transferLeadership(to));
  }

  /** Call campaign() on a node (an election "now", as a test or a leadership transfer would). */
  campaign(id: NodeId): void {
    const n = this.node(id);
    if (!n.up) return;
    this.guard(n, () => n.raft!.campaign());
  }

  // --- Inspection -----------------------------------------------------------------------------

  /** Whether every up node has applied the committed entry holding `key`. */
  appliedEverywhere(key: string): boolean {
    const at = this.checker.committedIndexOf(key);
    return at !== undefined && this.nodes.every((n) => !n.up || n.applied >= at);
  }

  /** Persisted log of a node as "index@term" strings, for readable assertions. */
  logOf(id: NodeId): string[] {
    const st = this.node(id).storage;
    return st.lastIndex() < st.firstIndex()
      ? []
      : st.entries(st.firstIndex(), st.lastIndex() + 1, Infinity).map((e) => `${e.index}@${e.term}`);
  }

  trace(line: string): void {
    if (this.traceLines === 0) return;
    this.traceBuf.push(`${String(this.nowMs).padStart(7)}ms ${line}`);
    if (this.traceBuf.length > this.traceLines) this.traceBuf.shift();
  }

  traceTail(): string[] {
    return [...this.traceBuf];
  }
}
