// Worker thread entry: builds one snapshot file (snapshot-build.ts) off the node's event loop, so a
// large state machine is copied without stalling elections, heartbeats or client calls.
import { parentPort, workerData } from 'node:worker_threads';
import { buildSnapshot } from './snapshot-build.js';

const { dbPath, outPath } = workerData as { dbPath: string; outPath: string };
try {
  parentPort!.postMessage({ ok: true, value: buildSnapshot(dbPath, outPath) });
} catch (e) {
  parentPort!.postMessage({ ok: false, error: (e as Error).message });
}
