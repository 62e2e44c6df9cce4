// Worker thread entry: computes Admin.Digest (KvStateMachine.digest, a full scan of the MVCC history)
// on its own read-only connection inside one read transaction, so the node's event loop keeps serving
// heartbeats and clients meanwhile, and the digest and its applied index describe one state. It lives
// as long as the node and answers each message with one digest (digest-runner.ts sends one at a time).
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import { KvStateMachine } from './state-machine.js';

const { dbPath } = workerData as { dbPath: string };
const port = parentPort!;
let sm: KvStateMachine | null = null;
let db: Database.Database | null = null;
port.on('message', () => {
  try {
    if (db === null) {
      db = new Database(dbPath, { readonly: true, fileMustExist: true });
      db.pragma('busy_timeout = 10000');
      sm = new KvStateMachine(db);
    }
    const s = sm!;
    const digest = db.transaction(() => {
      s.reload(); // the applied index as of this read transaction
      return s.digest();
    })();
    port.postMessage({ ok: true, value: digest });
  } catch (e) {
    port.postMessage({ ok: false, error: (e as Error).message });
  }
});
