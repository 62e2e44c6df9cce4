// Peer transport: one long-lived client-streaming Raft/Send call per peer carries MessageBatches in the
// order the core produced them. Sending never blocks the core: while a peer is unreachable or its
// stream is backed up, messages to it are dropped (Raft retransmits), and the stream is reopened with
// backoff. Inbound batches are checked (cluster id, sender, shape) before anything reaches the core.
import {
  status,
  type ChannelOptions,
  type ClientWritableStream,
  type Deadline,
  type ServerReadableStream,
  type sendUnaryData,
  type ServiceError,
} from '@grpc/grpc-js';
import type { Message as CoreMessage } from '@raftkv/consensus';
import { type MessageBatch, RaftClient, type Message as WireMessage, type RaftServer, type SendResponse } from '@raftkv/proto';
import { messageFromWire, messageToWire, PeerMessageError, wireBytesBound } from './codec.js';
import { dialAddress, PEER_BATCH_BYTES } from '../grpc/grpc-options.js';
import type { Logger } from '../observability/logger.js';
import { channelCredentials } from '../grpc/tls.js';
import type { PeerCallAuth } from './peer-secret.js';
import { isRelease, PEER_PROTOCOL_VERSION, RAFTKV_VERSION, UNVERSIONED_PEER_RELEASE } from '../version.js';

export interface TransportOptions {
  readonly self: string;
  readonly clusterId: string;
  /** Every node id -> address (this node included). */
  readonly peers: ReadonlyMap<string, string>;
  readonly dialOverrides: ReadonlyMap<string, string>;
  readonly logger: Logger;
  /** Called for every valid inbound message, in arrival order. */
  readonly deliver: (m: CoreMessage) => void;
  /** The credentials each stream we open carries (--peer-secret-file). */
  readonly auth: PeerCallAuth;
  /** grpc/grpc-options.ts peerChannelOptions. */
  readonly channelOptions: ChannelOptions;
  /**
   * A peer's stream to us broke off before its deadline: its connection closed, which a crashed
   * process's does at once (a partition closes nothing). Called after every message it carried.
   */
  readonly peerLost?: (id: string) => void;
}

const SEND_METHOD = '/raftkv.v1.Raft/Send';

/** Batches / entry bytes queued in grpc-js for one peer (a slow or frozen peer) before further messages are dropped. */
const MAX_QUEUED_BATCHES = 512;
const MAX_QUEUED_BYTES = 32 << 20;
const BACKOFF_MIN_MS = 50;
const BACKOFF_MAX_MS = 1000;
/** Streams are renewed now and then so every call has a deadline. */
const STREAM_LIFETIME_MS = 10 * 60_000;
/** A stream that ends closer than this to its deadline is being renewed, not lost. */
const RENEWAL_SLACK_MS = 5_000;
/** A grpc-js deadline (a Date or ms since the epoch; Infinity for none) in ms since the epoch. */
const deadlineMs = (d: Deadline): number => (d instanceof Date ? d.getTime() : d);
/** How long a removed member's stream stays open: well beyond a leader's hand-off (about an election timeout). */
const REMOVED_PEER_GRACE_MS = 10_000;

class PeerStream {
  private stream: ClientWritableStream<MessageBatch> | null = null;
  private queued = 0;
  private queuedBytes = 0;
  private backoffMs = 0;
  private retryAt = 0;
  private dropped = 0;
  private closed = false;
  private readonly client: RaftClient;

  constructor(
    readonly peer: string,
    readonly address: string,
    private readonly clusterId: string,
    private readonly logger: Logger,
    private readonly auth: PeerCallAuth,
    channelOptions: ChannelOptions,
  ) {
    this.client = new RaftClient(address, channelCredentials(), channelOptions);
  }

  send(messages: WireMessage[]): void {
    if (this.closed) return;
    const s = this.stream ?? this.open();
    if (s === null || this.queued >= MAX_QUEUED_BATCHES || this.queuedBytes >= MAX_QUEUED_BYTES) {
      this.dropped += messages.length;
      return;
    }
    let bytes = 0;
    for (const m of messages) for (const e of m.entries) bytes += e.data.length;
    this.queued++;
    this.queuedBytes += bytes;
    const stream = s;
    s.write({ clusterId: this.clusterId, messages, senderVersion: RAFTKV_VERSION, protocolVersion: PEER_PROTOCOL_VERSION }, () => {
      if (this.stream !== stream) return; // counters were reset with the stream
      this.queued--;
      this.queuedBytes -= bytes;
    });
  }

