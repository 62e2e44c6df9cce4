// The leader's side of ReadIndex (thesis §6.4): a read is served at the commit index the leader had
// when it arrived, once a heartbeat round confirms the leader still leads (rounds in read-only.ts).
import { NotLeaderError } from './errors.js';
import type { RaftState } from './state.js';

/** Leader only: queue a read; its ReadState comes out once leadership is confirmed. */
export function readIndex(r: RaftState, requestId: number): void {
  if (r.role !== 'leader') throw new NotLeaderError(r.leaderId);
  if (r.log.term(r.log.committed) !== r.term) {
    // Step 1: until an entry of our term commits, our commit index may be behind the last leader's.
    r.readsAwaitingCommit.push(requestId);
  } else {
    addRead(r, requestId);
  }
}

/** The first commit of our term makes our commit index current: queued reads can proceed. */
export function releaseReadsAwaitingCommit(r: RaftState): void {
  const waiting = r.readsAwaitingCommit;
  r.readsAwaitingCommit = [];
  for (const id of waiting) addRead(r, id);
}

function addRead(r: RaftState, requestId: number): void {
  if (r.voters.length === 1 && r.voters[0] === r.id) {
    // A single voter is its own quorum: nothing to confirm.
    r.readStates.push({ requestId, index: r.log.committed });
  } else {
    r.readOnly.add(requestId, r.log.committed, r.id);
  }
}
