// etcdctl txn's standard input: compares, a blank line, the success requests, a blank line, the
// failure requests, a blank line (txn_command.go). Every line is read up to its newline: input that
// ends without the last blank line fails with "EOF", as etcdctl's bufio reader does.
import type { Partial3 } from '@raftkv/client';
import { etcdserverpb } from '@raftkv/proto';
import { parseFlags } from '../parse-flags.js';
import { EXIT, EtcdctlError, OP_FLAGS, delOp, getOp, putOp } from './ops.js';

type Txn = Partial3<etcdserverpb.TxnRequest>;
type Op = Partial3<etcdserverpb.RequestOp>;
type Cmp = Partial3<etcdserverpb.Compare>;

/** Reads a txn in etcdctl's text format; `prompt` is called before each section (etcdctl -i). */
export function parseTxnText(input: string, prompt: (s: string) => void): Txn {
  const lines = input.split('\n');
  let at = 0;
  const section = <T>(parse: (line: string) => T): T[] => {
    const out: T[] = [];
    for (;;) {
      // The last piece has no newline after it: etcdctl's ReadString('\n') fails there with EOF.
      if (at >= lines.length - 1) throw new EtcdctlError(EXIT.invalidInput, 'EOF');
      const line = lines[at++]!.trim();
      if (line === '') return out;
      out.push(parse(line));
    }
  };
  prompt('compares:');
  const compare = section(parseCompare);
  prompt('success requests (get, put, del):');
  const success = section(parseRequest);
  prompt('failure requests (get, put, del):');
  const failure = section(parseRequest);
  return { compare, success, failure };
}

/** Go's fmt %q scan: a "double-quoted" string with Go escapes, or a `raw` one; the bytes and the rest. */
function scanQuoted(s: string): [Buffer, string] | null {
  s = s.trimStart();
  if (s.startsWith('`')) {
    const end = s.indexOf('`', 1);
    return end < 0 ? null : [Buffer.from(s.slice(1, end)), s.slice(end + 1)];
  }
  if (!s.startsWith('"')) return null;
  const out: number[] = [];
  const push = (t: string): void => void out.push(...Buffer.from(t));
  for (let i = 1; i < s.length; i++) {
    const c = s[i]!;
    if (c === '"') return [Buffer.from(out), s.slice(i + 1)];
    if (c !== '\\') {
      push(c);
      continue;
    }
    const e = s[++i];
    const simple: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 92, '"': 34, "'": 39 };
    if (e !== undefined && simple[e] !== undefined) out.push(simple[e]);
    else if (e === 'x' && /^[0-9a-fA-F]{2}/.test(s.slice(i + 1))) out.push(Number.parseInt(s.slice(i + 1, (i += 2) + 1), 16));
    else if (e !== undefined && /[0-7]/.test(e) && /^[0-7]{3}/.test(s.slice(i))) out.push(Number.parseInt(s.slice(i, (i += 2) + 1), 8));
    else if ((e === 'u' || e === 'U') && new RegExp(`^[0-9a-fA-F]{${e === 'u' ? 4 : 8}}`).test(s.slice(i + 1))) {
      const n = e === 'u' ? 4 : 8;
      push(String.fromCodePoint(Number.parseInt(s.slice(i + 1, i + 1 + n), 16)));
      i += n;
    } else return null;
  }
  return null;
}

const RESULT: Record<string, etcdserverpb.Compare_CompareResult> = {
  '=': etcdserverpb.Compare_CompareResult.EQUAL,
  '!=': etcdserverpb.Compare_CompareResult.NOT_EQUAL,
  '<': etcdserverpb.Compare_CompareResult.LESS,
  '>': etcdserverpb.Compare_CompareResult.GREATER,
};

