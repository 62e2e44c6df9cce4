// Prometheus metrics of one node (prom-client, own registry). The hot path only increments counters
// and observes histograms once per Ready (or per client call); everything that is a level (role, term,
// indexes, follower progress) is read from the node at scrape time, so it costs nothing between scrapes.
import type { Message, Ready, Role } from '@raftkv/consensus';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What the node looks like right now; read only when Prometheus scrapes. */
export interface NodeSnapshot {
  readonly role: Role;
  readonly term: number;
  readonly leaderId: string;
  readonly commit: number;
  readonly applied: number;
  readonly lastIndex: number;
  /** Leader only: each other member's match index. */
  readonly followers: ReadonlyArray<{ readonly id: string; readonly match: number }>;
  /** The raised alarms' types (NOSPACE, CORRUPT). */
  readonly alarms?: readonly string[];
}

/** etcd's alarm types a gauge is exported for (0 when not raised, so an alert has a series to watch). */
const ALARMS = ['NOSPACE', 'CORRUPT'] as const;

export type ProposeResult = 'ok' | 'failed';
export type ReadConsistencyLabel = 'linearizable' | 'stale';

const ROLES: readonly Role[] = ['follower', 'pre-candidate', 'candidate', 'leader'];

// Latencies from 100 µs (an fsync on a fast disk) to 10 s (a caller's deadline).
const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

export interface RaftMetricsOptions {
  /** Also export prom-client's default process metrics (CPU, memory, event loop lag, GC). */
  readonly processMetrics?: boolean;
}

export class RaftMetrics {
  readonly registry = new Registry();
  private readonly leaderChanges: Counter;
  private readonly electionsStarted: Counter;
  private readonly electionsWon: Counter;
  private readonly proposals: Counter<'result'>;
  private readonly proposeDuration: Histogram;
  private readonly readDuration: Histogram<'consistency'>;
  private readonly storageCommitSynced: Histogram.Internal<'fsync'>;
  private readonly storageCommitUnsynced: Histogram.Internal<'fsync'>;
  private readonly readyBatch: Histogram;
  private readonly appendsSent: Counter<'peer'>;
  private readonly appendRejections: Counter<'peer'>;
  private readonly snapshotBytes: Counter;
  private readonly snapshots: Counter<'direction'>;
  // Label children cached per peer: no label hashing on the hot path.
  private readonly appendsSentBy = new Map<string, Counter.Internal>();
  private readonly rejectionsBy = new Map<string, Counter.Internal>();
  private readonly proposalsOk: Counter.Internal;
  private readonly proposalsFailed: Counter.Internal;
  private readonly readLinearizable: Histogram.Internal<'consistency'>;
  private readonly readStale: Histogram.Internal<'consistency'>;
  private lastLeader = '';

