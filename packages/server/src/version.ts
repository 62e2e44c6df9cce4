// The release this build is, and the versions of the contracts it speaks. One place, so that `--version`,
// Admin.Status, etcd's Maintenance.Status and the peer handshake all say the same thing.
import { SCHEMA_VERSION } from './storage/schema.js';

/** This build's release (semver). Raise it with the CHANGELOG's section for the release. */
export const RAFTKV_VERSION = '0.3.0';

/**
 * The peer protocol (proto/raftkv/v1/raft.proto) this build speaks, carried in every MessageBatch.
 * 1 is v0.2.0's, which sends no version at all; 2 adds the sender's release and this number, from
 * which the leader decides the cluster version (node/cluster-version.ts). Raise it when the peers'
 * messages change meaning; old peers must still be understood during a rolling upgrade.
 */
export const PEER_PROTOCOL_VERSION = 2;

/** What a peer that sends no version (v0.2.0) is taken to run. */
export const UNVERSIONED_PEER_RELEASE = '0.2.0';

export { SCHEMA_VERSION };

/** `raftkv --version` and `raftctl --version`: one `Name: value` line each, as etcd's `--version`. */
export function versionText(program: string): string {
  return [
    `${program} Version: ${RAFTKV_VERSION}`,
    `Schema Version: ${SCHEMA_VERSION}`,
    `Peer Protocol Version: ${PEER_PROTOCOL_VERSION}`,
    `API Version: 3.4`,
    `Node Version: ${process.version}`,
    `OS/Arch: ${process.platform}/${process.arch}`,
  ].join('\n');
}

/** Parsed versions: the admission check compares on every proposal, over a handful of distinct strings. */
const parsed = new Map<string, readonly number[]>();
const PARSED_MAX = 64;

function parts(v: string): readonly number[] {
  let p = parsed.get(v);
  if (p === undefined) {
    if (parsed.size >= PARSED_MAX) parsed.clear(); // bounded whatever strings come along
    p = v.split('.').map(Number);
    parsed.set(v, p);
  }
  return p;
}

/** a < b, = 0, > 0 for dotted numeric versions ("0.3.0"); a missing part counts as 0. */
export function compareVersions(a: string, b: string): number {
  const pa = parts(a);
  const pb = parts(b);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** A release string a peer may send: MAJOR.MINOR.PATCH, numbers only (pre-release tags are not used). */
export const isRelease = (v: string): boolean => /^\d{1,6}\.\d{1,6}\.\d{1,6}$/.test(v);
