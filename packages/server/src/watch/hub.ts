// The node's watchers and the events of its applied writes, as etcd 3.4's watchable_store: a "synced"
// watcher is told each revision's events as soon as the Ready that applied them has committed; one
// that asked for a past revision, or whose stream fell behind (its sink has no room), is "unsynced" and
// catches up from the store in bounded batches, a few at a time between turns of the event loop, then
// is synced again. Nothing here waits for a watcher: a slow one costs the node a skipped delivery and,
// later, a read of the store. A watcher that needs revisions compaction has removed is told so and
// removed (etcd's compacted response).
import { performance } from 'node:perf_hooks';
import type { KeyRange } from '../storage/mvcc/key-range.js';
import type { KvRow } from '../storage/mvcc/kv-row.js';
import { inRange, passes, type WatchFilters } from './events.js';

/** What the hub reads from the store. */
export interface HubStore {
  currentRevision(): number;
  compactedRevision(): number;
  /** Writes to `range` with from <= main <= to, oldest first, at most `limit`. */
  history(range: KeyRange, from: number, to: number, limit: number): KvRow[];
}

/** Where a watcher's responses go: its stream (stream.ts), shared by the stream's watchers. */
export interface WatcherSink {
  /** Whether the stream can take another response now. */
  hasRoom(): boolean;
  /** `rows` (non-empty, filtered, revision order) for `w`; `revision`: the response header's. */
  events(w: Watcher, rows: readonly KvRow[], revision: number): void;
  /** `w` needs revisions below `compactRevision`, which are gone; the hub has removed it. */
  compacted(w: Watcher, compactRevision: number): void;
}

export class Watcher {
  synced = false;

  constructor(
    readonly id: number,
    readonly range: KeyRange,
    /** The first revision whose events this watcher has not been given. */
    public next: number,
    readonly filters: WatchFilters,
    readonly sink: WatcherSink,
  ) {}
}

export interface HubOptions {
  /** Rows read from the store per watcher per catch-up step (etcd reads up to 1000 revisions). */
  readonly batchRows: number;
  /** Unsynced watchers served per catch-up step (etcd's maxWatchersPerSync). */
  readonly watchersPerStep: number;
  /** Pause between catch-up steps when no watcher could make progress (etcd: 100 ms). */
  readonly retryMs: number;
  /** Longest stretch of live delivery before the event loop gets a turn. */
  readonly sliceMs: number;
}

export const DEFAULT_HUB_OPTIONS: HubOptions = { batchRows: 1000, watchersPerStep: 512, retryMs: 100, sliceMs: 5 };

export class WatchHub {
  /** Synced watchers of one key, by the key (hex). */
  private readonly singles = new Map<string, Set<Watcher>>();
  /** Synced watchers of a range or from a key. */
  private readonly ranges = new Set<Watcher>();
  private readonly unsynced = new Set<Watcher>();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  /** The last revision delivered: every synced watcher has been given everything up to it. */
  private notified: number;
  /** Rows notified but not yet delivered (whole Readies), and the position reached in the first. */
  private readonly pending: (readonly KvRow[])[] = [];
  private pendingAt = 0;
  private draining = false;

  constructor(
    private readonly store: HubStore,
    private readonly options: HubOptions = DEFAULT_HUB_OPTIONS,
  ) {
    this.notified = store.currentRevision();
  }

  /** Watchers now registered (synced or not). */
  get size(): number {
    let n = this.unsynced.size + this.ranges.size;
    for (const s of this.singles.values()) n += s.size;
    return n;
  }

  /**
   * Registers `w`. `w.next` is its start revision: 0 (or anything past the current revision) starts
   * synced from the next revision (or that future one); a past revision starts unsynced.
   */
  add(w: Watcher): void {
    const current = this.store.currentRevision();
    if (w.next === 0 || w.next > current) {
      w.next = Math.max(w.next, current + 1);
      this.sync(w);
    } else {
      this.unsync(w);
    }
  }

  remove(w: Watcher): void {
    if (w.synced) this.desync(w);
    else this.unsynced.delete(w);
  }

  isSynced(w: Watcher): boolean {
    return w.synced;
  }

