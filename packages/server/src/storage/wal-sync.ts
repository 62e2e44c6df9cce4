// Durability without blocking the event loop.
//
// With synchronous=FULL, SQLite fsyncs the WAL inside COMMIT, and better-sqlite3 runs COMMIT on the
// calling thread: every Ready's fsync (0.5–8 ms on this disk) froze the node's only thread — no peer
// message, proposal or read was even read off a socket meanwhile, and a leader's appends only left
// once its own fsync returned. Instead each Ready's transaction is committed (ready-store.ts) with
// synchronous=OFF (the WAL frames reach the OS page cache, which a kill -9 does not lose) and then
// the WAL file is fdatasynced on libuv's thread pool (`WalSync.sync`). Whatever was committed before the
// call is durable when its callback runs; only then are the messages that promise it sent and the
// Ready advanced. Meanwhile the event loop keeps stepping messages and proposals into the core, which
// form the next Ready (group commit). A torn tail after a power loss is what SQLite's WAL recovery
// already discards (frame checksums): nothing that was synced and acknowledged.
//
// Two things keep this equivalent to synchronous=FULL:
// - The WAL file must be the one SQLite writes: it is opened once and its inode re-checked on every
//   sync (SQLite deletes the WAL only when the last connection closes; the node's stays open).
// - Checkpoints, which copy WAL pages into the database file and then let the WAL be overwritten, must
//   fsync the database file first. A connection at synchronous=OFF skips that fsync, so the node's
//   connection never checkpoints (wal_autocheckpoint=0, set in db.ts); Checkpointer does it on its own connection,
//   at synchronous=FULL, on a worker thread.
import { closeSync, fdatasync, fstatSync, openSync, statSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import type { CheckpointWorkerData } from './checkpoint-worker.js';

export type SyncDone = (err: Error | null) => void;

/** What a Ready's write needs: make everything committed so far durable, then call back. */
export interface Durability {
  sync(done: SyncDone): void;
}

export class WalSync implements Durability {
  private fd: number;
  private ino: number;
  private inFlight = 0;
  private idle: (() => void) | null = null;
  private closed = false;

  /** `dbPath`: the database file; its WAL is `<dbPath>-wal`, which must exist (WAL mode, opened). */
  constructor(private readonly dbPath: string) {
    this.fd = openSync(this.walPath, 'r');
    this.ino = fstatSync(this.fd).ino;
  }

  private get walPath(): string {
    return `${this.dbPath}-wal`;
  }

  sync(done: SyncDone): void {
    if (this.closed) return done(new Error('the WAL is closed'));
    try {
      const ino = statSync(this.walPath).ino;
      if (ino !== this.ino) throw new Error(`the WAL file ${this.walPath} was replaced (inode ${this.ino} -> ${ino})`);
    } catch (e) {
      return done(e as Error);
    }
    this.inFlight++;
    fdatasync(this.fd, (err) => {
      if (--this.inFlight === 0) this.idle?.();
      done(err);
    });
  }

  /** Waits for syncs in flight, then closes the file. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.inFlight > 0) await new Promise<void>((r) => (this.idle = r));
    closeSync(this.fd);
  }
}

export interface CheckpointerOptions {
  readonly dbPath: string;
  /** How often to copy the WAL into the database file. */
  readonly intervalMs?: number;
  /** The WAL is truncated once a checkpoint leaves it larger than this (default 64 MiB). */
  readonly truncateAboveBytes?: number;
  /** A checkpoint failed (logged; the WAL keeps growing until one succeeds). */
  readonly onError: (message: string) => void;
  /** The compiled worker script (default: checkpoint-worker.js next to this file). */
  readonly workerUrl?: URL;
}

/** Periodic checkpoints of the node's WAL, at synchronous=FULL, off the event loop. */
export class Checkpointer {
  private readonly worker: Worker;
  private closing: Promise<void> | null = null;

  constructor(o: CheckpointerOptions) {
    const data: CheckpointWorkerData = {
      dbPath: o.dbPath,
      intervalMs: o.intervalMs ?? 1000,
      truncateAboveBytes: o.truncateAboveBytes ?? 64 * 1024 * 1024,
    };
    this.worker = new Worker(o.workerUrl ?? new URL('./checkpoint-worker.js', import.meta.url), { workerData: data });
    this.worker.on('message', (m: { error: string }) => o.onError(m.error));
    this.worker.on('error', (e) => o.onError(`checkpoint worker crashed: ${e.message}`));
    this.worker.unref();
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.worker.ref(); // unreferenced, it would let the process exit before it closed
      this.worker.once('exit', () => resolve());
      this.worker.postMessage('close');
      setTimeout(() => void this.worker.terminate(), 2000).unref();
    });
    return this.closing;
  }
}
