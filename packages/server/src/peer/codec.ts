// Core Message <-> wire raftkv.v1.Message. Decoding refuses a malformed or hostile message here
// (PeerMessageError, logged and counted by the transport) by the core's own rules.
import { malformed, type Entry, type EntryType, type Message as CoreMessage, type MessageType as CoreType } from '@raftkv/consensus';
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
      : {
          snapshot: {
            index: m.snapshot.index,
            term: m.snapshot.term,
            voters: [...m.snapshot.conf.voters],
            learners: [...m.snapshot.conf.learners],
          },
        }),
  };
}

/**
 * Converts a message received from a peer, refusing (PeerMessageError) what the core would drop as
 * malformed (its own `malformed`, the one place those rules live), a message not addressed to `self`,
 * or one from a sender outside `peers`.
 */
export function messageFromWire(w: WireMessage, self: string, peers: { has(id: string): boolean }, snapshotAllowed = false): CoreMessage {
  const type = FROM_WIRE.get(w.type);
  if (type === undefined) throw new PeerMessageError(`unknown message type ${w.type}`);
  if ((type === 'snapshot') !== snapshotAllowed)
    throw new PeerMessageError(
      snapshotAllowed ? `${type} message where a snapshot was expected` : 'snapshot message outside InstallSnapshot',
    );
  if (w.to !== self) throw new PeerMessageError(`addressed to ${JSON.stringify(w.to)}, not to ${self}`);
  if (!peers.has(w.from) || w.from === self) throw new PeerMessageError(`from unknown node ${JSON.stringify(w.from)}`);
  const entries = w.entries.length === 0 ? [] : w.entries.map(entryFromWire);
  const m: CoreMessage = {
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
    ...(w.snapshot === undefined || type !== 'snapshot'
      ? {}
      : {
          snapshot: {
            index: w.snapshot.index,
            term: w.snapshot.term,
            conf: { voters: [...w.snapshot.voters], learners: [...w.snapshot.learners] },
          },
        }),
  };
  const why = malformed(m);
  if (why !== undefined) throw new PeerMessageError(why);
  return m;
}

function entryFromWire(e: WireEntry): Entry {
  let type: EntryType;
  if (e.type === WireEntryType.ENTRY_TYPE_NORMAL) type = 'normal';
  else if (e.type === WireEntryType.ENTRY_TYPE_CONF_CHANGE) type = 'conf-change';
  else throw new PeerMessageError(`entry ${e.index} has unknown type ${e.type}`);
  return { index: e.index, term: e.term, type, data: e.data };
}

/** A field's tag and length prefix (or a varint's tag and value) take at most this many bytes. */
const FIELD_BYTES = 11;
const stringBytes = (s: string): number => FIELD_BYTES + Buffer.byteLength(s);

/**
 * An upper bound on `w`'s encoded size inside a MessageBatch, cheap enough to take for every message
 * (the transport sizes its batches by it; encoding twice would cost more than the estimate).
 */
export function wireBytesBound(w: WireMessage): number {
  // type, term, logTerm, index, commit, reject, rejectHint, hintTerm, context, and the message's own tag.
  let n = 10 * FIELD_BYTES + stringBytes(w.from) + stringBytes(w.to);
  // Each entry: its tag, index, term, type and data's tag.
  for (const e of w.entries) n += 5 * FIELD_BYTES + e.data.length;
  if (w.snapshot !== undefined) {
    n += 3 * FIELD_BYTES;
    for (const id of [...w.snapshot.voters, ...w.snapshot.learners]) n += stringBytes(id);
  }
  return n;
}
