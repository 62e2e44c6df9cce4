import { fileURLToPath } from 'node:url';

export * from './gen/raftkv/v1/kv.js';
export * from './gen/raftkv/v1/admin.js';
export * from './gen/raftkv/v1/raft.js';
export * from './gen/raftkv/v1/cluster.js';
export { encodeReusing } from './encode.js';
// The log entry envelope: internal to the nodes (not a client API).
export { Command } from './gen/raftkv/v1/command.js';
export { ClusterVersionSetRequest, ClusterVersionSetResponse } from './gen/raftkv/v1/command.js';

// etcd v3.4's API (proto/etcd): namespaces, because its names (KV, RangeRequest, ...) overlap raftkv.v1's.
export * as etcdserverpb from './gen/etcd/etcdserver/etcdserverpb/rpc.js';
export * as mvccpb from './gen/etcd/mvcc/mvccpb/kv.js';
export * as authpb from './gen/etcd/auth/authpb/auth.js';

/** Directory holding the .proto sources (raftkv/v1 and etcd/...), for @grpc/proto-loader and reflection. */
export const protoRoot: string = fileURLToPath(new URL('../protos/', import.meta.url));
