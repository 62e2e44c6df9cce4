// The cluster membership as this node has applied it: every member's id, address and voter flag, in
// the `members` table (a state table of schema.ts), replaced atomically with the applied index whenever
// a conf-change entry is applied (inside the Ready's transaction, ready-store.ts) or a snapshot is
// installed. A conf-change entry carries the whole resulting membership with addresses
// (raftkv.v1.ConfChange), so a node that replays the log, or joins knowing no one, learns both the
// configuration and where each member is. Applying one returns the new ConfState, which the driver
// hands to the core (state-machine.ts returns it as the entry's outcome).
import { changeConf, type ConfChange as CoreConfChange, type ConfState, type Entry } from '@raftkv/consensus';
import { ConfChange, ConfChangeType, type ConfMember } from '@raftkv/proto';
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import type { Logger } from '../observability/logger.js';

export interface MemberInfo {
  readonly id: string;
  readonly address: string;
  readonly voter: boolean;
}

/** What a member published about itself (etcd's name and client URLs); absent until it has. */
export interface MemberAttrs {
  readonly name: string;
  readonly clientUrls: readonly string[];
}

const CC_TYPE: Record<CoreConfChange['type'], ConfChangeType> = {
  'add-learner': ConfChangeType.CONF_CHANGE_TYPE_ADD_LEARNER,
  'add-voter': ConfChangeType.CONF_CHANGE_TYPE_ADD_VOTER,
  remove: ConfChangeType.CONF_CHANGE_TYPE_REMOVE,
};

export class Membership {
  private list: MemberInfo[] = [];
  /**
   * id -> address of every member, plus this node and any address learned while joining. The same
   * Map object lives for the whole process: the router and status read it directly.
   */
  readonly addresses = new Map<string, string>();
  private readonly listeners: ((m: Membership) => void)[] = [];
  private readonly clearStmt: Statement<[]>;
  private readonly insertStmt: Statement<[string, string, number]>;
  private attrs = new Map<string, MemberAttrs>();

  constructor(
    private readonly db: Db,
    readonly self: string,
    private readonly selfAddress: string,
    private readonly logger: Logger,
  ) {
    this.clearStmt = db.prepare('DELETE FROM members');
    this.insertStmt = db.prepare('INSERT INTO members (id, address, voter) VALUES (?, ?, ?)');
    this.reload();
  }

  /** Re-reads the table (at start, and after a snapshot replaced it). */
  reload(): void {
    const rows = this.db.prepare('SELECT id, address, voter FROM members ORDER BY id').all() as {
      id: string;
      address: string;
      voter: number;
    }[];
    const attrs = this.db.prepare('SELECT id, name, client_urls FROM member_attributes').all() as {
      id: string;
      name: string;
      client_urls: string;
    }[];
    this.attrs = new Map(attrs.map((a) => [a.id, { name: a.name, clientUrls: JSON.parse(a.client_urls) as string[] }]));
    this.set(rows.map((r) => ({ id: r.id, address: r.address, voter: r.voter === 1 })));
  }

  /** First start of a node of the initial cluster: the --peers voters are the membership. */
  bootstrap(peers: ReadonlyMap<string, string>): void {
    if (this.list.length > 0) return;
    const members = [...peers].map(([id, address]) => ({ id, address, voter: true }));
    this.db.transaction(() => this.write(members))();
    this.set(members);
  }

  get known(): boolean {
    return this.list.length > 0;
  }
  /** This node knows a membership it is not part of: it was removed. */
  get removed(): boolean {
    return this.list.length > 0 && this.get(this.self) === undefined;
  }
  members(): readonly MemberInfo[] {
    return this.list;
  }
  get(id: string): MemberInfo | undefined {
    return this.list.find((m) => m.id === id);
  }
  /** What member `id` published about itself; undefined until it has. */
  attributes(id: string): MemberAttrs | undefined {
    return this.attrs.get(id);
  }

  /**
   * Applies a committed MemberAttributes command (inside the Ready's transaction). False: `id` is not
   * a member (it left before the entry committed): nothing is recorded, on every node alike.
   */
  applyAttributes(id: string, a: MemberAttrs): boolean {
    if (this.get(id) === undefined) return false;
    this.db
      .prepare('INSERT OR REPLACE INTO member_attributes (id, name, client_urls) VALUES (?, ?, ?)')
      .run(id, a.name, JSON.stringify(a.clientUrls));
    this.attrs.set(id, { name: a.name, clientUrls: [...a.clientUrls] });
    this.notify();
    return true;
  }

