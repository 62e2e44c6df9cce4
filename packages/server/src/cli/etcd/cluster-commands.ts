// raftctl's etcdctl commands of etcd's Cluster and Maintenance services: member list|add|remove|update|
// promote, endpoint status|health|hashkv (--cluster), defrag (--cluster) and move-leader, with etcdctl
// 3.4's arguments, messages, exit codes and output (-w simple, table or json; printer_simple.go,
// printer_table.go, printer_json.go). Member calls go to the first endpoint that answers (raftkv forwards changes to
// the leader); endpoint calls go to every endpoint, or with --cluster to every member's client URL.
import { Metadata, type CallOptions } from '@grpc/grpc-js';
import { credentialsOf, isServiceError, type TlsOptions } from '@raftkv/client';
import { etcdserverpb } from '@raftkv/proto';
import { EXIT, EtcdctlError } from './ops.js';
import { withToken } from './auth-session.js';
import type { EtcdIo } from './commands.js';
import { endpointHashKvJson, endpointHealthJson, endpointStatusJson, membersJson } from './go-format.js';
import { goDuration, humanizeBytes, tableOf } from './table.js';

export const CLUSTER_COMMANDS = ['member', 'endpoint', 'defrag', 'move-leader'] as const;
export type ClusterCommand = (typeof CLUSTER_COMMANDS)[number];
export const isClusterCommand = (c: string | undefined): c is ClusterCommand =>
  (CLUSTER_COMMANDS as readonly (string | undefined)[]).includes(c);

export interface ClusterFlags {
  readonly 'write-out'?: string | undefined;
  readonly cluster?: boolean | undefined;
  readonly learner?: boolean | undefined;
  readonly 'peer-urls'?: string | undefined;
}

export interface ClusterContext {
  readonly endpoints: readonly string[];
  readonly tls: TlsOptions | undefined;
  readonly timeoutMs: number;
  /** The --user's auth token, sent with every call (member changes, defrag and hashkv need root). */
  readonly token?: string | null;
}

interface Stubs {
  readonly cluster: etcdserverpb.ClusterClient;
  readonly maintenance: etcdserverpb.MaintenanceClient;
  readonly kv: etcdserverpb.KVClient;
}

type Call<T> = (s: Stubs, md: Metadata, opts: CallOptions, cb: (err: Error | null, res?: T) => void) => unknown;

/** One channel per endpoint, closed by close(). */
class Dialer {
  private readonly stubs = new Map<string, Stubs>();
  constructor(private readonly c: ClusterContext) {}

  call<T>(endpoint: string, f: Call<T>): Promise<T> {
    return new Promise((resolve, reject) => {
      const opts = { deadline: Date.now() + this.c.timeoutMs };
      f(this.of(endpoint), new Metadata(), opts, (err, res) => (err ? reject(err) : resolve(res as T)));
    });
  }

  /** The first endpoint's answer that is not "unreachable". */
  async first<T>(f: Call<T>): Promise<T> {
    let last: unknown;
    for (const ep of this.c.endpoints) {
      try {
        return await this.call(ep, f);
      } catch (e) {
        last = e;
        if (!isServiceError(e) || e.code !== 14) throw e; // 14: UNAVAILABLE
      }
    }
    throw last;
  }

  private of(endpoint: string): Stubs {
    let s = this.stubs.get(endpoint);
    if (s === undefined) {
      const { creds, options: plain } = credentialsOf(this.c.tls);
      const options = withToken(plain, this.c.token);
      s = {
        cluster: new etcdserverpb.ClusterClient(endpoint, creds, options),
        maintenance: new etcdserverpb.MaintenanceClient(endpoint, creds, options),
        kv: new etcdserverpb.KVClient(endpoint, creds, options),
      };
      this.stubs.set(endpoint, s);
    }
    return s;
  }

  close(): void {
    for (const s of this.stubs.values()) {
      s.cluster.close();
      s.maintenance.close();
      s.kv.close();
    }
  }
}

