// The release this build is, and the versions of the contracts it speaks. One place, so that `--version`,
// Admin.Status, etcd's Maintenance.Status and the peer handshake all say the same thing.

/** This build's release (semver). Raise it with the CHANGELOG's section for the release. */
export const RAFTKV_VERSION = '0.3.0';
