// The npm `etcd3` package's watch against etcd 3.4 and a 3-node raftkv, with the same assertions (so
// the expectations are etcd's): a prefix watcher with previous values sees puts and deletes in revision
// order, a start revision replays history, and one below the compaction is refused. Revisions are exact
// (a fresh store starts at revision 1).
import type { Etcd3, IKeyValue, Watcher } from 'etcd3';
import { waitFor } from '@raftkv/testkit';
import { describeTargets, useClient } from './etcd3-targets.js';

/** Every event a watcher emits, as TYPE key=value@mod<prev. */
function record(w: Watcher): string[] {
  const seen: string[] = [];
  const show = (type: string, kv: IKeyValue, prev?: IKeyValue): string =>
    `${type} ${kv.key.toString()}${type === 'PUT' ? `=${kv.value.toString()}` : ''}@${kv.mod_revision}${prev ? `<${prev.value.toString()}` : ''}`;
  w.on('put', (kv, prev) => seen.push(show('PUT', kv, prev)));
  w.on('delete', (kv, prev) => seen.push(show('DEL', kv, prev)));
  return seen;
}

const atLeast = (seen: readonly string[], n: number): Promise<true> =>
  waitFor(`${n} events (have ${seen.length})`, () => (seen.length >= n ? true : undefined), 30_000);

describeTargets('the etcd3 npm client watching %s', (_name, start) => {
  const etcd = useClient(start);
  let client: Etcd3;
  beforeAll(() => {
    client = etcd();
  });

  test('a prefix watcher with previous values: puts and deletes once each, in revision order', async () => {
    const w = await client.watch().prefix('w/').withPreviousKV().create();
    const seen = record(w);
    await client.put('w/a').value('1'); // 2
    await client.put('w/b').value('2'); // 3
    await client.put('x').value('0'); // 4
    await client.put('w/a').value('3'); // 5
    await client.delete().key('w/b'); // 6
    await atLeast(seen, 4);
    await new Promise((r) => setTimeout(r, 200));
    expect(seen).toEqual(['PUT w/a=1@2', 'PUT w/b=2@3', 'PUT w/a=3@5<1', 'DEL w/b@6<2']);
    await w.cancel();
  });

  test('a start revision replays history, then goes on live', async () => {
    const w = await client.watch().prefix('w/').startRevision('3').create();
    const seen = record(w);
    await client.put('w/c').value('4'); // 7
    await atLeast(seen, 4);
    expect(seen).toEqual(['PUT w/b=2@3', 'PUT w/a=3@5', 'DEL w/b@6', 'PUT w/c=4@7']);
    await w.cancel();
  });

  test('a start revision below the compaction ends the watcher with an error', async () => {
    await client.kv.compact({ revision: 6, physical: true });
    const w = client.watch().key('w/a').startRevision('3').watcher();
    const error = await new Promise<string>((resolve) => w.on('error', (e: Error) => resolve(`${e.constructor.name}: ${e.message}`)));
    expect(error).toBe('EtcdError: Watcher canceled: ');
  });
});
