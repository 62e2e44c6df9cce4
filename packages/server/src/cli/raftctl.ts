#!/usr/bin/env node
// raftctl: a small client for raftkv, on @raftkv/client (endpoints tried in turn, leader hints
// followed, writes retried only when that is safe). etcdctl's KV commands (get, put, del, txn,
// compact) speak the etcd API with etcdctl's flags and output; raftkv.v1's commands live under `v1`.
import { readFileSync } from 'node:fs';
import { status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import { RaftkvClient, TlsConfigError, credentialsOf, isServiceError, type TlsOptions } from '@raftkv/client';
import { Role, roleToJSON, type Member } from '@raftkv/proto';
import { isEtcdCommand, runEtcdCommand } from './etcd/commands.js';
import { LEASE_FLAGS } from './etcd/lease-commands.js';
import { LOCK_FLAGS, runLock } from './etcd/lock.js';
import { ELECT_FLAGS, runElect } from './etcd/elect.js';
import { runWatch } from './etcd/watch.js';
import { isClusterCommand, runClusterCommand } from './etcd/cluster-commands.js';
import { isAuthCommand, runAuthCommand } from './etcd/auth-commands.js';
import { AuthSession, credentialsOf as credentialsOfUser, withToken } from './etcd/auth-session.js';
import { EtcdctlError, OP_FLAGS } from './etcd/ops.js';
import { parseFlags } from './parse-flags.js';
import { versionText } from '../version.js';
import { runSnapshotCommand, SNAPSHOT_FLAGS } from './snapshot-commands.js';

const USAGE = `usage: raftctl [--endpoints host:port,...] [--timeout ms] <command>
etcd API (etcdctl 3.4's commands, flags and output; -w simple|json|fields|table):
  get <key> [range_end] [--prefix | --from-key] [--limit n] [--rev n] [--keys-only] [--count-only]
      [--sort-by CREATE|KEY|MODIFY|VALUE|VERSION] [--order ASCEND|DESCEND] [--print-value-only]
      [--consistency l|s]
  put <key> [<value> | stdin] [--prev-kv] [--ignore-value] [--ignore-lease] [--lease <hex id>]
  del <key> [range_end] [--prefix | --from-key] [--prev-kv]
  txn [-i]                             compares, success and failure requests on stdin (etcdctl's format)
  txn --json                           a TxnRequest as JSON on stdin (protobuf JSON: bytes base64)
  compact <revision> [--physical]
  snapshot save <file> [--data-dir DIR]
                                       a backup from a member (etcd's Maintenance.Snapshot stream), or
                                       offline from a member's data dir (e.g. the survivor of a lost quorum)
  snapshot status <file>               hash, revision, total keys, total size; checks the file's checksum
  snapshot restore <file> --data-dir DIR --id ID --peers ID=HOST:PORT,... [--cluster-id ID] [--skip-hash-check]
                                       a member's data dir for a new cluster (etcdctl's --name,
                                       --initial-cluster, --initial-cluster-token also work)
  lease grant <ttl> | revoke <id> | timetolive <id> [--keys] | list | keep-alive [--once] <id>
                                       etcd's leases (ids in hex, as etcdctl prints them)
  lock <name> [--ttl s] [<command> <args>...]
                                       hold etcd's lock <name> until SIGINT/SIGTERM (or while <command> runs)
  elect <name> <proposal> | elect -l <name>
                                       campaign in etcd's election <name> (leader until SIGINT/SIGTERM), or observe it
  watch <key> [range_end] [--prefix] [--rev n] [--prev-kv] [-i] [-- <command> <args>...]
                                       print each event (or run <command> per event, with ETCD_WATCH_*)
  member list | add <name> --peer-urls URL[,URL] [--learner] | remove <hex id> | update <hex id> --peer-urls URL
         | promote <hex id>
                                       etcd's Cluster API (start an added member with --id <hex id> --join ...)
  endpoint status|health|hashkv [--cluster]
  defrag [--cluster]
  move-leader <hex id>
  user add|delete|get [--detail]|list|passwd|grant-role|revoke-role   etcdctl's user commands
  role add|delete|get|list|grant-permission [--prefix|--from-key]|revoke-permission   etcdctl's role commands
  auth enable|disable
  alarm list | alarm disarm            the raised alarms (NOSPACE: the storage quota); disarm lowers them all
raftkv.v1:
  v1 put <key> <value>                 write a value
  v1 get <key> [--stale]               read (linearizable unless --stale)
  v1 delete <key>                      remove a key (also: raftctl delete)
  v1 cas <key> <new> (--expect <old> | --expect-absent)
                                       compare-and-swap (also: raftctl cas)
admin:
  status                               every endpoint's view of the cluster
  version (--version)                  this raftctl's release, schema and peer protocol versions
  transfer [<id> | --to <id>]          hand leadership to <id> (default: the most caught-up voter)
  v1 member list                       the members (id, address, voter or learner) and the leader
  v1 member add <id> <host:port> [--learner]   (also: member add <id> <host:port>)
                                       add a node: as a learner, then (once caught up) a voter
  v1 member remove <id>                remove a node (refused if the rest could not form a quorum)
                                       (also: member remove <id> for an id that is not hex)
options:
  --endpoints   nodes to try, in order (default 127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003;
                env RAFTCTL_ENDPOINTS)
  --client-id, --sequence   make a v1 write retry-safe (applied at most once)
  --tls-ca (--cacert)   CA that signed the nodes' client-port certificate (TLS)
  --tls-cert (--cert), --tls-key (--key)   client certificate and key, for nodes run with --tls-client-auth
  --tls-server-name   name to check the certificate against instead of the endpoint's host
                (e.g. raftkv.<ns>.svc.cluster.local through kubectl port-forward)
  --insecure (--insecure-skip-tls-verify)   TLS without checking the server's certificate (debugging only)
  --user name[:password]   act as this user (etcd auth; password from --password, or stdin when absent)
  --json        v1 and admin commands: print the raw response as JSON; etcd commands: -w json
  -w, --write-out   etcd commands' output format: simple (default), json, fields, table
  --hex         etcd commands: print keys and values as hex-escaped bytes
  --timeout     per-endpoint deadline in ms (default 5000; member add/remove: 120000); --command-timeout 5s
exit codes: 0 ok, 1 not found / not swapped / unreachable in status, 2 usage, 3 server error;
  etcd commands exit as etcdctl does (1 error, 3 bad input, 4 unsupported, 128 bad arguments)`;

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
  flags: ReturnType<typeof parseFlags<typeof FLAGS>>['values'];
  rest: string[];
}

