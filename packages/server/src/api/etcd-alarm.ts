// etcdserverpb.Maintenance/Alarm: GET, ACTIVATE and DEACTIVATE all go through the log, as in etcd
// (EtcdServer.Alarm is a raft request), so every node answers from the same replicated alarms. Like
// etcd 3.4's, the answer carries no header (etcdctl -w json prints none). Followers forward to the
// leader. The Maintenance service calls `etcdAlarm`'s handler and lists `activeAlarms` in Status.
import type { sendUnaryData, ServerUnaryCall } from '@grpc/grpc-js';
import { etcdserverpb } from '@raftkv/proto';
import type { RaftDriver } from '../node/driver.js';
import { encodeCommand, responseOf } from '../storage/command.js';
import type { KvStateMachine } from '../storage/state-machine.js';
import { answer, deadlineOf } from './call.js';
import { toEtcdStatus } from './grpc-errors.js';
import { isForwarded, type LeaderRouter } from './router.js';

export interface EtcdAlarmDeps {
  readonly driver: RaftDriver;
  readonly router: LeaderRouter;
}

type AlarmCall = ServerUnaryCall<etcdserverpb.AlarmRequest, etcdserverpb.AlarmResponse>;

/** The Alarm handler (etcdserverpb.MaintenanceServer['alarm']); failures answer etcd's statuses. */
export function etcdAlarm(d: EtcdAlarmDeps): (call: AlarmCall, cb: sendUnaryData<etcdserverpb.AlarmResponse>) => void {
  return (call, cb) => {
    const r = call.request;
    const local = async () => responseOf(await d.driver.propose(encodeCommand({ $case: 'alarm', alarm: r })), 'alarm');
    const p = d.router.etcdMaintenance(deadlineOf(call), isForwarded(call), local, (m, md, o, c) => m.alarm(r, md, o, c));
    answer(p, cb, undefined, toEtcdStatus);
  };
}

/** The alarms raised, as etcd's Status lists them in `errors` (AlarmMember.String(): "memberID:N alarm:NOSPACE "). */
export function activeAlarms(sm: KvStateMachine): () => string[] {
  return () =>
    sm.alarms.get(etcdserverpb.AlarmType.NONE).map((a) => `memberID:${a.memberID} alarm:${etcdserverpb.alarmTypeToJSON(a.alarm)} `);
}
