// Client commands: unique byte strings, so every applied entry can be traced to one proposal.
import type { Entry } from '../../src/index.js';

const encoder = new TextEncoder();

export function encodeCommand(text: string): Uint8Array {
  return encoder.encode(text);
}

/** A byte string as latin1 text (commands are ASCII); cheap and reversible for short payloads. */
export function bytesKey(data: Uint8Array): string {
  let s = '';
  for (let i = 0; i < data.length; i++) s += String.fromCharCode(data[i]!);
  return s;
}

/** Identity of an entry's payload: type and data (term and index are compared separately). */
export function entryKey(e: Entry): string {
  return `${e.type}:${bytesKey(e.data)}`;
}

/** A normal entry with empty data: a leader's no-op. */
export function isNoop(e: Entry): boolean {
  return e.type === 'normal' && e.data.length === 0;
}