  private open(): ClientWritableStream<MessageBatch> | null {
    const now = Date.now();
    if (now < this.retryAt) return null;
    const s = this.client.send(
      this.auth(this.peer, SEND_METHOD),
      { deadline: now + STREAM_LIFETIME_MS },
      (err: ServiceError | null, _res?: SendResponse) => {
        if (this.stream === s) this.stream = null;
        this.queued = 0;
        this.queuedBytes = 0;
        if (this.closed) return;
        if (err === null || err.code === status.DEADLINE_EXCEEDED) {
          this.backoffMs = 0; // a normal renewal
          return;
        }
        this.backoffMs = Math.min(BACKOFF_MAX_MS, Math.max(BACKOFF_MIN_MS, this.backoffMs * 2));
        this.retryAt = Date.now() + this.backoffMs;
        const dropped = this.dropped;
        this.dropped = 0;
        if (err.code === status.FAILED_PRECONDITION || err.code === status.PERMISSION_DENIED || err.code === status.UNAUTHENTICATED) {
          this.logger.error('peer refused our stream', { peer: this.peer, error: err.details });
        } else {
          this.logger.debug('peer stream failed; retrying with backoff', {
            peer: this.peer,
            error: err.details,
            backoffMs: this.backoffMs,
            dropped,
          });
        }
      },
    );
    s.on('error', () => {}); // reported through the callback above
    this.stream = s;
    return s;
  }

  /** A healthy exchange resets the backoff (called when the peer's messages reach us). */
  heard(): void {
    this.backoffMs = 0;
    this.retryAt = 0;
  }

  close(): void {
    this.closed = true;
    this.stream?.end();
    this.stream = null;
    this.client.close();
  }
}

export class PeerTransport {
  private readonly streams = new Map<string, PeerStream>();
  private readonly inbound = new Set<{ call: ServerReadableStream<MessageBatch, SendResponse>; done: sendUnaryData<SendResponse> }>();
  private peerIds: ReadonlySet<string> = new Set();
  /** Removed members whose streams stay open until the timer fires (see setPeers). */
  private readonly leaving = new Map<string, NodeJS.Timeout>();
  private rejected = 0;
  private closed = false;
  /** The release each peer last said it runs (v0.2.0 says nothing: UNVERSIONED_PEER_RELEASE). */
  private readonly releases = new Map<string, string>();

  constructor(private readonly opts: TransportOptions) {
    this.setPeers(opts.peers);
  }

  /**
   * The members changed (membership.ts): open streams to new ones, close those to removed ones, and
   * redial a member whose address changed.
   */
  setPeers(peers: ReadonlyMap<string, string>): void {
    for (const [id, addr] of peers) {
      if (id === this.opts.self) continue;
      const address = dialAddress(addr, this.opts.dialOverrides);
      const s = this.streams.get(id);
      if (s?.address === address) continue;
      s?.close();
      this.streams.set(id, new PeerStream(id, address, this.opts.clusterId, this.opts.logger, this.opts.auth, this.opts.channelOptions));
    }
    for (const [id, s] of this.streams) {
      if (peers.has(id)) {
        clearTimeout(this.leaving.get(id));
        this.leaving.delete(id);
      } else if (!this.leaving.has(id)) {
        // A removed member keeps its stream for a while: a leader that removed itself hands leadership
        // over through it (it catches the target up, then sends TimeoutNow) and must hear the answers.
        const t = setTimeout(() => {
          this.leaving.delete(id);
          if (this.streams.get(id) !== s) return;
          s.close();
          this.streams.delete(id);
        }, REMOVED_PEER_GRACE_MS);
        t.unref();
        this.leaving.set(id, t);
      }
    }
    this.peerIds = new Set(peers.keys());
  }

  /**
   * Senders whose messages are accepted: the known members and just-removed ones (see setPeers);
   * anyone of this cluster (the cluster id is checked) while this node knows no other node yet,
   * i.e. while it joins.
   */
  readonly knows = {
    has: (id: string): boolean => this.peerIds.has(id) || this.leaving.has(id) || this.streams.size === 0,
  };

