#!/usr/bin/env node
// raftctl: a small client for raftkv. Tries each endpoint in turn (any node accepts every call and
// forwards to the leader), readable output by default, --json for scripts.
import { readFileSync } from 'node:fs';
import { credentials, status as grpcStatus, type ChannelCredentials, type ChannelOptions, type ServiceError } from '@grpc/grpc-js';
import {
  AdminClient,
  KVClient,
  type ProposeRequest,
  ReadConsistency,
  Role,
  roleToJSON,
  type ProposeResponse,
  type AddMemberResponse,
  type ListMembersResponse,
  type Member,
  type ReadResponse,
  type RemoveMemberResponse,
  type StatusResponse,
  type TransferLeadershipResponse,
} from '@raftkv/proto';
import { unary } from '../grpc/unary.js';
import { parseFlags } from './parse-flags.js';

const USAGE = `usage: raftctl [--endpoints host:port,...] [--json] [--timeout ms] <command>
commands:
  put <key> <value>                    write a value
  get <key> [--stale]                  read (linearizable unless --stale)
  delete <key>                         remove a key
  cas <key> <new> (--expect <old> | --expect-absent)
                                       compare-and-swap
  status                               every endpoint's view of the cluster
  transfer [<id> | --to <id>]          hand leadership to <id> (default: the most caught-up voter)
  member list                          the members (id, address, voter or learner) and the leader
  member add <id> <host:port> [--learner]
                                       add a node: as a learner, then (once caught up) a voter
  member remove <id>                   remove a node (refused if the rest could not form a quorum)
options:
  --endpoints   nodes to try, in order (default 127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003;
                env RAFTCTL_ENDPOINTS)
  --client-id, --sequence   make a write retry-safe (applied at most once)
  --tls-ca      CA that signed the nodes' client-port certificate (TLS)
  --tls-cert, --tls-key   client certificate and key, for nodes run with --tls-client-auth
  --tls-server-name   name to check the certificate against instead of the endpoint's host
                (e.g. raftkv.<ns>.svc.cluster.local through kubectl port-forward)
  --insecure    TLS without checking the server's certificate (debugging only)
  --json        print the raw response as JSON
  --timeout     per-call deadline in ms (default 5000; member add/remove: 120000)`;

class UsageError extends Error {}

interface Args {
  endpoints: string[];
  json: boolean;
  timeoutMs: number;
  stale: boolean;
  expect: string | undefined;
  expectAbsent: boolean;
  clientId: string;
  sequence: number;
  /** PEM file paths for a TLS cluster (--tls-ca alone: verify the server; with cert and key: mutual TLS). */
  tls: { ca?: string; cert?: string; key?: string; serverName?: string; insecure?: boolean };
  to: string | undefined;
  learner: boolean;
  timeoutSet: boolean;
  rest: string[];
}

