// etcd's alarm store (etcdserver/api/v3alarm): the alarms raised in the cluster, replicated through
// the log (Command.alarm) and kept in the `alarms` state table, so snapshots carry them. While a NOSPACE
// alarm is raised, every node refuses the writes that grow the store (etcd's applierV3Capped).
import { etcdserverpb } from '@raftkv/proto';
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';

type AlarmMember = etcdserverpb.AlarmMember;
const { AlarmRequest_AlarmAction: Action, AlarmType } = etcdserverpb;

export class AlarmStore {
  private noSpace = false;
  private readonly allStmt: Statement<[], [number, number]>;
  private readonly insertStmt: Statement<[number, number]>;
  private readonly deleteStmt: Statement<[number, number]>;

  constructor(private readonly db: Db) {
    this.allStmt = db.prepare<[], [number, number]>('SELECT member_id, alarm FROM alarms ORDER BY alarm, member_id').raw();
    this.insertStmt = db.prepare('INSERT OR IGNORE INTO alarms (member_id, alarm) VALUES (?, ?)');
    this.deleteStmt = db.prepare('DELETE FROM alarms WHERE member_id = ? AND alarm = ?');
    this.reload();
  }

  /** Re-reads the cached NOSPACE flag (at start, and after a snapshot replaced the state). */
  reload(): void {
    this.noSpace = this.get(AlarmType.NOSPACE).length > 0;
  }

  /** A NOSPACE alarm is raised: writes that grow the store are refused. */
  get capped(): boolean {
    return this.noSpace;
  }

  /** The raised alarms of `type` (NONE: all of them), by type then member. */
  get(type: etcdserverpb.AlarmType): AlarmMember[] {
    return this.allStmt
      .all()
      .filter(([, a]) => type === AlarmType.NONE || a === type)
      .map(([memberID, alarm]) => ({ memberID, alarm }));
  }

  /**
   * Applies an AlarmRequest as etcd's applyAlarm: GET lists, ACTIVATE raises (answering the alarm,
   * also when it was already raised), DEACTIVATE lowers (answering the alarm, or nothing if it was not
   * raised). Deterministic: the same on every node. Runs inside the apply transaction.
   */
  apply(r: etcdserverpb.AlarmRequest): AlarmMember[] {
    const m: AlarmMember = { memberID: r.memberID, alarm: r.alarm };
    switch (r.action) {
      case Action.GET:
        return this.get(r.alarm);
      case Action.ACTIVATE:
        if (r.alarm === AlarmType.NONE) return [];
        this.insertStmt.run(m.memberID, m.alarm);
        this.reload();
        return [m];
      case Action.DEACTIVATE: {
        const changed = this.deleteStmt.run(m.memberID, m.alarm).changes > 0;
        this.reload();
        return changed ? [m] : [];
      }
      default:
        return [];
    }
  }
}
