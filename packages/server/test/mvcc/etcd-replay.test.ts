// Replays the etcdctl script of etcd-fixtures.ts on a fresh MvccStore, and again through the node's apply
// path (each write a raftkv.v1.Command log entry applied by the state machine), and expects etcd 3.4.23's
// answers: the same revisions, versions, create/mod revisions, counts, `more`, sort orders and errors.
import { EtcdError } from '../../src/storage/mvcc/errors.js';
import type { MvccStore } from '../../src/storage/mvcc/store.js';
import { openDatabase } from '../../src/storage/db.js';
import { encodeCommand, responseOf, type KvKind, type KvRequest } from '../../src/storage/command.js';
import { KvStateMachine } from '../../src/storage/state-machine.js';
import { removeDir, tempDir } from '@raftkv/testkit';
import { ETCD_RECORDING, type EtcdAnswer } from './etcd-fixtures.js';
import { cmp, del, delJson, get, op, openStore, put, putJson, rangeJson, txn, txnJson } from './helpers.js';

const S = { VALUE: 4, MOD: 3, VERSION: 1, CREATE: 2 } as const; // RangeRequest.SortTarget
const DESC = 2;

type Store = Pick<MvccStore, 'put' | 'deleteRange' | 'txn' | 'compact' | 'range' | 'currentRevision' | 'compactedRevision'>;

const CALLS: Record<string, (s: Store) => EtcdAnswer> = {
  'endpoint status -w json': (s) => ({ revision: s.currentRevision() }),
  'put a 1 -w json': (s) => ({ json: putJson(s.put(put('a', '1'))) }),
  'put b 2 -w json': (s) => ({ json: putJson(s.put(put('b', '2'))) }),
  'put a 11 -w json': (s) => ({ json: putJson(s.put(put('a', '11'))) }),
  'del zz -w json': (s) => ({ json: delJson(s.deleteRange(del('zz'))) }),
  'del a -w json': (s) => ({ json: delJson(s.deleteRange(del('a'))) }),
  'put a 111 -w json': (s) => ({ json: putJson(s.put(put('a', '111'))) }),
  'get a -w json': (s) => ({ json: rangeJson(s.range(get('a'))) }),
  'get a --rev 4 -w json': (s) => ({ json: rangeJson(s.range(get('a', { revision: 4 }))) }),
  'get a --rev 5 -w json': (s) => ({ json: rangeJson(s.range(get('a', { revision: 5 }))) }),
  'get a --rev 6 -w json': (s) => ({ json: rangeJson(s.range(get('a', { revision: 6 }))) }),
  'get a --rev 100 -w json': (s) => ({ json: rangeJson(s.range(get('a', { revision: 100 }))) }),
  'txn <<mod("b") = "3"\\n\\nput c 3\\nput d 4\\ndel b\\n\\nput x 0\\n\\n': (s) => ({
    json: txnJson(
      s.txn(txn([cmp('mod', 'b', '=', 3)], [op.put(put('c', '3')), op.put(put('d', '4')), op.del(del('b'))], [op.put(put('x', '0'))])),
    ),
  }),
  'get  --from-key -w json': (s) => ({ json: rangeJson(s.range(get('', { fromKey: true }))) }),
  'txn <<version("a") = "1"\\n\\nget a\\n\\nget b\\n\\n': (s) => ({
    json: txnJson(s.txn(txn([cmp('version', 'a', '=', 1)], [op.get(get('a'))], [op.get(get('b'))]))),
  }),
  'txn <<value("zz") = ""\\n\\nput f 6\\n\\nput e 5\\n\\n': (s) => ({
    json: txnJson(s.txn(txn([cmp('value', 'zz', '=', '')], [op.put(put('f', '6'))], [op.put(put('e', '5'))]))),
  }),
  'txn <<create("a") > "5"\\nmod("c") < "8"\\n\\nput g 7\\nget g\\n\\n\\n': (s) => ({
    json: txnJson(s.txn(txn([cmp('create', 'a', '>', 5), cmp('mod', 'c', '<', 8)], [op.put(put('g', '7')), op.get(get('g'))]))),
  }),
  'put k1 v3 -w json': (s) => ({ json: putJson(s.put(put('k1', 'v3'))) }),
  'put k2 v1 -w json': (s) => ({ json: putJson(s.put(put('k2', 'v1'))) }),
  'put k3 v2 -w json': (s) => ({ json: putJson(s.put(put('k3', 'v2'))) }),
  'put k4 v1 -w json': (s) => ({ json: putJson(s.put(put('k4', 'v1'))) }),
  'put k2 v1b -w json': (s) => ({ json: putJson(s.put(put('k2', 'v1b'))) }),
  'get k --prefix --sort-by=VALUE --order=DESCEND --limit 2 -w json': (s) => ({
    json: rangeJson(s.range(get('k', { prefix: true, sortTarget: S.VALUE, sortOrder: DESC, limit: 2 }))),
  }),
  'get k --prefix --limit 2 -w json': (s) => ({ json: rangeJson(s.range(get('k', { prefix: true, limit: 2 }))) }),
  'get k --prefix --sort-by=MODIFY --order=DESCEND --limit 1 --keys-only -w json': (s) => ({
    json: rangeJson(s.range(get('k', { prefix: true, sortTarget: S.MOD, sortOrder: DESC, limit: 1, keysOnly: true }))),
  }),
  'get k --prefix --sort-by=VERSION -w json': (s) => ({ json: rangeJson(s.range(get('k', { prefix: true, sortTarget: S.VERSION }))) }),
  'get k --prefix --sort-by=CREATE --order=DESCEND -w json': (s) => ({
    json: rangeJson(s.range(get('k', { prefix: true, sortTarget: S.CREATE, sortOrder: DESC }))),
  }),
  'get k2 k4 -w json': (s) => ({ json: rangeJson(s.range(get('k2', { rangeEnd: Buffer.from('k4') }))) }),
  'del k --prefix --prev-kv -w json': (s) => ({ json: delJson(s.deleteRange(del('k', { prefix: true, prevKv: true }))) }),
  'put a 1111 --prev-kv -w json': (s) => ({ json: putJson(s.put(put('a', '1111', { prevKv: true }))) }),
  'compact 6': (s) => {
    s.compact({ revision: 6, physical: false });
    return { text: `compacted revision ${s.compactedRevision()}` };
  },
  'compact 100': (s) => {
    s.compact({ revision: 100, physical: false });
    return { text: `compacted revision ${s.compactedRevision()}` };
  },
};

