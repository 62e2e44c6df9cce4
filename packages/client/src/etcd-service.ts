// The grpc-js definition of etcdserverpb.KV as this client calls it: requests encoded by the generated
// code, responses decoded by it except for the header (etcd-wire.ts), so ids above 2^53 stay exact.
import { makeGenericClientConstructor, type ChannelCredentials, type ChannelOptions, type Client } from '@grpc/grpc-js';
import { etcdserverpb } from '@raftkv/proto';
import { splitHeader, type Header } from './etcd-wire.js';
import type { UnaryMethod } from './unary.js';

/** An etcd response with its header's ids exact (bigint). */
export type WithHeader<T> = Omit<T, 'header'> & { header: Header | undefined };

export type RangeResponse = WithHeader<etcdserverpb.RangeResponse>;
export type PutResponse = WithHeader<etcdserverpb.PutResponse>;
export type DeleteRangeResponse = WithHeader<etcdserverpb.DeleteRangeResponse>;
export type TxnResponse = WithHeader<etcdserverpb.TxnResponse>;
export type CompactionResponse = WithHeader<etcdserverpb.CompactionResponse>;

interface Codec<T> {
  encode(m: T): { finish(): Uint8Array };
  decode(b: Uint8Array): T;
}

function method<Req, Res>(name: string, req: Codec<Req>, res: Codec<Res>) {
  return {
    path: `/etcdserverpb.KV/${name}`,
    requestStream: false,
    responseStream: false,
    requestSerialize: (v: Req): Buffer => Buffer.from(req.encode(v).finish()),
    requestDeserialize: (b: Buffer): Req => req.decode(b),
    responseSerialize: (): Buffer => {
      throw new Error('client-side definition: responses are never serialized here');
    },
    responseDeserialize: (b: Buffer): WithHeader<Res> => {
      const { header, rest } = splitHeader(b);
      return { ...res.decode(rest), header };
    },
  } as const;
}

const EtcdKVService = {
  range: method('Range', etcdserverpb.RangeRequest, etcdserverpb.RangeResponse),
  put: method('Put', etcdserverpb.PutRequest, etcdserverpb.PutResponse),
  deleteRange: method('DeleteRange', etcdserverpb.DeleteRangeRequest, etcdserverpb.DeleteRangeResponse),
  txn: method('Txn', etcdserverpb.TxnRequest, etcdserverpb.TxnResponse),
  compact: method('Compact', etcdserverpb.CompactionRequest, etcdserverpb.CompactionResponse),
};

export interface EtcdKVStub extends Client {
  range: UnaryMethod<etcdserverpb.RangeRequest, RangeResponse>;
  put: UnaryMethod<etcdserverpb.PutRequest, PutResponse>;
  deleteRange: UnaryMethod<etcdserverpb.DeleteRangeRequest, DeleteRangeResponse>;
  txn: UnaryMethod<etcdserverpb.TxnRequest, TxnResponse>;
  compact: UnaryMethod<etcdserverpb.CompactionRequest, CompactionResponse>;
}

export const EtcdKVStub = makeGenericClientConstructor(EtcdKVService, 'etcdserverpb.KV') as unknown as new (
  address: string,
  creds: ChannelCredentials,
  options?: Partial<ChannelOptions>,
) => EtcdKVStub;
