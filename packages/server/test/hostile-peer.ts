// Tools of the hostile-peer suite: a raw client of raftkv.v1.Raft that sends whatever bytes it is
// given (forged, fuzzed or undecodable MessageBatches and SnapshotChunks) with whatever metadata, and
// reports the status the node ended the call with; forged messages; a cluster's committed state.
import { Client, Metadata, status as grpcStatus, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { MessageBatch, MessageType, SnapshotChunk, type Message } from '@raftkv/proto';
import { randomBytes } from 'node:crypto';
import type { TestCluster } from './harness.js';

export const SEND = '/raftkv.v1.Raft/Send';
export const INSTALL_SNAPSHOT = '/raftkv.v1.Raft/InstallSnapshot';

export interface Outcome {
  readonly code: grpcStatus;
  readonly details: string;
}

/** Opens `method` on `address`, writes `frames` as they are, ends the stream and returns how the call ended. */
export function sendRaw(
  address: string,
  creds: ChannelCredentials,
  method: string,
  frames: readonly Buffer[],
  md = new Metadata(),
  timeoutMs = 5000,
): Promise<Outcome> {
  const client = new Client(address, creds);
  return new Promise<Outcome>((resolve) => {
    const call = client.makeClientStreamRequest(
      method,
      (b: Buffer) => b,
      (b: Buffer) => b,
      md,
      { deadline: Date.now() + timeoutMs },
      (err: ServiceError | null) => resolve(err === null ? { code: grpcStatus.OK, details: '' } : { code: err.code, details: err.details }),
    );
    call.on('error', () => {});
    for (const f of frames) call.write(f);
    call.end();
  }).finally(() => client.close());
}

export function message(m: Partial<Message> & Pick<Message, 'type' | 'from' | 'to' | 'term'>): Message {
  return { logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0, hintTerm: 0, context: 0, snapshot: undefined, ...m };
}

export const batch = (clusterId: string, messages: Message[]): Buffer =>
  Buffer.from(MessageBatch.encode({ clusterId, messages, senderVersion: '', protocolVersion: 0 }).finish());

export const snapshotChunk = (c: Partial<SnapshotChunk>): Buffer =>
  Buffer.from(
    SnapshotChunk.encode({
      clusterId: '',
      message: undefined,
      offset: 0,
      data: Buffer.alloc(0),
      last: false,
      totalBytes: 0,
      sha256: '',
      ...c,
    }).finish(),
  );

/** A MessageBatch with one heartbeat whose term is 2^64-1: beyond what a JS number holds (hand-encoded). */
export function hugeTermBatch(clusterId: string, from: string, to: string): Buffer {
  const str = (tag: number, v: string): Buffer => {
    const b = Buffer.from(v);
    return Buffer.concat([Buffer.from([tag, b.length]), b]);
  };
  const max64 = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
  const m = Buffer.concat([Buffer.from([8, MessageType.MESSAGE_TYPE_HEARTBEAT]), str(18, from), str(26, to), Buffer.from([32]), max64]);
  return Buffer.concat([str(10, clusterId), Buffer.from([18, m.length]), m]);
}

/** A small deterministic PRNG, so a failing fuzz run can be replayed from its seed. */
export function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

const TYPES = Object.values(MessageType).filter((v): v is MessageType => typeof v === 'number');

/**
 * A random, decodable batch of messages with fields drawn from edges and noise. `term` draws terms a
 * correct peer could not send (0, stale, or beyond any election) so that, sent with valid
 * credentials, it tests the bounds rather than the trust given to authenticated members.
 */
export function fuzzBatch(
  rand: () => number,
  clusterId: string,
  ids: readonly string[],
  to: string,
  term: () => number,
  from?: string,
): Buffer {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const num = (): number =>
    pick([0, 1, 2, 2 ** 31, 2 ** 32 + 1, Number.MAX_SAFE_INTEGER, Math.floor(rand() * Number.MAX_SAFE_INTEGER), Math.floor(rand() * 100)]);
  const messages: Message[] = [];
  const n = 1 + Math.floor(rand() * 4);
  for (let i = 0; i < n; i++) {
    const index = num();
    const entries =
      rand() < 0.3
        ? Array.from({ length: 1 + Math.floor(rand() * 3) }, (_, k) => ({
            index: rand() < 0.5 ? index + 1 + k : num(),
            term: num(),
            type: pick([0, 1, 7]),
            data: randomBytes(Math.floor(rand() * 64)),
          }))
        : [];
    messages.push(
      message({
        type: pick([...TYPES, 42 as MessageType]),
        from: from ?? pick([...ids, '', 'stranger']),
        to: rand() < 0.8 ? to : pick(ids),
        term: term(),
        logTerm: num(),
        index,
        entries,
        commit: num(),
        reject: rand() < 0.5,
        rejectHint: num(),
        hintTerm: num(),
        context: num(),
        snapshot: rand() < 0.1 ? { index: num(), term: num(), voters: [pick(ids)], learners: [] } : undefined,
      }),
    );
  }
  return batch(clusterId, messages);
}

/** What must never change under attack: a key's value and the replicas' agreement. */
export async function digests(c: TestCluster): Promise<Map<string, { appliedIndex: number; digest: string }>> {
  const out = new Map<string, { appliedIndex: number; digest: string }>();
  for (const n of c.running()) {
    const admin = c.adminClient(n.id);
    const d = await new Promise<{ appliedIndex: number; digest: string }>((resolve, reject) =>
      admin.digest({}, new Metadata(), { deadline: Date.now() + 5000 }, (err, r) =>
        err ? reject(err) : resolve({ appliedIndex: r!.appliedIndex, digest: r!.digest }),
      ),
    );
    out.set(n.id, d);
  }
  return out;
}
