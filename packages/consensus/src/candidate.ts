// The candidate and pre-candidate (§5.2): count the answers to our vote requests, and step down
// when a leader of our term shows itself.
import { pollVotes } from './elections.js';
import { handleAppend, handleHeartbeat, handleSnapshot } from './follower.js';
import type { RaftState } from './state.js';
import type { Message, MessageType } from './types.js';

export function stepCandidate(r: RaftState, m: Message): void {
  const responseType: MessageType = r.role === 'pre-candidate' ? 'pre-vote-response' : 'vote-response';
  switch (m.type) {
    case 'append':
      // §5.2: a leader of our term exists.
      r.becomeFollower(r.term, m.from);
      return handleAppend(r, m);
    case 'heartbeat':
      r.becomeFollower(r.term, m.from);
      return handleHeartbeat(r, m);
    case 'snapshot':
      r.becomeFollower(r.term, m.from);
      return handleSnapshot(r, m);
    case responseType: {
      if (r.role === 'pre-candidate' && !m.reject && m.term !== r.term + 1) return;
      r.votes.set(m.from, !m.reject);
      pollVotes(r, false);
      return;
    }
    default:
      return;
  }
}
