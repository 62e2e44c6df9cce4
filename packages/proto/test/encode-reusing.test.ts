// The service definitions serialize through one reused writer (src/encode.ts): every message must
// encode to exactly the bytes a fresh writer gives, whatever was encoded before it — a larger
// message, a smaller one, one that threw halfway.
import { encodeReusing, etcdserverpb, KVService, MessageBatch, MessageType, ProposeRequest, RaftService } from '../src/index.js';

const fresh = <T>(encode: (m: T) => { finish(): Uint8Array }, m: T): string => Buffer.from(encode(m).finish()).toString('hex');
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

const batch = (entries: number, bytes: number): MessageBatch => ({
  clusterId: 'c1',
  senderVersion: '0.3.0',
  protocolVersion: 2,
  messages: [
    {
      type: MessageType.MESSAGE_TYPE_APPEND,
      from: 'n1',
      to: 'n2',
      term: 7,
      logTerm: 7,
      index: 41,
      entries: Array.from({ length: entries }, (_, i) => ({ index: 42 + i, term: 7, type: 1, data: Buffer.alloc(bytes, i + 1) })),
      commit: 40,
      reject: false,
      rejectHint: 0,
      hintTerm: 0,
      context: 0,
    },
  ],
});

test('encodes what a fresh writer encodes, in any order of sizes', () => {
  const messages = [batch(1, 10), batch(64, 300), batch(0, 0), batch(3, 5000), batch(1, 10)];
  for (const m of messages) expect(hex(encodeReusing(MessageBatch.encode, m))).toBe(fresh(MessageBatch.encode, m));
});

test('a result is not overwritten by the next encode', () => {
  const a = encodeReusing(MessageBatch.encode, batch(2, 50));
  const copy = hex(a);
  encodeReusing(MessageBatch.encode, batch(2, 60));
  expect(hex(a)).toBe(copy);
});

test('an encode that throws halfway leaves nothing behind for the next', () => {
  const bad = { ...batch(1, 10), messages: [{ ...batch(1, 10).messages[0]!, entries: [{ index: 1, term: 1, type: 1, data: 42 }] }] };
  expect(() => encodeReusing(MessageBatch.encode, bad as unknown as MessageBatch)).toThrow();
  const m = batch(2, 20);
  expect(hex(encodeReusing(MessageBatch.encode, m))).toBe(fresh(MessageBatch.encode, m));
});

test('a message over the kept size is encoded whole, and the next ones still right', () => {
  const big = batch(3, 600_000);
  expect(hex(encodeReusing(MessageBatch.encode, big))).toBe(fresh(MessageBatch.encode, big));
  const small = batch(1, 3);
  expect(hex(encodeReusing(MessageBatch.encode, small))).toBe(fresh(MessageBatch.encode, small));
});

test('the generated service definitions serialize through it, to the same bytes', () => {
  const propose: ProposeRequest = { command: { $case: 'put', put: { key: 'k', value: Buffer.from('v') } }, clientId: 'c', sequence: 3 };
  expect(hex(KVService.propose.requestSerialize(propose))).toBe(fresh(ProposeRequest.encode, propose));
  expect(hex(RaftService.send.requestSerialize(batch(2, 8)))).toBe(fresh(MessageBatch.encode, batch(2, 8)));
  const range: etcdserverpb.RangeResponse = {
    header: { clusterId: 1, memberId: 2, revision: 3, raftTerm: 4 },
    kvs: [{ key: Buffer.from('a'), createRevision: 1, modRevision: 3, version: 2, value: Buffer.from('b'), lease: 0 }],
    more: false,
    count: 1,
  };
  expect(hex(etcdserverpb.KVService.range.responseSerialize(range))).toBe(fresh(etcdserverpb.RangeResponse.encode, range));
  // and the generated serializer is the reusing one, not ts-proto's own
  expect(KVService.propose.requestSerialize.toString()).toContain('encodeReusing');
});
