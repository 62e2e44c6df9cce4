// Client input limits, checked before anything is proposed (and again, deterministically, on apply).
import type { ProposeRequest } from '@raftkv/proto';
import { InvalidArgumentError } from '../errors.js';

export const MAX_KEY_BYTES = 4 * 1024;
export const MAX_VALUE_BYTES = 1024 * 1024;
export const MAX_CLIENT_ID_BYTES = 256;

export function validateKey(key: string): void {
  if (key.length === 0) throw new InvalidArgumentError('key must not be empty');
  // Cheap upper bound first: a UTF-16 unit is at most 3 UTF-8 bytes.
  if (key.length * 3 > MAX_KEY_BYTES) {
    const n = Buffer.byteLength(key, 'utf8');
    if (n > MAX_KEY_BYTES) throw new InvalidArgumentError(`key is ${n} bytes; the limit is ${MAX_KEY_BYTES} bytes (4 KiB)`);
  }
}

function validateValue(field: string, v: Uint8Array): void {
  if (v.length > MAX_VALUE_BYTES) {
    throw new InvalidArgumentError(`${field} is ${v.length} bytes; the limit is ${MAX_VALUE_BYTES} bytes (1 MiB)`);
  }
}

/** Throws InvalidArgumentError describing the first problem of a Propose request. */
export function validatePropose(req: ProposeRequest): void {
  const c = req.command;
  if (c === undefined) throw new InvalidArgumentError('no command: set one of put, delete, compare_and_swap');
  switch (c.$case) {
    case 'put':
      validateKey(c.put.key);
      validateValue('value', c.put.value);
      break;
    case 'delete':
      validateKey(c.delete.key);
      break;
    case 'compareAndSwap':
      validateKey(c.compareAndSwap.key);
      validateValue('expected_value', c.compareAndSwap.expectedValue);
      validateValue('new_value', c.compareAndSwap.newValue);
      if (c.compareAndSwap.expectAbsent && c.compareAndSwap.expectedValue.length > 0) {
        throw new InvalidArgumentError('compare_and_swap: set expected_value or expect_absent, not both');
      }
      break;
  }
  if (req.clientId !== '') {
    if (Buffer.byteLength(req.clientId, 'utf8') > MAX_CLIENT_ID_BYTES) {
      throw new InvalidArgumentError(`client_id is longer than ${MAX_CLIENT_ID_BYTES} bytes`);
    }
    if (req.sequence === 0) throw new InvalidArgumentError('sequence must be >= 1 when client_id is set');
  } else if (req.sequence !== 0) {
    throw new InvalidArgumentError('sequence is set but client_id is empty');
  }
}
