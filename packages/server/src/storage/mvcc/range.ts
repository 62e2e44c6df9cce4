// Range as etcd 3.4 answers it (etcdserver/apply.go Range + mvcc rangeKeys): `count` is every live key of
// the range at the revision, before the revision filters and the limit; the filters and the sort apply
// before the limit; `more` says the limit cut the answer. Memory is bounded by the limit: rows are read
// up to limit + 1, and counting is done by SQLite.
import { etcdserverpb, type mvccpb } from '@raftkv/proto';
import { CompactedError, FutureRevisionError, type ByteBudget } from './errors.js';
import { keyRange } from './key-range.js';
import { toKeyValue, type KvRow } from './kv-row.js';
import { rowBytes, type KvReader, type RevisionFilters, type SortColumn } from './reader.js';

const SortOrder = etcdserverpb.RangeRequest_SortOrder;
const SortTarget = etcdserverpb.RangeRequest_SortTarget;

const SORT_COLUMN: Record<etcdserverpb.RangeRequest_SortTarget, SortColumn> = {
  [SortTarget.KEY]: 'key',
  [SortTarget.VERSION]: 'version',
  [SortTarget.CREATE]: 'create_rev',
  [SortTarget.MOD]: 'main',
  [SortTarget.VALUE]: 'value',
  [SortTarget.UNRECOGNIZED]: 'key',
};

/** The revision a read at `requested` sees, or etcd's error (future is checked before compacted). */
export function readRevision(requested: number, current: number, compacted: number): number {
  if (requested > current) throw new FutureRevisionError();
  const rev = requested <= 0 ? current : requested;
  if (rev < compacted) throw new CompactedError();
  return rev;
}

/**
 * Answers `r` at the store's revision `current` (a Txn's read revision inside a Txn); the header carries
 * `current`, as etcd's does, whatever revision was read. With a `budget`, the rows read are charged to
 * it (a node's bound on one answer; never on the apply path, where every node must answer alike).
 */
export function range(
  reader: KvReader,
  r: etcdserverpb.RangeRequest,
  current: number,
  compacted: number,
  budget?: ByteBudget,
): etcdserverpb.RangeResponse {
  const rev = readRevision(r.revision, current, compacted);
  const kr = keyRange(r.key, r.rangeEnd);
  const header = { clusterId: 0, memberId: 0, revision: current, raftTerm: 0 };
  if (r.countOnly) return { header, kvs: [], more: false, count: reader.count(kr, rev) };

  const filters: RevisionFilters = {
    minMod: r.minModRevision,
    maxMod: r.maxModRevision,
    minCreate: r.minCreateRevision,
    maxCreate: r.maxCreateRevision,
  };
  const filtered = filters.minMod !== 0 || filters.maxMod !== 0 || filters.minCreate !== 0 || filters.maxCreate !== 0;
  // etcd sorts ascending when a target other than KEY is named without an order.
  const order = r.sortTarget !== SortTarget.KEY && r.sortOrder === SortOrder.NONE ? SortOrder.ASCEND : r.sortOrder;
  const descending = order === SortOrder.DESCEND;
  const column = order === SortOrder.NONE ? 'key' : SORT_COLUMN[r.sortTarget];
  const want = r.limit > 0 ? r.limit + 1 : 0; // one extra row tells `more`

  let rows: KvRow[];
  if (column === 'key' && !filtered) {
    rows = [];
    for (const row of reader.scan(kr, rev, descending)) {
      budget?.spend(rowBytes(row));
      rows.push(row);
      if (rows.length === want) break;
    }
  } else {
    rows = reader.sorted(kr, rev, column, descending, filters, want, budget);
  }
  const more = r.limit > 0 && rows.length > r.limit;
  if (more) rows = rows.slice(0, r.limit);
  // Without a cut or a filter, the rows are the whole range: no need to count it again.
  const count = more || filtered ? reader.count(kr, rev) : rows.length;
  const kvs: mvccpb.KeyValue[] = rows.map((row) => (r.keysOnly ? { ...toKeyValue(row), value: Buffer.alloc(0) } : toKeyValue(row)));
  return { header, kvs, more, count };
}