  constructor(source: () => NodeSnapshot, options: RaftMetricsOptions = {}) {
    const registers = [this.registry];
    // One snapshot per scrape, shared by every level gauge's collect().
    let cached: NodeSnapshot | null = null;
    let cachedAt = -1;
    const snap = (): NodeSnapshot => {
      const now = Date.now();
      if (cached === null || now - cachedAt > 100) {
        cached = source();
        cachedAt = now;
      }
      return cached;
    };
    new Gauge({
      name: 'raftkv_role',
      help: 'Raft role of this node: 1 for the current role, 0 for the others',
      labelNames: ['role'],
      registers,
      collect() {
        const r = snap().role;
        for (const role of ROLES) this.set({ role }, role === r ? 1 : 0);
      },
    });
    new Gauge({
      name: 'raftkv_alarm_active',
      help: "1 while the cluster has this alarm raised (etcd's Maintenance.Alarm; NOSPACE: writes refused), else 0",
      labelNames: ['alarm'],
      registers,
      collect() {
        const raised = snap().alarms ?? [];
        for (const alarm of ALARMS) this.set({ alarm }, raised.includes(alarm) ? 1 : 0);
      },
    });
    new Gauge({
      name: 'raftkv_has_leader',
      help: '1 if this node knows a leader, else 0',
      registers,
      collect() {
        this.set(snap().leaderId === '' ? 0 : 1);
      },
    });
    const level = (name: string, help: string, pick: (s: NodeSnapshot) => number): void => {
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(pick(snap()));
        },
      });
    };
    level('raftkv_term', 'Current Raft term', (s) => s.term);
    level('raftkv_commit_index', 'Highest log index known to be committed', (s) => s.commit);
    level('raftkv_applied_index', 'Highest log index applied to the state machine', (s) => s.applied);
    level('raftkv_last_log_index', 'Index of the last entry in the local log', (s) => s.lastIndex);
    new Gauge({
      name: 'raftkv_follower_match_index',
      help: 'Leader only: highest index known to be replicated on each follower',
      labelNames: ['peer'],
      registers,
      collect() {
        this.reset();
        for (const f of snap().followers) this.set({ peer: f.id }, f.match);
      },
    });
    new Gauge({
      name: 'raftkv_follower_lag_entries',
      help: "Leader only: entries each follower is behind the leader's last log index",
      labelNames: ['peer'],
      registers,
      collect() {
        this.reset();
        const s = snap();
        for (const f of s.followers) this.set({ peer: f.id }, Math.max(0, s.lastIndex - f.match));
      },
    });

    this.leaderChanges = new Counter({
      name: 'raftkv_leader_changes_total',
      help: 'Times this node saw the leader change (a new leader became known)',
      registers,
    });
    this.electionsStarted = new Counter({
      name: 'raftkv_elections_started_total',
      help: 'Elections this node started as a candidate (pre-vote rounds not counted)',
      registers,
    });
    this.electionsWon = new Counter({ name: 'raftkv_elections_won_total', help: 'Elections this node won (became leader)', registers });
    this.proposals = new Counter({
      name: 'raftkv_proposals_total',
      help: 'Client proposals answered by this node, by result (a proposal a follower forwards counts there and on the leader)',
      labelNames: ['result'],
      registers,
    });
    // Labelled series start at zero so rate() and absence alerts work before the first event.
    this.proposalsOk = this.proposals.labels('ok');
    this.proposalsOk.inc(0);
    this.proposalsFailed = this.proposals.labels('failed');
    this.proposalsFailed.inc(0);
    this.proposeDuration = new Histogram({
      name: 'raftkv_propose_duration_seconds',
      help: 'Client Propose latency at this node (includes forwarding to the leader)',
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.readDuration = new Histogram({
      name: 'raftkv_read_duration_seconds',
      help: 'Client Read latency at this node, by consistency',
      labelNames: ['consistency'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.readLinearizable = this.readDuration.labels('linearizable');
    this.readStale = this.readDuration.labels('stale');
    this.readDuration.zero({ consistency: 'linearizable' });
    this.readDuration.zero({ consistency: 'stale' });
    const storageCommit = new Histogram({
      name: 'raftkv_storage_commit_duration_seconds',
      help: 'Duration of the SQLite transaction that persists and applies one Ready; fsync="true" when it had to be durable (new entries, term or vote)',
      labelNames: ['fsync'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.storageCommitSynced = storageCommit.labels('true');
    this.storageCommitUnsynced = storageCommit.labels('false');
    storageCommit.zero({ fsync: 'true' });
    storageCommit.zero({ fsync: 'false' });
    this.readyBatch = new Histogram({
      name: 'raftkv_ready_batch_entries',
      help: 'Log entries persisted per Ready (group commit batch size)',
      buckets: BATCH_BUCKETS,
      registers,
    });
    this.appendsSent = new Counter({
      name: 'raftkv_append_messages_sent_total',
      help: 'AppendEntries messages sent, by destination peer',
      labelNames: ['peer'],
      registers,
    });
    this.appendRejections = new Counter({
      name: 'raftkv_append_rejections_total',
      help: 'AppendEntries rejected by a follower (log mismatch), by peer',
      labelNames: ['peer'],
      registers,
    });
    this.snapshots = new Counter({
      name: 'raftkv_snapshots_total',
      help: 'Snapshot transfers completed to followers (sent) and snapshots installed from the leader',
      labelNames: ['direction'],
      registers,
    });
    this.snapshots.labels('sent').inc(0);
    this.snapshots.labels('installed').inc(0);
    this.snapshotBytes = new Counter({
      name: 'raftkv_snapshot_sent_bytes_total',
      help: 'Bytes of snapshot transfers completed to followers',
      registers,
    });
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** Once per handled Ready. `persistSeconds` is the storage transaction's duration, or null if nothing was written. */
  readyHandled(rd: Ready, persistSeconds: number | null): void {
    if (persistSeconds !== null) (rd.mustSync ? this.storageCommitSynced : this.storageCommitUnsynced).observe(persistSeconds);
    if (rd.entries.length > 0) this.readyBatch.observe(rd.entries.length);
    if (rd.softState !== null) {
      const leader = rd.softState.leaderId;
      if (leader !== '' && leader !== this.lastLeader) this.leaderChanges.inc();
      this.lastLeader = leader;
    }
    if (rd.snapshot !== null) this.snapshots.inc({ direction: 'installed' });
    for (const ev of rd.events) {
      if (ev.kind === 'became-candidate') this.electionsStarted.inc();
      else if (ev.kind === 'became-leader') this.electionsWon.inc();
    }
    const msgs = rd.messages;
    for (let i = 0; i < msgs.length; i++) {
      const m = msgs[i]!;
      if (m.type === 'append') this.child(this.appendsSentBy, this.appendsSent, m.to).inc();
    }
  }

  /** A snapshot transfer to a follower completed (the core's snapshot messages may be retried or dropped). */
  snapshotSent(bytes: number): void {
    this.snapshots.inc({ direction: 'sent' });
    this.snapshotBytes.inc(bytes);
  }

  /** Every message that arrives from a peer. */
  messageReceived(m: Message): void {
    if (m.reject && m.type === 'append-response') this.child(this.rejectionsBy, this.appendRejections, m.from).inc();
  }

  proposeDone(result: ProposeResult, seconds: number): void {
    (result === 'ok' ? this.proposalsOk : this.proposalsFailed).inc();
    this.proposeDuration.observe(seconds);
  }

  readDone(consistency: ReadConsistencyLabel, seconds: number): void {
    (consistency === 'stale' ? this.readStale : this.readLinearizable).observe(seconds);
  }

  /** The text exposition format, for GET /metrics. */
  exposition(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  private child(cache: Map<string, Counter.Internal>, counter: Counter<'peer'>, peer: string): Counter.Internal {
    let c = cache.get(peer);
    if (c === undefined) {
      c = counter.labels(peer);
      cache.set(peer, c);
    }
    return c;
  }
}
