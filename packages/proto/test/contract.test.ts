// The client API is public: field names and numbers must never change. These wire bytes were written
// by hand from the contract in issue 3 (tag = field number << 3 | wire type); if a field is renumbered
// or retyped, encoding stops matching them.
import {
  AdminService,
  KVService,
  ProposeRequest,
  ProposeResponse,
  ReadConsistency,
  ReadRequest,
  ReadResponse,
  Role,
  StatusResponse,
} from '../src/index.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const buf = (s: string): Buffer => Buffer.from(s);

test.each([
  [
    'put with session',
    { command: { $case: 'put' as const, put: { key: 'a', value: buf('b') } }, clientId: 'c', sequence: 5 },
    '0a060a0161120162' + '720163' + '7805',
  ],
  ['delete', { command: { $case: 'delete' as const, delete: { key: 'a' } }, clientId: '', sequence: 0 }, '12030a0161'],
  [
    'compare-and-swap',
    {
      command: {
        $case: 'compareAndSwap' as const,
        compareAndSwap: { key: 'a', expectedValue: buf('x'), expectAbsent: true, newValue: buf('y') },
      },
      clientId: '',
      sequence: 0,
    },
    '1a0b' + '0a0161' + '120178' + '1801' + '220179',
  ],
])('ProposeRequest %s keeps its wire format', (_name, msg, wire) => {
  expect(hex(ProposeRequest.encode(msg).finish())).toBe(wire);
  expect(ProposeRequest.decode(Buffer.from(wire, 'hex'))).toEqual(msg);
});

test('ProposeResponse keeps its wire format', () => {
  const msg = {
    succeeded: true,
    previousFound: true,
    previousValue: buf('p'),
    index: 7,
    term: 2,
    leaderId: 'n',
    previousValueOmitted: false,
  };
  const wire = '0801' + '1001' + '1a0170' + '2007' + '2802' + '32016e';
  expect(hex(ProposeResponse.encode(msg).finish())).toBe(wire);
  expect(ProposeResponse.decode(Buffer.from(wire, 'hex'))).toEqual(msg);
});

test('ReadRequest and ReadResponse keep their wire format', () => {
  expect(hex(ReadRequest.encode({ key: 'a', consistency: ReadConsistency.READ_CONSISTENCY_STALE }).finish())).toBe('0a0161' + '1001');
  expect(ReadConsistency.READ_CONSISTENCY_LINEARIZABLE).toBe(0);
  const resp = { found: true, value: buf('v'), index: 3, leaderId: 'n' };
  expect(hex(ReadResponse.encode(resp).finish())).toBe('0801' + '120176' + '1803' + '22016e');
});

test('StatusResponse keeps its wire format', () => {
  const msg = {
    id: 'n',
    role: Role.ROLE_LEADER,
    term: 2,
    leaderId: 'n',
    commitIndex: 4,
    appliedIndex: 5,
    lastLogIndex: 6,
    members: [{ id: 'n', address: 'a', voter: true }],
  };
  const wire = '0a016e' + '1003' + '1802' + '22016e' + '2804' + '3005' + '3806' + '4208' + '0a016e' + '120161' + '1801';
  expect(hex(StatusResponse.encode(StatusResponse.fromPartial(msg)).finish())).toBe(wire);
  expect([Role.ROLE_UNSPECIFIED, Role.ROLE_FOLLOWER, Role.ROLE_CANDIDATE, Role.ROLE_LEADER]).toEqual([0, 1, 2, 3]);
});

test('service and method names stay put', () => {
  expect(KVService.propose.path).toBe('/raftkv.v1.KV/Propose');
  expect(KVService.read.path).toBe('/raftkv.v1.KV/Read');
  expect(AdminService.status.path).toBe('/raftkv.v1.Admin/Status');
});
