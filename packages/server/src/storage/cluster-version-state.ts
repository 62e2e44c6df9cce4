// The replicated cluster version (schema.ts's cluster_version table): set by cluster_version_set
// commands, only ever raised (as etcd's), so every replica holds the same value at the same index.
import type { ClusterVersionSetRequest, ClusterVersionSetResponse } from '@raftkv/proto';
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';
import { compareVersions, isRelease } from '../version.js';
import { InvalidArgumentError } from '../errors.js';

export class ClusterVersionState {
  private value = '';
  private readonly getStmt: Statement<[]>;
  private readonly setStmt: Statement<[string]>;

  constructor(db: Db) {
    this.getStmt = db.prepare('SELECT version FROM cluster_version WHERE id = 0').pluck();
    this.setStmt = db.prepare('UPDATE cluster_version SET version = ? WHERE id = 0');
    this.reload();
  }

  /** Re-reads the value (at start, and after a snapshot replaced the state). */
  reload(): void {
    this.value = (this.getStmt.get() as string | undefined) ?? '';
  }

  /** The applied cluster version; '' until a leader decided one. */
  get(): string {
    return this.value;
  }

  /** Applies a cluster_version_set command (inside the Ready's transaction). */
  apply(req: ClusterVersionSetRequest): ClusterVersionSetResponse {
    if (!isRelease(req.version)) throw new InvalidArgumentError(`cluster version ${JSON.stringify(req.version)} is not a release`);
    if (this.value === '' || compareVersions(req.version, this.value) > 0) {
      this.setStmt.run(req.version);
      this.value = req.version;
    }
    return { version: this.value };
  }
}
