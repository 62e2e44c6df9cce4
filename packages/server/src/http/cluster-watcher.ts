// The live view's data source: one Admin.WatchStatus stream to every member (this node included, over
// gRPC like the others, so what the page shows is what any client would see), reconnecting with
// backoff. Members that appear in a status's membership are watched too. Each update is turned into
// one JSON line for the page once, whatever the number of browsers. Streams run only while someone
// listens.
import type { ClientReadableStream } from '@grpc/grpc-js';
import { AdminClient, Role, WatchEventKind, type WatchStatusResponse } from '@raftkv/proto';
import { channelCredentials } from '../grpc/tls.js';

/** One node as the page sees it; enums become lower-case names. */
export interface NodeUpdate {
  readonly id: string;
  readonly address: string;
  readonly connected: boolean;
  readonly error: string;
  readonly status?: Record<string, unknown> | undefined;
  readonly detail?: Record<string, unknown> | undefined;
  readonly events: ReadonlyArray<Record<string, unknown>>;
  readonly eventsDropped: number;
  readonly sinceLeaderContactMs: number;
  readonly sentAtMs: number;
}

const ROLE_NAMES: Record<number, string> = {
  [Role.ROLE_FOLLOWER]: 'follower',
  [Role.ROLE_CANDIDATE]: 'candidate',
  [Role.ROLE_LEADER]: 'leader',
};

const KIND_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(WatchEventKind)
    .filter(([, v]) => typeof v === 'number')
    .map(([k, v]) => [
      v,
      k
        .replace(/^WATCH_EVENT_KIND_/, '')
        .toLowerCase()
        .replace(/_/g, '-'),
    ]),
);

export function toNodeUpdate(id: string, address: string, m: WatchStatusResponse): NodeUpdate {
  const u: { -readonly [K in keyof NodeUpdate]: NodeUpdate[K] } = {
    id,
    address,
    connected: true,
    error: '',
    events: m.events.map((e) => ({ ...e, kind: KIND_NAMES[e.kind] ?? 'unknown' })),
    eventsDropped: m.eventsDropped,
    sinceLeaderContactMs: m.sinceLeaderContactMs,
    sentAtMs: m.sentAtMs,
  };
  if (m.status !== undefined) u.status = { ...m.status, role: ROLE_NAMES[m.status.role] ?? 'unknown' };
  if (m.detail !== undefined) u.detail = { ...m.detail };
  return u;
}

export interface WatcherOptions {
  /** id -> address to dial (dial overrides already applied). */
  readonly members: ReadonlyMap<string, string>;
  /** Maps an address found in a status's membership to the one to dial. */
  readonly dial: (address: string) => string;
  readonly logTail: number;
  readonly updatesPerSecond: number;
  /** Stop the streams this long after the last listener left. */
  readonly idleStopMs: number;
}

interface Member {
  readonly id: string;
  readonly address: string;
  client: AdminClient | null;
  call: ClientReadableStream<WatchStatusResponse> | null;
  retry: NodeJS.Timeout | null;
  backoffMs: number;
  /** The last full picture (status and detail kept from earlier messages). */
  last: NodeUpdate;
}

const MIN_BACKOFF_MS = 200;
const MAX_BACKOFF_MS = 2000;

export class ClusterWatcher {
  private readonly members = new Map<string, Member>();
  private readonly listeners = new Set<(json: string) => void>();
  private running = false;
  private idleTimer: NodeJS.Timeout | null = null;

  constructor(private readonly o: WatcherOptions) {
    for (const [id, address] of o.members) this.addMember(id, address);
  }

  /** Latest picture of every member, as JSON lines, for a new listener. */
  snapshot(): string[] {
    return [...this.members.values()].map((m) => JSON.stringify(m.last));
  }

  memberList(): { id: string; address: string }[] {
    return [...this.members.values()].map((m) => ({ id: m.id, address: m.address }));
  }

  /** Adds a listener of JSON updates; streams start with the first listener. Returns the remover. */
  listen(fn: (json: string) => void): () => void {
    this.listeners.add(fn);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    if (!this.running) this.start();
    return () => {
      this.listeners.delete(fn);
      if (this.listeners.size === 0 && this.running && this.idleTimer === null) {
        this.idleTimer = setTimeout(() => {
          this.idleTimer = null;
          if (this.listeners.size === 0) this.stop();
        }, this.o.idleStopMs);
        this.idleTimer.unref();
      }
    };
  }

  close(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    this.listeners.clear();
    this.stop();
    for (const m of this.members.values()) m.client?.close();
  }

  private addMember(id: string, address: string): void {
    const m: Member = {
      id,
      address,
      client: null,
      call: null,
      retry: null,
      backoffMs: MIN_BACKOFF_MS,
      last: { id, address, connected: false, error: 'connecting', events: [], eventsDropped: 0, sinceLeaderContactMs: 0, sentAtMs: 0 },
    };
    this.members.set(id, m);
    if (this.running) this.connect(m);
  }

  private start(): void {
    this.running = true;
    for (const m of this.members.values()) this.connect(m);
  }

  private stop(): void {
    this.running = false;
    for (const m of this.members.values()) {
      if (m.retry) clearTimeout(m.retry);
      m.retry = null;
      const call = m.call;
      m.call = null;
      call?.cancel();
    }
  }

  private connect(m: Member): void {
    if (!this.running || m.call !== null) return;
    m.client ??= new AdminClient(this.o.dial(m.address), channelCredentials(), {
      'grpc.keepalive_time_ms': 2000,
      'grpc.keepalive_timeout_ms': 2000,
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1000,
    });
    const call = m.client.watchStatus({ maxUpdatesPerSecond: this.o.updatesPerSecond, includeEvents: true, logTail: this.o.logTail });
    m.call = call;
    call.on('data', (msg: WatchStatusResponse) => {
      if (m.call !== call) return;
      m.backoffMs = MIN_BACKOFF_MS;
      const u = toNodeUpdate(m.id, m.address, msg);
      this.publish(m, u);
      if (msg.status !== undefined)
        for (const mem of msg.status.members) if (!this.members.has(mem.id)) this.addMember(mem.id, mem.address);
    });
    const lost = (why: string): void => {
      if (m.call !== call) return;
      m.call = null;
      this.publish(m, {
        id: m.id,
        address: m.address,
        connected: false,
        error: why,
        events: [],
        eventsDropped: 0,
        sinceLeaderContactMs: 0,
        sentAtMs: 0,
      });
      if (!this.running) return;
      m.retry = setTimeout(() => {
        m.retry = null;
        this.connect(m);
      }, m.backoffMs);
      m.retry.unref();
      m.backoffMs = Math.min(MAX_BACKOFF_MS, m.backoffMs * 2);
    };
    call.on('error', (e: Error & { details?: string }) => lost(e.details || e.message));
    call.on('end', () => lost('stream ended'));
  }

  private publish(m: Member, u: NodeUpdate): void {
    // Keep the last status and detail: later messages only carry what changed.
    const full: NodeUpdate = u.connected
      ? { ...u, status: u.status ?? m.last.status, detail: u.detail ?? m.last.detail, events: [] }
      : { ...u, status: m.last.status, detail: m.last.detail };
    m.last = full;
    if (this.listeners.size === 0) return;
    const json = JSON.stringify(u.connected ? u : full);
    for (const l of this.listeners) l(json);
  }
}
