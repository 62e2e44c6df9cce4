// The replicated state machine over SQLite: the MVCC store (mvcc/) that both raftkv.v1 and etcd's KV API
// act on, the client sessions of raftkv.v1, and the membership. Applying is deterministic: every node
// applies the same committed entries in the same order and reaches the same state, sessions included.
// The caller runs `apply` inside the same transaction that persists the Ready (ready-store.ts), so the
// store, the sessions, the membership and the applied index always move together. A conf-change entry
// is applied by the membership and comes back as an outcome carrying the new configuration, which the
// driver hands to the core.
import type { ConfState, Entry } from '@raftkv/consensus';
import { Command, ProposeResponse, type ClusterVersionSetRequest, type ProposeRequest } from '@raftkv/proto';
import type { Statement } from 'better-sqlite3';
import { createHash } from 'node:crypto';
import type { Db } from './db.js';
import { InvalidArgumentError, type RaftkvError } from '../errors.js';
import type { CommandResponse } from './command.js';
import { LeaseStore, type LeaseListener } from './lease-store.js';
import { AlarmStore } from './alarms.js';
import { EtcdError, NoSpaceError } from './mvcc/errors.js';
import { memberNotFound } from './member-errors.js';
import { MvccStore } from './mvcc/store.js';
import { costTxn } from './quota.js';
import { AuthStore } from './auth/auth-store.js';
import { authorizeCommand } from './auth/authorize.js';
import { ClusterVersionState } from './cluster-version-state.js';
import { validatePropose } from './validation.js';

/** The outcome of one applied entry: for the proposal waiting on it (if any), or for the core. */
export type ApplyOutcome =
  | { readonly ok: true; readonly response: CommandResponse }
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
  /** Member attributes and peer address updates (normal entries); false: no such member. */
  applyAttributes(id: string, a: { name: string; clientUrls: readonly string[] }): boolean;
  applyPeerUpdate(id: string, address: string): boolean;
}

export interface SessionPolicy {
  /** A session answer is kept until this many more entries have been applied. */
  readonly retainEntries: number;
  /** Expired sessions are swept whenever the applied index crosses a multiple of this. */
  readonly sweepEvery: number;
}

export const DEFAULT_SESSION_POLICY: SessionPolicy = { retainEntries: 1_000_000, sweepEvery: 1024 };

/**
 * A session keeps what a retry needs (the outcome, index and term) and a previous value only up to this
 * size, so a row stays small whatever the values: the table is bounded in bytes, not just in rows.
 */
export const SESSION_VALUE_BYTES = 128;

export interface Digest {
  readonly appliedIndex: number;
  readonly digest: string;
  readonly keyCount: number;
}

const EMPTY = Buffer.alloc(0);
const utf8 = (key: string): Buffer => Buffer.from(key, 'utf8');

export class KvStateMachine {
  private applied = 0;
  private appliedTermValue = 0;
  /** The key-value state, for reads too (etcd's Range, raftkv.v1's Read). */
  readonly store: MvccStore;
  /** etcd's leases (the granted ones; expiry is the leader lessor's). */
  readonly leases: LeaseStore;
  /** etcd's users, roles and permissions (auth/). */
  readonly auth: AuthStore;
  /** The replicated cluster version (node/cluster-version.ts decides it). */
  readonly clusterVersion: ClusterVersionState;
  /** etcd's alarms; a NOSPACE alarm caps the writes that grow the store. */
  readonly alarms: AlarmStore;
  private readonly sessionGetStmt: Statement<[string, number]>;
  private readonly sessionPutStmt: Statement<[string, number, Uint8Array, number]>;
  private readonly sessionSweepStmt: Statement<[number]>;
  private readonly metaStmt: Statement<[number, number]>;

  constructor(
    private readonly db: Db,
    private readonly sessions: SessionPolicy = DEFAULT_SESSION_POLICY,
    /** Applies conf-change entries inside the same transaction; null: they change nothing here. */
    private readonly members: ConfApplier | null = null,
    /** Told of applied lease grants and revokes (the node's lessor). */
    leaseListener: LeaseListener | null = null,
  ) {
    this.leases = new LeaseStore(db, leaseListener);
    this.store = new MvccStore(db, { leaseExists: (id) => this.leases.exists(id) });
    this.auth = new AuthStore(db);
    this.clusterVersion = new ClusterVersionState(db);
    this.alarms = new AlarmStore(db);
    this.sessionGetStmt = db.prepare('SELECT response FROM sessions WHERE client_id = ? AND sequence = ?').pluck();
    this.sessionPutStmt = db.prepare('INSERT OR REPLACE INTO sessions (client_id, sequence, response, applied_index) VALUES (?, ?, ?, ?)');
    this.sessionSweepStmt = db.prepare('DELETE FROM sessions WHERE applied_index <= ?');
    this.metaStmt = db.prepare('UPDATE meta SET applied_index = ?, applied_term = ? WHERE id = 0');
    this.reload();
  }

