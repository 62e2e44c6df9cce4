// Snapshots and log compaction. When the state machine has applied --snapshot-entries entries, or
// --snapshot-bytes bytes of entries, past the latest snapshot, a worker thread copies it into a
// snapshot file (snapshot-build.ts) while the node keeps running; the store then records it and
// compacts the log, keeping up to --snapshot-catchup-entries entries (and at most --snapshot-bytes
// bytes of them) for followers that are only a little behind. Files live in <data-dir>/snapshots:
//   snap-<index>-<term>.db   the current snapshot (sent to followers that need compacted entries)
//   recv-*.db                a snapshot received whole from the leader, until the core installs it
//   *.tmp                    being written; removed at start (an interrupted build or transfer)
// The snapshot_state row, the log's compaction point and the state machine move in one transaction.
import type { SnapshotMeta } from '@raftkv/consensus';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { runWorker } from './run-worker.js';
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import type { SqliteLogStorage } from './log-storage.js';
import type { Logger } from '../observability/logger.js';
import { sameMeta, type BuiltSnapshot } from './snapshot-build.js';
import { recordSnapshotState, type InstallJob } from './snapshot-install.js';

export interface SnapshotPolicy {
  /** Snapshot once this many entries were applied past the latest snapshot. */
  readonly entries: number;
  /** ... or once the entries applied past it hold this many bytes (entry data); also bounds the tail kept. */
  readonly bytes: number;
  /** Entries kept in the log behind the snapshot for followers that are only a little behind. */
  readonly catchupEntries: number;
}

export interface SnapshotFile {
  readonly meta: SnapshotMeta;
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string;
}

/** A snapshot in use by a transfer: its file is kept until released, even if a newer one replaces it. */
export interface SnapshotLease {
  readonly file: SnapshotFile;
  release(): void;
}

export interface SnapshotStoreOptions {
  readonly db: Db;
  readonly dataDir: string;
  readonly log: SqliteLogStorage;
  readonly logger: Logger;
  readonly policy: SnapshotPolicy;
  /** The state machine's applied index (the snapshot trigger). */
  readonly appliedIndex: () => number;
}

const CHECK_EVERY_MS = 250;

export class SnapshotStore {
  readonly dir: string;
  private current: SnapshotFile | null = null;
  private readonly leases = new Map<string, number>();
  /** Files superseded while leased: removed on the last release. */
  private readonly superseded = new Set<string>();
  /**
   * Snapshots received whole, by `index@term`, until the core asks for one (Ready.snapshot). More than
   * one can wait: a later one the core ignores (old news) must not cost the file of the one it took.
   * Installing clears them all; one the core never asks for waits for the next install or start.
   */
  private readonly received = new Map<string, SnapshotFile>();
  private building: Promise<void> | null = null;
  /**
   * An install in progress on a worker's connection (install): the store's own writes (recording a
   * snapshot it built, compacting the log) must not run meanwhile, and what it built is superseded.
   */
  private installing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private tmpSeq = 0;
  /** Set when the recorded snapshot's file is missing: build one even without new entries. */
  private rebuild = false;
  /** Data bytes of the log entries in (latest snapshot's index, upTo], counted as they are applied. */
  private logBytes = { upTo: 0, bytes: 0 };
  private readonly sumBytesStmt: Statement<[number, number]>;
  private readonly tailStmt: Statement<[number, number]>;

