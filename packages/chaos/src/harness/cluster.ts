// The cluster under test: real raftkv node processes, each optionally inside its own network
// namespace, with their logs appended to one file per node. The harness kills, freezes and restarts
// them; every process it started is killed when the run ends, however it ends (@raftkv/testkit tracks them).
import { RaftkvClient } from '@raftkv/client';
import { Role, type DigestResponse, type ListMembersResponse, type RemoveMemberResponse, type StatusResponse } from '@raftkv/proto';
import { freePorts, nodeArgs, peersFlag, sleep, spawnTracked } from '@raftkv/testkit';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { topologyFor, type Topology } from './netns.js';

export interface NodeSpec {
  readonly id: string;
  /** host:port the node listens on and peers dial. */
  readonly address: string;
  readonly dataDir: string;
  readonly logFile: string;
  /** Network namespace to run in (partition mode), or undefined for loopback. */
  readonly netns?: string;
}

/**
 * What a slot (an address, a namespace) holds: a member started with --peers or admitted, a node
 * started with --join that is not a voter yet, or nothing (its member was removed and its data wiped).
 */
export type SlotState = 'member' | 'joining' | 'out';

export interface ClusterOptions {
  readonly serverMain: string;
  readonly nodes: readonly NodeSpec[];
  readonly electionTimeoutMinMs: number;
  readonly electionTimeoutMaxMs: number;
  readonly heartbeatMs: number;
  /**
   * The cluster's shared peer secret (--peer-secret-file). Nodes in network namespaces listen on
   * non-loopback addresses, where raftkv refuses unauthenticated peers; chaos runs them authenticated.
   */
  readonly peerSecretFile?: string;
}

/** A node process that exited without the harness asking (a crash or a deliberate fatal stop). */
export interface UnexpectedExit {
  readonly node: string;
  readonly code: number | null;
  readonly signal: string | null;
  readonly at: number;
  /** The node's last log lines when it exited. */
  readonly log: string[];
}

const CHANNEL_OPTIONS = {
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 1000,
  'grpc.min_reconnect_backoff_ms': 100,
  'grpc.enable_retries': 0,
};

export class Cluster {
  /**
   * One client per slot, whose only endpoint is that slot's address: a worker talks to the node it
   * picked (the faults aim at nodes, so where a call goes is part of the test), and the client's own
   * retries stay on that node.
   */
  readonly clients: RaftkvClient[];
  private readonly procs: (ChildProcess | null)[];
  private readonly expectedExit: boolean[];
  private readonly paused: boolean[];
  readonly unexpectedExits: UnexpectedExit[] = [];
  /** The node each slot runs now (a re-added slot gets a fresh id, data dir and log). */
  private readonly specs: NodeSpec[];
  private readonly states: SlotState[];
  /** Log file of every id ever run, for reports after the slot moved on. */
  private readonly logs = new Map<string, string>();

  constructor(
    readonly o: ClusterOptions,
    private readonly clock: () => number,
  ) {
    const n = o.nodes.length;
    this.procs = new Array<ChildProcess | null>(n).fill(null);
    this.expectedExit = new Array<boolean>(n).fill(false);
    this.paused = new Array<boolean>(n).fill(false);
    this.specs = [...o.nodes];
    this.states = new Array<SlotState>(n).fill('member');
    for (const sp of o.nodes) this.logs.set(sp.id, sp.logFile);
    this.clients = o.nodes.map((s) => new RaftkvClient({ endpoints: [s.address], channelOptions: CHANNEL_OPTIONS }));
  }

  get size(): number {
    return this.o.nodes.length;
  }
  id(i: number): string {
    return this.specs[i]!.id;
  }
  address(i: number): string {
    return this.specs[i]!.address;
  }
  state(i: number): SlotState {
    return this.states[i]!;
  }
  /** Slots holding a member or a joining node (the ones clients and faults aim at). */
  inUse(): number[] {
    return this.slots().filter((i) => this.states[i] !== 'out');
  }
  slots(): number[] {
    return Array.from({ length: this.size }, (_, i) => i);
  }
  slotOf(id: string): number | undefined {
    const i = this.specs.findIndex((s) => s.id === id);
    return i < 0 ? undefined : i;
  }
  markMember(i: number): void {
    if (this.states[i] === 'joining') this.states[i] = 'member';
  }

