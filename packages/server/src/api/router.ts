// The one way to reach the leader. A call is served locally when this node leads, otherwise forwarded
// over gRPC to the leader's address; KV (Propose, linearizable Read), membership changes and leadership
// transfer all go through `route`. A forwarded call is never forwarded again (no loops): it is served
// where it lands, and a node that does not lead refuses it (UNAVAILABLE with a retry hint); the
// originating node retries once it learns of a new leader, as the call's policy allows.
import { Channel, Metadata, status, type CallOptions, type ClientDuplexStream } from '@grpc/grpc-js';
import {
  AdminClient,
  etcdserverpb,
  KVClient,
  type AddMemberRequest,
  type AddMemberResponse,
  type MemberAttributes,
  type PublishMemberAttributesResponse,
  type ProposeRequest,
  type ProposeResponse,
  type ReadRequest,
  type ReadResponse,
  type RemoveMemberRequest,
  type RemoveMemberResponse,
  type TransferLeadershipResponse,
} from '@raftkv/proto';
import type { RaftDriver } from '../node/driver.js';
import { UnavailableError } from '../errors.js';
import { ETCD_NO_LEADER, ETCD_TIMEOUT, EtcdUnavailableError, fromServiceError, isServiceError } from './grpc-errors.js';
import { responseOf } from '../storage/command.js';
import { inTime } from './in-time.js';
import { dialAddress, NO_RETRY_BUFFER } from '../grpc/grpc-options.js';
import { channelCredentials } from '../grpc/tls.js';
import { unary, type UnaryCallback } from '../grpc/unary.js';

export const FORWARDED_HEADER = 'raftkv-forwarded';
/** etcd's token metadata key (rpctypes.TokenFieldNameGRPC); a forwarded call carries the caller's (auth-gate.ts). */
export const TOKEN_HEADER = 'token';

/** Whether another node forwarded this call (it is then served here, never forwarded again). */
export const isForwarded = (call: { metadata: Metadata }): boolean => call.metadata.get(FORWARDED_HEADER).length > 0;

type KeepAliveReq = etcdserverpb.LeaseKeepAliveRequest;
type KeepAliveResp = etcdserverpb.LeaseKeepAliveResponse;

/** How long a caller without a deadline may wait for a leader. */
export const DEFAULT_WAIT_MS = 10_000;
/** Pause before retrying a leader that refused (it may not know yet that it lost). */
const RETRY_PAUSE_MS = 20;

/**
 * Answer this long before the caller's deadline (a fifth of the time left, at most 300 ms: room for a
 * busy event loop and the way back), so the caller hears UNAVAILABLE ("no leader", "request timed
 * out") rather than running into its own deadline. Without a deadline: DEFAULT_WAIT_MS.
 */
export function answerBy(deadlineMs: number, now = Date.now()): number {
  if (!Number.isFinite(deadlineMs)) return now + DEFAULT_WAIT_MS;
  return deadlineMs - Math.min(300, Math.max(0, (deadlineMs - now) / 5));
}

/** How one kind of call is routed: what each kind may do differently, stated in one place. */
interface Policy {
  /** Which UnavailableErrors (the leader refused, or could not be reached) the origin retries. */
  readonly retry: 'any' | 'safe' | 'none';
  /** Wait for a leader up to the deadline (answerBy), or give up at once when none can be reached. */
  readonly waitForLeader: boolean;
  /** Honour RouterOptions.refuse (client calls: a removed or joining node answers at once). */
  readonly refusable: boolean;
  /** Map the leader's error back to an internal one (false: passed on as received). */
  readonly mapRemote: boolean;
  /** The answer when no leader took the call in time; `refused` is the last refusal, if any. */
  readonly noLeader: (leaderId: string, refused: UnavailableError | null) => UnavailableError;
  /** The answer when the call was made (here or on the leader) but no outcome came before answerBy: it may still happen. */
  readonly timedOut: (leaderId: string) => UnavailableError;
}

const kvTimedOut = (leaderId: string): UnavailableError =>
  new UnavailableError('request timed out: no outcome before the deadline (the write may still be applied)', leaderId, false);
