// An in-process stand-in for a raftkv node: grpc-js Server on 127.0.0.1:0 serving raftkv.v1 KV and
// Admin and etcdserverpb.KV, each method answering from a script (a queue of outcomes per method),
// and counting what it received.
import {
  Metadata,
  Server,
  ServerCredentials,
  status,
  type sendUnaryData,
  type ServerUnaryCall,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { AdminService, KVService, etcdserverpb } from '@raftkv/proto';

/** One scripted answer: a response, an error (with trailers), or never answering. */
export type Outcome =
  | { readonly ok: unknown }
  | { readonly code: status; readonly details?: string; readonly retry?: boolean; readonly leader?: string; readonly afterMs?: number }
  | { readonly hang: true };

export interface Fake {
  readonly address: string;
  readonly id: string;
  /** Requests received, by method name ('propose', 'read', 'status', 'range', 'put', ...). */
  readonly calls: Map<string, unknown[]>;
  /** Outcomes still to give, by method; when empty, `fallback(method)` answers. */
  readonly script: Map<string, Outcome[]>;
  stop(): Promise<void>;
}

const HEADER_PLACEHOLDER = { clusterId: 0, memberId: 0, revision: 0, raftTerm: 0 };

/** Encodes an unsigned varint (for a header with ids beyond 2^53). */
export function varint(v: bigint): Buffer {
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return Buffer.from(out);
}

/** A RangeResponse's bytes whose header carries exact 64-bit ids. */
export function rangeWithBigHeader(clusterId: bigint, memberId: bigint, revision: bigint, rest: etcdserverpb.RangeResponse): Buffer {
  const h = Buffer.concat([
    Buffer.from([0x08]),
    varint(clusterId),
    Buffer.from([0x10]),
    varint(memberId),
    Buffer.from([0x18]),
    varint(revision),
  ]);
  const body = Buffer.from(etcdserverpb.RangeResponse.encode({ ...rest, header: undefined }).finish());
  return Buffer.concat([Buffer.from([0x0a]), varint(BigInt(h.length)), h, body]);
}

export async function startFake(id: string, fallback: (method: string, req: unknown) => Outcome): Promise<Fake> {
  const calls = new Map<string, unknown[]>();
  const script = new Map<string, Outcome[]>();
  const handler =
    (method: string) =>
    (call: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>): void => {
      calls.set(method, [...(calls.get(method) ?? []), call.request]);
      const o = script.get(method)?.shift() ?? fallback(method, call.request);
      if ('hang' in o) return;
      if ('ok' in o) return cb(null, o.ok);
      const metadata = new Metadata();
      if (o.retry === true) metadata.set('raftkv-retry', '1');
      if (o.leader !== undefined) metadata.set('raftkv-leader', o.leader);
      const answer = (): void => cb({ code: o.code, details: o.details ?? 'scripted failure', metadata });
      if (o.afterMs === undefined) answer();
      else setTimeout(answer, o.afterMs);
    };
  const impl = (names: string[]): UntypedServiceImplementation => Object.fromEntries(names.map((n) => [n, handler(n)]));
  const server = new Server();
  server.addService(KVService, impl(['propose', 'read']));
  server.addService(AdminService, impl(['status', 'listMembers', 'addMember', 'removeMember', 'transferLeadership', 'digest']));
  // etcd responses are serialized as given: a Buffer passes through (a header with big ids), else encoded.
  const etcd = Object.fromEntries(
    Object.entries(etcdserverpb.KVService).map(([k, m]) => [
      k,
      { ...m, responseSerialize: (v: unknown) => (Buffer.isBuffer(v) ? v : m.responseSerialize(v as never)) },
    ]),
  );
  server.addService(etcd as typeof etcdserverpb.KVService, impl(['range', 'put', 'deleteRange', 'txn', 'compact']));
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    address: `127.0.0.1:${port}`,
    id,
    calls,
    script,
    stop: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
}

/** What a healthy node answers to everything (its Status names it and the leader). */
export function healthy(id: string, leader: string): (method: string) => Outcome {
  return (method) => {
    switch (method) {
      case 'propose':
        return {
          ok: {
            succeeded: true,
            previousFound: false,
            previousValue: Buffer.alloc(0),
            index: 7,
            term: 2,
            leaderId: leader,
            previousValueOmitted: false,
          },
        };
      case 'read':
        return { ok: { found: true, value: Buffer.from(`from ${id}`), index: 7, leaderId: leader } };
      case 'status':
        return {
          ok: {
            id,
            role: id === leader ? 2 : 1,
            term: 2,
            leaderId: leader,
            commitIndex: 7,
            appliedIndex: 7,
            lastLogIndex: 7,
            members: [],
            version: '0.3.0',
            schemaVersion: 3,
            peerProtocolVersion: 2,
            clusterVersion: '0.3.0',
          },
        };
      case 'transferLeadership':
        return { ok: { leaderId: id, term: 3 } };
      case 'range':
        return { ok: { header: { ...HEADER_PLACEHOLDER, revision: 5 }, kvs: [], more: false, count: 0 } };
      case 'put':
        return { ok: { header: { ...HEADER_PLACEHOLDER, revision: 6 } } };
      case 'txn':
        return { ok: { header: { ...HEADER_PLACEHOLDER, revision: 6 }, succeeded: true, responses: [] } };
      default:
        return { code: status.UNIMPLEMENTED };
    }
  };
}
