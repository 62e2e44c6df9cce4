// Worker thread entry: installs one snapshot received from the leader (snapshot-install.ts) on a
// connection of its own, so copying a large state machine does not stall the node's event loop
// (heartbeats, client calls); the node's driver holds every later Ready until it is done.
import { parentPort, workerData } from 'node:worker_threads';
import { openInstallConnection } from './db.js';
import { installSnapshotFile, type InstallJob } from './snapshot-install.js';

const job = workerData as InstallJob;
try {
  const db = openInstallConnection(job.dbPath);
  try {
    installSnapshotFile(db, job.snapPath, job.record);
  } finally {
    db.close();
  }
  parentPort!.postMessage({ ok: true, result: null });
} catch (e) {
  parentPort!.postMessage({ ok: false, error: (e as Error).message });
}
