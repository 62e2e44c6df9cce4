// raftkv through its own API, raftkv.v1: KV.Propose (put, compare-and-swap), KV.Read; its leader
// through Admin.Status (whichever API the load goes through).
import { RaftkvClient } from '@raftkv/client';
import { KVService, ReadConsistency, Role, type ProposeRequest } from '@raftkv/proto';
import { openChannels, type Channels, type ClientKind } from './transport.js';
import type { ApiClient, CasResult, Connection, LeaderFinder, TxnResult } from './target.js';

const EMPTY = Buffer.alloc(0);

class RaftkvConnection implements Connection {
  constructor(private readonly channels: Channels) {}

  async put(channel: number, key: string, value: Buffer): Promise<void> {
    const req: ProposeRequest = { command: { $case: 'put', put: { key, value } }, clientId: '', sequence: 0 };
    await this.channels.call(channel, KVService.propose, req);
  }

  async read(channel: number, key: string, linearizable: boolean): Promise<void> {
    const consistency = linearizable ? ReadConsistency.READ_CONSISTENCY_LINEARIZABLE : ReadConsistency.READ_CONSISTENCY_STALE;
    await this.channels.call(channel, KVService.read, { key, consistency });
  }

  async cas(channel: number, key: string, expected: Buffer | undefined, next: Buffer): Promise<CasResult> {
    const req: ProposeRequest = {
      command: {
        $case: 'compareAndSwap',
        compareAndSwap: { key, expectedValue: expected ?? EMPTY, expectAbsent: expected === undefined, newValue: next },
      },
      clientId: '',
      sequence: 0,
    };
    const res = await this.channels.call(channel, KVService.propose, req);
    return { succeeded: res.succeeded, current: res.succeeded || !res.previousFound ? undefined : res.previousValue };
  }

  range(): Promise<number> {
    return Promise.reject(new Error('raftkv.v1 has no range of keys: use --api etcd'));
  }

  txn(): Promise<TxnResult> {
    return Promise.reject(new Error('raftkv.v1 has no mod_revision compare: use --api etcd'));
  }

  close(): void {
    this.channels.close();
  }
}

export interface RaftkvStatus {
  endpoint: string;
  id: string;
  role: Role;
  term: number;
  leaderId: string;
}

/** Admin.Status of one node through @raftkv/client (one attempt; not the measured path). */
export async function raftkvStatus(endpoint: string, timeoutMs: number): Promise<RaftkvStatus> {
  const client = new RaftkvClient({ endpoints: [endpoint] });
  try {
    const res = await client.statusOf(endpoint, { timeoutMs });
    return { endpoint, id: res.id, role: res.role, term: res.term, leaderId: res.leaderId };
  } finally {
    client.close();
  }
}

/** raftkv.v1 (raftkv only). */
export const raftkvApi: ApiClient = {
  name: 'raftkv',
  connect: (kind: ClientKind, endpoints, count, opTimeoutMs) => new RaftkvConnection(openChannels(kind, endpoints, count, opTimeoutMs)),
};

export const raftkvLeader: LeaderFinder = {
  system: 'raftkv',
  async findLeader(endpoints, timeoutMs) {
    const answers = await Promise.allSettled(endpoints.map((e) => raftkvStatus(e, timeoutMs)));
    const statuses = answers.flatMap((a) => (a.status === 'fulfilled' ? [a.value] : []));
    return statuses.find((s) => s.role === Role.ROLE_LEADER)?.endpoint;
  },
};
