// Raft's safety properties (Figure 3 of the paper), checked incrementally on every Ready the
// simulator handles, plus the driver-contract and durability properties a real deployment relies on.
// Every check throws a SafetyViolation naming the property.
//
// The global record of what is committed is built from observation: whenever any node persists a
// higher commit index, the entries up to it (from that node's persisted log) are committed. The term
// the observing node was in bounds the term the entry was committed in from above, which is what the
// Leader Completeness check needs (leaders of strictly later terms must hold the entry).
import {
  NONE,
  type Entry,
  type HardState,
  type Message,
  type NodeId,
  type ReadState,
  type Ready,
  type Role,
  type SnapshotMeta,
} from '@raftkv/consensus';
import { chainDigest, entryKey, isNoop } from './commands.js';
import type { SimNode } from './node.js';
import { violated } from './violation.js';

interface PendingRead {
  readonly node: NodeId;
  readonly incarnation: number;
  /** The highest index known committed when the read was issued: a linearizable read sees at least this. */
  readonly minIndex: number;
}

export class SafetyChecker {
  /** Election Safety: the one leader of each term. */
  readonly leaderOfTerm = new Map<number, NodeId>();
  /** Committed entries by index (slot 0 unused): term, payload key, and the term they were first seen committed in. */
  private readonly committedTerm: number[] = [0];
  private readonly committedKey: string[] = [''];
  private readonly committedSeenInTerm: number[] = [0];
  /** The voters whose majority committed each entry (the committing leader's membership). */
  private readonly committedBy: (readonly NodeId[])[] = [[]];
  /** The state machine's digest after applying the committed prefix up to each index. */
  private readonly committedDigest: number[] = [0];
  /** Log Matching: every (index, term) ever persisted anywhere, with its payload and its predecessor's term. */
  private readonly entryByIndexTerm = new Map<string, string>();
  /** Commands clients proposed; every committed command must be one, committed once. */
  private readonly proposed = new Set<string>();
  private readonly committedCommandAt = new Map<string, number>();
  private readonly pendingReads = new Map<number, PendingRead>();
  /** Every read state released so far, by request id. */
  readonly released = new Map<number, { readonly node: NodeId; readonly index: number; readonly atMs: number }>();

  private readonly ids: ReadonlySet<NodeId>;
  /** Told of every membership change when it is first seen committed (the cluster counts them). */
  onConfCommitted: (() => void) | null = null;

  constructor(private readonly nodes: readonly SimNode[]) {
    this.ids = new Set(nodes.map((n) => n.id));
  }

  /** Highest index ever seen committed. */
  get commitIndex(): number {
    return this.committedTerm.length - 1;
  }

  committedEntryTerm(index: number): number | undefined {
    return this.committedTerm[index];
  }

  committedEntryKey(index: number): string | undefined {
    return this.committedKey[index];
  }

  noteProposed(key: string): void {
    this.proposed.add(key);
  }

  /** Where a command was committed, if it was. */
  committedIndexOf(key: string): number | undefined {
    return this.committedCommandAt.get(key);
  }

  noteReadIssued(requestId: number, node: SimNode): void {
    this.pendingReads.set(requestId, { node: node.id, incarnation: node.incarnation, minIndex: this.commitIndex });
  }

  // --- Ready step 1: persist -------------------------------------------------------------------

