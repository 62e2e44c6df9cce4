#!/bin/sh
# Init container of components/scale-down: a volume whose member the preStop hook removed from the
# cluster (marker removed-by-scale-down) is emptied before the server starts, so the pod comes back as a
# new node: beyond the bootstrap size it joins by itself; below it, add it (`raftctl member add`, README).
# A volume without the marker is never touched.
set -eu
dir=${RAFTKV_DATA_DIR:-/var/lib/raftkv}
[ -f "$dir/removed-by-scale-down" ] || exit 0
echo "$(cat "$dir/removed-by-scale-down")"
echo "emptying $dir: its member was removed by a scale-down"
# Everything but the filesystem's lost+found; the marker last, so an interrupted run is repeated.
find "$dir" -mindepth 1 -maxdepth 1 ! -name lost+found ! -name removed-by-scale-down -exec rm -rf {} +
rm -f "$dir/removed-by-scale-down"
