// Worker thread entry: computes Admin.Digest (KvStateMachine.digest, a full scan of the MVCC history)
// on its own read-only connection inside one read transaction, so the node's event loop keeps serving
// heartbeats and clients meanwhile, and the digest and its applied index describe one state.
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import { KvStateMachine } from './state-machine.js';

const { dbPath } = workerData as { dbPath: string };
try {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    db.pragma('busy_timeout = 10000');
    const sm = new KvStateMachine(db);
    const digest = db.transaction(() => {
      sm.reload(); // the applied index as of this read transaction
      return sm.digest();
    })();
    parentPort!.postMessage({ ok: true, value: digest });
  } finally {
    db.close();
  }
} catch (e) {
  parentPort!.postMessage({ ok: false, error: (e as Error).message });
}