const etcdTimedOut = (leaderId: string): UnavailableError => new EtcdUnavailableError(ETCD_TIMEOUT, leaderId, false);

const kvNoLeader = (leaderId: string, refused: UnavailableError | null): UnavailableError => {
  const why = refused ? `no leader accepted the call before the deadline: ${refused.message}` : 'no leader before the deadline';
  return new UnavailableError(why, leaderId, true);
};

/** Reads are idempotent: retried on any refusal. */
const READ: Policy = { retry: 'any', waitForLeader: true, refusable: true, mapRemote: true, noLeader: kvNoLeader, timedOut: kvTimedOut };
/** Proposals are retried only when the command certainly was not applied. */
const PROPOSE: Policy = { ...READ, retry: 'safe' };
/** etcd's API: the same policies, answering etcd's "no leader" when no leader took the call in time. */
const etcdNoLeader = (leaderId: string, refused: UnavailableError | null): UnavailableError =>
  new EtcdUnavailableError(ETCD_NO_LEADER, leaderId, true, { cause: refused ?? undefined });
const ETCD_READ: Policy = { ...READ, noLeader: etcdNoLeader, timedOut: etcdTimedOut };
const ETCD_WRITE: Policy = { ...PROPOSE, noLeader: etcdNoLeader, timedOut: etcdTimedOut };

/** The caller sees the leader's answer, whatever it is (it may ask again: changes are idempotent). */
const MEMBERSHIP: Policy = {
  retry: 'none',
  waitForLeader: true,
  refusable: false,
  mapRemote: true,
  noLeader: (leaderId) => new UnavailableError('no leader to carry out the membership change', leaderId),
  timedOut: kvTimedOut,
};
/** etcd's Cluster service: carried out on the leader; its etcd errors reach the caller as they are. */
const ETCD_MEMBERSHIP: Policy = { ...MEMBERSHIP, noLeader: etcdNoLeader, timedOut: etcdTimedOut };

/** The live view's transfer button: fails at once without a leader; its caller maps gRPC statuses itself. */
const TRANSFER: Policy = {
  retry: 'none',
  waitForLeader: false,
  refusable: false,
  mapRemote: false,
  noLeader: () => new UnavailableError('no leader known to transfer leadership from', ''),
  timedOut: kvTimedOut,
};

export interface RouterOptions {
  readonly self: string;
  /** Member id -> address (a live map: membership updates it). */
  readonly peers: ReadonlyMap<string, string>;
  readonly dialOverrides: ReadonlyMap<string, string>;
  readonly driver: RaftDriver;
  /** A reason to refuse client calls at once (e.g. this node was removed from the cluster), or null. */
  readonly refuse?: () => UnavailableError | null;
}

/** The clients of one leader address, on one channel. */
interface LeaderClients {
  readonly channel: Channel;
  readonly kv: KVClient;
  readonly admin: AdminClient;
  readonly etcd: etcdserverpb.KVClient;
  readonly cluster: etcdserverpb.ClusterClient;
  readonly lease: etcdserverpb.LeaseClient;
  readonly auth: etcdserverpb.AuthClient;
  readonly maintenance: etcdserverpb.MaintenanceClient;
}

/** One etcdserverpb.KV call on the leader's client. */
export type EtcdCall<T> = (kv: etcdserverpb.KVClient, md: Metadata, opts: CallOptions, cb: UnaryCallback<T>) => unknown;
/** One etcdserverpb.Auth call on the leader's client. */
export type EtcdAuthCall<T> = (auth: etcdserverpb.AuthClient, md: Metadata, opts: CallOptions, cb: UnaryCallback<T>) => unknown;

/** The caller's auth token to present to the leader (auth-gate.ts forwardToken), or null. */
type Token = string | null;

/** One etcdserverpb.Cluster call on the leader's client. */
export type EtcdClusterCall<T> = (c: etcdserverpb.ClusterClient, md: Metadata, opts: CallOptions, cb: UnaryCallback<T>) => unknown;
/** One etcdserverpb.Lease unary call on the leader's client. */
export type LeaseCall<T> = (lease: etcdserverpb.LeaseClient, md: Metadata, opts: CallOptions, cb: UnaryCallback<T>) => unknown;

