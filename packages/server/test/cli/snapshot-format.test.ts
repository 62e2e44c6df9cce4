// raftctl snapshot status prints etcdctl 3.4's DBStatus byte for byte: the expected texts are what
// etcdctl 3.4.23 printed for a snapshot with those values.
import { formatStatus, humanBytes } from '../../src/cli/snapshot-commands.js';

const s = { hash: 0x4268202a, revision: 4, totalKey: 7, totalSize: 20480 };

describe('snapshot status output', () => {
  test('each format as etcdctl prints it', () => {
    expect(formatStatus(s, 'simple')).toBe('4268202a, 4, 7, 20 kB\n');
    expect(formatStatus(s, 'json')).toBe('{"hash":1114120234,"revision":4,"totalKey":7,"totalSize":20480}\n');
    expect(formatStatus(s, 'fields')).toBe('"Hash" : 1114120234\n"Revision" : 4\n"Keys" : 7\n"Size" : 20480\n');
    expect(formatStatus(s, 'table')).toBe(
      [
        '+----------+----------+------------+------------+',
        '|   HASH   | REVISION | TOTAL KEYS | TOTAL SIZE |',
        '+----------+----------+------------+------------+',
        '| 4268202a |        4 |          7 |      20 kB |',
        '+----------+----------+------------+------------+',
        '',
      ].join('\n'),
    );
    expect(() => formatStatus(s, 'yaml')).toThrow('unsupported output format');
  });

  test("go-humanize's Bytes", () => {
    expect([0, 9, 10, 999, 1000, 1049, 9950, 20480, 123456789, 5_000_000_000].map(humanBytes)).toEqual([
      '0 B',
      '9 B',
      '10 B',
      '999 B',
      '1.0 kB',
      '1.0 kB',
      '10 kB',
      '20 kB',
      '124 MB',
      '5.0 GB',
    ]);
  });
});
