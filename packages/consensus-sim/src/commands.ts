// Client commands: unique byte strings, so every applied entry can be traced to one proposal.
import type { ConfState, Entry } from '@raftkv/consensus';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

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

/** A conf-change entry's data: the membership it leads to (the driver's encoding, as in the server). */
export function encodeConf(conf: ConfState): Uint8Array {
  return encoder.encode(JSON.stringify(conf));
}

export function decodeConf(data: Uint8Array): ConfState {
  return JSON.parse(decoder.decode(data)) as ConfState;
}

/** A normal entry with empty data: a leader's no-op. */
export function isNoop(e: Entry): boolean {
  return e.type === 'normal' && e.data.length === 0;
}

/**
 * The simulated state machine is a running digest of every applied entry's payload: two nodes that
 * applied the same entries in the same order hold the same digest, which is what a snapshot carries.
 */
export function chainDigest(digest: number, key: string): number {
  let h = digest ^ 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) >>> 0;
}

/** Snapshot data: the state machine (its digest) as of an applied index. */
export function encodeSnapshot(index: number, digest: number): Uint8Array {
  return encoder.encode(JSON.stringify({ index, digest }));
}

export function decodeSnapshot(data: Uint8Array): { index: number; digest: number } {
  return JSON.parse(decoder.decode(data)) as { index: number; digest: number };
}