  onPersist(node: SimNode, rd: Ready, prevHard: HardState, prevRole: Role, removedTerms: readonly number[]): void {
    const hs = node.hardState;
    const st = node.storage;
    if (rd.hardState) {
      if (hs.term < prevHard.term) violated('Term monotonic', `${node.id} persisted term ${hs.term} after ${prevHard.term}`);
      if (hs.term === prevHard.term && prevHard.vote !== NONE && hs.vote !== prevHard.vote) {
        violated('One vote per term', `${node.id} voted for ${prevHard.vote} then ${hs.vote || 'nobody'} in term ${hs.term}`);
      }
      if (hs.commit < prevHard.commit) violated('Commit monotonic', `${node.id} persisted commit ${hs.commit} after ${prevHard.commit}`);
    }
    if (hs.commit > st.lastIndex()) violated('Commit within log', `${node.id} commit ${hs.commit} > last index ${st.lastIndex()}`);

    const first = rd.entries[0];
    if (first !== undefined) {
      const s = first.index;
      if (prevRole === 'leader' && node.role === 'leader' && removedTerms.length > 0) {
        violated('Leader Append-Only', `leader ${node.id} (term ${hs.term}) overwrote its log from index ${s}`);
      }
      // A node never rewrites what it already knew to be committed.
      for (let k = 0; k < removedTerms.length; k++) {
        const i = s + k;
        if (i > prevHard.commit) break;
        if (i > st.lastIndex() || st.term(i) !== removedTerms[k]) {
          violated('No committed entry lost', `${node.id} rewrote index ${i} at or below its own commit ${prevHard.commit}`);
        }
      }
      // A committed entry must stay on a majority of persisted logs.
      for (let k = 0; k < removedTerms.length; k++) {
        const i = s + k;
        if (i > this.commitIndex) break;
        const oldTerm = removedTerms[k]!;
        if (oldTerm === this.committedTerm[i] && (i > st.lastIndex() || st.term(i) !== oldTerm))
          this.checkStillOnQuorum(i, `${node.id} truncated it`);
      }
      let prevTerm = st.term(s - 1);
      for (const e of rd.entries) {
        if (e.term < prevTerm) violated('Log terms monotonic', `${node.id} index ${e.index} has term ${e.term} after term ${prevTerm}`);
        if (e.term > hs.term)
          violated('Entry term <= current term', `${node.id} persisted index ${e.index} term ${e.term} in term ${hs.term}`);
        const id = `${e.index}/${e.term}`;
        const content = `${prevTerm}|${entryKey(e)}`;
        const seen = this.entryByIndexTerm.get(id);
        if (seen === undefined) this.entryByIndexTerm.set(id, content);
        else if (seen !== content) {
          violated('Log Matching', `two logs hold index ${e.index} term ${e.term} with different content or predecessor (${node.id})`);
        }
        prevTerm = e.term;
      }
    }
    if (hs.commit > prevHard.commit) this.onCommitAdvance(node, prevHard.commit, hs.commit);
    if (node.role === 'leader')
      for (const e of rd.entries) if (e.type === 'conf-change' && e.term === hs.term) this.checkOneChangeAtATime(node, e);
  }

  /**
   * A leader's own membership change (single-server changes, thesis §4.1): the change before it in
   * its log is committed, and so is an entry of the leader's term (the 2015 hazard: an uncommitted
   * change of an earlier term may still be replaced). Two changes in flight could have majorities
   * that do not intersect.
   */
  private checkOneChangeAtATime(node: SimNode, e: Entry): void {
    const st = node.storage;
    for (let i = e.index - 1; i >= st.firstIndex(); i--) {
      const prev = st.entries(i, i + 1, Infinity)[0]!;
      if (prev.type !== 'conf-change') continue;
      if (i > this.commitIndex || this.committedTerm[i] !== prev.term) {
        violated(
          'One membership change at a time',
          `${node.id} proposed a change at ${e.index} in term ${e.term} while the change at ${i} (term ${prev.term}) was not committed`,
        );
      }
      break;
    }
    // Its own commit point (a stale leader's lags the cluster's) holds an entry of its term.
    if (this.committedTerm[node.hardState.commit] !== e.term) {
      violated(
        'One membership change at a time',
        `${node.id} proposed a change at ${e.index} before committing an entry of its term ${e.term}`,
      );
    }
  }

