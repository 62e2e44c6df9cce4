#!/bin/sh
# One backup: a snapshot from a Ready member into $BACKUP_DIR, verified, then all but the newest
# $BACKUP_KEEP removed. raftctl writes <file>.part, fsyncs and renames, so a failed run leaves no file
# that looks complete. RAFTCTL (default: the image's raftctl) and RAFTCTL_FLAGS (e.g. TLS) may be set.
set -eu
RAFTCTL=${RAFTCTL:-"node /app/dist/cli/raftctl.js"}
dir=${BACKUP_DIR:-/backup}
keep=${BACKUP_KEEP:-24}
case "$keep" in '' | *[!0-9]* | 0) echo "BACKUP_KEEP must be a positive integer, got '$keep'" >&2; exit 2 ;; esac
file="$dir/raftkv-$(date -u +%Y%m%dT%H%M%SZ).db"
# shellcheck disable=SC2086 # RAFTCTL and RAFTCTL_FLAGS are word lists
$RAFTCTL ${RAFTCTL_FLAGS:-} snapshot save "$file"
# shellcheck disable=SC2086
$RAFTCTL snapshot status "$file" -w table
# The names sort by time: drop all but the newest $keep.
ls -1 "$dir" | grep -E '^raftkv-[0-9]{8}T[0-9]{6}Z\.db$' | sort -r | tail -n +"$((keep + 1))" | while read -r old; do
  echo "removing old backup $old"
  rm -f "$dir/$old"
done
