// Worker thread entry: etcd's Hash or HashKV (hashes.ts) over the node's database on a connection of
// its own, in one read transaction, off the node's event loop (both read every row they hash).
import { parentPort, workerData } from 'node:worker_threads';
import { openReadConnection } from './db.js';
import { hashDatabase, hashKv, type HashJob } from './hashes.js';

const job = workerData as HashJob;
try {
  const db = openReadConnection(job.dbPath);
  try {
    const result = job.kind === 'db' ? hashDatabase(db) : hashKv(db, job.revision);
    parentPort!.postMessage({ ok: true, result });
  } finally {
    db.close();
  }
} catch (e) {
  parentPort!.postMessage({ ok: false, error: (e as Error).message });
}
