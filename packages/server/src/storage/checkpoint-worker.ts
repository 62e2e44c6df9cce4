// The checkpoint worker (see Checkpointer in wal-sync.ts): its own connection at synchronous=FULL
// copies the node's WAL into the database file now and then. PASSIVE checkpoints never block the
// node's writes or reads; FULL makes each fsync the database file before the WAL may be overwritten.
// Posts { error } when a checkpoint fails; any message from the parent closes it.
import { parentPort, workerData } from 'node:worker_threads';
import { statSync } from 'node:fs';
import { checkpoint, openCheckpointConnection, truncateWal, type Db } from './db.js';

export interface CheckpointWorkerData {
  readonly dbPath: string;
  readonly intervalMs: number;
  /** A WAL larger than this after a checkpoint is truncated (truncateWal). */
  readonly truncateAboveBytes: number;
}

const port = parentPort;
if (port === null) throw new Error('checkpoint-worker.js must run as a worker thread');
const { dbPath, intervalMs, truncateAboveBytes } = workerData as CheckpointWorkerData;
const walSize = (): number => statSync(`${dbPath}-wal`, { throwIfNoEntry: false })?.size ?? 0;
const report = (e: unknown): void => port.postMessage({ error: e instanceof Error ? e.message : String(e) });

let db: Db | null = null;
try {
  db = openCheckpointConnection(dbPath);
} catch (e) {
  report(e);
}
const timer = setInterval(() => {
  try {
    if (db === null) return;
    checkpoint(db);
    if (walSize() > truncateAboveBytes) truncateWal(db, 50);
  } catch (e) {
    report(e);
  }
}, intervalMs);
port.on('message', () => {
  clearInterval(timer);
  if (db?.open) db.close();
  port.close();
});
