// The replicated KV state machine over SQLite. Applying is deterministic: every node applies the same
// committed entries in the same order and reaches the same state, sessions included. The caller runs
// `apply` inside the same transaction that persists the Ready (ready-store.ts), so the KV state, the
// sessions, the membership and the applied index always move together. A conf-change entry is
// applied by the membership and comes back as an outcome carrying the new configuration, which the
// driver hands to the core.
import type { ConfState, Entry } from '@raftkv/consensus';
import { ProposeRequest, ProposeResponse } from '@raftkv/proto';
import type { Statement } from 'better-sqlite3';
import { createHash } from 'node:crypto';
import type { Db } from './db.js';
import { InvalidArgumentError, type RaftkvError } from '../errors.js';
import { validatePropose } from './validation.js';

/** The outcome of one applied entry: for the proposal waiting on it (if any), or for the core. */
export type ApplyOutcome =
  | { readonly ok: true; readonly response: ProposeResponse }
  | { readonly ok: false; readonly error: RaftkvError }
  | ConfApplied
  | null; // a no-op, or a conf-change entry that changed nothing

/** A conf-change entry changed the membership: the core must adopt `conf` (RaftNode.applyConf). */
export interface ConfApplied {
  readonly ok: null;
  readonly conf: ConfState;
}

/** Applies a committed conf-change entry (membership.ts); null: it changes nothing. */
export interface ConfApplier {
  applyEntry(e: Entry): ConfState | null;
}

export interface SessionPolicy {
  /** A session answer is kept until this many more entries have been applied. */
  readonly retainEntries: number;
  /** Expired sessions are swept whenever the applied index crosses a multiple of this. */
  readonly sweepEvery: number;
}

export const DEFAULT_SESSION_POLICY: SessionPolicy = { retainEntries: 1_000_000, sweepEvery: 1024 };

export interface Digest {
  readonly appliedIndex: number;
  readonly digest: string;
  readonly keyCount: number;
}

const EMPTY = Buffer.alloc(0);

export class KvStateMachine {
  private applied = 0;
  private appliedTermValue = 0;
  private readonly getStmt: Statement<[string]>;
  private readonly putStmt: Statement<[string, Uint8Array]>;
  private readonly delStmt: Statement<[string]>;
  private readonly sessionGetStmt: Statement<[string, number]>;
  private readonly sessionPutStmt: Statement<[string, number, Uint8Array, number]>;
  private readonly sessionSweepStmt: Statement<[number]>;
  private readonly metaStmt: Statement<[number, number]>;

  constructor(
    private readonly db: Db,
    private readonly sessions: SessionPolicy = DEFAULT_SESSION_POLICY,
    /** Applies conf-change entries inside the same transaction; null: they change nothing here. */
    private readonly members: ConfApplier | null = null,
  ) {
    this.getStmt = db.prepare('SELECT value FROM kv WHERE key = ?').pluck();
    this.putStmt = db.prepare('INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
    this.delStmt = db.prepare('DELETE FROM kv WHERE key = ?');
    this.sessionGetStmt = db.prepare('SELECT response FROM sessions WHERE client_id = ? AND sequence = ?').pluck();
    this.sessionPutStmt = db.prepare('INSERT OR REPLACE INTO sessions (client_id, sequence, response, applied_index) VALUES (?, ?, ?, ?)');
    this.sessionSweepStmt = db.prepare('DELETE FROM sessions WHERE applied_index <= ?');
    this.metaStmt = db.prepare('UPDATE meta SET applied_index = ?, applied_term = ? WHERE id = 0');
    this.reload();
  }

  /** Re-reads the applied index and term (at start, and after a snapshot replaced the state). */
  reload(): void {
    const m = this.db.prepare('SELECT applied_index, applied_term FROM meta WHERE id = 0').get() as { applied_index: number; applied_term: number };
    this.applied = m.applied_index;
    this.appliedTermValue = m.applied_term;
  }

  appliedIndex(): number {
    return this.applied;
  }
  appliedTerm(): number {
    return this.appliedTermValue;
  }

  /**
   * Applies committed entries in order and records the applied index. Entries at or below the applied
   * index (replayed after a restart) are skipped and yield no outcome. Must run inside a transaction.
   * outcomes[i] belongs to entries[i].
   */
  apply(entries: readonly Entry[]): ApplyOutcome[] {
    const outcomes: ApplyOutcome[] = new Array<ApplyOutcome>(entries.length);
    let last: Entry | undefined;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      if (e.index <= this.applied) {
        outcomes[i] = null;
        continue;
      }
      if (e.index !== this.applied + 1) throw new Error(`apply: entry ${e.index} does not follow applied index ${this.applied}`);
      outcomes[i] = e.type === 'conf-change' ? this.applyConf(e) : e.data.length > 0 ? this.applyCommand(e) : null;
      this.applied = e.index;
      this.appliedTermValue = e.term;
      last = e;
      if (e.index % this.sessions.sweepEvery === 0 && e.index > this.sessions.retainEntries) {
        this.sessionSweepStmt.run(e.index - this.sessions.retainEntries);
      }
    }
    if (last !== undefined) this.metaStmt.run(last.index, last.term);
    return outcomes;
  }