  constructor(private readonly o: SnapshotStoreOptions) {
    this.dir = join(o.dataDir, 'snapshots');
    mkdirSync(this.dir, { recursive: true });
    this.sumBytesStmt = o.db.prepare('SELECT COALESCE(SUM(length(data)), 0) AS n FROM log WHERE idx > ? AND idx <= ?');
    this.tailStmt = o.db.prepare('SELECT idx, length(data) AS n FROM log WHERE idx > ? AND idx <= ? ORDER BY idx DESC');
    const r = o.db.prepare('SELECT idx, term, voters, learners, file, bytes, sha256 FROM snapshot_state WHERE id = 0').get() as
      | { idx: number; term: number; voters: string; learners: string; file: string; bytes: number; sha256: string }
      | undefined;
    if (r !== undefined) {
      const meta = {
        index: r.idx,
        term: r.term,
        conf: { voters: JSON.parse(r.voters) as string[], learners: JSON.parse(r.learners) as string[] },
      };
      this.current = { meta, path: join(this.dir, r.file), bytes: r.bytes, sha256: r.sha256 };
      o.log.setSnapshotMeta(meta);
      if (!existsSync(this.current.path)) {
        o.logger.warn('the latest snapshot file is missing; building a new one', { file: r.file, index: r.idx });
        this.rebuild = true;
      }
    }
    // Whatever else is here is left from an interrupted build or transfer.
    for (const f of readdirSync(this.dir)) {
      if (join(this.dir, f) !== this.current?.path) rmSync(join(this.dir, f), { force: true });
    }
  }

  /** The latest snapshot (null: none yet). */
  latest(): SnapshotFile | null {
    return this.current;
  }

  start(): void {
    this.timer = setInterval(() => void this.maybeSnapshot(), CHECK_EVERY_MS);
    this.timer.unref();
  }

  /** Takes a snapshot if enough entries or bytes were applied since the last one (or its file is missing). */
  maybeSnapshot(): Promise<void> | null {
    if (this.closed || this.building !== null) return this.building;
    if (this.installing !== null) return null;
    const since = this.o.appliedIndex() - (this.current?.meta.index ?? 0);
    const bytes = this.bytesSinceSnapshot();
    const trigger = this.rebuild ? 'rebuild' : since >= this.o.policy.entries ? 'entries' : bytes >= this.o.policy.bytes ? 'bytes' : null;
    if (trigger === null) return null;
    const b = this.snapshotNow({ trigger, entries: since, logBytes: bytes }).finally(() => {
      this.building = null;
    });
    this.building = b;
    return b;
  }

  /** Builds a snapshot in a worker thread, then records it and compacts the log. */
  private async snapshotNow(why: { trigger: string; entries: number; logBytes: number }): Promise<void> {
    const t0 = Date.now();
    const tmp = this.tempPath('build');
    let built: BuiltSnapshot | null;
    try {
      built = await this.runWorker(tmp);
    } catch (e) {
      rmSync(tmp, { force: true });
      this.o.logger.error('snapshot failed', { error: (e as Error).message });
      return;
    }
    // An install started meanwhile: it replaces what was built (the core installs only snapshots past
    // the commit index, which the build cannot have passed), and its worker holds the write lock.
    if (built === null || this.closed || this.installing !== null) {
      rmSync(tmp, { force: true });
      return;
    }
    const cur = this.current;
    if (cur !== null && (built.meta.index < cur.meta.index || (built.meta.index === cur.meta.index && !this.rebuild))) {
      rmSync(tmp, { force: true }); // nothing new, or a snapshot from the leader overtook it
      return;
    }
    const file = this.adopt(tmp, built.meta, built.bytes, built.sha256, (m) => this.compactFor(m));
    this.rebuild = false;
    this.o.logger.info('snapshot taken', {
      ...why,
      index: built.meta.index,
      term: built.meta.term,
      keys: built.keys,
      bytes: built.bytes,
      ms: Date.now() - t0,
      firstLogIndex: this.o.log.firstIndex(),
      file: file.path,
    });
  }

  private runWorker(outPath: string): Promise<BuiltSnapshot | null> {
    return runWorker<BuiltSnapshot | null>('snapshot-worker.js', { dbPath: this.dbPath(), outPath });
  }

  private dbPath(): string {
    return join(this.o.dataDir, 'raftkv.db');
  }

