// Fan-out of a node's status and sampled events to Admin.WatchStatus subscribers. Costs nothing while
// nobody watches (one comparison per Ready). With watchers, a timer builds at most one status per tick,
// shared by all of them; each watcher gets its own rate limit and a bounded event queue. A watcher whose
// transport stops accepting writes (backpressure) gets nothing more until it drains; if it stays
// blocked for `slowClientMs` it is dropped. The node never waits for a watcher.
import type { Message, Ready } from '@raftkv/consensus';
import type { LogEntrySummary, StatusDetail, StatusResponse, WatchEvent, WatchStatusRequest, WatchStatusResponse } from '@raftkv/proto';
import { DEFAULT_SAMPLER_OPTIONS, EventSampler, transitionEvent, type SamplerOptions } from './event-sampler.js';

/** What the hub reads from the node, only when it is about to send. */
export interface HubSource {
  status(): StatusResponse;
  /** Everything of the detail but the log tail. */
  detail(): Omit<StatusDetail, 'logTail'>;
  /** The last `n` log entries, oldest first. */
  logTail(n: number): LogEntrySummary[];
}

/** Where a subscriber's messages go: a gRPC server stream, or a test double. */
export interface WatchSink {
  /** false: the transport's buffer is full; call `Subscription.drained()` when it empties. */
  write(msg: WatchStatusResponse): boolean;
  /** The hub gave up on this subscriber (it fell behind); end its stream with this reason. */
  drop(reason: string): void;
}

export interface Subscription {
  /** The sink can take writes again. */
  drained(): void;
  /** The subscriber went away. */
  close(): void;
}

export interface HubOptions {
  readonly defaultUpdatesPerSecond: number;
  readonly maxUpdatesPerSecond: number;
  readonly maxLogTail: number;
  /** Events a subscriber may have queued; beyond, its oldest are dropped (and counted). */
  readonly maxQueuedEvents: number;
  /** A subscriber blocked this long is dropped. */
  readonly slowClientMs: number;
  /** A subscriber hears from the node at least this often (keeps its election timer fresh). */
  readonly keepaliveMs: number;
  /** Recent transitions kept (even unwatched) for a new watcher's first message. */
  readonly historySize: number;
  readonly sampler: SamplerOptions;
  /** Monotonic milliseconds (performance.now in production). */
  readonly monoNow: () => number;
  /** Wall-clock milliseconds since the epoch (Date.now in production). */
  readonly wallNow: () => number;
  /** Runs `fn` every `ms` until the returned stop function is called. */
  readonly every: (ms: number, fn: () => void) => () => void;
}

export const DEFAULT_HUB_OPTIONS: HubOptions = {
  defaultUpdatesPerSecond: 20,
  maxUpdatesPerSecond: 50,
  maxLogTail: 32,
  maxQueuedEvents: 1024,
  slowClientMs: 5000,
  keepaliveMs: 1000,
  historySize: 32,
  sampler: DEFAULT_SAMPLER_OPTIONS,
  monoNow: () => performance.now(),
  wallNow: () => Date.now(),
  every: (ms, fn) => {
    const t = setInterval(fn, ms);
    t.unref();
    return () => clearInterval(t);
  },
};

interface Subscriber {
  readonly sink: WatchSink;
  readonly gapMs: number;
  readonly events: boolean;
  readonly tail: number;
  lastSentAt: number;
  lastKey: string;
  queue: WatchEvent[];
  dropped: number;
  blockedSince: number | null;
}

/** Identity of a status for change detection: everything a watcher would notice. */
function statusKey(s: StatusResponse, d: Omit<StatusDetail, 'logTail'>): string {
  let k = `${s.role}|${s.term}|${s.leaderId}|${s.commitIndex}|${s.appliedIndex}|${s.lastLogIndex}|`;
  for (const m of s.members) k += `${m.id}@${m.address}${m.voter ? '' : '~'},`;
  k += '|';
  for (const f of d.followers) k += `${f.id}:${f.matchIndex}:${f.state}:${f.recentActive ? 1 : 0},`;
  return k;
}

export class WatchHub {
  private readonly o: HubOptions;
  private readonly subs = new Set<Subscriber>();
  /** The last transitions (elections, step-downs, ...), so a new watcher sees what just happened. */
  private readonly history: WatchEvent[] = [];
  private sampler: EventSampler | null = null;
  private stopTimer: (() => void) | null = null;
  private timerGap = 0;
  private urgent = false;
  private urgentScheduled = false;
  private lastLeaderContact: number;
  private isLeader = false;

  constructor(
    private readonly self: string,
    private readonly source: HubSource,
    options: Partial<HubOptions> = {},
  ) {
    this.o = { ...DEFAULT_HUB_OPTIONS, ...options };
    this.lastLeaderContact = this.o.monoNow();
  }

  get subscriberCount(): number {
    return this.subs.size;
  }

  /** After every handled Ready. */
  readyHandled(rd: Ready): void {
    if (rd.events.length > 0) this.remember(rd);
    if (rd.softState !== null) {
      const leader = rd.softState.role === 'leader';
      if (leader !== this.isLeader || !leader) this.lastLeaderContact = this.o.monoNow();
      this.isLeader = leader;
    }
    if (this.subs.size === 0) return;
    this.sampler?.observe(rd, this.o.wallNow());
    // Role, term and leader changes go out at once; indexes wait for the next tick.
    if (rd.softState !== null || rd.events.length > 0) this.flushSoon();
  }

