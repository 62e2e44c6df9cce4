// Runs Debian's etcdctl (API v3) and normalises what must differ between two servers that answer alike.
import { etcdctl, waitFor } from '@raftkv/testkit';

export type { EtcdctlRun as Run } from '@raftkv/testkit';
export { etcdctl } from '@raftkv/testkit';

/**
 * The only parts of etcdctl's output that may differ between etcd and raftkv:
 * - response headers' `cluster_id`, `member_id` and `raft_term` (-w json: `"cluster_id":N`; -w fields:
 *   `"ClusterID" : N`, `"MemberID" : N`, `"RaftTerm" : N`): ids and terms of different clusters;
 * - in the client's zap warning on a failed call, its timestamp (`"ts"`) and its `"target"` (a random
 *   client UUID and the endpoint's address).
 * Everything else (revisions, keys, values, versions, counts, error codes and messages, exit status) must match.
 */
export function normalise(text: string): string {
  return text
    .replace(/"(cluster_id|member_id|raft_term)":\d+/g, '"$1":<$1>')
    .replace(/"(ClusterID|MemberID|RaftTerm)" : \d+/g, '"$1" : <$1>')
    .replace(/"ts":"[^"]*"/g, '"ts":<ts>')
    .replace(/"target":"endpoint:\/\/client-[0-9a-f-]+\/[^"]*"/g, '"target":<target>');
}

/**
 * Waits until `endpoint` answers a linearizable Range (`etcdctl get probe`); a timeout names etcdctl's last
 * error. A server without etcd's KV service (UNIMPLEMENTED) fails at once: waiting would not help.
 */
export async function waitServing(endpoint: string, timeoutMs = 30_000): Promise<void> {
  const unimplemented = await waitFor(
    `${endpoint} to serve a linearizable etcd Range`,
    async () => {
      const r = await etcdctl([endpoint], ['get', 'probe']);
      if (r.status === 0) return '';
      if (r.stderr.includes('code = Unimplemented')) return r.stderr.trim();
      throw new Error(r.stderr.trim());
    },
    timeoutMs,
  );
  if (unimplemented !== '') throw new Error(`${endpoint} does not serve etcdserverpb.KV: ${unimplemented}`);
}
