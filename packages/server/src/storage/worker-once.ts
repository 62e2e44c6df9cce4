// Runs a worker thread that posts exactly one message ({ ok, value } or { ok: false, error }) and
// resolves with its value: the pattern of the node's one-shot workers (snapshot build, digest).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

/** The compiled worker next to this module, or in dist/ when this module runs from src (tests). */
export function workerPath(name: string): string {
  const here = fileURLToPath(new URL(`./${name}`, import.meta.url));
  return existsSync(here) ? here : join(dirname(here), '..', 'dist', name);
}

export function runWorkerOnce<T>(path: string, workerData: unknown): Promise<T> {
  return new Promise((resolve, reject) => {
    const w = new Worker(path, { workerData });
    let settled = false;
    w.once('message', (m: { ok: true; value: T } | { ok: false; error: string }) => {
      settled = true;
      if (m.ok) resolve(m.value);
      else reject(new Error(m.error));
    });
    w.once('error', (e) => {
      settled = true;
      reject(e);
    });
    w.once('exit', (code) => {
      if (!settled) reject(new Error(`worker ${path} exited with code ${code}`));
    });
  });
}
