import { fileURLToPath } from 'node:url';

export * from './gen/raftkv/v1/kv.js';
export * from './gen/raftkv/v1/admin.js';
export * from './gen/raftkv/v1/raft.js';

/** Directory holding the .proto sources (raftkv/v1/*.proto), for @grpc/proto-loader and reflection. */
export const protoRoot: string = fileURLToPath(new URL('../protos/', import.meta.url));
