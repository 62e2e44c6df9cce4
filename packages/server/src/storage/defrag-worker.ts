// Worker thread entry: etcd's Defragment as SQLite's VACUUM, on a connection of its own, off the node's
// event loop. VACUUM holds the database's write lock while it rewrites the file: the node's own writes
// wait for it (busy timeout) as etcd's do during its defragmentation. Posts the sizes before and after.
import { parentPort, workerData } from 'node:worker_threads';
import { openDefragConnection } from './db.js';

export interface DefragResult {
  readonly bytesBefore: number;
  readonly bytesAfter: number;
  readonly ms: number;
}

const { dbPath } = workerData as { dbPath: string };
try {
  const db = openDefragConnection(dbPath);
  try {
    const size = (): number => (db.pragma('page_count', { simple: true }) as number) * (db.pragma('page_size', { simple: true }) as number);
    const bytesBefore = size();
    const t0 = performance.now();
    db.exec('VACUUM');
    const result: DefragResult = { bytesBefore, bytesAfter: size(), ms: Math.round(performance.now() - t0) };
    parentPort!.postMessage({ ok: true, result });
  } finally {
    db.close();
  }
} catch (e) {
  parentPort!.postMessage({ ok: false, error: (e as Error).message });
}