  /** Sends messages, keeping the core's order per destination; one batch per peer per call. */
  send(messages: readonly CoreMessage[]): void {
    if (messages.length === 0) return;
    if (messages.length === 1) {
      const m = messages[0]!;
      this.streams.get(m.to)?.send([messageToWire(m)]);
      return;
    }
    const byPeer = new Map<string, WireMessage[]>();
    const bytes = new Map<string, number>();
    for (const m of messages) {
      const w = messageToWire(m);
      let list = byPeer.get(m.to);
      if (list === undefined) byPeer.set(m.to, (list = []));
      const n = wireBytesBound(w);
      let size = bytes.get(m.to) ?? 0;
      // Flush before passing the cap, so a batch is at most PEER_BATCH_BYTES or one message alone:
      // the bound the peer's receive limit is computed from (grpc/grpc-options.ts).
      if (size + n > PEER_BATCH_BYTES && list.length > 0) {
        this.streams.get(m.to)?.send(list);
        byPeer.set(m.to, (list = []));
        size = 0;
      }
      list.push(w);
      bytes.set(m.to, size + n);
    }
    for (const [to, list] of byPeer) this.streams.get(to)?.send(list);
  }

  /** The Raft service implementation for the gRPC server. */
  readonly service: Pick<RaftServer, 'send'> = {
    send: (call, done) => {
      const entry = { call, done };
      this.inbound.add(entry);
      let finished = false;
      /** Who sends on this stream (the first valid message's sender). */
      let sender = '';
      const finish = (err: Partial<ServiceError> | null) => {
        if (finished) return;
        finished = true;
        this.inbound.delete(entry);
        done(err, err ? undefined : {});
      };
      // The sender's stream ended (on a crash: 'end', then 'cancelled', after every message it carried).
      // Unless that is the sender renewing it at its deadline, its connection is gone: say so, once.
      let ended = false;
      const streamEnded = (): void => {
        if (ended) return;
        ended = true;
        if (sender !== '' && !this.closed && deadlineMs(call.getDeadline()) - Date.now() > RENEWAL_SLACK_MS) this.opts.peerLost?.(sender);
      };
      call.on('data', (batch: MessageBatch) => {
        if (finished) return;
        if (batch.clusterId !== this.opts.clusterId) {
          this.opts.logger.warn('refused a peer stream from another cluster', { clusterId: batch.clusterId, peerAddress: call.getPeer() });
          finish({
            code: status.FAILED_PRECONDITION,
            details: `cluster id ${JSON.stringify(batch.clusterId)} is not ${JSON.stringify(this.opts.clusterId)}`,
          });
          return;
        }
        let from: string | undefined;
        for (const w of batch.messages) from = this.receive(w) ?? from;
        if (from !== undefined) {
          if (sender === '') sender = from;
          // Only a sender whose messages passed the checks (membership, the peer guard) is believed.
          const v = batch.senderVersion === '' ? UNVERSIONED_PEER_RELEASE : batch.senderVersion;
          if (this.releases.get(from) !== v && isRelease(v)) this.releases.set(from, v);
        }
      });
      call.on('end', () => {
        finish(null);
        streamEnded();
      });
      call.on('error', () => {
        finish({ code: status.CANCELLED });
        streamEnded();
      });
      call.on('cancelled', () => {
        finish({ code: status.CANCELLED });
        streamEnded();
      });
    },
  };

  /** The release `id` last said it runs; undefined until a valid batch of it arrived. */
  releaseOf(id: string): string | undefined {
    return this.releases.get(id);
  }

  /** Hands a valid message to the core; returns its sender (undefined when it was dropped). */
  private receive(w: WireMessage): string | undefined {
    let m: CoreMessage;
    try {
      m = messageFromWire(w, this.opts.self, this.knows);
    } catch (e) {
      if (!(e instanceof PeerMessageError)) throw e;
      // Log the first and then every 1000th, so a hostile peer cannot flood the log.
      if (this.rejected++ % 1000 === 0)
        this.opts.logger.warn('dropped a malformed peer message', { error: e.message, from: w.from, count: this.rejected });
      return undefined;
    }
    this.streams.get(m.from)?.heard();
    this.opts.deliver(m);
    return m.from;
  }

  close(): void {
    this.closed = true;
    for (const t of this.leaving.values()) clearTimeout(t);
    this.leaving.clear();
    for (const s of this.streams.values()) s.close();
    for (const { done } of this.inbound) done({ code: status.UNAVAILABLE, details: 'node shutting down' });
    this.inbound.clear();
  }
}
