// What the core reports in Ready.events, in the node's log: role, term and vote changes, truncations
// and leadership transfers at info; the rest (dropped messages, conf-changed, which membership.ts
// already logs) at debug.
import type { RaftEvent } from '@raftkv/consensus';
import type { Logger } from '../observability/logger.js';

export function logRaftEvents(log: Logger, events: readonly RaftEvent[]): void {
  for (const ev of events) {
    switch (ev.kind) {
      case 'became-leader':
      case 'became-candidate':
      case 'became-pre-candidate':
      case 'became-follower':
      case 'term-changed':
      case 'step-down':
      case 'vote-granted':
      case 'vote-rejected':
      case 'log-truncated':
      case 'transfer-started':
      case 'transfer-aborted':
        log.info(ev.kind, ev);
        break;
      default:
        if (log.isDebugEnabled()) log.debug(ev.kind, ev);
        break;
    }
  }
}
