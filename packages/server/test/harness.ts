// Real multi-process clusters for integration tests: node processes on free loopback ports, data in
// temp dirs; everything is killed and removed in stop() and, as a last resort, on process exit.
import { credentials, Metadata, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { RaftkvClient } from '@raftkv/client';
import {
  AdminClient,
  KVClient,
  Role,
  type ProposeRequest,
  type ProposeResponse,
  type ReadResponse,
  type StatusResponse,
} from '@raftkv/proto';
import { freePortExcept, freePorts, nodeArgs, removeDir, requireBuilt, serverMain, spawnTracked, tempDir, waitFor } from '@raftkv/testkit';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SERVER_PKG = fileURLToPath(new URL('..', import.meta.url));
export const MAIN = serverMain(import.meta.url);

export function unary<T>(
  start: (md: Metadata, opts: { deadline: number }, cb: (err: ServiceError | null, res?: T) => void) => void,
  timeoutMs = 5000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    start(new Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res as T)));
  });
}

/** The error `p` rejects with; fails the test if it resolves. */
export async function failure(p: Promise<unknown>): Promise<ServiceError> {
  try {
    await p;
  } catch (e) {
    return e as ServiceError;
  }
  throw new Error('expected the call to fail');
}

export interface TestNode {
  readonly id: string;
  readonly address: string;
  readonly dataDir: string;
  proc: ChildProcess | null;
  /** Started with --join (these endpoints) and --advertise instead of --peers. */
  join?: string[];
  output: string[];
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | null;
}

export interface ClusterOptions {
  readonly size?: number;
  readonly electionTimeoutMinMs?: number;
  readonly electionTimeoutMaxMs?: number;
  readonly heartbeatMs?: number;
  readonly extraFlags?: readonly string[];
  /** Flags for one node only (e.g. a certificate of its own). */
  readonly nodeFlags?: (id: string) => readonly string[];
  /** How the test's own clients connect (default: plaintext). */
  readonly clientCredentials?: ChannelCredentials;
}

export class TestCluster {
  readonly nodes: TestNode[] = [];
  private readonly root = tempDir('raftkv-cluster-');
  private readonly kv = new Map<string, KVClient>();
  private readonly admin = new Map<string, AdminClient>();
  /** putRetry's clients, by the node tried first. */
  private readonly clients = new Map<string, RaftkvClient>();
  /** status/propose/read's clients, one node each. */
  private readonly single = new Map<string, RaftkvClient>();
  readonly peers: string;

  private constructor(
    ports: number[],
    private readonly o: ClusterOptions,
  ) {
    ports.forEach((p, i) =>
      this.nodes.push({
        id: `n${i + 1}`,
        address: `127.0.0.1:${p}`,
        dataDir: join(this.root, `n${i + 1}`),
        proc: null,
        output: [],
        exit: null,
      }),
    );
    this.peers = this.nodes.map((n) => `${n.id}=${n.address}`).join(',');
  }

  static async start(o: ClusterOptions = {}): Promise<TestCluster> {
    const c = await TestCluster.create(o);
    for (const n of c.nodes) c.startNode(n.id);
    return c;
  }

  /** A cluster whose ports and data dirs are chosen but whose nodes are not started (e.g. to restore them first). */
  static async create(o: ClusterOptions = {}): Promise<TestCluster> {
    requireBuilt(MAIN);
    return new TestCluster(await freePorts(o.size ?? 3), o);
  }

  /** A new node that is not in --peers: it asks the members at `joinVia` (ids) to add it (--join). */
  async addNode(id: string, joinVia: readonly string[], port?: number): Promise<TestNode> {
    port ??= await this.freePort();
    const n: TestNode = {
      id,
      address: `127.0.0.1:${port}`,
      dataDir: join(this.root, id),
      proc: null,
      output: [],
      exit: null,
      join: joinVia.map((j) => this.node(j).address),
    };
    this.nodes.push(n);
    this.startNode(id);
    return n;
  }

