// Admin AddMember / RemoveMember / ListMembers. Changes are single-server (thesis ch. 4), one at a time,
// carried out on the leader (a follower forwards the call there):
//   add:    add-learner (the node receives the log, or a snapshot, without counting toward quorums)
//           -> wait until its log has caught up with the leader's -> add-voter
//   remove: refused when the remaining voters that answer could not form a quorum (as etcd's strict
//           reconfiguration check); a leader that removes itself hands leadership over (the core).
// Both are idempotent: asking again resumes an interrupted add or confirms a done one.
import { InvalidRequestError, isRaftError, ProposalDroppedError, type ConfChange, type RaftNode } from '@raftkv/consensus';
import type { AdminServer, Member, MemberAttributes, PublishMemberAttributesResponse } from '@raftkv/proto';
import type { RaftDriver } from '../node/driver.js';
import { DeadlineExceededError, FailedPreconditionError, fromRaftError, InvalidArgumentError, UnavailableError } from '../errors.js';
import { parseHostPort } from '../grpc/address.js';
import type { Logger } from '../observability/logger.js';
import type { Membership } from '../storage/membership.js';
import { encodeCommand, responseOf } from '../storage/command.js';
import { answer, deadlineOf } from './call.js';
import { isForwarded, type LeaderRouter } from './router.js';

/** How long a membership change may take when the caller sets no deadline (a learner may need a big snapshot). */
const DEFAULT_DEADLINE_MS = 120_000;
const POLL_MS = 50;

export interface MembershipAdminDeps {
  readonly self: string;
  readonly driver: RaftDriver;
  /** Read-only: status and replication progress. */
  readonly node: RaftNode;
  readonly membership: Membership;
  readonly appliedIndex: () => number;
  readonly logger: Logger;
}

