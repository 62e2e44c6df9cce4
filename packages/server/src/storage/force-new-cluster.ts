// --force-new-cluster (etcd's flag), the way out of a permanent loss of quorum: a surviving member's data
// dir becomes a one-member cluster that keeps everything it knew to be committed. As etcd does
// (etcdserver/raft.go restartAsStandaloneNode), the entries after its commit index are discarded (they
// may or may not have been committed by the lost majority: logged as possibly lost), and a conf-change
// entry making this node the only voter is appended at commit + 1 and marked committed, in one durable
// transaction with a marker row. The node then applies it like any conf change, elects itself and
// serves; others are added with --join / member add as usual. With the marker present the flag is a
// no-op (logged), so a flag left in a manifest cannot shrink the grown-back cluster again.
import { ConfChange, ConfChangeType } from '@raftkv/proto';
import { ConfigError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { withFullSync, type Db } from './db.js';
import type { SqliteLogStorage } from './log-storage.js';

export interface ForcedNewCluster {
  /** Index and term of the conf-change entry that made this node the only voter. */
  readonly index: number;
  readonly term: number;
  /** The members it removed. */
  readonly removed: readonly string[];
  /** Entries after the commit index that were discarded. */
  readonly discarded: number;
}

/** The recorded forcing of this data dir, or null. */
export function forcedNewCluster(db: Db): ForcedNewCluster | null {
  const r = db.prepare('SELECT idx, term, removed, discarded FROM forced_new_cluster WHERE id = 0').get() as
    | { idx: number; term: number; removed: string; discarded: number }
    | undefined;
  return r === undefined ? null : { index: r.idx, term: r.term, removed: JSON.parse(r.removed) as string[], discarded: r.discarded };
}

/**
 * Makes this data dir a one-member cluster of `self` at `address`, once. Runs before the core is built
 * from the log. Returns what it did, or null when it had been done before (nothing changes).
 */
export function forceNewCluster(o: {
  db: Db;
  log: SqliteLogStorage;
  self: string;
  address: string;
  logger: Logger;
}): ForcedNewCluster | null {
  const { db, log, logger } = o;
  const before = forcedNewCluster(db);
  if (before !== null) {
    logger.warn('--force-new-cluster ignored: this data dir was already forced into a new cluster; remove the flag', {
      index: before.index,
      removed: before.removed,
    });
    return null;
  }
  const hs = log.hardState();
  const members = latestMembers(db, hs.commit);
  if (members.length === 0) throw new ConfigError('--force-new-cluster', 'this data dir knows no cluster membership to force');
  if (!members.some((m) => m.id === o.self))
    throw new ConfigError('--force-new-cluster', `node ${o.self} is not a member of the cluster this data dir knows (it was removed)`);
  const removed = members.filter((m) => m.id !== o.self).map((m) => m.id);
  const last = log.lastIndex();
  const discarded = Math.max(0, last - hs.commit);
  const lostTerms = discarded > 0 ? { from: log.term(hs.commit + 1), to: log.term(last) } : null;
  const index = hs.commit + 1;
  const term = Math.max(hs.term, log.term(hs.commit));
  const data = ConfChange.encode({
    type: ConfChangeType.CONF_CHANGE_TYPE_REMOVE,
    nodeId: removed[0] ?? o.self,
    address: '',
    members: [{ id: o.self, address: o.address, voter: true }],
  }).finish();
  withFullSync(db, () =>
    db.transaction(() => {
      log.append([{ index, term, type: 'conf-change', data }]);
      log.setHardState({ term, vote: hs.vote, commit: index });
      db.prepare('INSERT INTO forced_new_cluster (id, idx, term, removed, discarded) VALUES (0, ?, ?, ?, ?)').run(
        index,
        term,
        JSON.stringify(removed),
        discarded,
      );
    })(),
  );
  if (discarded > 0)
    logger.warn("--force-new-cluster discarded the entries after this node's commit index: writes they held may be lost", {
      commitIndex: hs.commit,
      discardedEntries: discarded,
      discardedIndexes: `${hs.commit + 1}..${last}`,
      discardedTerms: lostTerms,
    });
  logger.warn('--force-new-cluster: this node is now the only member of its cluster; add the others back with --join / member add', {
    index,
    term,
    removedMembers: removed,
    keptThroughIndex: hs.commit,
  });
  return { index, term, removed, discarded };
}

/** The membership as of `commit`: a committed conf-change entry not applied yet, else the applied one. */
function latestMembers(db: Db, commit: number): { id: string; voter: boolean }[] {
  const applied = db.prepare('SELECT applied_index FROM meta WHERE id = 0').pluck().get() as number;
  const data = db
    .prepare('SELECT data FROM log WHERE type = 1 AND idx > ? AND idx <= ? ORDER BY idx DESC LIMIT 1')
    .pluck()
    .get(applied, commit) as Buffer | undefined;
  if (data !== undefined) {
    try {
      const cc = ConfChange.decode(data);
      if (cc.members.length > 0) return cc.members.map((m) => ({ id: m.id, voter: m.voter }));
    } catch {
      // an undecodable entry changed nothing when applied: the table below is the membership
    }
  }
  return (db.prepare('SELECT id, voter FROM members ORDER BY id').all() as { id: string; voter: number }[]).map((r) => ({
    id: r.id,
    voter: r.voter === 1,
  }));
}
