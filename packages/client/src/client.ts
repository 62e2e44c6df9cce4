// RaftkvClient: the raftkv.v1 face (Propose, Read, Admin) and, as `etcd`, the etcd v3 KV face, over
// one set of endpoints and channels.
import type { ChannelCredentials, ChannelOptions } from '@grpc/grpc-js';
import {
  ReadConsistency,
  type AddMemberResponse,
  type DigestResponse,
  type ListMembersResponse,
  type ProposeRequest,
  type ProposeResponse,
  type ReadResponse,
  type RemoveMemberResponse,
  type StatusRequest,
  type StatusResponse,
  type TransferLeadershipResponse,
} from '@raftkv/proto';
import { Endpoints, type Stubs } from './endpoints.js';
import { EtcdKV } from './etcd-kv.js';
import { policyFor, withRetries, type AttemptObserver, type RetryPolicy, type Safety } from './retry.js';
import { EtcdLease } from './etcd-lease.js';
import { EtcdMaintenance } from './etcd-maintenance.js';
import { Session, type SessionId } from './session.js';
import type { EtcdWatchStub } from './etcd-watch.js';
import { credentialsOf, TlsConfigError, type TlsOptions } from './tls.js';
import { unary } from './unary.js';

export interface ClientOptions {
  /** host:port of the nodes, tried in order (the last one that answered first). */
  readonly endpoints: readonly string[];
  /** Deadline of a whole call, retries included (default 5000 ms). */
  readonly timeoutMs?: number;
  /** Deadline of one attempt on one endpoint (default: timeoutMs). */
  readonly attemptTimeoutMs?: number;
  /** TLS material; absent: plaintext. */
  readonly tls?: TlsOptions;
  /** Ready-made grpc-js channel credentials, instead of `tls` (for callers that already hold them). */
  readonly credentials?: ChannelCredentials;
  /**
   * Exactly-once session for raftkv.v1 proposals: true (a random client id) or a given one. Every
   * Propose then carries the next sequence and is retried after any UNAVAILABLE or DEADLINE_EXCEEDED.
   */
  readonly session?: boolean | { readonly clientId?: string; readonly firstSequence?: number };
  /** Pause after every endpoint refused once (default 50 ms, doubling up to maxBackoffMs = 1000). */
  readonly backoffMs?: number;
  readonly maxBackoffMs?: number;
  readonly channelOptions?: ChannelOptions;
}

export interface CallOptions {
  /** Overrides the client's timeoutMs for this call. */
  readonly timeoutMs?: number;
  /** Overrides the client's attemptTimeoutMs for this call. */
  readonly attemptTimeoutMs?: number;
  /** Told of every failed attempt of this call (see AttemptObserver). */
  readonly onFailedAttempt?: AttemptObserver;
  /** false: a single attempt on the first endpoint, whatever its error (default true: the retry contract). */
  readonly retries?: boolean;
}

export interface ProposeOptions extends CallOptions {
  /** This call's own (client_id, sequence), instead of the client's session (if any). */
  readonly session?: SessionId;
}

export type Expectation = { readonly value: Buffer | string } | { readonly absent: true };

const bytes = (v: Buffer | string): Buffer => (typeof v === 'string' ? Buffer.from(v) : v);

export class RaftkvClient {
  readonly etcd: EtcdKV;
  /** etcd's Lease API. */
  readonly lease: EtcdLease;
  readonly maintenance: EtcdMaintenance;
  private readonly eps: Endpoints;
  private readonly policy: RetryPolicy;
  private readonly timeoutMs: number;
  private readonly session: Session | null;

  constructor(o: ClientOptions) {
    if (o.credentials !== undefined && o.tls !== undefined) throw new TlsConfigError('give tls or credentials, not both');
    const { creds, options } = o.credentials === undefined ? credentialsOf(o.tls) : { creds: o.credentials, options: {} };
    this.eps = new Endpoints(o.endpoints, creds, { ...options, ...o.channelOptions });
    this.timeoutMs = o.timeoutMs ?? 5000;
    this.policy = {
      attemptTimeoutMs: o.attemptTimeoutMs ?? this.timeoutMs,
      backoffMs: o.backoffMs ?? 50,
      maxBackoffMs: o.maxBackoffMs ?? 1000,
    };
    const s = o.session;
    this.session = s === undefined || s === false ? null : s === true ? new Session() : new Session(s.clientId, s.firstSequence);
    this.etcd = new EtcdKV(this.eps, this.policy, this.timeoutMs);
    this.lease = new EtcdLease(this.eps, this.policy, this.timeoutMs);
    this.maintenance = new EtcdMaintenance(this.eps, this.policy, this.timeoutMs);
  }

  get endpoints(): readonly string[] {
    return this.eps.addresses;
  }

  /** The session's client id, if the client manages one. */
  get clientId(): string | undefined {
    return this.session?.clientId;
  }

