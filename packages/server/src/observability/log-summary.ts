// One-line descriptions of log entries for the live view: which command, which key. Decoded only
// when a watcher asks for the log tail, never on the write path.
import type { Entry } from '@raftkv/consensus';
import { Command, type LogEntrySummary } from '@raftkv/proto';

const MAX_KEY_CHARS = 64;

export function summarizeEntry(e: Entry): LogEntrySummary {
  const base = { index: e.index, term: e.term };
  if (e.type === 'conf-change') return { ...base, op: 'conf', key: '' };
  if (e.data.length === 0) return { ...base, op: 'noop', key: '' };
  let cmd: Command;
  try {
    cmd = Command.decode(e.data);
  } catch {
    return { ...base, op: 'unknown', key: '' };
  }
  const [op, key] = describe(cmd.request);
  return { ...base, op, key: key.length > MAX_KEY_CHARS ? key.slice(0, MAX_KEY_CHARS) + '…' : key };
}

function describe(r: Command['request']): [op: string, key: string] {
  switch (r?.$case) {
    case 'propose': {
      const c = r.propose.command;
      if (c === undefined) return ['unknown', ''];
      const key = c.$case === 'put' ? c.put.key : c.$case === 'delete' ? c.delete.key : c.compareAndSwap.key;
      return [c.$case === 'compareAndSwap' ? 'cas' : c.$case, key];
    }
    case 'put':
      return ['etcd put', r.put.key.toString('utf8')];
    case 'deleteRange':
      return ['etcd delete', r.deleteRange.key.toString('utf8')];
    case 'txn':
      return ['etcd txn', ''];
    case 'compaction':
      return ['etcd compact', String(r.compaction.revision)];
    default:
      return ['unknown', ''];
  }
}
