// etcdctl 3.4's output formats for the KV commands: simple, json and fields (printer_simple.go,
// printer_json.go, printer_fields.go). Values are written as raw bytes, as Go's fmt.Println does.
// `table` exists in etcdctl but not for KV responses: it fails after the call (checked by the caller).
import type { DeleteRangeResponse, PutResponse, RangeResponse, TxnResponse } from '@raftkv/client';
import type { etcdserverpb, mvccpb } from '@raftkv/proto';
import { deleteJson, goQuote, hexPrefixed, putJson, rangeJson, txnJson } from './go-format.js';

type Range = RangeResponse | etcdserverpb.RangeResponse;
type Put = PutResponse | etcdserverpb.PutResponse;
type Del = DeleteRangeResponse | etcdserverpb.DeleteRangeResponse;

export interface Printer {
  get(r: Range): void;
  put(r: Put): void;
  del(r: Del): void;
  txn(r: TxnResponse): void;
}

export type Write = (b: Buffer | string) => void;

export const FORMATS = ['simple', 'json', 'fields', 'table'] as const;
export type Format = (typeof FORMATS)[number];

export function printerOf(format: Exclude<Format, 'table'>, w: Write, o: { hex: boolean; valueOnly: boolean }): Printer {
  if (format === 'json') return jsonPrinter(w);
  if (format === 'fields') return fieldsPrinter(w);
  return simplePrinter(w, o);
}

function simplePrinter(w: Write, o: { hex: boolean; valueOnly: boolean }): Printer {
  const line = (b: Uint8Array): void => w(Buffer.concat([o.hex ? Buffer.from(hexPrefixed(b)) : Buffer.from(b), Buffer.from('\n')]));
  const kv = (x: mvccpb.KeyValue): void => {
    if (!o.valueOnly) line(x.key);
    line(x.value);
  };
  const p: Printer = {
    get: (r) => r.kvs.forEach(kv),
    put: (r) => {
      w('OK\n');
      if (r.prevKv) kv(r.prevKv);
    },
    del: (r) => {
      w(`${r.deleted}\n`);
      r.prevKvs.forEach(kv);
    },
    txn: (r) => {
      w(r.succeeded ? 'SUCCESS\n' : 'FAILURE\n');
      for (const op of r.responses) {
        w('\n');
        const x = op.response;
        if (x?.$case === 'responseDeleteRange') p.del(x.responseDeleteRange);
        else if (x?.$case === 'responsePut') p.put(x.responsePut);
        else if (x?.$case === 'responseRange') p.get(x.responseRange);
        else w(`unexpected response ${JSON.stringify(op)}\n`);
      }
    },
  };
  return p;
}

function jsonPrinter(w: Write): Printer {
  return {
    get: (r) => w(rangeJson(r) + '\n'),
    put: (r) => w(putJson(r) + '\n'),
    del: (r) => w(deleteJson(r) + '\n'),
    txn: (r) => w(txnJson(r) + '\n'),
  };
}

function fieldsPrinter(w: Write): Printer {
  const hdr = (h: Range['header']): void => fieldsHeader(w, h);
  const kv = (pfx: string, x: mvccpb.KeyValue): void => fieldsKv(w, pfx, x);
  const p: Printer = {
    get: (r) => {
      hdr(r.header);
      for (const x of r.kvs) kv('', x);
      w(`"More" : ${r.more}\n"Count" : ${r.count}\n`);
    },
    put: (r) => {
      hdr(r.header);
      if (r.prevKv) kv('Prev', r.prevKv);
    },
    del: (r) => {
      hdr(r.header);
      w(`"Deleted" : ${r.deleted}\n`);
      for (const x of r.prevKvs) kv('Prev', x);
    },
    txn: (r) => {
      hdr(r.header);
      w(`"Succeeded" : ${r.succeeded}\n`);
      for (const op of r.responses) {
        const x = op.response;
        if (x?.$case === 'responseDeleteRange') p.del(x.responseDeleteRange);
        else if (x?.$case === 'responsePut') p.put(x.responsePut);
        else if (x?.$case === 'responseRange') p.get(x.responseRange);
        else w(`"Unknown" : ${goQuote(Buffer.from(JSON.stringify(x)))}\n`);
      }
    },
  };
  return p;
}

/** etcdctl's fields printer's header lines (p.hdr). */
export function fieldsHeader(w: Write, h: Range['header']): void {
  const x = h ?? { clusterId: 0, memberId: 0, revision: 0, raftTerm: 0 };
  w(`"ClusterID" : ${x.clusterId}\n"MemberID" : ${x.memberId}\n"Revision" : ${x.revision}\n"RaftTerm" : ${x.raftTerm}\n`);
}

/** etcdctl's fields printer's lines of a KeyValue (p.kv), each name prefixed with `pfx`. */
export function fieldsKv(w: Write, pfx: string, x: mvccpb.KeyValue): void {
  w(`"${pfx}Key" : ${goQuote(x.key)}\n"${pfx}CreateRevision" : ${x.createRevision}\n"${pfx}ModRevision" : ${x.modRevision}\n`);
  w(`"${pfx}Version" : ${x.version}\n"${pfx}Value" : ${goQuote(x.value)}\n"${pfx}Lease" : ${x.lease}\n`);
}
