// One script of etcdctl commands covering every KV command and flag of etcdctl 3.4 (its `get` has no
// --count-only), its output formats (simple, json, fields; table, which etcdctl refuses for KV commands
// after making the call) and its error cases. Run from a fresh store (revision 1), each step's outcome is
// fixed: etcdctl-transcript.txt is etcd 3.4.23's. Sorts with ties cover at most 12 keys: etcd sorts with
// Go's unstable sort.Sort, which orders ties like a stable sort only below 13 elements (insertion sort);
// beyond that the order of ties is unspecified, so no step depends on it.

export interface Step {
  readonly args: readonly string[];
  /** Standard input (txn's text format; put's value when only a key is given). */
  readonly stdin?: string;
  /** The step must exit non-zero (an error case). */
  readonly fails?: true;
  /**
   * Which member to ask (index into the endpoints), or 'all' (every endpoint, as users give them; the client
   * picks); default: the step's index modulo their number, so every member serves in turn.
   */
  readonly member?: number | 'all';
}

/** etcdctl's txn text: compares, success ops, failure ops, each section ended by an empty line. */
export function txnText(compares: readonly string[], success: readonly string[], failure: readonly string[] = []): string {
  return [compares, success, failure].map((lines) => lines.map((l) => `${l}\n`).join('') + '\n').join('');
}

const BIG = 'x'.repeat(1_600_000); // over etcd's default --max-request-bytes (1.5 MiB), under the client's send limit

