// etcd 3.4 through its own gRPC API (etcdserverpb.KV: Put, Range, Txn; Maintenance.Status), using the
// wire-compatible proto subset in ../protos loaded with @grpc/proto-loader.
import { fileURLToPath } from 'node:url';
import { loadSync, type MethodDefinition } from '@grpc/proto-loader';
import { openChannels, type Channels, type ClientKind, type UnaryMethod } from './transport.js';
import type { CasResult, Connection, SystemClient } from './target.js';

/** Directory of the etcd proto subset (etcdserverpb/rpc.proto, mvccpb/kv.proto). */
export const etcdProtoRoot: string = fileURLToPath(new URL('../protos/', import.meta.url));

interface TxnResponse {
  succeeded?: boolean;
  responses?: { response_range?: { kvs?: { value?: Buffer }[] } }[];
}
interface StatusResponse {
  header?: { member_id?: string };
  leader?: string;
}

interface EtcdMethods {
  put: UnaryMethod<object, object>;
  range: UnaryMethod<object, object>;
  txn: UnaryMethod<object, TxnResponse>;
  status: UnaryMethod<object, StatusResponse>;
}

let methods: EtcdMethods | undefined;
function etcdMethods(): EtcdMethods {
  if (methods === undefined) {
    // longs as strings: member ids are full 64-bit values.
    const def = loadSync('etcdserverpb/rpc.proto', {
      includeDirs: [etcdProtoRoot],
      keepCase: true,
      longs: String,
      enums: Number,
      defaults: false,
      oneofs: true,
    });
    const method = <Res>(service: string, name: string): UnaryMethod<object, Res> => {
      const m = (def[`etcdserverpb.${service}`] as Record<string, MethodDefinition<object, Res>> | undefined)?.[name];
      if (m === undefined) throw new Error(`etcd proto subset lacks ${service}.${name}`);
      return m;
    };
    methods = {
      put: method('KV', 'Put'),
      range: method('KV', 'Range'),
      txn: method<TxnResponse>('KV', 'Txn'),
      status: method<StatusResponse>('Maintenance', 'Status'),
    };
  }
  return methods;
}

// Compare.CompareResult.EQUAL, Compare.CompareTarget.CREATE / VALUE
const EQUAL = 0;
const TARGET_CREATE = 1;
const TARGET_VALUE = 3;

class EtcdConnection implements Connection {
  private readonly m = etcdMethods();
  constructor(private readonly channels: Channels) {}

  async put(channel: number, key: string, value: Buffer): Promise<void> {
    await this.channels.call(channel, this.m.put, { key: Buffer.from(key), value });
  }

  async read(channel: number, key: string, linearizable: boolean): Promise<void> {
    await this.channels.call(channel, this.m.range, { key: Buffer.from(key), serializable: !linearizable });
  }

  async cas(channel: number, key: string, expected: Buffer | undefined, next: Buffer): Promise<CasResult> {
    const k = Buffer.from(key);
    const compare =
      expected === undefined
        ? { result: EQUAL, target: TARGET_CREATE, key: k, create_revision: 0 } // absent: never created
        : { result: EQUAL, target: TARGET_VALUE, key: k, value: expected };
    // On a mismatch the failure branch reads the current value, as raftkv's answer carries it.
    const res = await this.channels.call(channel, this.m.txn, {
      compare: [compare],
      success: [{ request_put: { key: k, value: next } }],
      failure: [{ request_range: { key: k } }],
    });
    if (res.succeeded === true) return { succeeded: true, current: undefined };
    return { succeeded: false, current: res.responses?.[0]?.response_range?.kvs?.[0]?.value };
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
    .call(0, etcdMethods().status, {})
    .then((res) => ({ endpoint, memberId: res.header?.member_id ?? '0', leader: res.leader ?? '0' }))
    .finally(() => channels.close());
}

export const etcdClient: SystemClient = {
  name: 'etcd',
  connect: (kind: ClientKind, endpoints, count, opTimeoutMs) => new EtcdConnection(openChannels(kind, endpoints, count, opTimeoutMs)),
  async findLeader(endpoints, timeoutMs) {
    const answers = await Promise.allSettled(endpoints.map((e) => etcdStatus(e, timeoutMs)));
    const statuses = answers.flatMap((a) => (a.status === 'fulfilled' ? [a.value] : []));
    return statuses.find((s) => s.leader !== '0' && s.memberId === s.leader)?.endpoint;
  },
};
