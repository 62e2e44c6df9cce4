// The nemesis: injects one fault at a time on a seeded schedule, holds it, heals it, waits, repeats.
// Faults: kill -9 (a random node, the leader, or every node at once) and restart; SIGSTOP/SIGCONT
// (a frozen leader wakes up still believing it leads); and, with network namespaces, partitions:
// majority/minority, the leader isolated, the leader in a minority, a bridge node seeing both sides.
import type { Cluster } from './cluster.js';
import { applyPartition, type Topology } from './netns.js';
import type { Random } from './random.js';
import { Stoppable } from './stoppable.js';

export type FaultFamily = 'kill' | 'pause' | 'partition';

export interface NemesisOptions {
  readonly families: readonly FaultFamily[];
  readonly gapMs: readonly [number, number];
  readonly faultMs: readonly [number, number];
}

export interface NemesisEvent {
  readonly kind: string;
  readonly detail: string;
  readonly at: number;
  end?: number;
}

export class Nemesis {
  readonly events: NemesisEvent[] = [];
  private readonly pace = new Stoppable();
  private loop: Promise<void> | null = null;
  private partitioned = false;
  /** Families come round in shuffled rounds, so a short run still sees every kind of fault. */
  private round: FaultFamily[] = [];

  constructor(
    private readonly cluster: Cluster,
    private readonly topology: Topology | undefined,
    private readonly rand: Random,
    private readonly clock: () => number,
    private readonly o: NemesisOptions,
    private readonly log: (line: string) => void,
  ) {}

  /** Faults injected, by kind. */
  counts(): Record<string, number> {
    const c: Record<string, number> = {};
    for (const e of this.events) c[e.kind] = (c[e.kind] ?? 0) + 1;
    return c;
  }

  start(): void {
    if (this.o.families.length === 0) return;
    this.loop = this.run().catch((e: unknown) => this.log(`nemesis failed: ${(e as Error).message}`));
  }

  /** Stops injecting (healing the current fault first). */
  async stop(): Promise<void> {
    this.pace.stop();
    await this.loop;
  }

  /** Heals everything: restarts dead nodes, resumes frozen ones, removes partitions. */
  async healAll(): Promise<void> {
    if (this.partitioned && this.topology) await applyPartition(this.topology, () => true);
    this.partitioned = false;
    for (let i = 0; i < this.cluster.size; i++) {
      this.cluster.resume(i);
      if (!this.cluster.isRunning(i)) this.cluster.start(i);
    }
  }

  private async run(): Promise<void> {
    while (!this.pace.stopping) {
      await this.pace.sleep(this.rand.int(this.o.gapMs[0], this.o.gapMs[1]));
      if (this.pace.stopping) break;
      if (this.round.length === 0) this.round = this.rand.shuffle(this.o.families);
      const family = this.round.pop()!;
      const hold = this.rand.int(this.o.faultMs[0], this.o.faultMs[1]);
      const first = await this.injectLogged(family, hold);
      // Sometimes a second fault of another family joins in (a crash during a partition, ...).
      let second: { heal: () => Promise<void>; ev: NemesisEvent } | undefined;
      const others = this.o.families.filter((f) => f !== family);
      if (others.length > 0 && this.rand.next() < 0.3) {
        const lead = this.rand.int(0, Math.floor(hold / 2));
        await this.pace.sleep(lead);
        if (!this.pace.stopping) second = await this.injectLogged(this.rand.pick(others), hold - lead);
        await this.pace.sleep(hold - lead);
      } else await this.pace.sleep(hold);
      if (second) {
        await second.heal();
        second.ev.end = this.clock();
      }
      await first.heal();
      first.ev.end = this.clock();
    }
  }

  private async injectLogged(family: FaultFamily, hold: number): Promise<{ heal: () => Promise<void>; ev: NemesisEvent }> {
    const heal = await this.inject(family);
    const ev = this.events[this.events.length - 1]!;
    this.log(`nemesis: ${ev.kind} ${ev.detail} for ${hold} ms`);
    return { heal, ev };
  }

  private async target(): Promise<{ i: number; leader: boolean }> {
    if (this.rand.next() < 0.5) {
      const l = await this.cluster.leader();
      if (l !== undefined) return { i: l, leader: true };
    }
    // Slots whose member was removed (membership nemesis) hold nothing to hit.
    const inUse = this.cluster.inUse();
    return { i: inUse.length > 0 ? this.rand.pick(inUse) : this.rand.int(0, this.cluster.size - 1), leader: false };
  }

  private record(kind: string, detail: string): void {
    this.events.push({ kind, detail, at: this.clock() });
  }

  /** Injects one fault of the family; returns how to heal it. */
  private async inject(family: FaultFamily): Promise<() => Promise<void>> {
    const c = this.cluster;
    const n = c.size;
    switch (family) {
      case 'kill': {
        if (this.rand.next() < 0.1) {
          this.record('kill-all', 'every node at once');
          await Promise.all(Array.from({ length: n }, (_, i) => c.kill(i)));
          return async () => {
            for (let i = 0; i < n; i++) c.start(i);
          };
        }
        const { i, leader } = await this.target();
        this.record(leader ? 'kill-leader' : 'kill', c.id(i));
        await c.kill(i);
        return async () => c.start(i);
      }
      case 'pause': {
        const { i, leader } = await this.target();
        this.record(leader ? 'pause-leader' : 'pause', c.id(i));
        c.pause(i);
        return async () => c.resume(i);
      }
      case 'partition': {
        const t = this.topology;
        if (t === undefined) throw new Error('partition without network namespaces');
        const { kind, sides, bridge } = await this.choosePartition();
        const side = (i: number): number => sides.findIndex((s) => s.includes(i));
        const reachable = (i: number, j: number): boolean => i === bridge || j === bridge || side(i) === side(j);
        const names = sides.map((s) => s.map((i) => c.id(i)).join(',')).join(' | ');
        this.record(kind, bridge === undefined ? names : `${names} bridged by ${c.id(bridge)}`);
        await applyPartition(t, reachable);
        this.partitioned = true;
        return async () => {
          await applyPartition(t, () => true);
          this.partitioned = false;
        };
      }
    }
  }

  private async choosePartition(): Promise<{ kind: string; sides: number[][]; bridge?: number }> {
    const n = this.cluster.size;
    const all = Array.from({ length: n }, (_, i) => i);
    const minority = Math.floor((n - 1) / 2);
    const kinds = ['partition-majority-minority', 'partition-isolate-leader', 'partition-leader-minority', 'partition-bridge'] as const;
    const kind = this.rand.pick(kinds);
    const leader = kind === 'partition-isolate-leader' || kind === 'partition-leader-minority' ? await this.cluster.leader() : undefined;
    const shuffled = this.rand.shuffle(all);
    if (kind === 'partition-bridge') {
      const [b, ...rest] = shuffled;
      const half = Math.ceil(rest.length / 2);
      return { kind, sides: [rest.slice(0, half), rest.slice(half)], bridge: b! };
    }
    if (leader === undefined || kind === 'partition-majority-minority') {
      return { kind: 'partition-majority-minority', sides: [shuffled.slice(0, minority), shuffled.slice(minority)] };
    }
    const size = kind === 'partition-isolate-leader' ? 1 : Math.max(1, minority);
    const small = [leader, ...shuffled.filter((i) => i !== leader).slice(0, size - 1)];
    return { kind, sides: [small, all.filter((i) => !small.includes(i))] };
  }
}