const FLAGS = {
  endpoints: { type: 'string' },
  json: { type: 'boolean' },
  timeout: { type: 'string' },
  'command-timeout': { type: 'string' },
  'dial-timeout': { type: 'string' },
  to: { type: 'string' },
  learner: { type: 'boolean' },
  stale: { type: 'boolean' },
  expect: { type: 'string' },
  'expect-absent': { type: 'boolean' },
  'client-id': { type: 'string' },
  sequence: { type: 'string' },
  'tls-ca': { type: 'string' },
  cacert: { type: 'string' },
  'tls-cert': { type: 'string' },
  cert: { type: 'string' },
  'tls-key': { type: 'string' },
  key: { type: 'string' },
  'tls-server-name': { type: 'string' },
  insecure: { type: 'boolean' },
  'insecure-skip-tls-verify': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  // etcdctl's KV flags
  ...OP_FLAGS.get,
  ...OP_FLAGS.put,
  ...OP_FLAGS.del,
  ...LEASE_FLAGS,
  ...LOCK_FLAGS,
  ...ELECT_FLAGS,
  'write-out': { type: 'string', short: 'w' },
  hex: { type: 'boolean' },
  interactive: { type: 'boolean', short: 'i' },
  physical: { type: 'boolean' },
  ...SNAPSHOT_FLAGS,
  cluster: { type: 'boolean' },
  'peer-urls': { type: 'string' },
  // etcdctl's auth flags
  user: { type: 'string' },
  password: { type: 'string' },
  detail: { type: 'boolean' },
  'new-user-password': { type: 'string' },
  'no-password': { type: 'boolean' },
} as const;