  /**
   * Proposes a command. With a session (the call's own, or the client's) it is sent again after any
   * ambiguous failure and applied once; without one, only when the server said it was not applied.
   */
  propose(req: Omit<ProposeRequest, 'clientId' | 'sequence'> & Partial<SessionId>, o: ProposeOptions = {}): Promise<ProposeResponse> {
    const explicit = o.session ?? (req.clientId ? { clientId: req.clientId, sequence: req.sequence ?? 0 } : undefined);
    const id = explicit ?? this.session?.next() ?? { clientId: '', sequence: 0 };
    const full: ProposeRequest = { command: req.command, clientId: id.clientId, sequence: id.sequence };
    const safety: Safety = id.clientId !== '' && id.sequence > 0 ? 'idempotent' : 'write';
    return this.call(safety, o, (s, d) => unary((r, md, op, cb) => s.kv.propose(r, md, op, cb), full, d));
  }

  put(key: string, value: Buffer | string, o: ProposeOptions = {}): Promise<ProposeResponse> {
    return this.propose({ command: { $case: 'put', put: { key, value: bytes(value) } } }, o);
  }

  delete(key: string, o: ProposeOptions = {}): Promise<ProposeResponse> {
    return this.propose({ command: { $case: 'delete', delete: { key } } }, o);
  }

  compareAndSwap(key: string, expect: Expectation, newValue: Buffer | string, o: ProposeOptions = {}): Promise<ProposeResponse> {
    const absent = 'absent' in expect;
    const expectedValue = 'value' in expect ? bytes(expect.value) : Buffer.alloc(0);
    return this.propose(
      { command: { $case: 'compareAndSwap', compareAndSwap: { key, expectedValue, expectAbsent: absent, newValue: bytes(newValue) } } },
      o,
    );
  }

  /** Linearizable unless `stale` (then the answering node's own state, possibly behind). */
  read(key: string, o: CallOptions & { readonly stale?: boolean } = {}): Promise<ReadResponse> {
    const consistency = o.stale === true ? ReadConsistency.READ_CONSISTENCY_STALE : ReadConsistency.READ_CONSISTENCY_LINEARIZABLE;
    return this.call('idempotent', o, (s, d) => unary((r, md, op, cb) => s.kv.read(r, md, op, cb), { key, consistency }, d));
  }

  /** Admin.Status of the first endpoint that answers. */
  status(o: CallOptions = {}): Promise<StatusResponse> {
    return this.call('idempotent', o, (s, d) => this.statusAt(s, d));
  }

  /** Admin.Status of one endpoint (it need not be among the client's), no retries. */
  statusOf(address: string, o: CallOptions = {}): Promise<StatusResponse> {
    return this.statusAt(this.eps.stubs(address), Date.now() + (o.timeoutMs ?? this.timeoutMs));
  }

  listMembers(o: CallOptions = {}): Promise<ListMembersResponse> {
    return this.call('idempotent', o, (s, d) => unary((r, md, op, cb) => s.admin.listMembers(r, md, op, cb), {}, d));
  }

  /** Admin.Digest of the first endpoint that answers (a digest of its state machine at its applied index). */
  digest(o: CallOptions = {}): Promise<DigestResponse> {
    return this.call('idempotent', o, (s, d) => unary((r, md, op, cb) => s.admin.digest(r, md, op, cb), {}, d));
  }

  /** Membership changes are idempotent on the server (a repeated one answers "no change needed"). */
  addMember(id: string, address: string, learner = false, o: CallOptions = {}): Promise<AddMemberResponse> {
    return this.call('idempotent', o, (s, d) => unary((r, md, op, cb) => s.admin.addMember(r, md, op, cb), { id, address, learner }, d));
  }

  removeMember(id: string, o: CallOptions = {}): Promise<RemoveMemberResponse> {
    return this.call('idempotent', o, (s, d) => unary((r, md, op, cb) => s.admin.removeMember(r, md, op, cb), { id }, d));
  }

  /** Hands leadership to `to` ('' = the most caught-up voter); a follower's refusal names the leader, which is asked next. */
  transferLeadership(to = '', o: CallOptions = {}): Promise<TransferLeadershipResponse> {
    return this.call('idempotent', o, (s, d) => unary((r, md, op, cb) => s.admin.transferLeadership(r, md, op, cb), { to }, d));
  }

  /** A new etcd Watch stream to `address` (one of the endpoints); the caller reconnects elsewhere on failure. */
  etcdWatch(address: string): ReturnType<EtcdWatchStub['watch']> {
    return this.eps.stubs(address).watch.watch();
  }

  /** The endpoints in the order calls try them (the last one that answered first). */
  endpointOrder(): string[] {
    return this.eps.order();
  }

  close(): void {
    this.eps.close();
  }

  private async statusAt(s: Stubs, deadline: number): Promise<StatusResponse> {
    const r = await unary<StatusRequest, StatusResponse>((q, md, op, cb) => s.admin.status(q, md, op, cb), {}, deadline);
    this.eps.learn(s.address, r);
    return r;
  }

  private call<T>(safety: Safety, o: CallOptions, attempt: (s: Stubs, deadline: number) => Promise<T>): Promise<T> {
    const policy = policyFor(this.policy, o);
    return withRetries(this.eps, safety, Date.now() + (o.timeoutMs ?? this.timeoutMs), policy, attempt, o.onFailedAttempt);
  }
}
