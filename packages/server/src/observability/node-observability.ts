// Everything a node reports about itself: Prometheus metrics and the WatchStatus hub, fed through two
// narrow hooks the driver and the transport call (readyHandled, messageReceived), and read lazily from
// the node (status, log) when a scrape or a watcher asks.
import type { Entry, Message, Ready, Status } from '@raftkv/consensus';
import type { StatusDetail, StatusResponse } from '@raftkv/proto';
import { summarizeEntry } from './log-summary.js';
import { RaftMetrics, type NodeSnapshot, type ProposeResult, type ReadConsistencyLabel } from './metrics.js';
import { WatchHub, type HubOptions } from './watch-hub.js';

/** What the driver and the transport call. Both must return quickly; neither may throw. */
export interface RaftObserver {
  /** After a Ready was persisted and applied. `persistSeconds`: the storage transaction, or null if none. */
  readyHandled(rd: Ready, persistSeconds: number | null): void;
  /** A message from a peer, before the core steps it. */
  messageReceived(m: Message): void;
}

/** What the client services call around each request. */
export interface RequestObserver {
  proposeDone(result: ProposeResult, seconds: number): void;
  readDone(consistency: ReadConsistencyLabel, seconds: number): void;
}

export interface ObservedNode {
  readonly id: string;
  /** The Admin.Status answer. */
  status(): StatusResponse;
  /** The core's own status (progress per follower on a leader). */
  coreStatus(): Status;
  appliedIndex(): number;
  /** The raised alarms' types (etcd's AlarmType names: NOSPACE, CORRUPT); absent: none. */
  alarms?(): readonly string[];
  lastIndex(): number;
  firstIndex(): number;
  entries(lo: number, hi: number): Entry[];
  readonly electionTimeoutMinMs: number;
  readonly electionTimeoutMaxMs: number;
  readonly heartbeatMs: number;
}

export interface ObservabilityOptions {
  /** Create the Prometheus registry (only when --metrics-listen is given). */
  readonly metrics: boolean;
  readonly hub?: Partial<HubOptions>;
}

export class NodeObservability implements RaftObserver, RequestObserver {
  readonly metrics: RaftMetrics | null;
  readonly hub: WatchHub;

  constructor(
    private readonly node: ObservedNode,
    options: ObservabilityOptions,
  ) {
    this.metrics = options.metrics ? new RaftMetrics(() => this.metricsSnapshot()) : null;
    this.hub = new WatchHub(
      node.id,
      { status: () => node.status(), detail: () => this.detail(), logTail: (n) => this.logTail(n) },
      options.hub,
    );
  }

  readyHandled(rd: Ready, persistSeconds: number | null): void {
    try {
      this.metrics?.readyHandled(rd, persistSeconds);
      this.hub.readyHandled(rd);
    } catch {
      // Observability must never take the node down.
    }
  }

  messageReceived(m: Message): void {
    this.metrics?.messageReceived(m);
    this.hub.messageReceived(m);
  }

  proposeDone(result: ProposeResult, seconds: number): void {
    this.metrics?.proposeDone(result, seconds);
  }

  snapshotSent(bytes: number): void {
    this.metrics?.snapshotSent(bytes);
  }

  readDone(consistency: ReadConsistencyLabel, seconds: number): void {
    this.metrics?.readDone(consistency, seconds);
  }

  private metricsSnapshot(): NodeSnapshot {
    const st = this.node.coreStatus();
    const followers =
      st.role === 'leader'
        ? Object.entries(st.progress)
            .filter(([id]) => id !== this.node.id)
            .map(([id, p]) => ({ id, match: p.match }))
        : [];
    return {
      role: st.role,
      term: st.term,
      leaderId: st.leaderId,
      commit: st.commit,
      applied: this.node.appliedIndex(),
      alarms: this.node.alarms?.() ?? [],
      lastIndex: this.node.lastIndex(),
      followers,
    };
  }

  private detail(): Omit<StatusDetail, 'logTail'> {
    const st = this.node.coreStatus();
    const followers =
      st.role === 'leader'
        ? Object.entries(st.progress)
            .filter(([id]) => id !== this.node.id)
            .map(([id, p]) => ({ id, matchIndex: p.match, nextIndex: p.next, state: p.state, recentActive: p.recentActive }))
        : [];
    return {
      electionTimeoutMinMs: this.node.electionTimeoutMinMs,
      electionTimeoutMaxMs: this.node.electionTimeoutMaxMs,
      heartbeatMs: this.node.heartbeatMs,
      followers,
    };
  }

  private logTail(n: number) {
    const last = this.node.lastIndex();
    const lo = Math.max(this.node.firstIndex(), last - n + 1);
    if (lo > last) return [];
    return this.node.entries(lo, last + 1).map(summarizeEntry);
  }
}
