// Core Message <-> wire raftkv.v1.Message. Decoding validates everything a peer sends: a malformed
// or hostile message is refused here (PeerMessageError) and never reaches the core.
import type { Entry, EntryType, Message as CoreMessage, MessageType as CoreType, SnapshotMeta } from '@raftkv/consensus';
import { EntryType as WireEntryType, MessageType as WireType, type Entry as WireEntry, type Message as WireMessage } from '@raftkv/proto';

export class PeerMessageError extends Error {
  override readonly name = 'PeerMessageError';
}

// Keyed by string so the table also covers message types the core may add (snapshot).
const TO_WIRE: Readonly<Record<string, WireType>> = {
  vote: WireType.MESSAGE_TYPE_VOTE,
  'vote-response': WireType.MESSAGE_TYPE_VOTE_RESPONSE,
  'pre-vote': WireType.MESSAGE_TYPE_PRE_VOTE,
  'pre-vote-response': WireType.MESSAGE_TYPE_PRE_VOTE_RESPONSE,
  append: WireType.MESSAGE_TYPE_APPEND,
  'append-response': WireType.MESSAGE_TYPE_APPEND_RESPONSE,
  heartbeat: WireType.MESSAGE_TYPE_HEARTBEAT,
  'heartbeat-response': WireType.MESSAGE_TYPE_HEARTBEAT_RESPONSE,
  'timeout-now': WireType.MESSAGE_TYPE_TIMEOUT_NOW,
  snapshot: WireType.MESSAGE_TYPE_SNAPSHOT,
};
// A 'snapshot' message only arrives through InstallSnapshot, with its data (snapshot-transfer.ts);
// on the Send stream it is refused (messageFromWire's `snapshotAllowed`).
const FROM_WIRE = new Map<number, CoreType>(Object.entries(TO_WIRE).map(([k, v]) => [v, k as CoreType]));

const entryToWire = (e: Entry): WireEntry => ({
  index: e.index,
  term: e.term,
  type: e.type === 'conf-change' ? WireEntryType.ENTRY_TYPE_CONF_CHANGE : WireEntryType.ENTRY_TYPE_NORMAL,
  data: Buffer.isBuffer(e.data) ? e.data : Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength),
});

export function messageToWire(m: CoreMessage): WireMessage {
  return {
    type: TO_WIRE[m.type] ?? WireType.MESSAGE_TYPE_UNSPECIFIED,
    from: m.from,
    to: m.to,
    term: m.term,
    logTerm: m.logTerm,
    index: m.index,
    entries: m.entries.length === 0 ? [] : m.entries.map(entryToWire),
    commit: m.commit,
    reject: m.reject,
    rejectHint: m.rejectHint,
    hintTerm: m.hintTerm,
    context: m.context,
    ...(m.snapshot === undefined
      ? {}
      : { snapshot: { index: m.snapshot.index, term: m.snapshot.term, voters: [...m.snapshot.conf.voters], learners: [...m.snapshot.conf.learners] } }),
  };
}

function checkIndex(field: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 0) throw new PeerMessageError(`${field} ${v} is not a valid index`);
}

/**
 * Validates and converts a message received from a peer. `peers` are the known node ids; `self` must
 * be the addressee. Entries must be contiguous and follow `index`, with non-decreasing terms no
 * higher than the message term.
 */
export function messageFromWire(w: WireMessage, self: string, peers: { has(id: string): boolean }, snapshotAllowed = false): CoreMessage {
  const type = FROM_WIRE.get(w.type);
  if (type === undefined) throw new PeerMessageError(`unknown message type ${w.type}`);
  if ((type === 'snapshot') !== snapshotAllowed) throw new PeerMessageError(snapshotAllowed ? `${type} message where a snapshot was expected` : 'snapshot message outside InstallSnapshot');
  if (w.to !== self) throw new PeerMessageError(`addressed to ${JSON.stringify(w.to)}, not to ${self}`);
  if (!peers.has(w.from) || w.from === self) throw new PeerMessageError(`from unknown node ${JSON.stringify(w.from)}`);
  for (const [f, v] of [
    ['term', w.term],
    ['log_term', w.logTerm],
    ['index', w.index],
    ['commit', w.commit],
    ['reject_hint', w.rejectHint],
    ['hint_term', w.hintTerm],
    ['context', w.context],
  ] as const) {
    checkIndex(f, v);
  }
  let entries: Entry[] = [];
  if (w.entries.length > 0) {
    if (type !== 'append') throw new PeerMessageError(`${type} message carries entries`);
    entries = new Array<Entry>(w.entries.length);
    let prevTerm = w.logTerm;
    for (let i = 0; i < w.entries.length; i++) {
      const e = w.entries[i]!;
      if (e.index !== w.index + 1 + i) throw new PeerMessageError(`entry ${i} has index ${e.index}, expected ${w.index + 1 + i}`);
      if (!Number.isSafeInteger(e.term) || e.term < prevTerm || e.term > w.term) {
        throw new PeerMessageError(`entry ${e.index} has term ${e.term} outside [${prevTerm}, ${w.term}]`);
      }
      let t: EntryType;
      if (e.type === WireEntryType.ENTRY_TYPE_NORMAL) t = 'normal';
      else if (e.type === WireEntryType.ENTRY_TYPE_CONF_CHANGE) t = 'conf-change';
      else throw new PeerMessageError(`entry ${e.index} has unknown type ${e.type}`);
      prevTerm = e.term;
      entries[i] = { index: e.index, term: e.term, type: t, data: e.data };
    }
  }
  const snapshot = type === 'snapshot' ? snapshotFromWire(w) : undefined;
  return {
    type,
    from: w.from,
    to: w.to,
    term: w.term,
    logTerm: w.logTerm,
    index: w.index,
    entries,
    commit: w.commit,
    reject: w.reject,
    rejectHint: w.rejectHint,
    hintTerm: w.hintTerm,
    context: w.context,
    ...(snapshot === undefined ? {} : { snapshot }),
  };
}

/** A snapshot message's meta: a valid index and term, and a membership with at least one voter, no id twice. */
function snapshotFromWire(w: WireMessage): SnapshotMeta {
  const s = w.snapshot;
  if (s === undefined) throw new PeerMessageError('snapshot message without snapshot meta');
  checkIndex('snapshot.index', s.index);
  checkIndex('snapshot.term', s.term);
  if (s.index === 0 || s.term === 0 || s.term > w.term) throw new PeerMessageError(`snapshot ${s.index}@${s.term} is not valid in term ${w.term}`);
  const ids = [...s.voters, ...s.learners];
  if (s.voters.length === 0 || ids.some((id) => id === '') || new Set(ids).size !== ids.length) {
    throw new PeerMessageError(`snapshot membership is not valid (voters ${s.voters.join(',')}; learners ${s.learners.join(',')})`);
  }
  return { index: s.index, term: s.term, conf: { voters: [...s.voters], learners: [...s.learners] } };
}
