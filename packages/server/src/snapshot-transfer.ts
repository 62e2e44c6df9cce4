// Raft/InstallSnapshot: a leader streams its snapshot file to a follower that needs entries it has
// compacted away; the follower writes it to a temp file, checks size and sha256 and that it is the
// snapshot the message names, and only then steps the 'snapshot' message into its core (which later
// asks, through Ready.snapshot, to install it: snapshot-store.ts). Memory stays bounded on both sides
// (1 MiB chunks, the sender waits for the stream to drain), every transfer has a deadline, and an
// interrupted one leaves nothing behind: the sender reports failure to its core, which retries later.
import { status, type ServerReadableStream, type sendUnaryData, type ServiceError } from '@grpc/grpc-js';
import type { Message as CoreMessage } from '@raftkv/consensus';
import { RaftClient, type InstallSnapshotResponse, type SnapshotChunk } from '@raftkv/proto';
import { createHash, type Hash } from 'node:crypto';
import { createReadStream, closeSync, fsyncSync, openSync, rmSync, writeSync } from 'node:fs';
import { messageFromWire, messageToWire, PeerMessageError } from './codec.js';
import { dialAddress, PEER_CHANNEL_OPTIONS } from './grpc-options.js';
import type { Logger } from './logger.js';
import { readSnapshotMeta, sameMeta } from './snapshot-build.js';
import type { SnapshotStore } from './snapshot-store.js';
import { channelCredentials } from './tls.js';

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
  /** Counted by metrics. */
  readonly onSent?: (to: string, bytes: number, ms: number) => void;
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
    const client = new RaftClient(dialAddress(address, this.o.dialOverrides), channelCredentials(), PEER_CHANNEL_OPTIONS);
    let cancel = (): void => {};
    this.active.set(m.to, () => cancel());
    try {
      await new Promise<void>((resolve, reject) => {
        const deadline = Date.now() + transferDeadlineMs(file.bytes);
        const call = client.installSnapshot({ deadline }, (err: ServiceError | null, _r?: InstallSnapshotResponse) => (err ? reject(err) : resolve()));
        const input = createReadStream(file.path, { highWaterMark: CHUNK_BYTES });
        cancel = () => {
          input.destroy();
          call.cancel();
        };
        call.on('error', () => input.destroy());
        input.on('error', (e) => {
          call.cancel();
          reject(e);
        });
        call.write({ clusterId: this.o.clusterId, message: messageToWire(msg), offset: 0, data: Buffer.alloc(0), last: false, totalBytes: 0, sha256: '' });
        let offset = 0;
        input.on('data', (chunk) => {
          const data = chunk as Buffer;
          const more = call.write({ clusterId: '', offset, data, last: false, totalBytes: 0, sha256: '' });
          offset += data.length;
          if (!more) {
            input.pause(); // bounded memory: wait until gRPC has taken what it holds
            call.once('drain', () => input.resume());
          }
        });
        input.on('end', () => {
          call.write({ clusterId: '', offset, data: Buffer.alloc(0), last: true, totalBytes: offset, sha256: file.sha256 });
          call.end();
        });
      });
      const ms = Date.now() - t0;
      this.o.logger.info('sent a snapshot', { to: m.to, index: file.meta.index, term: file.meta.term, bytes: file.bytes, ms });
      this.o.onSent?.(m.to, file.bytes, ms);
      return true;
    } catch (e) {
      this.o.logger.warn('snapshot transfer failed; the leader will retry', { to: m.to, index: file.meta.index, error: (e as ServiceError).details ?? (e as Error).message });
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

/** The server side of Raft/InstallSnapshot. One transfer at a time; a second is refused (the leader retries). */
export class SnapshotReceiver {
  private busy = false;

  constructor(private readonly o: SnapshotReceiverOptions) {}

  readonly handle = (call: ServerReadableStream<SnapshotChunk, InstallSnapshotResponse>, done: sendUnaryData<InstallSnapshotResponse>): void => {
    if (this.busy) {
      done({ code: status.RESOURCE_EXHAUSTED, details: 'another snapshot transfer is in progress' });
      return;
    }
    this.busy = true;
    let msg: CoreMessage | null = null;
    let tmp: string | null = null;
    let fd: number | null = null;
    let hash: Hash | null = null;
    let written = 0;
    let finished = false;
    let idle: NodeJS.Timeout | null = null;
    const finish = (err: Fail | null): void => {
      if (finished) return;
      finished = true;
      this.busy = false;
      if (idle) clearTimeout(idle);
      if (fd !== null) closeSync(fd);
      fd = null;
      if (err !== null) {
        if (tmp !== null) rmSync(tmp, { force: true });
        if (err.code !== status.CANCELLED) this.o.logger.warn('refused a snapshot', { from: msg?.from, error: err.details });
        done(err);
        call.destroy();
      } else done(null, { term: this.o.term() });
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
          if (c.clusterId !== this.o.clusterId) throw { code: status.FAILED_PRECONDITION, details: `cluster id ${JSON.stringify(c.clusterId)} is not ${JSON.stringify(this.o.clusterId)}` } satisfies Fail;
          if (c.message === undefined) throw { code: status.INVALID_ARGUMENT, details: 'the first chunk carries no message' } satisfies Fail;
          msg = messageFromWire(c.message, this.o.self, this.o.knows, true);
          tmp = this.o.store.tempPath('recv');
          fd = openSync(tmp, 'w');
          hash = createHash('sha256');
          return;
        }
        if (c.offset !== written) throw { code: status.INVALID_ARGUMENT, details: `chunk at offset ${c.offset}, expected ${written}` } satisfies Fail;
        if (c.data.length > 0) {
          writeSync(fd!, c.data);
          hash!.update(c.data);
          written += c.data.length;
        }
        if (!c.last) return;
        const sha = hash!.digest('hex');
        if (c.totalBytes !== written || c.sha256 !== sha) {
          throw { code: status.DATA_LOSS, details: `snapshot arrived damaged: ${written} bytes with sha256 ${sha}, sent ${c.totalBytes} bytes with ${c.sha256}` } satisfies Fail;
        }
        fsyncSync(fd!);
        closeSync(fd!);
        fd = null;
        const meta = readSnapshotMeta(tmp!);
        if (meta instanceof Error) throw { code: status.DATA_LOSS, details: meta.message } satisfies Fail;
        if (!sameMeta(meta, msg.snapshot!)) {
          throw { code: status.INVALID_ARGUMENT, details: `the file holds snapshot ${meta.index}@${meta.term}, the message names ${msg.snapshot!.index}@${msg.snapshot!.term}` } satisfies Fail;
        }
        this.o.store.keepReceived(tmp!, meta, written, sha);
        tmp = null;
        this.o.logger.info('received a snapshot', { from: msg.from, index: meta.index, term: meta.term, bytes: written });
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
}

/** How long sending a snapshot of `bytes` may take. */
function transferDeadlineMs(bytes: number): number {
  return BASE_DEADLINE_MS + (bytes / (1 << 20)) * MS_PER_MIB;
}