function replay(store: Store): void {
  for (const [command, expected] of ETCD_RECORDING) {
    const call = CALLS[command];
    if (call === undefined) throw new Error(`no store call for recorded command ${command}`);
    let got: EtcdAnswer;
    try {
      got = call(store);
    } catch (e) {
      if (!(e instanceof EtcdError)) throw e;
      got = { error: e.message };
    }
    expect({ command, answer: got }).toEqual({ command, answer: expected });
  }
}

test('the etcdctl script gives the answers etcd 3.4.23 gave', () => {
  const { store, close } = openStore();
  try {
    replay(store);
  } finally {
    close();
  }
});

test('through the apply path (log entries applied by the state machine), the same answers', () => {
  const dir = tempDir();
  const db = openDatabase(dir);
  try {
    const sm = new KvStateMachine(db);
    let index = 0;
    const apply = <K extends KvKind>(request: KvRequest<K>) => {
      const data = encodeCommand(request);
      const o = db.transaction(() => sm.apply([{ index: ++index, term: 1, type: 'normal', data }]))()[0];
      if (o === null || o === undefined || o.ok === null) throw new Error('no outcome');
      if (!o.ok) throw o.error;
      return responseOf(o.response, request.$case);
    };
    // Writes go through the log; reads are served by the store, as the etcd service serves them.
    const logged: Store = {
      put: (put) => apply({ $case: 'put', put }),
      deleteRange: (deleteRange) => apply({ $case: 'deleteRange', deleteRange }),
      txn: (txn) => apply({ $case: 'txn', txn }),
      compact: (compaction) => apply({ $case: 'compaction', compaction }),
      range: (r) => sm.store.range(r),
      currentRevision: () => sm.store.currentRevision(),
      compactedRevision: () => sm.store.compactedRevision(),
    };
    replay(logged);
    expect(sm.appliedIndex()).toBe(index);
  } finally {
    db.close();
    removeDir(dir);
  }
});
