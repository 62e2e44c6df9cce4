// Admin.Digest off the event loop: one long-lived worker (digest-worker.ts) computes digests one at a
// time. Calls that arrive while one runs wait for the next run, which answers all of them with a state
// at least as new as when they arrived; so a burst of calls costs at most two scans, never a pile of
// workers.
import { Worker } from 'node:worker_threads';
import type { Digest } from './state-machine.js';
import { workerPath } from './run-worker.js';

interface Waiter {
  resolve(d: Digest): void;
  reject(e: Error): void;
}

export class DigestRunner {
  private worker: Worker | null = null;
  private running: Waiter[] | null = null;
  private next: Waiter[] = [];

  constructor(private readonly dbPath: string) {}

  digest(): Promise<Digest> {
    return new Promise((resolve, reject) => {
      this.next.push({ resolve, reject });
      this.kick();
    });
  }

  close(): void {
    const w = this.worker;
    this.worker = null;
    if (w !== null) void w.terminate();
  }

  private kick(): void {
    if (this.running !== null || this.next.length === 0) return;
    this.running = this.next;
    this.next = [];
    this.spawned().postMessage('digest');
  }

  private spawned(): Worker {
    if (this.worker !== null) return this.worker;
    const w = new Worker(workerPath('digest-worker.js'), { workerData: { dbPath: this.dbPath } });
    w.unref();
    w.on('message', (m: { ok: true; value: Digest } | { ok: false; error: string }) => {
      const batch = this.running ?? [];
      this.running = null;
      for (const x of batch) {
        if (m.ok) x.resolve(m.value);
        else x.reject(new Error(`digest failed: ${m.error}`));
      }
      this.kick();
    });
    const fail = (e: Error): void => {
      this.worker = null;
      const batch = [...(this.running ?? []), ...this.next];
      this.running = null;
      this.next = [];
      for (const x of batch) x.reject(e);
    };
    w.on('error', fail);
    w.on('exit', (code) => {
      if (this.worker === w) fail(new Error(`digest worker exited with code ${code}`));
    });
    this.worker = w;
    return w;
  }
}