  /** Applies a committed MemberPeerUpdate (etcd's MemberUpdate). False: `id` is not a member. */
  applyPeerUpdate(id: string, address: string): boolean {
    const m = this.get(id);
    if (m === undefined) return false;
    this.db.prepare('UPDATE members SET address = ? WHERE id = ?').run(address, id);
    this.logger.info('member address changed', { nodeId: id, from: m.address, to: address });
    this.set(this.list.map((x) => (x.id === id ? { ...x, address } : x)));
    return true;
  }

  /** The membership as the core sees it; null before this node knows any. */
  confState(): ConfState | null {
    if (this.list.length === 0) return null;
    return { voters: this.list.filter((m) => m.voter).map((m) => m.id), learners: this.list.filter((m) => !m.voter).map((m) => m.id) };
  }

  /** Called after every change of the membership or of the known addresses (transport, router). */
  onChange(f: (m: Membership) => void): void {
    this.listeners.push(f);
  }

  /**
   * A joining node learns where the members are before it knows the membership (so it can answer the
   * leader); the log or a snapshot later brings the membership itself.
   */
  learnAddresses(members: readonly MemberInfo[]): void {
    let changed = false;
    for (const m of members) {
      if (m.id === this.self || this.addresses.get(m.id) === m.address) continue;
      this.addresses.set(m.id, m.address);
      changed = true;
    }
    if (changed) this.notify();
  }

  /**
   * The data of a conf-change entry for `cc` applied to the current membership: the change and the
   * whole resulting membership with addresses. Throws InvalidRequestError (changeConf) for a change
   * that changes nothing or leaves no voter.
   */
  encodeChange(cc: CoreConfChange, address: string): Uint8Array {
    const current = this.confState() ?? { voters: [], learners: [] };
    const next = changeConf(current, cc);
    const addressOf = (id: string): string =>
      id === cc.nodeId && address !== '' ? address : (this.get(id)?.address ?? this.addresses.get(id) ?? '');
    const members: ConfMember[] = [
      ...next.voters.map((id) => ({ id, address: addressOf(id), voter: true })),
      ...next.learners.map((id) => ({ id, address: addressOf(id), voter: false })),
    ];
    return ConfChange.encode({ type: CC_TYPE[cc.type], nodeId: cc.nodeId, address, members }).finish();
  }

  /**
   * Applies a committed conf-change entry: persists the membership it carries (the caller's
   * transaction makes it atomic with the applied index) and returns it for the core's applyConf.
   * An entry that does not decode to a valid membership changes nothing, on every node alike.
   */
  applyEntry(e: Entry): ConfState | null {
    let cc: ConfChange;
    try {
      cc = ConfChange.decode(e.data);
    } catch {
      this.logger.error('ignored an undecodable conf-change entry', { index: e.index });
      return null;
    }
    const members = cc.members.map((m) => ({ id: m.id, address: m.address, voter: m.voter }));
    const ids = new Set(members.map((m) => m.id));
    if (!members.some((m) => m.voter) || ids.size !== members.length || ids.has('')) {
      this.logger.error('ignored a conf-change entry with an invalid membership', { index: e.index });
      return null;
    }
    this.write(members);
    const wasMember = this.get(this.self) !== undefined;
    this.set(members);
    const me = this.get(this.self);
    this.logger.info('membership changed', {
      index: e.index,
      change: ConfChangeType[cc.type],
      nodeId: cc.nodeId,
      voters: members.filter((m) => m.voter).map((m) => m.id),
      learners: members.filter((m) => !m.voter).map((m) => m.id),
    });
    if (wasMember && me === undefined)
      this.logger.warn(
        'this node was removed from the cluster: it no longer votes or serves; stop it and clear its data dir before reusing the id',
      );
    return this.confState();
  }

  private write(members: readonly MemberInfo[]): void {
    this.clearStmt.run();
    for (const m of members) this.insertStmt.run(m.id, m.address, m.voter ? 1 : 0);
    this.db.prepare('DELETE FROM member_attributes WHERE id NOT IN (SELECT id FROM members)').run();
    for (const id of [...this.attrs.keys()]) if (!members.some((m) => m.id === id)) this.attrs.delete(id);
  }

  private set(members: MemberInfo[]): void {
    this.list = [...members].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    for (const id of [...this.addresses.keys()]) if (id !== this.self && !members.some((m) => m.id === id)) this.addresses.delete(id);
    for (const m of members) this.addresses.set(m.id, m.address);
    if (!this.addresses.has(this.self)) this.addresses.set(this.self, this.selfAddress);
    this.notify();
  }

  private notify(): void {
    for (const f of this.listeners) f(this);
  }
}
