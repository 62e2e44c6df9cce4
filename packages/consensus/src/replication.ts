// The leader's sending side of log replication (§5.3): what each follower is missing goes out at
// the next Ready, batched and pipelined (thesis §10.2.1); a snapshot when it was compacted away.
import type { Progress } from './progress.js';
import type { RaftState } from './state.js';
import type { NodeId } from './types.js';

/**
 * Sends what each follower is missing, as far as its window allows: proposals made since the last
 * Ready travel together (batching), and replicating followers get new entries without waiting
 * for earlier acks (pipelining, bounded by maxInflightMessages).
 */
export function flushLeaderMessages(r: RaftState): void {
  if (r.role !== 'leader') return;
  if (r.appendsPending || r.probeNeeded.size > 0) {
    for (const [to, pr] of r.prs) {
      const probe = r.probeNeeded.has(to);
      if (!r.appendsPending && !probe) continue;
      let sent = false;
      while (sendAppend(r, to, pr, false)) sent = true;
      // Followers learn the commit index from the next append (§5.3); send an empty one if needed.
      if (!sent && (r.commitAdvanced || probe)) sendAppend(r, to, pr, true);
    }
    r.appendsPending = false;
    r.commitAdvanced = false;
    r.probeNeeded.clear();
  }
  if (r.readOnly.unsent !== undefined) broadcastHeartbeat(r);
}

/**
 * While the leader's own write is under way: the appends flushLeaderMessages would make, but only
 * when every follower is replicating from entries still in the log — no probe, and no snapshot message,
 * which must be made from the snapshot stored when it leaves. Otherwise they wait for the next Ready.
 */
export function flushAppendsEarly(r: RaftState): void {
  if (r.role !== 'leader' || !r.appendsPending || r.probeNeeded.size > 0) return;
  const first = r.log.firstIndex();
  for (const pr of r.prs.values()) {
    if (pr.state !== 'replicate' || pr.next < first || r.log.term(pr.next - 1) === undefined) return;
  }
  flushLeaderMessages(r);
}

function sendAppend(r: RaftState, to: NodeId, pr: Progress, sendIfEmpty: boolean): boolean {
  if (pr.isPaused()) return false;
  const prevIndex = pr.next - 1;
  const prevTerm = r.log.term(prevIndex);
  if (prevTerm === undefined || pr.next < r.log.firstIndex()) {
    // What the follower needs next was compacted away: only a snapshot can bring it up to date.
    const snapshot = r.storage.snapshotMeta();
    r.send({ type: 'snapshot', to, term: r.term, snapshot });
    pr.becomeSnapshot(snapshot.index);
    return true;
  }
  const entries = r.log.entries(pr.next, r.log.lastIndex() + 1, r.config.maxMessageBytes);
  if (entries.length === 0 && !sendIfEmpty) return false;
  r.send({ type: 'append', to, term: r.term, index: prevIndex, logTerm: prevTerm, entries, commit: r.log.committed });
  const last = entries.at(-1);
  if (last) pr.sentTo(last.index);
  else if (pr.state === 'probe') pr.probeSent = true;
  return true;
}

/** Heartbeats carry the newest ReadIndex round, so that their answers confirm it (thesis §6.4). */
export function broadcastHeartbeat(r: RaftState): void {
  const context = r.readOnly.latestCtx();
  r.readOnly.unsent = undefined;
  for (const [to, pr] of r.prs) {
    r.send({ type: 'heartbeat', to, term: r.term, commit: Math.min(pr.match, r.log.committed), context });
  }
}

/**
 * How sending a snapshot to `to` ended. On failure the follower is probed again (and gets the
 * snapshot again if it still needs it); on success its answer moves it on.
 */
export function reportSnapshot(r: RaftState, to: NodeId, ok: boolean): void {
  const pr = r.prs.get(to);
  if (r.role !== 'leader' || pr === undefined || pr.state !== 'snapshot') return;
  // Probe either way (as etcd does): staying in the snapshot state would pause the follower for
  // good if its answer to the snapshot was lost, or if the snapshot was stale when it landed.
  const pending = pr.pendingSnapshot;
  pr.becomeProbe();
  if (ok) pr.next = Math.max(pr.next, pending + 1); // it holds the snapshot now
  pr.probeSent = true; // wait for its answer or the next heartbeat round before sending again
}