  /**
   * The rows a committed Ready's writes inserted, in revision order. They are delivered to the synced
   * watchers revision by revision (one response per revision, as etcd's notify) off the Ready's path:
   * in slices of at most `sliceMs` between turns of the event loop, so that thousands of watchers do
   * not hold up the Raft loop (etcd sends from other goroutines).
   */
  notify(rows: readonly KvRow[]): void {
    if (rows.length === 0) return;
    this.pending.push(rows);
    if (!this.draining) {
      this.draining = true;
      setImmediate(() => this.drain());
    }
  }

  /** Delivers every pending revision now (tests; and before the hub is read as caught up). */
  flush(): void {
    this.deliver(Number.POSITIVE_INFINITY);
  }

  /** Whether `w` has been given every revision this node has applied (a progress report may be sent). */
  caughtUp(w: Watcher): boolean {
    return w.synced && this.pending.length === 0;
  }

  private drain(): void {
    this.deliver(performance.now() + this.options.sliceMs);
    if (this.pending.length > 0 && !this.closed) setImmediate(() => this.drain());
    else this.draining = false;
  }

  private deliver(until: number): void {
    while (this.pending.length > 0) {
      const rows = this.pending[0]!;
      let start = this.pendingAt;
      const rev = rows[start]!.main;
      let end = start + 1;
      while (end < rows.length && rows[end]!.main === rev) end++;
      this.notifyRevision(rows, start, end, rev);
      this.notified = rev;
      start = end;
      if (start >= rows.length) {
        this.pending.shift();
        this.pendingAt = 0;
      } else {
        this.pendingAt = start;
      }
      if (performance.now() >= until) return;
    }
  }

  /** The store was replaced underneath (a snapshot's install): every watcher catches up from it. */
  resync(): void {
    // Undelivered rows predate the install; every watcher reads what it has not had from the store.
    this.pending.length = 0;
    this.pendingAt = 0;
    const synced = [...this.ranges];
    for (const s of this.singles.values()) synced.push(...s);
    for (const w of synced) {
      this.desync(w);
      w.next = Math.max(w.next, this.notified + 1);
      this.unsync(w);
    }
    this.notified = this.store.currentRevision();
  }

