// One-line descriptions of log entries for the live view: which command, which key. Decoded only
// when a watcher asks for the log tail, never on the write path.
import type { Entry } from '@raftkv/consensus';
import { ProposeRequest, type LogEntrySummary } from '@raftkv/proto';

const MAX_KEY_CHARS = 64;

export function summarizeEntry(e: Entry): LogEntrySummary {
  const base = { index: e.index, term: e.term };
  if (e.type === 'conf-change') return { ...base, op: 'conf', key: '' };
  if (e.data.length === 0) return { ...base, op: 'noop', key: '' };
  let req: ProposeRequest;
  try {
    req = ProposeRequest.decode(e.data);
  } catch {
    return { ...base, op: 'unknown', key: '' };
  }
  const c = req.command;
  if (c === undefined) return { ...base, op: 'unknown', key: '' };
  const key = c.$case === 'put' ? c.put.key : c.$case === 'delete' ? c.delete.key : c.compareAndSwap.key;
  const op = c.$case === 'compareAndSwap' ? 'cas' : c.$case;
  return { ...base, op, key: key.length > MAX_KEY_CHARS ? key.slice(0, MAX_KEY_CHARS) + '…' : key };
}