/** One etcdserverpb.Maintenance call on the leader's client. */
export type EtcdMaintenanceCall<T> = (m: etcdserverpb.MaintenanceClient, md: Metadata, opts: CallOptions, cb: UnaryCallback<T>) => unknown;

/** Serves the call on this node. */
type Local<T> = () => Promise<T>;
/** Makes the call on the leader. */
type Remote<T> = (c: LeaderClients, md: Metadata, deadline: number) => Promise<T>;

export class LeaderRouter {
  /** By member address; closed when the address leaves the membership (retain). */
  private readonly clients = new Map<string, LeaderClients>();

  constructor(private readonly o: RouterOptions) {}

  /** `admit` runs on the leader before proposing (the storage quota); it throws to refuse. */
  propose(
    req: ProposeRequest,
    data: Uint8Array,
    deadlineMs: number,
    forwarded: boolean,
    token: Token = null,
    admit?: () => void,
  ): Promise<ProposeResponse> {
    const local = async (): Promise<ProposeResponse> => {
      admit?.();
      return responseOf(await this.o.driver.propose(data), 'propose');
    };
    return this.route(
      PROPOSE,
      deadlineMs,
      forwarded,
      local,
      (c, metadata, deadline) => unary<ProposeResponse>((md, opts, cb) => c.kv.propose(req, md, opts, cb), { deadline, metadata }),
      token,
    );
  }

  readLinearizable(
    req: ReadRequest,
    deadlineMs: number,
    forwarded: boolean,
    local: Local<ReadResponse>,
    token: Token = null,
  ): Promise<ReadResponse> {
    return this.route(
      READ,
      deadlineMs,
      forwarded,
      local,
      (c, metadata, deadline) => unary<ReadResponse>((md, opts, cb) => c.kv.read(req, md, opts, cb), { deadline, metadata }),
      token,
    );
  }

  /**
   * An etcd write (Put, DeleteRange, a Txn that writes, Compact): `local` proposes it on the leader; a
   * follower makes the same call on the leader, retried only when it certainly was not applied.
   */
  etcdWrite<T>(deadlineMs: number, forwarded: boolean, local: Local<T>, call: EtcdCall<T>, token: Token = null): Promise<T> {
    return this.route(
      ETCD_WRITE,
      deadlineMs,
      forwarded,
      local,
      (c, metadata, deadline) => unary<T>((md, opts, cb) => call(c.etcd, md, opts, cb), { deadline, metadata }),
      token,
    );
  }

  /** An etcd Maintenance request that goes through the log (Alarm): as etcdWrite, on the Maintenance service. */
  etcdMaintenance<T>(
    deadlineMs: number,
    forwarded: boolean,
    local: Local<T>,
    call: EtcdMaintenanceCall<T>,
    token: Token = null,
  ): Promise<T> {
    return this.route(
      ETCD_WRITE,
      deadlineMs,
      forwarded,
      local,
      (c, metadata, deadline) => unary<T>((md, opts, cb) => call(c.maintenance, md, opts, cb), { deadline, metadata }),
      token,
    );
  }

  /** A linearizable etcd read (Range, a read-only Txn): served by the leader after a ReadIndex round. */
  etcdRead<T>(deadlineMs: number, forwarded: boolean, local: Local<T>, call: EtcdCall<T>, token: Token = null): Promise<T> {
    return this.route(
      ETCD_READ,
      deadlineMs,
      forwarded,
      local,
      (c, metadata, deadline) => unary<T>((md, opts, cb) => call(c.etcd, md, opts, cb), { deadline, metadata }),
      token,
    );
  }

  /**
   * An etcd Lease call that only the leader answers: a grant or revoke (`write`: through the log, retried
   * only when certainly not applied) or a TimeToLive (`read`: the leader's lessor, retried freely).
   */
  etcdLease<T>(
    kind: 'write' | 'read',
    deadlineMs: number,
    forwarded: boolean,
    local: Local<T>,
    call: LeaseCall<T>,
    token: Token = null,
  ): Promise<T> {
    return this.route(
      kind === 'write' ? ETCD_WRITE : ETCD_READ,
      deadlineMs,
      forwarded,
      local,
      (c, metadata, deadline) => unary<T>((md, opts, cb) => call(c.lease, md, opts, cb), { deadline, metadata }),
      token,
    );
  }

