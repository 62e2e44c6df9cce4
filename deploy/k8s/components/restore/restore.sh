#!/bin/sh
# Init container of components/restore: makes this pod's empty data dir a member of the new cluster
# restored from $RAFTKV_RESTORE_FILE. The members are the bootstrap set the server itself derives
# (<name>-<i>=<name>-<i>.$RAFTKV_PEER_DOMAIN:$RAFTKV_PEER_PORT for i < $RAFTKV_REPLICAS). A data dir
# that holds a raftkv.db is never touched. RAFTCTL (default: the image's raftctl) may be set.
set -eu
RAFTCTL=${RAFTCTL:-"node /app/dist/cli/raftctl.js"}
dir=$RAFTKV_DATA_DIR
# raftkv.db is the node's state (moved into place last below): with it, this member exists already.
if [ -e "$dir/raftkv.db" ]; then
  echo "restore: $dir/raftkv.db exists; leaving it as it is"
  exit 0
fi
name=${RAFTKV_ID%-*}
ordinal=${RAFTKV_ID##*-}
case "$ordinal" in '' | *[!0-9]*) echo "restore: RAFTKV_ID '$RAFTKV_ID' is not <name>-<ordinal>" >&2; exit 2 ;; esac
if [ "$ordinal" -ge "$RAFTKV_REPLICAS" ]; then
  echo "restore: $RAFTKV_ID is beyond the $RAFTKV_REPLICAS restored members; it joins the cluster as usual"
  exit 0
fi
peers=""
i=0
while [ "$i" -lt "$RAFTKV_REPLICAS" ]; do
  peers="${peers:+$peers,}$name-$i=$name-$i.$RAFTKV_PEER_DOMAIN:$RAFTKV_PEER_PORT"
  i=$((i + 1))
done
# The data dir is a volume's root (lost+found may be there): restore into a fresh directory, then move
# its files up, raftkv.db last. Leftovers of an interrupted restore (no raftkv.db) are not a node's state.
work="$dir/.restored"
rm -rf "$work" "$dir/snapshots"
# shellcheck disable=SC2086 # RAFTCTL is a word list
$RAFTCTL snapshot restore "$RAFTKV_RESTORE_FILE" --data-dir "$work" --id "$RAFTKV_ID" --peers "$peers" \
  --cluster-id "${RAFTKV_CLUSTER_ID:-raftkv}"
mv "$work/snapshots" "$dir/snapshots"
mv "$work/raftkv.db" "$dir/raftkv.db"
rmdir "$work"
echo "restore: $RAFTKV_ID restored from $RAFTKV_RESTORE_FILE"