  private onCommitAdvance(node: SimNode, from: number, to: number): void {
    const st = node.storage;
    // Entries below the first stored index came in a snapshot, checked when it was installed.
    for (let i = Math.max(Math.min(from, this.commitIndex) + 1, st.firstIndex()); i <= to; i++) {
      const e = st.entries(i, i + 1, Infinity)[0]!;
      const key = entryKey(e);
      if (i <= this.commitIndex) {
        if (this.committedTerm[i] !== e.term || this.committedKey[i] !== key) {
          violated(
            'State Machine Safety',
            `${node.id} committed index ${i} term ${e.term}, but term ${this.committedTerm[i]} was committed there`,
          );
        }
        continue;
      }
      this.committedBy.push(this.quorumThatCommitted(node, i, e.term));
      this.committedTerm.push(e.term);
      this.committedKey.push(key);
      this.committedSeenInTerm.push(node.hardState.term);
      this.committedDigest.push(chainDigest(this.committedDigest[i - 1]!, key));
      if (!isNoop(e)) {
        if (!this.proposed.has(key)) violated('No phantom commands', `index ${i} holds a command no client proposed`);
      }
      if (e.type === 'conf-change') this.onConfCommitted?.();
      if (!isNoop(e) && e.type === 'normal') {
        const at = this.committedCommandAt.get(key);
        if (at !== undefined) violated('Commands committed once', `command committed at ${at} and again at ${i}`);
        this.committedCommandAt.set(key, i);
      }
      // Leaders of later terms must already hold it (Leader Completeness, §5.4).
      for (const other of this.nodes) {
        if (other.up && other.role === 'leader' && other.hardState.term > node.hardState.term)
          this.checkHolds(other, i, 'Leader Completeness');
      }
    }
  }

  /**
   * The voters whose majority holds a newly committed (index, term), or a violation. The commit was
   * decided with the membership this node has applied so far (step 3 comes later), or, when input
   * arrived while the previous Ready was written, perhaps with the one before that Ready's applied
   * changes (single-server changes: majorities of the two always intersect). A follower may also see
   * a commit before its leader's own write of it completes (asynchronous disk, appends sent early),
   * still knowing an older membership (a learner that joined empty knows none): then the leader's
   * membership decided it.
   */
  private quorumThatCommitted(node: SimNode, index: number, term: number): readonly NodeId[] {
    const leaderId = node.role === 'leader' ? node.id : this.leaderOfTerm.get(node.hardState.term);
    const leader = leaderId === undefined || leaderId === node.id ? undefined : this.nodes.find((n) => n.id === leaderId);
    const candidates = [node.conf, node.confDuringLastWrite, leader?.conf, leader?.confDuringLastWrite];
    let best = { voters: node.conf.voters, holders: this.holders(index, term, node.conf.voters) };
    for (const conf of candidates) {
      if (best.holders > best.voters.length / 2) break;
      if (conf === undefined || conf.voters === best.voters) continue;
      const holders = this.holders(index, term, conf.voters);
      if (holders > conf.voters.length / 2) best = { voters: conf.voters, holders };
    }
    if (best.holders <= best.voters.length / 2) {
      violated(
        'Commit needs a quorum',
        `${node.id} committed index ${index} held by only ${best.holders} of the ${best.voters.length} voters' persisted logs`,
      );
    }
    return best.voters;
  }

  /** Persisted logs (crashed nodes included) of `among` holding the entry (index, term), in the log or under a snapshot. */
  private holders(index: number, term: number, among: readonly NodeId[]): number {
    let n = 0;
    for (const x of this.nodes) if (among.includes(x.id) && holds(x, index, term)) n++;
    return n;
  }

  /** A committed entry stays on a majority of the voters that committed it. */
  private checkStillOnQuorum(index: number, how: string): void {
    const voters = this.committedBy[index]!;
    const holders = this.holders(index, this.committedTerm[index]!, voters);
    if (holders <= voters.length / 2) {
      violated(
        'No committed entry lost',
        `committed index ${index} is now on ${holders} of the ${voters.length} voters that committed it (${how})`,
      );
    }
  }

  private checkHolds(node: SimNode, index: number, property: string): void {
    if (!holds(node, index, this.committedTerm[index]!)) {
      violated(
        property,
        `leader ${node.id} of term ${node.hardState.term} lacks committed index ${index} (term ${this.committedTerm[index]})`,
      );
    }
  }

  onRole(node: SimNode, prevRole: Role): void {
    if (node.role !== 'leader' || prevRole === 'leader') return;
    const term = node.hardState.term;
    const other = this.leaderOfTerm.get(term);
    if (other !== undefined && other !== node.id) violated('Election Safety', `${other} and ${node.id} both leaders of term ${term}`);
    this.leaderOfTerm.set(term, node.id);
    if (node.hardState.vote !== node.id)
      violated('Leader voted for itself', `${node.id} leads term ${term} with persisted vote ${node.hardState.vote || 'none'}`);
    // Reference: §5.4.1 — the election restriction gives a new leader every entry committed before its term.
    for (let i = 1; i <= this.commitIndex; i++) {
      if (this.committedSeenInTerm[i]! < term) this.checkHolds(node, i, 'Leader Completeness');
    }
  }

