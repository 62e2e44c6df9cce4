#!/usr/bin/env bash
# Records what a fresh etcd 3.4 answers to the command script that etcd-fixtures.ts replays against MvccStore.
# Needs Debian's etcd-server and etcd-client (3.4.23). Usage: test/mvcc/record-etcd.sh > /tmp/etcd-record.txt
# Not run by the test suite: the recorded answers are written into etcd-fixtures.ts by hand.
set -u
CLIENT_PORT=${CLIENT_PORT:-23791}
PEER_PORT=${PEER_PORT:-23801}
DATA=$(mktemp -d)
etcd --name rec --data-dir "$DATA" --listen-client-urls "http://127.0.0.1:$CLIENT_PORT" \
  --advertise-client-urls "http://127.0.0.1:$CLIENT_PORT" --listen-peer-urls "http://127.0.0.1:$PEER_PORT" \
  --initial-advertise-peer-urls "http://127.0.0.1:$PEER_PORT" --initial-cluster "rec=http://127.0.0.1:$PEER_PORT" \
  >"$DATA.log" 2>&1 &
ETCD_PID=$!
trap 'kill $ETCD_PID; wait $ETCD_PID 2>/dev/null; rm -rf "$DATA" "$DATA.log"' EXIT
export ETCDCTL_API=3
ctl() { etcdctl --endpoints "127.0.0.1:$CLIENT_PORT" "$@"; }
for _ in $(seq 50); do ctl endpoint health >/dev/null 2>&1 && break; sleep 0.2; done

step() { echo "### $*"; ctl "$@" 2>&1; echo; }
txn() { echo "### txn <<$1"; printf '%b' "$1" | ctl txn -w json 2>&1; echo; }

step endpoint status -w json
step put a 1 -w json
step put b 2 -w json
step put a 11 -w json
step del zz -w json
step del a -w json
step put a 111 -w json
step get a -w json
step get a --rev 4 -w json
step get a --rev 5 -w json
txn 'mod("b") = "3"\n\nput c 3\nput d 4\ndel b\n\nput x 0\n\n'
step get '' --from-key -w json
txn 'version("a") = "1"\n\nget a\n\nget b\n\n'
txn 'value("zz") = ""\n\nput f 6\n\nput e 5\n\n'
txn 'create("a") > "5"\nmod("c") < "8"\n\nput g 7\nget g\n\n\n'
step put k1 v3 -w json
step put k2 v1 -w json
step put k3 v2 -w json
step put k4 v1 -w json
step put k2 v1b -w json
step get k --prefix --sort-by=VALUE --order=DESCEND --limit 2 -w json
step get k --prefix --limit 2 -w json
step get k --prefix --sort-by=MODIFY --order=DESCEND --limit 1 --keys-only -w json
step get k --prefix --sort-by=VERSION -w json
step get k --prefix --sort-by=CREATE --order=DESCEND -w json
step get k2 k4 -w json
step del k --prefix --prev-kv -w json
step put a 1111 --prev-kv -w json
step compact 6
step get a --rev 5 -w json
step get a --rev 6 -w json
step get a --rev 100 -w json
step compact 6
step compact 100
step get '' --from-key -w json