  /** Takes a removed member out: kill -9, wipe its data dir; the slot stays empty until `join`. */
  async retire(i: number): Promise<void> {
    this.states[i] = 'out';
    await this.kill(i);
    rmSync(this.specs[i]!.dataDir, { recursive: true, force: true });
  }

  /** Starts a fresh node with a new id in an empty slot, asking the members to add it (--join). */
  join(i: number, id: string, workDir: string): void {
    if (this.states[i] !== 'out') throw new Error(`slot ${i} is not empty`);
    const old = this.specs[i]!;
    const spec: NodeSpec = { ...old, id, dataDir: join(workDir, id), logFile: join(workDir, `${id}.log`) };
    this.specs[i] = spec;
    this.logs.set(id, spec.logFile);
    this.states[i] = 'joining';
    this.start(i);
  }
  isRunning(i: number): boolean {
    return this.procs[i] !== null;
  }
  isPaused(i: number): boolean {
    return this.paused[i]!;
  }

  private flags(i: number): string[] {
    const s = this.specs[i]!;
    // The first members bootstrap from --peers; a node put in a slot later joins through the others.
    const membership =
      this.o.nodes[i]!.id === s.id
        ? { peers: peersFlag(this.o.nodes) }
        : { join: this.specs.filter((_, j) => j !== i).map((p) => p.address) };
    const extra = this.o.peerSecretFile === undefined ? [] : ['--peer-secret-file', this.o.peerSecretFile];
    // Compaction off: the watch checker reads the whole history (a watch from revision 1), and
    // watchers resume from any past revision after a reconnect.
    extra.push('--auto-compaction-retention', '0');
    return [this.o.serverMain, ...nodeArgs({ id: s.id, listen: s.address, dataDir: s.dataDir, membership, timing: this.o, extra })];
  }

  /** Starts the slot's node (no-op if running, or if the slot is empty). */
  start(i: number): void {
    if (this.procs[i] !== null || this.states[i] === 'out') return;
    const s = this.specs[i]!;
    mkdirSync(s.dataDir, { recursive: true });
    const fd = openSync(s.logFile, 'a');
    const args = this.flags(i);
    // `ip netns exec` execs the node in place, so the child's pid is the node's.
    const [cmd, cmdArgs] = s.netns === undefined ? [process.execPath, args] : ['ip', ['netns', 'exec', s.netns, process.execPath, ...args]];
    // Tracked: killed (even if paused) when the harness exits, however it exits.
    const p = spawnTracked(cmd, cmdArgs, { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    this.procs[i] = p;
    this.expectedExit[i] = false;
    this.paused[i] = false;
    p.on('exit', (code, signal) => {
      if (this.procs[i] === p) this.procs[i] = null;
      // The log tail now: the slot may run again (restart, fresh id) before the run reports.
      if (!this.expectedExit[i]) this.unexpectedExits.push({ node: s.id, code, signal, at: this.clock(), log: this.logTailOf(s.id, 15) });
    });
  }

  startAll(): void {
    for (let i = 0; i < this.size; i++) this.start(i);
  }

  /** kill -9; resolves once the process is gone. */
  async kill(i: number): Promise<void> {
    const p = this.procs[i];
    if (p === null || p === undefined) return;
    this.expectedExit[i] = true;
    const gone = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGKILL');
    this.paused[i] = false;
    await gone;
  }

  pause(i: number): void {
    const p = this.procs[i];
    if (p && !this.paused[i]) {
      p.kill('SIGSTOP');
      this.paused[i] = true;
    }
  }

  resume(i: number): void {
    const p = this.procs[i];
    if (p && this.paused[i]) {
      p.kill('SIGCONT');
      this.paused[i] = false;
    }
  }

  /** SIGTERM everyone (clean shutdown), SIGKILL whoever is still there after graceMs. */
  async stopAll(graceMs = 5000): Promise<void> {
    await Promise.all(
      this.procs.map(async (p, i) => {
        if (p === null) return;
        this.expectedExit[i] = true;
        const gone = new Promise<void>((r) => p.once('exit', () => r()));
        p.kill('SIGCONT');
        p.kill('SIGTERM');
        const t = setTimeout(() => p.kill('SIGKILL'), graceMs);
        await gone;
        clearTimeout(t);
      }),
    );
    for (const c of this.clients) c.close();
  }

  /** Admin.Status of the slot's node, one attempt. */
  status(i: number, timeoutMs = 500): Promise<StatusResponse> {
    return this.clients[i]!.statusOf(this.address(i), { timeoutMs });
  }

  listMembers(i: number, timeoutMs = 1000): Promise<ListMembersResponse> {
    return this.clients[i]!.listMembers({ timeoutMs });
  }

  removeMember(i: number, id: string, timeoutMs: number): Promise<RemoveMemberResponse> {
    return this.clients[i]!.removeMember(id, { timeoutMs });
  }

  /** AddMember for a slot's node (resumes an add its own --join call left half done). */
  addMember(i: number, id: string, address: string, timeoutMs: number): Promise<unknown> {
    return this.clients[i]!.addMember(id, address, false, { timeoutMs });
  }

  digest(i: number, timeoutMs = 2000): Promise<DigestResponse> {
    return this.clients[i]!.digest({ timeoutMs });
  }

  /** Statuses of the reachable, running, unpaused nodes (index-aligned; undefined where unknown). */
  async statuses(timeoutMs = 500): Promise<(StatusResponse | undefined)[]> {
    return Promise.all(
      this.specs.map((_, i) =>
        this.isRunning(i) && !this.isPaused(i) ? this.status(i, timeoutMs).catch(() => undefined) : Promise.resolve(undefined),
      ),
    );
  }

  /** The node that claims leadership in the highest term, if any. */
  async leader(): Promise<number | undefined> {
    const st = await this.statuses();
    let best: number | undefined;
    st.forEach((s, i) => {
      if (s?.role === Role.ROLE_LEADER && (best === undefined || s.term > st[best]!.term)) best = i;
    });
    return best;
  }

  async waitForLeader(timeoutMs: number): Promise<number> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const l = await this.leader();
      if (l !== undefined) return l;
      if (Date.now() > end) throw new Error(`no leader within ${timeoutMs} ms`);
      await sleep(100);
    }
  }

