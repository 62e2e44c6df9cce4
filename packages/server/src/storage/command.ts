// The replicated commands (raftkv.v1.Command, the data of a normal log entry) and what applying one
// answers: a raftkv.v1 Propose or one of etcd's writes, all on the one MVCC store.
import {
  Command,
  encodeReusing,
  type ClusterVersionSetResponse,
  type etcdserverpb,
  type ProposeRequest,
  type ProposeResponse,
} from '@raftkv/proto';

/** The state machine's answer to an applied command, by the command's kind. */
export type CommandResponse =
  | { readonly $case: 'propose'; readonly propose: ProposeResponse }
  | { readonly $case: 'put'; readonly put: etcdserverpb.PutResponse }
  | { readonly $case: 'deleteRange'; readonly deleteRange: etcdserverpb.DeleteRangeResponse }
  | { readonly $case: 'txn'; readonly txn: etcdserverpb.TxnResponse }
  | { readonly $case: 'compaction'; readonly compaction: etcdserverpb.CompactionResponse }
  // Member commands: recorded (a missing member is an error outcome instead).
  | { readonly $case: 'memberAttributes'; readonly memberAttributes: Record<string, never> }
  | { readonly $case: 'memberPeerUpdate'; readonly memberPeerUpdate: Record<string, never> }
  | { readonly $case: 'leaseGrant'; readonly leaseGrant: etcdserverpb.LeaseGrantResponse }
  | { readonly $case: 'leaseRevoke'; readonly leaseRevoke: etcdserverpb.LeaseRevokeResponse }
  /** An etcd auth change was applied (auth/auth-store.ts); the auth revision after it. */
  | { readonly $case: 'auth'; readonly auth: { readonly revision: number } }
  | { readonly $case: 'clusterVersionSet'; readonly clusterVersionSet: ClusterVersionSetResponse }
  | { readonly $case: 'alarm'; readonly alarm: etcdserverpb.AlarmResponse };

export type CommandKind = CommandResponse['$case'];

/** The key-value commands, each answered by a response of its own kind (auth changes answer 'auth'). */
export type KvKind = Exclude<CommandKind, 'auth'>;
type AnyKvRequest = Extract<NonNullable<Command['request']>, { $case: KvKind }>;
export type KvRequest<K extends KvKind = KvKind> = Extract<AnyKvRequest, { $case: K }>;

type ResponseOf<K extends CommandKind> = Extract<CommandResponse, { $case: K }> extends Record<K, infer R> ? R : never;

/** The answer of kind `k`; any other kind means the entry at that index was not the command proposed. */
export function responseOf<K extends CommandKind>(r: CommandResponse, k: K): ResponseOf<K> {
  if (r.$case !== k) throw new Error(`the state machine answered a ${r.$case} to a ${k} command`);
  return (r as unknown as Record<K, ResponseOf<K>>)[k];
}

/** The log entry data of a command; `authUser`: who proposed it, checked at apply when auth is enabled. */
export function encodeCommand(request: NonNullable<Command['request']>, authUser = ''): Uint8Array {
  return encodeReusing(Command.encode, { request, authUser });
}

export const proposeCommand = (propose: ProposeRequest, authUser = ''): Uint8Array =>
  encodeCommand({ $case: 'propose', propose }, authUser);