/** Go's time.ParseDuration for etcdctl's --command-timeout (e.g. 5s, 500ms, 1m30s), in ms. */
function durationMs(s: string): number {
  const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const parts = [...s.matchAll(/(\d+(?:\.\d*)?)(ns|us|µs|ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== s)
    throw new UsageError(`--command-timeout: not a duration: ${JSON.stringify(s)}`);
  return parts.reduce((ms, p) => ms + Number(p[1]) * unit[p[2]!]!, 0);
}

/** Flags anywhere among the command words, `--flag value` or `--flag=value`. */
function parseCli(argv: string[]): Args {
  const fail = (flag: string, reason: string): Error => new UsageError(`${flag}: ${reason}`);
  const { values: v, positionals } = parseFlags(argv, FLAGS, { positionals: true, fail });
  if (v.help) throw new UsageError('');
  const endpoints = v.endpoints ?? process.env['RAFTCTL_ENDPOINTS'] ?? '127.0.0.1:7001,127.0.0.1:7002,127.0.0.1:7003';
  const ca = v['tls-ca'] ?? v.cacert;
  const cert = v['tls-cert'] ?? v.cert;
  const key = v['tls-key'] ?? v.key;
  const a: Args = {
    endpoints:
      v.endpoints === undefined
        ? endpoints.split(',')
        : endpoints
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s !== ''),
    json: v.json ?? false,
    timeoutMs: 5000,
    stale: v.stale ?? false,
    expect: v.expect,
    expectAbsent: v['expect-absent'] ?? false,
    clientId: v['client-id'] ?? '',
    sequence: v.sequence === undefined ? 0 : Number(v.sequence),
    tls: {
      ...(ca === undefined ? {} : { ca }),
      ...(cert === undefined ? {} : { cert }),
      ...(key === undefined ? {} : { key }),
      ...(v['tls-server-name'] === undefined ? {} : { serverName: v['tls-server-name'] }),
      ...(v.insecure || v['insecure-skip-tls-verify'] ? { insecure: true } : {}),
    },
    to: v.to,
    learner: v.learner ?? false,
    timeoutSet: v.timeout !== undefined || v['command-timeout'] !== undefined,
    flags: v,
    rest: positionals,
  };
  if (v.timeout !== undefined) a.timeoutMs = Number(v.timeout);
  else if (v['command-timeout'] !== undefined) a.timeoutMs = durationMs(v['command-timeout']);
  if (!(a.timeoutMs > 0)) throw new UsageError('--timeout must be a positive number of ms');
  if (a.endpoints.length === 0) throw new UsageError('--endpoints is empty');
  return a;
}

const show = (b: Buffer): string => {
  const s = b.toString('utf8');
  return Buffer.from(s, 'utf8').equals(b) && !/[\x00-\x08\x0e-\x1f]/.test(s) ? s : `0x${b.toString('hex')}`;
};

function jsonOf(v: unknown): string {
  return JSON.stringify(
    v,
    (_k, x: unknown) =>
      x && typeof x === 'object' && (x as { type?: string }).type === 'Buffer'
        ? Buffer.from((x as { data: number[] }).data).toString('base64')
        : x,
    2,
  );
}

/** The TLS files' contents; undefined (plaintext) unless a TLS option is given. */
function tlsOf(t: Args['tls']): TlsOptions | undefined {
  const read = (flag: string, path: string | undefined): Buffer | undefined => {
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (e) {
      throw new UsageError(`${flag}: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`, { cause: e });
    }
  };
  if ((t.cert === undefined) !== (t.key === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
  if (t.ca === undefined && t.cert === undefined && t.serverName === undefined && t.insecure !== true) return undefined;
  const ca = read('--tls-ca', t.ca);
  const cert = read('--tls-cert', t.cert);
  const key = read('--tls-key', t.key);
  return {
    ...(ca === undefined ? {} : { ca }),
    ...(cert === undefined ? {} : { cert }),
    ...(key === undefined ? {} : { key }),
    ...(t.serverName === undefined ? {} : { serverName: t.serverName }),
    ...(t.insecure === true ? { insecure: true } : {}),
  };
}

async function main(): Promise<number> {
  let a: Args;
  let client: RaftkvClient;
  let auth: AuthSession;
  const argv = process.argv.slice(2);
  if (argv.includes('--version') || (argv.length === 1 && argv[0] === 'version')) {
    process.stdout.write(versionText('raftctl') + '\n');
    return 0;
  }
  let token: string | null = null;
  try {
    a = parseCli(process.argv.slice(2));
    const tls = tlsOf(a.tls);
    auth = new AuthSession(a.endpoints, tls === undefined ? undefined : credentialsOf(tls).creds, a.timeoutMs);
    // etcdctl authenticates before any command; a refusal exits with its bad-connection code.
    const login = credentialsOfUser(a.flags.user, a.flags.password, () => readFileSync(0));
    if (login !== null) {
      try {
        token = await auth.login(login);
      } catch (e) {
        if (!(e instanceof EtcdctlError)) throw e;
        process.stderr.write(`Error: ${e.message}\n`);
        return e.exitCode;
      }
    }
    // Each endpoint gets the whole --timeout, as it always did: the call's deadline covers them all.
    const timeoutMs = a.timeoutMs * a.endpoints.length;
    const channelOptions = { channelOptions: withToken({}, token) };
    client = new RaftkvClient({ endpoints: a.endpoints, timeoutMs, attemptTimeoutMs: a.timeoutMs, ...opt('tls', tls), ...channelOptions });
  } catch (e) {
    if (e instanceof UsageError || e instanceof TlsConfigError) {
      if (e.message) process.stderr.write(`raftctl: ${e.message}\n`);
      process.stderr.write(USAGE + '\n');
      return 2;
    }
    throw e;
  }
  try {
    return await command(a, client, auth, token);
  } finally {
    client.close();
    auth.close();
  }
}

const opt = <K extends string, V>(k: K, v: V | undefined): { [P in K]?: V } => (v === undefined ? {} : ({ [k]: v } as { [P in K]?: V }));

async function command(a: Args, client: RaftkvClient, auth: AuthSession, token: string | null): Promise<number> {
  let [cmd, ...args] = a.rest;
  if (isEtcdCommand(cmd)) {
    const io = {
      out: (b: Buffer | string) => void process.stdout.write(b),
      err: (l: string) => void process.stderr.write(l + '\n'),
      stdin: () => readFileSync(0),
    };
    return runEtcdCommand(cmd, args, a.flags, a.json, client, io);
  }
  if (cmd === 'snapshot') {
    const io = { out: (b: Buffer | string) => void process.stdout.write(b), err: (l: string) => void process.stderr.write(l + '\n') };
    const target = { endpoints: a.endpoints, tls: tlsOf(a.tls), timeoutMs: a.timeoutSet ? a.timeoutMs : null, token };
    const flags = { ...a.flags, ...(a.json && a.flags['write-out'] === undefined ? { 'write-out': 'json' } : {}) };
    return runSnapshotCommand(args, flags, target, { ...io, stdin: () => readFileSync(0) });
  }
  if (cmd === 'lock' || cmd === 'elect') {
    try {
      const out = (b: Buffer | string): void => void process.stdout.write(b);
      return cmd === 'lock' ? await runLock(args, a.flags, client, out) : await runElect(args, a.flags, client, out);
    } catch (e) {
      if (!(e instanceof EtcdctlError)) throw e;
      process.stderr.write(`Error: ${e.message}\n`);
      return e.exitCode;
    }
  }
  if (cmd === 'watch') {
    // Pipes and terminals are written synchronously on Linux: a command run per event prints after it.
    const out = (b: Buffer | string): void => void process.stdout.write(b);
    return runWatch(args, process.argv.slice(2), a.flags, a.json, client, {
      out,
      err: (l) => void process.stderr.write(l + '\n'),
      env: process.env,
    });
  }
  if (isClusterCommand(cmd) && !legacyMember(cmd, args)) {
    const io = {
      out: (b: Buffer | string) => void process.stdout.write(b),
      err: (l: string) => void process.stderr.write(l + '\n'),
      stdin: () => readFileSync(0),
    };
    return runClusterCommand(cmd, args, a.flags, { endpoints: a.endpoints, tls: tlsOf(a.tls), timeoutMs: a.timeoutMs, token }, io);
  }
  const io = {
    out: (b: Buffer | string) => void process.stdout.write(b),
    err: (l: string) => void process.stderr.write(l + '\n'),
    stdin: () => readFileSync(0),
  };
  if (isEtcdCommand(cmd)) return runEtcdCommand(cmd, args, a.flags, a.json, client, io);
  if (isAuthCommand(cmd)) return runAuthCommand(cmd, args, a.flags, auth.call, io);
  if (cmd === 'v1') [cmd, ...args] = args;
  const need = (n: number, what: string): string[] => {
    if (args.length !== n) throw new UsageError(`${cmd} takes ${what}`);
    return args;
  };
  const session = a.clientId !== '' || a.sequence !== 0 ? { session: { clientId: a.clientId, sequence: a.sequence } } : {};
  const out = (s: string) => process.stdout.write(s + '\n');
  try {
    switch (cmd) {
      case 'put': {
        const [key, value] = need(2, '<key> <value>');
        const r = await client.put(key!, value!, session);
        out(a.json ? jsonOf(r) : `OK (index ${r.index}, term ${r.term}${r.previousFound ? `, previous ${show(r.previousValue)}` : ''})`);
        return 0;
      }
      case 'delete': {
        const [key] = need(1, '<key>');
        const r = await client.delete(key!, session);
        out(
          a.json
            ? jsonOf(r)
            : r.previousFound
              ? `deleted (index ${r.index}, was ${show(r.previousValue)})`
              : `not found (index ${r.index})`,
        );
        return 0;
      }
      case 'cas': {
        const [key, next] = need(2, '<key> <new> (--expect <old> | --expect-absent)');
        if ((a.expect === undefined) === !a.expectAbsent)
          throw new UsageError('cas needs exactly one of --expect <old> or --expect-absent');
        const r = await client.compareAndSwap(key!, a.expect === undefined ? { absent: true } : { value: a.expect }, next!, session);
        if (a.json) out(jsonOf(r));
        else
          out(
            r.succeeded
              ? `swapped (index ${r.index})`
              : `not swapped: current value ${r.previousFound ? show(r.previousValue) : '(absent)'}`,
          );
        return r.succeeded ? 0 : 1;
      }
      case 'get': {
        const [key] = need(1, '<key>');
        const r = await client.read(key!, { stale: a.stale });
        if (a.json) out(jsonOf(r));
        else if (r.found) out(show(r.value));
        else process.stderr.write(`not found (index ${r.index})\n`);
        return r.found ? 0 : 1;
      }
      case 'status': {
        need(0, 'no arguments');
        const rows = await Promise.all(
          a.endpoints.map(async (addr) => {
            try {
              return { endpoint: addr, status: await client.statusOf(addr, { timeoutMs: a.timeoutMs }) };
            } catch (e) {
              return { endpoint: addr, error: (e as ServiceError).details ?? String(e) };
            }
          }),
        );
        if (a.json) {
          out(jsonOf(rows.map((r) => ('status' in r ? { endpoint: r.endpoint, ...r.status, role: roleToJSON(r.status.role) } : r))));
        } else {
          const table = [['ENDPOINT', 'ID', 'ROLE', 'TERM', 'LEADER', 'COMMIT', 'APPLIED', 'LAST']];
          for (const r of rows) {
            if ('status' in r) {
              const s = r.status;
              const role =
                s.role === Role.ROLE_LEADER
                  ? 'leader'
                  : s.role === Role.ROLE_FOLLOWER
                    ? 'follower'
                    : s.role === Role.ROLE_CANDIDATE
                      ? 'candidate'
                      : '?';
              table.push([
                r.endpoint,
                s.id,
                role,
                String(s.term),
                s.leaderId || '-',
                String(s.commitIndex),
                String(s.appliedIndex),
                String(s.lastLogIndex),
              ]);
            } else table.push([r.endpoint, '-', `unreachable: ${r.error}`, '', '', '', '', '']);
          }
          printTable(table, out);
        }
        return rows.some((r) => 'error' in r) ? 1 : 0;
      }
      case 'transfer': {
        if (args.length > 1 || (args.length === 1 && a.to !== undefined)) throw new UsageError('transfer takes [<id> | --to <id>]');
        // A follower refuses with UNAVAILABLE naming the leader: the client asks the leader next.
        const r = await client.transferLeadership(args[0] ?? a.to ?? '');
        out(a.json ? jsonOf(r) : `leader is now ${r.leaderId} (term ${r.term})`);
        return 0;
      }
      case 'member':
        return await member(a, client, args, out);
      default:
        throw new UsageError(cmd === undefined ? 'no command' : `unknown command ${cmd}`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`raftctl: ${e.message}\n${USAGE}\n`);
      return 2;
    }
    if (isServiceError(e)) {
      if (a.json) out(jsonOf({ error: grpcStatus[e.code], message: e.details }));
      else process.stderr.write(`raftctl: ${grpcStatus[e.code]}: ${e.details}\n`);
      return 3;
    }
    throw e;
  }
}

/**
 * raftkv's own member commands, kept at the top level where etcdctl's syntax cannot be meant:
 * `member add <id> <host:port>` and `member remove <id>` with an id that is not hex.
 */
function legacyMember(cmd: string, args: readonly string[]): boolean {
  if (cmd !== 'member') return false;
  const [sub, ...rest] = args;
  if (sub === 'add') return rest.length === 2;
  if (sub === 'remove') return rest.length === 1 && !/^[0-9a-fA-F]{1,16}$/.test(rest[0]!);
  return false;
}

/** Columns padded to their widest cell, two spaces apart. */
function printTable(rows: string[][], out: (s: string) => void): void {
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  for (const row of rows)
    out(
      row
        .map((c, i) => c.padEnd(w[i]!))
        .join('  ')
        .trimEnd(),
    );
}

/** `member list|add|remove`: any endpoint answers (a follower forwards changes to the leader). */
async function member(a: Args, client: RaftkvClient, args: string[], out: (s: string) => void): Promise<number> {
  const [sub, ...rest] = args;
  const each = a.timeoutSet ? a.timeoutMs : 120_000;
  const change = { timeoutMs: each * a.endpoints.length, attemptTimeoutMs: each };
  const table = (members: Member[], leader: string): void =>
    printTable(
      [
        ['ID', 'ADDRESS', 'ROLE'],
        ...members.map((m) => [m.id, m.address, `${m.voter ? 'voter' : 'learner'}${m.id === leader ? ' (leader)' : ''}`]),
      ],
      out,
    );
  switch (sub) {
    case 'list': {
      if (rest.length !== 0) throw new UsageError('member list takes no arguments');
      const r = await client.listMembers();
      if (a.json) out(jsonOf(r));
      else table(r.members, r.leaderId);
      return 0;
    }
    case 'add': {
      if (rest.length !== 2) throw new UsageError('member add takes <id> <host:port> [--learner]');
      const [id, address] = rest as [string, string];
      const r = await client.addMember(id, address, a.learner, change);
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
      const r = await client.removeMember(id, change);
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
