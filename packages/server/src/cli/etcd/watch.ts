// raftctl watch: etcdctl 3.4's watch command (watch_command.go) — KEY [RANGE_END], --prefix, --rev,
// --prev-kv, -w simple|json|fields, -i (lines "watch ..." and "progress" on stdin), and the exec form
// `watch KEY -- CMD ARGS...`, which runs CMD once per event with etcdctl's ETCD_WATCH_* variables. Like
// clientv3, a broken stream is opened again on the next endpoint, resuming after the last revision seen.
import { spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { RaftkvClient, WatchResponse } from '@raftkv/client';
import { prefixEnd } from '@raftkv/client';
import { etcdserverpb, mvccpb } from '@raftkv/proto';
import { goQuote, hexPrefixed, watchJson } from './go-format.js';
import { EXIT, EtcdctlError } from './ops.js';
import { fieldsHeader, fieldsKv, type Write } from './printers.js';

export interface WatchFlags {
  readonly prefix?: boolean | undefined;
  readonly rev?: string | undefined;
  readonly 'prev-kv'?: boolean | undefined;
  readonly 'write-out'?: string | undefined;
  readonly hex?: boolean | undefined;
  readonly interactive?: boolean | undefined;
}

export interface WatchIo {
  /** Written synchronously, so a command run per event prints after the event. */
  readonly out: Write;
  readonly err: (line: string) => void;
  readonly env: NodeJS.ProcessEnv;
}

interface WatchSpec {
  readonly key: Buffer;
  readonly rangeEnd: Buffer;
  readonly rev: number;
  readonly prevKv: boolean;
  readonly exec: readonly string[];
}

/** Thrown by the exec form when the command fails: etcdctl exits 1 at once. */
class ExecFailed extends Error {}

/**
 * Runs `watch`; `args`: the words after `watch` with flags removed, `raw`: the command line as typed
 * (for the words after `--`). Returns etcdctl's exit code once the server cancels the watch.
 */
export async function runWatch(
  args: readonly string[],
  raw: readonly string[],
  f: WatchFlags,
  json: boolean,
  client: RaftkvClient,
  io: WatchIo,
): Promise<number> {
  try {
    const format = f['write-out'] ?? (json ? 'json' : 'simple');
    if (!['simple', 'json', 'fields'].includes(format)) throw new EtcdctlError(EXIT.badFeature, 'unsupported output format');
    const print = printerOf(format, io.out, f.hex === true);
    const envKey = io.env['ETCDCTL_WATCH_KEY'] ?? '';
    const envRange = io.env['ETCDCTL_WATCH_RANGE_END'] ?? '';
    if (envKey === '' && envRange !== '')
      throw new EtcdctlError(EXIT.badArgs, `ETCDCTL_WATCH_KEY is empty but got ETCDCTL_WATCH_RANGE_END=${JSON.stringify(envRange)}`);
    if (f.interactive) return await interactive(f, client, io, print);
    const spec = specOf(args, raw, f, envKey, envRange);
    await watchOnce(client, spec, io, print);
    io.err('Error: watch is canceled by the server');
    return 5; // etcdctl's ExitInterrupted
  } catch (e) {
    if (e instanceof ExecFailed) return 1;
    if (e instanceof EtcdctlError) {
      io.err(`Error: ${e.message}`);
      return e.exitCode;
    }
    throw e;
  }
}

function specOf(args: readonly string[], raw: readonly string[], f: WatchFlags, envKey: string, envRange: string): WatchSpec {
  const at = raw.indexOf('watch');
  const after = at < 0 ? raw : raw.slice(at + 1);
  const sep = after.indexOf('--');
  if (sep >= 0 && sep === after.length - 1) throw new EtcdctlError(EXIT.badArgs, '"--" must be followed by commands');
  const exec = sep >= 0 ? after.slice(sep + 1) : [];
  // parseArgs put the words after "--" among the positionals, at their end.
  let words = exec.length > 0 ? args.slice(0, args.length - exec.length) : [...args];
  if (envKey !== '') {
    if (words.length > 0) throw new EtcdctlError(EXIT.badArgs, 'cannot have both ETCDCTL_WATCH_KEY and key arguments');
    words = envRange === '' ? [envKey] : [envKey, envRange];
  }
  if (words.length < 1 || words.length > 2) throw new EtcdctlError(EXIT.badArgs, 'bad number of arguments');
  return { ...rangeOf(words, f), rev: revOf(f.rev), prevKv: f['prev-kv'] === true, exec };
}

function rangeOf(words: readonly string[], f: WatchFlags): { key: Buffer; rangeEnd: Buffer } {
  const key = Buffer.from(words[0]!);
  if (words.length === 2) {
    if (f.prefix) throw new EtcdctlError(EXIT.badArgs, '`range_end` and `--prefix` are mutually exclusive');
    return { key, rangeEnd: Buffer.from(words[1]!) };
  }
  // clientv3.WithPrefix: an empty prefix means every key.
  if (f.prefix) return key.length === 0 ? { key: Buffer.from([0]), rangeEnd: Buffer.from([0]) } : { key, rangeEnd: prefixEnd(key) };
  return { key, rangeEnd: Buffer.alloc(0) };
}

function revOf(s: string | undefined): number {
  if (s === undefined) return 0;
  const n = Number(s);
  if (!/^-?\d+$/.test(s) || !Number.isSafeInteger(n)) throw new EtcdctlError(EXIT.badArgs, `invalid argument "${s}" for "--rev" flag`);
  return n;
}

/** `-i`: one watch per "watch ..." line (run side by side), "progress" asks every stream for progress. */
async function interactive(f: WatchFlags, client: RaftkvClient, io: WatchIo, print: (r: WatchResponse) => void): Promise<number> {
  const running: Promise<void>[] = [];
  const progress: (() => void)[] = [];
  for await (const line of createInterface({ input: process.stdin })) {
    const words = line.split(/\s+/).filter((w) => w !== '');
    if (words[0] === 'progress') {
      for (const p of progress) p();
      continue;
    }
    if (words[0] !== 'watch' || words.length < 2) {
      io.err(`Invalid command ${line} (only support watch)`);
      continue;
    }
    const w = lineFlags(words.slice(1), f);
    const spec = { ...rangeOf(w.words, w.f), rev: revOf(w.f.rev), prevKv: w.f['prev-kv'] === true, exec: w.exec };
    running.push(watchOnce(client, spec, io, print, (p) => progress.push(p)));
  }
  await Promise.all(running);
  return 0;
}

/** An interactive line's own flags (--prefix, --rev N, --prev-kv), words and command after "--". */
function lineFlags(words: string[], base: WatchFlags): { words: string[]; f: WatchFlags; exec: string[] } {
  const sep = words.indexOf('--');
  const exec = sep >= 0 ? words.slice(sep + 1) : [];
  const rest = sep >= 0 ? words.slice(0, sep) : words;
  const out: string[] = [];
  const f: { -readonly [K in keyof WatchFlags]: WatchFlags[K] } = { ...base, prefix: false, rev: undefined, 'prev-kv': false };
  for (let i = 0; i < rest.length; i++) {
    const w = rest[i]!;
    if (w === '--prefix') f.prefix = true;
    else if (w === '--prev-kv') f['prev-kv'] = true;
    else if (w === '--rev') f.rev = rest[++i];
    else if (w.startsWith('--rev=')) f.rev = w.slice(6);
    else out.push(w);
  }
  return { words: out, f, exec };
}

/**
 * One watch until the server cancels it. A stream that fails is opened again on the next endpoint from
 * the revision after the last one seen (clientv3's resume), so no event is missed or repeated.
 */
async function watchOnce(
  client: RaftkvClient,
  spec: WatchSpec,
  io: WatchIo,
  print: (r: WatchResponse) => void,
  onProgressHook?: (ask: () => void) => void,
): Promise<void> {
  let next = spec.rev;
  let failures = 0;
  let current: { write(r: etcdserverpb.WatchRequest): void } | null = null;
  onProgressHook?.(() => current?.write({ requestUnion: { $case: 'progressRequest', progressRequest: {} } }));
  for (;;) {
    const order = client.endpointOrder();
    const address = order[failures % order.length]!;
    const ended = await new Promise<'canceled' | 'broken'>((resolve, reject) => {
      const call = client.etcdWatch(address);
      current = call;
      let settled = false;
      const settle = (how: 'canceled' | 'broken'): void => {
        if (settled) return;
        settled = true;
        call.removeAllListeners('data');
        call.cancel();
        resolve(how);
      };
      call.on('data', (r: WatchResponse) => {
        try {
          if (r.created) {
            failures = 0;
            if (next === 0 && r.header !== undefined) next = Number(r.header.revision) + 1;
            if (r.canceled) {
              io.err(`watch was canceled (${r.cancelReason})`);
              settle('canceled');
            }
            return;
          }
          if (r.events.length > 0) next = r.events[r.events.length - 1]!.kv!.modRevision + 1;
          if (r.canceled) io.err(`watch was canceled (${cancelReason(r)})`);
          if (isProgressNotify(r)) io.out(`progress notify: ${r.header?.revision ?? 0}\n`);
          print(r);
          runPerEvent(spec.exec, r, io);
          if (r.canceled) settle('canceled');
        } catch (e) {
          settled = true;
          call.cancel();
          reject(e as Error);
        }
      });
      call.on('error', () => settle('broken'));
      call.on('end', () => settle('broken'));
      call.write({
        requestUnion: {
          $case: 'createRequest',
          createRequest: etcdserverpb.WatchCreateRequest.fromPartial({
            key: spec.key,
            rangeEnd: spec.rangeEnd,
            startRevision: next,
            prevKv: spec.prevKv,
          }),
        },
      });
    });
    current = null;
    if (ended === 'canceled') return;
    failures++;
    await new Promise((r) => setTimeout(r, Math.min(1000, 50 * failures)));
  }
}

/** clientv3's WatchResponse.Err() text. */
function cancelReason(r: WatchResponse): string {
  if (r.compactRevision !== 0) return 'etcdserver: mvcc: required revision has been compacted';
  return r.cancelReason !== '' ? r.cancelReason : 'etcdserver: mvcc: required revision is a future revision';
}

/** clientv3's IsProgressNotify. */
const isProgressNotify = (r: WatchResponse): boolean =>
  r.events.length === 0 && !r.canceled && !r.created && r.compactRevision === 0 && r.header !== undefined && r.header.revision !== 0n;

function runPerEvent(exec: readonly string[], r: WatchResponse, io: WatchIo): void {
  if (exec.length === 0) return;
  for (const e of r.events) {
    const env = {
      ...io.env,
      ETCD_WATCH_REVISION: String(r.header?.revision ?? 0),
      ETCD_WATCH_EVENT_TYPE: `"${typeName(e.type)}"`,
      ETCD_WATCH_KEY: goQuote(e.kv!.key),
      ETCD_WATCH_VALUE: goQuote(e.kv!.value),
    };
    const run = spawnSync(exec[0]!, exec.slice(1), { env, stdio: 'inherit' });
    const failed = run.error !== undefined ? run.error.message : run.status !== 0 ? `exit status ${run.status ?? run.signal}` : null;
    if (failed !== null) {
      io.err(`command [${exec.map((a) => goQuote(Buffer.from(a))).join(' ')}] error (${failed})`);
      throw new ExecFailed();
    }
  }
}

const typeName = (t: mvccpb.Event_EventType): string => (t === mvccpb.Event_EventType.DELETE ? 'DELETE' : 'PUT');

function printerOf(format: string, w: Write, hex: boolean): (r: WatchResponse) => void {
  if (format === 'json') return (r) => w(watchJson(r) + '\n');
  const bytes = (b: Uint8Array): Buffer => (hex ? Buffer.from(hexPrefixed(b)) : Buffer.from(b));
  if (format === 'fields') {
    return (r) => {
      fieldsHeader(w, r.header);
      for (const e of r.events) {
        w(`"Type" : ${typeName(e.type)}\n`);
        if (e.prevKv) fieldsKv(w, 'Prev', e.prevKv);
        fieldsKv(w, '', e.kv!);
      }
    };
  }
  const line = (b: Uint8Array): void => w(Buffer.concat([bytes(b), Buffer.from('\n')]));
  return (r) => {
    for (const e of r.events) {
      w(`${typeName(e.type)}\n`);
      if (e.prevKv) {
        line(e.prevKv.key);
        line(e.prevKv.value);
      }
      line(e.kv!.key);
      line(e.kv!.value);
    }
  };
}
