// The membership nemesis (Jepsen's "member" nemesis), running alongside the fault nemesis: now and
// then it removes a voter (Admin RemoveMember through any reachable member), stops that node and wipes
// its data dir, and later puts a fresh node with a NEW id in the empty slot, started with --join (the
// node asks the cluster to add it: learner, catch-up, voter). Voters stay between minVoters and the
// number of slots. A call that errors is indeterminate: the leader's ListMembers says what happened,
// then or on a later round (a change may commit after its call gave up).
import { status } from '@grpc/grpc-js';
import { isServiceError } from '@raftkv/client';
import { Role, type Member } from '@raftkv/proto';
import type { Cluster } from './cluster.js';
import type { NemesisEvent } from './nemesis.js';
import { sleep } from '@raftkv/testkit';
import type { Random } from './random.js';
import { describeError } from './outcome.js';
import { Stoppable } from './stoppable.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export interface MemberNemesisOptions {
  readonly gapMs: readonly [number, number];
  readonly minVoters: number;
  /** Deadline of one RemoveMember call. */
  readonly callTimeoutMs: number;
  /** How long a joining node may take to become a voter before the harness resumes its add itself. */
  readonly joinTimeoutMs: number;
  readonly workDir: string;
}

export interface MembershipCounts {
  readonly done: number;
  readonly refused: number;
  readonly indeterminate: number;
  readonly byKind: Record<string, number>;
}

/** The membership as the leader with the highest term has applied it. */
export interface LeaderView {
  readonly leader: string;
  readonly members: readonly Member[];
  readonly appliedIndex: number;
}

export class MemberNemesis {
  readonly events: NemesisEvent[] = [];
  private readonly tally = { done: 0, refused: 0, indeterminate: 0, byKind: {} as Record<string, number> };
  private readonly pace = new Stoppable();
  private loop: Promise<void> | null = null;
  private nextId: number;
  /**
   * Per slot, the applied index of a leader view that listed its node as a voter. Only a view applied
   * at least that far can tell it was removed: a fresh leader may not have applied its addition yet.
   */
  private readonly voterAt: number[];

  constructor(
    private readonly cluster: Cluster,
    private readonly rand: Random,
    private readonly clock: () => number,
    private readonly o: MemberNemesisOptions,
    private readonly log: (line: string) => void,
  ) {
    this.nextId = cluster.size + 1;
    this.voterAt = new Array<number>(cluster.size).fill(0);
  }

  counts(): MembershipCounts {
    return { ...this.tally, byKind: { ...this.tally.byKind } };
  }

  start(): void {
    this.loop = this.run().catch((e: unknown) => this.log(`member nemesis failed: ${(e as Error).stack ?? String(e)}`));
  }

  async stop(): Promise<void> {
    this.pace.stop();
    await this.loop;
  }

  private count(kind: string, outcome: 'done' | 'refused' | 'indeterminate'): void {
    this.tally[outcome]++;
    const k = `${kind} ${outcome}`;
    this.tally.byKind[k] = (this.tally.byKind[k] ?? 0) + 1;
  }

  /** The highest-term leader's ListMembers, polled until one answers (undefined after timeoutMs). */
  async leaderView(timeoutMs: number): Promise<LeaderView | undefined> {
    const c = this.cluster;
    const end = Date.now() + timeoutMs;
    for (;;) {
      const st = await c.statuses(800);
      const leaders = c
        .inUse()
        .filter((i) => st[i]?.role === Role.ROLE_LEADER)
        .sort((a, b) => st[b]!.term - st[a]!.term);
      for (const i of leaders) {
        const r = await c.listMembers(i, 1000).catch(() => undefined);
        // The leader must still lead and still count itself a member (a removed leader hands over).
        if (r !== undefined && r.leaderId === c.id(i) && r.members.some((m) => m.id === c.id(i)))
          return { leader: c.id(i), members: r.members, appliedIndex: r.appliedIndex };
      }
      if (Date.now() > end) return undefined;
      await sleep(200);
    }
  }

  /**
   * Brings the slots in line with the leader's view: a member it no longer lists was removed (stop it,
   * wipe it); a joining node it lists as a voter is a member now. Returns the view.
   */
  async reconcile(timeoutMs: number): Promise<LeaderView | undefined> {
    const view = await this.leaderView(timeoutMs);
    if (view === undefined) return undefined;
    const c = this.cluster;
    for (const i of c.inUse()) {
      const m = view.members.find((x) => x.id === c.id(i));
      if (m?.voter === true) this.voterAt[i] = Math.max(this.voterAt[i]!, view.appliedIndex);
      if (c.state(i) === 'member' && m === undefined && view.appliedIndex >= this.voterAt[i]!) {
        this.log(`member nemesis: ${c.id(i)} is no longer a member; stopping it and wiping its data`);
        await c.retire(i);
      } else if (c.state(i) === 'joining' && m?.voter === true) {
        c.markMember(i);
        this.log(`member nemesis: ${c.id(i)} joined as a voter`);
      }
    }
    return view;
  }

