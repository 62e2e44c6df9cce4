// The cluster under test: real raftkv node processes, each optionally inside its own network
// namespace, with their logs appended to one file per node. The harness kills, freezes and restarts
// them; every process it started is killed when the run ends, however it ends.
import { credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { AdminClient, KVClient, Role, type DigestResponse, type StatusResponse } from '@raftkv/proto';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { topologyFor, type Topology } from './netns.js';
import { freePort, sleep } from './proc.js';

export interface NodeSpec {
  readonly id: string;
  /** host:port the node listens on and peers dial. */
  readonly address: string;
  readonly dataDir: string;
  readonly logFile: string;
  /** Network namespace to run in (partition mode), or undefined for loopback. */
  readonly netns?: string;
}

export interface ClusterOptions {
  readonly serverMain: string;
  readonly nodes: readonly NodeSpec[];
  readonly electionTimeoutMinMs: number;
  readonly electionTimeoutMaxMs: number;
  readonly heartbeatMs: number;
}

/** A node process that exited without the harness asking (a crash or a deliberate fatal stop). */
export interface UnexpectedExit {
  readonly node: string;
  readonly code: number | null;
  readonly signal: string | null;
  readonly at: number;
}

const live = new Set<ChildProcess>();
/** Last resort: never leave node processes behind, even if the harness itself crashes. */
export function killAllNodeProcesses(): void {
  for (const p of live) {
    try {
      p.kill('SIGCONT');
      p.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
  live.clear();
}
process.on('exit', killAllNodeProcesses);

const CLIENT_OPTIONS = {
  'grpc.initial_reconnect_backoff_ms': 100,
  'grpc.max_reconnect_backoff_ms': 1000,
  'grpc.min_reconnect_backoff_ms': 100,
  'grpc.enable_retries': 0,
};

export class Cluster {
  readonly kv: KVClient[];
  readonly admin: AdminClient[];
  private readonly procs: (ChildProcess | null)[];
  private readonly expectedExit: boolean[];
  private readonly paused: boolean[];
  readonly unexpectedExits: UnexpectedExit[] = [];

  constructor(
    readonly o: ClusterOptions,
    private readonly clock: () => number,
  ) {
    const n = o.nodes.length;
    this.procs = new Array<ChildProcess | null>(n).fill(null);
    this.expectedExit = new Array<boolean>(n).fill(false);
    this.paused = new Array<boolean>(n).fill(false);
    this.kv = o.nodes.map((s) => new KVClient(s.address, credentials.createInsecure(), CLIENT_OPTIONS));
    this.admin = o.nodes.map((s) => new AdminClient(s.address, credentials.createInsecure(), CLIENT_OPTIONS));
  }

  get size(): number {
    return this.o.nodes.length;
  }
  id(i: number): string {
    return this.o.nodes[i]!.id;
  }
  isRunning(i: number): boolean {
    return this.procs[i] !== null;
  }
  isPaused(i: number): boolean {
    return this.paused[i]!;
  }

  private flags(i: number): string[] {
    const s = this.o.nodes[i]!;
    const peers = this.o.nodes.map((p) => `${p.id}=${p.address}`).join(',');
    return [
      this.o.serverMain,
      '--id', s.id,
      '--listen', s.address,
      '--peers', peers,
      '--data-dir', s.dataDir,
      '--election-timeout-min-ms', String(this.o.electionTimeoutMinMs),
      '--election-timeout-max-ms', String(this.o.electionTimeoutMaxMs),
      '--heartbeat-ms', String(this.o.heartbeatMs),
    ];
  }

  start(i: number): void {
    if (this.procs[i] !== null) return;
    const s = this.o.nodes[i]!;
    mkdirSync(s.dataDir, { recursive: true });
    const fd = openSync(s.logFile, 'a');
    const args = this.flags(i);
    // `ip netns exec` execs the node in place, so the child's pid is the node's.
    const p = s.netns === undefined ? spawn(process.execPath, args, { stdio: ['ignore', fd, fd] }) : spawn('ip', ['netns', 'exec', s.netns, process.execPath, ...args], { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    live.add(p);
    this.procs[i] = p;
    this.expectedExit[i] = false;
    this.paused[i] = false;
    p.on('exit', (code, signal) => {
      live.delete(p);
      if (this.procs[i] === p) this.procs[i] = null;
      if (!this.expectedExit[i]) this.unexpectedExits.push({ node: s.id, code, signal, at: this.clock() });
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
    for (const c of [...this.kv, ...this.admin]) c.close();
  }

  status(i: number, timeoutMs = 500): Promise<StatusResponse> {
    return new Promise((resolve, reject) =>
      this.admin[i]!.status({}, new Metadata(), { deadline: Date.now() + timeoutMs }, (e: ServiceError | null, r?: StatusResponse) => (e ? reject(e) : resolve(r!))),
    );
  }

  digest(i: number, timeoutMs = 2000): Promise<DigestResponse> {
    return new Promise((resolve, reject) =>
      this.admin[i]!.digest({}, new Metadata(), { deadline: Date.now() + timeoutMs }, (e: ServiceError | null, r?: DigestResponse) => (e ? reject(e) : resolve(r!))),
    );
  }

  /** Statuses of the reachable, running, unpaused nodes (index-aligned; undefined where unknown). */
  async statuses(timeoutMs = 500): Promise<(StatusResponse | undefined)[]> {
    return Promise.all(
      this.o.nodes.map((_, i) => (this.isRunning(i) && !this.isPaused(i) ? this.status(i, timeoutMs).catch(() => undefined) : Promise.resolve(undefined))),
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
    try {
      const all = readFileSync(this.o.nodes[i]!.logFile, 'utf8').split('\n').filter(Boolean);
      return (filter ? all.filter((l) => filter.test(l)) : all).slice(-lines);
    } catch {
      return [];
    }
  }
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
export async function makeCluster(o: ClusterSetup, clock: () => number): Promise<{ cluster: Cluster; topology: Topology | undefined; addresses: string[] }> {
  const topology = o.netnsTag === undefined ? undefined : topologyFor(o.netnsTag, o.nodes);
  const addresses = topology
    ? topology.nodeAddr.map((a) => `${a}:7001`)
    : await Promise.all(Array.from({ length: o.nodes }, async () => `127.0.0.1:${await freePort()}`));
  const cluster = new Cluster(
    {
      serverMain: o.serverMain,
      nodes: nodeSpecs(o.workDir, addresses, topology?.nodeNs),
      electionTimeoutMinMs: o.electionTimeoutMinMs,
      electionTimeoutMaxMs: o.electionTimeoutMaxMs,
      heartbeatMs: o.heartbeatMs,
    },
    clock,
  );
  return { cluster, topology, addresses };
}
