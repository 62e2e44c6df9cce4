// One LocalStatefulSet per describe block: everything (clients, processes, temp dirs) is torn down
// after the block; its pods are killed if jest exits early (@raftkv/testkit tracks them).
import { requireBuilt } from '@raftkv/testkit';
import type { K8sObject } from '../src/index.js';
import { NodeClient } from './grpc-clients.js';
import { LocalStatefulSet, serverBin, type LocalPod, type LocalStatefulSetOptions } from './local-statefulset.js';

export interface LocalFixture {
  /** The pods' clients, in pod order, once `create` ran. */
  readonly clients: NodeClient[];
  create(objects: readonly K8sObject[], opts: LocalStatefulSetOptions): Promise<LocalStatefulSet>;
  /** The last lines of every pod's log on stderr (for a failing test). */
  dumpLogs(lines?: number): void;
}

export function localStatefulSet(makeClient: (p: LocalPod) => NodeClient = (p) => new NodeClient(p.address)): LocalFixture {
  let local: LocalStatefulSet | undefined;
  const clients: NodeClient[] = [];
  afterAll(async () => {
    for (const c of clients) c.close();
    await local?.destroy();
  });
  return {
    clients,
    async create(objects, opts) {
      requireBuilt(serverBin);
      local = await LocalStatefulSet.create(objects, opts);
      for (const p of local.pods) clients.push(makeClient(p));
      return local;
    },
    dumpLogs(lines) {
      for (const p of local?.pods ?? []) console.error(`--- ${p.name} (${p.logPath})\n${p.tail(lines)}`);
    },
  };
}
