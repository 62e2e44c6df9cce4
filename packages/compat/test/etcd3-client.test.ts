// The npm `etcd3` package (grpc-js, a fluent builder API: another client style than etcdctl's Go
// clientv3) against a 3-node raftkv: range (prefix, limit, sort, count, keys only, revision and
// mod/create revision filters, serializable), put with the previous value, delete, a txn on mod_revision
// with its failure branch, compaction and its errors. The same assertions run against etcd 3.4 first, so
// the expectations are etcd's. Revisions are exact (a fresh store starts at revision 1).
import { GRPCInvalidArgumentError, GRPCOutOfRangeError, type IKeyValue } from 'etcd3';
import { describeTargets, kv, useClient } from './etcd3-targets.js';

describeTargets('the etcd3 npm client against %s', (_name, start) => {
  const etcd = useClient(start);
  let client: ReturnType<typeof etcd>;
  beforeAll(() => {
    client = etcd();
  });

  test('puts advance the revision by one each; a put returns the previous pair', async () => {
    for (const [i, key] of ['app/a', 'app/b', 'app/c', 'app/d', 'other'].entries()) {
      const r = await client.put(key).value(`v${i}`).exec();
      expect(Number(r.header.revision)).toBe(2 + i);
    }
    const prev = await client.put('app/a').value('v0b').getPrevious(); // revision 7
    expect(kv(prev as IKeyValue)).toEqual({ key: 'app/a', value: 'v0', create: 2, mod: 2, version: 1 });
    expect(kv((await client.get('app/a').exec()).kvs[0]!)).toEqual({ key: 'app/a', value: 'v0b', create: 2, mod: 7, version: 2 });
  });

  test('ranges: prefix, limit with more and count, sort, count only, keys only, a past revision, filters', async () => {
    expect(await client.getAll().prefix('app/').strings()).toEqual({ 'app/a': 'v0b', 'app/b': 'v1', 'app/c': 'v2', 'app/d': 'v3' });
    const page = await client.getAll().prefix('app/').limit(2).sort('Key', 'Descend').exec();
    expect(page.kvs.map(kv)).toEqual([
      { key: 'app/d', value: 'v3', create: 5, mod: 5, version: 1 },
      { key: 'app/c', value: 'v2', create: 4, mod: 4, version: 1 },
    ]);
    expect({ more: page.more, count: Number(page.count), revision: Number(page.header.revision) }).toEqual({
      more: true,
      count: 4,
      revision: 7,
    });
    expect(await client.getAll().prefix('app/').sort('Value', 'Descend').keys()).toEqual(['app/d', 'app/c', 'app/b', 'app/a']);
    expect(await client.getAll().prefix('app/').sort('Mod', 'Descend').limit(1).keys()).toEqual(['app/a']);
    expect(await client.getAll().prefix('app/').count()).toBe(4);
    expect(await client.getAll().count()).toBe(5);
    expect(await client.get('app/a').revision(2).string()).toBe('v0');
    expect(await client.getAll().prefix('app/').revision(3).keys()).toEqual(['app/a', 'app/b']);
    expect(await client.getAll().minModRevision(5).keys()).toEqual(['app/a', 'app/d', 'other']);
    expect(await client.getAll().maxCreateRevision(3).keys()).toEqual(['app/a', 'app/b']);
    expect(await client.getAll().prefix('app/').serializable(true).limit(1).keys()).toEqual(['app/a']);
    expect(await client.get('nosuch').string()).toBeNull();
  });

  test('a txn on mod_revision: the success branch applies at one revision, a stale compare takes the failure branch', async () => {
    const won = await client
      .if('app/a', 'Mod', '==', 7)
      .and('app/b', 'Version', '>', 0)
      .then(client.put('app/a').value('txn'), client.put('app/z').value('new'))
      .else(client.get('app/a'))
      .commit();
    expect({ succeeded: won.succeeded, revision: Number(won.header.revision) }).toEqual({ succeeded: true, revision: 8 });
    const a = kv((await client.get('app/a').exec()).kvs[0]!);
    const z = kv((await client.get('app/z').exec()).kvs[0]!);
    expect([a.mod, z.mod, z.create]).toEqual([8, 8, 8]);

    const lost = await client.if('app/a', 'Mod', '==', 7).then(client.put('app/a').value('lost')).else(client.get('app/a')).commit();
    expect({ succeeded: lost.succeeded, revision: Number(lost.header.revision) }).toEqual({ succeeded: false, revision: 8 });
    expect(lost.responses[0]!.response_range!.kvs.map(kv)).toEqual([{ key: 'app/a', value: 'txn', create: 2, mod: 8, version: 3 }]);
    expect(await client.if('app/a', 'Value', '==', 'txn').then(client.delete().key('app/z')).commit()).toMatchObject({ succeeded: true });
  });

  test('delete: one key with its previous pair, a prefix, and nothing (no new revision)', async () => {
    const prev = await client.delete().key('app/b').getPrevious(); // revision 10
    expect(prev.map(kv)).toEqual([{ key: 'app/b', value: 'v1', create: 3, mod: 3, version: 1 }]);
    const all = await client.delete().prefix('app/').exec(); // revision 11: app/a, app/c, app/d
    expect({ deleted: Number(all.deleted), revision: Number(all.header.revision) }).toEqual({ deleted: 3, revision: 11 });
    const none = await client.delete().key('nosuch').exec();
    expect({ deleted: Number(none.deleted), revision: Number(none.header.revision) }).toEqual({ deleted: 0, revision: 11 });
    expect(await client.getAll().keys()).toEqual(['other']);
  });

  test("compaction: older revisions fail with etcd's error, the compacted one and later stay readable", async () => {
    const c = await client.kv.compact({ revision: 8, physical: true });
    expect(Number(c.header.revision)).toBe(11);
    const compacted = client.get('app/a').revision(7).string();
    await expect(compacted).rejects.toBeInstanceOf(GRPCOutOfRangeError);
    await expect(compacted).rejects.toThrow('etcdserver: mvcc: required revision has been compacted');
    expect(await client.get('app/a').revision(8).string()).toBe('txn');
    await expect(client.kv.compact({ revision: 8 })).rejects.toThrow('etcdserver: mvcc: required revision has been compacted');
    await expect(client.get('app/a').revision(12).string()).rejects.toThrow('etcdserver: mvcc: required revision is a future revision');
    await expect(client.kv.compact({ revision: 12 })).rejects.toThrow('etcdserver: mvcc: required revision is a future revision');
  });

  test('invalid requests: an empty key, a duplicate key in a txn', async () => {
    await expect(client.put('').value('x').exec()).rejects.toBeInstanceOf(GRPCInvalidArgumentError);
    await expect(client.put('').value('x').exec()).rejects.toThrow('etcdserver: key is not provided');
    const dup = client.if('other', 'Version', '>', 0).then(client.put('k').value('1'), client.put('k').value('2')).commit();
    await expect(dup).rejects.toThrow('etcdserver: duplicate key given in txn request');
    expect(Number((await client.get('other').exec()).header.revision)).toBe(11);
  });
});