  /** Re-reads the applied index and term (at start, and after a snapshot replaced the state). */
  reload(): void {
    const m = this.db.prepare('SELECT applied_index, applied_term FROM meta WHERE id = 0').get() as {
      applied_index: number;
      applied_term: number;
    };
    this.applied = m.applied_index;
    this.appliedTermValue = m.applied_term;
    this.store.reload();
    this.leases.reload();
    this.auth.reload();
    this.clusterVersion.reload();
    this.alarms.reload();
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
    let cmd: Command;
    try {
      cmd = Command.decode(e.data);
    } catch {
      // Only a buggy or hostile proposer gets here; every node rejects the entry the same way.
      return { ok: false, error: new InvalidArgumentError('undecodable command') };
    }
    // With auth enabled, the proposer's user must be allowed this command by the auth state of now.
    const denied = this.etcd(() => {
      authorizeCommand(this.auth, cmd, (lease) => this.store.keysOfLease(lease));
      return { $case: 'auth', auth: { revision: this.auth.revision } };
    });
    if (denied?.ok === false) return denied;
    const r = cmd.request;
    const auth = (f: () => void): ApplyOutcome =>
      this.etcd(() => {
        f();
        return { $case: 'auth', auth: { revision: this.auth.revision } };
      });
    switch (r?.$case) {
      case 'propose':
        return this.applyPropose(r.propose, e);
      case 'put':
        return this.etcd(() => ({ $case: 'put', put: this.uncapped(1) && this.store.put(r.put) }));
      case 'deleteRange':
        return this.etcd(() => ({ $case: 'deleteRange', deleteRange: this.store.deleteRange(r.deleteRange) }));
      case 'txn':
        return this.etcd(() => ({ $case: 'txn', txn: this.uncapped(costTxn(r.txn)) && this.store.txn(r.txn) }));
      case 'compaction':
        return this.etcd(() => ({ $case: 'compaction', compaction: this.store.compact(r.compaction) }));
      case 'memberAttributes': {
        const a = r.memberAttributes;
        const found = this.members?.applyAttributes(a.id, { name: a.name, clientUrls: a.clientUrls }) ?? false;
        return found ? { ok: true, response: { $case: 'memberAttributes', memberAttributes: {} } } : { ok: false, error: memberNotFound() };
      }
      case 'memberPeerUpdate': {
        const found = this.members?.applyPeerUpdate(r.memberPeerUpdate.id, r.memberPeerUpdate.address) ?? false;
        return found ? { ok: true, response: { $case: 'memberPeerUpdate', memberPeerUpdate: {} } } : { ok: false, error: memberNotFound() };
      }
      case 'leaseGrant':
        // etcd's capped applier refuses grants too while NOSPACE is raised (a lease is stored state).
        return this.etcd(() => ({ $case: 'leaseGrant', leaseGrant: this.uncapped(1) && this.leases.grant(r.leaseGrant, this.store) }));
      case 'leaseRevoke':
        return this.etcd(() => ({ $case: 'leaseRevoke', leaseRevoke: this.leases.revoke(r.leaseRevoke, this.store) }));
      case 'authEnable':
        return auth(() => this.auth.enable(r.authEnable.tokenKey));
      case 'authDisable':
        return auth(() => this.auth.disable());
      case 'userAdd':
        return auth(() => this.auth.userAdd(r.userAdd.name, r.userAdd.passwordHash, r.userAdd.noPassword));
      case 'userDelete':
        return auth(() => this.auth.userDelete(r.userDelete.name));
      case 'userChangePassword':
        return auth(() => this.auth.changePassword(r.userChangePassword.name, r.userChangePassword.passwordHash));
      case 'userGrantRole':
        return auth(() => this.auth.grantRole(r.userGrantRole.user, r.userGrantRole.role));
      case 'userRevokeRole':
        return auth(() => this.auth.revokeRole(r.userRevokeRole.name, r.userRevokeRole.role));
      case 'roleAdd':
        return auth(() => this.auth.roleAdd(r.roleAdd.name));
      case 'roleDelete':
        return auth(() => this.auth.roleDelete(r.roleDelete.role));
      case 'roleGrantPermission':
        return auth(() => this.auth.grantPermission(r.roleGrantPermission));
      case 'roleRevokePermission':
        return auth(() => this.auth.revokePermission(r.roleRevokePermission));
      case 'clusterVersionSet':
        return this.clusterVersionSet(r.clusterVersionSet);
      case 'alarm':
        return { ok: true, response: { $case: 'alarm', alarm: { header: undefined, alarms: this.alarms.apply(r.alarm) } } };
      default:
        return { ok: false, error: new InvalidArgumentError('empty command') };
    }
  }

  /** etcd's applierV3Capped: under a NOSPACE alarm a write that costs anything is refused on every node. */
  private uncapped(cost: number): true {
    if (cost > 0 && this.alarms.capped) throw new NoSpaceError();
    return true;
  }

  /**
   * An etcd request: its refusals (etcd's errors: a compacted revision, a missing key for ignore_value...)
   * depend only on the state, so every node refuses alike, and the store's own transaction has rolled
   * the request back. Anything else (the disk) is not the request's fault: it propagates.
   */
  private etcd(f: () => CommandResponse): ApplyOutcome {
    try {
      return { ok: true, response: f() };
    } catch (err) {
      if (err instanceof EtcdError) return { ok: false, error: err };
      throw err;
    }
  }

