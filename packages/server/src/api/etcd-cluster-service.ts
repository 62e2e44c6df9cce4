// etcdserverpb.Cluster (etcd 3.4) on raftkv's membership: MemberList is answered from this node's
// applied membership (as etcd 3.4); MemberAdd, MemberRemove, MemberUpdate and MemberPromote are carried
// out on the leader (router.ts), one at a time with raftkv's own membership changes
// (membership-service.ts), with etcd's checks and errors:
//   add:     a new member under a fresh id (member-id.ts: its etcd id spelled in hex, the --id to start it
//            with); a learner (at most one, as etcd 3.4) or directly a voter, refused when the voters
//            that answer the leader could not form a quorum with it (etcd's strict reconfiguration check)
//   remove:  refused when the voters left that answer could not form a quorum
//   update:  a new peer address, through the log (raftkv.v1.Command member_peer_update)
//   promote: a learner whose log is within 90% of the leader's (etcd's readiness rule) becomes a voter
// A member's name and client URLs are what it published itself (node/publish-attributes.ts); empty
// until it has run, which etcdctl shows as "unstarted".
import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import type { etcdserverpb } from '@raftkv/proto';
import type { RaftDriver } from '../node/driver.js';
import { encodeCommand, responseOf } from '../storage/command.js';
import { allocateMemberId, etcdMemberId, type HeaderIds } from '../storage/member-id.js';
import {
  badUrls,
  learnerNotReady,
  memberExists,
  memberNotFound,
  notEnoughStarted,
  notLearner,
  peerUrlExists,
  tooManyLearners,
} from '../storage/member-errors.js';
import type { MemberInfo, Membership } from '../storage/membership.js';
import { answer, deadlineOf } from './call.js';
import { toEtcdStatus } from './grpc-errors.js';
import type { MembershipAdmin } from './membership-service.js';
import { isForwarded, type EtcdClusterCall, type LeaderRouter } from './router.js';

/** A membership change may need an election timeout of sampling plus the change itself. */
const DEFAULT_DEADLINE_MS = 30_000;
/** etcd 3.4's maxLearners. */
const MAX_LEARNERS = 1;
/** etcd's readyPercent: a learner may be promoted once its log is this close to the leader's. */
const READY_PERCENT = 0.9;

export interface EtcdClusterDeps {
  readonly clusterId: string;
  readonly ids: HeaderIds;
  readonly driver: RaftDriver;
  readonly router: LeaderRouter;
  readonly membership: Membership;
  readonly admin: MembershipAdmin;
  /** The leader's last log index and each follower's match index as it tracks them (read-only view of the core). */
  readonly replication: () => { readonly lastIndex: number; readonly progress: Readonly<Record<string, { readonly match: number }>> };
  /** The scheme of peer URLs: https with peer TLS. */
  readonly peerScheme: 'http' | 'https';
  readonly random: () => number;
  /** The caller's token for the leader, which checks it again (auth-gate.ts forwardToken). */
  readonly forwardToken?: (call: ServerUnaryCall<unknown, unknown>) => string | null;
}

/** A peer URL's host:port, or null unless it is an http(s) URL of a host and port and nothing else. */
export function peerAddressOf(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null;
  }
  if ((u.protocol !== 'http:' && u.protocol !== 'https:') || u.hostname === '' || u.port === '') return null;
  if ((u.pathname !== '/' && u.pathname !== '') || u.search !== '' || u.hash !== '' || u.username !== '') return null;
  return u.host;
}

/** The one peer address of a MemberAdd or MemberUpdate (raftkv members have one). */
function addressOf(urls: readonly string[]): string {
  const addresses = new Set(urls.map(peerAddressOf));
  if (urls.length === 0 || addresses.has(null) || addresses.size !== 1) throw badUrls();
  return [...addresses][0]!;
}

export class EtcdMembership {
  constructor(private readonly d: EtcdClusterDeps) {}

  members(): etcdserverpb.Member[] {
    return this.d.membership.members().map((m) => this.toEtcd(m));
  }

  toEtcd(m: MemberInfo): etcdserverpb.Member {
    const a = this.d.membership.attributes(m.id);
    return {
      ID: etcdMemberId(this.d.clusterId, m.id),
      name: a?.name ?? '',
      peerURLs: [`${this.d.peerScheme}://${m.address}`],
      clientURLs: [...(a?.clientUrls ?? [])],
      isLearner: !m.voter,
    };
  }

  /** The raftkv member of etcd id `id`. */
  find(id: number): MemberInfo {
    const m = this.d.membership.members().find((x) => etcdMemberId(this.d.clusterId, x.id) === id);
    if (m === undefined) throw memberNotFound();
    return m;
  }

