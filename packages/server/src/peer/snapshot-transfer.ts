// Raft/InstallSnapshot: a leader streams its snapshot file to a follower that needs entries it has
// compacted away; the follower writes it to a temp file, checks size and sha256 and that it is the
// snapshot the message names, and only then steps the 'snapshot' message into its core (which later
// asks, through Ready.snapshot, to install it: snapshot-store.ts). Memory stays bounded on both sides
// (1 MiB chunks, the sender waits for the stream to drain), every transfer has a deadline, and an
// interrupted one leaves nothing behind: the receiver removes the partial file (and a receiver killed
// mid-transfer removes it at its next start, snapshot-store.ts), nothing reaches its core, and the
// sender reports failure to its core, which sends the snapshot again from the start later; if
// leadership moved meanwhile, the new leader sends its own. A transfer is restarted, never resumed:
// the snapshot it would resume may since have been replaced.
import { status, type ChannelOptions, type ServerReadableStream, type sendUnaryData, type ServiceError } from '@grpc/grpc-js';
import type { Message as CoreMessage } from '@raftkv/consensus';
import { RaftClient, type InstallSnapshotResponse, type SnapshotChunk } from '@raftkv/proto';
import { createHash, type Hash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, rmSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { messageFromWire, messageToWire, PeerMessageError } from './codec.js';
import { dialAddress } from '../grpc/grpc-options.js';
import type { Logger } from '../observability/logger.js';
import { readSnapshotMeta, sameMeta } from '../storage/snapshot-build.js';
import type { SnapshotStore } from '../storage/snapshot-store.js';
import { channelCredentials } from '../grpc/tls.js';
import type { PeerCallAuth } from './peer-secret.js';

const CHUNK_BYTES = 1 << 20;
/** A transfer may take this long plus a second per 4 MiB. */
const BASE_DEADLINE_MS = 30_000;
const MS_PER_MIB = 250;
/** The receiver gives up on a sender that goes quiet this long. */
const IDLE_MS = 30_000;

export interface SnapshotSenderOptions {
  readonly clusterId: string;
  readonly store: SnapshotStore;
  readonly addressOf: (id: string) => string | undefined;
  readonly dialOverrides: ReadonlyMap<string, string>;
  readonly logger: Logger;
  /** Tells the core how a transfer ended (RaftNode.reportSnapshot through the driver). */
  readonly report: (to: string, ok: boolean) => void;
  /** Test knob (--snapshot-chunk-delay-ms): pause this long before each chunk, so a test can interrupt a transfer. */
  readonly chunkDelayMs?: number;
  /** Counted by metrics. */
  readonly onSent?: (to: string, bytes: number, ms: number) => void;
  /** The credentials each transfer carries (--peer-secret-file). */
  readonly auth: PeerCallAuth;
  /** grpc/grpc-options.ts peerChannelOptions. */
  readonly channelOptions: ChannelOptions;
}

export class SnapshotSender {
  private readonly active = new Map<string, () => void>();
  private closed = false;

  constructor(private readonly o: SnapshotSenderOptions) {}

  /** Takes the snapshot messages out of a Ready's messages and streams them; returns the others. */
  intercept(messages: readonly CoreMessage[]): readonly CoreMessage[] {
    let others: CoreMessage[] | null = null;
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      if (m.type !== 'snapshot') {
        others?.push(m);
        continue;
      }
      others ??= messages.slice(0, i);
      this.start(m);
    }
    return others ?? messages;
  }

  private start(m: CoreMessage): void {
    if (this.closed) return;
    if (this.active.has(m.to)) return; // one transfer per follower; the core waits for its report
    void this.send(m).then(
      (ok) => this.o.report(m.to, ok),
      () => this.o.report(m.to, false),
    );
  }

  private async send(m: CoreMessage): Promise<boolean> {
    const lease = this.o.store.acquire();
    const address = this.o.addressOf(m.to);
    if (lease === null || address === undefined) {
      lease?.release();
      this.o.logger.warn('cannot send a snapshot', { to: m.to, reason: lease === null ? 'no snapshot file' : 'no address' });
      return false;
    }
    const { file } = lease;
    // The current snapshot may be newer than the one the message names: send it, it covers more.
    const msg: CoreMessage = { ...m, snapshot: file.meta };
    const t0 = Date.now();
    const client = new RaftClient(dialAddress(address, this.o.dialOverrides), channelCredentials(), this.o.channelOptions);
    const delayMs = this.o.chunkDelayMs ?? 0;
    const deadline = t0 + transferDeadlineMs(file.bytes, delayMs);
    let settle!: (err: ServiceError | null) => void;
    const outcome = new Promise<void>((resolve, reject) => {
      settle = (err) => (err ? reject(err) : resolve());
    });
    const call = client.installSnapshot(
      this.o.auth(m.to, '/raftkv.v1.Raft/InstallSnapshot'),
      { deadline },
      (err: ServiceError | null, _r?: InstallSnapshotResponse) => settle(err),
    );
    let over = false;
    const ended = outcome.then(
      () => {
        over = true;
      },
      () => {
        over = true;
      },
    );
    this.active.set(m.to, () => call.cancel());
    this.o.logger.info('sending a snapshot', { to: m.to, index: file.meta.index, term: file.meta.term, bytes: file.bytes });
    let chunks = 0;
    try {
      const pump = async (): Promise<void> => {
        const fh = await open(file.path, 'r');
        try {
          call.write({
            clusterId: this.o.clusterId,
            message: messageToWire(msg),
            offset: 0,
            data: Buffer.alloc(0),
            last: false,
            totalBytes: 0,
            sha256: '',
          });
          for (let offset = 0; offset < file.bytes && !over; ) {
            if (delayMs > 0) await Promise.race([sleep(delayMs), ended]);
            if (over) return;
            const data = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, file.bytes - offset));
            const { bytesRead } = await fh.read(data, 0, data.length, offset);
            if (bytesRead !== data.length) throw new Error(`${file.path} is shorter than its recorded ${file.bytes} bytes`);
            if (over) return;
            const more = call.write({ clusterId: '', offset, data, last: false, totalBytes: 0, sha256: '' });
            offset += data.length;
            chunks++;
            // Bounded memory: wait until gRPC has taken what it holds.
            if (!more) await Promise.race([new Promise((r) => call.once('drain', r)), ended]);
          }
          if (over) return;
          call.write({ clusterId: '', offset: file.bytes, data: Buffer.alloc(0), last: true, totalBytes: file.bytes, sha256: file.sha256 });
          call.end();
        } finally {
          await fh.close();
        }
      };
      await pump().catch((e: unknown) => {
        call.cancel();
        throw e;
      });
      await outcome;
      const ms = Date.now() - t0;
      this.o.logger.info('sent a snapshot', { to: m.to, index: file.meta.index, term: file.meta.term, bytes: file.bytes, chunks, ms });
      this.o.onSent?.(m.to, file.bytes, ms);
      return true;
    } catch (e) {
      this.o.logger.warn('snapshot transfer failed; the leader will retry', {
        to: m.to,
        index: file.meta.index,
        chunks,
        error: (e as ServiceError).details ?? (e as Error).message,
      });
      return false;
    } finally {
      this.active.delete(m.to);
      lease.release();
      client.close();
    }
  }

  close(): void {
    this.closed = true;
    for (const cancel of this.active.values()) cancel();
  }
}

