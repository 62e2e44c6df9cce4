// etcd's publish: once this node is a member and a leader is known, it records its name and client URLs
// in the replicated membership (Admin.PublishMemberAttributes, through the leader's log), so etcd's
// MemberList shows it as started with where clients reach it. Checked again periodically: a snapshot
// or a re-add may bring other attributes; proposing is skipped while the recorded ones match.
import type { MemberAttrs, Membership } from '../storage/membership.js';
import type { Logger } from '../observability/logger.js';

const CHECK_MS = 1000;
const BACKOFF_MAX_MS = 10_000;

export interface PublishOptions {
  readonly self: string;
  readonly attributes: MemberAttrs;
  readonly membership: Membership;
  readonly leaderKnown: () => boolean;
  readonly publish: (a: MemberAttrs) => Promise<void>;
  readonly logger: Logger;
}

export const sameAttributes = (a: MemberAttrs | undefined, b: MemberAttrs): boolean =>
  a !== undefined &&
  a.name === b.name &&
  a.clientUrls.length === b.clientUrls.length &&
  a.clientUrls.every((u, i) => u === b.clientUrls[i]);

/** Starts publishing; returns the function that stops it. */
export function publishAttributes(o: PublishOptions): () => void {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let waitMs = CHECK_MS;
  const tick = async (): Promise<void> => {
    const me = o.membership.get(o.self);
    if (me !== undefined && o.leaderKnown() && !sameAttributes(o.membership.attributes(o.self), o.attributes)) {
      try {
        await o.publish(o.attributes);
        o.logger.info("published this member's attributes", { name: o.attributes.name, clientUrls: o.attributes.clientUrls });
        waitMs = CHECK_MS;
      } catch (e) {
        o.logger.warn("could not publish this member's attributes; retrying", { error: (e as Error).message });
        waitMs = Math.min(BACKOFF_MAX_MS, waitMs * 2);
      }
    }
    if (!stopped) timer = setTimeout(() => void tick(), waitMs).unref();
  };
  timer = setTimeout(() => void tick(), 0).unref();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
