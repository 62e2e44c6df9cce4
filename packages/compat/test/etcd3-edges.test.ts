// Edges of etcd's KV API that etcdctl cannot reach, through the npm etcd3 client's raw KV calls: binary
// keys (NUL and 0xff bytes, a prefix ending in 0xff), revision filters with a limit (count is the range's
// size before filtering; `more` only when the filtered result exceeds the limit), a sort target without
// an order (ascending), count/keys only, compares over a key range and on LEASE, nested txns, duplicate
// keys across txn levels, and Compact(0). Expected values are etcd 3.4's (the etcd run proves them).
import type { IRangeResponse, ITxnRequest } from 'etcd3';
import { describeTargets, useClient } from './etcd3-targets.js';

const B = (...bytes: number[]) => Buffer.from(bytes);
const S = (s: string) => Buffer.from(s);
const keys = (r: IRangeResponse) => r.kvs.map((k) => `${k.key.toString('hex')}@${k.mod_revision}`);
const page = (r: IRangeResponse) => ({ kvs: keys(r), more: r.more, count: Number(r.count) });
const DUPLICATE = 'etcdserver: duplicate key given in txn request';

describeTargets('edges of the KV API through etcd3 against %s', (_name, start) => {
  const etcd = useClient(start);

  test('binary keys order bytewise; a prefix ending in 0xff; a range ending before 0xff', async () => {
    for (const k of [B(0x62, 0xff), B(0x62), B(0x62, 0xff, 0xff), B(0x62, 0x00), B(0x62, 0xff, 0x00)]) {
      await etcd().put(k).value(k.toString('hex').slice(-2)).exec(); // revisions 2..6
    }
    expect(keys(await etcd().getAll().prefix(B(0x62)).exec())).toEqual(['62@3', '6200@5', '62ff@2', '62ff00@6', '62ffff@4']);
    expect(keys(await etcd().getAll().prefix(B(0x62, 0xff)).exec())).toEqual(['62ff@2', '62ff00@6', '62ffff@4']);
    expect(keys(await etcd().kv.range({ key: B(0x62), range_end: B(0x62, 0xff) }))).toEqual(['62@3', '6200@5']);
    expect(await etcd().get(B(0x62, 0x00)).string()).toBe('00');
  });

  test('filters, limits and counts as etcd: count before filtering, more after it', async () => {
    const c = etcd();
    expect(page(await c.getAll().prefix(B(0x62)).minModRevision(4).limit(2).exec())).toEqual({
      kvs: ['6200@5', '62ff00@6'],
      more: true,
      count: 5,
    });
    expect(page(await c.getAll().prefix(B(0x62)).minModRevision(4).limit(3).exec())).toEqual({
      kvs: ['6200@5', '62ff00@6', '62ffff@4'],
      more: false,
      count: 5,
    });
    expect(page(await c.getAll().prefix(B(0x62)).maxCreateRevision(3).exec())).toEqual({ kvs: ['62@3', '62ff@2'], more: false, count: 5 });
    expect(await c.getAll().prefix(B(0x62)).minModRevision(4).count()).toBe(5);
    const byValue = await c.kv.range({ key: B(0x62), range_end: B(0x63), sort_target: 'Value', sort_order: 'None', limit: 3 });
    expect(page(byValue)).toEqual({ kvs: ['6200@5', '62ff00@6', '62@3'], more: true, count: 5 });
    expect(page(await c.kv.range({ key: B(0x62), range_end: B(0x63), keys_only: true, count_only: true }))).toEqual({
      kvs: [],
      more: false,
      count: 5,
    });
    expect(page(await c.kv.range({ key: B(0x62), range_end: B(0x63), limit: 5 }))).toMatchObject({ more: false, count: 5 });
  });

  test('a nested txn, compares over a key range and on LEASE', async () => {
    const r = await etcd().kv.txn({
      compare: [
        { key: B(0x62), range_end: B(0x63), target: 'Mod', result: 'Less', mod_revision: 100 },
        { key: S('nokey'), target: 'Lease', result: 'Equal', lease: 0 },
      ],
      success: [
        {
          request_txn: {
            compare: [{ key: B(0x62), range_end: B(0x63), target: 'Version', result: 'Greater', version: 1 }],
            success: [{ request_put: { key: S('n1'), value: S('s') } }],
            failure: [
              { request_put: { key: S('n1'), value: S('f') } },
              { request_range: { key: B(0x62), range_end: B(0x63), count_only: true } },
            ],
          },
        },
        { request_put: { key: S('n2'), value: S('o') } },
      ],
      failure: [],
    });
    expect(r.succeeded).toBe(true);
    expect(Number(r.header.revision)).toBe(7);
    const nested = r.responses[0]!.response_txn!;
    expect(nested.succeeded).toBe(false);
    expect(Number(nested.header.revision)).toBe(0); // etcd fills only the outer header
    expect(Number(nested.responses[0]!.response_put!.header.revision)).toBe(7);
    expect(Number(nested.responses[1]!.response_range!.count)).toBe(5);
    expect(await etcd().getAll().prefix('n').strings()).toEqual({ n1: 'f', n2: 'o' });
    const some = await etcd().kv.txn({
      compare: [{ key: S('n'), range_end: S('o'), target: 'Value', result: 'Equal', value: S('o') }],
      success: [],
    });
    expect({ succeeded: some.succeeded, revision: Number(some.header.revision) }).toEqual({ succeeded: false, revision: 7 });
  });

  test('duplicate keys across txn levels, and one key in both branches of a nested txn (allowed)', async () => {
    const put = { request_put: { key: S('d') } };
    const refused: ITxnRequest[] = [
      { compare: [], success: [put, { request_txn: { success: [put] } }] },
      { compare: [], success: [put, { request_txn: { failure: [put] } }] },
      { compare: [], success: [{ request_delete_range: { key: S('a'), range_end: S('z') } }, { request_txn: { success: [put] } }] },
    ];
    for (const req of refused) await expect(etcd().kv.txn(req)).rejects.toThrow(DUPLICATE);
    const ok = await etcd().kv.txn({ compare: [], success: [{ request_txn: { success: [put], failure: [put] } }] });
    expect({ succeeded: ok.succeeded, revision: Number(ok.header.revision) }).toEqual({ succeeded: true, revision: 8 });
    await expect(etcd().kv.txn({ compare: [{ key: S(''), target: 'Version', result: 'Equal', version: 0 }], success: [] })).rejects.toThrow(
      'etcdserver: key is not provided',
    );
  });

  test('Compact(0) is accepted and changes nothing', async () => {
    expect(Number((await etcd().kv.compact({ revision: 0 })).header.revision)).toBe(8);
    expect(keys(await etcd().getAll().exec())).toEqual(['62@3', '6200@5', '62ff@2', '62ff00@6', '62ffff@4', '64@8', '6e31@7', '6e32@7']);
    expect(await etcd().get(B(0x62)).revision(2).string()).toBeNull();
  });
});