const hex = (n: number): string => n.toString(16);
const hex16 = (n: number): string => hex(n).padStart(16);
/** Go's text of a gRPC error, as etcdctl prints it. */
export const reason = (e: unknown): string => (isServiceError(e) ? `rpc error: code = ${codeName(e.code)} desc = ${e.details}` : String(e));
const CODE_NAMES = [
  'OK',
  'Canceled',
  'Unknown',
  'InvalidArgument',
  'DeadlineExceeded',
  'NotFound',
  'AlreadyExists',
  'PermissionDenied',
  'ResourceExhausted',
  'FailedPrecondition',
  'Aborted',
  'OutOfRange',
  'Unimplemented',
  'Internal',
  'Unavailable',
  'DataLoss',
  'Unauthenticated',
];
const codeName = (c: number): string => CODE_NAMES[c] ?? `Code(${c})`;

/** etcdctl's member ID argument: hex, else its usage error. */
function memberId(args: readonly string[]): number {
  if (args.length !== 1) throw new EtcdctlError(EXIT.badArgs, `member ID is not provided`);
  const s = args[0]!;
  if (!/^[0-9a-fA-F]{1,16}$/.test(s))
    throw new EtcdctlError(
      EXIT.badArgs,
      `bad member ID arg (strconv.ParseUint: parsing ${JSON.stringify(s)}: invalid syntax), expecting ID in Hex`,
    );
  return Number.parseInt(s, 16);
}

/** Runs one command; the exit code etcdctl would give (an EtcdctlError without message prints nothing more). */
export async function runClusterCommand(
  cmd: ClusterCommand,
  args: readonly string[],
  f: ClusterFlags,
  c: ClusterContext,
  io: EtcdIo,
): Promise<number> {
  try {
    await run(cmd, args, f, c, io);
    return 0;
  } catch (e) {
    if (e instanceof EtcdctlError) {
      if (e.message !== '') io.err(`Error: ${e.message}`);
      return e.exitCode;
    }
    if (isServiceError(e)) {
      io.err(`Error: ${e.details}`);
      return EXIT.error;
    }
    throw e;
  }
}

async function run(cmd: ClusterCommand, args: readonly string[], f: ClusterFlags, c: ClusterContext, io: EtcdIo): Promise<void> {
  const format = f['write-out'] ?? 'simple';
  if (format !== 'simple' && format !== 'table' && format !== 'json')
    throw new EtcdctlError(EXIT.badFeature, `${format} not supported as output format by raftctl`);
  const dial = new Dialer(c);
  try {
    switch (cmd) {
      case 'member':
        return await member(dial, args, f, format, io);
      case 'endpoint':
        return await endpoint(dial, c, args, f, format, io);
      case 'defrag':
        return await defrag(dial, c, f, io);
      case 'move-leader':
        return await moveLeader(dial, c, args, io);
    }
  } finally {
    dial.close();
  }
}

