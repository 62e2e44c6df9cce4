// etcdctl's get/put/del arguments and flags turned into requests, as etcdctl 3.4 does it (getGetOp,
// getPutOp, getDelOp and clientv3's options), with its exit codes and error messages.
import { prefixEnd, type Partial3 } from '@raftkv/client';
import { etcdserverpb } from '@raftkv/proto';

/** etcdctl's exit codes (cobrautl). */
export const EXIT = { error: 1, badConnection: 2, invalidInput: 3, badFeature: 4, badArgs: 128 } as const;

/** A failure etcdctl reports as `Error: <message>` with its exit code. */
export class EtcdctlError extends Error {
  override readonly name = 'EtcdctlError';
  constructor(
    readonly exitCode: number,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The flags of etcdctl's get, put and del (raftctl takes them all; a txn request line, its command's). */
export const OP_FLAGS = {
  get: {
    prefix: { type: 'boolean' },
    'from-key': { type: 'boolean' },
    limit: { type: 'string' },
    rev: { type: 'string' },
    'keys-only': { type: 'boolean' },
    'count-only': { type: 'boolean' },
    'sort-by': { type: 'string' },
    order: { type: 'string' },
    consistency: { type: 'string' },
    'print-value-only': { type: 'boolean' },
  },
  put: {
    'prev-kv': { type: 'boolean' },
    'ignore-value': { type: 'boolean' },
    'ignore-lease': { type: 'boolean' },
    lease: { type: 'string' },
  },
  del: { prefix: { type: 'boolean' }, 'from-key': { type: 'boolean' }, 'prev-kv': { type: 'boolean' } },
} as const;

export interface KeyFlags {
  readonly prefix?: boolean | undefined;
  readonly 'from-key'?: boolean | undefined;
}
export interface GetFlags extends KeyFlags {
  readonly limit?: string | undefined;
  readonly rev?: string | undefined;
  readonly 'keys-only'?: boolean | undefined;
  readonly 'count-only'?: boolean | undefined;
  readonly 'sort-by'?: string | undefined;
  readonly order?: string | undefined;
  readonly consistency?: string | undefined;
}
export interface PutFlags {
  readonly 'prev-kv'?: boolean | undefined;
  readonly 'ignore-value'?: boolean | undefined;
  readonly 'ignore-lease'?: boolean | undefined;
  readonly lease?: string | undefined;
}
export interface DelFlags extends KeyFlags {
  readonly 'prev-kv'?: boolean | undefined;
}

/** Go's strconv.ParseInt(s, base, 64) as the flag package reports a bad value. */
function int(flag: string, s: string | undefined, base = 10): number {
  if (s === undefined) return 0;
  const ok = base === 16 ? /^[+-]?[0-9a-fA-F]+$/.test(s) : /^[+-]?\d+$/.test(s);
  const v = ok ? Number.parseInt(s, base) : NaN;
  if (!Number.isSafeInteger(v)) {
    throw new EtcdctlError(
      EXIT.badArgs,
      `invalid argument ${JSON.stringify(s)} for "--${flag}" flag: strconv.ParseInt: parsing ${JSON.stringify(s)}: invalid syntax`,
    );
  }
  return v;
}

/** The key and range end of `<key> [range_end]` with --prefix / --from-key. */
function keyRange(args: readonly string[], f: KeyFlags): { key: Buffer; rangeEnd: Buffer } {
  if (f.prefix && f['from-key'])
    throw new EtcdctlError(EXIT.badArgs, '`--prefix` and `--from-key` cannot be set at the same time, choose one');
  let key: Buffer = Buffer.from(args[0]!);
  let rangeEnd: Buffer = Buffer.alloc(0);
  if (args.length > 1) {
    if (f.prefix || f['from-key'])
      throw new EtcdctlError(EXIT.badArgs, 'too many arguments, only accept one argument when `--prefix` or `--from-key` is set');
    rangeEnd = Buffer.from(args[1]!);
  }
  if (f.prefix) {
    if (key.length === 0) [key, rangeEnd] = [Buffer.from([0]), Buffer.from([0])];
    else rangeEnd = prefixEnd(key);
  }
  if (f['from-key']) {
    if (key.length === 0) key = Buffer.from([0]);
    rangeEnd = Buffer.from([0]);
  }
  return { key, rangeEnd };
}

const SORT_ORDER: Record<string, etcdserverpb.RangeRequest_SortOrder> = {
  '': etcdserverpb.RangeRequest_SortOrder.NONE,
  ASCEND: etcdserverpb.RangeRequest_SortOrder.ASCEND,
  DESCEND: etcdserverpb.RangeRequest_SortOrder.DESCEND,
};
const SORT_TARGET: Record<string, etcdserverpb.RangeRequest_SortTarget> = {
  '': etcdserverpb.RangeRequest_SortTarget.KEY,
  CREATE: etcdserverpb.RangeRequest_SortTarget.CREATE,
  KEY: etcdserverpb.RangeRequest_SortTarget.KEY,
  MODIFY: etcdserverpb.RangeRequest_SortTarget.MOD,
  VALUE: etcdserverpb.RangeRequest_SortTarget.VALUE,
  VERSION: etcdserverpb.RangeRequest_SortTarget.VERSION,
};

export function getOp(args: readonly string[], f: GetFlags): Partial3<etcdserverpb.RangeRequest> {
  if (args.length === 0)
    throw new EtcdctlError(EXIT.badArgs, 'get command needs one argument as key and an optional argument as range_end');
  if (f.prefix && f['from-key'])
    throw new EtcdctlError(EXIT.badArgs, '`--prefix` and `--from-key` cannot be set at the same time, choose one');
  const consistency = f.consistency ?? 'l';
  if (consistency !== 'l' && consistency !== 's')
    throw new EtcdctlError(EXIT.badFeature, `unknown consistency flag ${JSON.stringify(consistency)}`);
  if (args.length > 1 && (f.prefix || f['from-key'])) {
    throw new EtcdctlError(EXIT.badArgs, 'too many arguments, only accept one argument when `--prefix` or `--from-key` is set');
  }
  const limit = int('limit', f.limit);
  const revision = int('rev', f.rev);
  let sortOrder = SORT_ORDER[(f.order ?? '').toUpperCase()];
  if (sortOrder === undefined) throw new EtcdctlError(EXIT.badFeature, `bad sort order ${f.order}`);
  const sortTarget = SORT_TARGET[(f['sort-by'] ?? '').toUpperCase()];
  if (sortTarget === undefined) throw new EtcdctlError(EXIT.badFeature, `bad sort target ${f['sort-by']}`);
  // clientv3.WithSort: ascending by key is what the server does anyway.
  if (sortTarget === etcdserverpb.RangeRequest_SortTarget.KEY && sortOrder === etcdserverpb.RangeRequest_SortOrder.ASCEND) {
    sortOrder = etcdserverpb.RangeRequest_SortOrder.NONE;
  }
  const { key, rangeEnd } = keyRange(args, f);
  return {
    key,
    rangeEnd,
    limit,
    revision: revision > 0 ? revision : 0,
    sortOrder,
    sortTarget,
    serializable: consistency === 's',
    keysOnly: f['keys-only'] === true,
    countOnly: f['count-only'] === true,
  };
}

/** `put <key> <value>`, or the value from standard input (`stdin`) when only the key is given. */
export function putOp(args: readonly string[], f: PutFlags, stdin: () => Buffer): Partial3<etcdserverpb.PutRequest> {
  const needs = 'put command needs 1 argument and input from stdin or 2 arguments';
  if (args.length === 0) throw new EtcdctlError(EXIT.badArgs, needs);
  if (f['ignore-value'] && args.length > 1)
    throw new EtcdctlError(EXIT.badArgs, "put command needs only 1 argument when 'ignore-value' is set");
  let value: Buffer = Buffer.alloc(0);
  if (!f['ignore-value']) {
    value = args.length > 1 ? Buffer.from(args[1]!) : stdin();
    if (args.length <= 1 && value.length === 0) throw new EtcdctlError(EXIT.badArgs, needs);
  }
  const lease = int('lease', f.lease ?? '0', 16);
  return {
    key: Buffer.from(args[0]!),
    value,
    lease,
    prevKv: f['prev-kv'] === true,
    ignoreValue: f['ignore-value'] === true,
    ignoreLease: f['ignore-lease'] === true,
  };
}

export function delOp(args: readonly string[], f: DelFlags): Partial3<etcdserverpb.DeleteRangeRequest> {
  if (args.length === 0 || args.length > 2)
    throw new EtcdctlError(EXIT.badArgs, 'del command needs one argument as key and an optional argument as range_end');
  const { key, rangeEnd } = keyRange(args, f);
  return { key, rangeEnd, prevKv: f['prev-kv'] === true };
}
