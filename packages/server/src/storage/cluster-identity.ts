// The cluster id recorded in a restored data dir (restore.ts writes it). A node started on that data dir
// with another --cluster-id would be refused by every peer of the restored cluster, or worse, join an old
// cluster of that id: it refuses to start instead, naming the id to use.
import { ConfigError } from '../errors.js';
import type { Db } from './db.js';

export function recordedClusterId(db: Db): string | null {
  const r = db.prepare('SELECT cluster_id FROM cluster_identity WHERE id = 0').pluck().get() as string | undefined;
  return r ?? null;
}

export function recordClusterId(db: Db, clusterId: string): void {
  db.prepare(
    'INSERT INTO cluster_identity (id, cluster_id) VALUES (0, ?) ON CONFLICT (id) DO UPDATE SET cluster_id = excluded.cluster_id',
  ).run(clusterId);
}

/** Throws ConfigError when the data dir was restored for another cluster id than `clusterId`. */
export function checkClusterId(db: Db, clusterId: string): void {
  const recorded = recordedClusterId(db);
  if (recorded !== null && recorded !== clusterId)
    throw new ConfigError(
      '--cluster-id',
      `this data dir was restored for cluster ${JSON.stringify(recorded)}, not ${JSON.stringify(clusterId)}: ` +
        `start it (and every member added to it) with --cluster-id ${recorded}`,
    );
}