export interface SnapshotReceiverOptions {
  readonly self: string;
  readonly clusterId: string;
  readonly store: SnapshotStore;
  /** Whether a sender may talk to us (the transport's check). */
  readonly knows: { has(id: string): boolean };
  readonly logger: Logger;
  /** Steps the verified snapshot message into the core. */
  readonly deliver: (m: CoreMessage) => void;
  readonly term: () => number;
}

type Fail = { code: status; details: string };

/** The transfer a receiver is taking in: from whom, and in which term. */
interface Inbound {
  readonly from: string;
  readonly term: number;
  abort(f: Fail): void;
}

/**
 * The server side of Raft/InstallSnapshot. One transfer at a time, the newest leader's: a transfer from
 * a term at least as new as the one in progress replaces it (its sender is gone, or was deposed, or is
 * the same leader starting over); an older one is refused, and so is one from a term older than ours.
 * Whatever way a transfer ends short of a verified file, its partial file is removed.
 */
export class SnapshotReceiver {
  private current: Inbound | null = null;

  constructor(private readonly o: SnapshotReceiverOptions) {}

  readonly handle = (
    call: ServerReadableStream<SnapshotChunk, InstallSnapshotResponse>,
    done: sendUnaryData<InstallSnapshotResponse>,
  ): void => {
    let msg: CoreMessage | null = null;
    let tmp: string | null = null;
    let fd: number | null = null;
    let hash: Hash | null = null;
    let written = 0;
    let chunks = 0;
    const t0 = Date.now();
    let finished = false;
    let idle: NodeJS.Timeout | null = null;
    const finish = (err: Fail | null): void => {
      if (finished) return;
      finished = true;
      if (this.current === me) this.current = null;
      if (idle) clearTimeout(idle);
      if (fd !== null) closeSync(fd);
      fd = null;
      if (err !== null) {
        if (tmp !== null) rmSync(tmp, { force: true });
        tmp = null;
        if (err.code !== status.CANCELLED)
          this.o.logger.warn('refused a snapshot', { from: msg?.from, index: msg?.snapshot?.index, bytes: written, error: err.details });
        else if (msg !== null)
          this.o.logger.info('a snapshot transfer was cut off; dropped what had arrived', {
            from: msg.from,
            index: msg.snapshot?.index,
            bytes: written,
          });
        done(err);
        call.destroy();
      } else done(null, { term: this.o.term() });
    };
    const me: Inbound = {
      get from() {
        return msg?.from ?? '';
      },
      get term() {
        return msg?.term ?? 0;
      },
      abort: finish,
    };
    const arm = (): void => {
      if (idle) clearTimeout(idle);
      idle = setTimeout(() => finish({ code: status.DEADLINE_EXCEEDED, details: `no data for ${IDLE_MS} ms` }), IDLE_MS);
    };
    arm();
    call.on('data', (c: SnapshotChunk) => {
      if (finished) return;
      arm();
      try {
        if (msg === null) {
          if (c.clusterId !== this.o.clusterId)
            throw {
              code: status.FAILED_PRECONDITION,
              details: `cluster id ${JSON.stringify(c.clusterId)} is not ${JSON.stringify(this.o.clusterId)}`,
            } satisfies Fail;
          if (c.message === undefined)
            throw { code: status.INVALID_ARGUMENT, details: 'the first chunk carries no message' } satisfies Fail;
          const m = messageFromWire(c.message, this.o.self, this.o.knows, true);
          msg = m;
          this.checkTerm(m);
          const cur = this.current;
          if (cur !== null) {
            if (cur.term > m.term)
              throw {
                code: status.RESOURCE_EXHAUSTED,
                details: `receiving a snapshot from ${cur.from} in the newer term ${cur.term}`,
              } satisfies Fail;
            cur.abort({ code: status.ABORTED, details: `replaced by a transfer from ${m.from} in term ${m.term}` });
          }
          this.current = me;
          tmp = this.o.store.tempPath('recv');
          fd = openSync(tmp, 'w');
          hash = createHash('sha256');
          this.o.logger.info('receiving a snapshot', { from: m.from, index: m.snapshot!.index, term: m.snapshot!.term });
          return;
        }
        if (c.offset !== written)
          throw { code: status.INVALID_ARGUMENT, details: `chunk at offset ${c.offset}, expected ${written}` } satisfies Fail;
        if (c.data.length > 0) {
          writeSync(fd!, c.data);
          hash!.update(c.data);
          written += c.data.length;
          chunks++;
        }
        if (!c.last) return;
        const sha = hash!.digest('hex');
        if (c.totalBytes !== written || c.sha256 !== sha) {
          throw {
            code: status.DATA_LOSS,
            details: `snapshot arrived damaged: ${written} bytes with sha256 ${sha}, sent ${c.totalBytes} bytes with ${c.sha256}`,
          } satisfies Fail;
        }
        fsyncSync(fd!);
        closeSync(fd!);
        fd = null;
        const meta = readSnapshotMeta(tmp!);
        if (meta instanceof Error) throw { code: status.DATA_LOSS, details: meta.message } satisfies Fail;
        if (!sameMeta(meta, msg.snapshot!)) {
          throw {
            code: status.INVALID_ARGUMENT,
            details: `the file holds snapshot ${meta.index}@${meta.term}, the message names ${msg.snapshot!.index}@${msg.snapshot!.term}`,
          } satisfies Fail;
        }
        this.checkTerm(msg); // (a new leader may have come up meanwhile: its sender is deposed)
        this.o.store.keepReceived(tmp!, meta, written, sha);
        tmp = null;
        this.o.logger.info('received a snapshot', {
          from: msg.from,
          index: meta.index,
          term: meta.term,
          bytes: written,
          chunks,
          ms: Date.now() - t0,
        });
        this.o.deliver(msg);
        finish(null);
      } catch (e) {
        if (e instanceof PeerMessageError) finish({ code: status.INVALID_ARGUMENT, details: e.message });
        else if (typeof (e as Fail).code === 'number') finish(e as Fail);
        else finish({ code: status.INTERNAL, details: (e as Error).message });
      }
    });
    call.on('end', () => finish({ code: status.INVALID_ARGUMENT, details: 'stream ended before the last chunk' }));
    call.on('error', () => finish({ code: status.CANCELLED, details: 'cancelled' }));
    call.on('cancelled', () => finish({ code: status.CANCELLED, details: 'cancelled' }));
  };

  /** A snapshot from a leader of an older term than ours is of no use (the core would ignore it). */
  private checkTerm(m: CoreMessage): void {
    const term = this.o.term();
    if (m.term < term)
      throw { code: status.FAILED_PRECONDITION, details: `sent in term ${m.term}, but this node is in term ${term}` } satisfies Fail;
  }
}

/** How long sending a snapshot of `bytes` may take (with `delayMs` before each chunk). */
function transferDeadlineMs(bytes: number, delayMs: number): number {
  return BASE_DEADLINE_MS + (bytes / (1 << 20)) * MS_PER_MIB + Math.ceil(bytes / CHUNK_BYTES) * delayMs;
}
