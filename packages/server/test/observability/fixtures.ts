// Hand-made Ready batches and messages for the observability unit tests.
import type { Message, MessageType, Ready } from '@raftkv/consensus';

export function msg(type: MessageType, to: string, extra: Partial<Message> = {}): Message {
  return {
    type,
    from: 'n1',
    to,
    term: 2,
    logTerm: 0,
    index: 0,
    entries: [],
    commit: 0,
    reject: false,
    rejectHint: 0,
    hintTerm: 0,
    context: 0,
    ...extra,
  };
}

export function ready(p: Partial<Ready> = {}): Ready {
  return {
    softState: null,
    snapshot: null,
    hardState: null,
    entries: [],
    committedEntries: [],
    messages: [],
    readStates: [],
    events: [],
    mustSync: false,
    messagesBeforePersist: false,
    ...p,
  };
}

export function entries(from: number, n: number, term = 2): Message['entries'] {
  return Array.from({ length: n }, (_, i) => ({ index: from + i, term, type: 'normal' as const, data: new Uint8Array([1]) }));
}
