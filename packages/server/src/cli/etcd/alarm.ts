// etcdctl 3.4's `alarm list` and `alarm disarm` (ctlv3/command/alarm_command.go): list GETs every
// alarm; disarm lists them, then deactivates each and prints what was deactivated. Output as etcdctl:
// simple prints Go's %+v of an AlarmMember ("memberID:N alarm:NOSPACE ", trailing space included);
// json the response without a header (etcd's Alarm answers none); fields panics in etcdctl on that
// missing header, so it is refused here; table is not supported.
import type { RaftkvClient } from '@raftkv/client';
import { etcdserverpb } from '@raftkv/proto';
import { EXIT, EtcdctlError } from './ops.js';
import type { Format, Write } from './printers.js';

const { AlarmRequest_AlarmAction: Action, AlarmType } = etcdserverpb;

export async function runAlarm(args: readonly string[], format: Format, client: RaftkvClient, out: Write): Promise<void> {
  const [sub, ...rest] = args;
  if (sub !== 'list' && sub !== 'disarm') throw new EtcdctlError(EXIT.badArgs, 'alarm takes list or disarm');
  if (rest.length !== 0) throw new EtcdctlError(EXIT.badArgs, `alarm ${sub} command accepts no arguments`);
  const list = await client.maintenance.alarm({ action: Action.GET, memberID: 0, alarm: AlarmType.NONE });
  let alarms = list.alarms;
  if (sub === 'disarm') {
    alarms = [];
    for (const a of list.alarms) {
      const r = await client.maintenance.alarm({ action: Action.DEACTIVATE, memberID: a.memberID, alarm: a.alarm });
      alarms.push(...r.alarms);
    }
  }
  print(alarms, format, out);
}

function print(alarms: readonly etcdserverpb.AlarmMember[], format: Format, out: Write): void {
  switch (format) {
    case 'simple':
      for (const a of alarms) out(`memberID:${a.memberID} alarm:${etcdserverpb.alarmTypeToJSON(a.alarm)} \n`);
      return;
    case 'json':
      out(`${JSON.stringify(alarms.length === 0 ? {} : { alarms: alarms.map((a) => ({ memberID: a.memberID, alarm: a.alarm })) })}\n`);
      return;
    case 'fields':
      throw new EtcdctlError(EXIT.badFeature, 'fields not supported as output format for alarm (etcdctl 3.4 crashes on it)');
    case 'table':
      throw new EtcdctlError(EXIT.badFeature, 'table not supported as output format');
  }
}
