// etcdserverpb.Maintenance (etcd 3.4) on this node, never forwarded (as etcd: each member answers for
// itself; MoveLeader must be sent to the leader):
//   Status      version (version.ts), database size and in-use size, leader, Raft indexes and term,
//               errors ("etcdserver: no leader", then the alarms once Alarm is wired)
//   Defragment  SQLite VACUUM on a worker thread with its own connection (storage/defrag-worker.ts)
//   Hash        CRC-32C of this node's whole database (node-local, as etcd's)
//   HashKV      CRC-32C of the MVCC history up to a revision: equal on every member (storage/hashes.ts)
//   MoveLeader  leadership transfer to a voter, etcd's errors when this node does not lead
//   Snapshot    a consistent snapshot of the state machine streamed in 32 KiB chunks, then its sha256.
//   Alarm       answered by `alarm` when given (the admission engineer's api/etcd-alarm.ts), else
//               UNIMPLEMENTED.
//
// The Snapshot stream's bytes, concatenated, are a file in this exact format (etcdctl snapshot save
// writes it; raftctl snapshot save/status/restore read it):
//   <SQLite database>  the snapshot file of storage/snapshot-build.ts: every state table of schema.ts
//                      and the snapshot_meta row (applied index, term, membership)
//   <32 bytes>         the sha256 of the SQLite database bytes before it, as etcd appends its checksum
// remaining_bytes counts the database bytes still to come (0 on the last database chunk and on the
// checksum message).
import { status, type sendUnaryData, type ServerUnaryCall, type ServerWritableStream } from '@grpc/grpc-js';
import type { etcdserverpb } from '@raftkv/proto';
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, rmSync } from 'node:fs';
import type { RaftDriver } from '../node/driver.js';
import type { Logger } from '../observability/logger.js';
import type { Db } from '../storage/db.js';
import type { DefragResult } from '../storage/defrag-worker.js';
import { hashDatabase, hashKv } from '../storage/hashes.js';
import { badLeaderTransferee, notLeader } from '../storage/member-errors.js';
import { etcdMemberId, type HeaderIds } from '../storage/member-id.js';
import type { Membership } from '../storage/membership.js';
import { runWorker } from '../storage/run-worker.js';
import type { SnapshotStore } from '../storage/snapshot-store.js';
import type { KvStateMachine } from '../storage/state-machine.js';
import { RAFTKV_VERSION } from '../version.js';
import { answer, deadlineOf } from './call.js';
import { ETCD_NO_LEADER, toEtcdStatus } from './grpc-errors.js';

/** etcd's snapshotSendBufferSize. */
export const SNAPSHOT_CHUNK_BYTES = 32 * 1024;
/** How long MoveLeader may take when the caller sets no deadline. */
const MOVE_LEADER_DEFAULT_MS = 10_000;

export interface EtcdMaintenanceDeps {
  readonly clusterId: string;
  readonly ids: HeaderIds;
  readonly db: Db;
  readonly driver: RaftDriver;
  readonly sm: KvStateMachine;
  readonly membership: Membership;
  readonly snapshots: SnapshotStore;
  readonly logger: Logger;
  /** etcd's Alarm (api/etcd-alarm.ts, wired by the lead); absent: UNIMPLEMENTED. */
  readonly alarm?: etcdserverpb.MaintenanceServer['alarm'];
  /** The active alarms, as Status lists them in errors (etcd's AlarmMember.String()). */
  readonly alarms?: () => readonly string[];
}

