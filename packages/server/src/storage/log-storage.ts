// The Raft log and hard state in SQLite, implementing the core's read-only Storage view. The hot path
// (term lookups, reads of recently appended entries for replication) is served from memory: terms as
// runs (terms never decrease along a log, so a handful of runs cover millions of entries) and a
// bounded window of the most recent entries. SQLite is only read for old entries (a lagging follower).
// After a snapshot the log starts later: the compaction point (base index and term) is kept in
// log_base, so term(firstIndex - 1) stays known (snapshot-store.ts compacts and installs).
import type { ConfState, Entry, EntryType, HardState, SnapshotMeta, Storage } from '@raftkv/consensus';
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';

const EMPTY_HARD_STATE: HardState = { term: 0, vote: '', commit: 0 };
const NO_SNAPSHOT: SnapshotMeta = { index: 0, term: 0, conf: { voters: [], learners: [] } };

interface TermRun {
  /** First index of the run. */
  readonly start: number;
  readonly term: number;
}

export interface LogCacheLimits {
  /** Most recent entries kept in memory. */
  readonly maxEntries: number;
  /** Upper bound on their data bytes. */
  readonly maxBytes: number;
}

const DEFAULT_CACHE: LogCacheLimits = { maxEntries: 65536, maxBytes: 64 << 20 };

const BASE_SQL =
  'INSERT INTO log_base (id, idx, term) VALUES (0, ?, ?) ON CONFLICT (id) DO UPDATE SET idx = excluded.idx, term = excluded.term';

/**
 * The database side of a reset (a snapshot replaced the state machine): every entry goes and the log
 * starts after (index, term); a commit index below `index` is raised to it. Runs inside the caller's
 * transaction, on any connection: the snapshot install worker (snapshot-install.ts) does it on its own,
 * then the node's SqliteLogStorage catches up with restartAt.
 */
export function resetLogRows(db: Db, index: number, term: number): void {
  db.prepare('DELETE FROM log').run();
  db.prepare(BASE_SQL).run(index, term);
  db.prepare(
    "INSERT INTO hard_state (id, term, vote, commit_idx) VALUES (0, 0, '', ?) " +
      'ON CONFLICT (id) DO UPDATE SET commit_idx = MAX(commit_idx, excluded.commit_idx)',
  ).run(index);
}

const entryTypeCode = (t: EntryType): number => (t === 'conf-change' ? 1 : 0);
const entryTypeOf = (c: number): EntryType => (c === 1 ? 'conf-change' : 'normal');

export class SqliteLogStorage implements Storage {
  private first = 1;
  private last = 0;
  private runs: TermRun[] = [];
  /** cache[i] is the entry at index cacheStart + i; the cache always ends at `last`. */
  private cache: Entry[] = [];
  private cacheHead = 0; // entries before cacheHead in `cache` were evicted (compacted lazily)
  private cacheStart = 1;
  private cacheBytes = 0;
  private hard: HardState = EMPTY_HARD_STATE;
  /** The entry just before the log (compaction point). Invariant: base.index === first - 1. */
  private base = { index: 0, term: 0 };
  private snapshot: SnapshotMeta = NO_SNAPSHOT;
  private conf: ConfState | null = null;

  private readonly insertStmt: Statement<[number, number, number, Uint8Array]>;
  private readonly truncateStmt: Statement<[number]>;
  private readonly rangeStmt: Statement<[number, number]>;
  private readonly hardStateStmt: Statement<[number, string, number]>;
  private readonly baseStmt: Statement<[number, number]>;

  constructor(
    private readonly db: Db,
    private readonly limits: LogCacheLimits = DEFAULT_CACHE,
  ) {
    this.insertStmt = db.prepare('INSERT INTO log (idx, term, type, data) VALUES (?, ?, ?, ?)');
    this.truncateStmt = db.prepare('DELETE FROM log WHERE idx >= ?');
    this.rangeStmt = db.prepare('SELECT idx, term, type, data FROM log WHERE idx >= ? AND idx < ? ORDER BY idx');
    this.hardStateStmt = db.prepare(
      'INSERT INTO hard_state (id, term, vote, commit_idx) VALUES (0, ?, ?, ?) ' +
        'ON CONFLICT (id) DO UPDATE SET term = excluded.term, vote = excluded.vote, commit_idx = excluded.commit_idx',
    );
    this.baseStmt = db.prepare(BASE_SQL);
    this.load();
  }

