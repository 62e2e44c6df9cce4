// What the etcd3 npm client tests share: the servers they run against (etcd 3.4 first, so what they
// expect is etcd's behaviour, then a 3-node raftkv), a client per server, and a plain view of a pair.
import { Etcd3, type IKeyValue } from 'etcd3';
import { provisionEtcd, startEtcd } from './etcd.js';
import { startRaftkv } from './raftkv.js';
import type { Target } from './target.js';

export const TARGETS: [string, () => Promise<Target>][] = [
  ['etcd 3.4', startEtcd],
  ['a 3-node raftkv', () => startRaftkv(3)],
];

/** describe.each over TARGETS, or describe.skip with the reason printed when etcd cannot be installed. */
export const describeTargets = provisionEtcd() ? describe.skip.each(TARGETS) : describe.each(TARGETS);

/** A fresh server and an etcd3 client on all its endpoints for the enclosing describe; both gone after it. */
export function useClient(start: () => Promise<Target>): () => Etcd3 {
  let target: Target | undefined;
  let client: Etcd3 | undefined;
  beforeAll(async () => {
    target = await start();
    client = new Etcd3({ hosts: target.endpoints.map((e) => `http://${e}`) });
  });
  afterAll(async () => {
    client?.close();
    await target?.stop();
  });
  return () => {
    if (!client) throw new Error('no client: the server did not start');
    return client;
  };
}

export const kv = (k: IKeyValue) => ({
  key: k.key.toString(),
  value: k.value.toString(),
  create: Number(k.create_revision),
  mod: Number(k.mod_revision),
  version: Number(k.version),
});