export function etcdMaintenanceService(d: EtcdMaintenanceDeps): etcdserverpb.MaintenanceServer {
  const { driver, sm, db } = d;
  const header = (): etcdserverpb.ResponseHeader => ({
    clusterId: d.ids.clusterId,
    memberId: d.ids.memberId,
    raftTerm: driver.view().term,
    revision: sm.store.currentRevision(),
  });
  const unary = <Req, Res>(f: (call: ServerUnaryCall<Req, Res>) => Res | Promise<Res>) => {
    return (call: ServerUnaryCall<Req, Res>, cb: sendUnaryData<Res>): void => {
      let p: Promise<Res>;
      try {
        p = Promise.resolve(f(call));
      } catch (e) {
        p = Promise.reject(e as Error);
      }
      answer(p, cb, undefined, toEtcdStatus);
    };
  };

  return {
    alarm(call, cb) {
      if (d.alarm !== undefined) return d.alarm(call, cb);
      cb({ code: status.UNIMPLEMENTED, details: 'raftkv: the Alarm API is not available in this build' });
    },
    status: unary<etcdserverpb.StatusRequest, etcdserverpb.StatusResponse>(() => {
      const v = driver.view();
      const pages = (p: string): number => db.pragma(p, { simple: true }) as number;
      const pageSize = pages('page_size');
      const pageCount = pages('page_count');
      const leader = v.leaderId === '' ? 0 : etcdMemberId(d.clusterId, v.leaderId);
      const errors = [...(leader === 0 ? [ETCD_NO_LEADER] : []), ...(d.alarms?.() ?? [])];
      return {
        header: header(),
        version: RAFTKV_VERSION,
        dbSize: pageCount * pageSize,
        dbSizeInUse: (pageCount - pages('freelist_count')) * pageSize,
        leader,
        raftIndex: v.commit,
        raftTerm: v.term,
        raftAppliedIndex: sm.appliedIndex(),
        errors,
        isLearner: d.membership.get(d.membership.self)?.voter === false,
      };
    }),
    defragment: unary<etcdserverpb.DefragmentRequest, etcdserverpb.DefragmentResponse>(async () => {
      d.logger.info('starting defragment');
      try {
        const r = await runWorker<DefragResult>('defrag-worker.js', { dbPath: db.name });
        d.logger.info('finished defragment', { ...r });
      } catch (e) {
        d.logger.warn('failed to defragment', { error: (e as Error).message });
        throw e;
      }
      return { header: header() };
    }),
    hash: unary<etcdserverpb.HashRequest, etcdserverpb.HashResponse>(() => ({ header: header(), hash: hashDatabase(db) })),
    hashKv: unary<etcdserverpb.HashKVRequest, etcdserverpb.HashKVResponse>((call) => {
      const h = hashKv(db, call.request.revision);
      return { header: { ...header(), revision: h.currentRevision }, hash: h.hash, compactRevision: h.compactRevision };
    }),
    moveLeader: unary<etcdserverpb.MoveLeaderRequest, etcdserverpb.MoveLeaderResponse>(async (call) => {
      if (!driver.isLeader) throw notLeader();
      const target = d.membership.members().find((m) => etcdMemberId(d.clusterId, m.id) === call.request.targetID);
      if (target === undefined || !target.voter || target.id === d.membership.self) throw badLeaderTransferee();
      await driver.transferLeadership(target.id, deadlineOf(call, MOVE_LEADER_DEFAULT_MS));
      return { header: header() };
    }),
    snapshot(call) {
      void streamSnapshot(d, call);
    },
  };
}

/** Builds a snapshot file, streams it and its sha256, and removes it (also when the client goes away). */
async function streamSnapshot(
  d: EtcdMaintenanceDeps,
  call: ServerWritableStream<etcdserverpb.SnapshotRequest, etcdserverpb.SnapshotResponse>,
) {
  let path: string | null = null;
  try {
    const exported = await d.snapshots.exportSnapshot();
    if (exported === null) throw new Error('etcdserver: nothing applied yet to snapshot');
    path = exported.path;
    const total = exported.built.bytes;
    d.logger.info('sending database snapshot to client', { totalBytes: total, index: exported.built.meta.index });
    const h = createHash('sha256');
    const fd = openSync(path, 'r');
    try {
      let sent = 0;
      while (sent < total && !call.cancelled) {
        const buf = Buffer.allocUnsafe(Math.min(SNAPSHOT_CHUNK_BYTES, total - sent));
        const n = readSync(fd, buf, 0, buf.length, sent);
        if (n <= 0) throw new Error(`snapshot file ended at ${sent} of ${total} bytes`);
        sent += n;
        h.update(buf.subarray(0, n));
        if (!call.write({ remainingBytes: total - sent, blob: buf.subarray(0, n) })) await drained(call);
      }
    } finally {
      closeSync(fd);
    }
    if (call.cancelled) return;
    const sha = h.digest();
    if (sha.toString('hex') !== exported.built.sha256) throw new Error('snapshot file changed while it was sent');
    call.write({ remainingBytes: 0, blob: sha });
    call.end();
    d.logger.info('successfully sent database snapshot to client', { totalBytes: total });
  } catch (e) {
    d.logger.warn('failed to send database snapshot', { error: (e as Error).message });
    if (!call.cancelled) call.emit('error', toEtcdStatus(e));
  } finally {
    if (path !== null) rmSync(path, { force: true });
  }
}

function drained(call: ServerWritableStream<unknown, unknown>): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      call.off('drain', done);
      call.off('cancelled', done);
      resolve();
    };
    call.once('drain', done);
    call.once('cancelled', done);
  });
}