  private loadHardState(): void {
    const hs = this.db.prepare('SELECT term, vote, commit_idx FROM hard_state WHERE id = 0').get() as
      | { term: number; vote: string; commit_idx: number }
      | undefined;
    if (hs) this.hard = { term: hs.term, vote: hs.vote, commit: hs.commit_idx };
  }

  private load(): void {
    this.loadHardState();
    const base = this.db.prepare('SELECT idx, term FROM log_base WHERE id = 0').get() as { idx: number; term: number } | undefined;
    if (base) this.base = { index: base.idx, term: base.term };
    const bounds = this.db.prepare('SELECT MIN(idx) AS lo, MAX(idx) AS hi FROM log').get() as { lo: number | null; hi: number | null };
    if (bounds.lo !== null && bounds.hi !== null) {
      if (bounds.lo !== this.base.index + 1)
        throw new Error(`log starts at ${bounds.lo}, not right after its compaction point ${this.base.index}`);
      this.first = bounds.lo;
      this.last = bounds.hi;
      // Terms are non-decreasing along the log: one row per term gives the runs.
      const rows = this.db.prepare('SELECT term, MIN(idx) AS start FROM log GROUP BY term ORDER BY term').all() as {
        term: number;
        start: number;
      }[];
      this.runs = rows.map((r) => ({ start: r.start, term: r.term }));
      const count = this.last - this.first + 1;
      if (count !== (this.db.prepare('SELECT COUNT(*) AS n FROM log').get() as { n: number }).n) {
        throw new Error(`log has holes between ${this.first} and ${this.last}`);
      }
      // Warm the cache with the tail, which a new leader replicates first.
      const from = Math.max(this.first, this.last - Math.min(this.limits.maxEntries, 4096) + 1);
      this.cacheStart = from;
      for (const e of this.readRange(from, this.last + 1, Infinity)) this.pushCache(e);
    } else {
      this.first = this.base.index + 1;
      this.last = this.base.index;
      this.cacheStart = this.first;
    }
  }

  // ---- Storage (read side, used by the core) ----

  initialState(): { hardState: HardState; confState: ConfState | null } {
    return { hardState: this.hard, confState: this.conf };
  }
  firstIndex(): number {
    return this.first;
  }
  lastIndex(): number {
    return this.last;
  }
  snapshotMeta(): SnapshotMeta {
    return this.snapshot;
  }
  /** The latest snapshot (snapshot-store.ts): what a follower that fell behind the log gets. */
  setSnapshotMeta(meta: SnapshotMeta): void {
    this.snapshot = meta;
  }
  /** The persisted membership (membership.ts), for initialState; null: none yet (bootstrap from --peers). */
  setConfState(conf: ConfState | null): void {
    this.conf = conf;
  }
  hardState(): HardState {
    return this.hard;
  }

