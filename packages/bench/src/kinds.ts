// Names shared by the options, the targets and the transports; a module of its own so that none of
// them has to import another for a type (args → transport → target → args was a circle).

/** A system under test. */
export type SystemName = 'raftkv' | 'etcd';

/** grpc-js (the library clients use) or h2 (a minimal HTTP/2 gRPC client that costs less CPU). */
export type ClientKind = 'grpc-js' | 'h2';

/** The client API the load goes through: raftkv.v1 (raftkv only) or etcd's v3 KV API (both systems). */
export type ApiName = 'raftkv' | 'etcd';
