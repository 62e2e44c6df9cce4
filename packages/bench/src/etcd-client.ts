// etcd's v3 KV API (etcdserverpb.KV: Put, Range, Txn) through @raftkv/proto's generated etcdserverpb:
// the same client code drives etcd and, with --api etcd, raftkv. etcd's leader is found with
// Maintenance.Status. Answers' headers are read by @raftkv/client's etcd wire reader (etcd's ids do not
// fit a JS number, which the generated decoders use).
import { prefixEnd, splitHeader, uint64Field, type Header } from '@raftkv/client';
import { etcdserverpb } from '@raftkv/proto';
import { openChannels, type Channels, type ClientKind, type UnaryMethod } from './transport.js';
import type { ApiClient, CasResult, Connection, LeaderFinder, TxnResult } from './target.js';

const { Compare_CompareResult: Result, Compare_CompareTarget: Target } = etcdserverpb;

interface GeneratedMethod<Req, Res> {
  path: string;
  requestSerialize: (req: Req) => Buffer;
  responseDeserialize: (bytes: Buffer) => Res;
}

/** A decoded response and its header, read apart (the body's own `header` is left unset). */
interface WithHeader<T> {
  header: Header | undefined;
  body: T;
}

/** A generated method whose answer is decoded with its header read apart. */
function tolerant<Req, Res>(m: GeneratedMethod<Req, Res>): UnaryMethod<Req, WithHeader<Res>> {
  return {
    path: m.path,
    requestSerialize: m.requestSerialize,
    responseDeserialize: (bytes) => {
      const { header, rest } = splitHeader(bytes);
      return { header, body: m.responseDeserialize(rest) };
    },
  };
}

const KV = {
  put: tolerant(etcdserverpb.KVService.put),
  range: tolerant(etcdserverpb.KVService.range),
  txn: tolerant(etcdserverpb.KVService.txn),
};
const STATUS: UnaryMethod<etcdserverpb.StatusRequest, { memberId: string; leader: string }> = {
  path: etcdserverpb.MaintenanceService.status.path,
  requestSerialize: etcdserverpb.MaintenanceService.status.requestSerialize,
  // The two fields that name the leader: header.member_id and leader (4), as 64-bit decimal strings.
  responseDeserialize: (bytes) => {
    const { header, rest } = splitHeader(bytes);
    return { memberId: String(header?.memberId ?? 0n), leader: String(uint64Field(rest, 4)) };
  },
};

class EtcdConnection implements Connection {
  constructor(private readonly channels: Channels) {}

  async put(channel: number, key: string, value: Buffer): Promise<void> {
    await this.channels.call(channel, KV.put, etcdserverpb.PutRequest.fromPartial({ key: Buffer.from(key), value }));
  }

  async read(channel: number, key: string, linearizable: boolean): Promise<void> {
    await this.channels.call(
      channel,
      KV.range,
      etcdserverpb.RangeRequest.fromPartial({ key: Buffer.from(key), serializable: !linearizable }),
    );
  }

  async range(channel: number, prefix: string): Promise<number> {
    const key = Buffer.from(prefix);
    const res = await this.channels.call(channel, KV.range, etcdserverpb.RangeRequest.fromPartial({ key, rangeEnd: prefixEnd(key) }));
    return res.body.kvs.length;
  }

  async cas(channel: number, key: string, expected: Buffer | undefined, next: Buffer): Promise<CasResult> {
    const k = Buffer.from(key);
    const compare =
      expected === undefined // absent: never created
        ? etcdserverpb.Compare.fromPartial({
            result: Result.EQUAL,
            target: Target.CREATE,
            key: k,
            targetUnion: { $case: 'createRevision', createRevision: 0 },
          })
        : etcdserverpb.Compare.fromPartial({
            result: Result.EQUAL,
            target: Target.VALUE,
            key: k,
            targetUnion: { $case: 'value', value: expected },
          });
    const res = await this.txnCall(channel, compare, k, next);
    if (res.succeeded) return { succeeded: true, current: undefined };
    const r = res.responses[0]?.response;
    return { succeeded: false, current: r?.$case === 'responseRange' ? r.responseRange.kvs[0]?.value : undefined };
  }

  async txn(channel: number, key: string, modRevision: number, value: Buffer): Promise<TxnResult> {
    const k = Buffer.from(key);
    const compare = etcdserverpb.Compare.fromPartial({
      result: Result.EQUAL,
      target: Target.MOD,
      key: k,
      targetUnion: { $case: 'modRevision', modRevision },
    });
    const res = await this.txnCall(channel, compare, k, value);
    if (res.succeeded) return { succeeded: true, modRevision: res.revision };
    const r = res.responses[0]?.response;
    return { succeeded: false, modRevision: r?.$case === 'responseRange' ? (r.responseRange.kvs[0]?.modRevision ?? 0) : 0 };
  }

  /** Txn: if compare, put key=value; otherwise read key (the answer a retry needs, as raftkv's CAS gives it). */
  private async txnCall(
    channel: number,
    compare: etcdserverpb.Compare,
    key: Buffer,
    value: Buffer,
  ): Promise<etcdserverpb.TxnResponse & { revision: number }> {
    const req = etcdserverpb.TxnRequest.fromPartial({
      compare: [compare],
      success: [{ request: { $case: 'requestPut', requestPut: { key, value } } }],
      failure: [{ request: { $case: 'requestRange', requestRange: { key } } }],
    });
    const res = await this.channels.call(channel, KV.txn, req);
    return { ...res.body, revision: Number(res.header?.revision ?? 0n) };
  }

  close(): void {
    this.channels.close();
  }
}

export interface EtcdStatus {
  endpoint: string;
  memberId: string;
  leader: string;
}

export function etcdStatus(endpoint: string, timeoutMs: number): Promise<EtcdStatus> {
  const channels = openChannels('grpc-js', [endpoint], 1, timeoutMs);
  return channels
    .call(0, STATUS, {})
    .then((res) => ({ endpoint, ...res }))
    .finally(() => channels.close());
}

/** etcd's KV API, for etcd and (--api etcd) raftkv. */
export const etcdApi: ApiClient = {
  name: 'etcd',
  connect: (kind: ClientKind, endpoints, count, opTimeoutMs) => new EtcdConnection(openChannels(kind, endpoints, count, opTimeoutMs)),
};

export const etcdLeader: LeaderFinder = {
  system: 'etcd',
  async findLeader(endpoints, timeoutMs) {
    const answers = await Promise.allSettled(endpoints.map((e) => etcdStatus(e, timeoutMs)));
    const statuses = answers.flatMap((a) => (a.status === 'fulfilled' ? [a.value] : []));
    return statuses.find((s) => s.leader !== '0' && s.memberId === s.leader)?.endpoint;
  },
};