  /**
   * A LeaseKeepAlive stream to the leader this node knows of, marked as forwarded (the leader serves it
   * and never forwards it on); null when no other node is known to lead.
   */
  leaderKeepAlive(): { readonly leaderId: string; readonly stream: ClientDuplexStream<KeepAliveReq, KeepAliveResp> } | null {
    const leader = this.o.driver.leaderId;
    if (leader === '' || leader === this.o.self) return null;
    const address = this.o.peers.get(leader);
    if (address === undefined) return null;
    const md = new Metadata();
    md.set(FORWARDED_HEADER, this.o.self);
    return { leaderId: leader, stream: this.clientsOf(address).lease.leaseKeepAlive(md) };
  }

  /** An etcdserverpb.Auth call served by the leader: a change (`write`) or a linearizable read. */
  etcdAuth<T>(write: boolean, deadlineMs: number, forwarded: boolean, local: Local<T>, call: EtcdAuthCall<T>, token: Token): Promise<T> {
    return this.route(
      write ? ETCD_WRITE : ETCD_READ,
      deadlineMs,
      forwarded,
      local,
      (c, metadata, deadline) => unary<T>((md, opts, cb) => call(c.auth, md, opts, cb), { deadline, metadata }),
      token,
    );
  }

  addMember(
    req: AddMemberRequest,
    deadlineMs: number,
    forwarded: boolean,
    local: Local<AddMemberResponse>,
    token: Token = null,
  ): Promise<AddMemberResponse> {
    return this.route(
      MEMBERSHIP,
      deadlineMs,
      forwarded,
      local,
      (c, metadata, deadline) => unary<AddMemberResponse>((md, opts, cb) => c.admin.addMember(req, md, opts, cb), { deadline, metadata }),
      token,
    );
  }

  removeMember(
    req: RemoveMemberRequest,
    deadlineMs: number,
    forwarded: boolean,
    local: Local<RemoveMemberResponse>,
    token: Token = null,
  ): Promise<RemoveMemberResponse> {
    return this.route(
      MEMBERSHIP,
      deadlineMs,
      forwarded,
      local,
      (c, metadata, deadline) =>
        unary<RemoveMemberResponse>((md, opts, cb) => c.admin.removeMember(req, md, opts, cb), { deadline, metadata }),
      token,
    );
  }

  /** etcd's MemberAdd, MemberRemove, MemberUpdate, MemberPromote: carried out on the leader. */
  etcdCluster<T>(deadlineMs: number, forwarded: boolean, local: Local<T>, call: EtcdClusterCall<T>, token: Token = null): Promise<T> {
    return this.route(
      ETCD_MEMBERSHIP,
      deadlineMs,
      forwarded,
      local,
      (c, metadata, deadline) => unary<T>((md, opts, cb) => call(c.cluster, md, opts, cb), { deadline, metadata }),
      token,
    );
  }

  /** A member's own attributes, recorded through the leader's log. */
  publishMemberAttributes(
    req: MemberAttributes,
    deadlineMs: number,
    forwarded: boolean,
    local: Local<PublishMemberAttributesResponse>,
  ): Promise<PublishMemberAttributesResponse> {
    return this.route(
      MEMBERSHIP,
      deadlineMs,
      forwarded,
      local,
      (c, metadata, deadline) =>
        unary<PublishMemberAttributesResponse>((md, opts, cb) => c.admin.publishMemberAttributes(req, md, opts, cb), {
          deadline,
          metadata,
        }),
      null,
    );
  }

  /** Transfers leadership from wherever the request arrives: here if this node leads, else on the leader. */
  async transferLeadership(to: string, deadlineMs: number, token: Token = null): Promise<void> {
    await this.route(
      TRANSFER,
      deadlineMs,
      false,
      () => this.o.driver.transferLeadership(to, deadlineMs),
      (c, metadata, deadline) =>
        unary<TransferLeadershipResponse>((md, opts, cb) => c.admin.transferLeadership({ to }, md, opts, cb), { deadline, metadata }),
      token,
    );
  }