  /**
   * Builds a snapshot of the state machine as of now into a new temp file that the caller owns and
   * removes (etcd's Maintenance.Snapshot streams it). null: nothing to snapshot yet.
   */
  async exportSnapshot(): Promise<{ readonly path: string; readonly built: BuiltSnapshot } | null> {
    const path = this.tempPath('export');
    try {
      const built = await this.runWorker(path);
      if (built === null) rmSync(path, { force: true });
      return built === null ? null : { path, built };
    } catch (e) {
      rmSync(path, { force: true });
      throw e;
    }
  }

  /**
   * Compacts the log once a snapshot at `meta.index` exists, keeping a catch-up tail of at most
   * --snapshot-catchup-entries entries and --snapshot-bytes bytes (big entries must not keep the log big).
   */
  private compactFor(meta: SnapshotMeta): void {
    let to = Math.min(meta.index - this.o.policy.catchupEntries, this.o.log.lastIndex());
    let kept = 0;
    for (const r of this.tailStmt.iterate(Math.max(to, 0), Math.min(meta.index, this.o.log.lastIndex())) as IterableIterator<{
      idx: number;
      n: number;
    }>) {
      kept += r.n;
      if (kept > this.o.policy.bytes) {
        to = r.idx;
        break;
      }
    }
    if (to >= this.o.log.firstIndex()) this.o.log.compact(to);
  }

  /** Data bytes of the entries applied past the latest snapshot (reads only the rows applied since the last call). */
  private bytesSinceSnapshot(): number {
    const base = this.current?.meta.index ?? 0;
    const applied = this.o.appliedIndex();
    if (this.logBytes.upTo < base) this.logBytes = { upTo: base, bytes: 0 };
    if (applied > this.logBytes.upTo) {
      this.logBytes = { upTo: applied, bytes: this.logBytes.bytes + this.sumBytes(this.logBytes.upTo, applied) };
    }
    return this.logBytes.bytes;
  }

  private sumBytes(after: number, upTo: number): number {
    return (this.sumBytesStmt.get(after, upTo) as { n: number }).n;
  }

  /**
   * Makes `tmp` the current snapshot: renamed into place, then recorded together with `inTx` (the log
   * compaction) in one transaction. The previous file goes once unused.
   */
  private adopt(tmp: string, meta: SnapshotMeta, bytes: number, sha256: string, inTx: (meta: SnapshotMeta) => void): SnapshotFile {
    const path = this.snapPath(meta);
    if (tmp !== path) {
      renameSync(tmp, path);
      fsyncDir(this.dir);
    }
    this.o.db.transaction(() => {
      recordSnapshotState(this.o.db, { meta, file: basename(path), bytes, sha256 });
      inTx(meta);
    })();
    return this.recorded(path, meta, bytes, sha256);
  }

  /** The snapshot_state row now names `path`: it is the current snapshot; the previous file goes once unused. */
  private recorded(path: string, meta: SnapshotMeta, bytes: number, sha256: string): SnapshotFile {
    const prev = this.current;
    this.current = { meta, path, bytes, sha256 };
    this.o.log.setSnapshotMeta(meta);
    const upTo = this.logBytes.upTo;
    this.logBytes = upTo > meta.index ? { upTo, bytes: this.sumBytes(meta.index, upTo) } : { upTo: meta.index, bytes: 0 };
    if (prev !== null && prev.path !== path) this.retire(prev.path);
    return this.current;
  }

  private snapPath(meta: SnapshotMeta): string {
    return join(this.dir, `snap-${meta.index}-${meta.term}.db`);
  }

  // ---- sending ----

  /** The current snapshot, kept on disk until released (null: none). */
  acquire(): SnapshotLease | null {
    const file = this.current;
    if (file === null || this.rebuild) return null;
    this.leases.set(file.path, (this.leases.get(file.path) ?? 0) + 1);
    let released = false;
    return {
      file,
      release: () => {
        if (released) return;
        released = true;
        const n = (this.leases.get(file.path) ?? 1) - 1;
        if (n > 0) this.leases.set(file.path, n);
        else {
          this.leases.delete(file.path);
          if (this.superseded.delete(file.path)) rmSync(file.path, { force: true });
        }
      },
    };
  }

