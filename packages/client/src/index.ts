export { RaftkvClient, type CallOptions, type ClientOptions, type Expectation, type ProposeOptions } from './client.js';
export { EtcdMaintenance } from './etcd-maintenance.js';
export { EtcdKV, prefixEnd, txnIsReadOnly, type EtcdCallOptions, type Partial3 } from './etcd-kv.js';
export type { CompactionResponse, DeleteRangeResponse, PutResponse, RangeResponse, TxnResponse, WithHeader } from './etcd-service.js';
export { splitHeader, uint64Field, WireError, type Header } from './etcd-wire.js';
export { LEADER_TRAILER, RETRY_TRAILER, isServiceError, leaderHint, notApplied } from './errors.js';
export { mayRetry, type AttemptObserver, type Safety } from './retry.js';
export { Session, type SessionId } from './session.js';
export { TlsConfigError, type TlsOptions } from './tls.js';
