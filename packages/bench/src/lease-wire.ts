// etcd's Lease API (grant, keep-alive stream) on one endpoint for the lease benchmark, for etcd and
// raftkv alike: answers' headers are read apart by @raftkv/client's etcd wire reader, as etcd's ids do
// not fit the numbers the generated decoders use.
import { Client, credentials, type ClientDuplexStream } from '@grpc/grpc-js';
import { splitHeader } from '@raftkv/client';
import { etcdserverpb } from '@raftkv/proto';

/** A keep-alive answer: the lease, its TTL (<= 0: gone) and the raft term of the answer's header. */
export interface KeepAliveAnswer {
  readonly id: number;
  readonly ttl: number;
  readonly term: number;
}

const toBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

export class LeaseWire {
  private readonly client: Client;

  constructor(endpoint: string) {
    this.client = new Client(endpoint, credentials.createInsecure());
  }

  /** LeaseGrant of lease `id` (chosen by the caller, below 2^53) with `ttl` seconds. */
  grant(id: number, ttl: number): Promise<void> {
    const m = etcdserverpb.LeaseService.leaseGrant;
    return new Promise((resolve, reject) =>
      this.client.makeUnaryRequest(
        m.path,
        (r: etcdserverpb.LeaseGrantRequest) => toBuffer(etcdserverpb.LeaseGrantRequest.encode(r).finish()),
        (b: Buffer) => etcdserverpb.LeaseGrantResponse.decode(splitHeader(b).rest),
        { ID: id, TTL: ttl },
        (e, r) => (e ? reject(e) : r?.error ? reject(new Error(r.error)) : resolve()),
      ),
    );
  }

  keepAlive(): ClientDuplexStream<etcdserverpb.LeaseKeepAliveRequest, KeepAliveAnswer> {
    const m = etcdserverpb.LeaseService.leaseKeepAlive;
    return this.client.makeBidiStreamRequest(
      m.path,
      (r: etcdserverpb.LeaseKeepAliveRequest) => toBuffer(etcdserverpb.LeaseKeepAliveRequest.encode(r).finish()),
      (b: Buffer): KeepAliveAnswer => {
        const { header, rest } = splitHeader(b);
        const r = etcdserverpb.LeaseKeepAliveResponse.decode(rest);
        return { id: r.ID, ttl: r.TTL, term: Number(header?.raftTerm ?? 0n) };
      },
    );
  }

  close(): void {
    this.client.close();
  }
}

/**
 * Grants `count` leases of `ttl` seconds on `endpoint` (the leader), ids firstId, firstId + 1, ...,
 * 50 at a time: ids chosen here, as etcd's own are 63-bit, beyond what this client decodes
 * (forceLong=number).
 */
export async function grantLeases(endpoint: string, firstId: number, count: number, ttl: number): Promise<number[]> {
  const granter = new LeaseWire(endpoint);
  const ids: number[] = [];
  try {
    for (let i = 0; i < count; i += 50) {
      const batch = Array.from({ length: Math.min(50, count - i) }, (_, j) => firstId + i + j);
      await Promise.all(batch.map((id) => granter.grant(id, ttl)));
      ids.push(...batch);
    }
  } finally {
    granter.close();
  }
  return ids;
}