async function member(dial: Dialer, args: readonly string[], f: ClusterFlags, format: string, io: EtcdIo): Promise<void> {
  const [sub, ...rest] = args;
  const out = (s: string): void => io.out(s + '\n');
  switch (sub) {
    case 'list': {
      const r = await dial.first<etcdserverpb.MemberListResponse>((s, md, o, cb) => s.cluster.memberList({}, md, o, cb));
      const rows = r.members.map((m) => [
        hex(m.ID),
        m.name === '' ? 'unstarted' : 'started',
        m.name,
        m.peerURLs.join(','),
        m.clientURLs.join(','),
        String(m.isLearner),
      ]);
      if (format === 'json') out(membersJson(r));
      else if (format === 'table') io.out(tableOf(['ID', 'Status', 'Name', 'Peer Addrs', 'Client Addrs', 'Is Learner'], rows));
      else for (const row of rows) out(row.join(', '));
      return;
    }
    case 'add': {
      if (rest.length !== 1) throw new EtcdctlError(EXIT.badArgs, 'member name not provided');
      const name = rest[0]!;
      if (f['peer-urls'] === undefined || f['peer-urls'] === '') throw new EtcdctlError(EXIT.badArgs, 'member peer urls not provided');
      const peerURLs = f['peer-urls'].split(',');
      const req = { peerURLs, isLearner: f.learner === true };
      const r = await dial.first<etcdserverpb.MemberAddResponse>((s, md, o, cb) => s.cluster.memberAdd(req, md, o, cb));
      const id = r.member!.ID;
      if (format === 'json') return out(membersJson(r));
      out(`Member ${hex16(id)} added to cluster ${hex16(r.header?.clusterId ?? 0)}`);
      if (format === 'simple') {
        const conf = r.members.flatMap((m) => m.peerURLs.map((u) => `${m.ID === id ? name : m.name}=${u}`));
        out('');
        out(`ETCD_NAME=${JSON.stringify(name)}`);
        out(`ETCD_INITIAL_CLUSTER=${JSON.stringify(conf.join(','))}`);
        out(`ETCD_INITIAL_ADVERTISE_PEER_URLS=${JSON.stringify(f['peer-urls'])}`);
        out('ETCD_INITIAL_CLUSTER_STATE="existing"');
      }
      return;
    }
    case 'remove': {
      const id = memberId(rest);
      const r = await dial.first<etcdserverpb.MemberRemoveResponse>((s, md, o, cb) => s.cluster.memberRemove({ ID: id }, md, o, cb));
      if (format === 'json') return out(membersJson(r));
      out(`Member ${hex16(id)} removed from cluster ${hex16(r.header?.clusterId ?? 0)}`);
      return;
    }
    case 'update': {
      const id = memberId(rest);
      if (f['peer-urls'] === undefined || f['peer-urls'] === '') throw new EtcdctlError(EXIT.badArgs, 'member peer urls not provided');
      const req = { ID: id, peerURLs: f['peer-urls'].split(',') };
      const r = await dial.first<etcdserverpb.MemberUpdateResponse>((s, md, o, cb) => s.cluster.memberUpdate(req, md, o, cb));
      if (format === 'json') return out(membersJson(r));
      out(`Member ${hex16(id)} updated in cluster ${hex16(r.header?.clusterId ?? 0)}`);
      return;
    }
    case 'promote': {
      const id = memberId(rest);
      const r = await dial.first<etcdserverpb.MemberPromoteResponse>((s, md, o, cb) => s.cluster.memberPromote({ ID: id }, md, o, cb));
      if (format === 'json') return out(membersJson(r));
      out(`Member ${hex16(id)} promoted in cluster ${hex16(r.header?.clusterId ?? 0)}`);
      return;
    }
    default:
      throw new EtcdctlError(EXIT.badArgs, 'member takes list, add, remove, update or promote');
  }
}