  term(index: number): number {
    if (index === 0) return 0;
    if (index === this.base.index) return this.base.term;
    if (index < this.first - 1 || index > this.last) {
      throw new RangeError(`term(${index}) outside the log [${this.first - 1}, ${this.last}]`);
    }
    const runs = this.runs;
    const tail = runs[runs.length - 1];
    if (tail !== undefined && index >= tail.start) return tail.term;
    let lo = 0;
    let hi = runs.length - 1;
    // Last run with start <= index.
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (runs[mid]!.start <= index) lo = mid;
      else hi = mid - 1;
    }
    const r = runs[lo];
    if (r === undefined || r.start > index) throw new RangeError(`term(${index}) precedes the first term run`);
    return r.term;
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    if (lo < this.first || hi > this.last + 1 || lo > hi) {
      throw new RangeError(`entries(${lo}, ${hi}) outside the log [${this.first}, ${this.last}]`);
    }
    if (lo === hi) return [];
    if (lo >= this.cacheStart) {
      const out: Entry[] = [];
      let bytes = 0;
      const base = this.cacheHead - this.cacheStart;
      for (let i = lo; i < hi; i++) {
        const e = this.cache[base + i]!;
        bytes += e.data.length;
        if (out.length > 0 && bytes > maxBytes) break;
        out.push(e);
      }
      return out;
    }
    return this.readRange(lo, hi, maxBytes);
  }

  private readRange(lo: number, hi: number, maxBytes: number): Entry[] {
    const out: Entry[] = [];
    let bytes = 0;
    for (const row of this.rangeStmt.iterate(lo, hi) as IterableIterator<{ idx: number; term: number; type: number; data: Buffer }>) {
      bytes += row.data.length;
      if (out.length > 0 && bytes > maxBytes) break;
      out.push({ index: row.idx, term: row.term, type: entryTypeOf(row.type), data: row.data });
    }
    return out;
  }

  // ---- write side, used inside the per-Ready transaction (ready-store.ts) ----

  /** Discards every entry at or after entries[0].index, then appends `entries` (contiguous). */
  append(entries: readonly Entry[]): void {
    const e0 = entries[0];
    if (e0 === undefined) return;
    if (e0.index > this.last + 1) throw new Error(`append at ${e0.index} would leave a gap after ${this.last}`);
    if (e0.index < this.first) throw new Error(`append at ${e0.index} precedes the first index ${this.first}`);
    if (e0.index <= this.last) this.truncateFrom(e0.index);
    let prevTerm = this.last === 0 ? 0 : this.term(this.last);
    for (const e of entries) {
      if (e.index !== this.last + 1) throw new Error(`append: entry ${e.index} is not contiguous after ${this.last}`);
      if (e.term < prevTerm) throw new Error(`append: entry ${e.index} has term ${e.term} below ${prevTerm}`);
      this.insertStmt.run(e.index, e.term, entryTypeCode(e.type), e.data);
      if (e.term !== prevTerm || this.runs.length === 0) this.runs.push({ start: e.index, term: e.term });
      prevTerm = e.term;
      this.last = e.index;
      this.pushCache(e);
    }
  }

  private truncateFrom(index: number): void {
    this.truncateStmt.run(index);
    while (this.runs.length > 0 && this.runs[this.runs.length - 1]!.start >= index) this.runs.pop();
    this.last = index - 1;
    if (index <= this.cacheStart) {
      this.cache = [];
      this.cacheHead = 0;
      this.cacheStart = index;
      this.cacheBytes = 0;
    } else {
      const keep = this.cacheHead + (index - this.cacheStart);
      for (let i = keep; i < this.cache.length; i++) this.cacheBytes -= this.cache[i]!.data.length;
      this.cache.length = keep;
    }
  }

  private pushCache(e: Entry): void {
    if (this.cache.length - this.cacheHead === 0) this.cacheStart = e.index;
    this.cache.push(e);
    this.cacheBytes += e.data.length;
    while (
      this.cache.length - this.cacheHead > 1 &&
      (this.cache.length - this.cacheHead > this.limits.maxEntries || this.cacheBytes > this.limits.maxBytes)
    ) {
      this.cacheBytes -= this.cache[this.cacheHead]!.data.length;
      this.cacheHead++;
      this.cacheStart++;
    }
    // Compact the array now and then instead of shifting on every eviction.
    if (this.cacheHead > 4096 && this.cacheHead * 2 > this.cache.length) {
      this.cache = this.cache.slice(this.cacheHead);
      this.cacheHead = 0;
    }
  }

  setHardState(hs: HardState): void {
    this.hardStateStmt.run(hs.term, hs.vote, hs.commit);
    this.hard = hs;
  }

  /**
   * Discards the entries up to and including `index` (covered by a snapshot), keeping its term as the
   * compaction point. Runs inside the caller's transaction.
   */
  compact(index: number): void {
    if (index <= this.base.index) return;
    if (index > this.last) throw new Error(`compact(${index}) beyond the last index ${this.last}`);
    const term = this.term(index);
    this.db.prepare('DELETE FROM log WHERE idx <= ?').run(index);
    this.baseStmt.run(index, term);
    this.base = { index, term };
    this.first = index + 1;
    while (this.runs.length > 1 && this.runs[1]!.start <= this.first) this.runs.shift();
    if (this.cacheStart < this.first) {
      const drop = Math.min(this.first, this.last + 1) - this.cacheStart;
      for (let i = 0; i < drop; i++) this.cacheBytes -= this.cache[this.cacheHead + i]!.data.length;
      this.cacheHead += drop;
      this.cacheStart += drop;
    }
  }

  /**
   * A snapshot replaced the state machine: the whole log goes, it starts after (index, term), and the
   * commit index is at least `index`. Runs inside the caller's transaction.
   */
  reset(index: number, term: number): void {
    resetLogRows(this.db, index, term);
    this.restartAt(index, term);
  }

  /**
   * The in-memory side of reset, once resetLogRows has run (on this connection, or committed on
   * another: the snapshot install worker); re-reads the hard state it may have raised.
   */
  restartAt(index: number, term: number): void {
    this.loadHardState();
    this.base = { index, term };
    this.first = index + 1;
    this.last = index;
    this.runs = [];
    this.cache = [];
    this.cacheHead = 0;
    this.cacheStart = this.first;
    this.cacheBytes = 0;
  }
}
