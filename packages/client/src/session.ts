// An exactly-once session (raftkv.v1 client_id/sequence): each proposal takes the next sequence, and
// the server applies a (client_id, sequence) at most once, so a proposal with one may be sent again
// after any failure.
import { randomUUID } from 'node:crypto';

export interface SessionId {
  readonly clientId: string;
  readonly sequence: number;
}

export class Session {
  private last: number;

  constructor(
    readonly clientId: string = `raftkv-client-${randomUUID()}`,
    firstSequence = 1,
  ) {
    if (clientId === '') throw new RangeError('a session needs a non-empty client id');
    if (!Number.isSafeInteger(firstSequence) || firstSequence < 1) throw new RangeError('sequences start at 1 or above');
    this.last = firstSequence - 1;
  }

  next(): SessionId {
    return { clientId: this.clientId, sequence: ++this.last };
  }
}