  /** A sink has room again: unsynced watchers may progress now rather than at the next retry. */
  kick(): void {
    if (this.unsynced.size > 0) this.schedule(0);
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private notifyRevision(rows: readonly KvRow[], start: number, end: number, rev: number): void {
    if (end - start === 1) {
      this.notifyOne(rows[start]!, rev);
      return;
    }
    let byWatcher: Map<Watcher, KvRow[]> | null = null;
    const add = (w: Watcher, r: KvRow): void => {
      if (rev < w.next) return; // a watcher from a future revision
      byWatcher ??= new Map();
      const list = byWatcher.get(w);
      if (list === undefined) byWatcher.set(w, [r]);
      else list.push(r);
    };
    for (let i = start; i < end; i++) {
      const r = rows[i]!;
      const singles = this.singles.size > 0 ? this.singles.get(r.key.toString('hex')) : undefined;
      if (singles !== undefined) for (const w of singles) add(w, r);
      for (const w of this.ranges) if (inRange(w.range, r.key)) add(w, r);
    }
    if (byWatcher === null) return;
    for (const [w, list] of byWatcher as Map<Watcher, KvRow[]>)
      this.give(
        w,
        list.filter((r) => passes(w.filters, r)),
        rev,
      );
  }

  /** A revision of one row (a put, most writes): no grouping, and every watcher shares one list. */
  private notifyOne(r: KvRow, rev: number): void {
    const one = [r];
    const singles = this.singles.size > 0 ? this.singles.get(r.key.toString('hex')) : undefined;
    if (singles !== undefined) for (const w of singles) if (rev >= w.next) this.give(w, passes(w.filters, r) ? one : [], rev);
    for (const w of this.ranges) if (rev >= w.next && inRange(w.range, r.key)) this.give(w, passes(w.filters, r) ? one : [], rev);
  }

  /** `events` of revision `rev` (possibly none after filters) for synced watcher `w`. */
  private give(w: Watcher, events: readonly KvRow[], rev: number): void {
    if (events.length > 0) {
      if (!w.sink.hasRoom()) {
        // Behind: from this revision on, it reads the store (etcd: a victim, then unsynced).
        w.next = rev;
        this.desync(w);
        this.unsync(w);
        return;
      }
      w.sink.events(w, events, rev);
    }
    w.next = rev + 1;
  }

  private sync(w: Watcher): void {
    w.synced = true;
    if (w.range.kind !== 'single') {
      this.ranges.add(w);
      return;
    }
    const k = w.range.key.toString('hex');
    let set = this.singles.get(k);
    if (set === undefined) this.singles.set(k, (set = new Set()));
    set.add(w);
  }

  private desync(w: Watcher): void {
    w.synced = false;
    if (w.range.kind !== 'single') {
      this.ranges.delete(w);
      return;
    }
    const k = w.range.key.toString('hex');
    const set = this.singles.get(k);
    set?.delete(w);
    if (set?.size === 0) this.singles.delete(k);
  }

  private unsync(w: Watcher): void {
    this.unsynced.add(w);
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    if (this.timer !== null) {
      if (ms > 0) return;
      clearTimeout(this.timer);
    }
    this.timer = setTimeout(() => {
      this.timer = null;
      const progressed = this.catchUp();
      if (this.unsynced.size > 0) this.schedule(progressed ? 0 : this.options.retryMs);
    }, ms);
  }

  /**
   * One catch-up step (etcd's syncWatchers): up to `watchersPerStep` unsynced watchers read one bounded
   * batch of the store, for at most `sliceMs` (the rest wait for the next turn of the loop). Watchers of
   * the same range share one read from the lowest revision any of them needs (etcd reads once for all
   * its unsynced watchers), and so share the rows and their encodings. Runs outside any Ready, so the
   * store holds exactly what was notified. Returns whether any watcher progressed.
   */
  catchUp(): boolean {
    const current = this.store.currentRevision();
    const compacted = this.store.compactedRevision();
    let served = 0;
    let progressed = false;
    const until = performance.now() + this.options.sliceMs;
    const groups = new Map<string, Watcher[]>();
    for (const w of this.unsynced) {
      if (served >= this.options.watchersPerStep) break;
      if (!w.sink.hasRoom()) continue;
      served++;
      progressed = true;
      if (w.next > current) {
        this.unsynced.delete(w);
        this.sync(w);
        continue;
      }
      // etcd's chooseAll: a watcher below the compaction revision is told so and dropped.
      if (w.next < compacted) {
        this.unsynced.delete(w);
        w.sink.compacted(w, compacted);
        continue;
      }
      const id = rangeId(w.range);
      const group = groups.get(id);
      if (group === undefined) groups.set(id, [w]);
      else group.push(w);
    }
    for (const group of groups.values()) {
      if (performance.now() >= until) break;
      let from = group[0]!.next;
      for (const w of group) from = Math.min(from, w.next);
      const { rows, upTo } = this.batch(group[0]!.range, from, current);
      for (const w of group) {
        const events = rows.filter((r) => r.main >= w.next && passes(w.filters, r));
        if (events.length > 0) w.sink.events(w, events, current);
        w.next = Math.max(w.next, upTo + 1);
        if (upTo === current) {
          this.unsynced.delete(w);
          this.sync(w);
        }
      }
    }
    return progressed;
  }

  /** The next rows of `range` from revision `from` on, whole revisions only; upTo: the last revision they cover. */
  private batch(range: KeyRange, from: number, current: number): { rows: KvRow[]; upTo: number } {
    const limit = this.options.batchRows;
    const rows = this.store.history(range, from, current, limit);
    if (rows.length < limit) return { rows, upTo: current };
    const last = rows[rows.length - 1]!.main;
    // One revision larger than a batch (a big Txn or DeleteRange) is read whole: events of a revision
    // are never split.
    if (rows[0]!.main === last) return { rows: this.store.history(range, last, last, Number.MAX_SAFE_INTEGER), upTo: last };
    return { rows: rows.filter((r) => r.main < last), upTo: last - 1 };
  }
}

/** Watchers with equal ids watch the same keys. */
const rangeId = (r: KeyRange): string =>
  r.kind === 'range' ? `r${r.key.toString('hex')}:${r.end.toString('hex')}` : `${r.kind[0]}${r.key.toString('hex')}`;