  private applyConf(e: Entry): ApplyOutcome {
    const conf = this.members?.applyEntry(e) ?? null;
    return conf === null ? null : { ok: null, conf };
  }

  private applyCommand(e: Entry): ApplyOutcome {
    let req: ProposeRequest;
    try {
      req = ProposeRequest.decode(e.data);
      validatePropose(req);
    } catch (err) {
      // Only a buggy or hostile proposer gets here; every node rejects the entry the same way.
      const msg = err instanceof InvalidArgumentError ? err.message : 'undecodable command';
      return { ok: false, error: new InvalidArgumentError(msg) };
    }
    const session = req.clientId !== '';
    if (session) {
      const prior = this.sessionGetStmt.get(req.clientId, req.sequence) as Buffer | undefined;
      if (prior !== undefined) return { ok: true, response: ProposeResponse.decode(prior) };
    }
    const response = this.execute(req, e);
    if (session) this.sessionPutStmt.run(req.clientId, req.sequence, ProposeResponse.encode(response).finish(), e.index);
    return { ok: true, response };
  }

  private execute(req: ProposeRequest, e: Entry): ProposeResponse {
    const c = req.command!;
    const base = { index: e.index, term: e.term, leaderId: '' };
    switch (c.$case) {
      case 'put': {
        const prev = this.getStmt.get(c.put.key) as Buffer | undefined;
        this.putStmt.run(c.put.key, c.put.value);
        return { succeeded: true, previousFound: prev !== undefined, previousValue: prev ?? EMPTY, ...base };
      }
      case 'delete': {
        const prev = this.getStmt.get(c.delete.key) as Buffer | undefined;
        if (prev !== undefined) this.delStmt.run(c.delete.key);
        return { succeeded: true, previousFound: prev !== undefined, previousValue: prev ?? EMPTY, ...base };
      }
      case 'compareAndSwap': {
        const cas = c.compareAndSwap;
        const cur = this.getStmt.get(cas.key) as Buffer | undefined;
        const holds = cas.expectAbsent ? cur === undefined : cur !== undefined && cur.equals(cas.expectedValue);
        if (holds) this.putStmt.run(cas.key, cas.newValue);
        return { succeeded: holds, previousFound: cur !== undefined, previousValue: cur ?? EMPTY, ...base };
      }
    }
  }

  /** The current value (a local, possibly stale read). */
  get(key: string): Buffer | undefined {
    return this.getStmt.get(key) as Buffer | undefined;
  }

  /** sha256 over every (key, value) in key order, length-prefixed; equal on nodes with equal state. */
  digest(): Digest {
    const h = createHash('sha256');
    const len = Buffer.alloc(4);
    let n = 0;
    const rows = this.db.prepare('SELECT key, CAST(key AS BLOB) AS k, value FROM kv ORDER BY key').raw().iterate() as IterableIterator<
      [string, Buffer, Buffer]
    >;
    for (const [, k, v] of rows) {
      len.writeUInt32BE(k.length);
      h.update(len).update(k);
      len.writeUInt32BE(v.length);
      h.update(len).update(v);
      n++;
    }
    return { appliedIndex: this.applied, digest: h.digest('hex'), keyCount: n };
  }
}