export const SCRIPT: readonly Step[] = [
  // put
  { args: ['put', 'a', '1'] },
  { args: ['put', 'b', '2'] },
  { args: ['put', 'c', '3', '-w', 'json'] },
  { args: ['put', 'a', '11', '--prev-kv'] },
  { args: ['put', 'a', '12', '--prev-kv', '-w', 'json'] },
  { args: ['put', 'ab', 'x'] },
  { args: ['put', 'abc', 'y'] },
  { args: ['put', 'b', '22'] },
  { args: ['put', 'd', ''] }, // an empty value
  { args: ['put', 'k with space', 'v with space'] },
  { args: ['put', 'ｚ', 'fullwidth'] }, // U+FF5A, UTF-8 ef bd 9a
  { args: ['put', '😀', 'emoji'] }, // U+1F600, UTF-8 f0 9f 98 80: after ｚ bytewise, before it in UTF-16
  { args: ['put', 'é', 'accent'] },
  { args: ['put', 'e', '5', '-w', 'fields'] },
  { args: ['put', 'e', '55', '--prev-kv', '-w', 'table'], fails: true }, // written, then etcdctl refuses the format
  { args: ['put', 'value-from-stdin'], stdin: 'from stdin' },
  { args: ['put', 'a', '--ignore-value'] }, // a new version with the value it has
  { args: ['put', 'e', '56', '--ignore-lease', '--prev-kv', '-w', 'json'] },
  { args: ['put', 'nokey', '--ignore-value'], fails: true }, // key not found
  { args: ['put', 'nokey', 'v', '--ignore-lease'], fails: true }, // key not found
  { args: ['put', 'a', 'v', '--ignore-value'], fails: true },
  { args: ['put', 'leased', 'v', '--lease=1234'], fails: true }, // requested lease not found
  { args: ['put', 'big'], stdin: BIG, fails: true }, // request is too large
  { args: ['put', '', 'v'], fails: true }, // key is not provided
  // get
  { args: ['get', 'a'] },
  { args: ['get', 'a', '-w', 'json'] },
  { args: ['get', 'a', '-w', 'fields'] },
  { args: ['get', 'a', '--print-value-only'] },
  { args: ['get', 'a', '--prefix'] },
  { args: ['get', 'a', '--prefix', '--keys-only'] },
  { args: ['get', 'a', '--prefix', '--limit', '2', '-w', 'json'] },
  { args: ['get', 'a', '--prefix', '--limit', '2', '--print-value-only'] },
  { args: ['get', 'a', '--prefix', '--sort-by=VALUE', '--order=DESCEND'] },
  { args: ['get', '', '--prefix', '--sort-by=CREATE', '--order=DESCEND', '--keys-only'] },
  { args: ['get', '', '--from-key', '--sort-by=MODIFY', '--order=ASCEND', '-w', 'json'] },
  { args: ['get', '', '--from-key', '--sort-by=VERSION', '--order=DESCEND', '--keys-only'] },
  { args: ['get', '', '--from-key', '--sort-by=KEY', '--order=DESCEND', '--limit', '3'] },
  { args: ['get', '', '--from-key', '--order=DESCEND', '--limit', '3', '-w', 'json'] },
  { args: ['get', 'b', '--from-key', '--limit', '3', '--keys-only'] },
  { args: ['get', 'a', 'c'] },
  { args: ['get', 'a', 'c', '--keys-only', '-w', 'json'] },
  { args: ['get', 'a', '--rev=2', '-w', 'json'] },
  { args: ['get', 'a', '--rev=5', '--print-value-only'] },
  { args: ['get', '', '--from-key', '--rev=4', '-w', 'json'] },
  { args: ['get', '', '--from-key', '--hex'] },
  { args: ['get', 'ｚ', '--from-key', '-w', 'json'] },
  { args: ['get', 'nosuchkey'] },
  { args: ['get', 'nosuchkey', '-w', 'json'] },
  { args: ['get', 'nosuchkey', '--prefix', '-w', 'fields'] },
  { args: ['get', 'a', '--prefix', '-w', 'table'], fails: true },
  { args: ['get', 'a', '-w', 'json'], member: 0 },
  { args: ['get', 'a', '--consistency=s', '-w', 'json'], member: 0 }, // serializable, on the member that just read linearizably
  { args: ['get', 'a', '--rev=-1', '-w', 'json'] }, // a negative revision reads the current one
  { args: ['get', '', '--from-key', '--limit=-1', '--keys-only'] }, // a negative limit is no limit
  { args: ['get', ''], fails: true }, // key is not provided
  { args: ['get', 'a', '--rev=1000'], fails: true }, // a future revision
  // del
  { args: ['del', 'c'] },
  { args: ['put', 'c', 'again', '--prev-kv'] }, // no previous pair: it was deleted
  { args: ['get', 'c', '-w', 'json'] }, // a new create_revision, version 1
  { args: ['get', 'c', '--rev=20', '-w', 'json'] }, // deleted at that revision
  { args: ['get', 'c', '--rev=19', '-w', 'json'] }, // the old life
  { args: ['del', 'nosuch'] }, // deletes nothing: no new revision
  { args: ['del', 'nosuch', '-w', 'json'] },
  { args: ['del', 'ab', '--prev-kv'] },
  { args: ['del', 'a', '--prefix', '-w', 'json'] }, // a and abc
  { args: ['del', 'ｚ', '--from-key', '--prev-kv'] }, // ｚ and 😀
  { args: ['del', 'value-from-stdin', '--prev-kv', '-w', 'json'] },
  { args: ['del', ''], fails: true }, // key is not provided
  { args: ['get', '', '--from-key', '-w', 'json'] },
  // txn
  {
    args: ['txn'], // every compare target, all true
    stdin: txnText(
      ['value("b") = "22"', 'version("b") = "2"', 'create("b") = "3"', 'mod("b") = "9"'],
      ['put b 23', 'get b', 'del d'],
      ['get b'],
    ),
  },
  { args: ['txn', '-w', 'json'], stdin: txnText(['mod("b") > "100"'], ['put f 0'], ['put f 6', 'get b --prefix']) }, // the failure branch
  { args: ['txn'], stdin: txnText(['version("b") != "3"'], ['put f 1'], ['get b', 'get f --print-value-only']) }, // reads only: no revision
  { args: ['txn', '-w', 'json'], stdin: txnText(['create("nosuch") = "0"'], ['del nosuch']) }, // a write op that deletes nothing
  { args: ['txn', '-i'], stdin: txnText(['value("f") = "6"'], ['put f 7 --prev-kv', 'get f'], ['put f minus1']) }, // interactive: etcdctl prompts on stdout
  {
    args: ['txn', '-w', 'json'],
    stdin: txnText(['mod("b") < "27"', 'value("f") > "6"', 'version("f") < "3"'], ['put g 1', 'put h 2', 'del e']),
  },
  { args: ['txn', '-w', 'json'], stdin: txnText(['create("g") > "29"'], ['put g 2'], ['put h 3 --prev-kv', 'get g h']) },
  { args: ['txn', '-w', 'json'], stdin: txnText(['value("g") = "1"'], ['del g --prev-kv', 'put g 1']), fails: true }, // duplicate
  { args: ['txn', '-w', 'json'], stdin: txnText(['value("g") = "1"'], ['del g --prev-kv', 'put gg 1', 'get g']) },
  { args: ['txn'], stdin: txnText([], ['del a z', 'put b 1']), fails: true }, // a put inside a deleted range: duplicate
  { args: ['txn'], stdin: txnText([], [], []) }, // empty: succeeds, no revision
  { args: ['txn'], stdin: txnText([], ['put i 1', 'put i 2']), fails: true }, // duplicate key
  {
    args: ['txn'],
    stdin: txnText(
      [],
      Array.from({ length: 129 }, (_, i) => `put t${i} v`),
    ),
    fails: true,
  }, // too many operations
  {
    args: ['txn'],
    stdin: txnText(
      [],
      Array.from({ length: 128 }, (_, i) => `put t${i} v`),
    ),
  }, // the most allowed
  { args: ['txn'], stdin: txnText(['value("") = "x"'], ['put i 1']), fails: true }, // key is not provided
  { args: ['get', 'g', 'i', '-w', 'json'] },
  { args: ['get', 't', '--prefix', '--limit', '1', '-w', 'json'] },
  // compact
  { args: ['compact', '5'] },
  { args: ['get', 'a', '--rev=4'], fails: true }, // compacted
  { args: ['get', '', '--from-key', '--rev=5', '-w', 'json'] }, // the compacted revision itself is still readable
  { args: ['compact', '5'], fails: true }, // already compacted
  { args: ['compact', '1000'], fails: true }, // a future revision
  { args: ['compact', '0'], fails: true }, // at or below the compacted revision
  { args: ['compact', '--', '-1'], fails: true },
  { args: ['compact', '20', '--physical'] },
  { args: ['get', 'b', '--rev=19', '-w', 'json'], fails: true },
  { args: ['txn'], stdin: txnText([], ['get b --rev=10']), fails: true }, // compacted inside a txn
  { args: ['get', 'b', '--rev=20', '-w', 'json'] },
  { args: ['put', 'z', 'after compaction', '--prev-kv', '-w', 'json'] },
  { args: ['get', '', '--from-key', '--keys-only', '--limit', '5', '-w', 'json'] },
  { args: ['put', 'y', 'any member', '--prev-kv'], member: 'all' },
  { args: ['get', 'x', 'z', '-w', 'json'], member: 'all' },
  { args: ['get', 'b', 't', '--sort-by=MODIFY', '--order=DESCEND', '--limit', '4', '-w', 'json'] },
  { args: ['get', '', 't'], fails: true }, // a range_end without a key: key is not provided
];