  private async run(): Promise<void> {
    while (!this.pace.stopping) {
      await this.pace.sleep(this.rand.int(this.o.gapMs[0], this.o.gapMs[1]));
      if (this.pace.stopping) break;
      const view = await this.reconcile(5000);
      if (view === undefined || this.pace.stopping) continue;
      const c = this.cluster;
      // One change at a time: a node still joining finishes first.
      if (c.inUse().some((i) => c.state(i) === 'joining')) continue;
      const voters = view.members.filter((m) => m.voter).map((m) => m.id);
      const empty = c.slots().filter((i) => c.state(i) === 'out');
      const canRemove = voters.length > this.o.minVoters;
      const canAdd = empty.length > 0;
      if (canAdd && (!canRemove || this.rand.next() < 0.5)) await this.add(this.rand.pick(empty));
      else if (canRemove) {
        const victim = this.rand.next() < 0.3 ? view.leader : this.rand.pick(voters);
        await this.remove(victim);
      }
    }
  }

  private async remove(id: string): Promise<void> {
    const c = this.cluster;
    const reachable = c.inUse().filter((i) => c.isRunning(i) && !c.isPaused(i) && c.state(i) === 'member');
    if (reachable.length === 0) return;
    const via = this.rand.pick(reachable);
    const ev: Mutable<NemesisEvent> = { kind: 'member-remove', detail: `${id} via ${c.id(via)}`, at: this.clock() };
    this.events.push(ev);
    let outcome: 'done' | 'refused' | 'indeterminate';
    try {
      await c.removeMember(via, id, this.o.callTimeoutMs);
      outcome = 'done';
    } catch (e) {
      const code = isServiceError(e) ? e.code : undefined;
      outcome = code === status.FAILED_PRECONDITION || code === status.INVALID_ARGUMENT ? 'refused' : 'indeterminate';
      ev.detail += ` (${describeError(e).slice(0, 160)})`;
    }
    this.count('remove', outcome);
    // Whatever the answer, the leader's membership decides what the slots hold now.
    const after = await this.reconcile(5000);
    const slot = c.slotOf(id);
    const gone = after !== undefined && (slot === undefined || c.state(slot) === 'out');
    ev.end = this.clock();
    ev.detail += ` -> ${outcome}, ${after === undefined ? 'membership unknown' : gone ? 'removed' : 'still a member'}`;
    if (outcome === 'done' && after !== undefined && !gone) ev.detail += ' (acknowledged, yet the leader still lists it)';
    this.log(`member nemesis: remove ${ev.detail}`);
  }

  private async add(slot: number): Promise<void> {
    const c = this.cluster;
    const id = `n${this.nextId++}`;
    const ev: Mutable<NemesisEvent> = { kind: 'member-add', detail: `${id} at ${c.address(slot)}`, at: this.clock() };
    this.events.push(ev);
    this.voterAt[slot] = 0;
    c.join(slot, id, this.o.workDir);
    this.log(`member nemesis: starting ${id} at ${c.address(slot)} with --join`);
    const outcome = await this.awaitVoter(slot, this.o.joinTimeoutMs);
    this.count('add', outcome);
    ev.end = this.clock();
    ev.detail += ` -> ${outcome}`;
    this.log(`member nemesis: add ${ev.detail}`);
  }

  /**
   * Waits until the slot's joining node is a voter in the leader's view. If its own --join call was cut
   * short (it was killed, the leader changed), the harness asks AddMember again after half the timeout,
   * as an operator would: the add is idempotent and resumes.
   */
  async awaitVoter(slot: number, timeoutMs: number): Promise<'done' | 'indeterminate'> {
    const c = this.cluster;
    const id = c.id(slot);
    const start = Date.now();
    let resumed = false;
    while (Date.now() - start < timeoutMs) {
      await this.reconcile(2000);
      if (c.state(slot) === 'member') return 'done';
      if (c.state(slot) === 'out') return 'indeterminate';
      if (!resumed && Date.now() - start > timeoutMs / 2) {
        resumed = true;
        const via = c.inUse().filter((i) => i !== slot && c.state(i) === 'member' && c.isRunning(i) && !c.isPaused(i));
        if (via.length > 0) {
          const i = this.rand.pick(via);
          this.log(`member nemesis: ${id} is not a voter yet; asking AddMember through ${c.id(i)}`);
          await c
            .addMember(i, id, c.address(slot), Math.max(1000, timeoutMs / 2))
            .catch((e: unknown) => this.log(`member nemesis: AddMember ${id}: ${(e as Error).message}`));
        }
      }
      await sleep(300);
    }
    return 'indeterminate';
  }

  /** After the heal: every joining node must become a voter and removed members leave their slots. */
  async finish(timeoutMs: number): Promise<string[]> {
    const problems: string[] = [];
    const c = this.cluster;
    for (const i of c.inUse()) {
      if (c.state(i) !== 'joining') continue;
      if ((await this.awaitVoter(i, timeoutMs)) !== 'done')
        problems.push(`${c.id(i)} (started with --join) did not become a voter within ${timeoutMs} ms of the heal`);
    }
    if ((await this.reconcile(timeoutMs)) === undefined) problems.push('no leader answered ListMembers after the heal');
    return problems;
  }
}
