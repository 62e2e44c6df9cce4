// The replicated commands (raftkv.v1.Command, the data of a normal log entry) and what applying one
// answers: a raftkv.v1 Propose or one of etcd's writes, all on the one MVCC store.
import { Command, type etcdserverpb, type ProposeRequest, type ProposeResponse } from '@raftkv/proto';

/** The state machine's answer to an applied command, by the command's kind. */
export type CommandResponse =
  | { readonly $case: 'propose'; readonly propose: ProposeResponse }
  | { readonly $case: 'put'; readonly put: etcdserverpb.PutResponse }
  | { readonly $case: 'deleteRange'; readonly deleteRange: etcdserverpb.DeleteRangeResponse }
  | { readonly $case: 'txn'; readonly txn: etcdserverpb.TxnResponse }
  | { readonly $case: 'compaction'; readonly compaction: etcdserverpb.CompactionResponse }
  | { readonly $case: 'alarm'; readonly alarm: etcdserverpb.AlarmResponse };

export type CommandKind = CommandResponse['$case'];

type ResponseOf<K extends CommandKind> = Extract<CommandResponse, { $case: K }> extends Record<K, infer R> ? R : never;

/** The answer of kind `k`; any other kind means the entry at that index was not the command proposed. */
export function responseOf<K extends CommandKind>(r: CommandResponse, k: K): ResponseOf<K> {
  if (r.$case !== k) throw new Error(`the state machine answered a ${r.$case} to a ${k} command`);
  return (r as unknown as Record<K, ResponseOf<K>>)[k];
}

/** The log entry data of a command. */
export function encodeCommand(request: NonNullable<Command['request']>): Uint8Array {
  return Command.encode({ request }).finish();
}

export const proposeCommand = (propose: ProposeRequest): Uint8Array => encodeCommand({ $case: 'propose', propose });