  /** Ready step 0: a snapshot replaced the state machine and the log (entries above it were dropped). */
  onSnapshotInstall(node: SimNode, meta: SnapshotMeta, digest: number, droppedTerms: readonly number[]): void {
    if (meta.index > this.commitIndex || this.committedTerm[meta.index] !== meta.term) {
      violated(
        'Snapshots hold committed state',
        `${node.id} installed snapshot ${meta.index}@${meta.term}; committed: ${this.commitIndex}, term there ${this.committedTerm[meta.index] ?? 'none'}`,
      );
    }
    if (digest !== this.committedDigest[meta.index]) {
      violated('State Machine Safety', `${node.id} installed a snapshot at ${meta.index} whose state differs from the committed entries`);
    }
    if (meta.index < node.applied)
      violated('Snapshots move forward', `${node.id} installed snapshot ${meta.index} with ${node.applied} applied`);
    droppedTerms.forEach((term, k) => {
      const i = meta.index + 1 + k;
      if (i <= this.commitIndex && term === this.committedTerm[i])
        this.checkStillOnQuorum(i, `${node.id} dropped it installing a snapshot`);
    });
  }

  // --- Ready step 2: send ----------------------------------------------------------------------

  /** `early`: a leader's append/heartbeat sent before its own persist (the contract's relaxation 1). */
  onSend(node: SimNode, msg: Message, early = false): void {
    const hs = node.hardState;
    if (msg.from !== node.id) violated('Message sender', `${node.id} sent a message from ${msg.from}`);
    if (msg.to === node.id || !this.ids.has(msg.to)) violated('Message recipient', `${node.id} sent ${msg.type} to ${msg.to || '(none)'}`);
    const preVote = msg.type === 'pre-vote' || msg.type === 'pre-vote-response';
    if (!preVote && msg.term > hs.term)
      violated('Persist before send', `${node.id} sent ${msg.type} for term ${msg.term} with term ${hs.term} persisted`);
    // A grant or an acknowledgement promises what this node holds in the message's term. When input
    // arrives between ready() and advance() (relaxation 2), one made in term T can leave with a Ready
    // that also moved the node durably past T (and, for an acknowledgement, truncated the entries at a
    // later leader's word, one that lacks them). That is the same as the message overtaken on the
    // wire: the node never acts in T again, and it held what it promised when it voted in a later
    // term, which is what Leader Completeness (§5.4.3) needs. So only messages of the persisted term
    // must be backed by the persisted state. (A synchronous driver drains after every input, so it
    // never sends such a message: there the check stays strict.)
    const stale = msg.term < hs.term && node.disk?.async === true;
    if (msg.type === 'vote-response' && !msg.reject && !stale && hs.vote !== msg.to) {
      violated(
        'Persist before send',
        `${node.id} granted its term-${msg.term} vote to ${msg.to} before persisting it (persisted: term ${hs.term} vote ${hs.vote || 'none'})`,
      );
    }
    if (msg.type === 'append-response' && !msg.reject && !stale && msg.index > node.storage.lastIndex()) {
      violated('Persist before send', `${node.id} acknowledged index ${msg.index} with only ${node.storage.lastIndex()} persisted`);
    }
    if (!early && msg.type === 'append' && msg.term === hs.term) {
      for (const e of msg.entries) {
        if (e.index > node.storage.lastIndex() || node.storage.term(e.index) !== e.term) {
          violated('Leader sends its own log', `${node.id} sent index ${e.index} term ${e.term} not in its persisted log`);
        }
      }
    }
  }

  // --- Ready step 3: apply ---------------------------------------------------------------------

  onApply(node: SimNode, e: Entry): void {
    if (e.index !== node.applied + 1) violated('Apply in order', `${node.id} applied index ${e.index} after ${node.applied}`);
    if (e.index > node.hardState.commit)
      violated('Apply only committed', `${node.id} applied index ${e.index} beyond its commit ${node.hardState.commit}`);
    if (e.index > this.commitIndex || this.committedTerm[e.index] !== e.term || this.committedKey[e.index] !== entryKey(e)) {
      violated(
        'State Machine Safety',
        `${node.id} applied index ${e.index} term ${e.term}, which differs from the committed entry (term ${this.committedTerm[e.index] ?? 'none'})`,
      );
    }
  }

