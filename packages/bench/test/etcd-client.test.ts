import { prefixEnd } from '../src/etcd-client.js';

test('prefixEnd is etcd clientv3 GetPrefixRangeEnd', () => {
  expect(prefixEnd(Buffer.from('bench/range/'))).toEqual(Buffer.from('bench/range0'));
  expect(prefixEnd(Buffer.from([0x61, 0xff, 0xff]))).toEqual(Buffer.from([0x62]));
  expect(prefixEnd(Buffer.from([0xff]))).toEqual(Buffer.from([0]));
});
