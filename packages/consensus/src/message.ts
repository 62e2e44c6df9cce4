// Building and checking messages. Every field is always present, so a message maps 1:1 onto the wire.
import type { Entry, Message, MessageType, NodeId } from './types.js';

const NO_ENTRIES: readonly Entry[] = [];

/** What a sender states; the rest of the message is zero. */
export type MessageFields = { type: MessageType; to: NodeId; term: number } & Partial<Omit<Message, 'type' | 'from' | 'to' | 'term'>>;

/** Written out field by field: this is on the hot path, and object spreads cost measurably here. */
export function message(from: NodeId, f: MessageFields): Message {
  const m: Message = {
    type: f.type,
    from,
    to: f.to,
    term: f.term,
    logTerm: f.logTerm ?? 0,
    index: f.index ?? 0,
    entries: f.entries ?? NO_ENTRIES,
    commit: f.commit ?? 0,
    reject: f.reject ?? false,
    rejectHint: f.rejectHint ?? 0,
    hintTerm: f.hintTerm ?? 0,
    context: f.context ?? 0,
  };
  return f.snapshot === undefined ? m : { ...m, snapshot: f.snapshot };
}

const TYPES: ReadonlySet<string> = new Set<MessageType>([
  'vote',
  'vote-response',
  'pre-vote',
  'pre-vote-response',
  'append',
  'append-response',
  'heartbeat',
  'heartbeat-response',
  'timeout-now',
  'snapshot',
]);

const isIndex = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;

/**
 * Why a message is malformed, or undefined when it is well formed. A node drops malformed messages
 * (from a buggy or hostile peer) instead of letting them corrupt its state.
 */
export function malformed(m: Message): string | undefined {
  if (!TYPES.has(m.type)) return `unknown type ${String(m.type)}`;
  if (typeof m.from !== 'string' || m.from === '' || typeof m.to !== 'string') return 'bad from/to';
  for (const k of ['term', 'logTerm', 'index', 'commit', 'rejectHint', 'hintTerm', 'context'] as const) {
    if (!isIndex(m[k])) return `bad ${k}: ${String(m[k])}`;
  }
  if (!Array.isArray(m.entries)) return 'bad entries';
  if (m.type === 'snapshot') {
    const s = m.snapshot;
    if (s === undefined || !isIndex(s.index) || !isIndex(s.term) || s.index === 0) return 'snapshot message without a snapshot';
    if (s.term === 0 || s.term > m.term) return `snapshot ${s.index}@${s.term} is not valid in term ${m.term}`;
    if (!Array.isArray(s.conf?.voters) || !Array.isArray(s.conf.learners)) return 'snapshot without membership';
    const ids = [...s.conf.voters, ...s.conf.learners];
    if (s.conf.voters.length === 0 || ids.some((id) => typeof id !== 'string' || id === '') || new Set(ids).size !== ids.length) {
      return `snapshot membership is not valid (voters ${s.conf.voters.join(',')}; learners ${s.conf.learners.join(',')})`;
    }
  }
  if (m.entries.length > 0 && m.type !== 'append') return `entries on a ${m.type} message`;
  // The entry an append follows, a candidate's last entry and a follower's hint all lie in a term the
  // sender has been in: never above the message's own term.
  if (m.logTerm > m.term) return `log term ${m.logTerm} above the message's term ${m.term}`;
  if (m.hintTerm > m.term) return `hint term ${m.hintTerm} above the message's term ${m.term}`;
  if (!isIndex(m.index + m.entries.length)) return `index ${m.index} + ${m.entries.length} entries is out of range`;
  let prevTerm = m.logTerm;
  for (let i = 0; i < m.entries.length; i++) {
    const e = m.entries[i]!;
    if (typeof e !== 'object' || e === null) return `entry ${i} is not an entry`;
    if (e.index !== m.index + 1 + i) return `entry ${i} has index ${e.index}, want ${m.index + 1 + i}`;
    if (!isIndex(e.term) || e.term < prevTerm || e.term > m.term) return `entry ${e.index} has term ${e.term} out of order`;
    if (e.type !== 'normal' && e.type !== 'conf-change') return `entry ${e.index} has unknown type`;
    if (!(e.data instanceof Uint8Array)) return `entry ${e.index} has no data bytes`;
    prevTerm = e.term;
  }
  return undefined;
}

/**
 * How far a message's term may be above ours: terms only grow through elections, and no correct
 * cluster runs more than TERM_LEAD_SLACK elections at once or more than one a millisecond for long
 * (each takes at least a round trip, and a node campaigns at most once per election timeout). A term
 * further ahead than that is a forgery or a bug (e.g. 2^53-1, which would leave every node there for
 * good, unable to ever count past it) and is dropped. A node that was away while the cluster really
 * ran more elections than that catches up once its allowance grows: one term per millisecond since
 * its own term last changed.
 */
export const TERM_LEAD_SLACK = 10_000;

/** Why `term` is too far above `ours` (a term set `msSince` ms ago), or undefined. */
export function termTooFar(term: number, ours: number, msSince: number): string | undefined {
  const allowed = ours + TERM_LEAD_SLACK + Math.max(0, Math.floor(msSince));
  return term > allowed ? `term ${term} is too far above ours (${ours}; at most ${allowed} now)` : undefined;
}
