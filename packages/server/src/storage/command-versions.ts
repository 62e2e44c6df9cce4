// Which release first applies each kind of replicated command (raftkv.v1.Command's oneof). A follower of
// an older release would skip a kind it does not know and diverge, so the leader proposes a kind only
// once the cluster version (node/cluster-version.ts: the lowest release among the members) reaches it.
// Kinds not listed need 0.3.0 — every kind added from 0.3 on (leases, alarms, auth, member attributes,
// cluster_version_set) falls under that default; list a kind here only when a later release adds it.

/** By command.proto field number: v0.2.0 applied fields 1-5; the rest arrived later (named here for errors). */
const SINCE: Readonly<Record<number, { readonly kind: string; readonly since: string }>> = {
  1: { kind: 'propose', since: '0.2.0' },
  2: { kind: 'put', since: '0.2.0' },
  3: { kind: 'delete_range', since: '0.2.0' },
  4: { kind: 'txn', since: '0.2.0' },
  5: { kind: 'compaction', since: '0.2.0' },
  36: { kind: 'cluster_version_set', since: '0.3.0' },
};

/** The release a command kind needs when SINCE does not name it. */
export const DEFAULT_COMMAND_SINCE = '0.3.0';

export interface CommandRequirement {
  /** command.proto's field number of the kind (0: not a Command the registry can read). */
  readonly field: number;
  /** The kind's name in command.proto, or `field N`. */
  readonly kind: string;
  /** The lowest release that applies it. */
  readonly since: string;
}

/**
 * What an encoded Command needs, read from its first field's tag alone (a varint: field << 3 | wire
 * type), so the propose path pays no decode. An empty or unreadable encoding needs nothing here (the
 * state machine refuses it alike on every release).
 */
export function commandRequirement(data: Uint8Array): CommandRequirement {
  let tag = 0;
  for (let i = 0, shift = 0; i < Math.min(data.length, 5); i++, shift += 7) {
    const b = data[i]!;
    tag += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) {
      const field = Math.floor(tag / 8);
      const known = SINCE[field];
      return known === undefined ? { field, kind: `field ${field}`, since: DEFAULT_COMMAND_SINCE } : { field, ...known };
    }
  }
  return { field: 0, kind: 'empty', since: '0.2.0' };
}