const FLAGS = {
  endpoints: { type: 'string' },
  json: { type: 'boolean' },
  timeout: { type: 'string' },
  to: { type: 'string' },
  learner: { type: 'boolean' },
  stale: { type: 'boolean' },
  expect: { type: 'string' },
  'expect-absent': { type: 'boolean' },
  'client-id': { type: 'string' },
  sequence: { type: 'string' },
  'tls-ca': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-server-name': { type: 'string' },
  insecure: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Flags anywhere among the command words, `--flag value` or `--flag=value`. */
function parseCli(argv: string[]): Args {
  const fail = (flag: string, reason: string): Error => new UsageError(`${flag}: ${reason}`);
  const { values: v, positionals } = parseFlags(argv, FLAGS, { positionals: true, fail });
  if (v.help) throw new UsageError('');
  const endpoints = v.endpoints ?? process.env['RAFTCTL_ENDPOINTS'] ?? '127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003';
  const a: Args = {
    endpoints: v.endpoints === undefined ? endpoints.split(',') : endpoints.split(',').map((s) => s.trim()).filter((s) => s !== ''),
    json: v.json ?? false,
    timeoutMs: 5000,
    stale: v.stale ?? false,
    expect: v.expect,
    expectAbsent: v['expect-absent'] ?? false,
    clientId: v['client-id'] ?? '',
    sequence: v.sequence === undefined ? 0 : Number(v.sequence),
    tls: {
      ...(v['tls-ca'] === undefined ? {} : { ca: v['tls-ca'] }),
      ...(v['tls-cert'] === undefined ? {} : { cert: v['tls-cert'] }),
      ...(v['tls-key'] === undefined ? {} : { key: v['tls-key'] }),
      ...(v['tls-server-name'] === undefined ? {} : { serverName: v['tls-server-name'] }),
      ...(v.insecure ? { insecure: true } : {}),
    },
    to: v.to,
    learner: v.learner ?? false,
    timeoutSet: v.timeout !== undefined,
    rest: positionals,
  };
  if (v.timeout !== undefined) {
    a.timeoutMs = Number(v.timeout);
    if (!(a.timeoutMs > 0)) throw new UsageError('--timeout must be a positive number of ms');
  }
  if (a.endpoints.length === 0) throw new UsageError('--endpoints is empty');
  return a;
}

/** Calls each endpoint in turn until one answers (or fails with something other than UNAVAILABLE). */
async function firstAnswer<C, Res>(a: Args, make: (addr: string) => C, call: (c: C) => Promise<Res>): Promise<Res> {
  let last: unknown;
  for (const addr of a.endpoints) {
    try {
      return await call(make(addr));
    } catch (e) {
      last = e;
      const code = (e as ServiceError).code;
      if (code !== grpcStatus.UNAVAILABLE && code !== grpcStatus.DEADLINE_EXCEEDED) throw e;
    }
  }
  throw last;
}

const show = (b: Buffer): string => {
  const s = b.toString('utf8');
  return Buffer.from(s, 'utf8').equals(b) && !/[\x00-\x08\x0e-\x1f]/.test(s) ? s : `0x${b.toString('hex')}`;
};

function jsonOf(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (x && typeof x === 'object' && (x as { type?: string }).type === 'Buffer' ? Buffer.from((x as { data: number[] }).data).toString('base64') : x), 2);
}