  /** A free loopback port that no node of this cluster uses. */
  freePort(): Promise<number> {
    return freePortExcept(this.nodes.map((n) => Number(n.address.slice(n.address.lastIndexOf(':') + 1))));
  }

  node(id: string): TestNode {
    const n = this.nodes.find((x) => x.id === id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  startNode(id: string): void {
    const n = this.node(id);
    if (n.proc) throw new Error(`${id} is running`);
    const args = nodeArgs({
      id,
      listen: n.address,
      dataDir: n.dataDir,
      membership: n.join ? { join: n.join } : { peers: this.peers },
      timing: {
        electionTimeoutMinMs: this.o.electionTimeoutMinMs ?? 400,
        electionTimeoutMaxMs: this.o.electionTimeoutMaxMs ?? 800,
        heartbeatMs: this.o.heartbeatMs ?? 50,
      },
      extra: [...(this.o.extraFlags ?? []), ...(this.o.nodeFlags?.(id) ?? [])],
    });
    const p = spawnTracked(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    n.proc = p;
    const keep = (b: Buffer) => {
      n.output.push(
        ...b
          .toString()
          .split('\n')
          .filter((l) => l !== ''),
      );
      if (n.output.length > 5000) n.output.splice(0, n.output.length - 5000);
    };
    p.stdout!.on('data', keep);
    p.stderr!.on('data', keep);
    n.exit = new Promise((resolve) =>
      p.on('exit', (code, signal) => {
        if (n.proc === p) n.proc = null;
        resolve({ code, signal });
      }),
    );
  }

  /** Sends `signal` and waits for the process to exit. */
  async stopNode(id: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    const n = this.node(id);
    this.dropClients(id);
    if (!n.proc) throw new Error(`${id} is not running`);
    n.proc.kill(signal);
    return n.exit!;
  }

  private dropClients(id: string): void {
    this.single.get(id)?.close();
    this.single.delete(id);
    this.kv.get(id)?.close();
    this.kv.delete(id);
    this.admin.get(id)?.close();
    this.admin.delete(id);
  }

  kvClient(id: string): KVClient {
    let c = this.kv.get(id);
    if (!c) this.kv.set(id, (c = new KVClient(this.node(id).address, this.o.clientCredentials ?? credentials.createInsecure())));
    return c;
  }
  adminClient(id: string): AdminClient {
    let c = this.admin.get(id);
    if (!c) this.admin.set(id, (c = new AdminClient(this.node(id).address, this.o.clientCredentials ?? credentials.createInsecure())));
    return c;
  }
  /** Every node's Admin.Digest as "appliedIndex/digest/keyCount", in node order. */
  digests(): Promise<string[]> {
    return Promise.all(
      this.nodes.map(
        (n) =>
          new Promise<string>((resolve, reject) =>
            this.adminClient(n.id).digest({}, (err, r) => (err ? reject(err) : resolve(`${r!.appliedIndex}/${r!.digest}/${r!.keyCount}`))),
          ),
      ),
    );
  }

  /** `id`'s own answer: one attempt on that node (@raftkv/client with retries off). */
  status(id: string, timeoutMs = 2000): Promise<StatusResponse> {
    return this.nodeClient(id).statusOf(this.node(id).address, { timeoutMs });
  }

  propose(id: string, req: Partial<ProposeRequest>, timeoutMs = 10_000): Promise<ProposeResponse> {
    return this.nodeClient(id).propose({ command: undefined, clientId: '', sequence: 0, ...req }, { timeoutMs, retries: false });
  }
  put(id: string, key: string, value: string, timeoutMs?: number): Promise<ProposeResponse> {
    return this.propose(id, { command: { $case: 'put', put: { key, value: Buffer.from(value) } } }, timeoutMs);
  }
  read(id: string, key: string, stale = false, timeoutMs = 10_000): Promise<ReadResponse> {
    return this.nodeClient(id).read(key, { stale, timeoutMs, retries: false });
  }

  /**
   * A put that survives leader changes the way a careful client does: through @raftkv/client, with a
   * client id and sequence (applied once), `id`'s node first, then the others, until it gets an answer.
   */
  async putRetry(
    id: string,
    key: string,
    value: string,
    session: { clientId: string; sequence: number },
    timeoutMs = 30_000,
  ): Promise<ProposeResponse> {
    return this.sessionClient(id).put(key, value, { session, timeoutMs, attemptTimeoutMs: 5000 });
  }

  /** A client of `id`'s node alone (for single-attempt calls). */
  private nodeClient(id: string): RaftkvClient {
    let c = this.single.get(id);
    if (!c) {
      const credentials = this.o.clientCredentials;
      c = new RaftkvClient({ endpoints: [this.node(id).address], ...(credentials === undefined ? {} : { credentials }) });
      this.single.set(id, c);
    }
    return c;
  }

  /** A client whose endpoints are `id`'s node first, then every other node the cluster had then. */
  private sessionClient(id: string): RaftkvClient {
    let c = this.clients.get(id);
    if (!c) {
      const first = this.node(id).address;
      const endpoints = [first, ...this.nodes.map((n) => n.address).filter((a) => a !== first)];
      const credentials = this.o.clientCredentials;
      c = new RaftkvClient({ endpoints, backoffMs: 100, ...(credentials === undefined ? {} : { credentials }) });
      this.clients.set(id, c);
    }
    return c;
  }

  running(): TestNode[] {
    return this.nodes.filter((n) => n.proc !== null);
  }

  /** Waits until every running node reports the same leader (one of them) and term. */
  async waitForLeader(timeoutMs = 30_000): Promise<{ leader: string; term: number }> {
    return waitFor(
      'a leader every running node agrees on',
      async () => {
        const ss = await Promise.all(this.running().map((n) => this.status(n.id)));
        const leaders = ss.filter((s) => s.role === Role.ROLE_LEADER);
        if (leaders.length !== 1) return undefined;
        const l = leaders[0]!;
        return ss.every((s) => s.leaderId === l.id && s.term === l.term) ? { leader: l.id, term: l.term } : undefined;
      },
      timeoutMs,
    );
  }

  logs(id: string): string {
    return this.node(id).output.join('\n');
  }

  async stop(): Promise<void> {
    for (const id of new Set([...this.kv.keys(), ...this.admin.keys(), ...this.single.keys()])) this.dropClients(id);
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
    await Promise.all(
      this.nodes.map(async (n) => {
        if (!n.proc) return;
        n.proc.kill('SIGKILL');
        await n.exit;
      }),
    );
    removeDir(this.root);
  }
}

/** grpc.health.v1.Health/Check against `address`; resolves with the status name. */
export async function healthCheck(address: string, service: string): Promise<string> {
  const grpc = await import('@grpc/grpc-js');
  const { loadSync } = await import('@grpc/proto-loader');
  const def = loadSync('grpc/health/v1/health.proto', { includeDirs: [join(SERVER_PKG, 'proto')], enums: String });
  const pkg = grpc.loadPackageDefinition(def) as unknown as {
    grpc: { health: { v1: { Health: new (a: string, c: ReturnType<typeof credentials.createInsecure>) => HealthStub } } };
  };
  const h = new pkg.grpc.health.v1.Health(address, credentials.createInsecure());
  try {
    return await new Promise((resolve, reject) =>
      h.Check({ service }, { deadline: Date.now() + 2000 }, (err, r) => (err ? reject(err) : resolve(r?.status ?? ''))),
    );
  } finally {
    h.close();
  }
}
interface HealthStub {
  Check(req: { service: string }, opts: { deadline: number }, cb: (err: ServiceError | null, res?: { status: string }) => void): void;
  close(): void;
}