/** --cluster: every member's client URLs (from the first endpoint that answers); else --endpoints. */
async function targets(dial: Dialer, c: ClusterContext, f: ClusterFlags): Promise<string[]> {
  if (f.cluster !== true) return [...c.endpoints];
  const r = await dial.first<etcdserverpb.MemberListResponse>((s, md, o, cb) => s.cluster.memberList({}, md, o, cb));
  return r.members.flatMap((m) => m.clientURLs).map((u) => u.replace(/^https?:\/\//, ''));
}

async function endpoint(dial: Dialer, c: ClusterContext, args: readonly string[], f: ClusterFlags, format: string, io: EtcdIo) {
  const eps = await targets(dial, c, f);
  let failed = false;
  let lastError = '';
  const rows: string[][] = [];
  const json: string[] = [];
  switch (args[0]) {
    case 'status':
    case 'hashkv': {
      const status = args[0] === 'status';
      for (const ep of eps) {
        try {
          if (status) {
            const r = await dial.call<etcdserverpb.StatusResponse>(ep, (s, md, o, cb) => s.maintenance.status({}, md, o, cb));
            const id = r.header?.memberId ?? 0;
            json.push(endpointStatusJson(ep, r));
            rows.push([
              ep,
              hex(id),
              r.version,
              humanizeBytes(r.dbSize),
              String(r.leader === id),
              String(r.isLearner),
              String(r.raftTerm),
              String(r.raftIndex),
              String(r.raftAppliedIndex),
              r.errors.join(', '),
            ]);
          } else {
            const r = await dial.call<etcdserverpb.HashKVResponse>(ep, (s, md, o, cb) => s.maintenance.hashKv({ revision: 0 }, md, o, cb));
            json.push(endpointHashKvJson(ep, r));
            rows.push([ep, String(r.hash)]);
          }
        } catch (e) {
          failed = true;
          // etcdctl ends hashkv with the last failure as its "Error:" line; status only with its exit code.
          if (!status) lastError = reason(e);
          io.err(`Failed to get the ${status ? 'status' : 'hash'} of endpoint ${ep} (${reason(e)})`);
        }
      }
      const hdr = status
        ? ['endpoint', 'ID', 'version', 'db size', 'is leader', 'is learner', 'raft term', 'raft index', 'raft applied index', 'errors']
        : ['endpoint', 'hash'];
      if (format === 'json') io.out(`[${json.join(',')}]\n`);
      else if (format === 'table') io.out(tableOf(hdr, rows));
      else for (const row of rows) io.out(row.join(', ') + '\n');
      if (failed) throw new EtcdctlError(EXIT.error, lastError);
      return;
    }
    case 'health': {
      // etcdctl's check: a linearizable Range of key "health" (permission denied counts as healthy).
      const checks = await Promise.all(
        eps.map(async (ep) => {
          const t0 = process.hrtime.bigint();
          try {
            await dial.call(ep, (s, md, o, cb) =>
              s.kv.range(etcdserverpb.RangeRequest.fromPartial({ key: Buffer.from('health') }), md, o, cb),
            );
            return { ep, took: goDuration(process.hrtime.bigint() - t0), error: '' };
          } catch (e) {
            const denied = isServiceError(e) && e.details === 'etcdserver: permission denied';
            return { ep, took: goDuration(process.hrtime.bigint() - t0), error: denied ? '' : reason(e) };
          }
        }),
      );
      if (format === 'json') io.out(`[${checks.map((h) => endpointHealthJson({ ...h, health: h.error === '' })).join(',')}]\n`);
      else if (format === 'table')
        io.out(
          tableOf(
            ['endpoint', 'health', 'took', 'error'],
            checks.map((h) => [h.ep, String(h.error === ''), h.took, h.error]),
          ),
        );
      else
        for (const h of checks)
          io.err(
            h.error === ''
              ? `${h.ep} is healthy: successfully committed proposal: took = ${h.took}`
              : `${h.ep} is unhealthy: failed to commit proposal: ${h.error}`,
          );
      if (checks.some((h) => h.error !== '')) throw new EtcdctlError(EXIT.error, 'unhealthy cluster');
      return;
    }
    default:
      throw new EtcdctlError(EXIT.badArgs, 'endpoint takes status, health or hashkv');
  }
}

async function defrag(dial: Dialer, c: ClusterContext, f: ClusterFlags, io: EtcdIo): Promise<void> {
  let failed = false;
  for (const ep of await targets(dial, c, f)) {
    try {
      await dial.call(ep, (s, md, o, cb) => s.maintenance.defragment({}, md, o, cb));
      io.out(`Finished defragmenting etcd member[${ep}]\n`);
    } catch (e) {
      failed = true;
      io.err(`Failed to defragment etcd member[${ep}] (${reason(e)})`);
    }
  }
  if (failed) throw new EtcdctlError(EXIT.error, '');
}

async function moveLeader(dial: Dialer, c: ClusterContext, args: readonly string[], io: EtcdIo): Promise<void> {
  if (args.length !== 1) throw new EtcdctlError(EXIT.badArgs, 'move-leader command needs 1 argument');
  if (!/^[0-9a-fA-F]{1,16}$/.test(args[0]!))
    throw new EtcdctlError(EXIT.badArgs, `strconv.ParseUint: parsing ${JSON.stringify(args[0])}: invalid syntax`);
  const target = Number.parseInt(args[0]!, 16);
  // etcdctl finds the leader among the given endpoints and sends the request there.
  for (const ep of c.endpoints) {
    let st: etcdserverpb.StatusResponse;
    try {
      st = await dial.call<etcdserverpb.StatusResponse>(ep, (s, md, o, cb) => s.maintenance.status({}, md, o, cb));
    } catch {
      continue;
    }
    if (st.leader === 0 || st.leader !== st.header?.memberId) continue;
    await dial.call(ep, (s, md, o, cb) => s.maintenance.moveLeader({ targetID: target }, md, o, cb));
    io.out(`Leadership transferred from ${hex(st.leader)} to ${hex(target)}\n`);
    return;
  }
  throw new EtcdctlError(EXIT.error, `no leader endpoint given at [${c.endpoints.join(' ')}]`);
}