  private remember(rd: Ready): void {
    const now = this.o.wallNow();
    for (const ev of rd.events) {
      const w = transitionEvent(this.self, ev, now);
      if (w === null) continue;
      if (this.history.length >= this.o.historySize) this.history.shift();
      this.history.push(w);
    }
  }

  /** Every message from a peer: appends, heartbeats and snapshots come from a leader and reset the election timer. */
  messageReceived(m: Message): void {
    if (m.type === 'heartbeat' || m.type === 'append' || m.type === 'snapshot') this.lastLeaderContact = this.o.monoNow();
  }

  subscribe(req: WatchStatusRequest, sink: WatchSink): Subscription {
    const rate = Math.min(
      this.o.maxUpdatesPerSecond,
      req.maxUpdatesPerSecond > 0 ? req.maxUpdatesPerSecond : this.o.defaultUpdatesPerSecond,
    );
    // Events sampled so far belong to the existing watchers; the new one gets the history instead.
    this.distribute();
    const sub: Subscriber = {
      sink,
      gapMs: 1000 / rate,
      events: req.includeEvents,
      tail: Math.min(this.o.maxLogTail, req.logTail),
      lastSentAt: -Infinity,
      lastKey: '',
      queue: req.includeEvents ? [...this.history] : [],
      dropped: 0,
      blockedSince: null,
    };
    this.subs.add(sub);
    if (sub.events && this.sampler === null) this.sampler = new EventSampler(this.self, this.o.sampler);
    this.retime();
    // The current status, immediately.
    this.send(sub, this.snapshot(), this.o.monoNow());
    return {
      drained: () => {
        sub.blockedSince = null;
      },
      close: () => this.remove(sub),
    };
  }

  private remove(sub: Subscriber): void {
    if (!this.subs.delete(sub)) return;
    if (![...this.subs].some((s) => s.events)) this.sampler = null;
    this.retime();
  }

  /** One timer for all subscribers, at the fastest rate any of them asked for. */
  private retime(): void {
    let gap = Infinity;
    for (const s of this.subs) gap = Math.min(gap, s.gapMs);
    if (gap === this.timerGap) return;
    this.stopTimer?.();
    this.stopTimer = null;
    this.timerGap = gap;
    if (gap !== Infinity) this.stopTimer = this.o.every(gap, () => this.tick());
  }

  private flushSoon(): void {
    this.urgent = true;
    if (this.urgentScheduled) return;
    this.urgentScheduled = true;
    setImmediate(() => {
      this.urgentScheduled = false;
      this.tick();
    });
  }

  private snapshot(): { status: StatusResponse; detail: Omit<StatusDetail, 'logTail'>; key: string; tail: LogEntrySummary[] | null } {
    const status = this.source.status();
    const detail = this.source.detail();
    return { status, detail, key: statusKey(status, detail), tail: null };
  }

  /** Builds what is due and sends it. Exposed for tests driving a fake clock. */
  tick(): void {
    if (this.subs.size === 0) return;
    const now = this.o.monoNow();
    const urgent = this.urgent;
    this.urgent = false;
    this.distribute();
    let snap: ReturnType<WatchHub['snapshot']> | null = null;
    for (const s of [...this.subs]) {
      if (s.blockedSince !== null) {
        if (now - s.blockedSince >= this.o.slowClientMs) {
          this.remove(s);
          s.sink.drop(`watcher too slow: blocked for over ${this.o.slowClientMs} ms`);
        }
        continue;
      }
      const since = now - s.lastSentAt;
      // Urgent changes may go out faster than the subscriber's own rate, never faster than the cap.
      if (since < s.gapMs && !(urgent && since >= 1000 / this.o.maxUpdatesPerSecond)) continue;
      snap ??= this.snapshot();
      if (snap.key === s.lastKey && s.queue.length === 0 && s.dropped === 0 && since < this.o.keepaliveMs) continue;
      this.send(s, snap, now);
    }
  }

  /** Moves what the sampler collected into every event watcher's bounded queue. */
  private distribute(): void {
    if (this.sampler !== null) {
      const { events, dropped } = this.sampler.drain(this.o.wallNow());
      if (events.length > 0 || dropped > 0) {
        for (const s of this.subs) {
          if (!s.events) continue;
          s.dropped += dropped;
          for (const e of events) s.queue.push(e);
          const over = s.queue.length - this.o.maxQueuedEvents;
          if (over > 0) {
            s.queue.splice(0, over);
            s.dropped += over;
          }
        }
      }
    }
  }

  private send(s: Subscriber, snap: ReturnType<WatchHub['snapshot']>, now: number): void {
    const msg: WatchStatusResponse = {
      events: s.queue,
      eventsDropped: s.dropped,
      sentAtMs: this.o.wallNow(),
      sinceLeaderContactMs: this.isLeader ? 0 : Math.max(0, Math.round(now - this.lastLeaderContact)),
    };
    if (snap.key !== s.lastKey) {
      if (s.tail > 0 && snap.tail === null) snap.tail = this.source.logTail(this.o.maxLogTail);
      const tail = s.tail > 0 && snap.tail !== null ? snap.tail.slice(Math.max(0, snap.tail.length - s.tail)) : [];
      msg.status = snap.status;
      msg.detail = { ...snap.detail, logTail: tail };
      s.lastKey = snap.key;
    }
    s.queue = [];
    s.dropped = 0;
    s.lastSentAt = now;
    let ok: boolean;
    try {
      ok = s.sink.write(msg);
    } catch {
      // The stream is gone (cancelled between its close and ours).
      this.remove(s);
      return;
    }
    if (!ok) s.blockedSince = now;
  }
}
