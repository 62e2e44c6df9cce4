// --join: a node started without --peers asks a running cluster to add it. It first learns where the
// members are (ListMembers), so it can answer the leader's appends, then calls AddMember with its own
// id and --advertise address (any member forwards it to the leader); the call returns once the node
// has caught up as a learner and been promoted to voter. Retried with backoff until it succeeds: also
// when its id or address clashes with a member (FAILED_PRECONDITION), since that member may be on its
// way out (a removal a new leader has not applied yet). An id or address the cluster rejects as
// malformed (INVALID_ARGUMENT) is fatal: a configuration error. A node whose id etcd's MemberAdd
// allocated (member-id.ts) is already a member: it only learns where the others are.
import { status, type ServiceError } from '@grpc/grpc-js';
import { AdminClient, type AddMemberResponse, type ListMembersResponse } from '@raftkv/proto';
import { dialAddress } from '../grpc/grpc-options.js';
import type { Logger } from '../observability/logger.js';
import type { Membership } from '../storage/membership.js';
import { channelCredentials } from '../grpc/tls.js';
import { unary } from '../grpc/unary.js';
import { isAllocatedId } from '../storage/member-id.js';

/** How long one AddMember call may take (catching up may need a large snapshot). */
const ADD_DEADLINE_MS = 10 * 60_000;
const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 5000;

export interface JoinOptions {
  readonly self: string;
  readonly advertise: string;
  readonly endpoints: readonly string[];
  readonly membership: Membership;
  readonly dialOverrides: ReadonlyMap<string, string>;
  readonly logger: Logger;
  readonly stopped: () => boolean;
  /** The cluster refused this node for good (its id or address clashes). */
  readonly onRefused: (err: Error) => void;
}

export async function joinCluster(o: JoinOptions): Promise<void> {
  let backoffMs = BACKOFF_MIN_MS;
  while (!o.stopped()) {
    if (o.membership.get(o.self)?.voter === true) return;
    for (const endpoint of o.endpoints) {
      if (o.stopped()) return;
      const client = new AdminClient(dialAddress(endpoint, o.dialOverrides), channelCredentials());
      try {
        const list = await unary<ListMembersResponse>((md, opts, cb) => client.listMembers({}, md, opts, cb), 5000);
        if (list.members.some((m) => m.id === o.self && m.voter)) {
          o.logger.info('this node is already a voter of the cluster', { endpoint });
          return;
        }
        o.membership.learnAddresses(list.members);
        // Added through etcd's MemberAdd (as a learner or a voter): it is a member already; a learner
        // stays one until etcd's MemberPromote, as in etcd.
        if (isAllocatedId(o.self) && list.members.some((m) => m.id === o.self)) {
          o.logger.info("this node was added through etcd's MemberAdd; waiting for the log", { endpoint });
          return;
        }
        o.logger.info('asking the cluster to add this node', { endpoint, advertise: o.advertise, members: list.members.map((m) => m.id) });
        const add = { id: o.self, address: o.advertise, learner: false };
        const r = await unary<AddMemberResponse>((md, opts, cb) => client.addMember(add, md, opts, cb), ADD_DEADLINE_MS);
        o.logger.info('joined the cluster as a voter', {
          index: r.index,
          members: r.members.map((m) => `${m.id}${m.voter ? '' : ' (learner)'}`),
        });
        return;
      } catch (e) {
        const err = e as ServiceError;
        if (err.code === status.INVALID_ARGUMENT) {
          o.onRefused(new Error(`the cluster refused to add this node: ${err.details}`, { cause: err }));
          return;
        }
        if (err.code === status.FAILED_PRECONDITION) {
          o.logger.error('the cluster cannot add this node yet (retrying; if this persists, the id or address is taken)', {
            endpoint,
            error: err.details,
          });
        } else {
          o.logger.warn('join attempt failed; retrying', { endpoint, error: err.details ?? err.message });
        }
      } finally {
        client.close();
      }
    }
    await new Promise((r) => setTimeout(r, backoffMs));
    backoffMs = Math.min(BACKOFF_MAX_MS, backoffMs * 2);
  }
}
