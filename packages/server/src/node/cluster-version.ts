// etcd's cluster version for rolling upgrades. Every node tells its release in each peer batch
// (peer/transport.ts); the leader takes the lowest release among all members (learners too) once it has
// heard from every one, and replicates it (a cluster_version_set command) when it is higher than the
// applied one: it is never lowered. The propose path admits a command kind only once the cluster
// version reaches the release that applies it (storage/command-versions.ts), so an old follower never
// skips an entry it does not know. Until a version is applied the leader's own view of its members
// decides (a new cluster need not wait for its first cluster_version_set).
import { encodeCommand } from '../storage/command.js';
import { commandRequirement } from '../storage/command-versions.js';
import { NotCapableError } from '../errors.js';
import type { Logger } from '../observability/logger.js';
import { compareVersions, RAFTKV_VERSION, UNVERSIONED_PEER_RELEASE } from '../version.js';

export interface ClusterVersionDeps {
  readonly self: string;
  /** The applied cluster version ('' until decided). */
  readonly applied: () => string;
  /** Every member's id (voters and learners). */
  readonly members: () => readonly string[];
  /** The release a peer last told (undefined: not heard from yet). */
  readonly releaseOf: (id: string) => string | undefined;
  readonly isLeader: () => boolean;
  readonly propose: (data: Uint8Array) => Promise<unknown>;
  readonly logger: Logger;
}

/**
 * How often the leader looks at its members' releases (etcd: every 5 s). Often, because until the first
 * cluster_version_set is applied every newer command kind waits on it, and a learner added in that
 * window (a scale-up right after bootstrap) holds it back until the learner is heard from; the check
 * itself is a few map lookups.
 */
const CHECK_EVERY_MS = 200;

export class ClusterVersion {
  private timer: NodeJS.Timeout | null = null;
  private proposing = false;

  constructor(private readonly d: ClusterVersionDeps) {}

  /** The lowest release among the members as this node knows them; undefined while one is unknown. */
  membersMinimum(): string | undefined {
    let min: string | undefined;
    for (const id of this.d.members()) {
      const v = id === this.d.self ? RAFTKV_VERSION : this.d.releaseOf(id);
      if (v === undefined) return undefined;
      if (min === undefined || compareVersions(v, min) < 0) min = v;
    }
    return min;
  }

  /** What the propose path goes by: the applied cluster version, or (leader) the members' minimum if higher. */
  effective(): string {
    const applied = this.d.applied();
    const live = this.d.isLeader() ? this.membersMinimum() : undefined;
    if (live !== undefined && (applied === '' || compareVersions(live, applied) > 0)) return live;
    return applied === '' ? UNVERSIONED_PEER_RELEASE : applied;
  }

  /** The driver's admission check: refuses a command kind newer than the cluster version. */
  readonly admit = (data: Uint8Array): NotCapableError | null => {
    const need = commandRequirement(data);
    if (compareVersions(need.since, UNVERSIONED_PEER_RELEASE) <= 0) return null; // the common case: no lookup
    const have = this.effective();
    if (compareVersions(have, need.since) >= 0) return null;
    return new NotCapableError(
      `etcdserver: not capable: ${need.kind} needs cluster version ${need.since}, the cluster runs ${have} ` +
        '(a member runs an older release: finish the rolling upgrade)',
    );
  };

  start(): void {
    this.timer = setInterval(() => void this.check(), CHECK_EVERY_MS);
    this.timer.unref();
    void this.check();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Leader: replicates the members' minimum when it raises the cluster version. */
  async check(): Promise<void> {
    if (this.proposing || !this.d.isLeader()) return;
    const min = this.membersMinimum();
    const applied = this.d.applied();
    if (min === undefined || (applied !== '' && compareVersions(min, applied) <= 0)) return;
    const data = encodeCommand({ $case: 'clusterVersionSet', clusterVersionSet: { version: min } });
    // A member older than the command itself (v0.2.0) could not apply it: the cluster version stays unset.
    if (compareVersions(min, commandRequirement(data).since) < 0) return;
    this.proposing = true;
    try {
      await this.d.propose(data);
      this.d.logger.info('cluster version set', { from: applied || 'none', to: min });
    } catch (e) {
      this.d.logger.debug('could not set the cluster version; retried', { version: min, error: (e as Error).message });
    } finally {
      this.proposing = false;
    }
  }
}
