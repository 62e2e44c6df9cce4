// One job on a worker thread, off the node's event loop: the worker script posts one message,
// { ok: true, result } or { ok: false, error }, and exits. Used for snapshot builds and installs,
// defragmentation and hashes.
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

export type WorkerReply<T> = { ok: true; result: T } | { ok: false; error: string };

/** The compiled worker `name` of this folder (under ts-jest the sources run from src/, the worker from dist/). */
export function workerPath(name: string): string {
  const here = fileURLToPath(new URL(`./${name}`, import.meta.url));
  return existsSync(here) ? here : join(dirname(here), '..', '..', 'dist', basename(dirname(here)), name);
}

/** Runs worker script `name` (e.g. 'snapshot-worker.js') with `data`; resolves with its result. */
export function runWorker<T>(name: string, data: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const w = new Worker(workerPath(name), { workerData: data });
    let settled = false;
    w.once('message', (m: WorkerReply<T>) => {
      settled = true;
      if (m.ok) resolve(m.result);
      else reject(new Error(m.error));
    });
    w.once('error', (e) => {
      settled = true;
      reject(e);
    });
    w.once('exit', (code) => {
      if (!settled) reject(new Error(`worker ${name} exited with code ${code}`));
    });
  });
}