  /**
   * Runs `local` if this node leads (or the call was forwarded here), else `remote` on the leader's
   * clients, retrying and waiting for a leader as `p` says.
   */
  private async route<T>(p: Policy, deadlineMs: number, forwarded: boolean, local: Local<T>, remote: Remote<T>, token: Token): Promise<T> {
    const d = this.o.driver;
    const refusal = p.refusable ? this.o.refuse?.() : null;
    if (refusal) throw refusal;
    // The caller hears an answer before its own deadline, whatever happens: a leader cut off from its
    // quorum, or one behind a partition this node still believes in, never makes it DEADLINE_EXCEEDED.
    const answerAt = answerBy(deadlineMs);
    const waitUntil = p.waitForLeader ? answerAt : 0;
    for (;;) {
      const leader = d.leaderId;
      let refused: UnavailableError | null = null;
      try {
        if (d.isLeader || forwarded) return await inTime(local(), answerAt, () => p.timedOut(d.leaderId));
        if (leader !== '' && leader !== this.o.self) {
          const address = this.o.peers.get(leader);
          // Not the leader's refusal: the call has not left this node, so every policy tries again.
          if (address !== undefined) return await this.forward(p, address, answerAt, remote, token);
          refused = new UnavailableError(`leader ${leader} has no known address`, leader, true);
        }
      } catch (e) {
        if (!(e instanceof UnavailableError) || !retries(p, e)) throw e;
        refused = e;
      }
      // A forwarded call goes back to its origin, which knows how long its caller can wait.
      if (forwarded && refused !== null) throw refused;
      if (Date.now() >= waitUntil) throw p.noLeader(d.leaderId, refused);
      if (leader === '' || leader === this.o.self) await d.waitForLeaderChange(waitUntil);
      else await d.waitForLeaderChange(Math.min(waitUntil, Date.now() + RETRY_PAUSE_MS));
    }
  }

  private async forward<T>(p: Policy, address: string, deadlineMs: number, remote: Remote<T>, token: Token): Promise<T> {
    const md = new Metadata();
    md.set(FORWARDED_HEADER, this.o.self);
    if (token !== null) md.set(TOKEN_HEADER, token);
    try {
      return await remote(this.clientsOf(address), md, deadlineMs);
    } catch (e) {
      if (isServiceError(e) && e.code === status.DEADLINE_EXCEEDED) throw p.timedOut(this.o.driver.leaderId);
      throw p.mapRemote && isServiceError(e) ? fromServiceError(e) : e;
    }
  }

  private clientsOf(address: string): LeaderClients {
    let c = this.clients.get(address);
    if (c === undefined) {
      const channel = new Channel(dialAddress(address, this.o.dialOverrides), channelCredentials(), {
        'grpc.max_receive_message_length': 64 << 20,
        'grpc.max_send_message_length': 64 << 20,
        'grpc.initial_reconnect_backoff_ms': 50,
        'grpc.max_reconnect_backoff_ms': 1000,
        ...NO_RETRY_BUFFER,
      });
      // Both clients share the channel (channelOverride): one connection per leader address.
      const on = { channelOverride: channel };
      c = {
        channel,
        kv: new KVClient(address, channelCredentials(), on),
        admin: new AdminClient(address, channelCredentials(), on),
        etcd: new etcdserverpb.KVClient(address, channelCredentials(), on),
        cluster: new etcdserverpb.ClusterClient(address, channelCredentials(), on),
        lease: new etcdserverpb.LeaseClient(address, channelCredentials(), on),
        auth: new etcdserverpb.AuthClient(address, channelCredentials(), on),
        maintenance: new etcdserverpb.MaintenanceClient(address, channelCredentials(), on),
      };
      this.clients.set(address, c);
    }
    return c;
  }

  /** Closes the clients of every address that is no longer a member's. */
  retain(addresses: Iterable<string>): void {
    const keep = new Set(addresses);
    for (const [address, c] of this.clients) {
      if (keep.has(address)) continue;
      c.channel.close();
      this.clients.delete(address);
    }
  }

  close(): void {
    this.retain([]);
  }
}

function retries(p: Policy, e: UnavailableError): boolean {
  return p.retry === 'any' || (p.retry === 'safe' && e.safeToRetry);
}