  /** The last lines of a node's log, for reports. */
  logTail(i: number, lines = 20, filter?: RegExp): string[] {
    return this.logTailOf(this.id(i), lines, filter);
  }

  /** The same, by node id (also for ids no slot runs any more). */
  logTailOf(id: string, lines = 20, filter?: RegExp): string[] {
    const file = this.logs.get(id);
    if (file === undefined) return [];
    try {
      const all = readFileSync(file, 'utf8').split('\n').filter(Boolean);
      return (filter ? all.filter((l) => filter.test(l)) : all).slice(-lines);
    } catch {
      return [];
    }
  }
}

/** A fresh random cluster secret (32 bytes, hex) in the run's work dir, readable by its owner only. */
function writePeerSecret(workDir: string): string {
  mkdirSync(workDir, { recursive: true });
  const file = join(workDir, 'peer-secret');
  writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600 });
  return file;
}

export function nodeSpecs(workDir: string, addresses: readonly string[], netns?: readonly string[]): NodeSpec[] {
  return addresses.map((address, i) => {
    const id = `n${i + 1}`;
    const base = { id, address, dataDir: join(workDir, id), logFile: join(workDir, `${id}.log`) };
    const ns = netns?.[i];
    return ns === undefined ? base : { ...base, netns: ns };
  });
}

export interface ClusterSetup {
  readonly nodes: number;
  readonly workDir: string;
  readonly serverMain: string;
  readonly electionTimeoutMinMs: number;
  readonly electionTimeoutMaxMs: number;
  readonly heartbeatMs: number;
  /** Inside a network-namespace topology with this tag; else loopback on free ports. */
  readonly netnsTag?: string;
}

/** A cluster (not started) on namespace addresses or free loopback ports. */
export async function makeCluster(
  o: ClusterSetup,
  clock: () => number,
): Promise<{ cluster: Cluster; topology: Topology | undefined; addresses: string[] }> {
  const topology = o.netnsTag === undefined ? undefined : topologyFor(o.netnsTag, o.nodes);
  const addresses = topology ? topology.nodeAddr.map((a) => `${a}:7001`) : (await freePorts(o.nodes)).map((p) => `127.0.0.1:${p}`);
  const cluster = new Cluster(
    {
      serverMain: o.serverMain,
      nodes: nodeSpecs(o.workDir, addresses, topology?.nodeNs),
      electionTimeoutMinMs: o.electionTimeoutMinMs,
      electionTimeoutMaxMs: o.electionTimeoutMaxMs,
      heartbeatMs: o.heartbeatMs,
      peerSecretFile: writePeerSecret(o.workDir),
    },
    clock,
  );
  return { cluster, topology, addresses };
}
