// How etcdctl (Go) renders bytes and responses, reproduced byte for byte: strconv.Quote (%q),
// --hex's "\x.." form, and encoding/json of the gogo-protobuf response structs (snake_case names,
// omitempty on every field, bytes as base64, 64-bit integers as numbers, oneofs as {"Response":{...}}).
import type { Header, WithHeader } from '@raftkv/client';
import type { etcdserverpb, mvccpb } from '@raftkv/proto';

/** Go's strconv.Quote of a byte string (invalid UTF-8 bytes as \x.., non-printable runes escaped). */
export function goQuote(b: Uint8Array): string {
  let out = '"';
  const s = Buffer.from(b);
  for (let i = 0; i < s.length; ) {
    const c = s[i]!;
    if (c < 0x80) {
      const ch = String.fromCharCode(c);
      if (ch === '"' || ch === '\\') out += '\\' + ch;
      else if (c >= 0x20 && c < 0x7f) out += ch;
      else
        out +=
          ({ 7: '\\a', 8: '\\b', 12: '\\f', 10: '\\n', 13: '\\r', 9: '\\t', 11: '\\v' } as Record<number, string>)[c] ?? `\\x${hex2(c)}`;
      i++;
      continue;
    }
    const len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
    const text = len === 0 || i + len > s.length ? null : utf8(s.subarray(i, i + len));
    if (text === null) {
      out += `\\x${hex2(c)}`;
      i++;
      continue;
    }
    const cp = text.codePointAt(0)!;
    out += /[\p{L}\p{M}\p{N}\p{P}\p{S}]/u.test(text)
      ? text
      : cp > 0xffff
        ? `\\U${cp.toString(16).padStart(8, '0')}`
        : `\\u${cp.toString(16).padStart(4, '0')}`;
    i += len;
  }
  return out + '"';
}

const FATAL = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
/** One rune's bytes as text, or null when they are not valid UTF-8. */
function utf8(b: Uint8Array): string | null {
  try {
    return FATAL.decode(b);
  } catch {
    return null;
  }
}

const hex2 = (c: number): string => c.toString(16).padStart(2, '0');

/** etcdctl --hex: every byte as \xNN. */
export const hexPrefixed = (b: Uint8Array): string => Array.from(b, (c) => `\\x${hex2(c)}`).join('');

type Json = string;
/** One "name":value member, or nothing when Go's omitempty drops it. */
const num = (name: string, v: number | bigint): Json[] => (v === 0 || v === 0n ? [] : [`"${name}":${v.toString()}`]);
const bool = (name: string, v: boolean): Json[] => (v ? [`"${name}":true`] : []);
const bytes = (name: string, v: Uint8Array): Json[] => (v.length === 0 ? [] : [`"${name}":"${Buffer.from(v).toString('base64')}"`]);
const obj = (members: Json[]): Json => `{${members.join(',')}}`;
const list = <T>(name: string, xs: readonly T[], f: (x: T) => Json): Json[] =>
  xs.length === 0 ? [] : [`"${name}":[${xs.map(f).join(',')}]`];

type AnyHeader = Header | etcdserverpb.ResponseHeader;
function header(h: AnyHeader | undefined): Json[] {
  if (h === undefined) return [];
  return [
    `"header":${obj([...num('cluster_id', h.clusterId), ...num('member_id', h.memberId), ...num('revision', h.revision), ...num('raft_term', h.raftTerm)])}`,
  ];
}

export const kvJson = (kv: mvccpb.KeyValue): Json =>
  obj([
    ...bytes('key', kv.key),
    ...num('create_revision', kv.createRevision),
    ...num('mod_revision', kv.modRevision),
    ...num('version', kv.version),
    ...bytes('value', kv.value),
    ...num('lease', kv.lease),
  ]);

type Resp<T> = WithHeader<T> | T;
export const rangeJson = (r: Resp<etcdserverpb.RangeResponse>): Json =>
  obj([...header(r.header), ...list('kvs', r.kvs, kvJson), ...bool('more', r.more), ...num('count', r.count)]);
export const putJson = (r: Resp<etcdserverpb.PutResponse>): Json =>
  obj([...header(r.header), ...(r.prevKv ? [`"prev_kv":${kvJson(r.prevKv)}`] : [])]);
export const deleteJson = (r: Resp<etcdserverpb.DeleteRangeResponse>): Json =>
  obj([...header(r.header), ...num('deleted', r.deleted), ...list('prev_kvs', r.prevKvs, kvJson)]);
export const txnJson = (r: Resp<etcdserverpb.TxnResponse>): Json =>
  obj([...header(r.header), ...bool('succeeded', r.succeeded), ...list('responses', r.responses, responseOpJson)]);

function responseOpJson(op: etcdserverpb.ResponseOp): Json {
  const r = op.response;
  if (r === undefined) return '{"Response":null}';
  const inner =
    r.$case === 'responseRange'
      ? `"ResponseRange":${rangeJson(r.responseRange)}`
      : r.$case === 'responsePut'
        ? `"ResponsePut":${putJson(r.responsePut)}`
        : r.$case === 'responseDeleteRange'
          ? `"ResponseDeleteRange":${deleteJson(r.responseDeleteRange)}`
          : `"ResponseTxn":${txnJson(r.responseTxn)}`;
  return `{"Response":{${inner}}}`;
}

/** clientv3.WatchResponse as encoding/json writes it (etcdctl watch -w json): exported Go fields, no omitempty. */
export function watchJson(r: WithHeader<etcdserverpb.WatchResponse>): Json {
  const h = r.header;
  const hdr = h === undefined ? '{}' : header(h)[0]!.slice('"header":'.length);
  const event = (e: mvccpb.Event): Json =>
    obj([...num('type', e.type), ...(e.kv ? [`"kv":${kvJson(e.kv)}`] : []), ...(e.prevKv ? [`"prev_kv":${kvJson(e.prevKv)}`] : [])]);
  const events = r.events.length === 0 ? 'null' : `[${r.events.map(event).join(',')}]`;
  return `{"Header":${hdr},"Events":${events},"CompactRevision":${r.compactRevision},"Canceled":${r.canceled},"Created":${r.created}}`;
}