/** Plaintext unless a TLS option is given. */
function tlsOf(t: Args['tls']): { creds: ChannelCredentials; channelOptions: ChannelOptions } {
  const read = (flag: string, path: string | undefined): Buffer | null => {
    if (path === undefined) return null;
    try {
      return readFileSync(path);
    } catch (e) {
      throw new UsageError(`${flag}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, { cause: e });
    }
  };
  if ((t.cert === undefined) !== (t.key === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
  if (t.ca === undefined && t.cert === undefined && t.serverName === undefined && t.insecure !== true) return { creds: credentials.createInsecure(), channelOptions: {} };
  const verify = t.insecure === true ? { rejectUnauthorized: false, checkServerIdentity: () => undefined } : {};
  const creds = credentials.createSsl(read('--tls-ca', t.ca), read('--tls-key', t.key), read('--tls-cert', t.cert), verify);
  const channelOptions: ChannelOptions = t.serverName === undefined ? {} : { 'grpc.ssl_target_name_override': t.serverName, 'grpc.default_authority': t.serverName };
  return { creds, channelOptions };
}

async function main(): Promise<number> {
  let a: Args;
  try {
    a = parseCli(process.argv.slice(2));
  } catch (e) {
    if (e instanceof UsageError) {
      if (e.message) process.stderr.write(`raftctl: ${e.message}\n`);
      process.stderr.write(USAGE + '\n');
      return 2;
    }
    throw e;
  }
  const [cmd, ...args] = a.rest;
  let creds: ChannelCredentials;
  let channelOptions: ChannelOptions = {};
  try {
    ({ creds, channelOptions } = tlsOf(a.tls));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`raftctl: ${e.message}\n`);
    return 2;
  }
  const kv = (addr: string) => new KVClient(addr, creds, channelOptions);
  const need = (n: number, what: string): string[] => {
    if (args.length !== n) throw new UsageError(`${cmd} takes ${what}`);
    return args;
  };
  const propose = async (req: ProposeRequest): Promise<ProposeResponse> =>
    firstAnswer(a, kv, (c) => unary<ProposeResponse>((md, o, cb) => c.propose({ ...req, clientId: a.clientId, sequence: a.sequence }, md, o, cb), a.timeoutMs));
  const out = (s: string) => process.stdout.write(s + '\n');
  try {
    switch (cmd) {
      case 'put': {
        const [key, value] = need(2, '<key> <value>');
        const r = await propose({ command: { $case: 'put', put: { key: key!, value: Buffer.from(value!) } }, clientId: '', sequence: 0 });
        out(a.json ? jsonOf(r) : `OK (index ${r.index}, term ${r.term}${r.previousFound ? `, previous ${show(r.previousValue)}` : ''})`);
        return 0;
      }
      case 'delete': {
        const [key] = need(1, '<key>');
        const r = await propose({ command: { $case: 'delete', delete: { key: key! } }, clientId: '', sequence: 0 });
        out(a.json ? jsonOf(r) : r.previousFound ? `deleted (index ${r.index}, was ${show(r.previousValue)})` : `not found (index ${r.index})`);
        return 0;
      }
      case 'cas': {
        const [key, next] = need(2, '<key> <new> (--expect <old> | --expect-absent)');
        if ((a.expect === undefined) === !a.expectAbsent) throw new UsageError('cas needs exactly one of --expect <old> or --expect-absent');
        const r = await propose({
          command: {
            $case: 'compareAndSwap',
            compareAndSwap: { key: key!, expectedValue: Buffer.from(a.expect ?? ''), expectAbsent: a.expectAbsent, newValue: Buffer.from(next!) },
          },
          clientId: '',
          sequence: 0,
        });
        if (a.json) out(jsonOf(r));
        else out(r.succeeded ? `swapped (index ${r.index})` : `not swapped: current value ${r.previousFound ? show(r.previousValue) : '(absent)'}`);
        return r.succeeded ? 0 : 1;
      }
      case 'get': {
        const [key] = need(1, '<key>');
        const consistency = a.stale ? ReadConsistency.READ_CONSISTENCY_STALE : ReadConsistency.READ_CONSISTENCY_LINEARIZABLE;
        const r = await firstAnswer(a, kv, (c) => unary<ReadResponse>((md, o, cb) => c.read({ key: key!, consistency }, md, o, cb), a.timeoutMs));
        if (a.json) out(jsonOf(r));
        else if (r.found) out(show(r.value));
        else process.stderr.write(`not found (index ${r.index})\n`);
        return r.found ? 0 : 1;
      }
      case 'status': {
        need(0, 'no arguments');
        const rows = await Promise.all(
          a.endpoints.map(async (addr) => {
            const c = new AdminClient(addr, creds, channelOptions);
            try {
              return { endpoint: addr, status: await unary<StatusResponse>((md, o, cb) => c.status({}, md, o, cb), a.timeoutMs) };
            } catch (e) {
              return { endpoint: addr, error: (e as ServiceError).details ?? String(e) };
            } finally {
              c.close();
            }
          }),
        );
        if (a.json) {
          out(jsonOf(rows.map((r) => ('status' in r ? { endpoint: r.endpoint, ...r.status, role: roleToJSON(r.status!.role) } : r))));
        } else {
          const table = [['ENDPOINT', 'ID', 'ROLE', 'TERM', 'LEADER', 'COMMIT', 'APPLIED', 'LAST']];
          for (const r of rows) {
            if ('status' in r && r.status) {
              const s = r.status;
              const role = s.role === Role.ROLE_LEADER ? 'leader' : s.role === Role.ROLE_FOLLOWER ? 'follower' : s.role === Role.ROLE_CANDIDATE ? 'candidate' : '?';
              table.push([r.endpoint, s.id, role, String(s.term), s.leaderId || '-', String(s.commitIndex), String(s.appliedIndex), String(s.lastLogIndex)]);
            } else table.push([r.endpoint, '-', `unreachable: ${'error' in r ? r.error : ''}`, '', '', '', '', '']);
          }
          const w = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
          for (const row of table) out(row.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd());
        }
        return rows.some((r) => 'error' in r) ? 1 : 0;
      }
      case 'transfer': {
        if (args.length > 1 || (args.length === 1 && a.to !== undefined)) throw new UsageError('transfer takes [<id> | --to <id>]');
        const admin = (addr: string) => new AdminClient(addr, creds, channelOptions);
        // Followers refuse with UNAVAILABLE (naming the leader): firstAnswer moves on to the leader.
        const r = await firstAnswer(a, admin, (c) =>
          unary<TransferLeadershipResponse>((md, o, cb) => c.transferLeadership({ to: args[0] ?? a.to ?? '' }, md, o, cb), a.timeoutMs),
        );
        out(a.json ? jsonOf(r) : `leader is now ${r.leaderId} (term ${r.term})`);
        return 0;
      }
      case 'member':
        return await member(a, (addr) => new AdminClient(addr, creds, channelOptions), args, out);
      default:
        throw new UsageError(cmd === undefined ? 'no command' : `unknown command ${cmd}`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`raftctl: ${e.message}\n${USAGE}\n`);
      return 2;
    }
    const se = e as ServiceError;
    if (typeof se.code === 'number') {
      if (a.json) out(jsonOf({ error: grpcStatus[se.code], message: se.details }));
      else process.stderr.write(`raftctl: ${grpcStatus[se.code]}: ${se.details}\n`);
      return 3;
    }
    throw e;
  }
}

/** `member list|add|remove`: any endpoint answers (a follower forwards changes to the leader). */
async function member(a: Args, admin: (addr: string) => AdminClient, args: string[], out: (s: string) => void): Promise<number> {
  const [sub, ...rest] = args;
  const changeTimeout = a.timeoutSet ? a.timeoutMs : 120_000;
  const table = (members: Member[], leader: string): void => {
    const rows = [['ID', 'ADDRESS', 'ROLE'], ...members.map((m) => [m.id, m.address, `${m.voter ? 'voter' : 'learner'}${m.id === leader ? ' (leader)' : ''}`])];
    const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    for (const r of rows) out(r.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd());
  };
  switch (sub) {
    case 'list': {
      if (rest.length !== 0) throw new UsageError('member list takes no arguments');
      const r = await firstAnswer(a, admin, (c) => unary<ListMembersResponse>((md, o, cb) => c.listMembers({}, md, o, cb), a.timeoutMs));
      if (a.json) out(jsonOf(r));
      else table(r.members, r.leaderId);
      return 0;
    }
    case 'add': {
      if (rest.length !== 2) throw new UsageError('member add takes <id> <host:port> [--learner]');
      const [id, address] = rest as [string, string];
      const r = await firstAnswer(a, admin, (c) =>
        unary<AddMemberResponse>((md, o, cb) => c.addMember({ id, address, learner: a.learner }, md, o, cb), changeTimeout),
      );
      if (a.json) out(jsonOf(r));
      else {
        out(`${id} is a ${a.learner ? 'learner' : 'voter'}${r.index > 0 ? ` (index ${r.index})` : ' (no change needed)'}`);
        table(r.members, '');
      }
      return 0;
    }
    case 'remove': {
      if (rest.length !== 1) throw new UsageError('member remove takes <id>');
      const id = rest[0]!;
      const r = await firstAnswer(a, admin, (c) => unary<RemoveMemberResponse>((md, o, cb) => c.removeMember({ id }, md, o, cb), changeTimeout));
      if (a.json) out(jsonOf(r));
      else {
        out(`${id} is not a member${r.index > 0 ? ` (removed at index ${r.index})` : ' (no change needed)'}`);
        table(r.members, '');
      }
      return 0;
    }
    default:
      throw new UsageError('member takes list, add or remove');
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`raftctl: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
