// The etcdctl command lines raftctl must answer byte for byte as etcdctl 3.4.23 does (standard output,
// exit code, and the "Error: ..." line), run in this order on an empty store: writes, reads of every
// kind in every format, txns in etcdctl's text format, bad input, compaction.

export interface Case {
  readonly args: readonly string[];
  /** Standard input (txn, put without a value). */
  readonly stdin?: string;
}

const FORMATS = ['simple', 'json', 'fields', 'table'] as const;

function perFormat(f: string): Case[] {
  const c = (...args: string[]): Case => ({ args: [...args, '-w', f] });
  const txn = (stdin: string, ...args: string[]): Case => ({ args: ['txn', ...args, '-w', f], stdin });
  return [
    c('put', 'k1', 'v1'),
    c('put', '--prev-kv', 'k1', 'v2'),
    c('put', 'dir/a', '1'),
    c('put', 'dir/b', '2'),
    c('put', 'dir/c', '3'),
    { args: ['put', 'from-stdin', '-w', f], stdin: 'piped value' },
    c('get', 'k1'),
    c('get', 'missing'),
    c('get', '--prefix', 'dir'),
    c('get', '--prefix', 'dir', '--limit', '2'),
    c('get', '--from-key', 'dir/b'),
    c('get', 'dir/a', 'dir/c'),
    c('get', '--prefix', 'dir', '--keys-only'),
    c('get', '--prefix', 'dir', '--sort-by=MODIFY', '--order=DESCEND'),
    c('get', '--prefix', 'dir', '--sort-by=VALUE'),
    c('get', '--prefix', 'dir', '--order=DESCEND'),
    c('get', '--prefix', 'dir', '--sort-by=create', '--order=descend'),
    c('get', '--prefix', ''),
    c('get', '--from-key', '', '--limit', '3'),
    c('get', 'k1', '--rev', '2'),
    c('get', '--prefix', 'dir', '--print-value-only'),
    c('get', '--prefix', 'dir', '--consistency=s'),
    c('get', '--prefix', 'dir', '--hex'),
    c('put', 'quoted', 'a"b\\c'),
    c('put', 'bytes', 'caf\u00e9\u0001\u00a0\t'),
    c('get', 'quoted'),
    c('get', 'bytes'),
    txn('mod("quoted") > "0"\nval("quoted") = "a\\"b\\\\c"\n\nput quoted 2\nget quoted\nget dir --prefix --limit 1\n\nput z y\n\n'),
    txn('ver("quoted") = "99"\n\nput quoted 3\n\nget quoted\ndel dir/a --prev-kv\nput q "with space"\n\n'),
    // (etcdctl 3.4 panics on a lease compare and on an unknown operator: raftctl does not, and is not compared there.)
    txn('c("nope") = "0"\nm("quoted") != "1"\n\nget nope\n\n\n'),
    txn('value(`k1`) = "v2"\n\nput \'single\' x\n\n\n'),
    txn('\n\n\n'),
    txn('val("k1") = "v2"\n\nput k1 v3\n\nget k1\n\n', '-i'),
    txn('mod("k1") > "0"\n\nput k1 2\n'),
    txn('bogus\n\n\n\n'),
    txn('val("k1") = "1"\n\nfrob k1\n\n\n'),
    txn('val("k1") = "1"\n\nput k1 a\ndel k1\n\n\n'),
    c('del', '--prev-kv', 'k1'),
    c('del', 'nothing'),
    c('del', '--prefix', 'dir', '--prev-kv'),
    c('del', '--from-key', 'q'),
    c('del', '--prefix', ''),
  ];
}

export const CASES: readonly Case[] = [
  ...FORMATS.flatMap(perFormat),
  { args: ['get'] },
  { args: ['get', 'a', 'b', 'c'] },
  { args: ['put', 'k'] },
  { args: ['put', 'k', '--ignore-value'] },
  { args: ['get', '--prefix', '--from-key', 'a'] },
  { args: ['get', 'a', '--sort-by', 'bogus'] },
  { args: ['get', 'a', '--order', 'bogus'] },
  { args: ['get', 'a', '-w', 'bogus'] },
  { args: ['get', 'a', '--consistency', 'x'] },
  { args: ['get', '--prefix', 'a', 'b'] },
  { args: ['del'] },
  { args: ['del', 'a', 'b', 'c'] },
  { args: ['del', '--prefix', 'a', 'b'] },
  { args: ['del', '--prefix', '--from-key', 'a'] },
  { args: ['txn', 'extra'], stdin: '\n\n\n' },
  { args: ['put', 'r', '1'] },
  { args: ['put', 'r', '2'] },
  { args: ['put', 'r', '3'] },
  { args: ['get', 'r', '--rev', '999'] },
  { args: ['compact', '2'] },
  { args: ['compact', '2'] },
  { args: ['get', 'r', '--rev', '1'] },
  { args: ['get', 'r', '--rev', '2', '-w', 'json'] },
  { args: ['compact', 'x'] },
  { args: ['compact'] },
  { args: ['compact', '4', '--physical', '-w', 'json'] },
  { args: ['compact', '999'] },
  { args: ['get', '--from-key', '', '-w', 'json'] },
];
