// A bounded write load with the client behaviour a Kubernetes client of the `raftkv` Service has: each
// call goes to some endpoint that is currently Ready; a failed call is retried elsewhere with the same
// (client_id, sequence), so a retry is applied at most once. A write counts as acknowledged only when a
// Propose returned OK.
import type { NodeClient } from './grpc-clients.js';

export class WriteLoad {
  /** key -> value of every acknowledged write (keys are unique, so each is written once). */
  readonly acked = new Map<string, Buffer>();
  readonly ackTimes: number[] = [];
  /** Duration of each successful Propose call (ms). */
  readonly latenciesMs: number[] = [];
  gaveUp = 0;
  attemptsFailed = 0;
  private running = false;
  private workers: Promise<void>[] = [];

  constructor(
    private readonly endpoints: () => NodeClient[],
    private readonly opts: { workers: number; pauseMs: number; callMs: number; maxWrites: number },
  ) {}

  start(): void {
    this.running = true;
    this.workers = Array.from({ length: this.opts.workers }, (_, w) => this.worker(w));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.workers);
  }

  /** Longest time without an acknowledgement between `from` and `to` (ms since epoch). */
  maxGapMs(from: number, to: number): number {
    const t = [from, ...this.ackTimes.filter((x) => x > from && x < to), to];
    let gap = 0;
    for (let i = 1; i < t.length; i++) gap = Math.max(gap, (t[i] as number) - (t[i - 1] as number));
    return gap;
  }

  private async worker(w: number): Promise<void> {
    const clientId = `rolling-load-${w}`;
    let rr = w;
    for (let seq = 1; this.running && this.acked.size < this.opts.maxWrites; seq++) {
      const key = `load/${w}/${seq}`;
      const value = Buffer.from(`${key}@${seq}`);
      let ok = false;
      for (let attempt = 0; attempt < 50 && this.running && !ok; attempt++) {
        const eps = this.endpoints();
        const client = eps[rr++ % Math.max(1, eps.length)];
        try {
          if (!client) throw new Error('no ready endpoint');
          const t0 = Date.now();
          await client.put(key, value, clientId, seq, this.opts.callMs);
          this.latenciesMs.push(Date.now() - t0);
          ok = true;
        } catch {
          this.attemptsFailed++;
          await sleep(100);
        }
      }
      if (ok) {
        this.acked.set(key, value);
        this.ackTimes.push(Date.now());
      } else {
        this.gaveUp++;
      }
      await sleep(this.opts.pauseMs);
    }
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
