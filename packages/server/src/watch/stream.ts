// One etcd Watch stream (etcd 3.4's serverWatchStream): its create, cancel and progress requests, its
// watchers' ids and options, and one ordered, bounded queue of responses in front of the transport. A
// watcher's "created" answer is queued before the hub can give it any event, so the client always
// hears of a watch before its events. When the queue is full the stream's watchers fall behind (the
// hub stops giving them events and they catch up from the store once the transport drains).
import { etcdserverpb } from '@raftkv/proto';
import { keyRange } from '../storage/mvcc/key-range.js';
import type { KvRow } from '../storage/mvcc/kv-row.js';
import { filtersOf, isCreate } from './events.js';
import { Watcher, type WatchHub, type WatcherSink } from './hub.js';
import { WatchWire } from './wire.js';

/** Where the stream's responses go (the gRPC call, or a test double). */
export interface WatchTransport {
  /**
   * A response, or its bytes already encoded (events; see wire.ts). false: the transport's buffer is
   * full; call `WatchSession.drained()` when it empties.
   */
  write(r: etcdserverpb.WatchResponse | Buffer): boolean;
}

/** What the stream reads from the node. */
export interface WatchSessionDeps {
  readonly hub: WatchHub;
  readonly store: {
    currentRevision(): number;
    /** The live row of `key` at `rev` (prev_kv). */
    liveAt(key: Buffer, rev: number): KvRow | undefined;
  };
  /** etcd's response header: this node's ids and term, with `revision`. */
  readonly header: (revision: number) => etcdserverpb.ResponseHeader;
  /** A fragmenting watcher's responses are split below this size (etcd: --max-request-bytes). */
  readonly maxRequestBytes: number;
  /** etcd's progress report interval (--experimental-watch-progress-notify-interval; 10 minutes). */
  readonly progressIntervalMs: number;
  /** Responses queued in front of a blocked transport before the stream's watchers count as behind. */
  readonly maxQueued: number;
  /**
   * Watchers the stream may hold (--max-watchers-per-stream; default unbounded): each costs the hub
   * work on every write in its range, so one stream must not hold an unbounded number of them.
   */
  readonly maxWatchers?: number;
  /** Why the caller may not watch this range (etcd's isWatchPermitted: READ on it), or null when it may. */
  readonly refusal?: (key: Buffer, rangeEnd: Uint8Array) => string | null;
  /** Encodes events; shared by a node's streams, so each event is encoded once for all of them. */
  readonly wire?: WatchWire;
}

/** etcd's clientv3.InvalidWatchID: a response for no watcher (a failed create, a progress answer). */
const NO_WATCH = -1;
const ERR_EMPTY_RANGE = 'mvcc: watcher range is empty';
const ERR_DUPLICATE_ID = 'mvcc: duplicate watch ID provided on the WatchStream';
// etcd has no such limit (its streams hold any number of watchers): the reason names ours and its flag.
const tooManyWatchers = (max: number): string =>
  `raftkv: too many watchers on this stream (at most ${max}; --max-watchers-per-stream): cancel one or open another stream`;

interface WatchOptions {
  readonly watcher: Watcher;
  readonly prevKv: boolean;
  readonly fragment: boolean;
  readonly progressNotify: boolean;
  /** No event since the last progress tick: the next tick reports progress (etcd's progress map). */
  progressDue: boolean;
}

const response = (r: Partial<etcdserverpb.WatchResponse>): etcdserverpb.WatchResponse => ({
  watchId: 0,
  created: false,
  canceled: false,
  compactRevision: 0,
  cancelReason: '',
  fragment: false,
  events: [],
  ...r,
});

