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
  6: { kind: 'lease_grant', since: '0.3.0' },
  7: { kind: 'lease_revoke', since: '0.3.0' },
  12: { kind: 'auth_enable', since: '0.3.0' },
  32: { kind: 'member_attributes', since: '0.3.0' },
  33: { kind: 'member_peer_update', since: '0.3.0' },
  36: { kind: 'cluster_version_set', since: '0.3.0' },
};

import { compareVersions } from '../version.js';

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

/** command.proto fields outside the `request` oneof that old releases ignore safely (auth_user: set only once auth is on). */
const MODIFIERS: ReadonlySet<number> = new Set([31]);

/**
 * What an encoded Command needs: the newest requirement among its top-level fields, read from their
 * tags alone (varint field << 3 | wire type; values skipped), so the propose path pays no decode. An
 * empty or unreadable encoding needs nothing here (the state machine refuses it alike on every release).
 */
export function commandRequirement(data: Uint8Array): CommandRequirement {
  let need: CommandRequirement = { field: 0, kind: 'empty', since: '0.2.0' };
  let i = 0;
  const varint = (): number | null => {
    let v = 0;
    for (let shift = 0; i < data.length && shift < 63; shift += 7) {
      const b = data[i++]!;
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
    }
    return null;
  };
  while (i < data.length) {
    const tag = varint();
    if (tag === null) return need;
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (wire === 0) {
      if (varint() === null) return need;
    } else if (wire === 2) {
      const len = varint();
      if (len === null) return need;
      i += len;
    } else if (wire === 1) i += 8;
    else if (wire === 5) i += 4;
    else return need; // groups: not used by command.proto
    if (MODIFIERS.has(field)) continue;
    const known = SINCE[field];
    const r = known === undefined ? { field, kind: `field ${field}`, since: DEFAULT_COMMAND_SINCE } : { field, ...known };
    if (need.field === 0 || compareVersions(r.since, need.since) > 0) need = r;
  }
  return need;
}