  private retire(path: string): void {
    if (this.leases.has(path)) this.superseded.add(path);
    else rmSync(path, { force: true });
  }

  // ---- receiving and installing ----

  /** A fresh path for a file being written (removed at the next start if never finished). */
  tempPath(what: string): string {
    return join(this.dir, `${what}-${process.pid}-${++this.tmpSeq}.tmp`);
  }

  /** A snapshot arrived whole and verified at `tmp`: keep it until the core asks to install it. */
  keepReceived(tmp: string, meta: SnapshotMeta, bytes: number, sha256: string): void {
    const path = join(this.dir, `recv-${meta.index}-${meta.term}-${++this.tmpSeq}.db`);
    renameSync(tmp, path);
    const key = receivedKey(meta);
    const prev = this.received.get(key); // the same snapshot again (a retry): keep one
    if (prev !== undefined) rmSync(prev.path, { force: true });
    this.received.set(key, { meta, path, bytes, sha256 });
  }

  /**
   * Ready.snapshot: replace the state machine (every state table of schema.ts, the applied index) and the whole
   * log with the received snapshot, in one durable transaction, and make it this node's snapshot. The
   * copy runs on a worker thread with its own connection (install-worker.ts), committed with SQLite's
   * own fsync whatever the Ready's is; meanwhile the caller must not write to the database (the driver
   * holds its Readies) and this store does not. Then the log's in-memory state catches up.
   */
  install(meta: SnapshotMeta): Promise<void> {
    if (this.installing !== null)
      return Promise.reject(new Error(`asked to install snapshot ${meta.index}@${meta.term} during another install`));
    const p = this.installNow(meta).finally(() => {
      this.installing = null;
    });
    this.installing = p;
    return p;
  }

  private async installNow(meta: SnapshotMeta): Promise<void> {
    const r = this.received.get(receivedKey(meta));
    if (r === undefined || !sameMeta(r.meta, meta)) {
      throw new Error(
        `asked to install snapshot ${meta.index}@${meta.term}, which was not received (have ${[...this.received.keys()].join(', ') || 'none'})`,
      );
    }
    // The core installs the latest snapshot it took: any other received one is superseded or was ignored.
    for (const other of this.received.values()) if (other !== r) rmSync(other.path, { force: true });
    this.received.clear();
    const t0 = Date.now();
    const path = this.snapPath(meta);
    if (path === this.current?.path) this.retire(path); // (never expected: the core installs only newer snapshots)
    renameSync(r.path, path);
    fsyncDir(this.dir); // the name the snapshot_state row will hold
    const job: InstallJob = {
      dbPath: this.dbPath(),
      snapPath: path,
      record: { meta, file: basename(path), bytes: r.bytes, sha256: r.sha256 },
    };
    await runWorker<null>('install-worker.js', job);
    const file = this.recorded(path, meta, r.bytes, r.sha256);
    this.o.log.restartAt(meta.index, meta.term);
    this.o.logger.info('installed a snapshot from the leader', {
      index: meta.index,
      term: meta.term,
      bytes: file.bytes,
      ms: Date.now() - t0,
    });
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
  }

  /** Resolves when a snapshot being built has finished (tests, shutdown). */
  async idle(): Promise<void> {
    await this.building;
  }

  /** Resolves when an install in progress has finished (shutdown); its failure is the driver's to report. */
  async installDone(): Promise<void> {
    await this.installing?.catch(() => undefined);
  }
}

const receivedKey = (meta: SnapshotMeta): string => `${meta.index}@${meta.term}`;

/** fsyncs a directory, so a rename or a new file in it survives power loss. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
