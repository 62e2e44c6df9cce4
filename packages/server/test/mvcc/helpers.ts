// An MvccStore on a temporary SQLite file, request builders in etcdctl's terms, and etcdctl's `-w json` view.
import { prefixEnd } from '@raftkv/client';
import { etcdserverpb, type mvccpb } from '@raftkv/proto';
import { openDatabase, type Db } from '../../src/storage/db.js';
import { MvccStore, type MvccStoreOptions } from '../../src/storage/mvcc/store.js';
import { removeDir, tempDir } from '@raftkv/testkit';

export interface OpenStore {
  readonly store: MvccStore;
  readonly db: Db;
  close(): void;
}

export function openStore(options: MvccStoreOptions = {}): OpenStore {
  const dir = tempDir('raftkv-mvcc-');
  // The node's own database: every table from the schema module, the revision counters seeded.
  const db = openDatabase(dir);
  return {
    store: new MvccStore(db, options),
    db,
    close: () => {
      db.close();
      removeDir(dir);
    },
  };
}

export const b = (s: string): Buffer => Buffer.from(s, 'latin1');

type RangeOpts = Partial<Omit<etcdserverpb.RangeRequest, 'key'>> & { prefix?: boolean; fromKey?: boolean };

/** etcdctl get: `prefix` and `fromKey` as its flags (an empty key with either means every key). */
export function get(key: string, opts: RangeOpts = {}): etcdserverpb.RangeRequest {
  const { prefix, fromKey, ...rest } = opts;
  let k = b(key);
  let rangeEnd = rest.rangeEnd ?? Buffer.alloc(0);
  if ((prefix === true || fromKey === true) && k.length === 0) [k, rangeEnd] = [b('\0'), b('\0')];
  else if (prefix === true) rangeEnd = prefixEnd(k);
  else if (fromKey === true) rangeEnd = b('\0');
  return etcdserverpb.RangeRequest.fromPartial({ ...rest, key: k, rangeEnd });
}

export function put(key: string, value: string, opts: Partial<etcdserverpb.PutRequest> = {}): etcdserverpb.PutRequest {
  return etcdserverpb.PutRequest.fromPartial({ ...opts, key: b(key), value: b(value) });
}

export function del(key: string, opts: { prefix?: boolean; rangeEnd?: string; prevKv?: boolean } = {}): etcdserverpb.DeleteRangeRequest {
  const k = b(key);
  const rangeEnd = opts.prefix === true ? prefixEnd(k) : b(opts.rangeEnd ?? '');
  return etcdserverpb.DeleteRangeRequest.fromPartial({ key: k, rangeEnd, prevKv: opts.prevKv ?? false });
}

const T = etcdserverpb.Compare_CompareTarget;
const R = etcdserverpb.Compare_CompareResult;
const RESULT = { '=': R.EQUAL, '!=': R.NOT_EQUAL, '>': R.GREATER, '<': R.LESS } as const;

/** etcdctl txn's compare line: cmp('mod', 'b', '=', 3) is `mod("b") = "3"`. */
export function cmp(
  target: 'value' | 'version' | 'create' | 'mod' | 'lease',
  key: string,
  op: keyof typeof RESULT,
  operand: string | number,
  rangeEnd = '',
): etcdserverpb.Compare {
  const base = { result: RESULT[op], key: b(key), rangeEnd: b(rangeEnd) };
  const n = Number(operand);
  switch (target) {
    case 'value':
      return { ...base, target: T.VALUE, targetUnion: { $case: 'value', value: b(String(operand)) } };
    case 'version':
      return { ...base, target: T.VERSION, targetUnion: { $case: 'version', version: n } };
    case 'create':
      return { ...base, target: T.CREATE, targetUnion: { $case: 'createRevision', createRevision: n } };
    case 'mod':
      return { ...base, target: T.MOD, targetUnion: { $case: 'modRevision', modRevision: n } };
    case 'lease':
      return { ...base, target: T.LEASE, targetUnion: { $case: 'lease', lease: n } };
  }
}

export const op = {
  get: (r: etcdserverpb.RangeRequest): etcdserverpb.RequestOp => ({ request: { $case: 'requestRange', requestRange: r } }),
  put: (r: etcdserverpb.PutRequest): etcdserverpb.RequestOp => ({ request: { $case: 'requestPut', requestPut: r } }),
  del: (r: etcdserverpb.DeleteRangeRequest): etcdserverpb.RequestOp => ({
    request: { $case: 'requestDeleteRange', requestDeleteRange: r },
  }),
  txn: (r: etcdserverpb.TxnRequest): etcdserverpb.RequestOp => ({ request: { $case: 'requestTxn', requestTxn: r } }),
};

export function txn(
  compare: etcdserverpb.Compare[],
  success: etcdserverpb.RequestOp[],
  failure: etcdserverpb.RequestOp[] = [],
): etcdserverpb.TxnRequest {
  return { compare, success, failure };
}

// etcdctl -w json prints the Go structs with encoding/json: zero fields left out, bytes in base64.
type Json = Record<string, unknown>;
const isZero = (v: unknown): boolean => v === 0 || v === false || v === undefined || (Array.isArray(v) && v.length === 0);
const omitZero = (o: Json): Json => Object.fromEntries(Object.entries(o).filter(([, v]) => !isZero(v)));

export function kvJson(kv: mvccpb.KeyValue): Json {
  return omitZero({
    key: kv.key.toString('base64'),
    create_revision: kv.createRevision,
    mod_revision: kv.modRevision,
    version: kv.version,
    value: kv.value.length === 0 ? undefined : kv.value.toString('base64'),
    lease: kv.lease,
  });
}

const headerJson = (h: etcdserverpb.ResponseHeader | undefined): Json => omitZero({ revision: h?.revision ?? 0 });

export function rangeJson(r: etcdserverpb.RangeResponse): Json {
  return omitZero({ header: headerJson(r.header), kvs: r.kvs.map(kvJson), more: r.more, count: r.count });
}
export function putJson(r: etcdserverpb.PutResponse): Json {
  return omitZero({ header: headerJson(r.header), prev_kv: r.prevKv === undefined ? undefined : kvJson(r.prevKv) });
}
export function delJson(r: etcdserverpb.DeleteRangeResponse): Json {
  return omitZero({ header: headerJson(r.header), deleted: r.deleted, prev_kvs: r.prevKvs.map(kvJson) });
}
export function txnJson(r: etcdserverpb.TxnResponse): Json {
  const responses = r.responses.map((o) => {
    const u = o.response;
    switch (u?.$case) {
      case 'responseRange':
        return { Response: { ResponseRange: rangeJson(u.responseRange) } };
      case 'responsePut':
        return { Response: { ResponsePut: putJson(u.responsePut) } };
      case 'responseDeleteRange':
        return { Response: { ResponseDeleteRange: delJson(u.responseDeleteRange) } };
      case 'responseTxn':
        return { Response: { ResponseTxn: txnJson(u.responseTxn) } };
      default:
        return {};
    }
  });
  return omitZero({ header: headerJson(r.header), succeeded: r.succeeded, responses });
}