  get readsReleased(): number {
    return this.released.size;
  }

  onReadState(node: SimNode, rs: ReadState, nowMs: number): void {
    const p = this.pendingReads.get(rs.requestId);
    if (p === undefined || p.node !== node.id || p.incarnation !== node.incarnation) {
      violated('ReadIndex', `${node.id} released read ${rs.requestId} it was never asked (or released it twice)`);
    }
    this.pendingReads.delete(rs.requestId);
    if (rs.index < p.minIndex) {
      violated(
        'Linearizable reads',
        `${node.id} released read ${rs.requestId} at index ${rs.index}, but ${p.minIndex} was committed before it was issued`,
      );
    }
    if (rs.index > node.hardState.commit)
      violated('ReadIndex', `${node.id} read index ${rs.index} beyond its commit ${node.hardState.commit}`);
    this.released.set(rs.requestId, { node: node.id, index: rs.index, atMs: nowMs });
  }

  // --- Whole-cluster checks, run periodically and at the end -----------------------------------

  /** Cross-checks the incremental bookkeeping against the nodes themselves. */
  checkAll(): void {
    const up = this.nodes.filter((n) => n.up);
    for (const n of up) {
      const s = n.raft!.status();
      if (s.applied !== n.applied) violated('Applied tracked', `${n.id} reports applied ${s.applied}, driver applied ${n.applied}`);
      if (n.persisting) {
        // Between ready() and advance(): the core may be ahead of its disk, never behind it.
        if (s.term < n.hardState.term) violated('Term monotonic', `${n.id} runs in term ${s.term} with term ${n.hardState.term} persisted`);
        if (s.commit < n.hardState.commit) violated('Commit monotonic', `${n.id} commit ${s.commit} below persisted ${n.hardState.commit}`);
        continue;
      }
      if (s.role !== n.role) violated('Soft state reported', `${n.id} is ${s.role} but its last softState said ${n.role}`);
      if (s.term !== n.hardState.term || s.vote !== n.hardState.vote) {
        violated(
          'Persist before send',
          `${n.id} runs in term ${s.term} vote ${s.vote || 'none'} with term ${n.hardState.term} vote ${n.hardState.vote || 'none'} persisted`,
        );
      }
      if (s.lastIndex !== n.storage.lastIndex())
        violated('Ready drained', `${n.id} last index ${s.lastIndex}, persisted ${n.storage.lastIndex()}`);
      if (s.commit < n.hardState.commit) violated('Commit monotonic', `${n.id} commit ${s.commit} below persisted ${n.hardState.commit}`);
    }
    // Log Matching (§5.3), pairwise over persisted logs: if two logs agree on the term at an index,
    // they agree on everything up to it.
    for (let a = 0; a < this.nodes.length; a++) {
      for (let b = a + 1; b < this.nodes.length; b++) this.checkLogMatching(this.nodes[a]!, this.nodes[b]!);
    }
  }

  private checkLogMatching(a: SimNode, b: SimNode): void {
    const lo = Math.max(a.storage.firstIndex(), b.storage.firstIndex());
    const last = Math.min(a.storage.lastIndex(), b.storage.lastIndex());
    let agree = 0;
    for (let i = last; i >= lo; i--) {
      if (a.storage.term(i) === b.storage.term(i)) {
        agree = i;
        break;
      }
    }
    if (agree === 0) return;
    const ea = a.storage.entries(lo, agree + 1, Infinity);
    const eb = b.storage.entries(lo, agree + 1, Infinity);
    for (let k = 0; k < ea.length; k++) {
      if (ea[k]!.term !== eb[k]!.term || entryKey(ea[k]!) !== entryKey(eb[k]!)) {
        violated('Log Matching', `${a.id} and ${b.id} agree on index ${agree} but differ at index ${lo + k}`);
      }
    }
  }
}

/** Whether a node's persisted state holds (index, term): in its log, or compacted into its snapshot. */
function holds(node: SimNode, index: number, term: number): boolean {
  const st = node.storage;
  if (index < st.firstIndex()) return true; // only committed, applied entries are ever compacted
  return index <= st.lastIndex() && st.term(index) === term;
}
