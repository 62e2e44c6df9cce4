// Turns the Raft traffic of each Ready into a feed a person can watch: transitions (votes, role and
// term changes, step-downs) are kept one by one; the steady traffic (heartbeats, appends, their
// responses, commit advances) is coalesced per link so each stream yields at most one event per
// interval, carrying how many raw events it stands for. The buffer is bounded: when nobody drains it
// fast enough the oldest events go and are counted. Pure logic; the caller passes the clock.
import type { Message, MessageType, RaftEvent, Ready } from '@raftkv/consensus';
import { WatchEventKind, type WatchEvent } from '@raftkv/proto';

export interface SamplerOptions {
  /** Min gap between two events of one append / append-response / commit stream. */
  readonly coalesceMs: number;
  /** Min gap between two events of one heartbeat / heartbeat-response stream. */
  readonly heartbeatEveryMs: number;
  /** Events held until drained; beyond, the oldest are dropped. */
  readonly maxBuffered: number;
}

export const DEFAULT_SAMPLER_OPTIONS: SamplerOptions = { coalesceMs: 100, heartbeatEveryMs: 100, maxBuffered: 512 };

/** One coalesced stream: a message type to one peer (rejects apart), or the commit index. */
interface Stream {
  readonly gapMs: number;
  lastEmitAt: number;
  /** Events seen since the last emit, merged into one; null when none. */
  pending: WatchEvent | null;
}

const STEADY: Partial<Record<MessageType, WatchEventKind>> = {
  heartbeat: WatchEventKind.WATCH_EVENT_KIND_HEARTBEAT,
  'heartbeat-response': WatchEventKind.WATCH_EVENT_KIND_HEARTBEAT_RESPONSE,
  append: WatchEventKind.WATCH_EVENT_KIND_APPEND,
  'append-response': WatchEventKind.WATCH_EVENT_KIND_APPEND_RESPONSE,
};

function event(kind: WatchEventKind, atMs: number, from: string, fields: Partial<WatchEvent> = {}): WatchEvent {
  return { kind, atMs, from, to: '', term: 0, index: 0, entries: 0, count: 1, reject: false, preVote: false, detail: '', ...fields };
}

export class EventSampler {
  private buffer: WatchEvent[] = [];
  private dropped = 0;
  private readonly streams = new Map<string, Stream>();
  private lastCommit = -1;

  constructor(
    private readonly self: string,
    private readonly o: SamplerOptions = DEFAULT_SAMPLER_OPTIONS,
  ) {}

  /** Records what one Ready shows: the messages this node sends and its transitions. */
  observe(rd: Ready, nowMs: number): void {
    for (const ev of rd.events) this.transition(ev, nowMs);
    const msgs = rd.messages;
    for (let i = 0; i < msgs.length; i++) this.message(msgs[i]!, nowMs);
    const hs = rd.hardState;
    if (hs !== null && hs.commit !== this.lastCommit) {
      // The first commit seen only sets the baseline: it is not an advance anyone watched.
      if (this.lastCommit >= 0)
        this.steady(
          'commit',
          this.o.coalesceMs,
          nowMs,
          event(WatchEventKind.WATCH_EVENT_KIND_COMMIT, nowMs, this.self, { term: hs.term, index: hs.commit }),
        );
      this.lastCommit = hs.commit;
    }
  }

  /** Everything sampled so far (flushing coalesced streams whose interval has passed), oldest first. */
  drain(nowMs: number): { events: WatchEvent[]; dropped: number } {
    for (const s of this.streams.values()) {
      if (s.pending !== null && nowMs - s.lastEmitAt >= s.gapMs) {
        this.push(s.pending);
        s.pending = null;
        s.lastEmitAt = nowMs;
      }
    }
    const out = { events: this.buffer, dropped: this.dropped };
    this.buffer = [];
    this.dropped = 0;
    return out;
  }