  add(peerURLs: readonly string[], learner: boolean, deadlineMs: number): Promise<etcdserverpb.Member> {
    const address = addressOf(peerURLs);
    const { admin, membership } = this.d;
    return admin.serial(async () => {
      admin.leaderOrThrow();
      if (membership.members().some((m) => m.address === address)) throw peerUrlExists();
      const id = allocateMemberId(this.d.random());
      if (membership.get(id) !== undefined) throw memberExists();
      if (learner) {
        if (membership.members().filter((m) => !m.voter).length >= MAX_LEARNERS) throw tooManyLearners();
      } else {
        // etcd's isReadyToAddVotingMember: the started voters must be a quorum of the grown cluster.
        const { voters, active } = await admin.activeVoters(deadlineMs);
        if (active.size < Math.floor((voters.length + 1) / 2) + 1) throw notEnoughStarted();
      }
      await admin.change({ type: learner ? 'add-learner' : 'add-voter', nodeId: id }, address, deadlineMs);
      return { ID: etcdMemberId(this.d.clusterId, id), name: '', peerURLs: [...peerURLs], clientURLs: [], isLearner: learner };
    });
  }

  remove(id: number, deadlineMs: number): Promise<void> {
    const { admin } = this.d;
    return admin.serial(async () => {
      admin.leaderOrThrow();
      const m = this.find(id);
      if (m.voter) {
        // etcd's isReadyToRemoveVotingMember: the started voters left must be a quorum of the rest.
        const { voters, active } = await admin.activeVoters(deadlineMs);
        const rest = voters.filter((v) => v !== m.id);
        if (rest.filter((v) => active.has(v)).length < Math.floor(rest.length / 2) + 1) throw notEnoughStarted();
      }
      await admin.change({ type: 'remove', nodeId: m.id }, '', deadlineMs);
    });
  }

  update(id: number, peerURLs: readonly string[]): Promise<void> {
    const { admin, membership } = this.d;
    return admin.serial(async () => {
      admin.leaderOrThrow();
      const m = this.find(id);
      const address = addressOf(peerURLs);
      if (membership.members().some((x) => x.id !== m.id && x.address === address)) throw peerUrlExists();
      if (m.address === address) return;
      const r = await this.d.driver.propose(encodeCommand({ $case: 'memberPeerUpdate', memberPeerUpdate: { id: m.id, address } }));
      responseOf(r, 'memberPeerUpdate');
    });
  }

  promote(id: number, deadlineMs: number): Promise<void> {
    const { admin } = this.d;
    return admin.serial(async () => {
      admin.leaderOrThrow();
      const m = this.find(id);
      if (m.voter) throw notLearner();
      const { lastIndex, progress } = this.d.replication();
      const learnerMatch = progress[m.id]?.match;
      if (learnerMatch === undefined || learnerMatch < lastIndex * READY_PERCENT) throw learnerNotReady();
      await admin.change({ type: 'add-voter', nodeId: m.id }, '', deadlineMs);
    });
  }
}

type Handlers = etcdserverpb.ClusterServer;

/** A change whose answer is only etcd's header and the members. */
const done =
  (f: (deadlineMs: number) => Promise<void>) =>
  async (deadlineMs: number): Promise<Record<string, never>> => {
    await f(deadlineMs);
    return {};
  };

export function etcdClusterService(d: EtcdClusterDeps, members: EtcdMembership): Handlers {
  const header = (): etcdserverpb.ResponseHeader => ({
    clusterId: d.ids.clusterId,
    memberId: d.ids.memberId,
    raftTerm: d.driver.view().term,
    revision: 0,
  });
  /** Runs `local` on the leader (forwarding the same call there) and answers with etcd's header and members. */
  function onLeader<Req, Res extends { header?: etcdserverpb.ResponseHeader | undefined; members: etcdserverpb.Member[] }>(
    call: ServerUnaryCall<Req, Res>,
    cb: sendUnaryData<Res>,
    local: (deadlineMs: number) => Promise<Omit<Res, 'header' | 'members'>>,
    remote: EtcdClusterCall<Res>,
  ): void {
    const deadline = deadlineOf(call, DEFAULT_DEADLINE_MS);
    const p = (async () => {
      const run = async (): Promise<Res> => ({ ...(await local(deadline)), header: header(), members: members.members() }) as Res;
      const token = d.forwardToken?.(call as ServerUnaryCall<unknown, unknown>) ?? null;
      return d.router.etcdCluster(deadline, isForwarded(call), run, remote, token);
    })();
    answer(p, cb, undefined, toEtcdStatus);
  }
  return {
    memberList(_call, cb) {
      cb(null, { header: header(), members: members.members() });
    },
    memberAdd(call, cb) {
      const r = call.request;
      onLeader(
        call,
        cb,
        async (deadline) => ({ member: await members.add(r.peerURLs, r.isLearner, deadline) }),
        (c, md, o, k) => c.memberAdd(r, md, o, k),
      );
    },
    memberRemove(call, cb) {
      const r = call.request;
      onLeader(
        call,
        cb,
        done((deadline) => members.remove(r.ID, deadline)),
        (c, md, o, k) => c.memberRemove(r, md, o, k),
      );
    },
    memberUpdate(call, cb) {
      const r = call.request;
      onLeader(
        call,
        cb,
        done(() => members.update(r.ID, r.peerURLs)),
        (c, md, o, k) => c.memberUpdate(r, md, o, k),
      );
    },
    memberPromote(call, cb) {
      const r = call.request;
      onLeader(
        call,
        cb,
        done((deadline) => members.promote(r.ID, deadline)),
        (c, md, o, k) => c.memberPromote(r, md, o, k),
      );
    },
  };
}
