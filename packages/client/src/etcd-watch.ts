// The grpc-js definition of etcdserverpb.Watch as this client calls it: one bidirectional stream,
// responses decoded with their header's ids exact (etcd-wire.ts), as the KV stub's.
import {
  makeGenericClientConstructor,
  type ChannelCredentials,
  type ChannelOptions,
  type Client,
  type ClientDuplexStream,
} from '@grpc/grpc-js';
import { etcdserverpb } from '@raftkv/proto';
import type { WithHeader } from './etcd-service.js';
import { splitHeader } from './etcd-wire.js';

export type WatchResponse = WithHeader<etcdserverpb.WatchResponse>;

const EtcdWatchService = {
  watch: {
    path: '/etcdserverpb.Watch/Watch',
    requestStream: true,
    responseStream: true,
    requestSerialize: (v: etcdserverpb.WatchRequest): Buffer => Buffer.from(etcdserverpb.WatchRequest.encode(v).finish()),
    requestDeserialize: (b: Buffer): etcdserverpb.WatchRequest => etcdserverpb.WatchRequest.decode(b),
    responseSerialize: (): Buffer => {
      throw new Error('client-side definition: responses are never serialized here');
    },
    responseDeserialize: (b: Buffer): WatchResponse => {
      const { header, rest } = splitHeader(b);
      return { ...etcdserverpb.WatchResponse.decode(rest), header };
    },
  },
} as const;

export interface EtcdWatchStub extends Client {
  watch(): ClientDuplexStream<etcdserverpb.WatchRequest, WatchResponse>;
}

export const EtcdWatchStub = makeGenericClientConstructor(EtcdWatchService, 'etcdserverpb.Watch') as unknown as new (
  address: string,
  creds: ChannelCredentials,
  options?: Partial<ChannelOptions>,
) => EtcdWatchStub;
