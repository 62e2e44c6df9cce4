// The Ready's durable write, behind the one interface the driver knows (ReadyStorage): persist the
// entries and hard state AND apply the committed entries in one SQLite transaction, committed without
// SQLite's fsync; then make it durable with one fsync of the WAL that runs off the event loop
// (wal-sync.ts). Installing a snapshot from the leader (Ready.snapshot) goes through here too.
import type { ConfState, HardState, Ready, SnapshotMeta } from '@raftkv/consensus';
import { commitSync, type CommitSync, type Db } from './db.js';
import type { SqliteLogStorage } from './log-storage.js';
import type { KvRow } from './mvcc/kv-row.js';
import type { ApplyOutcome, KvStateMachine } from './state-machine.js';
import type { Durability, SyncDone } from './wal-sync.js';

/** What a Ready's write produced: outcomes[i] belongs to rd.committedEntries[i]. */
export interface ReadyWritten {
  readonly outcomes: readonly ApplyOutcome[];
  /** The configurations adopted by applied conf-change entries, in log order: for the core's applyConf. */
  readonly confs: readonly ConfState[];
}

/** The node's storage as the driver sees it. */
export interface ReadyStorage {
  /** The hard state persisted so far. */
  hardState(): HardState;
  /** The state machine's applied index. */
  appliedIndex(): number;
  /**
   * Ready.snapshot: replace the state machine and the whole log with a snapshot received from the
   * leader, durably, off the event loop; resolves once done. Nothing else may be written meanwhile.
   */
  installSnapshot(meta: SnapshotMeta): Promise<void>;
  /** Steps 1 and 3 of the Ready, atomically; not durable until `sync` calls back. */
  write(rd: Ready): ReadyWritten;
  /** Makes everything written so far durable, off the event loop, then calls back. */
  sync(done: SyncDone): void;
}

export interface ReadyStoreDeps {
  /** The node's connection; Ready transactions commit on it with synchronous=OFF, made durable by `wal`. */
  readonly db: Db;
  /** fsyncs what the connection committed (the WAL), off the event loop. */
  readonly wal: Durability;
  readonly log: SqliteLogStorage;
  readonly sm: KvStateMachine;
  /**
   * Replaces the state machine and the log with a received snapshot (snapshot-store.ts) and reloads
   * whatever caches them (state machine, membership). Unset: no snapshot store is configured.
   */
  readonly installSnapshot?: (meta: SnapshotMeta) => Promise<void>;
  /**
   * Told the rows the Ready's applied writes inserted, in revision order, once its transaction has
   * committed (the watch hub); never for a transaction that rolled back. Unset: nobody watches.
   */
  readonly onChanges?: (rows: KvRow[]) => void;
}

const NOTHING: ReadyWritten = { outcomes: [], confs: [] };

export class ReadyStore implements ReadyStorage {
  private readonly commits: CommitSync;
  private readonly tx: (fn: () => void) => void;

  constructor(private readonly d: ReadyStoreDeps) {
    d.sm.store.changes.enabled = d.onChanges !== undefined;
    this.commits = commitSync(d.db);
    this.tx = d.db.transaction((fn: () => void) => fn());
  }

  hardState(): HardState {
    return this.d.log.hardState();
  }

  appliedIndex(): number {
    return this.d.sm.appliedIndex();
  }

  installSnapshot(meta: SnapshotMeta): Promise<void> {
    if (!this.d.installSnapshot) return Promise.reject(new Error('asked to install a snapshot, but no snapshot store is configured'));
    return this.d.installSnapshot(meta);
  }

  /**
   * Appends, stores the hard state and applies, in one transaction committed with synchronous=OFF:
   * the caller makes it durable (`sync`) when the Ready must be. One that only advances the commit
   * index and applies entries is not synced: a crash (kill -9) keeps it (the WAL is in the OS page
   * cache); a power loss may drop it, but then it drops together with its applied index and sessions
   * (one transaction, WAL order), and the entries are re-applied from the durable log. Nothing
   * acknowledged is lost: an answer is sent only for entries durable on a majority.
   */
  write(rd: Ready): ReadyWritten {
    if (rd.entries.length === 0 && rd.hardState === null && rd.committedEntries.length === 0) return NOTHING;
    let outcomes: ApplyOutcome[] = [];
    this.commits.off();
    try {
      this.tx(() => {
        if (rd.entries.length > 0) this.d.log.append(rd.entries);
        if (rd.hardState) this.d.log.setHardState(rd.hardState);
        if (rd.committedEntries.length > 0) outcomes = this.d.sm.apply(rd.committedEntries);
      });
    } catch (e) {
      this.d.sm.store.changes.drop();
      throw e;
    } finally {
      // Any other transaction on this connection (snapshots, membership) keeps SQLite's own fsync.
      this.commits.full();
    }
    if (this.d.onChanges !== undefined && rd.committedEntries.length > 0) {
      const rows = this.d.sm.store.changes.take();
      if (rows.length > 0) this.d.onChanges(rows);
    }
    const confs: ConfState[] = [];
    for (const o of outcomes) if (o !== null && o.ok === null) confs.push(o.conf);
    return { outcomes, confs };
  }

  sync(done: SyncDone): void {
    this.d.wal.sync(done);
  }
}
