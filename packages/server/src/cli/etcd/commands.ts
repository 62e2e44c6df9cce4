// raftctl's etcdctl commands: get, put, del, txn, compact, with etcdctl 3.4's flags, output (simple,
// json, fields; table fails as it does in etcdctl for KV responses), messages and exit codes.
import { isServiceError, type RaftkvClient, type TxnResponse } from '@raftkv/client';
import { etcdserverpb } from '@raftkv/proto';
import { runLeaseCommand, type LeaseFlags } from './lease-commands.js';
import { EXIT, EtcdctlError, delOp, getOp, putOp, type DelFlags, type GetFlags, type PutFlags } from './ops.js';
import { FORMATS, printerOf, type Format, type Write } from './printers.js';
import { parseTxnText } from './txn-text.js';
import { runAlarm } from './alarm.js';

export const ETCD_COMMANDS = ['get', 'put', 'del', 'txn', 'compact', 'lease', 'alarm'] as const;
export type EtcdCommand = (typeof ETCD_COMMANDS)[number];
export const isEtcdCommand = (c: string | undefined): c is EtcdCommand => (ETCD_COMMANDS as readonly (string | undefined)[]).includes(c);

export interface EtcdFlags extends GetFlags, PutFlags, DelFlags, LeaseFlags {
  readonly 'write-out'?: string | undefined;
  readonly hex?: boolean | undefined;
  readonly 'print-value-only'?: boolean | undefined;
  readonly interactive?: boolean | undefined;
  readonly physical?: boolean | undefined;
}

export interface EtcdIo {
  readonly out: Write;
  /** A line for standard error (etcdctl's "Error: ..."). */
  readonly err: (line: string) => void;
  /** All of standard input. */
  readonly stdin: () => Buffer;
}

/** Runs one command; the exit code etcdctl would give. `json`: raftctl's --json (txn: the request is JSON on stdin; others: -w json). */
export async function runEtcdCommand(
  cmd: EtcdCommand,
  args: readonly string[],
  f: EtcdFlags,
  json: boolean,
  client: RaftkvClient,
  io: EtcdIo,
): Promise<number> {
  return exitCodeOf(() => run(cmd, args, f, json, client, io), io);
}

/** 0 once `f` succeeds; etcdctl's "Error: ..." line and exit code when it fails as etcdctl would. */
export async function exitCodeOf(f: () => Promise<void>, io: Pick<EtcdIo, 'err'>): Promise<number> {
  try {
    await f();
    return 0;
  } catch (e) {
    if (e instanceof EtcdctlError) {
      io.err(`Error: ${e.message}`);
      return e.exitCode;
    }
    if (isServiceError(e)) {
      io.err(`Error: ${e.details}`);
      return EXIT.error;
    }
    throw e;
  }
}

async function run(
  cmd: EtcdCommand,
  args: readonly string[],
  f: EtcdFlags,
  json: boolean,
  client: RaftkvClient,
  io: EtcdIo,
): Promise<void> {
  const format = (f['write-out'] ?? (json && cmd !== 'txn' ? 'json' : 'simple')) as Format;
  if (!FORMATS.includes(format)) throw new EtcdctlError(EXIT.badFeature, 'unsupported output format');
  const printer = (valueOnly = false) => {
    if (format === 'table') throw new EtcdctlError(EXIT.badFeature, 'table not supported as output format');
    return printerOf(format, io.out, { hex: f.hex === true, valueOnly });
  };
  switch (cmd) {
    case 'lease':
      if (format !== 'simple') throw new EtcdctlError(EXIT.badFeature, `raftctl lease prints only etcdctl's simple format`);
      return runLeaseCommand(args, f, client, io.out);
    case 'get': {
      const r = await client.etcd.range(getOp(args, f));
      if (f['count-only'] && format !== 'fields') throw new EtcdctlError(EXIT.badArgs, '--count-only is only for `--write-out=fields`');
      if (f['print-value-only'] && format !== 'simple')
        throw new EtcdctlError(EXIT.badArgs, 'print-value-only is only for `--write-out=simple`');
      printer(f['print-value-only'] === true).get(r);
      return;
    }
    case 'put': {
      const r = await client.etcd.put(putOp(args, f, io.stdin));
      printer().put(r);
      return;
    }
    case 'del': {
      const r = await client.etcd.deleteRange(delOp(args, f));
      printer().del(r);
      return;
    }
    case 'txn': {
      if (args.length !== 0) throw new EtcdctlError(EXIT.badArgs, 'txn command does not accept argument');
      const req = json ? txnFromJson(io.stdin()) : parseTxnText(io.stdin().toString('utf8'), (s) => f.interactive && io.out(s + '\n'));
      const r: TxnResponse = await client.etcd.txn(req);
      printer().txn(r);
      return;
    }
    case 'alarm':
      return runAlarm(args, format, client, io.out);
    case 'compact': {
      if (args.length !== 1) throw new EtcdctlError(EXIT.badArgs, 'compaction command needs 1 argument');
      const rev = /^[+-]?\d+$/.test(args[0]!) ? Number(args[0]) : NaN;
      if (!Number.isSafeInteger(rev))
        throw new EtcdctlError(EXIT.error, `strconv.ParseInt: parsing ${JSON.stringify(args[0])}: invalid syntax`);
      await client.etcd.compact({ revision: rev, physical: f.physical === true });
      io.out(`compacted revision ${rev}\n`);
      return;
    }
  }
}

/** A TxnRequest in protobuf's JSON mapping (bytes base64; field names as in the .proto or lowerCamelCase). */
function txnFromJson(b: Buffer): etcdserverpb.TxnRequest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(b.toString('utf8'));
  } catch (e) {
    throw new EtcdctlError(EXIT.invalidInput, `txn --json: standard input is not JSON: ${(e as Error).message}`, { cause: e });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new EtcdctlError(EXIT.invalidInput, 'txn --json: expected a TxnRequest object');
  return etcdserverpb.TxnRequest.fromJSON(parsed);
}