/** `target("key") op "value"`, target one of ver/version, c/create, m/mod, val/value, lease. */
export function parseCompare(line: string): Cmp {
  const paren = line.indexOf('(');
  if (paren < 0) throw new EtcdctlError(EXIT.invalidInput, `malformed comparison: ${line}`);
  const target = line.slice(0, paren);
  const key = scanQuoted(line.slice(paren + 1));
  const afterKey = key?.[1].startsWith(')') ? key[1].slice(1).trimStart() : null;
  const op = afterKey?.match(/^\S+/)?.[0];
  const val = op === undefined || afterKey === null ? null : scanQuoted(afterKey.slice(op.length));
  if (key === null || op === undefined || val === null) throw new EtcdctlError(EXIT.invalidInput, `malformed comparison: ${line}`);
  const result = RESULT[op];
  if (result === undefined) throw new EtcdctlError(EXIT.invalidInput, `malformed comparison: ${line} (unknown op ${op})`);
  const text = val[0].toString();
  const int = (base: number): number => {
    const v = (base === 16 ? /^[+-]?[0-9a-fA-F]+$/ : /^[+-]?\d+$/).test(text) ? Number.parseInt(text, base) : NaN;
    if (!Number.isSafeInteger(v)) throw new EtcdctlError(EXIT.invalidInput, `invalid txn compare request: ${line}`);
    return v;
  };
  const T = etcdserverpb.Compare_CompareTarget;
  const base = { key: key[0], result };
  switch (target) {
    case 'ver':
    case 'version':
      return { ...base, target: T.VERSION, targetUnion: { $case: 'version', version: int(10) } };
    case 'c':
    case 'create':
      return { ...base, target: T.CREATE, targetUnion: { $case: 'createRevision', createRevision: int(10) } };
    case 'm':
    case 'mod':
      return { ...base, target: T.MOD, targetUnion: { $case: 'modRevision', modRevision: int(10) } };
    case 'val':
    case 'value':
      return { ...base, target: T.VALUE, targetUnion: { $case: 'value', value: val[0] } };
    case 'lease':
      return { ...base, target: T.LEASE, targetUnion: { $case: 'lease', lease: int(16) } };
    default:
      throw new EtcdctlError(EXIT.invalidInput, `malformed comparison: ${line} (unknown target ${target})`);
  }
}

/** etcdctl's Argify: words, "quoted" (Go-unquoted) and 'quoted' ones. */
export function argify(s: string): string[] {
  const args = s.match(/"(?:[^"\\]|\\.)*"|'[^']*'|[^'"\s]\S*[^'"\s]?/g) ?? [];
  return args.map((a) => {
    if (a.startsWith("'")) return a.slice(1, -1);
    if (a.startsWith('"')) return scanQuoted(a)?.[0].toString() ?? a;
    return a;
  });
}

/** One request line: `get|put|del <args> [flags]`, parsed as the command itself would be. */
export function parseRequest(line: string): Op {
  const [cmd, ...rest] = argify(line);
  const invalid = (cause?: unknown): EtcdctlError => new EtcdctlError(EXIT.invalidInput, `invalid txn request: ${line}`, { cause });
  if (rest.length < 1 || (cmd !== 'get' && cmd !== 'put' && cmd !== 'del')) throw invalid();
  const parse = <O extends (typeof OP_FLAGS)[keyof typeof OP_FLAGS]>(flags: O) => {
    try {
      return parseFlags(rest, flags, { positionals: true });
    } catch (e) {
      throw invalid(e);
    }
  };
  if (cmd === 'get') {
    const { values, positionals } = parse(OP_FLAGS.get);
    return { request: { $case: 'requestRange', requestRange: getOp(positionals, values) } };
  }
  if (cmd === 'put') {
    const { values, positionals } = parse(OP_FLAGS.put);
    return { request: { $case: 'requestPut', requestPut: putOp(positionals, values, () => Buffer.alloc(0)) } };
  }
  const { values, positionals } = parse(OP_FLAGS.del);
  return { request: { $case: 'requestDeleteRange', requestDeleteRange: delOp(positionals, values) } };
}