  private message(m: Message, nowMs: number): void {
    const steady = STEADY[m.type];
    if (steady !== undefined) {
      const hb = steady === WatchEventKind.WATCH_EVENT_KIND_HEARTBEAT || steady === WatchEventKind.WATCH_EVENT_KIND_HEARTBEAT_RESPONSE;
      const key = `${m.type}\u0000${m.to}\u0000${m.reject ? 'r' : ''}`;
      const ev = event(steady, nowMs, this.self, {
        to: m.to,
        term: m.term,
        index: m.type === 'append' ? m.index + m.entries.length : m.index,
        entries: m.entries.length,
        reject: m.reject,
      });
      this.steady(key, hb ? this.o.heartbeatEveryMs : this.o.coalesceMs, nowMs, ev);
      return;
    }
    switch (m.type) {
      case 'vote':
      case 'pre-vote':
        this.push(
          event(WatchEventKind.WATCH_EVENT_KIND_VOTE_REQUEST, nowMs, this.self, {
            to: m.to,
            term: m.term,
            index: m.index,
            preVote: m.type === 'pre-vote',
          }),
        );
        break;
      case 'vote-response':
      case 'pre-vote-response':
        this.push(
          event(WatchEventKind.WATCH_EVENT_KIND_VOTE_RESPONSE, nowMs, this.self, {
            to: m.to,
            term: m.term,
            reject: m.reject,
            preVote: m.type === 'pre-vote-response',
          }),
        );
        break;
      case 'timeout-now':
        this.push(event(WatchEventKind.WATCH_EVENT_KIND_TIMEOUT_NOW, nowMs, this.self, { to: m.to, term: m.term }));
        break;
      case 'snapshot':
        this.push(
          event(WatchEventKind.WATCH_EVENT_KIND_SNAPSHOT, nowMs, this.self, {
            to: m.to,
            term: m.term,
            index: m.snapshot?.index ?? m.index,
          }),
        );
        break;
      default:
        break;
    }
  }

  /** Emits at once if the stream was quiet for its gap, else merges into the stream's pending event. */
  private steady(key: string, gapMs: number, nowMs: number, ev: WatchEvent): void {
    let s = this.streams.get(key);
    if (s === undefined) {
      s = { gapMs, lastEmitAt: -Infinity, pending: null };
      this.streams.set(key, s);
    }
    if (s.pending === null && nowMs - s.lastEmitAt >= gapMs) {
      s.lastEmitAt = nowMs;
      this.push(ev);
      return;
    }
    const p = s.pending;
    if (p === null) {
      s.pending = ev;
      return;
    }
    // The merged event keeps the first time and adds up counts; the rest describes the latest.
    p.count += 1;
    p.entries += ev.entries;
    p.term = ev.term;
    p.index = ev.index;
  }

  private transition(ev: RaftEvent, nowMs: number): void {
    const w = transitionEvent(this.self, ev, nowMs);
    if (w !== null) this.push(w);
  }

  private push(ev: WatchEvent): void {
    if (this.buffer.length >= this.o.maxBuffered) {
      this.buffer.shift();
      this.dropped++;
    }
    this.buffer.push(ev);
  }
}

/** A transition of this node as a feed event; null for what the feed leaves out. */
export function transitionEvent(self: string, ev: RaftEvent, nowMs: number): WatchEvent | null {
  const K = WatchEventKind;
  switch (ev.kind) {
    case 'became-follower':
      return event(K.WATCH_EVENT_KIND_BECAME_FOLLOWER, nowMs, self, {
        term: ev.term,
        detail: ev.leaderId === '' ? 'no leader known' : `leader ${ev.leaderId}`,
      });
    case 'became-pre-candidate':
      return event(K.WATCH_EVENT_KIND_BECAME_PRE_CANDIDATE, nowMs, self, { term: ev.term });
    case 'became-candidate':
      return event(K.WATCH_EVENT_KIND_BECAME_CANDIDATE, nowMs, self, { term: ev.term });
    case 'became-leader':
      return event(K.WATCH_EVENT_KIND_BECAME_LEADER, nowMs, self, { term: ev.term });
    case 'term-changed':
      return event(K.WATCH_EVENT_KIND_TERM_CHANGED, nowMs, self, {
        term: ev.to,
        detail: `from ${ev.from}${ev.cause === '' ? '' : `, because of ${ev.cause}`}`,
      });
    case 'vote-granted':
      return event(K.WATCH_EVENT_KIND_VOTE_GRANTED, nowMs, self, { to: ev.to, term: ev.term });
    case 'vote-rejected':
      return event(K.WATCH_EVENT_KIND_VOTE_REJECTED, nowMs, self, { to: ev.to, term: ev.term, reject: true, detail: ev.reason });
    case 'step-down':
      return event(K.WATCH_EVENT_KIND_STEP_DOWN, nowMs, self, { term: ev.term, detail: ev.reason });
    case 'transfer-started':
      return event(K.WATCH_EVENT_KIND_TRANSFER, nowMs, self, { to: ev.to, term: ev.term, detail: 'started' });
    case 'transfer-aborted':
      return event(K.WATCH_EVENT_KIND_TRANSFER, nowMs, self, { to: ev.to, term: ev.term, detail: `aborted: ${ev.reason}` });
    case 'conf-changed':
      return event(K.WATCH_EVENT_KIND_CONF_CHANGED, nowMs, self, {
        detail: `voters ${ev.conf.voters.join(',')}${ev.conf.learners.length > 0 ? `; learners ${ev.conf.learners.join(',')}` : ''}`,
      });
    case 'log-truncated':
      return event(K.WATCH_EVENT_KIND_LOG_TRUNCATED, nowMs, self, { index: ev.fromIndex });
    default:
      // message-dropped and anything newer: not part of the feed.
      return null;
  }
}
