// raftkv.v1.Admin: Status (this node's view of the cluster), Digest (state machine fingerprint) and
// WatchStatus (observability/watch-service.ts).
import { Role, type AdminServer, type DigestResponse, type StatusResponse } from '@raftkv/proto';
import type { RaftNode, Role as CoreRole } from '@raftkv/consensus';
import type { RaftDriver } from '../node/driver.js';
import { answer, deadlineOf } from './call.js';
import { toStatus } from './grpc-errors.js';
import { PEER_PROTOCOL_VERSION, RAFTKV_VERSION, SCHEMA_VERSION } from '../version.js';
import type { Digest, KvStateMachine } from '../storage/state-machine.js';

const ROLE: Record<CoreRole, Role> = {
  follower: Role.ROLE_FOLLOWER,
  'pre-candidate': Role.ROLE_CANDIDATE,
  candidate: Role.ROLE_CANDIDATE,
  leader: Role.ROLE_LEADER,
};

export function statusOf(
  id: string,
  node: RaftNode,
  driver: RaftDriver,
  peers: ReadonlyMap<string, string>,
  lastIndex: number,
): StatusResponse {
  const v = driver.view();
  const st = node.status();
  return {
    id,
    role: ROLE[v.role],
    term: v.term,
    leaderId: v.leaderId,
    commitIndex: Math.max(v.commit, st.commit),
    appliedIndex: v.applied,
    lastLogIndex: lastIndex,
    members: [...peers].map(([mid, address]) => ({ id: mid, address, voter: !st.conf.learners.includes(mid) })),
    version: RAFTKV_VERSION,
    schemaVersion: SCHEMA_VERSION,
    peerProtocolVersion: PEER_PROTOCOL_VERSION,
    clusterVersion: '', // the composition root fills in the applied one
  };
}

/** How long a transfer may take when the caller sets no deadline. */
const TRANSFER_DEFAULT_MS = 5000;

export function adminService(
  status: () => StatusResponse,
  sm: KvStateMachine,
  watchStatus: AdminServer['watchStatus'],
  driver: RaftDriver,
  membership: Pick<AdminServer, 'addMember' | 'removeMember' | 'listMembers' | 'publishMemberAttributes'>,
  /** Computes the digest off the event loop (digest-worker.ts); absent: on the loop (sm.digest). */
  digestOffLoop?: () => Promise<Digest>,
): AdminServer {
  return {
    ...membership,
    watchStatus,
    transferLeadership(call, cb) {
      answer(driver.transferLeadership(call.request.to, deadlineOf(call, TRANSFER_DEFAULT_MS)), cb);
    },
    status(_call, cb) {
      try {
        cb(null, status());
      } catch (e) {
        cb(toStatus(e));
      }
    },
    digest(_call, cb) {
      if (digestOffLoop !== undefined) {
        answer(
          digestOffLoop().then((d): DigestResponse => ({ appliedIndex: d.appliedIndex, digest: d.digest, keyCount: d.keyCount })),
          cb,
        );
        return;
      }
      try {
        const d = sm.digest();
        const res: DigestResponse = { appliedIndex: d.appliedIndex, digest: d.digest, keyCount: d.keyCount };
        cb(null, res);
      } catch (e) {
        cb(toStatus(e));
      }
    },
  };
}
