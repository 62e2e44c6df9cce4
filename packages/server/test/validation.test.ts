import type { ProposeRequest } from '@raftkv/proto';
import { InvalidArgumentError } from '../src/errors.js';
import { MAX_KEY_BYTES, MAX_VALUE_BYTES, validatePropose } from '../src/storage/validation.js';

const req = (p: Partial<ProposeRequest>): ProposeRequest => ({ command: undefined, clientId: '', sequence: 0, ...p });
const put = (key: string, value = Buffer.from('v')): ProposeRequest => req({ command: { $case: 'put', put: { key, value } } });

describe('validatePropose', () => {
  test.each([
    ['no command', req({}), /no command/],
    ['empty key', put(''), /key must not be empty/],
    ['key over 4 KiB', put('k'.repeat(MAX_KEY_BYTES + 1)), /key is 4097 bytes/],
    ['multi-byte key over 4 KiB', put('é'.repeat(2049)), /key is 4098 bytes/],
    ['value over 1 MiB', put('k', Buffer.alloc(MAX_VALUE_BYTES + 1)), /value is 1048577 bytes/],
    ['empty delete key', req({ command: { $case: 'delete', delete: { key: '' } } }), /key must not be empty/],
    ['client id without sequence', { ...put('k'), clientId: 'c' }, /sequence must be >= 1/],
    ['sequence without client id', { ...put('k'), sequence: 3 }, /client_id is empty/],
  ])('rejects %s', (_name, r, message) => {
    expect(() => validatePropose(r)).toThrow(InvalidArgumentError);
    expect(() => validatePropose(r)).toThrow(message);
  });

  test('accepts limits exactly', () => {
    expect(() => validatePropose(put('k'.repeat(MAX_KEY_BYTES), Buffer.alloc(MAX_VALUE_BYTES)))).not.toThrow();
    expect(() => validatePropose({ ...put('k'), clientId: 'c', sequence: 1 })).not.toThrow();
  });
});