export interface ChangeResult {
  readonly members: Member[];
  readonly index: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class MembershipAdmin {
  /** Changes requested on this node run one after another. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly d: MembershipAdminDeps) {}

  members(): Member[] {
    return this.d.membership.members().map((m) => ({ id: m.id, address: m.address, voter: m.voter }));
  }

  /** Adds `id` as a learner, waits for it to catch up, promotes it (unless `learnerOnly`). Leader only. */
  add(id: string, address: string, learnerOnly: boolean, deadlineMs: number): Promise<ChangeResult> {
    checkId(id);
    // Any five-digit port, as AddMember has always accepted.
    if (parseHostPort(address, 0, 99_999) === null) throw new InvalidArgumentError(`address ${JSON.stringify(address)} is not HOST:PORT`);
    return this.serial(async () => {
      let index = 0;
      for (;;) {
        const m = this.d.membership.get(id);
        if (m === undefined) {
          const clash = this.d.membership.members().find((x) => x.address === address);
          // The state of the cluster, not the request, is in the way, and it may be passing: the
          // member at that address may be being removed (a new leader may not have applied it yet).
          if (clash) throw new FailedPreconditionError(`address ${address} already belongs to member ${clash.id}`);
          index = await this.change({ type: 'add-learner', nodeId: id }, address, deadlineMs);
          continue;
        }
        if (m.address !== address)
          throw new FailedPreconditionError(`${id} is already a member, at ${m.address}; remove it first to change its address`);
        if (m.voter || learnerOnly) return { members: this.members(), index };
        await this.caughtUp(id, deadlineMs);
        try {
          index = await this.change({ type: 'add-voter', nodeId: id }, '', deadlineMs);
        } catch (e) {
          // An earlier attempt's add-voter (its leader lost leadership before answering) was applied
          // meanwhile, and the core refuses a second one: look again, the member is a voter now.
          if (!(e instanceof InvalidArgumentError && e.cause instanceof InvalidRequestError)) throw e;
          if (!this.d.node.status().conf.voters.includes(id)) throw e;
          if (Date.now() >= deadlineMs)
            throw new DeadlineExceededError(`${id} became a voter, but this leader had not applied it before the deadline`);
          await this.d.driver.waitForProgress(Math.min(deadlineMs, Date.now() + POLL_MS));
        }
      }
    });
  }

  /** Removes `id` (voter or learner). Leader only. */
  remove(id: string, deadlineMs: number): Promise<ChangeResult> {
    checkId(id);
    return this.serial(async () => {
      let index = 0;
      for (;;) {
        const m = this.d.membership.get(id);
        if (m === undefined) return { members: this.members(), index };
        if (m.voter) await this.quorumSurvives(id, deadlineMs);
        index = await this.change({ type: 'remove', nodeId: id }, '', deadlineMs);
      }
    });
  }

  /** Runs `f` after every change requested on this node before it (etcd's Cluster service uses it too). */
  serial<T>(f: () => Promise<T>): Promise<T> {
    const run = this.chain.then(f, f);
    this.chain = run.catch(() => {});
    return run;
  }

  leaderOrThrow(): void {
    if (!this.d.driver.isLeader) throw new UnavailableError('not the leader', this.d.driver.leaderId, true);
  }

  /** Proposes one change and waits until this leader has applied it; returns its index. */
  async change(cc: ConfChange, address: string, deadlineMs: number): Promise<number> {
    let proposed: { index: number; term: number };
    for (;;) {
      this.leaderOrThrow();
      try {
        const data = this.d.membership.encodeChange(cc, address);
        proposed = this.d.driver.withCore((n) => n.proposeConfChange(data));
        break;
      } catch (e) {
        // The previous change is not applied yet, the new term's first entry is not committed, or a
        // leadership transfer is under way: wait for it.
        if (!(e instanceof ProposalDroppedError)) throw isRaftError(e) ? fromRaftError(e, this.d.driver.leaderId) : e;
        if (Date.now() >= deadlineMs)
          throw new DeadlineExceededError(`could not propose ${cc.type} ${cc.nodeId} before the deadline: ${e.message}`, { cause: e });
        await sleep(POLL_MS);
      }
    }
    this.d.logger.info('proposed a membership change', { change: cc.type, nodeId: cc.nodeId, address, index: proposed.index });
    while (this.d.appliedIndex() < proposed.index) {
      if (!this.d.driver.isLeader || this.d.driver.view().term !== proposed.term) {
        throw new UnavailableError(
          `leadership changed while ${cc.type} ${cc.nodeId} (index ${proposed.index}) was in flight; ask again to see whether it applied`,
          this.d.driver.leaderId,
        );
      }
      if (Date.now() >= deadlineMs)
        throw new DeadlineExceededError(`${cc.type} ${cc.nodeId} (index ${proposed.index}) was not applied before the deadline`);
      await this.d.driver.waitForProgress(Math.min(deadlineMs, Date.now() + POLL_MS));
    }
    return proposed.index;
  }

  /** Waits until the learner's log has reached the leader's last index as of the start of the wait. */
  private async caughtUp(id: string, deadlineMs: number): Promise<void> {
    const target = this.d.node.status().lastIndex;
    for (;;) {
      this.leaderOrThrow();
      const pr = this.d.node.status().progress[id];
      if (pr !== undefined && pr.match >= target && pr.state === 'replicate') return;
      if (Date.now() >= deadlineMs) {
        throw new DeadlineExceededError(
          `learner ${id} did not catch up before the deadline (it has ${pr?.match ?? 0} of ${target} entries, state ${pr?.state ?? 'unknown'}); it stays a learner`,
        );
      }
      await sleep(POLL_MS);
    }
  }

  /**
   * Refuses to remove a voter if the voters left that answer the leader could not form a quorum of
   * the new configuration. "Answer" is CheckQuorum's recentActive flag, which the leader clears every
   * election timeout: sampled over one timeout plus a few heartbeats, a voter counts if it was active
   * in the last heartbeats (after a clear), so a node that died just before does not.
   */
  private async quorumSurvives(id: string, deadlineMs: number): Promise<void> {
    const { voters, active } = await this.activeVoters(deadlineMs);
    const rest = voters.filter((v) => v !== id);
    const answering = rest.filter((v) => active.has(v));
    if (answering.length >= Math.floor(rest.length / 2) + 1) return;
    throw new FailedPreconditionError(
      `removing ${id} would leave ${rest.length} voters of which only ${answering.length} (${answering.join(', ')}) answer the leader: no quorum`,
    );
  }

  /**
   * The voters and those of them that answer the leader (this leader included), sampled over one
   * election timeout plus a few heartbeats: a voter counts if it was active in the last heartbeats.
   */
  async activeVoters(deadlineMs: number): Promise<{ voters: string[]; active: Set<string> }> {
    const { electionTimeoutMinMs, heartbeatIntervalMs } = this.d.node.config;
    const recentMs = 3 * heartbeatIntervalMs;
    const end = Math.min(deadlineMs, Date.now() + electionTimeoutMinMs + recentMs);
    const lastActive = new Map<string, number>();
    for (;;) {
      this.leaderOrThrow();
      const st = this.d.node.status();
      const now = Date.now();
      for (const [v, pr] of Object.entries(st.progress)) if (pr.recentActive) lastActive.set(v, now);
      if (now >= end) {
        const active = st.conf.voters.filter((v) => v === this.d.self || (lastActive.get(v) ?? 0) >= end - recentMs);
        return { voters: [...st.conf.voters], active: new Set(active) };
      }
      await sleep(Math.min(25, end - now));
    }
  }
}

function checkId(id: string): void {
  if (!/^[A-Za-z0-9_.-]{1,128}$/.test(id))
    throw new InvalidArgumentError(`member id ${JSON.stringify(id)} must be 1-128 characters of A-Z a-z 0-9 _ . -`);
}

/** On the leader: records a member's attributes through the log (Admin.PublishMemberAttributes). */
export async function recordMemberAttributes(
  driver: RaftDriver,
  attrs: MemberAttributes,
  appliedIndex: () => number,
): Promise<PublishMemberAttributesResponse> {
  responseOf(await driver.propose(encodeCommand({ $case: 'memberAttributes', memberAttributes: attrs })), 'memberAttributes');
  return { index: appliedIndex() };
}

export interface MembershipServiceDeps {
  readonly admin: MembershipAdmin;
  readonly driver: RaftDriver;
  readonly router: LeaderRouter;
  readonly appliedIndex: () => number;
  /** The caller's auth token to present to the leader (auth-gate.ts forwardToken); none when absent. */
  readonly forwardToken?: (call: Parameters<typeof isForwarded>[0]) => string | null;
}

type Handlers = Pick<AdminServer, 'addMember' | 'removeMember' | 'listMembers' | 'publishMemberAttributes'>;

/** The gRPC handlers; changes are carried out on the leader (router.ts). */
export function membershipService(d: MembershipServiceDeps): Handlers {
  return {
    addMember(call, cb) {
      const { id, address, learner } = call.request;
      const deadline = deadlineOf(call, DEFAULT_DEADLINE_MS);
      answer(
        d.router.addMember(
          call.request,
          deadline,
          isForwarded(call),
          () => d.admin.add(id, address, learner, deadline),
          d.forwardToken?.(call) ?? null,
        ),
        cb,
      );
    },
    removeMember(call, cb) {
      const deadline = deadlineOf(call, DEFAULT_DEADLINE_MS);
      answer(
        d.router.removeMember(
          call.request,
          deadline,
          isForwarded(call),
          () => d.admin.remove(call.request.id, deadline),
          d.forwardToken?.(call) ?? null,
        ),
        cb,
      );
    },
    publishMemberAttributes(call, cb) {
      const attrs = call.request;
      const local = () => recordMemberAttributes(d.driver, attrs, d.appliedIndex);
      answer(d.router.publishMemberAttributes(attrs, deadlineOf(call, DEFAULT_DEADLINE_MS), isForwarded(call), local), cb);
    },
    listMembers(_call, cb) {
      cb(null, { members: d.admin.members(), leaderId: d.driver.leaderId, appliedIndex: d.appliedIndex() });
    },
  };
}