  private clusterVersionSet(req: ClusterVersionSetRequest): ApplyOutcome {
    try {
      return { ok: true, response: { $case: 'clusterVersionSet', clusterVersionSet: this.clusterVersion.apply(req) } };
    } catch (err) {
      if (err instanceof InvalidArgumentError) return { ok: false, error: err };
      throw err;
    }
  }

  private applyPropose(req: ProposeRequest, e: Entry): ApplyOutcome {
    try {
      validatePropose(req);
    } catch (err) {
      const msg = err instanceof InvalidArgumentError ? err.message : 'invalid command';
      return { ok: false, error: new InvalidArgumentError(msg) };
    }
    const session = req.clientId !== '';
    if (session) {
      const prior = this.sessionGetStmt.get(req.clientId, req.sequence) as Buffer | undefined;
      if (prior !== undefined) return { ok: true, response: { $case: 'propose', propose: ProposeResponse.decode(prior) } };
    }
    // A refusal is not remembered: the same sequence may be retried once the alarm is disarmed.
    if (req.command?.$case !== 'delete' && this.alarms.capped) return { ok: false, error: new NoSpaceError() };
    const response = this.execute(req, e);
    if (session) this.sessionPutStmt.run(req.clientId, req.sequence, ProposeResponse.encode(forSession(response)).finish(), e.index);
    return { ok: true, response: { $case: 'propose', propose: response } };
  }

  /** raftkv.v1 on the MVCC store: a put is etcd's Put, a delete a DeleteRange of the key, a CAS a compare then a Put. */
  private execute(req: ProposeRequest, e: Entry): ProposeResponse {
    const c = req.command!;
    const base = { index: e.index, term: e.term, leaderId: '', previousValueOmitted: false };
    const answer = (succeeded: boolean, prev: Buffer | undefined): ProposeResponse => ({
      succeeded,
      previousFound: prev !== undefined,
      previousValue: prev ?? EMPTY,
      ...base,
    });
    switch (c.$case) {
      case 'put':
        return answer(true, this.store.putValue(utf8(c.put.key), c.put.value).previous);
      case 'delete':
        return answer(true, this.store.deleteKey(utf8(c.delete.key)).previous);
      case 'compareAndSwap': {
        const cas = c.compareAndSwap;
        const key = utf8(cas.key);
        const cur = this.store.value(key);
        const holds = cas.expectAbsent ? cur === undefined : cur !== undefined && cur.equals(cas.expectedValue);
        if (holds) this.store.putValue(key, cas.newValue);
        return answer(holds, cur);
      }
    }
  }

  /** The current value of a raftkv.v1 key (a local, possibly stale read). */
  get(key: string): Buffer | undefined {
    return this.store.value(utf8(key));
  }

  /**
   * sha256 over the MVCC store: its revision counters, then every row of its history in key order, each
   * column length-prefixed, then the leases by id; equal on nodes with equal state. keyCount: the live keys.
   * column length-prefixed, then the auth state; equal on nodes with equal state. keyCount: the live keys.
   */
  digest(): Digest {
    const h = createHash('sha256');
    const num = Buffer.alloc(8);
    const int = (n: number): void => {
      num.writeBigInt64BE(BigInt(n));
      h.update(num);
    };
    const bytes = (b: Buffer): void => {
      int(b.length);
      h.update(b);
    };
    const meta = this.db.prepare('SELECT current_rev, compact_rev FROM mvcc_meta WHERE id = 0').raw().get() as [number, number];
    int(meta[0]);
    int(meta[1]);
    const rows = this.db
      .prepare('SELECT key, main, sub, create_rev, version, lease, value, tombstone FROM mvcc_kv ORDER BY key, main, sub')
      .raw()
      .iterate() as IterableIterator<[Buffer, number, number, number, number, number, Buffer, number]>;
    for (const [key, main, sub, create, version, lease, value, tombstone] of rows) {
      bytes(key);
      for (const n of [main, sub, create, version, lease, tombstone]) int(n);
      bytes(value);
    }
    for (const l of this.leases.list()) {
      int(l.id);
      int(l.ttl);
    }
    this.auth.digestInto(h);
    // The cluster version once decided (a state that never had one hashes as before it existed).
    if (this.clusterVersion.get() !== '') bytes(Buffer.from(`cluster_version ${this.clusterVersion.get()}`));
    for (const a of this.alarms.get(0)) {
      int(a.memberID);
      int(a.alarm);
    }
    return { appliedIndex: this.applied, digest: h.digest('hex'), keyCount: this.store.liveKeys() };
  }
}

/** The answer a session keeps: a large previous value is left out, and the answer says so. */
function forSession(r: ProposeResponse): ProposeResponse {
  return r.previousValue.length <= SESSION_VALUE_BYTES ? r : { ...r, previousValue: EMPTY, previousValueOmitted: true };
}