export class WatchSession implements WatcherSink {
  private readonly watches = new Map<number, WatchOptions>();
  private nextId = 0;
  private queue: (etcdserverpb.WatchResponse | Buffer)[] = [];
  private readonly wire: WatchWire;
  private blocked = false;
  private closed = false;
  private progressTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly d: WatchSessionDeps,
    private readonly transport: WatchTransport,
  ) {
    this.wire = d.wire ?? new WatchWire({ header: d.header, liveAt: (key, rev) => d.store.liveAt(key, rev) });
  }

  handle(req: etcdserverpb.WatchRequest): void {
    if (this.closed) return;
    const u = req.requestUnion;
    switch (u?.$case) {
      case 'createRequest':
        this.create(u.createRequest);
        return;
      case 'cancelRequest':
        this.cancel(u.cancelRequest.watchId);
        return;
      case 'progressRequest':
        this.enqueue(response({ header: this.d.header(this.d.store.currentRevision()), watchId: NO_WATCH }));
        return;
      default:
        return; // etcd ignores a request it does not know rather than end the stream
    }
  }

  /** The transport can take writes again. */
  drained(): void {
    this.blocked = false;
    while (this.queue.length > 0 && !this.blocked) this.blocked = !this.transport.write(this.queue.shift()!);
    if (!this.blocked) this.d.hub.kick();
  }

  /** The stream ended: its watchers go. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const o of this.watches.values()) this.d.hub.remove(o.watcher);
    this.watches.clear();
    this.queue = [];
    if (this.progressTimer !== null) clearInterval(this.progressTimer);
  }

  get watcherCount(): number {
    return this.watches.size;
  }

  hasRoom(): boolean {
    return !this.closed && this.queue.length < this.d.maxQueued;
  }

  events(w: Watcher, rows: readonly KvRow[], revision: number): void {
    const o = this.watches.get(w.id);
    if (o === undefined) return;
    o.progressDue = false;
    if (!o.fragment) {
      this.enqueue(this.wire.response(w.id, revision, rows, o.prevKv));
      return;
    }
    const events = rows.map((row) => this.wire.toEvent(row, o.prevKv && !isCreate(row)));
    const r = response({ header: this.d.header(revision), watchId: w.id, events });
    for (const part of fragments(r, this.d.maxRequestBytes)) this.enqueue(part);
  }

  compacted(w: Watcher, compactRevision: number): void {
    this.watches.delete(w.id);
    // etcd's header carries the response's revision, which a compacted response leaves 0.
    this.enqueue(response({ header: this.d.header(0), watchId: w.id, compactRevision, canceled: true }));
  }

  private create(c: etcdserverpb.WatchCreateRequest): void {
    const key = c.key.length === 0 ? Buffer.from([0]) : c.key; // etcd: "\0" is the smallest key
    const range = keyRange(key, c.rangeEnd);
    const revision = this.d.store.currentRevision();
    const refuse = (reason: string): void =>
      this.enqueue(response({ header: this.d.header(revision), watchId: NO_WATCH, created: true, canceled: true, cancelReason: reason }));
    const refused = this.d.refusal?.(key, c.rangeEnd) ?? null;
    if (refused !== null) return refuse(refused);
    if (range.kind === 'range' && Buffer.compare(range.key, range.end) >= 0) return refuse(ERR_EMPTY_RANGE);
    const max = this.d.maxWatchers ?? Infinity;
    if (this.watches.size >= max) return refuse(tooManyWatchers(max));
    let id = c.watchId;
    if (id === 0) {
      while (this.watches.has(this.nextId)) this.nextId++;
      id = this.nextId++;
    } else if (this.watches.has(id)) {
      return refuse(ERR_DUPLICATE_ID);
    }
    const watcher = new Watcher(id, range, c.startRevision, filtersOf(c.filters), this);
    this.watches.set(id, { watcher, prevKv: c.prevKv, fragment: c.fragment, progressNotify: c.progressNotify, progressDue: true });
    this.enqueue(response({ header: this.d.header(revision), watchId: id, created: true }));
    this.d.hub.add(watcher);
    if (c.progressNotify) this.startProgress();
  }

  private cancel(id: number): void {
    const o = this.watches.get(id);
    if (o === undefined) return; // etcd answers an unknown id with nothing
    this.watches.delete(id);
    this.d.hub.remove(o.watcher);
    this.enqueue(response({ header: this.d.header(this.d.store.currentRevision()), watchId: id, canceled: true }));
  }

  /** etcd's progress ticker: a synced watcher that got no event since the last tick is told the revision. */
  private startProgress(): void {
    if (this.progressTimer !== null) return;
    const ms = this.d.progressIntervalMs;
    // etcd adds up to a tenth of the interval as jitter, so streams opened together do not tick together.
    this.progressTimer = setInterval(() => this.progressTick(), ms + Math.floor(Math.random() * (ms / 10)));
    this.progressTimer.unref();
  }

  private progressTick(): void {
    for (const o of this.watches.values()) {
      if (!o.progressNotify) continue;
      if (o.progressDue && this.d.hub.caughtUp(o.watcher)) {
        this.enqueue(response({ header: this.d.header(this.d.store.currentRevision()), watchId: o.watcher.id }));
      }
      o.progressDue = true;
    }
  }

  private enqueue(r: etcdserverpb.WatchResponse | Buffer): void {
    if (this.closed) return;
    if (!this.blocked && this.queue.length === 0) this.blocked = !this.transport.write(r);
    else this.queue.push(r);
  }
}

/**
 * etcd's sendFragments: a response of two or more events at least `maxBytes` long goes as several, each
 * under the limit where it can be (one event always fits), all but the last marked `fragment`.
 */
export function fragments(r: etcdserverpb.WatchResponse, maxBytes: number): etcdserverpb.WatchResponse[] {
  const size = (x: etcdserverpb.WatchResponse): number => etcdserverpb.WatchResponse.encode(x).finish().length;
  if (r.events.length < 2 || size(r) < maxBytes) return [r];
  const parts: etcdserverpb.WatchResponse[] = [];
  let idx = 0;
  while (idx < r.events.length) {
    const cur = { ...r, events: [] as typeof r.events, fragment: true };
    for (const ev of r.events.slice(idx)) {
      cur.events.push(ev);
      if (cur.events.length > 1 && size(cur) >= maxBytes) {
        cur.events.pop();
        break;
      }
      idx++;
    }
    if (idx === r.events.length) cur.fragment = false;
    parts.push(cur);
  }
  return parts;
}
